"""Issue #16: does comment sentiment generalise? Leave-one-domain-out (LODO) over three domains.

    export OMP_NUM_THREADS=1
    .venv/bin/python bench/sentiment_lodo.py              # the table (bench/results/)
    .venv/bin/python bench/sentiment_lodo.py --finetune   # + branches fine-tuned on the domains

Domains (../shared/data): NHS patient feedback (human labels 1-2 positive, 3 neutral/mixed, 4-5
negative), TweetEval (3 classes by annotators; a 4,000-row label-stratified sample, --tweets) and
government app reviews (stars as weak labels: 1-2 negative, 3 neutral, 4-5 positive). Every recipe
is trained on two domains and scored on the third (macro-F1); "NHS hold-out" trains on all three
(NHS without its hold-out rows, crc32(id) % 5 == 0, which no model ever trains on) and scores the
1,194 hold-out rows. Recipes are picked by the mean of the three LODO columns, not by NHS. The
neutral margin (label by s = p(pos) - p(neg), neutral when |s| <= t) is chosen inside each fold
by LODO among its training domains, so the scored domain chooses nothing. The shipped NHS-only
models (and mixes with them) cannot leave NHS out: their NHS column is the NHS hold-out.
MiniLM features (sentence embedding, layer-2 token states: one torch pass, one thread), VADER
and the shipped branch's outputs are computed once and cached in --cache (first run under load
~30 min, then ~8 min). --finetune fine-tunes the shipped branch's recipe on each fold's training
domains (nlp.sentiment.branch.train_branch; --finetune-fold runs one fold, for parallel runs)
and compares it with the shipped branch (paired bootstrap); --skip-recipes prints only the
baselines and the fine-tuned rows; --unseen-tweets N scores both branches on N tweets outside
the sample; --ship DIR saves the all-domain branch with its provenance and this run's numbers.
Fold outputs are cached by fold/epochs/cap only: delete them after changing the recipe; the
shipped branch's outputs are cached per fingerprint.

Since 2026-12-01 models/sentiment_branch is the all-domain branch (trained on NHS training rows,
TweetEval's 4,000-row sample and all app reviews): the rows labelled "shipped ... NHS only" and
the mixes with the shipped branch were measured with the NHS-only branch (bce1ead47ac52ad7); a
rerun now scores the all-domain branch there, in-domain on every column (not LODO). The
all-domain recipe's LODO numbers are the `--finetune` rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.evaluation import holdout_mask, map_labels, parse_label_map  # noqa: E402
from nlp.sentiment.head import LABELS  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DOMAINS = ("nhs", "tweeteval", "apps")
LICENCES = {
    "nhs": "nhs_patient_feedback_v6.csv: CC BY-NC-SA 4.0 (Care Opinion / NHS trusts via The "
    "Strategy Unit's pxtextmining)",
    "tweeteval": "tweeteval_sentiment.csv: TweetEval (cardiffnlp/tweeteval, SemEval-2017 Task 4 "
    "val+test), released without added restrictions; the original SemEval-2017 task data and "
    "Twitter's terms apply",
    "apps": "gov_app_reviews.csv: scraped public Play-store reviews of a government public-health "
    "app (KunalGehlot/Play-store-scraper), reviewer names removed; no other licence stated; "
    "stars as weak labels",
}
LICENCE = (
    "CC BY-NC-SA 4.0 derivative (trained on NHS patient feedback, CC BY-NC-SA 4.0, see README); "
    "also trained on TweetEval (released without added restrictions; the SemEval-2017 Task 4 "
    "data terms and Twitter's terms apply) and on scraped public Play-store reviews "
    "(KunalGehlot/Play-store-scraper, reviewer names removed, no other licence stated); see "
    "`licences`"
)
MARGINS = np.round(np.arange(0.0, 0.61, 0.05), 2)
HEAD_WEIGHT = 0.5  # the mix's head weight, chosen by mean LODO macro-F1 among 0.3, 0.5, 0.7


@dataclass
class Domain:
    """One domain's texts, gold labels, NHS hold-out flags and cached MiniLM features."""

    name: str
    texts: list[str]
    gold: np.ndarray
    holdout: np.ndarray  # True for NHS hold-out rows (all False elsewhere)
    embedding: np.ndarray | None = None  # (n, 384) unit sentence embeddings
    pooled2: np.ndarray | None = None  # (n, 384) masked mean of layer-2 token states
    states: list[np.ndarray] | None = None  # per-text layer-2 token states (float16)
    extra: dict | None = None  # other per-row features (vader, shipped model outputs)


