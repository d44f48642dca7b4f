"""Offline evaluation of "For you" recommendations: our embedding ranker against arxiv-sanity-lite's method.

    python -m bench.eval_recommend --data-dir /tmp/scale17 [--readers 300] [--boot 2000]

Readers are simulated by authors. An author (exact name after normalisation: Unicode NFKD without accents,
case-folded, dots and extra spaces dropped) with at least 3 papers announced on the train days (the first
28 of the announcement days in the instance) and at least 1 on a test day (the last 14) is a reader; the
library is their train papers. For each test day on which a reader has a paper, every method ranks that
day's full announcement list, and the reader's papers that day are the targets. No method sees author
names: only title and abstract, as text (tf-idf) or as the stored MiniLM vectors.

Methods: arxiv-sanity-lite (tf-idf as its compute.py, refitted per test day on the text announced up to
that day, no labels involved; a LinearSVC per reader as its serve.py, C=0.01, balanced classes, library
papers positive, the other train-period papers negative; score = decision function), ours (cosine between
the candidate's vector and the library: max, centroid, or a blend; blends with arxiv-sanity-lite's SVM;
and the ranker the site serves, `ranking.personal`, fed as the site feeds it), the variant picked on the
first half of the readers sorted by name and reported on the second half, and random.
docs/recommendations.md has the results.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sqlalchemy import text

from dailypapers.config import Settings
from dailypapers.ranking import personal
from dailypapers.store.convert import from_json
from dailypapers.store.db import make_engine, read_tx
from dailypapers.store.vectors import from_db

K = 10
TRAIN_DAYS = 28
MIN_TRAIN_PAPERS = 3
DIM = 384


@dataclass
class Corpus:
    """The announced papers, in one order: text, day, normalised author names, unit vectors."""

    texts: list[str]
    days: list[str]
    authors: list[set[str]]
    vectors: np.ndarray  # float32, unit rows


@dataclass(frozen=True)
class Case:
    """One (reader, test day): the library (train paper rows), the day's candidates (rows), the targets."""

    reader: str
    day: str
    library: np.ndarray
    candidates: np.ndarray
    targets: frozenset[int]


