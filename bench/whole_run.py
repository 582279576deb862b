"""Whole nightly run on a large mixed corpus, before vs after (issue #15 acceptance: statements
must not make the nightly run heavier; wall time and peak RSS within 15 %).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/whole_run.py --before /work/before --n 100000

Builds one corpus of `--n` comments resampled from the shared sets (NHS comments, app reviews,
Polis comments, transcript turns: `bench/topics.py::build_corpus`, plus TweetEval tweets as
they are), writes it as a CSV with ids, dates and a `service` per source, and runs the real
`feedback run` CLI on it once per checkout: `--before` (a worktree of an earlier commit, run
with this venv) and this checkout, one after the other, each into a fresh --out with its own
Prefect API (the CLI starts a temporary one). Wall time is the CLI's; peak RSS is the largest
resident set of any process of the run's tree (sampled every 0.5 s from /proc), so the
Prefect server counts separately (printed too). CPU seconds (user + system of the whole
reaped process tree) are printed beside wall time: they hardly depend on what else the machine
runs, so they compare fairly when the two runs did not have the cores to themselves. Same
corpus, same config, same machine, back to back; the load average at the start of each run is
printed, since the 2 cores may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.topics import build_corpus, load_avg, load_datasets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CONFIG = "comments: comments.csv\ndataset: big\nseed: 7\n"


def mixed_corpus(n: int, seed: int = 7) -> pd.DataFrame:
    """`n` rows: the resampled shared sets plus real tweets, each row with its source as
    `service`, dated over 2024 (so trends and emerging run too)."""
    pools = load_datasets(SHARED)
    tweets = pd.read_csv(SHARED / "tweeteval_sentiment.csv")["text"].dropna().tolist()
    n_tweets = min(len(tweets), n // 10)
    services: list[str] = []
    texts = build_corpus(pools, n - n_tweets, seed=seed, sources=services) + tweets[:n_tweets]
    rng = np.random.default_rng(seed)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, n), "D")
    return pd.DataFrame(
        {
            "id": [f"B{i:06d}" for i in range(n)],
            "text": texts,
            "service": services + ["tweets"] * n_tweets,
            "date": days.strftime("%Y-%m-%d"),
        }
    )


def _tree_rss_mb(pid: int) -> dict[int, float]:
    """Resident MB of `pid` and its descendants."""
    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                rss = next(line for line in f if line.startswith("VmRSS"))
            out[p] = int(rss.split()[1]) / 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, StopIteration):
            continue
    return out


def run_checkout(checkout: Path, work: Path, name: str) -> dict:
    """One `feedback run` of `checkout` on the corpus in `work`; wall, peak RSS, summary."""
    out = work / f"out-{name}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PREFECT_HOME": str(work / f"ph-{name}")}
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "300"  # the older CLI's server
    args = [sys.executable, "-m", "flows.cli", "run", "--config", str(work / "big.yaml")]
    load = load_avg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*args, "--out", str(out)],
        cwd=checkout,
        env=env,
        stdout=open(work / f"{name}.out", "w"),  # noqa: SIM115 - closed with the process
        stderr=open(work / f"{name}.err", "w"),  # noqa: SIM115
    )
    peak = {"run": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            rss = _tree_rss_mb(proc.pid)
            peak["run"] = max(peak["run"], rss.get(proc.pid, 0.0))
            peak["tree"] = max(peak.get("tree", 0.0), sum(rss.values()))

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    code = proc.wait()
    done.set()
    watcher.join()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if code != 0:
        raise RuntimeError(f"{name}: exit {code}: {(work / f'{name}.err').read_text()[-3000:]}")
    with duckdb.connect(str(out / "feedback.duckdb"), read_only=True) as db:
        summary = db.execute("select * from run_summary").df().iloc[-1].to_dict()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak["run"],
        "tree_mb": peak.get("tree", 0.0),
        "load": load,
        "summary": summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--before", type=Path, required=True, help="worktree of the earlier commit")
    ap.add_argument("--after", type=Path, default=ROOT, help="the later checkout (this one)")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/whole_run"))
    ap.add_argument("--only", choices=["before", "after"], help="run one checkout")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.work / "comments.csv"
    if not corpus.exists():
        mixed_corpus(args.n).to_csv(corpus, index=False)
    (args.work / "big.yaml").write_text(CONFIG, encoding="utf-8")
    results = {}
    for name, checkout in (("before", args.before), ("after", args.after)):
        if args.only in (None, name):
            results[name] = run_checkout(checkout.resolve(), args.work, name)
            (args.work / f"{name}.json").write_text(json.dumps(results[name], default=str))
            r = results[name]
            keys = (
                "n_topics",
                "documents_analysed",
                "statements_analysed",
                "status",
                "seconds_clean",
                "seconds_embed",
                "seconds_topics",
                "seconds_tag",
                "seconds_total",
            )
            print(
                f"{name}: {r['seconds']:.0f} s wall, {r['cpu_seconds']:.0f} s CPU, "
                f"peak RSS {r['peak_mb']:.0f} MB "
                f"(tree {r['tree_mb']:.0f} MB), load {r['load']}, "
                + ", ".join(f"{k} {r['summary'].get(k)}" for k in keys),
                flush=True,
            )
    if len(results) == 2:
        b, a = results["before"], results["after"]
        print(
            f"after/before: wall {a['seconds'] / b['seconds']:.2f}x, "
            f"CPU {a['cpu_seconds'] / b['cpu_seconds']:.2f}x, "
            f"peak RSS {a['peak_mb'] / b['peak_mb']:.2f}x"
        )


if __name__ == "__main__":
    main()
