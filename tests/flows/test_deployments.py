"""The nightly schedule (flows.deployments): parameters are the config's paths, never data."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # imports Prefect


def test_deployments_serve_nightly_passes_the_config_as_json_parameters(monkeypatch, tmp_path):
    from flows import deployments
    from flows.config import PipelineConfig

    seen = {}
    monkeypatch.setattr(deployments, "require_prefect_api", lambda url, **kw: url)
    monkeypatch.setattr(
        deployments.feedback_pipeline_flow, "serve", lambda **kwargs: seen.update(kwargs)
    )
    config = PipelineConfig(comments=tmp_path / "c.csv", out=tmp_path / "out")
    deployments.serve_nightly(config, cron="0 3 * * *", name="n")
    assert seen["cron"] == "0 3 * * *" and seen["name"] == "n"
    params = seen["parameters"]["config"]
    assert params["comments"] == str(tmp_path / "c.csv")
    assert PipelineConfig(**params) == config
