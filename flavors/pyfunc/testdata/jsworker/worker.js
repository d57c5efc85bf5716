#!/usr/bin/env node
// A worked example of an mlgate worker in another language (Node.js, no
// dependencies), serving the made-up flavor "js_linear": y = x·w + b per row,
// with w and b read from model.json in the model folder. See docs/workers.md.
//
//   mlgate models serve -m ./model --worker-flavor 'js_linear=node worker.js'
//
// mlgate runs `node worker.js MODEL_DIR` with MLGATE_WORKER_PROTOCOL=1 and
// talks over stdin/stdout: one handshake line, then length-prefixed frames.
// Test hooks (params): {"sleep_ms": n} answers after n ms, {"crash": true}
// exits at once.
"use strict";
const fs = require("fs");
const path = require("path");

const PROTOCOL = 2;
const want = process.env.MLGATE_WORKER_PROTOCOL || String(PROTOCOL);
const modelDir = process.argv[2];

function fail(code, message) {
  process.stdout.write(`mlgate-worker-error ${PROTOCOL} ${JSON.stringify({ error_code: code, message })}\n`);
  process.stderr.write(message + "\n");
  process.exit(3);
}

if (want !== String(PROTOCOL)) fail("INVALID_STATE", `mlgate wants protocol ${want}, this worker speaks ${PROTOCOL}`);
let model;
try {
  model = JSON.parse(fs.readFileSync(path.join(modelDir, "model.json"), "utf8"));
} catch (e) {
  fail("INVALID_STATE", `cannot read model.json: ${e.message}`);
}

// Frames: 4-byte big-endian length, then a type byte and a body.
function send(type, body) {
  const b = Buffer.from(body, "utf8");
  const h = Buffer.alloc(5);
  h.writeUInt32BE(b.length + 1, 0);
  h.write(type, 4, "latin1");
  process.stdout.write(Buffer.concat([h, b]));
}

function error(code, message) {
  send("E", JSON.stringify({ error_code: code, message }));
}

// rows turns an MLflow /invocations body into rows of numbers in the
// model's column order.
function rows(req) {
  const cols = model.columns;
  if (req.dataframe_split) {
    const s = req.dataframe_split;
    const names = s.columns || cols;
    const idx = cols.map((c) => names.indexOf(c));
    const missing = cols.filter((c, i) => idx[i] < 0);
    if (missing.length) throw { code: "BAD_REQUEST", message: `missing columns: ${missing.join(", ")}` };
    return s.data.map((r) => idx.map((i) => Number(r[i])));
  }
  if (req.inputs) {
    const x = req.inputs;
    if (Array.isArray(x)) return x.map((r) => r.map(Number));
    const n = x[cols[0]].length;
    return Array.from({ length: n }, (_, k) => cols.map((c) => Number(x[c][k])));
  }
  throw { code: "BAD_REQUEST", message: "js_linear takes dataframe_split or inputs" };
}

function handle(body) {
  let req;
  try {
    req = JSON.parse(body);
  } catch (e) {
    return error("BAD_REQUEST", `invalid JSON: ${e.message}`);
  }
  const params = req.params || {};
  if (params.crash) {
    process.stderr.write("js_linear: crashing on purpose\n");
    process.exit(9);
  }
  let out;
  try {
    out = rows(req).map((r) => r.reduce((acc, v, i) => acc + v * model.weights[i], model.bias));
  } catch (e) {
    return error(e.code || "INTERNAL_ERROR", e.message || String(e));
  }
  const answer = () => send("O", JSON.stringify(out));
  if (params.sleep_ms) setTimeout(answer, params.sleep_ms);
  else answer();
}

let buf = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 4) {
    const n = buf.readUInt32BE(0);
    if (buf.length < 4 + n) break;
    const frame = buf.subarray(4, 4 + n);
    buf = buf.subarray(4 + n);
    if (frame[0] === 0x50 /* 'P' */) handle(frame.subarray(1).toString("utf8"));
    else error("INVALID_STATE", `unknown frame type ${frame[0]}`);
  }
});
process.stdin.on("end", () => process.exit(0));

process.stdout.write(`mlgate-worker ${PROTOCOL} ${JSON.stringify({ pid: process.pid, runtime: "node " + process.version })}\n`);
