"""Issue #16: does labelling a long comment from its statements beat its comment-level label?

    export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 HF_HUB_OFFLINE=1
    .venv/bin/python bench/long_text_sentiment.py            # table to stdout
    .venv/bin/python bench/long_text_sentiment.py --out bench/results/long_text_sentiment.md

Everything goes through the pipeline's own code: statements from `nlp.themes.statements`
(spaCy senter, contrastive clauses; `theme_text` with @handles masked), the `minilm-onnx`
encoder and the branch in models/sentiment_branch, or --branch DIR (int8 under onnxruntime, as
a run uses it), both through `nlp.embedding.stage.embedded_documents` with the branch's states
hook: once over the comments (today's label), once over the statements of multi-statement
comments (the pass the themes stage already makes; the branch's time on it is the extra cost).
Outputs are cached per branch fingerprint in --cache.

Domains (../shared/data, rows from bench/sentiment_lodo.py's `labelled_frames`): government app
reviews (stars: 1-2 negative, 3 neutral, 4-5 positive), TweetEval (a label-stratified sample,
seed 0; the short-text check) and the NHS hold-out rows (crc32(Comment ID) % 5 == 0, human
`Comment sentiment`), which no branch trains on, so NHS chooses nothing. The shipped all-domain
branch trained on all app reviews and on a 4,000-tweet sample that holds this bench's tweets:
with it, apps and TweetEval are in-sample; `--branch` a LODO fold branch trained without apps
to measure the rule on reviews the branch has not seen.
The rule (`nlp.sentiment.statements.StatementRule`) is chosen on the mean macro-F1 of apps and
TweetEval; each of the two is also scored with the rule the other alone would choose.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sentiment_lodo import labelled_frames  # noqa: E402
from nlp.sentiment.head import LABELS  # noqa: E402
from nlp.sentiment.statements import StatementRule, combined_log_probabilities  # noqa: E402

CHOICE = ("apps", "tweeteval")
MAX_SHORT_CHANGED = 0.01  # the short-text check: a rule may change at most this share of tweets
CHAR_BANDS = (("< 100 chars", 0, 100), ("100-299 chars", 100, 300), ("300-599 chars", 300, 600))
CHAR_BANDS += (("600+ chars", 600, 10**9),)
STATEMENT_BANDS = (("1 statement", 1, 1), ("2 statements", 2, 2), ("3-4 statements", 3, 4))
STATEMENT_BANDS += (("5+ statements", 5, 10**9),)
GRID = {
    "min_statements": (2, 3, 5),
    "min_chars": (0, 200, 400),
    "weight": (0.0, 0.25, 0.5, 0.75, 1.0),
    "neutral_bias": (-0.25, 0.0, 0.25, 0.5, 0.75),
    "by_length": (True, False),
    "linear": (False, True),
}


@dataclass
class Scored:
    """One domain's comment and statement branch outputs."""

    name: str
    gold: np.ndarray
    chars: np.ndarray  # comment length
    comment_log_p: np.ndarray
    owners: np.ndarray  # statement -> comment row
    lengths: np.ndarray  # statement length in characters
    statement_log_p: np.ndarray
    n_statements: np.ndarray
    seconds: dict


