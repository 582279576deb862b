"""`feedback run` and its temporary Prefect server: killed with the run, quiet on a first run.

Real CLI subprocesses on 40 sample comments, each in a fresh PREFECT_HOME and without
PREFECT_API_URL, so the run starts its own temporary Prefect server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # real flow runs and Prefect servers

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
START_TIMEOUT_S = 180.0
FEEDBACK = [sys.executable, "-m", "flows.cli"]


@pytest.fixture(scope="module")
def comments_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "comments.csv"
    comments = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    comments.head(40).to_csv(path, index=False)
    return path


def run_env(prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, "PREFECT_HOME": str(prefect_home), "HF_HUB_OFFLINE": "1"}


def feedback_run(comments: Path, out: Path) -> list[str]:
    return [*FEEDBACK, "run", "--comments", str(comments), "--out", str(out)]


def _proc(pid: str, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:  # gone, or not ours
        return b""


def alive(pid: str) -> bool:
    stat = _proc(pid, "stat")
    return bool(stat) and stat.rsplit(b")", 1)[1].split()[0] != b"Z"  # a zombie is gone


def processes_using(prefect_home: Path) -> list[str]:
    """Live processes whose environment has this PREFECT_HOME (the run and its server)."""
    marker = f"PREFECT_HOME={prefect_home}".encode()
    pids = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [pid for pid in pids if marker in _proc(pid, "environ").split(b"\0") and alive(pid)]


def server_children(parent: int) -> list[str]:
    """Pids of `parent`'s children running a Prefect API server (uvicorn)."""
    found = []
    for pid in (p.name for p in Path("/proc").iterdir() if p.name.isdigit()):
        status = _proc(pid, "status").decode(errors="replace")
        cmdline = _proc(pid, "cmdline").replace(b"\0", b" ")
        if re.search(rf"^PPid:\s+{parent}$", status, re.M) and b"uvicorn" in cmdline:
            found.append(pid)
    return found


def server_up(pid: str) -> bool:
    """True once the server's /api/health answers (port from its --port argument)."""
    import httpx

    args = _proc(pid, "cmdline").split(b"\0")
    port = args[args.index(b"--port") + 1].decode() if b"--port" in args else None
    try:
        return port is not None and httpx.get(f"http://127.0.0.1:{port}/api/health").is_success
    except httpx.HTTPError:
        return False


def kill_all(pids: list[str]) -> None:
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_prefect_server_dies_when_feedback_run_is_sigkilled(comments_csv, tmp_path):
    home = tmp_path / "prefect"
    run = subprocess.Popen(
        feedback_run(comments_csv, tmp_path / "out"),
        cwd=ROOT,
        env=run_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        servers: list[str] = []
        while time.monotonic() < deadline and run.poll() is None:
            servers = server_children(run.pid)
            if servers and server_up(servers[0]):
                break
            time.sleep(0.2)
        assert servers, "no temporary Prefect server (uvicorn child) came up"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and processes_using(home):
            time.sleep(0.2)
        assert processes_using(home) == [], "the temporary Prefect server outlived `feedback run`"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        kill_all(processes_using(home))


def test_prefect_server_first_run_prints_no_database_locked_traceback(comments_csv, tmp_path):
    home = tmp_path / "prefect"
    try:
        done = subprocess.run(
            feedback_run(comments_csv, tmp_path / "out"),
            cwd=ROOT,
            env=run_env(home),
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        assert "database is locked" not in output
        assert processes_using(home) == [], "the temporary Prefect server outlived the run"
    finally:
        kill_all(processes_using(home))
