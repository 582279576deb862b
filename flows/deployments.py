"""Nightly schedule: serve the flow with a cron trigger. Parameters are paths, never data."""

from __future__ import annotations

from flows.config import PipelineConfig
from flows.feedback_pipeline import feedback_pipeline_flow

NIGHTLY_CRON = "0 2 * * *"


def serve_nightly(config: PipelineConfig, cron: str = NIGHTLY_CRON, name: str = "nightly") -> None:
    """Block and run `feedback_pipeline_flow(config)` on `cron` (a long-running process)."""
    feedback_pipeline_flow.serve(
        name=name,
        cron=cron,
        parameters={"config": config.model_dump(mode="json")},
        tags=["feedback", "nightly"],
        description="Nightly feedback text mining run.",
    )
