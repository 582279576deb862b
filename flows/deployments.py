"""Nightly schedule: serve the flow with a cron trigger. Parameters are paths, never data."""

from __future__ import annotations

from flows.config import PipelineConfig
from flows.feedback_pipeline import feedback_pipeline_flow
from flows.prefect_runtime import configured_api_key, configured_api_url, require_prefect_api

NIGHTLY_CRON = "0 2 * * *"
MAX_CONCURRENT_RUNS = 1  # one nightly run at a time, across every process serving it


def serve_nightly(config: PipelineConfig, cron: str = NIGHTLY_CRON, name: str = "nightly") -> None:
    """Block and run `feedback_pipeline_flow(config)` on `cron` (a long-running process).

    Needs a reachable Prefect API (a temporary server has no scheduler, so the schedule would never
    fire): raises `flows.prefect_runtime.PrefectAPIError` before serving otherwise. A run due while
    one is still running waits for it (deployment concurrency limit 1, strategy ENQUEUE).
    """
    url, key = configured_api_url(), configured_api_key()
    require_prefect_api(url, command="feedback serve", api_key=key)
    feedback_pipeline_flow.serve(
        name=name,
        cron=cron,
        parameters={"config": config.model_dump(mode="json")},
        tags=["feedback", "nightly"],
        description="Nightly feedback text mining run.",
        global_limit=MAX_CONCURRENT_RUNS,
        limit=MAX_CONCURRENT_RUNS,
    )
