"""Shared fixtures for the interop suite: the built mlgate binary, free
loopback ports, and helpers that start and stop servers (mlgate's and the
real MLflow's) as child processes."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlgate_bin():
    path = os.environ.get("MLGATE_BIN") or shutil.which("mlgate")
    assert path and os.path.exists(path), "set MLGATE_BIN to the built mlgate binary (make interop does)"
    return path


class Proc:
    """A child server process on a loopback port, stopped at teardown."""

    def __init__(self, args, port, env=None, cwd=None, ready_path="/health", timeout=60):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(cwd or ".", f"proc-{port}.log"), "wb") if cwd else subprocess.DEVNULL
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        deadline = time.time() + timeout
        while True:
            if self.p.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {self.p.returncode} before it was ready; see {getattr(self.log, 'name', '')}")
            try:
                if requests.get(self.url + ready_path, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{args} not ready after {timeout}s")
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


@pytest.fixture
def start_proc(tmp_path):
    procs = []

    def start(args, **kw):
        kw.setdefault("cwd", str(tmp_path))
        p = Proc(args, **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


PYTHON = sys.executable
