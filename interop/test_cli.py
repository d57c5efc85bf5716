"""The mlgate command line: version, help and exit codes."""

import subprocess


def test_version(mlgate_bin):
    out = subprocess.run([mlgate_bin, "version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("mlgate ")
    assert "MLflow 3." in out


def test_unknown_flag_exits_2_with_one_line(mlgate_bin):
    r = subprocess.run([mlgate_bin, "models", "serve", "--no-such-flag"], capture_output=True, text=True)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no-such-flag" in r.stderr


def test_unknown_command_exits_2(mlgate_bin):
    r = subprocess.run([mlgate_bin, "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown command" in r.stderr


def test_help_lists_commands(mlgate_bin):
    r = subprocess.run([mlgate_bin, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for cmd in ("server", "models", "version"):
        assert cmd in r.stdout
