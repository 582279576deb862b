"""PII redaction before/after in one run: recall and precision per type on the labelled set of
bench/pii_names_set.py, over-redaction on every shared set, throughput.

"Before" is nlp/ingest/pii.py at a git revision (default: the commit before issue #16's
detector), loaded from `git show`; "after" is the working tree. An entity is recalled when none
of its words survives redaction (a word that also occurs elsewhere in the text must occur less
often). A placeholder is correct when the text it replaced overlaps a gold span of any type;
precision on the set is a lower bound (real comments name some real people the set does not
label). Over-redaction is the share of word tokens of real texts with nothing planted that
redaction replaced, and the share of texts given a [PERSON]; samples of [PERSON] redactions
are printed for a hand check.

    .venv/bin/python bench/pii_eval.py [--shared ../shared/data] [--rev a60a2a2] [--n 400]
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib.util
import re
import subprocess
import sys
import time
import types
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pii_names_set import Example, build_set, clean_sets  # noqa: E402
from nlp.ingest import pii  # noqa: E402
from nlp.language import load_spacy  # noqa: E402

_TOKEN = re.compile(r"\S+")
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
_WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")


def baseline_module(rev: str) -> types.ModuleType:
    """nlp/ingest/pii.py as it was at `rev`."""
    source = subprocess.run(
        ["git", "show", f"{rev}:nlp/ingest/pii.py"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    spec = importlib.util.spec_from_loader(f"pii_{rev}", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"pii@{rev}", "exec"), module.__dict__)
    return module


def leaked(example: Example, start: int, end: int, out: str) -> bool:
    """A word of the gold span survives: it occurs in `out` as often as in the whole text."""
    rest = example.text[:start] + " " + example.text[end:]
    for word in _WORD.findall(example.text[start:end]):
        if len(word) < 2 and not word.isdigit():
            continue
        pattern = re.compile(r"(?<![\w@.])" + re.escape(word) + r"(?![\w@])")
        if len(pattern.findall(out)) > len(pattern.findall(rest)):
            return True
    return False


def placeholders_judged(example: Example, out: str) -> list[tuple[str, bool]]:
    """(placeholder, replaced text overlaps a gold span) for each placeholder redaction made."""
    a = list(_TOKEN.finditer(example.text))
    b = list(_TOKEN.finditer(out))
    matcher = difflib.SequenceMatcher(
        a=[m.group() for m in a], b=[m.group() for m in b], autojunk=False
    )
    judged = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        lo = a[i1].start() if i1 < len(a) else len(example.text)
        hi = a[i2 - 1].end() if i2 > i1 else lo
        gold = any(s < hi and lo < e for s, e, _ in example.spans)
        for m in b[j1:j2]:
            judged += [(p, gold) for p in _PLACEHOLDER.findall(m.group())]
    return judged


def score(examples: list[Example], outs: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Per type: (n gold, recalled, placeholders made, of them correct)."""
    n, hit, made, right = Counter(), Counter(), Counter(), Counter()
    for ex, out in zip(examples, outs, strict=True):
        for s, e, kind in ex.spans:
            n[kind] += 1
            hit[kind] += not leaked(ex, s, e, out)
        for placeholder, ok in placeholders_judged(ex, out):
            made[placeholder] += 1
            right[placeholder] += ok
    table = {k: (n[k], hit[k], 0, 0) for k in n}
    for p in made:
        name = p.strip("[]")
        g, h, _, _ = table.get(name, (0, 0, 0, 0))
        table[name] = (g, h, made[p], right[p])
    return table


def token_share(original: list[str], redacted: list[str]) -> float:
    total = changed = 0
    for a, b in zip(original, redacted, strict=True):
        ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
        total += len(ta)
        for op, i1, i2, _, _ in difflib.SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes():
            if op in ("replace", "delete"):
                changed += i2 - i1
    return changed / max(total, 1)


def timed(fn, texts: list[str], nlp) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    out = [t for t, _ in fn(texts, nlp)]
    return out, len(texts) / (time.perf_counter() - t0)


