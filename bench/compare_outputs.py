"""Prove a refactor changed no output: run the flow from two source trees, compare every table.

    .venv/bin/python bench/compare_outputs.py --before /work/before --after .
    .venv/bin/python bench/compare_outputs.py --before 62c0748 --after . --datasets sample
    .venv/bin/python bench/compare_outputs.py --before /work/before --after /work/before

(the last runs one tree twice: a determinism check). `--before` and `--after` are source trees;
`--before` may also be a git revision, checked out with `git worktree add --detach` into a
temporary directory and removed at the end. For each dataset and side the CLI (`python -m
flows.cli run`) runs in a subprocess with this interpreter, cwd and PYTHONPATH set to that
side's tree (checked first: `flows`/`nlp` must import from it), HF_HUB_OFFLINE=1, the same
`--run-id` on both sides and `--out <work>/<dataset>/<side>`. The sides run one after the
other (~1-2 min a run for `sample`, ~4 min for `nhs` on 2 cores); each run's log is
`<work>/<dataset>/<side>.log`.

Datasets (inputs written or chosen once, the same bytes for both sides):
  sample  data/sample/pipeline.yaml of the --after tree (comments, scores, transcripts)
  nhs     ../shared/data/nhs_patient_feedback_v6.csv split as bench/nhs_drivers.py does it

Compared: every DuckDB table (`SHOW TABLES`) and every `<out>/<run_id>/*.parquet` (same tables,
columns and types, row count, and the same rows after dropping run ids, timestamps and
`seconds_*` timings and sorting rows canonically; values exact, float columns also give the
max absolute difference), the set of output files, the topic registry (topics.json without
first/last_seen_run, every JSON file, every safetensors array exactly) and report.html (run id
and timings replaced; a difference that is only timings is reported but does not fail).
Prints a Markdown table, one verdict per dataset, and exits 0 when everything is identical
(added columns are allowed and reported), 1 otherwise. The work directory (a temp dir unless
`--work`) is deleted at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
NHS_CSV = ROOT.parent / "shared" / "data" / "nhs_patient_feedback_v6.csv"
NHS_SCALE = {"low": 1, "high": 5, "higher_is_better": False, "ignore": [6, 7]}
DATASETS = ("sample", "nhs")
SIDES = ("before", "after")
VOLATILE = frozenset({"run_id", "started_at", "finished_at", "first_seen_run", "last_seen_run"})
VOLATILE_JSON_KEYS = VOLATILE | {"fitted_run"}
VOLATILE_PREFIX = "seconds_"
SKIP_DIRS = ("cache", "models/encoders")  # caches and exported encoders: not outputs
NULL = "\x00NULL"
SHOW_ROWS = 3
CELL = 80
ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|sec|secs|seconds)\b")

Cleanup = list[Callable[[], None]]


@dataclass
class Check:
    """One compared output: a table, a file or a run."""

    dataset: str
    name: str
    rows_before: int | None = None
    rows_after: int | None = None
    added: list[str] = field(default_factory=list)  # columns or files; allowed for columns
    removed: list[str] = field(default_factory=list)
    note: str = ""  # retyped columns, missing tables, ...
    status: str = "yes"  # "yes", "NO" or "timings only"
    details: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status == "NO"

    @property
    def columns(self) -> str:
        parts = [f"+{c}" for c in self.added] + [f"-{c}" for c in self.removed]
        return ", ".join(parts + ([self.note] if self.note else []))


class RunFailed(RuntimeError):
    """A flow run exited non-zero."""


# ---------------------------------------------------------------- trees and runs


def git(*args: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"error: git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def git_ok(*args: str) -> bool:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True).returncode == 0


def resolve_tree(spec: str, cleanup: Cleanup) -> Path:
    """A source tree: the directory itself, or a temporary worktree of a git revision."""
    path = Path(spec)
    if path.is_dir():
        return path.resolve()
    if not git_ok("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"):
        raise SystemExit(f"error: {spec!r} is neither a directory nor a git revision of {ROOT}")
    sha = git("rev-parse", f"{spec}^{{commit}}")
    parent = Path(tempfile.mkdtemp(prefix="compare_outputs_tree."))
    tree = parent / sha[:12]

    def remove() -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(parent, ignore_errors=True)
        print(f"removed worktree {tree}")

    git("worktree", "add", "--detach", str(tree), sha)
    cleanup.append(remove)
    print(f"{spec} = {sha[:12]}: worktree at {tree}")
    return tree


def side_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["HF_HUB_OFFLINE"] = "1"
    return env


def check_imports(side: str, tree: Path) -> None:
    """Fail loudly unless a subprocess set up like the runs imports `flows`/`nlp` from `tree`."""
    code = "import flows, nlp; print(flows.__file__); print(nlp.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=side_env(tree), capture_output=True, text=True
    )
    files = [Path(line).resolve() for line in proc.stdout.split()]
    if proc.returncode or len(files) != 2 or not all(f.is_relative_to(tree) for f in files):
        raise SystemExit(
            f"error: {side} side does not import its own tree {tree}: "
            f"{proc.stdout.strip()!r} {proc.stderr.strip()[-500:]!r}"
        )
    print(f"{side}: {tree} (flows from {files[0].parent}, nlp from {files[1].parent})")


def run_flow(side: str, tree: Path, config: Path, out: Path, run_id: str) -> float:
    """Run the CLI once into a fresh `out`; return the wall time in seconds."""
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.parent / f"{side}.log"
    cmd = [sys.executable, "-m", "flows.cli", "run", "--config", str(config)]
    cmd += ["--run-id", run_id, "--out", str(out)]
    print(f"  {side}: (cd {tree} && PYTHONPATH={tree} HF_HUB_OFFLINE=1 {' '.join(cmd)})")
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(
            cmd, cwd=tree, env=side_env(tree), stdout=fh, stderr=subprocess.STDOUT
        )
    wall = time.perf_counter() - t0
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    if proc.returncode:
        tail = "\n".join("    " + line[:200] for line in lines[-25:])
        raise RunFailed(f"{side} run exited {proc.returncode} after {wall:.0f} s:\n{tail}")
    status = next((line for line in lines if line.startswith(f"run {run_id}:")), "")
    print(f"  {side}: {wall:.1f} s wall; {status}")
    return wall


# ---------------------------------------------------------------- inputs


def sample_config(after: Path) -> Path:
    config = after / "data" / "sample" / "pipeline.yaml"
    if not config.is_file():
        raise SystemExit(f"error: no sample config {config}")
    return config


def nhs_config(csv: Path, directory: Path) -> Path:
    """Split the NHS file as bench/nhs_drivers.py does; write comments, scores and a config."""
    if not csv.is_file():
        raise SystemExit(f"error: no NHS file {csv}")
    directory.mkdir(parents=True, exist_ok=True)
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    raw["id"] = raw["Comment ID"]
    comments = raw.rename(
        columns={"Date": "date", "Service type 1": "service", "FFT answer": "text"}
    )[["id", "date", "service", "text"]]
    comments.to_csv(directory / "comments.csv", index=False)
    raw.rename(columns={"FFT categorical answer": "score"})[["id", "score"]].to_csv(
        directory / "scores.csv", index=False
    )
    config = {
        "comments": "comments.csv",
        "scores": "scores.csv",
        "dataset": "nhs",
        "score_scale": NHS_SCALE,
    }
    path = directory / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    print(f"  nhs inputs: {len(raw)} rows split into {directory}")
    return path


# ---------------------------------------------------------------- table comparison


def is_volatile(column: str) -> bool:
    return column in VOLATILE or column.startswith(VOLATILE_PREFIX)


def cell_key(value: object) -> str:
    """An exact, sortable string for one value; null and NaN are the same null."""
    if value is None or (isinstance(value, float) and value != value):
        return NULL
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return repr(value)


def canonical_rows(table: pa.Table, columns: list[str]) -> list[tuple[str, ...]]:
    keyed = [[cell_key(v) for v in table.column(c).to_pylist()] for c in columns]
    return sorted(zip(*keyed, strict=True)) if columns else [()] * table.num_rows


def schema_changes(check: Check, before: pa.Schema, after: pa.Schema) -> list[str]:
    """Record added/removed/retyped columns on `check`; return the columns to compare."""
    check.added = [c for c in after.names if c not in before.names]
    check.removed = [c for c in before.names if c not in after.names]
    common = [c for c in before.names if c in after.names]
    retyped = [
        f"{c} {before.field(c).type}->{after.field(c).type}"
        for c in common
        if before.field(c).type != after.field(c).type
    ]
    if retyped:
        check.note = "retyped " + ", ".join(retyped)
    if check.removed or retyped:
        check.status = "NO"
    keep = [c for c in common if not is_volatile(c)]
    floats = [c for c in keep if pa.types.is_floating(before.field(c).type)]
    # Non-float columns first, so rows stay aligned when only a float differs.
    return [c for c in keep if c not in floats] + floats


def float_diffs(
    before: list[tuple[str, ...]],
    after: list[tuple[str, ...]],
    columns: list[str],
    schema: pa.Schema,
) -> list[str]:
    """Max |before - after| per float column, on rows aligned by the canonical sort."""
    if len(before) != len(after):
        return []
    notes = []
    for i, col in enumerate(columns):
        if not pa.types.is_floating(schema.field(col).type):
            continue
        pairs = [(b[i], a[i]) for b, a in zip(before, after, strict=True) if b[i] != a[i]]
        if not pairs:
            continue
        nums = [abs(float(b) - float(a)) for b, a in pairs if NULL not in (b, a)]
        worst = f"max |diff| {max(nums):.3g}" if nums else "null mismatches only"
        notes.append(f"{col}: {len(pairs)} cells differ, {worst} (rows aligned after sorting)")
    return notes


def show_rows(label: str, rows: Iterable[tuple[str, ...]], columns: list[str]) -> list[str]:
    lines = []
    for row in list(rows)[:SHOW_ROWS]:
        cells = ", ".join(
            f"{c}={v[:CELL]!r}" if v != NULL else f"{c}=null"
            for c, v in zip(columns, row, strict=True)
        )
        lines.append(f"{label} {cells}")
    return lines


def compare_table(
    dataset: str, name: str, before: pa.Table | None, after: pa.Table | None
) -> Check:
    """Same columns, row count and (volatile columns dropped, sorted) rows."""
    check = Check(dataset, name)
    if before is None or after is None:
        check.status, check.note = "NO", "table added" if before is None else "table removed"
        check.rows_before = None if before is None else before.num_rows
        check.rows_after = None if after is None else after.num_rows
        return check
    check.rows_before, check.rows_after = before.num_rows, after.num_rows
    columns = schema_changes(check, before.schema, after.schema)
    rows_b, rows_a = canonical_rows(before, columns), canonical_rows(after, columns)
    if rows_b == rows_a:
        return check
    check.status = "NO"
    check.details += float_diffs(rows_b, rows_a, columns, before.schema)
    only_b = list((Counter(rows_b) - Counter(rows_a)).elements())
    only_a = list((Counter(rows_a) - Counter(rows_b)).elements())
    check.details.append(f"{len(only_b)} rows only before, {len(only_a)} rows only after")
    check.details += show_rows("  - before:", sorted(only_b), columns)
    check.details += show_rows("  + after: ", sorted(only_a), columns)
    return check


def db_tables(out: Path) -> dict[str, pa.Table]:
    path = out / "feedback.duckdb"
    if not path.is_file():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        return {n: con.sql(f'SELECT * FROM "{n}"').to_arrow_table() for n in names}
    finally:
        con.close()


def parquet_tables(run_dir: Path) -> dict[str, pa.Table]:
    return {p.stem: pq.read_table(p) for p in sorted(run_dir.glob("*.parquet"))}


def compare_tables(
    dataset: str, kind: str, before: dict[str, pa.Table], after: dict[str, pa.Table]
) -> list[Check]:
    names = sorted(set(before) | set(after))
    if not names:
        return [Check(dataset, f"{kind}: (no tables)", status="NO")]
    return [compare_table(dataset, f"{kind}:{n}", before.get(n), after.get(n)) for n in names]


# ---------------------------------------------------------------- files, registry, report


def output_files(out: Path) -> set[str]:
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    return {f for f in files if not any(f.startswith(d + "/") for d in SKIP_DIRS)}


def compare_file_sets(dataset: str, before: Path, after: Path) -> Check:
    files_b, files_a = output_files(before), output_files(after)
    check = Check(dataset, "output files", len(files_b), len(files_a))
    if files_b != files_a:
        check.status = "NO"
        check.added, check.removed = sorted(files_a - files_b), sorted(files_b - files_a)
    return check


def drop_keys(value: object) -> object:
    if isinstance(value, dict):
        return {k: drop_keys(v) for k, v in value.items() if k not in VOLATILE_JSON_KEYS}
    if isinstance(value, list):
        return [drop_keys(v) for v in value]
    return value


def json_paths(before: object, after: object, path: str = "") -> list[str]:
    """Paths where two JSON values differ (a few)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        return [p for k in keys for p in json_paths(before.get(k), after.get(k), f"{path}.{k}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for p in json_paths(b, a, f"{path}[{i}]")
        ]
    if before == after:
        return []
    return [f"{path or '.'}: {str(before)[:CELL]!r} -> {str(after)[:CELL]!r}"]


def compare_json(dataset: str, name: str, before: Path, after: Path) -> Check:
    data_b = drop_keys(json.loads(before.read_text(encoding="utf-8")))
    data_a = drop_keys(json.loads(after.read_text(encoding="utf-8")))
    check = Check(dataset, name)
    if data_b != data_a:
        check.status = "NO"
        diffs = json_paths(data_b, data_a)
        check.details = [f"{len(diffs)} values differ"] + [f"  {d}" for d in diffs[:SHOW_ROWS]]
    return check


def compare_safetensors(dataset: str, name: str, before: Path, after: Path) -> Check:
    arrays_b, arrays_a = load_file(str(before)), load_file(str(after))
    check = Check(dataset, name, len(arrays_b), len(arrays_a))
    if set(arrays_b) != set(arrays_a):
        check.status = "NO"
        check.added, check.removed = (
            sorted(set(arrays_a) - set(arrays_b)),
            sorted(set(arrays_b) - set(arrays_a)),
        )
    for key in sorted(set(arrays_b) & set(arrays_a)):
        b, a = arrays_b[key], arrays_a[key]
        if b.shape != a.shape or b.dtype != a.dtype:
            check.status = "NO"
            check.details.append(f"{key}: {b.dtype}{b.shape} -> {a.dtype}{a.shape}")
        elif not np.array_equal(b, a):
            check.status = "NO"
            diff = np.abs(b.astype(np.float64) - a.astype(np.float64)).max()
            check.details.append(
                f"{key}: {int((b != a).sum())} values differ, max |diff| {diff:.3g}"
            )
    return check


def json_table(path: Path) -> pa.Table:
    return pa.Table.from_pylist(json.loads(path.read_text(encoding="utf-8")))


def registry_checks(dataset: str, before: Path, after: Path) -> list[Check]:
    """topics.json as rows; every other JSON without run ids; every safetensors exactly."""
    reg_b, reg_a = before / "models" / "topic_registry", after / "models" / "topic_registry"
    files = sorted(output_files(reg_b) & output_files(reg_a))  # missing ones: see output files
    checks = []
    for rel in files:
        name = f"registry:{rel}"
        if rel == "topics.json":
            tables = [json_table(reg / rel) for reg in (reg_b, reg_a)]
            checks.append(compare_table(dataset, name, *tables))
        elif rel.endswith(".json"):
            checks.append(compare_json(dataset, name, reg_b / rel, reg_a / rel))
        elif rel.endswith(".safetensors"):
            checks.append(compare_safetensors(dataset, name, reg_b / rel, reg_a / rel))
    return checks or [Check(dataset, "registry: (no files)", status="NO")]


def compare_report(dataset: str, name: str, before: Path, after: Path, run_id: str) -> Check:
    """Equal after replacing the run id; differing only in timings/timestamps is allowed."""
    text_b, text_a = (
        p.read_text(encoding="utf-8").replace(run_id, "<RUN_ID>") for p in (before, after)
    )
    check = Check(dataset, name, len(text_b.splitlines()), len(text_a.splitlines()))
    if text_b == text_a:
        return check

    def scrub(text: str) -> str:
        return TIMING.sub("<SECONDS>", ISO_DATETIME.sub("<DATETIME>", text))

    check.status = "timings only" if scrub(text_b) == scrub(text_a) else "NO"
    check.details = line_diffs(text_b.splitlines(), text_a.splitlines())
    return check


def line_diffs(before: list[str], after: list[str]) -> list[str]:
    """The first differing lines, each cut to CELL characters around where it differs."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    blocks = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    lines = [f"{sum(max(i2 - i1, j2 - j1) for _, i1, i2, j1, j2 in blocks)} lines differ"]
    for _, i1, i2, j1, j2 in blocks[:4]:
        old, new = before[i1:i2], after[j1:j2]
        for k in range(min(max(len(old), len(new)), 2)):
            b, a = (old[k] if k < len(old) else ""), (new[k] if k < len(new) else "")
            start = max(0, len(os.path.commonprefix([b, a])) - 20)
            if k < len(old):
                lines.append(f"  line {i1 + k + 1} before: {b[start : start + CELL]!r}")
            if k < len(new):
                lines.append(f"  line {j1 + k + 1} after:  {a[start : start + CELL]!r}")
    return lines


def compare_outputs(dataset: str, before: Path, after: Path, run_id: str) -> list[Check]:
    checks = [compare_file_sets(dataset, before, after)]
    checks += compare_tables(dataset, "duckdb", db_tables(before), db_tables(after))
    checks += compare_tables(
        dataset, "parquet", parquet_tables(before / run_id), parquet_tables(after / run_id)
    )
    checks += registry_checks(dataset, before, after)
    for rel in ("report.html", f"{run_id}/report.html"):
        if (before / rel).is_file() and (after / rel).is_file():
            checks.append(compare_report(dataset, rel, before / rel, after / rel, run_id))
    return checks


# ---------------------------------------------------------------- output and main


def print_table(checks: list[Check]) -> None:
    print("\n| dataset | table | rows before | rows after | columns (added/removed) | identical |")
    print("|---|---|---:|---:|---|---|")
    for c in checks:
        rows = ["" if n is None else str(n) for n in (c.rows_before, c.rows_after)]
        print(f"| {c.dataset} | {c.name} | {rows[0]} | {rows[1]} | {c.columns} | {c.status} |")
    for c in checks:
        if c.details:
            print(f"\n{c.dataset} {c.name}: {c.status}")
            print("\n".join(c.details))


def verdict(dataset: str, checks: list[Check]) -> str:
    mine = [c for c in checks if c.dataset == dataset]
    failed = [c.name for c in mine if c.failed]
    added = [c.name for c in mine if c.added and not c.failed]
    notes = [f"added columns in {', '.join(added)}"] if added else []
    notes += [f"report timings differ: {c.name}" for c in mine if c.status == "timings only"]
    tail = f" ({'; '.join(notes)})" if notes else ""
    if failed:
        names = ", ".join(failed)
        return f"{dataset}: DIFFERENT in {len(failed)} of {len(mine)} checks: {names}{tail}"
    return f"{dataset}: IDENTICAL ({len(mine)} checks){tail}"


def run_dataset(
    dataset: str, trees: dict[str, Path], work: Path, args: argparse.Namespace, walls: list[str]
) -> list[Check]:
    """Prepare the inputs, run both sides one after the other, compare their outputs."""
    print(f"\n## {dataset}")
    base = work / dataset
    config = (
        sample_config(trees["after"])
        if dataset == "sample"
        else nhs_config(args.nhs_csv, base / "input")
    )
    outs = {side: base / side for side in SIDES}
    for side in SIDES:
        if args.reuse and (outs[side] / "feedback.duckdb").is_file():
            print(f"  {side}: reusing {outs[side]}")
            continue
        try:
            wall = run_flow(side, trees[side], config, outs[side], args.run_id)
            walls.append(f"{dataset} {side} {wall:.1f} s")
        except RunFailed as exc:
            print(f"  {exc}")
            return [Check(dataset, f"flow run ({side})", status="NO", details=[str(exc)])]
    return compare_outputs(dataset, outs["before"], outs["after"], args.run_id)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="source tree or git revision")
    ap.add_argument("--after", default=str(ROOT), help="source tree (default: this repo)")
    ap.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    ap.add_argument("--work", type=Path, help="work directory (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--run-id", default="refactor-compare", help="run id of both sides")
    ap.add_argument("--nhs-csv", type=Path, default=NHS_CSV, help="the NHS feedback file")
    ap.add_argument(
        "--reuse", action="store_true", help="with --work: skip runs whose output exists"
    )
    return ap.parse_args(argv)


def make_work(args: argparse.Namespace, cleanup: Cleanup) -> Path:
    """The work directory; removed at the end unless --keep (only what this script made)."""
    if args.work is None:
        work = Path(tempfile.mkdtemp(prefix="compare_outputs."))
        made = [work]
    else:
        work = args.work.resolve()
        made = [work] if not work.exists() else [work / d for d in args.datasets]
        work.mkdir(parents=True, exist_ok=True)

    def remove() -> None:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)

    if args.keep:
        print(f"work directory (kept): {work}")
    else:
        cleanup.append(remove)
    return work


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cleanup: Cleanup = []
    try:
        trees = {"before": resolve_tree(args.before, cleanup)}
        trees["after"] = resolve_tree(args.after, cleanup)
        for side in SIDES:
            check_imports(side, trees[side])
        work = make_work(args, cleanup)
        checks: list[Check] = []
        walls: list[str] = []
        for dataset in args.datasets:
            checks += run_dataset(dataset, trees, work, args, walls)
        print_table(checks)
        print(f"\nwall time per run: {'; '.join(walls) or 'none (reused)'}\n")
        for dataset in args.datasets:
            print(verdict(dataset, checks))
        return 1 if any(c.failed for c in checks) else 0
    finally:
        for fn in reversed(cleanup):
            fn()


if __name__ == "__main__":
    sys.exit(main())