def normalise(name: str) -> str:
    """An author name for exact matching: no accents, case-folded, no dots, single spaces."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace(".", " ").split())


def load(settings: Settings) -> Corpus:
    """Every paper with an announcement day, and its stored embedding."""
    engine = make_engine(settings.database_url)
    with read_tx(engine) as conn:
        rows = conn.execute(
            text(
                "SELECT p.pk, p.title, p.abstract, p.authors, p.announced, e.vector FROM papers p "
                "JOIN paper_embeddings e ON e.paper_pk = p.pk AND e.model = :m "
                "WHERE p.announced IS NOT NULL ORDER BY p.announced, p.pk"
            ),
            {"m": settings.embed_model},
        ).all()
    engine.dispose()
    vectors = from_db([r.vector for r in rows], DIM)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    authors = [{normalise(a.get("name", "")) for a in from_json(r.authors) or []} - {""} for r in rows]
    return Corpus(
        texts=[f"{r.title}. {r.abstract}" for r in rows],
        days=[str(r.announced)[:10] for r in rows],
        authors=authors,
        vectors=vectors.astype(np.float32),
    )


def build_cases(corpus: Corpus, max_readers: int) -> tuple[list[str], list[str], list[Case], int]:
    """(train days, test days, cases, readers eligible before the cap)."""
    days = sorted(set(corpus.days))
    train_days, test_days = days[:TRAIN_DAYS], days[TRAIN_DAYS:]
    train_set = set(train_days)
    train_rows: dict[str, list[int]] = defaultdict(list)
    test_rows: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, (day, names) in enumerate(zip(corpus.days, corpus.authors, strict=True)):
        for name in names:
            if day in train_set:
                train_rows[name].append(row)
            else:
                test_rows[name][day].append(row)
    eligible = sorted(n for n, rows in train_rows.items() if len(rows) >= MIN_TRAIN_PAPERS and n in test_rows)
    # A deterministic sample that does not favour the start of the alphabet, then name order.
    chosen = sorted(sorted(eligible, key=lambda n: hashlib.sha1(n.encode()).hexdigest())[:max_readers])
    by_day: dict[str, list[int]] = defaultdict(list)
    for row, day in enumerate(corpus.days):
        by_day[day].append(row)
    cases = [
        Case(name, day, np.array(train_rows[name]), np.array(by_day[day]), frozenset(rows))
        for name in chosen
        for day, rows in sorted(test_rows[name].items())
    ]
    return train_days, test_days, cases, len(eligible)


def recall_ndcg(scores: np.ndarray, candidates: np.ndarray, targets: frozenset[int]) -> tuple[float, float]:
    """Recall@K and nDCG@K (binary relevance) of a ranking of `candidates` by `scores`, highest first."""
    top = candidates[np.argsort(-scores, kind="stable")[:K]]
    hits = [int(row) in targets for row in top]
    dcg = sum(1.0 / math.log2(i + 2) for i, hit in enumerate(hits) if hit)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(K, len(targets))))
    return sum(hits) / len(targets), dcg / ideal


Scorer = Callable[[Case], np.ndarray]


def embedding_scorers(corpus: Corpus) -> dict[str, Scorer]:
    """Our variants: cosine to the nearest library paper, to the library centroid, and blends."""

    def sims(case: Case) -> np.ndarray:
        return corpus.vectors[case.candidates] @ corpus.vectors[case.library].T

    def centroid(case: Case) -> np.ndarray:
        c = corpus.vectors[case.library].mean(axis=0)
        return corpus.vectors[case.candidates] @ (c / max(float(np.linalg.norm(c)), 1e-12))

    def top3(case: Case) -> np.ndarray:
        s = np.sort(sims(case), axis=1)[:, ::-1]
        return s[:, :3].mean(axis=1)

    return {
        "max": lambda case: sims(case).max(axis=1),
        "centroid": centroid,
        "0.5 max + 0.5 centroid": lambda case: 0.5 * sims(case).max(axis=1) + 0.5 * centroid(case),
        "mean of top 3": top3,
    }


class SanityLite:
    """arxiv-sanity-lite's recommendations: its compute.py's tf-idf and its serve.py's per-user SVM."""

    def __init__(self, corpus: Corpus, train_days: Sequence[str]) -> None:
        self.corpus = corpus
        self.train_rows = np.array([i for i, d in enumerate(corpus.days) if d in set(train_days)])
        self.fitted_day = ""
        self.features = None

    def _fit(self, day: str) -> None:
        # As compute.py, run that day: fitted on the text of every paper announced so far (no labels).
        # Rows are in day order, so those announced up to `day` are a prefix.
        upto = sum(1 for d in self.corpus.days if d <= day)
        vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        self.features = vectorizer.fit_transform(self.corpus.texts[:upto])
        self.fitted_day = day

    def __call__(self, case: Case) -> np.ndarray:
        if case.day != self.fitted_day:
            self._fit(case.day)
        assert self.features is not None
        y = np.isin(self.train_rows, case.library).astype(int)
        svm = LinearSVC(class_weight="balanced", verbose=0, max_iter=10000, tol=1e-6, C=0.01)
        svm.fit(self.features[self.train_rows], y)
        return svm.decision_function(self.features[case.candidates])


