"""Suite-wide checks. The fast suite (`-m "not slow"`) must not import the heavy libraries:
they belong to the slow, model-heavy tests, so a quick run stays quick and shows that stage code
is testable without them. (torch is not on the list: spaCy's thinc imports it whenever it is
installed, so any spaCy test loads it.)"""

from __future__ import annotations

import sys

import pytest

HEAVY = ("prefect", "sentence_transformers")


def heavy_modules_loaded() -> list[str]:
    return [name for name in HEAVY if name in sys.modules]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("markexpr", "") != "not slow":
        return
    loaded = heavy_modules_loaded()
    if loaded:
        session.config.get_terminal_writer().line(
            f"fast suite imported {', '.join(loaded)}: import them inside slow tests only",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
