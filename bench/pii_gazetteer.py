"""Build the first-name / surname gazetteer shipped as nlp/ingest/data/{first,last}_names.tsv.

Source: names-dataset 3.3.1 (Philippe Remy, Apache-2.0), first and last names with their
popularity rank in 105 countries. Kept: names ranked in the top `--top` of at least one
country (with that best rank), alphabetic (hyphens, apostrophes and accents allowed), 2+
letters, lower-cased. The full dataset is 55 MB; the shipped lists are about 1.5 MB and need
no runtime dependency.

    pip install --target /tmp/nd names-dataset==3.3.1   # build-time only
    .venv/bin/python bench/pii_gazetteer.py --dataset /tmp/nd/names_dataset [--top 1500]
"""

from __future__ import annotations

import argparse
import gzip
import pickle
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nlp" / "ingest" / "data"
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))+")


def top_names(path: Path, top: int) -> dict[str, int]:
    """Names ranked within `top` in some country, lower-cased, with their best rank."""
    with gzip.open(path, "rb") as f:
        table: dict = pickle.load(f)
    kept: dict[str, int] = {}
    for name, info in table.items():
        ranks = [r for r in (info.get("rank") or {}).values() if r is not None]
        if ranks and min(ranks) <= top and _WORD.fullmatch(name):
            key = name.lower()
            kept[key] = min(kept.get(key, top), min(ranks))
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", type=Path, required=True, help="the names_dataset package dir")
    ap.add_argument("--top", type=int, default=1000)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    header = (
        "# names-dataset 3.3.1 (Philippe Remy, Apache-2.0): names ranked in the top "
        f"{args.top} of at least one country; built by bench/pii_gazetteer.py\n"
    )
    for kind in ("first", "last"):
        names = top_names(args.dataset / "v3" / f"{kind}_names.pkl.gz", args.top)
        rows = [f"{name}\t{rank}" for name, rank in sorted(names.items())]
        (OUT / f"{kind}_names.tsv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
        print(f"{kind}: {len(names)} names")


if __name__ == "__main__":
    main()
