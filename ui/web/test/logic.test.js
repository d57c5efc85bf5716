// Unit tests of the UI's non-trivial logic: `node --test ui/web/test/`
// (run by TestJSUnit in package ui/bundle).
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildFilter, quoteKey, quoteValue, orderBy } from '../src/filter.js';
import { downsample, smooth, align, toSeries, stepWindow, mergeWindow, pointsPerRun } from '../src/series.js';

test('keys are quoted only when they need it', () => {
  assert.equal(quoteKey('alpha'), 'alpha');
  assert.equal(quoteKey('a.b_c'), 'a.b_c');
  assert.equal(quoteKey('my key'), '`my key`');
  assert.equal(quoteKey('1st'), '`1st`');
  assert.equal(quoteKey('a`b'), '"a`b"');
});

test('values are single-quoted and escaped', () => {
  assert.equal(quoteValue("it's"), "'it\\'s'");
  assert.equal(quoteValue('a\\b'), "'a\\\\b'");
});

test('plain text searches run names, expressions pass through', () => {
  assert.equal(buildFilter('lr sweep'), "attributes.run_name ILIKE '%lr sweep%'");
  assert.equal(buildFilter("metrics.rmse < 1 and params.alpha = '0.5'"), "metrics.rmse < 1 and params.alpha = '0.5'");
  assert.equal(buildFilter('  '), '');
});

test('conditions are ANDed and an OR expression is parenthesised', () => {
  const f = buildFilter("params.a = '1' or params.a = '2'", [{ kind: 'metrics', key: 'my loss', op: '<', value: 0.5 }]);
  assert.equal(f, "(params.a = '1' or params.a = '2') and metrics.`my loss` < 0.5");
  assert.equal(buildFilter('', [{ kind: 'tags', key: 'team', op: '=', value: 'x' }]), "tags.team = 'x'");
});

test('order by renders the column', () => {
  assert.equal(orderBy({ kind: 'metrics', key: 'val loss' }, false), 'metrics.`val loss` DESC');
  assert.equal(orderBy({ kind: 'attributes', key: 'start_time' }, true), 'attributes.start_time ASC');
});

test('downsample keeps short series and bounds long ones', () => {
  const xs = [1, 2, 3];
  assert.deepEqual(downsample(xs, [4, 5, 6], 10), { x: xs, y: [4, 5, 6] });
  const n = 100000;
  const X = Array.from({ length: n }, (_, i) => i);
  const Y = X.map((i) => Math.sin(i / 100));
  Y[54321] = 50; // a spike
  Y[12345] = -50;
  const d = downsample(X, Y, 2000);
  assert.ok(d.x.length <= 2000 && d.x.length >= 1000, `got ${d.x.length} points`);
  assert.ok(d.y.includes(50) && d.y.includes(-50), 'spikes survive');
  for (let i = 1; i < d.x.length; i++) assert.ok(d.x[i] > d.x[i - 1], 'x stays increasing');
  assert.equal(d.x[0], 0);
  assert.equal(d.x[d.x.length - 1], n - 1);
});

test('smoothing is debiased and 0 leaves values alone', () => {
  assert.deepEqual(smooth([1, 2, 3], 0), [1, 2, 3]);
  const s = smooth([5, 5, 5], 0.9);
  for (const v of s) assert.ok(Math.abs(v - 5) < 1e-9);
  const t = smooth([0, 10], 0.5);
  assert.ok(t[1] > 5 && t[1] < 10);
});

test('series are sorted by step and aligned on the union of x', () => {
  const s = toSeries([{ step: '2', timestamp: '10', value: 1 }, { step: '1', timestamp: '20', value: 'NaN' }], 'step');
  assert.deepEqual(s.x, [1, 2]);
  assert.ok(Number.isNaN(s.y[0]));
  const d = align([{ x: [1, 3], y: [10, 30] }, { x: [2, 3], y: [20, 31] }]);
  assert.deepEqual(Array.from(d[0]), [1, 2, 3]);
  assert.deepEqual(d[1], [10, null, 30]);
  assert.deepEqual(d[2], [null, 20, 31]);
});

// A sampled overview: every 10th step of 0..100, timestamps 1 s apart
// from t=5000 ms (step s at 5000 + 100*s ms).
const sampled = Array.from({ length: 11 }, (_, i) => ({ step: i * 10, timestamp: 5000 + i * 1000, value: i }));

test('a zoom asks again for the steps from the sample before the view to the one after it', () => {
  assert.deepEqual(stepWindow(sampled, 'step', 25, 47), [20, 50]);
  assert.deepEqual(stepWindow(sampled, 'step', 30, 40), [30, 40]);
  assert.deepEqual(stepWindow(sampled, 'step', 91, 300), [90, 100]);
  assert.deepEqual(stepWindow(sampled, 'step', -5, 3), [0, 10]);
  // Between two samples: still the two around it.
  assert.deepEqual(stepWindow(sampled, 'step', 33, 34), [30, 40]);
  assert.equal(stepWindow([], 'step', 0, 1), null);
});

test('the window of a zoom on time or relative time is in steps', () => {
  assert.deepEqual(stepWindow(sampled, 'time', 7.5, 8.2), [20, 40]);
  assert.deepEqual(stepWindow(sampled, 'relative', 2.5, 3.2), [20, 40]);
  // Unsorted input is sorted first.
  assert.deepEqual(stepWindow(sampled.slice().reverse(), 'step', 25, 47), [20, 50]);
});

test('the window replaces the overview inside it and keeps it outside', () => {
  const win = Array.from({ length: 31 }, (_, i) => ({ step: 20 + i, timestamp: 7000 + i * 100, value: -i }));
  const merged = mergeWindow(sampled, win, [20, 50]);
  assert.deepEqual(merged.map((p) => p.step), [0, 10, ...win.map((p) => p.step), 60, 70, 80, 90, 100]);
  assert.equal(merged.find((p) => p.step === 30).value, -10);
  // The first and last steps of the series stay drawn.
  assert.equal(merged[0].step, 0);
  assert.equal(merged[merged.length - 1].step, 100);
  // An empty window (no row logged there) leaves the outside only.
  assert.deepEqual(mergeWindow(sampled, [], [20, 50]).map((p) => p.step), [0, 10, 60, 70, 80, 90, 100]);
});

test('a comparison asks for the points its chart can show, 100 to 2,500 per run', () => {
  assert.equal(pointsPerRun(200, 600), 100); // 20,000 points over 200 runs
  assert.equal(pointsPerRun(1000, 600), 100); // never fewer than 100
  assert.equal(pointsPerRun(20, 600), 600); // the chart's pixel columns
  assert.equal(pointsPerRun(20, 1400), 1000);
  assert.equal(pointsPerRun(1, 5000), 2500); // MLflow's most per run
  assert.equal(pointsPerRun(3, 0), 800); // width unknown
  assert.equal(pointsPerRun(0, 50), 100);
});