class Cached:
    """A scorer's answers kept per case, so that several blends share one SVM fit per case."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.seen: dict[tuple[str, str], np.ndarray] = {}

    def __call__(self, case: Case) -> np.ndarray:
        key = (case.reader, case.day)
        if key not in self.seen:
            self.seen[key] = self.scorer(case)
        return self.seen[key]


class Served:
    """The ranker the site serves (`ranking.personal.rank`), fed as the site feeds it: the library as the
    reader's signals, a word model trained by `ranking.personal.train_words` against a random sample of
    other train-period papers (the site samples recent papers), and the site's idf, here counted over the
    text announced up to the test day (the site counts it over its newest papers, daily). No follows, no
    dismissals, no upvotes: the evaluation data has none."""

    def __init__(self, corpus: Corpus, train_days: Sequence[str], seed: int = 0) -> None:
        self.corpus = corpus
        self.train_rows = np.array([i for i, d in enumerate(corpus.days) if d in set(train_days)])
        self.counts = personal.term_counts(corpus.texts)
        self.day, self.features = "", None
        self.seed = seed
        self.models: dict[tuple[str, str], personal.WordModel | None] = {}

    def _fit(self, day: str) -> None:
        upto = sum(1 for d in self.corpus.days if d <= day)
        idf = personal.idf_of(personal.document_frequencies(self.counts[:upto]), upto)
        self.features = personal.features(self.counts, idf)
        self.day = day

    def model(self, case: Case) -> personal.WordModel | None:
        key = (case.reader, case.day)
        if key not in self.models:
            if case.day != self.day:
                self._fit(case.day)
            assert self.features is not None
            others = np.setdiff1d(self.train_rows, case.library)
            rng = np.random.default_rng([self.seed, int(hashlib.sha1(case.reader.encode()).hexdigest()[:8], 16)])
            negatives = rng.choice(others, min(personal.NEGATIVES, len(others)), replace=False)
            self.models[key] = personal.train_words(self.features[case.library], self.features[negatives])
        return self.models[key]

    def scorer(self, meaning_weight: float) -> Scorer:
        def score(case: Case) -> np.ndarray:
            words = self.model(case)
            assert self.features is not None
            n = len(case.candidates)
            return personal.rank(
                self.corpus.vectors[case.candidates],
                self.features[case.candidates],
                self.corpus.vectors[case.library],
                words,
                np.zeros((0, DIM), np.float32),
                np.zeros(n),
                np.zeros(n),
                meaning_weight=meaning_weight,
            ).scores

        return score


def _z(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean()) / max(float(scores.std()), 1e-12)


def blends(embedding: Scorer, svm: Scorer) -> dict[str, Scorer]:
    """Ours with both signals: the embedding score and the tf-idf SVM's, standardized per list and mixed."""
    return {
        f"{w} embedding + {1 - w:.1f} tf-idf SVM": (lambda case, w=w: w * _z(embedding(case)) + (1 - w) * _z(svm(case)))
        for w in (0.3, 0.5, 0.7)
    }


def evaluate(cases: Sequence[Case], scorer: Scorer) -> np.ndarray:
    """Per case: [recall@K, nDCG@K]."""
    return np.array([recall_ndcg(scorer(c), c.candidates, c.targets) for c in cases])


def random_scores(seed: int) -> Scorer:
    rng = np.random.default_rng(seed)
    return lambda case: rng.random(len(case.candidates))


