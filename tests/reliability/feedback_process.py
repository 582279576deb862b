"""Start a real `feedback run` as a subprocess with its logs in files, and wait for it: the
reliability tests that kill or race runs need the process, not just its result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_run(args: list[str], *, prefect_home: Path, logs: Path, name: str) -> subprocess.Popen:
    """`feedback run ARGS` with HF offline and its own Prefect home; stdout and stderr go to
    `<logs>/<name>.out` and `.err`."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PREFECT_HOME": str(prefect_home)}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=open(logs / f"{name}.out", "w"),  # noqa: SIM115 - closed with the process
        stderr=open(logs / f"{name}.err", "w"),  # noqa: SIM115
    )


def finish(proc: subprocess.Popen, timeout: float = 900) -> int:
    """The run's exit code; a run still going after `timeout` seconds is killed."""
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
