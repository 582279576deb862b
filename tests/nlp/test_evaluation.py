"""The stable hold-out split and label maps shared by training and evaluation."""

from __future__ import annotations

import zlib

import pandas as pd
import pytest

from nlp.evaluation import holdout_mask, map_labels, parse_label_map


def test_evaluation_holdout_depends_only_on_each_id():
    ids = pd.Series([f"c{i}" for i in range(1000)])
    mask = holdout_mask(ids)
    assert 150 < mask.sum() < 250  # about one in five
    assert mask[7] == (zlib.crc32(b"c7") % 5 == 0)
    # new rows never move old ones: the first 1000 keep their split in a longer list
    longer = holdout_mask(pd.concat([ids, pd.Series(["new1", "new2"])], ignore_index=True))
    assert (longer[:1000] == mask).all()


def test_evaluation_label_map_parses_and_maps_csv_floats():
    mapping = parse_label_map("1,2=positive; 3=neutral;4,5=negative")
    assert mapping == {"1": "positive", "2": "positive", "3": "neutral", "4": "negative",
                       "5": "negative"}  # fmt: skip
    got = map_labels(pd.Series(["1.0", " 4", "", None, "9"]), mapping)
    assert got.tolist()[:2] == ["positive", "negative"] and got[2:].isna().all()
    with pytest.raises(ValueError, match="has no '='"):
        parse_label_map("1,2 positive")
