"""One writer at a time: the run lock on an output directory, and unique run ids.

`with run_lock(out, run_id=..., timeout=..., on_wait=...) as info:` holds `<out>/.feedback.lock`
(an OS file lock, `fcntl.flock` through `filelock`) for the whole run and writes who holds it to
`<out>/.feedback.lock.json` (pid, host, run id, start time, command; no user name or paths). A
second run on the same directory waits up to `timeout` seconds, saying once whom it waits for,
then raises `RunLockedError` naming the holder. The OS releases the lock when its holder dies,
so a killed run never blocks the next one; the holder file it leaves behind is replaced and
returned as `info.previous` (that run did not finish: clean its leftovers).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from nlp.storage import write_text_atomic

LOCK_NAME = ".feedback.lock"
HOLDER_NAME = ".feedback.lock.json"
DEFAULT_LOCK_TIMEOUT = 3600.0  # a nightly job waits up to an hour for a manual run to finish
POLL_SECONDS = 0.2
RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"
RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-[0-9a-f]{4})?$")  # the suffix-less form: older runs


class RunLockedError(RuntimeError):
    """Another run holds the output directory and did not finish within the timeout."""

    def __init__(self, message: str, holder: LockInfo | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class OutputDirectoryError(ValueError):
    """The output directory cannot be created or locked (a file, no permission, ...)."""


@dataclass(frozen=True)
class LockInfo:
    """Who holds (or held) the lock. `previous`: the holder file of a run that did not finish."""

    pid: int
    hostname: str
    run_id: str | None
    started_at: str
    command: str
    previous: LockInfo | None = field(default=None, compare=False)

    def describe(self) -> str:
        """'the run 20261201T094748Z-3f9a (pid 123 on host h1, started 2026-12-01T09:47:48Z)'"""
        who = f"the run {self.run_id}" if self.run_id else "another feedback run"
        return f"{who} (pid {self.pid} on host {self.hostname}, started {self.started_at})"

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("previous")
        return json.dumps(data, indent=2)


# ---------------------------------------------------------------- run ids

_issued: dict[str, set[str]] = {}
_issued_guard = threading.Lock()


def new_run_id(now: datetime | None = None) -> str:
    """`20261201T094748Z-3f9a`: the UTC second the run started and 4 random hex digits.

    Ids sort by time (to the second); two runs started in the same second get different ids
    (never the same twice in one process; across processes 1 in 65,536 per pair, and runs on
    one output directory are serialised by `run_lock`). Nothing parses the id: it is a label.
    """
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(RUN_ID_FORMAT)
    with _issued_guard:
        taken = _issued.setdefault(stamp, set())
        if len(_issued) > 1:  # keep only the current second's ids
            for old in [s for s in _issued if s != stamp]:
                del _issued[old]
        if len(taken) >= 0x10000:
            raise RuntimeError(f"more than 65,536 run ids requested within {stamp}")
        while (run_id := f"{stamp}-{secrets.token_hex(2)}") in taken:
            pass
        taken.add(run_id)
    return run_id


# ---------------------------------------------------------------- the lock

_held: dict[str, list] = {}  # lock path -> [LockInfo, depth]: run_lock is re-entrant per process


@contextlib.contextmanager
def run_lock(
    out: Path,
    *,
    run_id: str | None = None,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
    command: str | None = None,
) -> Iterator[LockInfo]:
    """Hold `<out>/.feedback.lock` for the block (creating `out` if needed); yield the holder.

    If another run holds it: call `on_wait(message)` once, wait up to `timeout` seconds (0 =
    not at all), then raise `RunLockedError`. A nested `run_lock` on the same directory in the
    same process (the CLI's around the flow's) yields the outer holder without waiting.
    """
    out = _ensure_dir(Path(out))
    key = str((out / LOCK_NAME).resolve())
    if key in _held:
        _held[key][1] += 1
        try:
            yield _held[key][0]
        finally:
            _held[key][1] -= 1
        return
    lock = FileLock(key, timeout=-1)
    _acquire(lock, out, timeout=timeout, on_wait=on_wait)
    try:
        info = _take_over(out, run_id=run_id, command=command)
        _held[key] = [info, 1]
        try:
            yield info
        finally:
            del _held[key]
            _remove_own_holder(out, info)
    finally:
        lock.release(force=True)


def _ensure_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)  # safe when two runs create it at once
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputDirectoryError(
            f"{out}: the output directory is a file; give a directory with --out"
        ) from exc
    except OSError as exc:
        raise OutputDirectoryError(
            f"{out}: cannot create the output directory ({exc.strerror}); "
            "give a writable directory with --out"
        ) from exc
    return out


def _acquire(lock: FileLock, out: Path, *, timeout: float, on_wait) -> None:
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        pass
    except OSError as exc:
        raise OutputDirectoryError(
            f"{out / LOCK_NAME}: cannot create the run lock ({exc.strerror}); "
            "give a writable directory with --out"
        ) from exc
    if timeout > 0:
        if on_wait is not None:
            on_wait(
                f"{out}: waiting for {_holder_text(out)} to finish; up to {timeout:g} s "
                "(lock_timeout)"
            )
        try:
            lock.acquire(timeout=timeout, poll_interval=POLL_SECONDS)
            return
        except Timeout:
            pass
    holder = read_holder(out)
    raise RunLockedError(locked_message(out, holder, timeout), holder)


def locked_message(out: Path, holder: LockInfo | None, timeout: float) -> str:
    """What a refused run says: who holds `out` and what to do."""
    who = holder.describe() if holder else "another feedback run (it has not said who yet)"
    waited = f"waited {timeout:g} s" if timeout > 0 else "not waiting (lock_timeout 0)"
    stop = (
        f"if it is hung, stop it (kill {holder.pid} on {holder.hostname}): the lock is freed "
        "when it exits and the next run cleans up after it"
        if holder
        else "if it is hung, stop it: the lock is freed when it exits"
    )
    return (
        f"{out}: the output directory is in use by {who}; {waited}. Rerun when it has "
        f"finished, raise lock_timeout (--lock-timeout SECONDS) to wait longer, or use another "
        f"--out; {stop}. (lock file {out / LOCK_NAME})"
    )


def _holder_text(out: Path) -> str:
    holder = read_holder(out)
    return holder.describe() if holder else "another feedback run (it has not said who yet)"


def read_holder(out: Path) -> LockInfo | None:
    """The holder named in `<out>/.feedback.lock.json`, or None when missing or stale.

    Stale: unreadable, older than the lock file (the lock was taken again since; the new
    holder has not written yet), or a process on this host that no longer runs.
    """
    path, lock_path = Path(out) / HOLDER_NAME, Path(out) / LOCK_NAME
    info = _read_holder_file(path)
    if info is None:
        return None
    with contextlib.suppress(OSError):
        if path.stat().st_mtime < lock_path.stat().st_mtime:
            return None
    if info.hostname == socket.gethostname() and not pid_alive(info.pid):
        return None
    return info


def _read_holder_file(path: Path) -> LockInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockInfo(
            pid=int(data["pid"]),
            hostname=str(data["hostname"]),
            run_id=data.get("run_id"),
            started_at=str(data.get("started_at", "?")),
            command=str(data.get("command", "?")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _take_over(out: Path, *, run_id: str | None, command: str | None) -> LockInfo:
    """With the lock held: note a leftover holder file, then write ours (newer than the lock)."""
    leftover = _read_holder_file(out / HOLDER_NAME)  # a clean exit removes it: that run died
    os.utime(out / LOCK_NAME)  # holder files older than this are stale (see read_holder)
    info = LockInfo(
        pid=os.getpid(),
        hostname=socket.gethostname(),
        run_id=run_id,
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=command or _command(),
    )
    write_text_atomic(out / HOLDER_NAME, info.to_json())
    return replace(info, previous=leftover)


def _command() -> str:
    """'feedback run' (program and subcommand only: arguments may hold paths or names)."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if prog in ("__main__.py", "cli.py"):
        prog = "feedback"
    sub = sys.argv[1] if len(sys.argv) > 1 and re.fullmatch(r"[a-z][a-z-]*", sys.argv[1]) else ""
    return f"{prog} {sub}".strip()


def _remove_own_holder(out: Path, info: LockInfo) -> None:
    current = _read_holder_file(out / HOLDER_NAME)
    if current is not None and (current.pid, current.started_at) == (info.pid, info.started_at):
        with contextlib.suppress(OSError):
            (out / HOLDER_NAME).unlink()


@contextlib.contextmanager
def locked_output(config, *, on_wait: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Hold the run lock on `config.out` for `config.run_id` and first remove what a killed run
    left (temp files, unrecorded run folders); yields the removed paths (relative to out)."""
    from flows.io.tables import clean_leftovers

    out = Path(config.out)
    with run_lock(out, run_id=config.run_id, timeout=config.lock_timeout, on_wait=on_wait) as lock:
        crashed = lock.previous.run_id if lock.previous else None
        yield clean_leftovers(out, crashed_run_id=crashed)