def load_domains(shared: Path, tweets_n: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """App reviews, the TweetEval sample and the NHS hold-out rows as (texts, gold labels), from
    bench/sentiment_lodo.py's `labelled_frames` (the same rows and label maps as the LODO bench)."""
    frames = labelled_frames(shared, tweets_n)
    nhs = frames["nhs"][frames["nhs"]["holdout"]]
    return {
        name: (f["text"].tolist(), f["gold"].to_numpy(dtype=str))
        for name, f in (
            ("apps", frames["apps"]),
            ("tweeteval", frames["tweeteval"]),
            ("nhs_holdout", nhs),
        )
    }


def score_domain(name, texts, gold, models, batch_size: int = 64) -> Scored:
    """Branch log-probabilities for the comments and for the statements of multi-statement
    comments, as the embed task computes them, with timings."""
    from nlp.embedding.stage import embedded_documents
    from nlp.ingest.cleaning import text_hash
    from nlp.themes.statements import own_document_rows, split_statements, with_theme_text

    nlp, encoder, branch = models
    hashes = [text_hash(t) for t in texts]
    docs = pd.DataFrame({"comment_id": [str(i) for i in range(len(texts))], "text": texts})
    t0 = time.perf_counter()
    statements = with_theme_text(split_statements(nlp, docs), services=[])
    seconds = {"split": time.perf_counter() - t0}

    def run(run_texts, run_hashes, with_branch: bool):
        t = time.perf_counter()
        out = embedded_documents(
            texts=run_texts,
            hashes=run_hashes,
            encoder=encoder,
            cache={},
            batch_size=batch_size,
            branch=branch if with_branch else None,
            branch_cache={},
            states_for=set(run_hashes) if with_branch else (),
        )
        return out, time.perf_counter() - t

    documents, seconds["comments"] = run(texts, hashes, True)
    seconds["comments_branch"] = documents.branch_seconds
    multi = statements[own_document_rows(statements, docs) < 0]
    _, seconds["statements_encoder_only"] = run(
        multi["theme_text"].tolist(), multi["theme_hash"].tolist(), False
    )
    encoded, seconds["statements_with_branch"] = run(
        multi["theme_text"].tolist(), multi["theme_hash"].tolist(), True
    )
    seconds["statements_branch"] = encoded.branch_seconds
    owners = multi["comment_id"].astype(int).to_numpy()
    return Scored(
        name=name,
        gold=gold,
        chars=np.array([len(t) for t in texts]),
        comment_log_p=np.stack([documents.branch_log_p[h] for h in hashes]),
        owners=owners,
        lengths=multi["text"].str.len().to_numpy(dtype=float),
        statement_log_p=np.stack([encoded.branch_log_p[h] for h in multi["theme_hash"]])
        if len(multi)
        else np.zeros((0, len(LABELS))),
        n_statements=np.bincount(
            statements["comment_id"].astype(int).to_numpy(), minlength=len(texts)
        ),
        seconds={**seconds, "n_statements_encoded": len(multi)},
    )


def cached(name, texts, gold, cache: Path, fingerprint: str, load_models) -> Scored:
    path = cache / f"{fingerprint}-{name}-{len(texts)}.npz"
    if not path.exists():
        s = score_domain(name, texts, gold, load_models())
        arrays = {k: v for k, v in s.__dict__.items() if isinstance(v, np.ndarray)}
        np.savez(path, seconds=json.dumps(s.seconds), **arrays)
    z = np.load(path, allow_pickle=False)
    fields = {k: z[k] for k in z.files if k != "seconds"}
    return Scored(name=name, seconds=json.loads(str(z["seconds"])), **fields)


def macro_f1(gold: np.ndarray, log_p: np.ndarray, rows: np.ndarray | None = None) -> float:
    from sklearn.metrics import f1_score

    predicted = np.array(LABELS)[log_p.argmax(axis=1)]
    if rows is not None:
        gold, predicted = gold[rows], predicted[rows]
    if not len(gold):
        return float("nan")
    return float(f1_score(gold, predicted, labels=list(LABELS), average="macro", zero_division=0))


def apply(s: Scored, rule: StatementRule) -> np.ndarray:
    mine = s.n_statements[s.owners] >= 2  # statements that were encoded (multi-statement)
    log_p, _ = combined_log_probabilities(
        s.comment_log_p, s.owners[mine], s.statement_log_p[mine], s.lengths[mine], rule
    )
    return log_p


def grid_rules(grid: dict) -> list[StatementRule]:
    return [
        StatementRule(**dict(zip(grid, v, strict=True))) for v in itertools.product(*grid.values())
    ]


def changed_share(s: Scored, rule: StatementRule) -> float:
    return float((apply(s, rule).argmax(1) != s.comment_log_p.argmax(1)).mean())


def choose(
    scored: dict[str, Scored], names, grid: dict = GRID, max_short_changed: float | None = None
) -> tuple[StatementRule, float]:
    """The grid's rule with the best mean macro-F1 over `names` (first of ties: the grid's
    gentlest); with `max_short_changed`, among rules that change at most that share of the
    short-text check's (TweetEval's) labels."""
    best, best_f1 = None, -1.0
    for rule in grid_rules(grid):
        if max_short_changed is not None:
            if changed_share(scored["tweeteval"], rule) > max_short_changed:
                continue
        f1 = float(np.mean([macro_f1(scored[n].gold, apply(scored[n], rule)) for n in names]))
        if f1 > best_f1 + 1e-9:
            best, best_f1 = rule, f1
    return best, best_f1


def paired_bootstrap(s: Scored, rule: StatementRule, n: int = 1000, seed: int = 0) -> str:
    """after - before macro-F1 on `s` with a 95 % interval over resampled comments."""
    rng = np.random.default_rng(seed)
    after = apply(s, rule)
    deltas = []
    for _ in range(n):
        rows = rng.integers(0, len(s.gold), len(s.gold))
        deltas.append(macro_f1(s.gold, after, rows) - macro_f1(s.gold, s.comment_log_p, rows))
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    delta = macro_f1(s.gold, after) - macro_f1(s.gold, s.comment_log_p)
    return f"{delta:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def describe(rule: StatementRule) -> str:
    weights = "length-weighted" if rule.by_length else "uniform"
    mix = "linear" if rule.linear else "log-linear"
    chars = f" and {rule.min_chars}+ chars" if rule.min_chars else ""
    return (
        f">= {rule.min_statements} statements{chars}, statement weight {rule.weight} ({mix}), "
        f"neutral bias {rule.neutral_bias:+}, {weights}"
    )


def band_rows(scored: dict[str, Scored], rule: StatementRule) -> list[str]:
    lines = [
        "| domain | band | comments | macro-F1 before | after | changed labels |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in scored.values():
        after = apply(s, rule)
        changed = s.comment_log_p.argmax(1) != after.argmax(1)
        bands = [(b, (s.chars >= lo) & (s.chars < hi)) for b, lo, hi in CHAR_BANDS]
        bands += [
            (b, (s.n_statements >= lo) & (s.n_statements <= hi)) for b, lo, hi in STATEMENT_BANDS
        ]
        for band, rows in [("all", np.ones(len(s.gold), bool)), *bands]:
            lines.append(
                f"| {s.name} | {band} | {int(rows.sum())} | "
                f"{macro_f1(s.gold, s.comment_log_p, rows):.3f} | "
                f"{macro_f1(s.gold, after, rows):.3f} | {int((changed & rows).sum())} |"
            )
    return lines


def cost_rows(scored: dict[str, Scored], rule: StatementRule) -> list[str]:
    """Today's cost (the comment pass with the branch + the themes' statement pass) and the
    extra: the branch's own time on the statements of the comments the rule combines (their
    share of the statements' characters of the branch's measured time on all multi-statement
    statements), less, when the rule reads no comment-level output (weight 1), the branch's
    time on those comments (their share of the comments' characters) that a run then skips."""
    lines = [
        "| domain | comments | combined | statements encoded | today: comments + statements "
        "pass (s) | branch on all those statements (s) | extra (s) | extra ms/comment "
        "| extra vs today |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scored.values():
        t = s.seconds
        today = t["comments"] + t["statements_encoder_only"]
        gated = gated_comments(s, rule)
        mine = gated[s.owners]
        extra = t["statements_branch"] * s.lengths[mine].sum() / max(s.lengths.sum(), 1.0)
        if rule.weight == 1.0:
            extra -= t["comments_branch"] * s.chars[gated].sum() / max(s.chars.sum(), 1)
        lines.append(
            f"| {s.name} | {len(s.gold)} | {int(gated.sum())} | {t['n_statements_encoded']} | "
            f"{today:.1f} | {t['statements_branch']:.1f} | {extra:+.1f} | "
            f"{1000 * extra / len(s.gold):+.2f} | {100 * extra / today:+.1f} % |"
        )
    return lines


def gated_comments(s: Scored, rule: StatementRule) -> np.ndarray:
    mine = s.n_statements[s.owners] >= 2
    return combined_log_probabilities(
        s.comment_log_p, s.owners[mine], s.statement_log_p[mine], s.lengths[mine], rule
    )[1]


def rule_table(scored: dict[str, Scored], rules: dict[str, StatementRule]) -> list[str]:
    names = list(scored)
    lines = [
        "| rule | " + " | ".join(names) + " | mean (apps, TweetEval) | TweetEval changed |",
        "|---" + "|---:" * (len(names) + 2) + "|",
    ]
    before = [macro_f1(scored[n].gold, scored[n].comment_log_p) for n in names]
    choice = np.mean([b for n, b in zip(names, before, strict=True) if n in CHOICE])
    cells = " | ".join(f"{b:.3f}" for b in before)
    lines.append(f"| before: comment-level branch output | {cells} | {choice:.3f} | |")
    for label, rule in rules.items():
        after = [macro_f1(scored[n].gold, apply(scored[n], rule)) for n in names]
        choice = np.mean([a for n, a in zip(names, after, strict=True) if n in CHOICE])
        cells = " | ".join(f"{a:.3f}" for a in after)
        changed = changed_share(scored["tweeteval"], rule)
        lines.append(f"| {label}: {describe(rule)} | {cells} | {choice:.3f} | {changed:.1%} |")
    return lines


def load_models(onnx_dir: Path, branch_dir: Path):
    from nlp import embedding
    from nlp.language import load_spacy
    from nlp.sentiment.branch import SentimentBranch

    cache = Path.home() / ".cache" / "feedback-mining" / "encoders"
    encoder = embedding.load_encoder("minilm-onnx", cache_dir=cache)
    branch = SentimentBranch.load(branch_dir, embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER)
    branch.use_onnx(onnx_dir)
    return load_spacy(), encoder, branch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/long_text_sentiment"))
    parser.add_argument("--tweets", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--branch", type=Path, help="a saved branch (default: models/sentiment_branch)"
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    from models import shipped_model

    args.branch = args.branch or shipped_model("sentiment_branch")
    meta = json.loads((args.branch / "metadata.json").read_text())
    fingerprint = meta.get("fingerprint", "unsaved")
    models: list = []

    def lazy():
        if not models:
            models.append(load_models(args.cache / "onnx", args.branch))
        return models[0]

    scored = {
        name: cached(name, texts, gold, args.cache, fingerprint, lazy)
        for name, (texts, gold) in load_domains(args.shared, args.tweets).items()
    }
    rules = {"best on apps + TweetEval": choose(scored, CHOICE)[0]}
    for name in CHOICE:
        rules[f"best on {name} alone"] = choose(scored, [name])[0]
    short = {"max_short_changed": MAX_SHORT_CHANGED}
    rules["calibration only (weight 0)"] = choose(
        scored,
        CHOICE,
        {**GRID, "weight": (0.0,), "by_length": (True,), "linear": (False,)},
        **short,
    )[0]
    rules["best, short texts kept (TweetEval changed <= 1 %)"] = choose(scored, CHOICE, **short)[0]
    rules["statements only (weight 1), short texts kept"] = choose(
        scored, CHOICE, {**GRID, "weight": (1.0,)}, **short
    )[0]
    rules["shipped default"] = StatementRule()
    lines = [
        f"branch `{args.branch.name}`, fingerprint `{fingerprint}` (trained on "
        f"{meta.get('trained_on_rows') or meta.get('trained_on', '?')}); "
        f"TweetEval sample {args.tweets}; grid {json.dumps(GRID)}",
        "",
        *rule_table(scored, rules),
        "",
        f"Per band, shipped default ({describe(StatementRule())}):",
        "",
        *band_rows(scored, StatementRule()),
        "",
        "After - before (shipped default), 95 % paired bootstrap over comments: "
        + "; ".join(f"{n} {paired_bootstrap(x, StatementRule())}" for n, x in scored.items()),
        "",
        *cost_rows(scored, StatementRule()),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
