"""Shared set-up for the reliability suite's real CLI runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


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
