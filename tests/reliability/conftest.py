"""Shared set-up for the reliability suite's real CLI runs: one Prefect API for the session and
shared ONNX encoder exports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Starts Prefect's API server as `feedback run` does without a configured API
# (flows.prefect_runtime), prints its URL once it answers, and stops it when stdin closes; the
# server also dies with this helper (parent-death signal), so a killed pytest leaves nothing.
SERVER = textwrap.dedent(
    """
    import sys
    from flows.prefect_runtime import start_temporary_server
    server = start_temporary_server()
    try:
        server.wait_ready()
        print(server.url, flush=True)
        sys.stdin.read()
    finally:
        server.stop()
    """
)


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory) -> Iterator[str]:
    """The URL of one temporary Prefect API for the whole session, to hand to `feedback run`
    subprocesses as PREFECT_API_URL: each would otherwise start its own (~15 s a run). The
    tests of that temporary server itself (test_prefect_server.py) do not use it."""
    home = tmp_path_factory.mktemp("prefect-api")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    helper = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        env={**env, "PREFECT_HOME": str(home)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(home / "server.err", "w"),  # noqa: SIM115 - closed with the process
        text=True,
    )
    try:
        url = helper.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (home / "server.err").read_text()[-3000:]
        yield url
    finally:
        helper.stdin.close()
        try:
            helper.wait(timeout=30)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()


@pytest.fixture(scope="session")
def share_encoders(tmp_path_factory) -> Callable[[Path], Path]:
    """`share_encoders(out)` points `<out>/models/encoders` at one directory for the whole
    session before the first run on `out`: a fresh --out would otherwise export and quantise
    the ONNX encoders again (about 15 s a run)."""
    encoders = tmp_path_factory.mktemp("encoders")

    def share(out: Path) -> Path:
        (out / "models").mkdir(parents=True, exist_ok=True)
        link = out / "models" / "encoders"
        if not link.exists():
            link.symlink_to(encoders, target_is_directory=True)
        return out

    return share