def labelled_frames(shared: Path, tweets_n: int = 4000) -> dict[str, pd.DataFrame]:
    """The three labelled domains as frames of `text`, `gold` (str) and `holdout` (the NHS
    hold-out rows, crc32(Comment ID) % 5 == 0; False elsewhere): NHS rows with a label and a
    comment, TweetEval as a label-stratified sample of `tweets_n` rows (seed 0, sorted by id)
    and the app reviews with stars as weak labels. Shared by bench/long_text_sentiment.py."""
    nhs = pd.read_csv(shared / "nhs_patient_feedback_v6.csv", dtype=str, keep_default_na=False)
    nhs["gold"] = map_labels(
        nhs["Comment sentiment"].replace("", pd.NA),
        parse_label_map("1,2=positive;3=neutral;4,5=negative"),
    )
    nhs = nhs[nhs["gold"].notna() & nhs["FFT answer"].str.strip().ne("")]
    tweets = pd.read_csv(shared / "tweeteval_sentiment.csv", dtype=str, keep_default_na=False)
    if tweets_n < len(tweets):
        from sklearn.model_selection import train_test_split

        tweets, _ = train_test_split(
            tweets, train_size=tweets_n, stratify=tweets["label"], random_state=0
        )
        tweets = tweets.sort_values("id")
    apps = pd.read_csv(shared / "gov_app_reviews.csv", dtype=str, keep_default_na=False)
    stars = apps["review_star_count"].map(parse_label_map("1,2=negative;3=neutral;4,5=positive"))
    out = {
        "nhs": (nhs["FFT answer"], nhs["gold"], holdout_mask(nhs["Comment ID"])),
        "tweeteval": (tweets["text"], tweets["label"], np.zeros(len(tweets), bool)),
        "apps": (apps["review"], stars, np.zeros(len(apps), bool)),
    }
    return {
        name: pd.DataFrame(
            {
                "text": text.tolist(),
                "gold": np.asarray(gold, dtype=object).astype(str),
                "holdout": np.asarray(hold, dtype=bool),
            }
        )
        for name, (text, gold, hold) in out.items()
    }


def load_domains(shared: Path, tweets_n: int = 4000) -> dict[str, Domain]:
    """The three domains (`labelled_frames`); TweetEval sampled to keep the CPU cost down."""
    return {
        name: Domain(
            name, f["text"].tolist(), f["gold"].to_numpy(dtype=str), f["holdout"].to_numpy()
        )
        for name, f in labelled_frames(shared, tweets_n).items()
    }


def minilm_features(texts: list[str], batch_size: int = 32):
    """(embeddings, layer-2 pooled, layer-2 token states) from one torch MiniLM pass; the
    embedding is the model's own (mean of the last layer, unit length; texts truncated to the
    256-token window, where the pipeline would average chunks of a very long text)."""
    import torch

    from nlp import embedding
    from nlp.embedding import STATE_LAYER

    model = embedding.load_encoder("minilm").model
    bert, tok = model[0].auto_model, model.tokenizer
    n, dim = len(texts), bert.config.hidden_size
    emb, pooled = np.zeros((n, dim), np.float32), np.zeros((n, dim), np.float32)
    states: list[np.ndarray] = [np.zeros(0)] * n
    order = np.argsort([-len(t) for t in texts], kind="stable")
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            enc = tok(
                [texts[i] for i in idx],
                truncation=True,
                max_length=model.max_seq_length,
                padding=True,
                return_tensors="pt",
            )
            out = bert(**enc, output_hidden_states=True)
            mask = enc["attention_mask"][..., None].float()
            last = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
            emb[idx] = torch.nn.functional.normalize(last, dim=1).numpy()
            h2 = out.hidden_states[STATE_LAYER]
            pooled[idx] = ((h2 * mask).sum(1) / mask.sum(1)).numpy()
            lengths = enc["attention_mask"].sum(1).tolist()
            for row, h, length in zip(idx, h2.numpy(), lengths, strict=True):
                states[row] = h[:length].astype(np.float16)
    return emb, pooled, states


def cached_features(domain: Domain, cache: Path) -> None:
    """Fill the domain's MiniLM features from `cache/<name>-<rows>.npz`, computing them once."""
    path = cache / f"{domain.name}-{len(domain.texts)}.npz"
    if not path.exists():
        t0 = time.perf_counter()
        emb, pooled, states = minilm_features(domain.texts)
        lengths = np.array([len(s) for s in states])
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(
            path, embedding=emb, pooled2=pooled, states=np.concatenate(states), lengths=lengths
        )
        print(f"{domain.name}: MiniLM features in {time.perf_counter() - t0:.0f} s", flush=True)
    data = np.load(path)
    domain.embedding, domain.pooled2 = data["embedding"], data["pooled2"]
    ends = np.cumsum(data["lengths"])
    flat = data["states"]
    domain.states = [flat[e - n : e] for e, n in zip(ends, data["lengths"], strict=True)]


def training_rows(domain: Domain, cap: int | None = None, seed: int = 0) -> np.ndarray:
    """Row indices a model may train on: never NHS hold-out rows; at most `cap` rows, drawn
    stratified by label (seeded), when the domain has more."""
    rows = np.flatnonzero(~domain.holdout)
    if cap is None or len(rows) <= cap:
        return rows
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(rows, train_size=cap, stratify=domain.gold[rows], random_state=seed)
    return np.sort(keep)


def scored_rows(domain: Domain, left_out: bool) -> np.ndarray:
    """Rows scored: every row of a left-out domain, else (NHS) its hold-out rows."""
    return np.arange(len(domain.gold)) if left_out else np.flatnonzero(domain.holdout)


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, labels=list(LABELS), average="macro"))