def bootstrap(cases: Sequence[Case], diff: np.ndarray, rounds: int, seed: int = 0) -> np.ndarray:
    """95% intervals (2 x columns) of the mean of `diff` (per case), resampling readers (their cases together)."""
    readers = sorted({c.reader for c in cases})
    index = {r: i for i, r in enumerate(readers)}
    owner = np.array([index[c.reader] for c in cases])
    sums = np.zeros((len(readers), diff.shape[1]))
    np.add.at(sums, owner, diff)
    counts = np.bincount(owner, minlength=len(readers)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(readers), size=(rounds, len(readers)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)[:, None]
    return np.percentile(means, [2.5, 97.5], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--readers", type=int, default=300)
    parser.add_argument("--boot", type=int, default=2000)
    args = parser.parse_args()
    started = time.monotonic()
    corpus = load(Settings(data_dir=args.data_dir, embed_background=False))
    train_days, test_days, cases, eligible = build_cases(corpus, args.readers)
    readers = sorted({c.reader for c in cases})
    tune_readers = set(readers[: len(readers) // 2])
    tune = [c for c in cases if c.reader in tune_readers]
    report = [c for c in cases if c.reader not in tune_readers]
    # Sorting by day lets the tf-idf be refitted once per test day.
    report.sort(key=lambda c: (c.day, c.reader))
    print(
        f"{len(corpus.texts):,} announced papers; train {train_days[0]}..{train_days[-1]} ({len(train_days)} days), "
        f"test {test_days[0]}..{test_days[-1]} ({len(test_days)} days); {eligible} eligible readers, "
        f"{len(readers)} used: {len(tune_readers)} for tuning ({len(tune)} cases), "
        f"{len(readers) - len(tune_readers)} held out ({len(report)} cases)"
    )
    print(
        f"mean list length {np.mean([len(c.candidates) for c in report]):.0f}, mean targets "
        f"{np.mean([len(c.targets) for c in report]):.2f}, mean library {np.mean([len(c.library) for c in report]):.1f}"
    )

    tune.sort(key=lambda c: (c.day, c.reader))
    variants = embedding_scorers(corpus)
    svm = Cached(SanityLite(corpus, train_days))
    variants |= blends(variants["0.5 max + 0.5 centroid"], svm)
    served = Served(corpus, train_days)
    for w in (0.3, 0.5, 0.7):
        variants[f"served ranker, {w} meaning + {1 - w:.1f} words"] = served.scorer(w)
    print("\nTuning half (ours' variants):\n\n| variant | recall@10 | nDCG@10 |\n|---|---|---|")
    tuned = {}
    for name, scorer in variants.items():
        tuned[name] = evaluate(tune, scorer).mean(axis=0)
        print(f"| {name} | {tuned[name][0]:.3f} | {tuned[name][1]:.3f} |")
    best = max(tuned, key=lambda n: (tuned[n][1], tuned[n][0]))
    print(f"\npicked on the tuning half (by nDCG@10): {best}")

    ours = evaluate(report, variants[best])
    sanity = evaluate(report, svm)
    alone = evaluate(report, variants["0.5 max + 0.5 centroid"])
    shipped = f"served ranker, {personal.MEANING_WEIGHT} meaning + {1 - personal.MEANING_WEIGHT:.1f} words"
    served_scores = evaluate(report, variants[shipped])
    rand = np.mean([evaluate(report, random_scores(seed)) for seed in range(10)], axis=0)
    low, high = bootstrap(report, ours - sanity, args.boot)
    print(f"\nHeld-out half: {len(report)} (reader, day) cases, {len(readers) - len(tune_readers)} readers\n")
    print("| method | recall@10 | nDCG@10 |\n|---|---|---|")
    print(f"| random (mean of 10 draws) | {rand[:, 0].mean():.3f} | {rand[:, 1].mean():.3f} |")
    print(f"| arxiv-sanity-lite (tf-idf + SVM) | {sanity[:, 0].mean():.3f} | {sanity[:, 1].mean():.3f} |")
    print(f"| embedding similarity alone | {alone[:, 0].mean():.3f} | {alone[:, 1].mean():.3f} |")
    print(f"| best on the tuning half: {best} | {ours[:, 0].mean():.3f} | {ours[:, 1].mean():.3f} |")
    print(f"| what the site serves: {shipped} | {served_scores[:, 0].mean():.3f} | {served_scores[:, 1].mean():.3f} |")
    compared = [(best, ours, (low, high))]
    if shipped != best:
        compared.append((shipped, served_scores, bootstrap(report, served_scores - sanity, args.boot)))
    for name, scores, (lo, hi) in compared:
        d = (scores - sanity).mean(axis=0)
        print(
            f"| {name} - arxiv-sanity-lite (95% CI, readers resampled) | {d[0]:+.3f} [{lo[0]:+.3f}, {hi[0]:+.3f}] "
            f"| {d[1]:+.3f} [{lo[1]:+.3f}, {hi[1]:+.3f}] |"
        )
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
