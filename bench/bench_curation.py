"""The curation model against arxiv-sanity-lite's method on real days held apart by date.

    python -m bench.bench_curation [FOLDER] [--first-test 2026-01-07] [--validation] [--embeddings]

FOLDER (default $CURATION_DATA or ../shared/data/curation) holds `arxiv_days/*.rss.xml.gz` (each day's
full announcement list), `hf_daily/*.json.gz` (Hugging Face's daily papers, the community's picks) and
`labels/*.json` (which papers of each list HF featured from D-3 to D+10); its README says more.

Split by date: test days are those from --first-test on; training days are those T with T+10 < first test
day, so that no training label depends on a pick made during the test days (the days in between are left
out). The model also gets the picks featured before the first test day, and when ranking a test day D it
sees the picks featured before D, never the candidate's own. --validation splits the training days the same
way at 2025-12-10 and reports on those instead (the figures the settings were chosen on); the test days
are then not read. Both methods are trained on the same days and scored on the same days: precision at 10
and 30, recall at 30 and average precision of each day's list against the papers HF featured (those in the
list), averaged over days. --embeddings adds MiniLM embeddings (cached in bench/out/).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from dailypapers.curation.model import Candidate, CurationModel, Pick, train
from dailypapers.sources import hf_json
from dailypapers.sources.arxiv_rss import parse_rss

DEFAULT = Path(os.environ.get("CURATION_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "curation"))
CACHE = Path(__file__).resolve().parent / "out" / "curation-embeddings.npz"
LABEL_DAYS = 10  # a day's label counts HF picks up to 10 days after it
VALIDATION_FIRST = dt.date(2025, 12, 10)


def load(folder: Path) -> tuple[dict[dt.date, list[Candidate]], dict[dt.date, set[str]], list[Pick]]:
    """Each day's candidates, each day's picked ids (those in its list), and every HF pick."""
    days: dict[dt.date, list[Candidate]] = {}
    labels: dict[dt.date, set[str]] = {}
    for path in sorted((folder / "arxiv_days").glob("*.rss.xml.gz")):
        page = parse_rss(gzip.decompress(path.read_bytes()), where=path.name)
        day = page.announced or dt.date.fromisoformat(path.name[:10])
        days[day] = [
            Candidate(r.id, r.title, r.abstract, tuple(a.name for a in r.authors), tuple(r.categories), day)
            for r in page.records
        ]
        featured = json.loads((folder / "labels" / f"{path.name[:10]}.json").read_text())["featured_on_hf"]
        labels[day] = {x["id"] for x in featured} & {c.id for c in days[day]}
    picks = []
    for path in sorted((folder / "hf_daily").glob("*.json.gz")):
        day = dt.date.fromisoformat(path.name[:10])
        records, _ = hf_json.parse(gzip.decompress(path.read_bytes()), where=path.name, day=day)
        for r in records:
            if r.listing is not None:
                authors = tuple(a.name for a in r.authors)
                picks.append(Pick(r.id, r.listing.day, authors, r.listing.upvotes, r.title, r.abstract))
    return days, labels, picks


def with_embeddings(days: dict[dt.date, list[Candidate]], picks: list[Pick]) -> tuple[dict, list[Pick]]:
    """The same papers with MiniLM embeddings of title and abstract (computed once, cached in CACHE)."""
    from dataclasses import replace

    from dailypapers.config import Settings
    from dailypapers.search.embedder import get_embedder, paper_text

    def key(title: str, abstract: str) -> str:
        return hashlib.sha1(paper_text(title, abstract).encode()).hexdigest()[:16]

    texts = {key(c.title, c.abstract): paper_text(c.title, c.abstract) for cs in days.values() for c in cs}
    texts.update((key(p.title, p.abstract), paper_text(p.title, p.abstract)) for p in picks)
    cached: dict[str, np.ndarray] = {}
    if CACHE.exists():
        with np.load(CACHE) as z:
            cached = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))
    missing = sorted(set(texts) - set(cached))
    if missing:
        print(f"embedding {len(missing)} papers (about 20 a second on 2 CPU cores)...", file=sys.stderr)
        vectors = get_embedder(Settings()).encode([texts[k] for k in missing])
        cached.update(zip(missing, vectors.astype(np.float16), strict=True))
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(cached)
        np.savez(CACHE, keys=np.array(keys), vectors=np.stack([cached[k] for k in keys]))

    def vec(title: str, abstract: str) -> np.ndarray:
        return cached[key(title, abstract)].astype(np.float32)

    days = {d: [replace(c, embedding=vec(c.title, c.abstract)) for c in cs] for d, cs in days.items()}
    return days, [replace(p, embedding=vec(p.title, p.abstract)) for p in picks]


def split(days: list[dt.date], first_test: dt.date) -> tuple[list[dt.date], list[dt.date]]:
    """Training days (their label window closed before `first_test`) and test days (from it on)."""
    return [d for d in days if d + dt.timedelta(days=LABEL_DAYS) < first_test], [d for d in days if d >= first_test]


def day_metrics(scores: np.ndarray, picked: np.ndarray) -> dict[str, float]:
    order = np.argsort(-scores, kind="stable")
    hits = picked[order]
    found = np.cumsum(hits)
    total = hits.sum()
    ap = float((found[hits > 0] / (np.nonzero(hits)[0] + 1)).mean()) if total else 0.0
    return {
        "p@10": float(hits[:10].mean()),
        "p@30": float(hits[:30].mean()),
        "r@30": float(hits[:30].sum() / total) if total else 0.0,
        "MAP": ap,
    }


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def baseline(train_days: dict[dt.date, list[Candidate]], labels: dict[dt.date, set[str]]):
    """arxiv-sanity-lite: its tf-idf settings, and a LinearSVC(class_weight="balanced", C=0.01)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    docs = [f"{c.title} {c.abstract}" for cs in train_days.values() for c in cs]
    y = [c.id in labels[d] for d, cs in train_days.items() for c in cs]
    vectorizer = TfidfVectorizer(
        strip_accents="unicode",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20000,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )
    svm = LinearSVC(class_weight="balanced", C=0.01, max_iter=10000, tol=1e-6).fit(vectorizer.fit_transform(docs), y)
    return lambda cands: svm.decision_function(vectorizer.transform([f"{c.title} {c.abstract}" for c in cands]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--first-test", type=dt.date.fromisoformat, default=dt.date(2026, 1, 7))
    ap.add_argument("--validation", action="store_true", help="split the training days; leave the test days unread")
    ap.add_argument("--embeddings", action="store_true", help="give the model MiniLM embeddings too")
    ap.add_argument("--per-day", action="store_true", help="also each day's average precision, both methods")
    ap.add_argument(
        "--two-years",
        action="store_true",
        help="only time training on two years of history: the 42 days' lists replayed to fill 500 weekdays",
    )
    args = ap.parse_args()

    days, labels, picks = load(args.folder)
    if args.two_years:
        time_two_years(days, labels, picks)
        return
    train_days, test_days = split(sorted(days), args.first_test)
    if args.validation:
        train_days, test_days = split(train_days, VALIDATION_FIRST)
        test_days = [d for d in test_days if d + dt.timedelta(days=LABEL_DAYS) < args.first_test]
        args.first_test = VALIDATION_FIRST
    if args.embeddings:
        days, picks = with_embeddings(days, picks)
    last = test_days[-1]
    known = [p for p in picks if p.day < args.first_test]

    t0 = time.perf_counter()
    model = train({d: days[d] for d in train_days}, known, {i: 1.0 for d in train_days for i in labels[d]})
    train_s = time.perf_counter() - t0
    model = CurationModel.from_bytes(model.to_bytes())
    t0 = time.perf_counter()
    svm = baseline({d: days[d] for d in train_days}, labels)
    baseline_s = time.perf_counter() - t0

    ours, theirs, rank_s = [], [], []
    for d in test_days:
        picked = np.array([c.id in labels[d] for c in days[d]], dtype=float)
        t0 = time.perf_counter()
        ranked = model.rank(days[d], [p for p in picks if p.day < d])
        rank_s.append(time.perf_counter() - t0)
        position = {r.id: -n for n, r in enumerate(ranked)}
        ours.append(day_metrics(np.array([position[c.id] for c in days[d]], dtype=float), picked))
        theirs.append(day_metrics(svm(days[d]), picked))
    a, b = mean_metrics(ours), mean_metrics(theirs)

    n_test = sum(len(days[d]) for d in test_days)
    p_test = sum(len(labels[d]) for d in test_days)
    print(
        f"train: {len(train_days)} days {train_days[0]}..{train_days[-1]}, "
        f"{len(known)} HF picks before {args.first_test}"
    )
    print(
        f"{'validation' if args.validation else 'test'}: {len(test_days)} days {test_days[0]}..{last}, "
        f"{n_test} papers, {p_test} featured on HF\n"
    )
    print("| method | p@10 | p@30 | r@30 | MAP |")
    print("| --- | --- | --- | --- | --- |")
    print("| arxiv-sanity-lite (tf-idf, LinearSVC C=0.01) | " + " | ".join(f"{b[k]:.3f}" for k in b) + " |")
    print("| curation model (dailypapers.curation.model) | " + " | ".join(f"{a[k]:.3f}" for k in a) + " |")
    print(f"\nMAP gain over the baseline: {100 * (a['MAP'] / b['MAP'] - 1):+.1f}%")
    print(
        f"training: {train_s:.1f} s (baseline {baseline_s:.1f} s); ranking one day: "
        f"{1000 * np.mean(rank_s):.0f} ms mean, {1000 * max(rank_s):.0f} ms max "
        f"({n_test / len(test_days):.0f} papers a day, {len(picks)} picks handed in)"
    )
    if args.per_day:
        print("\n| day | papers | featured | AP baseline | AP ours |\n| --- | --- | --- | --- | --- |")
        for d, x, y in zip(test_days, theirs, ours, strict=True):
            print(f"| {d} | {len(days[d])} | {len(labels[d])} | {x['MAP']:.3f} | {y['MAP']:.3f} |")
    weights = sorted(model.weights.items(), key=lambda kv: -abs(kv[1]))
    print("largest weights: " + ", ".join(f"{k} {v:+.2f}" for k, v in weights[:8]))
    top = model.rank(days[last], [p for p in picks if p.day < last])[:3]
    for r in top:
        print(f"  {last} {r.id} {'HF' if r.id in labels[last] else '--'}: {r.reason}")


def time_two_years(days: dict[dt.date, list[Candidate]], labels: dict[dt.date, set[str]], picks: list[Pick]) -> None:
    """Training time on two years of announcement days (about 500 weekdays): the 42 real lists, replayed
    under other dates and ids, with the real picks of the 435 days. Speed only: the replayed copies say
    nothing of quality."""
    real = sorted(days)
    by_day: dict[dt.date, list[Candidate]] = {}
    wanted: dict[str, float] = {}
    start = real[-1] - dt.timedelta(days=730)
    day = start
    n = 0
    while len(by_day) < 500:
        day += dt.timedelta(days=1)
        if day.weekday() >= 5:
            continue
        src = real[n % len(real)]
        copy = n // len(real)
        by_day[day] = [dataclasses.replace(c, id=f"{c.id}.{copy}" if copy else c.id, day=day) for c in days[src]]
        wanted.update({f"{i}.{copy}" if copy else i: 1.0 for i in labels[src]})
        n += 1
    papers = sum(len(v) for v in by_day.values())
    t0 = time.perf_counter()
    model = train(by_day, picks, wanted)
    seconds = time.perf_counter() - t0
    print(
        f"two years: {len(by_day)} announcement days ({start}..{day}), {papers} papers, "
        f"{int(sum(1 for v in by_day.values() for c in v if c.id in wanted))} picked, {len(picks)} picks: "
        f"trained in {seconds:.1f} s ({len(model.to_bytes()) / 1e6:.1f} MB stored)"
    )


if __name__ == "__main__":
    main()