def margin_labels(p: np.ndarray, margin: float | None) -> np.ndarray:
    """Labels from probabilities (LABELS order): argmax, or with `margin` t by s = p(pos) -
    p(neg): positive above t, negative below -t, neutral between."""
    if margin is None:
        return np.array(LABELS)[p.argmax(1)]
    s = p[:, 2] - p[:, 0]
    return np.where(s > margin, "positive", np.where(s < -margin, "negative", "neutral"))


def best_margin(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The margin in MARGINS with the best mean macro-F1 over (probabilities, gold) pairs."""
    scores = [np.mean([macro_f1(g, margin_labels(p, t)) for p, g in pairs]) for t in MARGINS]
    return float(MARGINS[int(np.argmax(scores))])


def folds(nhs_trained: bool = False) -> list[tuple[str, list[str], str, bool]]:
    """(fold name, training domains, scored domain, left out?): the three LODO folds, then the
    NHS hold-out trained on all three. With `nhs_trained` (a shipped model trained on NHS is
    part of the prediction) the NHS fold scores only the NHS hold-out rows."""
    out = [
        (d, [o for o in DOMAINS if o != d], d, not (nhs_trained and d == "nhs")) for d in DOMAINS
    ]
    return out + [("nhs-holdout", list(DOMAINS), "nhs", False)]


# --- fine-tuned branch (the shipped branch's recipe, trained on several domains) -------------


def finetune_fold(
    domains: dict[str, Domain], fold: tuple, settings, cap: int | None, out: Path
) -> np.ndarray:
    """Fine-tune a branch (nlp.sentiment.branch.train_branch: layers 3-6 from layer-2 states)
    on the fold's training domains and return int8 log-probabilities of its scored rows,
    cached in `out/finetune-<fold>-<tag>.npy`; the all-domain branch goes to
    `out/branch-all-<tag>`."""
    import tempfile

    from transformers import AutoModel

    from nlp import embedding
    from nlp.sentiment.branch import branch_log_probabilities, train_branch

    name, train, scored, left_out = fold
    tag = f"e{settings.epochs}-cap{cap or 'all'}"
    path = out / f"finetune-{name}-{tag}.npy"
    if path.exists():
        return np.load(path)
    states, labels, counts = [], [], {}
    for d in train:
        rows = training_rows(domains[d], cap)
        states += [domains[d].states[i].astype(np.float32) for i in rows]
        labels += domains[d].gold[rows].tolist()
        counts[d] = len(rows)
    bert = AutoModel.from_pretrained(
        str(embedding.default_model_path()), attn_implementation="eager"
    )
    t0 = time.perf_counter()
    branch = train_branch(
        states,
        labels,
        base_layers=list(bert.encoder.layer)[embedding.STATE_LAYER :],
        bert_config=bert.config.to_dict(),
        encoder=embedding.SPACE_IDS["minilm"],
        from_layer=embedding.STATE_LAYER,
        settings=settings,
        log=lambda _: None,
        trained_on_rows=counts,
    )
    seconds = time.perf_counter() - t0
    rows = scored_rows(domains[scored], left_out)
    with tempfile.TemporaryDirectory() as tmp:
        branch.use_onnx(Path(tmp))
        log_p = branch_log_probabilities(
            branch, [domains[scored].states[i].astype(np.float32) for i in rows]
        )
    if name == "nhs-holdout":
        branch.session = None
        branch.metadata["training_seconds"] = round(seconds)
        branch.save(out / f"branch-all-{tag}")
    np.save(path, log_p)
    print(f"fine-tuned branch, fold {name}: {len(labels)} rows, {seconds:.0f} s", flush=True)
    return log_p


# --- frozen-feature recipes: logistic regression on MiniLM features ---------------------------


@dataclass(frozen=True)
class Recipe:
    """A softmax regression on standardised features of a domain's rows."""

    name: str
    features: Callable[[Domain], np.ndarray]
    c: float = 0.01
    class_weight: str | None = "balanced"
    domain_balanced: bool = False  # each domain (and class within it) weighs the same
    nhs_trained: bool = False  # its features come from a model trained on NHS


def _vader(d: Domain) -> np.ndarray:
    return d.extra["vader"]


RECIPES = (
    Recipe("embedding, class-balanced (C 0.01)", lambda d: d.embedding),
    Recipe("embedding, no class weights", lambda d: d.embedding, class_weight=None),
    Recipe("embedding, domain x class balanced", lambda d: d.embedding, domain_balanced=True),
    Recipe("embedding, class-balanced, C 0.1", lambda d: d.embedding, c=0.1),
    Recipe("layer-2 states pooled", lambda d: d.pooled2),
    Recipe("embedding + layer-2 pooled", lambda d: np.hstack([d.embedding, d.pooled2])),
    Recipe("embedding + VADER", lambda d: np.hstack([d.embedding, _vader(d)])),
    Recipe(
        "embedding + VADER, domain x class balanced",
        lambda d: np.hstack([d.embedding, _vader(d)]),
        domain_balanced=True,
    ),
)
# The shipped branch's pooled representation with its classifier re-fitted on the domains.
BRANCH_RECIPES = tuple(
    Recipe(
        name, lambda d: d.extra["branch_pooled"], c=c, domain_balanced=balanced, nhs_trained=True
    )
    for name, c, balanced in (
        ("branch representation, classifier re-fitted (C 0.01)", 0.01, False),
        ("branch representation, classifier re-fitted, domain x class balanced", 0.01, True),
        ("branch representation, classifier re-fitted (C 0.1)", 0.1, False),
    )
)


@dataclass
class Fitted:
    """A fitted recipe: standardisation and a scikit-learn LogisticRegression."""

    mean: np.ndarray
    scale: np.ndarray
    clf: object

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        order = [list(self.clf.classes_).index(label) for label in LABELS]
        return self.clf.predict_proba((x - self.mean) / self.scale)[:, order]


def fit_recipe(recipe: Recipe, domains: dict[str, Domain], train: list[str]) -> Fitted:
    from sklearn.linear_model import LogisticRegression

    from nlp.linear import standardise

    xs, ys, ws = [], [], []
    for name in train:
        d = domains[name]
        rows = training_rows(d)
        y = d.gold[rows]
        xs.append(recipe.features(d)[rows])
        ys.append(y)
        counts = {k: (y == k).sum() for k in LABELS}
        ws.append(np.array([1.0 / (len(LABELS) * len(train) * counts[k]) for k in y]))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws) * sum(map(len, ys))
    mean, scale = standardise(x)
    clf = LogisticRegression(
        C=recipe.c,
        max_iter=3000,
        class_weight=None if recipe.domain_balanced else recipe.class_weight,
    )
    clf.fit((x - mean) / scale, y, sample_weight=w if recipe.domain_balanced else None)
    return Fitted(mean, scale, clf)


