"""The shell examples in docs/serving.md run as written against the built
binary, and answer what their comments say.

Each ```sh block of the Examples section that starts a server
(`mlgate models serve ... &`) is run line by line with bash: the server on a
free port instead of 5001, `mlgate` the built binary. A comment that
follows a command (on its line or on the next lines) states what it
answers:

- a leading HTTP status (`# 400 ...`, `# HTTP/1.1 415 ...`) is checked
  against the status curl reports;
- a JSON excerpt (`{...}`, with `…` where the text is elided) must appear in
  the output, whitespace ignored;
- any other comment text is prose, except after a status on a `-i` command,
  where each comma-separated piece must appear in the output.
"""

import os
import re
import shlex
import signal
import subprocess
import time

import pytest
import requests

from conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "serving.md")


def example_blocks():
    text = open(DOC, encoding="utf-8").read()
    start = text.index("\n## Examples")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def commands(block):
    """Split a block into (command, [comments]) pairs, joining continued
    lines and moving an inline comment to the command it follows."""
    out, cur = [], ""
    for line in block.splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("#") and not cur:
            if out:
                out[-1][1].append(line.lstrip()[1:].strip())
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        cmd, comment = split_comment(cur)
        out.append((cmd.strip(), [comment] if comment else []))
        cur = ""
    return out


def split_comment(line):
    """Cut an unquoted trailing `# comment` from a shell line."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i + 1:].strip()
    return line, ""


def expected_status(comments):
    for c in comments:
        m = re.match(r"(?:HTTP/1\.1 )?([1-5]\d\d)\b", c)
        if m:
            return int(m.group(1))
        m = re.search(r"\b([1-5]\d\d)\s*$", c)
        if m and "," in c:  # "blank line, 200"
            return int(m.group(1))
    return None


def json_fragments(comments):
    frags = []
    for c in comments:
        i = min([j for j in (c.find("{"), c.find("[")) if j >= 0], default=-1)
        if i < 0:
            continue
        frags += [f for f in re.sub(r"\s+", "", c[i:]).split("…") if f]
    return frags


def header_fragments(comments):
    """`# HTTP/1.1 415 Unsupported Media Type, Content-Type: text/plain` →
    the pieces after the status line; a following comment line is body
    text with … elisions."""
    frags = []
    for k, c in enumerate(comments):
        if k == 0 and c.startswith("HTTP/1.1 "):
            frags += [p.strip() for p in c.split(",")[1:] if p.strip()]
        elif k > 0:
            frags += [p.strip() for p in c.split("…") if p.strip()]
    return frags


def run_block(block, mlgate_bin, tmp_path):
    port = free_port()
    lines = commands(block)
    serve_cmd, _ = lines[0]
    assert serve_cmd.startswith("mlgate models serve") and serve_cmd.endswith("&"), serve_cmd
    args = shlex.split(serve_cmd[:-1].replace("5001", str(port)))
    args[0] = mlgate_bin
    log = open(tmp_path / f"serve-{port}.log", "wb")
    server = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            assert server.poll() is None, f"the documented server exited: {args}"
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "the documented server never became ready"
            time.sleep(0.1)
        checked, prelude = 0, ""
        for cmd, comments in lines[1:]:
            cmd = cmd.replace("5001", str(port))
            if re.match(r"[A-Za-z_]\w*=", cmd):  # a variable later commands use
                prelude += cmd + "\n"
                continue
            if cmd.startswith("kill"):
                sig = signal.SIGTERM
                rest = ""
                if ";" in cmd:
                    cmd, rest = cmd.split(";", 1)
                server.send_signal(sig)
                if not rest.strip():
                    assert server.wait(30) == 0, "the documented server did not drain and exit 0"
                    continue
                cmd = rest.strip()
            checked += check_command(prelude, cmd, comments, tmp_path)
        return checked
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()


def check_command(prelude, cmd, comments, tmp_path):
    status = expected_status(comments)
    has_w = " -w " in cmd
    script = cmd
    if cmd.startswith("curl") and not has_w and " -i " not in cmd and status is not None:
        script = cmd + " -w '\\n%{http_code}'"
    r = subprocess.run(["bash", "-c", prelude + script], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{cmd!r} failed: {r.stderr}"
    out = r.stdout
    if status is not None and cmd.startswith("curl"):
        if " -i " in cmd:
            got = int(out.split()[1])
        elif has_w:
            got = int(out.strip())
        else:
            out, _, code = out.rpartition("\n")
            got = int(code)
        assert got == status, f"{cmd!r}: status {got}, the doc says {status}: {out}"
        if " -i " in cmd:
            for frag in header_fragments(comments):
                assert frag in out, f"{cmd!r}: {frag!r} not in {out!r}"
    flat = re.sub(r"\s+", "", out)
    for frag in json_fragments(comments):
        assert frag in flat, f"{cmd!r}: {frag!r} not in {out!r}"
    return 1


def test_serving_examples_run_as_documented(mlgate_bin, tmp_path):
    blocks = [b for b in example_blocks() if b.lstrip().startswith("mlgate models serve")]
    assert len(blocks) >= 2, "docs/serving.md lost its server examples"
    total = 0
    for b in blocks:
        total += run_block(b, mlgate_bin, tmp_path)
    assert total >= 12, f"only {total} documented commands were checked"


@pytest.mark.parametrize("line,want", [
    ("curl -s x/health  # blank line, 200", ("curl -s x/health", "blank line, 200")),
    ("echo '# not a comment' # yes", ("echo '# not a comment'", "yes")),
])
def test_comment_splitting(line, want):
    cmd, comment = split_comment(line)
    assert (cmd.strip(), comment) == want


def test_image_examples_run_as_documented(mlgate_bin, tmp_path):
    """The daemonless image example of docs/images.md runs as written: both
    builds print the same digest, skopeo sees the labels, umoci unpacks it."""
    base = os.environ.get("MLGATE_BASE_IMAGE")
    assert base, "MLGATE_BASE_IMAGE is not set: `make interop` points it at the base `make image` writes"
    text = open(os.path.join(ROOT, "docs", "images.md"), encoding="utf-8").read()
    start = text.index("\n## Example: build, inspect and unpack")
    block = re.findall(r"```sh\n(.*?)```", text[start:text.find("\n## ", start + 1)], re.S)[0]
    os.symlink(os.path.join(ROOT, "examples"), tmp_path / "examples")
    env = dict(os.environ, PATH=os.path.dirname(mlgate_bin) + os.pathsep + os.environ["PATH"])
    digests = []
    lines = commands(block)
    assert len(lines) == 4, lines
    for cmd, comments in lines:
        assert cmd.split()[0] in ("mlgate", "skopeo", "umoci"), cmd
        r = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{cmd!r} failed: {r.stderr}"
        if cmd.startswith("mlgate"):
            digests.append(r.stdout.strip())
        flat = re.sub(r"\s+", "", r.stdout)
        for frag in json_fragments(comments):
            assert frag in flat, f"{cmd!r}: {frag!r} not in {r.stdout!r}"
    assert len(digests) == 2 and digests[0] == digests[1] and digests[0].startswith("sha256:"), digests
    assert (tmp_path / "linear.tar").stat().st_size > 10 << 20
    assert (tmp_path / "bundle" / "config.json").exists() and (tmp_path / "bundle" / "rootfs" / "opt" / "ml" / "model" / "MLmodel").exists()
