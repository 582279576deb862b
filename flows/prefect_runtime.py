"""Which Prefect API a command talks to, and a temporary server that dies with the command.

`feedback run` without a Prefect API used to rely on Prefect's own temporary server
(`prefect.server.api.server.SubprocessASGIServer`, started lazily by `get_client()`). Prefect stops
it from an `atexit` hook, so a `feedback run` killed with SIGKILL left it running as an orphan. Here
the CLI starts the same server itself (the same uvicorn command Prefect runs), from its main thread,
with Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGTERM)`), points `PREFECT_API_URL` at
it for the run and stops it afterwards; the kernel stops it if we are killed. The server starts
while the CLI imports the pipeline, so the two overlap. Telemetry is off for it: its first
heartbeat writes to the fresh SQLite database during migrations and printed a "database is locked"
traceback on every first run (and this pipeline is offline anyway). A configured API (env var or
Prefect profile) is used as is.

`feedback serve` needs a real, reachable API (the temporary server runs no scheduler):
`require_prefect_api` checks `<url>/health` first.

Nothing here imports Prefect at module level; the fast tests use the helpers without it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SERVER_START_TIMEOUT_S = 120.0  # a first start migrates a fresh SQLite database (~20 s on 2 cores)
SERVER_STOP_TIMEOUT_S = 10.0
HEALTH_TIMEOUT_S = 3.0
# What Prefect's SubprocessASGIServer sets for its server, plus telemetry off (see above).
TEMPORARY_SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
START_SERVER_HINT = (
    "start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
)


class PrefectAPIError(RuntimeError):
    """No usable Prefect API: the message says which URL and what to do (the CLI exits 2)."""


def no_api_message(url: str | None, command: str = "feedback serve", reason: str = "") -> str:
    """'no Prefect API at <url or none set> [(<reason>)]: start one with ..., then rerun ...'."""
    where = url or "none set"
    why = f" ({reason})" if reason else ""
    return f"no Prefect API at {where}{why}: {START_SERVER_HINT}, then rerun `{command}`"


def parent_death_preexec(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` for `subprocess.Popen`: the child gets `sig` when its parent dies.

    Linux only (returns None elsewhere: no-op). The signal comes when the *thread* that started the
    child exits, so start long-lived children from the main thread. If the parent is already gone
    by the time the child runs this (a race with a kill during fork), the child signals itself.
    libc is resolved here, before the fork, so the child only makes the system call.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def require_prefect_api(
    url: str | None,
    *,
    command: str = "feedback serve",
    api_key: str | None = None,
    timeout: float = HEALTH_TIMEOUT_S,
) -> str:
    """Return `url` if a Prefect API answers `GET <url>/health` with 200, else PrefectAPIError."""
    if not url:
        raise PrefectAPIError(no_api_message(None, command))
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise PrefectAPIError(no_api_message(url, command, reason)) from exc
    if response.status_code != 200:
        reason = f"/health answered HTTP {response.status_code}"
        raise PrefectAPIError(no_api_message(url, command, reason))
    return url


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment, else from Prefect's settings (profile, .env)."""
    if url := os.environ.get("PREFECT_API_URL"):
        return url
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def configured_api_key() -> str | None:
    """PREFECT_API_KEY as Prefect resolves it (needed by Prefect Cloud's /health)."""
    from prefect.settings import get_current_settings

    key = get_current_settings().api.key
    return key.get_secret_value() if key is not None else None