_FITTED: dict[tuple, Fitted] = {}


def recipe_probabilities(recipe: Recipe, domains: dict[str, Domain], train, scored, rows):
    key = (recipe.name, tuple(train))
    if key not in _FITTED:
        _FITTED[key] = fit_recipe(recipe, domains, train)
    fitted = _FITTED[key]
    return fitted.probabilities(recipe.features(domains[scored])[rows])


def mixed(head_p: np.ndarray, branch_p: np.ndarray, head_weight: float) -> np.ndarray:
    """Probabilities of the branch mixed log-linearly with a head, renormalised:
    log p = (1 - w) log p_branch + w log p_head (the head weighing w). Bench-only: the mix was
    measured, never wired into the pipeline."""
    if not 0.0 <= head_weight <= 1.0:
        raise ValueError(f"head_weight must be in [0, 1], got {head_weight}")
    branch_log_p = np.log(np.clip(branch_p, 1e-12, None))
    log_p = (1.0 - head_weight) * branch_log_p + head_weight * np.log(np.clip(head_p, 1e-6, None))
    return np.exp(log_p - np.logaddexp.reduce(log_p, axis=1, keepdims=True))


def inner_margin(recipe: Recipe, domains: dict[str, Domain], train: list[str], mix=None) -> float:
    """The neutral margin chosen by LODO among `train` alone (each trains on the others)."""
    pairs = []
    for held in train:
        others = [d for d in train if d != held]
        rows = training_rows(domains[held])  # NHS hold-out rows choose nothing
        p = recipe_probabilities(recipe, domains, others, held, rows)
        if mix is not None:
            p = mixed(p, mix[0](domains[held])[rows], mix[1])
        pairs.append((p, domains[held].gold[rows]))
    return best_margin(pairs)


# --- baselines and shipped models, scored as they are ------------------------------------------


def vader_scores(domain: Domain, cache: Path) -> np.ndarray:
    """(n, 4) VADER neg, neu, pos, compound of each text, cached."""
    path = cache / f"vader-{domain.name}-{len(domain.texts)}.npy"
    if not path.exists():
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        keys = ("neg", "neu", "pos", "compound")
        scores = [sia.polarity_scores(t) for t in domain.texts]
        np.save(path, np.array([[s[k] for k in keys] for s in scores], dtype=np.float32))
    return np.load(path)


def vader_probabilities(domain: Domain) -> np.ndarray:
    """Pseudo-probabilities whose p(pos) - p(neg) is VADER's compound (margin 0.05 = VADER's
    usual rule)."""
    c = domain.extra["vader"][:, 3].astype(np.float64)
    return np.column_stack([(1 - c) / 2, np.zeros_like(c), (1 + c) / 2])


def _fingerprint() -> str:
    """The shipped branch's fingerprint: keys its cached outputs (a replaced branch recomputes)."""
    from models import shipped_model
    from nlp.storage import read_metadata

    return read_metadata(shipped_model("sentiment_branch")).get("fingerprint", "unsaved")


