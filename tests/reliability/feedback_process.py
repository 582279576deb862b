"""Start a real `feedback run` as a subprocess and wait for it, with the logs in files or
captured: the reliability tests that kill or race runs need the process, the others its result.

`api_url` points the run at the session's shared Prefect API (conftest `prefect_api_url`): the
CLI uses a configured API as is, instead of starting its own temporary server (~15 s a run).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FEEDBACK_RUN = [sys.executable, "-m", "flows.cli", "run"]


def cli_env(
    *, prefect_home: Path | None = None, api_url: str | None = None, extra: dict | None = None
) -> dict[str, str]:
    """The environment of a `feedback run`: HF offline, the given Prefect home and API."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(extra or {})}
    if prefect_home is not None:
        prefect_home.mkdir(parents=True, exist_ok=True)
        env["PREFECT_HOME"] = str(prefect_home)
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return env


def _feedback_run(
    args: list, prefect_home: Path | None, api_url: str | None, extra_env: dict | None
) -> dict:
    """The command, directory and environment of `feedback run ARGS`, for subprocess."""
    env = cli_env(prefect_home=prefect_home, api_url=api_url, extra=extra_env)
    return {"args": [*FEEDBACK_RUN, *map(str, args)], "cwd": ROOT, "env": env}


def start_run(
    args: list,
    *,
    logs: Path,
    name: str,
    prefect_home: Path | None = None,
    api_url: str | None = None,
    extra_env: dict | None = None,
) -> subprocess.Popen:
    """`feedback run ARGS`; stdout and stderr go to `<logs>/<name>.out` and `.err`."""
    return subprocess.Popen(
        **_feedback_run(args, prefect_home, api_url, extra_env),
        stdout=open(logs / f"{name}.out", "w"),  # noqa: SIM115 - closed with the process
        stderr=open(logs / f"{name}.err", "w"),  # noqa: SIM115
    )


def run_cli(
    args: list,
    *,
    prefect_home: Path | None = None,
    api_url: str | None = None,
    extra_env: dict | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """`feedback run ARGS` to completion, stdout and stderr captured as text."""
    return subprocess.run(
        **_feedback_run(args, prefect_home, api_url, extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def holding(code: str, *args: object, ready: str) -> Iterator[subprocess.Popen]:
    """Run `python -c CODE ARGS` (something that takes a lock and holds it until its stdin
    closes); yield it once it prints `ready`, then close its stdin and wait for it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == ready
        yield holder
    finally:
        release(holder)


def release(holder: subprocess.Popen) -> None:
    """Let a `holding` process go: close its stdin, wait for it (killed after 60 s)."""
    if holder.stdin and not holder.stdin.closed:
        holder.stdin.close()
    try:
        holder.wait(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def finish(proc: subprocess.Popen, timeout: float = 900) -> int:
    """The run's exit code; a run still going after `timeout` seconds is killed."""
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(proc: subprocess.Popen, condition: Callable[[], bool], timeout: float = 600) -> bool:
    """Poll `condition` every 20 ms while `proc` runs; whether it became true (False: the run
    ended first). A run still going after `timeout` seconds fails the test."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if condition():
            return True
        if time.monotonic() > deadline:
            raise AssertionError(f"the condition did not hold within {timeout:.0f} s")
        time.sleep(0.02)
    return condition()
