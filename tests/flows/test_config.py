"""The pipeline configuration: YAML + flags, frozen, checked (flows.config)."""

from __future__ import annotations

import pytest

from flows.config import ConfigError, PipelineConfig, load_config


def test_config_yaml_paths_are_relative_to_the_file(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text("comments: in/c.csv\nscore_scale: {low: 0, high: 10}\n", encoding="utf-8")
    cfg = load_config(cfg_path, out=tmp_path / "o")
    assert cfg.comments == (tmp_path / "in" / "c.csv").resolve()
    assert cfg.score_scale.scale().is_nps and cfg.out == tmp_path / "o"


def test_config_rejects_unknown_keys(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text("comments: c.csv\nscore_scael: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="score_scael"):
        load_config(cfg_path)


def test_config_flags_override_the_file_and_none_keeps_it(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text("seed: 7\nout: o1\n", encoding="utf-8")
    cfg = load_config(cfg_path, out=tmp_path / "o2", seed=None)
    assert cfg.seed == 7 and cfg.out == tmp_path / "o2"


def test_config_is_frozen_and_dumps_to_json_parameters():
    cfg = PipelineConfig(dataset="nhs")
    with pytest.raises(ValueError):
        cfg.dataset = "other"
    assert PipelineConfig(**cfg.model_dump(mode="json")) == cfg


def test_config_bad_yaml_names_the_file(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text("seed: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cfg.yaml"):
        load_config(cfg_path)