def shipped_branch_log_p(domain: Domain, cache: Path) -> np.ndarray:
    """models/sentiment_branch on every row, int8 under onnxruntime as a run uses it, cached
    per fingerprint."""
    path = cache / f"shipped-branch-{_fingerprint()}-{domain.name}-{len(domain.texts)}.npy"
    if not path.exists():
        from models import shipped_model
        from nlp import embedding
        from nlp.sentiment.branch import SentimentBranch, branch_log_probabilities

        branch = SentimentBranch.load(
            shipped_model("sentiment_branch"), embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER
        )
        branch.use_onnx(cache / "onnx")
        states = [s.astype(np.float32) for s in domain.states]
        np.save(path, branch_log_probabilities(branch, states))
    return np.load(path)


def shipped_branch_pooled(domain: Domain, cache: Path, batch_size: int = 64) -> np.ndarray:
    """models/sentiment_branch's pooled representation (the input of its classifier, torch
    fp32) of every row, cached: features for re-fitting only its classifier on all domains."""
    path = cache / f"shipped-branch-pooled-{_fingerprint()}-{domain.name}-{len(domain.texts)}.npy"
    if not path.exists():
        import torch

        from models import shipped_model
        from nlp import embedding
        from nlp.sentiment.branch import SentimentBranch, _pad

        branch = SentimentBranch.load(
            shipped_model("sentiment_branch"), embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER
        )
        pooled = np.zeros(
            (len(domain.texts), branch.torch_module().classifier.in_features), np.float32
        )
        keep = []
        hook = branch.torch_module().classifier.register_forward_hook(
            lambda _m, inputs, _out: keep.append(inputs[0].numpy())
        )
        order = np.argsort([len(s) for s in domain.states], kind="stable")
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                x, mask = _pad([domain.states[i].astype(np.float32) for i in rows])
                branch.torch_module()(torch.from_numpy(x), torch.from_numpy(mask))
                pooled[rows] = keep.pop()
        hook.remove()
        np.save(path, pooled)
    return np.load(path)


def shipped_head_p(domain: Domain) -> np.ndarray:
    """models/sentiment_head's embedding regression (stage 1, NHS-only; its clause stack needs
    the tagging pass and is left out)."""
    from models import shipped_model
    from nlp import embedding
    from nlp.sentiment.head import SentimentHead

    head = SentimentHead.load(shipped_model("sentiment_head"), embedding.SPACE_IDS["minilm"])
    return head.embedding_probabilities(domain.embedding)


# --- scoring -----------------------------------------------------------------------------------


def score_fixed(p_of: Callable[[Domain], np.ndarray], domains, margin=None, nhs_trained=False):
    """A model that is not retrained: macro-F1 on each fold's scored rows."""
    out = {}
    for name, _, scored, left_out in folds(nhs_trained):
        rows = scored_rows(domains[scored], left_out)
        out[name] = macro_f1(
            domains[scored].gold[rows], margin_labels(p_of(domains[scored])[rows], margin)
        )
    return out


def score_fixed_margin(p_of, domains, nhs_trained=False) -> tuple[dict, dict]:
    """A model that is not retrained, with its neutral margin chosen on each fold's training
    domains (NHS without its hold-out rows), so the scored domain chooses nothing."""
    out, margins = {}, {}
    for name, train, scored, left_out in folds(nhs_trained):
        pairs = []
        for d in train:
            rows = training_rows(domains[d])
            pairs.append((p_of(domains[d])[rows], domains[d].gold[rows]))
        margins[name] = best_margin(pairs)
        rows = scored_rows(domains[scored], left_out)
        p = p_of(domains[scored])[rows]
        out[name] = macro_f1(domains[scored].gold[rows], margin_labels(p, margins[name]))
    return out, margins


def score_recipe(recipe: Recipe, domains, mix=None) -> tuple[dict, dict, dict]:
    """(argmax macro-F1, margin macro-F1, margin) per fold; with `mix` = (branch_p_of, w) the
    recipe is the head of a mix with the shipped branch, weighing w (`mixed`)."""
    plain, calibrated, margins = {}, {}, {}
    for name, train, scored, left_out in folds(recipe.nhs_trained or mix is not None):
        rows = scored_rows(domains[scored], left_out)
        p = recipe_probabilities(recipe, domains, train, scored, rows)
        if mix is not None:
            p = mixed(p, mix[0](domains[scored])[rows], mix[1])
        gold = domains[scored].gold[rows]
        plain[name] = macro_f1(gold, margin_labels(p, None))
        margins[name] = inner_margin(recipe, domains, train, mix)
        calibrated[name] = macro_f1(gold, margin_labels(p, margins[name]))
    return plain, calibrated, margins


