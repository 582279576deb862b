"""What an installed (non-editable) copy carries: the shipped models, the default taxonomy and
the report template resolve as package data, never from paths next to the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from models import shipped_model

ROOT = Path(__file__).resolve().parent.parent


def test_packaging_shipped_models_resolve_through_the_package():
    for name in ("sentiment_branch", "sentiment_head", "category_head_nhs"):
        directory = shipped_model(name)
        assert (directory / "metadata.json").is_file() and (
            directory / "model.safetensors"
        ).is_file()


def test_packaging_wheel_holds_models_taxonomy_and_template(tmp_path):
    src = tmp_path / "src"  # a copy: building writes build/ and egg-info beside the sources
    for name in ("pyproject.toml", "README.md"):
        src.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, src / name)
    for package in ("nlp", "flows", "models"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, str(src), "-w", str(tmp_path)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("sentiment_branch", "sentiment_head", "category_head_nhs"):
        assert {f"models/{name}/metadata.json", f"models/{name}/model.safetensors"} <= names
    assert "nlp/tagging/taxonomy.yaml" in names
    assert "nlp/report/templates/report.html" in names
    assert {"nlp/ingest/data/first_names.tsv", "nlp/ingest/data/last_names.tsv"} <= names
