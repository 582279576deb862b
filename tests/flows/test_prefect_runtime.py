"""flows.prefect_runtime: a child that dies with its parent, the Prefect API check for `serve`."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from flows.prefect_runtime import (
    PrefectAPIError,
    configured_api_url,
    free_local_port,
    prefect_api,
    require_prefect_api,
)

ROOT = Path(__file__).resolve().parents[2]
HINT = (
    "start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api, "
    "then rerun `feedback serve`"
)


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not reaped yet, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.1)
    return not process_alive(pid)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.status if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api():
    """A local HTTP server whose /api/health answers `_Health.status`; yields its API url."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api"
    server.shutdown()
    server.server_close()
    _Health.status = 200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_prefect_runtime_child_dies_when_its_parent_is_sigkilled():
    parent_code = textwrap.dedent(
        """
        import subprocess, sys, time
        from flows.prefect_runtime import parent_death_preexec
        child = subprocess.Popen(["sleep", "60"], preexec_fn=parent_death_preexec())
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    child_pid = int(parent.stdout.readline())
    try:
        assert process_alive(child_pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_gone(child_pid, 5), "the child outlived its SIGKILLed parent"
    finally:
        if process_alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)
        parent.stdout.close()


def test_prefect_runtime_serve_check_refuses_without_an_api_url():
    with pytest.raises(PrefectAPIError) as err:
        require_prefect_api(None)
    assert str(err.value) == f"no Prefect API at none set: {HINT}"


def test_prefect_runtime_serve_check_refuses_a_closed_port(monkeypatch):
    url = f"http://127.0.0.1:{free_local_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    with pytest.raises(PrefectAPIError) as err:
        require_prefect_api(configured_api_url(), timeout=2)
    message = str(err.value)
    assert message.startswith(f"no Prefect API at {url} (ConnectError")
    assert message.endswith(HINT)


def test_prefect_runtime_serve_check_refuses_an_unhealthy_api(fake_api):
    _Health.status = 503
    with pytest.raises(PrefectAPIError, match=r"\(/health answered HTTP 503\)"):
        require_prefect_api(fake_api)


def test_prefect_runtime_serve_check_accepts_a_healthy_api(fake_api):
    assert require_prefect_api(fake_api) == fake_api


def test_prefect_runtime_configured_api_is_used_as_is(monkeypatch, fake_api):
    monkeypatch.setenv("PREFECT_API_URL", fake_api)
    with prefect_api() as api:
        api.wait_ready()
        assert api.url == fake_api and api.temporary is None
    assert os.environ["PREFECT_API_URL"] == fake_api


@pytest.mark.slow  # starts a real Prefect server
def test_prefect_runtime_temporary_server_serves_the_block_and_stops(tmp_path):
    script = textwrap.dedent(
        """
        import os, httpx
        from flows.prefect_runtime import prefect_api
        with prefect_api(echo=print) as api:
            api.wait_ready()
            assert os.environ["PREFECT_API_URL"] == api.url
            from prefect.settings import get_current_settings
            assert get_current_settings().api.url == api.url
            print("health", httpx.get(api.url + "/health").status_code)
            print("pid", api.temporary.process.pid, flush=True)
        print("after", os.environ.get("PREFECT_API_URL"), api.temporary.process.poll() is not None)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("prefect: no PREFECT_API_URL set; temporary server on http://")
    assert "health 200" in lines and "after None True" in lines
    assert "database is locked" not in done.stdout + done.stderr


@pytest.mark.slow  # imports Prefect
def test_prefect_runtime_serve_nightly_refuses_before_serving(monkeypatch, tmp_path):
    from flows import deployments
    from flows.config import PipelineConfig

    served = []
    monkeypatch.setattr(deployments.feedback_pipeline_flow, "serve", lambda **kw: served.append(kw))
    url = f"http://127.0.0.1:{free_local_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    config = PipelineConfig(comments=tmp_path / "c.csv", out=tmp_path / "out")
    with pytest.raises(PrefectAPIError, match=f"no Prefect API at {url}"):
        deployments.serve_nightly(config)
    assert served == []


@pytest.mark.slow  # imports Prefect
def test_prefect_runtime_serve_nightly_keeps_one_run_at_a_time(monkeypatch, tmp_path, fake_api):
    from flows import deployments
    from flows.config import PipelineConfig

    served = []
    monkeypatch.setattr(deployments.feedback_pipeline_flow, "serve", lambda **kw: served.append(kw))
    monkeypatch.setenv("PREFECT_API_URL", fake_api)
    deployments.serve_nightly(PipelineConfig(comments=tmp_path / "c.csv", out=tmp_path / "o"))
    assert served[0]["global_limit"] == 1 and served[0]["limit"] == 1