def free_local_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TemporaryServer:
    """A Prefect API server process we started; `stop()` ends it, our death ends it too."""

    process: subprocess.Popen
    url: str

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT_S) -> None:
        """Block until `<url>/health` answers 200; PrefectAPIError if it exits or times out."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=HEALTH_TIMEOUT_S) as client:
            while time.monotonic() < deadline:
                if (code := self.process.poll()) is not None:
                    raise PrefectAPIError(
                        no_api_message(
                            self.url,
                            "feedback run",
                            f"the temporary Prefect server exited with code {code}; "
                            "its errors are printed above",
                        )
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        raise PrefectAPIError(
            no_api_message(
                self.url,
                "feedback run",
                f"the temporary Prefect server did not answer within {timeout:.0f} s",
            )
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after SERVER_STOP_TIMEOUT_S; always reaps the process."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_temporary_server(port: int | None = None) -> TemporaryServer:
    """Start Prefect's API server (uvicorn, as SubprocessASGIServer does) as our dying child.

    Returns at once; call `wait_ready()` before using it. Its database is Prefect's usual one
    (PREFECT_HOME / the profile), as with Prefect's own temporary server.
    """
    import prefect
    from prefect.settings import get_current_settings

    port = port or free_local_port()
    command = [
        sys.executable, "-m", "uvicorn",
        "--app-dir", str(prefect.__module_path__.parent),
        "--factory", "prefect.server.api.server:create_app",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "error", "--lifespan", "on",
    ]  # fmt: skip
    env = {
        **os.environ,
        **TEMPORARY_SERVER_ENV,
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }
    env.pop("PREFECT_API_URL", None)
    # Own session: a Ctrl-C in the terminal reaches only `feedback run`, which still reports the
    # interrupted run to the server and then stops it (instead of both stopping at once).
    process = subprocess.Popen(
        command, env=env, preexec_fn=parent_death_preexec(), start_new_session=True
    )
    return TemporaryServer(process=process, url=f"http://127.0.0.1:{port}/api")


@dataclass
class PrefectAPI:
    """The API a run uses: the configured one, or a temporary server (`temporary`)."""

    url: str | None
    temporary: TemporaryServer | None = field(default=None)

    def wait_ready(self) -> None:
        """Block until the temporary server answers (no-op for a configured API)."""
        if self.temporary is not None:
            self.temporary.wait_ready()


@contextlib.contextmanager
def prefect_api(*, echo: Callable[[str], None] | None = None) -> Iterator[PrefectAPI]:
    """The Prefect API for one `feedback run`; use from the main thread, then `wait_ready()`.

    With PREFECT_API_URL configured (env or profile) it is used as is. Otherwise a temporary
    server is started (not awaited: import the pipeline meanwhile, then call `wait_ready()`),
    PREFECT_API_URL points at it for the block, and it is stopped on exit, or by the kernel if
    this process is killed. If Prefect's temporary mode is disabled
    (PREFECT_SERVER_ALLOW_EPHEMERAL_MODE=false) it raises PrefectAPIError.
    """
    if url := configured_api_url():
        yield PrefectAPI(url=url)
        return
    from prefect.settings import get_current_settings

    if not get_current_settings().server.ephemeral.enabled:
        reason = "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE is false, so no temporary server"
        raise PrefectAPIError(no_api_message(None, "feedback run", reason))
    server = start_temporary_server()
    if echo is not None:
        echo(
            f"prefect: no PREFECT_API_URL set; temporary server on {server.url} for this run "
            "(set PREFECT_API_URL to use a running Prefect server)"
        )
    try:
        with _api_url_set(server.url):
            try:
                yield PrefectAPI(url=server.url, temporary=server)
            finally:
                _drain_prefect_workers()
    finally:
        server.stop()


def _drain_prefect_workers(timeout: float = SERVER_STOP_TIMEOUT_S) -> None:
    """Send the logs and events Prefect still queues before its server goes away.

    Otherwise they are sent at interpreter exit, to a stopped server, and Prefect retries for
    over a minute before printing "Error logging to API". (Prefect's own test harness drains the
    same two workers before stopping its server.)
    """
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout)


@contextlib.contextmanager
def _api_url_set(url: str) -> Iterator[None]:
    """PREFECT_API_URL=url in the environment and in Prefect's global settings, then restored.

    Prefect builds its global settings at import time and threads without a copied context read
    them, so that global context is refreshed too (`refresh_global_settings_context`).
    """
    from prefect.context import refresh_global_settings_context

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    refresh_global_settings_context()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        refresh_global_settings_context()