def report_set(examples, outs: dict[str, list[str]]) -> None:
    tables = {name: score(examples, o) for name, o in outs.items()}
    kinds = sorted(set().union(*tables.values()), key=lambda k: (k != "PERSON", k))
    names = list(outs)
    print("| type | n | " + " | ".join(f"recall {k} | precision {k}" for k in names) + " |")
    print("|---|---:|" + "---:|---:|" * len(names))
    for kind in kinds:
        cells = []
        for name in names:
            g, h, m, r = tables[name].get(kind, (0, 0, 0, 0))
            cells += [f"{h / g:.3f}" if g else "", f"{r / m:.3f} ({m})" if m else ""]
        n = max(t.get(kind, (0,))[0] for t in tables.values())
        print(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--rev", default="a60a2a2")
    ap.add_argument("--n", type=int, default=400, help="real texts per shared set")
    ap.add_argument("--show", type=int, default=0, help="print this many misses / redactions")
    ap.add_argument("--seed", type=int, default=16, help="seed of the labelled set")
    args = ap.parse_args()
    nlp = load_spacy()
    fns = {
        "before": baseline_module(args.rev).redact_pii,
        "after": pii.redact_pii,
        "after, public names redacted": functools.partial(pii.redact_pii, keep_public_names=False),
    }
    examples = build_set(args.shared, seed=args.seed)
    outs = {name: timed(fn, [e.text for e in examples], nlp)[0] for name, fn in fns.items()}
    print(f"Labelled set (seed {args.seed}): {len(examples)} real comments with planted PII\n")
    report_set(examples, outs)
    misses = defaultdict(list)
    for ex, out in zip(examples, outs["after"], strict=True):
        for s, e, kind in ex.spans:
            if leaked(ex, s, e, out):
                misses[kind].append((ex.form, ex.text[max(0, s - 50) : e + 30]))
    for kind, rows in misses.items():
        for form, row in rows[: args.show]:
            print(f"missed {kind} [{form}]: {row!r}")
    by_form = Counter(), Counter()
    for ex, out in zip(examples, outs["after"], strict=True):
        if ex.spans[0][2] == "PERSON":
            by_form[0][ex.form.split("/")[0]] += 1
            by_form[1][ex.form.split("/")[0]] += not leaked(ex, *ex.spans[0][:2], out)
    print(
        "PERSON recall by context (after): "
        + ", ".join(f"{k} {by_form[1][k]}/{v}" for k, v in sorted(by_form[0].items()))
    )
    report_clean(clean_sets(args.shared, n=args.n), fns, nlp, args.show)


def report_clean(sets: dict[str, list[str]], fns, nlp, show: int) -> None:
    print(
        "\n| shared set | texts | "
        + " | ".join(f"tokens redacted {k} | texts with [PERSON] {k} | comments/s {k}" for k in fns)
        + " |"
    )
    print("|---|---:|" + "---:|---:|---:|" * len(fns))
    all_texts = [t for texts in sets.values() for t in texts]
    for name, texts in sets.items():
        cells, samples = [], []
        for fn_name, fn in fns.items():
            out, rate = timed(fn, texts, nlp)
            person = [o for o in out if "[PERSON]" in o]
            cells += [
                f"{token_share(texts, out):.2%}",
                f"{len(person) / len(texts):.1%}",
                f"{rate:.0f}",
            ]
            if fn_name == "after":
                samples = [(t, o) for t, o in zip(texts, out, strict=True) if "[PERSON]" in o]
        print(f"| {name} | {len(texts)} | " + " | ".join(cells) + " |")
        for t, o in samples[:show]:
            print(f"    {name}: {t[:160]!r}\n      -> {o[:160]!r}")
    rates = dict.fromkeys(fns, 0.0)
    for _ in range(2):
        for k, fn in fns.items():
            rates[k] = max(rates[k], timed(fn, all_texts, nlp)[1])
    print(
        f"\nThroughput on all {len(all_texts)} real texts (best of 2): "
        + ", ".join(f"{k} {v:.0f} comments/s" for k, v in rates.items())
    )


if __name__ == "__main__":
    main()