def _codes_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 of label codes 0-2 from their confusion matrix (fast, for the bootstrap)."""
    k = len(LABELS)
    cm = np.bincount(gold * k + predicted, minlength=k * k).reshape(k, k)
    denominator = cm.sum(0) + cm.sum(1)
    return float(
        np.mean(np.where(denominator > 0, 2 * np.diag(cm) / np.maximum(denominator, 1), 0))
    )


def paired_bootstrap(gold, a, b, n: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Macro-F1 of predictions `b` minus `a` on the same rows, with a 95 % paired bootstrap
    interval (rows resampled with replacement)."""
    code = {label: i for i, label in enumerate(LABELS)}
    g, x, y = (np.array([code[v] for v in arr]) for arr in (gold, a, b))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        rows = rng.integers(0, len(g), len(g))
        diffs.append(_codes_f1(g[rows], y[rows]) - _codes_f1(g[rows], x[rows]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return _codes_f1(g, y) - _codes_f1(g, x), float(lo), float(hi)


def comparison_row(name: str, gold: np.ndarray, preds: list[np.ndarray]) -> str:
    """A markdown row: macro-F1 (per-class F1) of two predictions on the same rows and the
    second's gain with its 95 % paired bootstrap interval."""
    from sklearn.metrics import f1_score

    cells = []
    for pred in preds:
        per = f1_score(gold, pred, labels=list(LABELS), average=None)
        cells.append(f"{macro_f1(gold, pred):.3f} ({' / '.join(f'{f:.2f}' for f in per)})")
    gain, lo, hi = paired_bootstrap(gold, *preds)
    return (
        f"| {name} | {len(gold)} | {cells[0]} | {cells[1]} | {gain:+.3f} [{lo:+.3f}, {hi:+.3f}] |"
    )


def compare_to_branch(domains, recipe: Recipe, branch_p, head_weight: float) -> None:
    """Per-class F1 of the shipped branch and of its mix with the head, and the mix's gain
    with a paired bootstrap interval, per fold."""

    print(
        f"\nShipped branch vs its mix with the head ({recipe.name}, head weight {head_weight}); "
        "per-class F1 negative / neutral / positive; gain = mix - branch, 95 % paired bootstrap"
    )
    print("| fold | rows | branch | mix | gain [95 % CI] |\n|---|---:|---|---|---|")
    for name, train, scored, left_out in folds(nhs_trained=True):
        rows = scored_rows(domains[scored], left_out)
        gold = domains[scored].gold[rows]
        branch = branch_p(domains[scored])[rows]
        mix = mixed(recipe_probabilities(recipe, domains, train, scored, rows), branch, head_weight)
        preds = [margin_labels(p, None) for p in (branch, mix)]
        print(comparison_row(name, gold, preds))


def score_finetuned(log_p: dict[str, np.ndarray], domains) -> tuple[dict, dict, dict]:
    """Fine-tuned branches: argmax, and the margin each fold gets from the *other* LODO folds'
    predictions (their scored domains, NHS without its hold-out rows), so the scored domain
    chooses nothing; the NHS hold-out's margin comes from all three LODO folds."""
    plain, calibrated, margins = {}, {}, {}
    pairs = {}
    for name in DOMAINS:
        keep = ~domains[name].holdout
        pairs[name] = (np.exp(log_p[name])[keep], domains[name].gold[keep])
    for name, _, scored, left_out in folds():
        gold = domains[scored].gold[scored_rows(domains[scored], left_out)]
        p = np.exp(log_p[name])
        plain[name] = macro_f1(gold, margin_labels(p, None))
        margins[name] = best_margin([pairs[d] for d in DOMAINS if d != name])
        calibrated[name] = macro_f1(gold, margin_labels(p, margins[name]))
    return plain, calibrated, margins


def table_row(name: str, scores: dict, margins: dict | None = None, note: str = "") -> str:
    """A markdown row; a row noted ¹ (an NHS-trained model takes part) has the NHS hold-out in
    its NHS column, the model a run would use there."""
    lodo = [scores["nhs-holdout" if note and d == "nhs" else d] for d in DOMAINS]
    cells = [f"{v:.3f}" for v in lodo]
    t = (
        ""
        if margins is None
        else " / ".join(f"{margins[k]:.2f}" for k in [*DOMAINS, "nhs-holdout"])
    )
    return (
        f"| {name}{note} | " + " | ".join(cells) + f" | **{np.mean(lodo):.3f}** | "
        f"{np.mean(lodo[1:]):.3f} | {scores['nhs-holdout']:.3f} | {t} |"
    )


HEADER = (
    "| recipe | NHS | TweetEval | app reviews | mean LODO | mean (TweetEval, apps) | "
    "NHS hold-out | neutral margin t (NHS / Tw / apps / hold-out fold) |\n"
    "|---|---:|---:|---:|---:|---:|---:|---|"
)


def compare_finetuned(domains, branch_p, folds_p: dict[str, np.ndarray], label: str) -> None:
    """Per-class F1 of the shipped branch and of the fine-tuned branches on the same rows, and
    the gain with a 95 % paired bootstrap interval: the two left-out domains the shipped branch
    never saw either, and the NHS hold-out (both trained on NHS training rows)."""

    print(
        f"\nShipped branch vs {label}; per-class F1 negative / neutral / positive; "
        "gain = fine-tuned - shipped, 95 % paired bootstrap"
    )
    print("| fold | rows | shipped branch | fine-tuned | gain [95 % CI] |\n|---|---:|---|---|---|")
    for name in ("tweeteval", "apps", "nhs-holdout"):
        scored = "nhs" if name == "nhs-holdout" else name
        rows = scored_rows(domains[scored], name != "nhs-holdout")
        gold = domains[scored].gold[rows]
        preds = [
            margin_labels(p, None) for p in (branch_p(domains[scored])[rows], np.exp(folds_p[name]))
        ]
        print(comparison_row(name, gold, preds))


def score_unseen_tweets(shared: Path, cache: Path, n: int, all_domain: Path) -> None:
    """The shipped NHS-only branch and the all-domain fine-tuned branch (int8) on `n` TweetEval
    rows outside the 4,000-row sample (label-stratified, seed 1): no model trained on them, but
    the all-domain branch trained on other tweets, so this is an in-domain number, not LODO."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from models import shipped_model
    from nlp import embedding
    from nlp.sentiment.branch import SentimentBranch, branch_log_probabilities

    tweets = pd.read_csv(shared / "tweeteval_sentiment.csv", dtype=str, keep_default_na=False)
    sample, _ = train_test_split(tweets, train_size=4000, stratify=tweets["label"], random_state=0)
    rest = tweets[~tweets["id"].isin(sample["id"])]
    rest, _ = train_test_split(rest, train_size=n, stratify=rest["label"], random_state=1)
    unseen = Domain("unseen-tweets", rest["text"].tolist(), rest["label"].to_numpy(), None)
    cached_features(unseen, cache)
    states = [s.astype(np.float32) for s in unseen.states]
    print(f"\n{n} TweetEval rows outside the 4,000-row sample (of {len(tweets) - 4000}; in-domain)")
    print("| model | rows | macro-F1 | F1 negative / neutral / positive |\n|---|---:|---:|---|")
    space, layer = embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER
    for name, directory in (
        ("shipped branch (NHS only)", shipped_model("sentiment_branch")),
        (f"all-domain fine-tuned branch ({all_domain.name})", all_domain),
    ):
        branch = SentimentBranch.load(directory, space, layer)
        branch.use_onnx(cache / "onnx")
        pred = margin_labels(np.exp(branch_log_probabilities(branch, states)), None)
        per = f1_score(unseen.gold, pred, labels=list(LABELS), average=None)
        f1 = macro_f1(unseen.gold, pred)
        print(f"| {name} | {n} | {f1:.3f} | {' / '.join(f'{f:.2f}' for f in per)} |")


def ship_branch(source: Path, directory: Path, scores: dict[str, dict]) -> Path:
    """Save the all-domain fine-tuned branch (`source`, saved by the nhs-holdout fold) into
    `directory` with its provenance, licences, label maps and this run's LODO numbers."""
    from datetime import UTC, datetime

    from nlp import embedding
    from nlp.sentiment.branch import SentimentBranch

    branch = SentimentBranch.load(source, embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER)
    rows = branch.metadata.get("trained_on_rows", {})
    branch.metadata |= {
        "trained_on": {
            "nhs": "nhs_patient_feedback_v6.csv",
            "tweeteval": "tweeteval_sentiment.csv",
            "apps": "gov_app_reviews.csv",
        },
        "trained_on_rows": rows,
        "label_maps": {
            "nhs": "Comment sentiment 1,2=positive;3=neutral;4,5=negative",
            "tweeteval": "label as released",
            "apps": "review_star_count 1,2=negative;3=neutral;4,5=positive (weak labels)",
        },
        "holdout": "NHS rows with crc32(Comment ID) % 5 == 0 excluded",
        "tweeteval_sample": f"{rows.get('tweeteval', '?')} rows stratified by label (seed 0) "
        "of the 14,284",
        "token_states": "torch MiniLM layer-2 states, first 256-token window (bench cache)",
        "licences": LICENCES,
        "licence": LICENCE,
        "base_model": embedding.MODEL_ID,
        "lodo_macro_f1": {k: {f: round(v, 4) for f, v in s.items()} for k, s in scores.items()},
        "measured_by": "bench/sentiment_lodo.py --finetune (bench/results/sentiment_lodo.md)",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    branch.metadata.pop("fingerprint", None)
    return branch.save(directory)


def prepared_domains(
    shared: Path, cache: Path, tweets_n: int, with_branch: bool = True
) -> dict[str, Domain]:
    domains = load_domains(shared, tweets_n)
    for d in domains.values():
        cached_features(d, cache)
        d.extra = {"vader": vader_scores(d, cache)}
        if with_branch:
            d.extra["branch_pooled"] = shipped_branch_pooled(d, cache)
    return domains


def settings_of(args: argparse.Namespace):
    from nlp.sentiment.branch import TrainingSettings

    return TrainingSettings(epochs=args.epochs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/h8"))
    ap.add_argument("--finetune", action="store_true", help="score fine-tuned branches too")
    ap.add_argument("--finetune-fold", help="fine-tune one fold (nhs, tweeteval, apps, all)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--tweets", type=int, default=4000, help="TweetEval rows sampled (of 14,284)")
    ap.add_argument("--finetune-cap", type=int, help="at most N training rows per domain")
    ap.add_argument(
        "--skip-recipes", action="store_true", help="baselines (+ --finetune) only, no mixes"
    )
    ap.add_argument(
        "--unseen-tweets", type=int, help="with --finetune: score N tweets outside the sample"
    )
    ap.add_argument("--ship", type=Path, help="with --finetune: save the all-domain branch there")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    domains = prepared_domains(args.shared, args.cache, args.tweets)
    if args.finetune_fold:
        fold = {f[0]: f for f in folds()}[args.finetune_fold.replace("all", "nhs-holdout")]
        finetune_fold(domains, fold, settings_of(args), args.finetune_cap, args.cache)
        return
    print(", ".join(f"{d.name} {len(d.gold)} rows" for d in domains.values()))
    print(HEADER)
    branch_p = partial(shipped_branch_p, cache=args.cache)
    print_baselines(domains, branch_p)
    if not args.skip_recipes:
        print_recipes(domains, branch_p)
    if args.finetune:
        print_finetuned(domains, args, branch_p)
    if args.skip_recipes:
        return
    print(
        "\n¹ the shipped branch or head (trained on NHS training rows) takes part: NHS cannot be "
        "left out, so its NHS column is the NHS hold-out (1,194 rows), where a mix's head is "
        "trained on all three domains; the comparison below also shows the mix with a head that "
        "has not seen NHS."
    )
    compare_to_branch(domains, RECIPES[0], branch_p, HEAD_WEIGHT)


def print_finetuned(domains: dict[str, Domain], args: argparse.Namespace, branch_p) -> None:
    """The fine-tuned rows, their comparison with the shipped branch and, with --ship, the
    all-domain branch saved with this run's numbers."""
    settings = settings_of(args)
    folds_p = {
        f[0]: finetune_fold(domains, f, settings, args.finetune_cap, args.cache) for f in folds()
    }
    plain, calibrated, margins = score_finetuned(folds_p, domains)
    cap = f", at most {args.finetune_cap} rows per domain" if args.finetune_cap else ""
    label = f"branch fine-tuned on the training domains ({args.epochs} epochs{cap}, int8)"
    print(table_row(label, plain))
    print(table_row(f"{label} + neutral margin", calibrated, margins), flush=True)
    compare_finetuned(domains, branch_p, folds_p, label)
    tag = f"e{settings.epochs}-cap{args.finetune_cap or 'all'}"
    if args.unseen_tweets:
        all_domain = args.cache / f"branch-all-{tag}"
        score_unseen_tweets(args.shared, args.cache, args.unseen_tweets, all_domain)
    if args.ship:
        scores = {
            "shipped NHS-only branch (nhs = NHS hold-out)": score_fixed(
                branch_p, domains, nhs_trained=True
            ),
            f"this recipe, LODO ({label}; nhs-holdout = this model)": plain,
        }
        print(f"saved {ship_branch(args.cache / f'branch-all-{tag}', args.ship, scores)}")


def shipped_branch_p(domain: Domain, cache: Path) -> np.ndarray:
    return np.exp(shipped_branch_log_p(domain, cache))


def print_baselines(domains: dict[str, Domain], branch_p) -> None:
    """VADER and the shipped NHS-only models, as they are and with a neutral margin."""
    print(table_row("VADER (compound ±0.05)", score_fixed(vader_probabilities, domains, 0.05)))
    print(table_row("VADER, margin by LODO", *score_fixed_margin(vader_probabilities, domains)))
    head = score_fixed(shipped_head_p, domains, nhs_trained=True)
    print(table_row("shipped head, stage 1 (NHS only)", head, note=" ¹"))
    branch = score_fixed(branch_p, domains, nhs_trained=True)
    print(table_row("**shipped branch (NHS only, int8)**", branch, note=" ¹"))
    calibrated, margins = score_fixed_margin(branch_p, domains, nhs_trained=True)
    print(table_row("shipped branch + neutral margin", calibrated, margins, note=" ¹"))


def print_recipes(domains: dict[str, Domain], branch_p) -> None:
    """The frozen-feature recipes, then the shipped branch mixed with two of them."""
    for recipe in RECIPES:
        plain, calibrated, margins = score_recipe(recipe, domains)
        print(table_row(recipe.name, plain))
        print(table_row(f"{recipe.name} + neutral margin", calibrated, margins), flush=True)
    for recipe in (RECIPES[0], RECIPES[2]):
        for w in (0.3, 0.5, 0.7):
            plain, calibrated, margins = score_recipe(recipe, domains, (branch_p, w))
            label = f"shipped branch x head: {recipe.name} (head weight {w})"
            print(table_row(label, plain, note=" ¹"))
            row = table_row(f"{label} + neutral margin", calibrated, margins, note=" ¹")
            print(row, flush=True)
    if all("branch_pooled" in d.extra for d in domains.values()):
        for recipe in BRANCH_RECIPES:
            plain, calibrated, margins = score_recipe(recipe, domains)
            print(table_row(recipe.name, plain, note=" ¹"))
            print(table_row(f"{recipe.name} + neutral margin", calibrated, margins, note=" ¹"))


if __name__ == "__main__":
    main()
