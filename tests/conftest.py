"""Suite-wide checks. The fast suite (`-m "not slow"`) must not import the heavy libraries:
they belong to the slow, model-heavy tests, so a quick run stays quick and shows that stage code
is testable without them. torch is blocked outright there (spaCy's thinc tries it at import and
runs without it); Prefect and sentence-transformers are checked at the end of the session."""

from __future__ import annotations

import sys

import pytest

HEAVY = ("prefect", "sentence_transformers", "torch")


class _NoTorch:
    """An import hook that makes `import torch` fail, as if it were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not imported by the fast suite (mark the test slow)")
        return None


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("markexpr", "") == "not slow" and "torch" not in sys.modules:
        sys.meta_path.insert(0, _NoTorch())


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


# The full suite runs on two xdist workers, a file at a time (`make test`: -n 2 --dist loadfile
# --no-loadscope-reorder): files are handed out in collection order, so the longest ones go
# first and the many short files fill the other worker meanwhile. Order inside a file is kept.
LONGEST_FIRST = (
    "reliability/test_determinism.py",
    "reliability/test_crash_recovery.py",
    "reliability/test_nightly_reruns.py",
    "reliability/test_degenerate_corpora.py",
    "reliability/test_input_combinations.py",
    "reliability/test_concurrency.py",
    "flows/test_feedback_pipeline.py",
    "reliability/test_hostile_text.py",
    "reliability/test_transient_failures.py",
    "reliability/test_prefect_server.py",
)


def _rank(item: pytest.Item) -> int:
    path = item.path.as_posix()
    return next(
        (i for i, name in enumerate(LONGEST_FIRST) if path.endswith(name)), len(LONGEST_FIRST)
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: every file's own order is kept
