"""Search quality on the known-item set (bench/search_eval/queries.jsonl): recall@1, recall@10 and MRR.

Loads the bundled demo (with its shipped embeddings) into a scratch SQLite database, then runs every
query in each mode, and also tries fusion variants (RRF constants and weights, a score-based fusion),
to show why the default was chosen. `--postgres URL` runs against a PostgreSQL database instead.

    python -m bench.eval_search [--markdown]
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.ingest.demo import load_demo
from dailypapers.search import service
from dailypapers.search.query import parse
from dailypapers.search.service import Searcher
from dailypapers.store import keyword, term_stats
from dailypapers.store.db import make_engine, migrate, read_tx

QUERIES = Path(__file__).parent / "search_eval" / "queries.jsonl"
DEPTH = 100


@dataclass
class Score:
    recall1: float
    recall10: float
    mrr: float
    n: int

    def row(self, name: str) -> str:
        return f"| {name} | {self.recall1:.3f} | {self.recall10:.3f} | {self.mrr:.3f} | {self.n} |"


def score(ranks: Sequence[int | None]) -> Score:
    n = len(ranks)
    return Score(
        sum(1 for r in ranks if r == 1) / n,
        sum(1 for r in ranks if r is not None and r <= 10) / n,
        sum(1 / r for r in ranks if r is not None) / n,
        n,
    )


def rank_of(pks: Sequence[int], target: int) -> int | None:
    try:
        return pks.index(target) + 1
    except ValueError:
        return None


def minmax_fusion(kw: Sequence[int], sem: Sequence[tuple[int, float]], alpha: float = 0.5) -> list[int]:
    """Convex combination of min-max normalised scores (keyword by rank position, semantic by cosine)."""
    scores: dict[int, float] = {}
    for rank, pk in enumerate(kw):
        scores[pk] = scores.get(pk, 0.0) + (1 - alpha) * (1 - rank / max(1, len(kw)))
    if sem:
        hi, lo = sem[0][1], sem[-1][1]
        for pk, sim in sem:
            scores[pk] = scores.get(pk, 0.0) + alpha * ((sim - lo) / (hi - lo) if hi > lo else 1.0)
    return [pk for pk, _ in sorted(scores.items(), key=lambda item: -item[1])]


def rr(rank: int | None) -> float:
    return 1 / rank if rank else 0.0


def paired(a: Sequence[int | None], b: Sequence[int | None], draws: int = 10_000) -> str:
    """`a` against `b` query by query: wins, losses, ties on the target's rank, and a 95% paired
    bootstrap interval of the MRR difference (seeded, so the same ranks give the same interval)."""
    rng = random.Random(13)
    diffs = [rr(x) - rr(y) for x, y in zip(a, b, strict=True)]
    wins = sum(1 for d in diffs if d > 0)
    losses = sum(1 for d in diffs if d < 0)
    n = len(diffs)
    means = sorted(sum(rng.choice(diffs) for _ in range(n)) / n for _ in range(draws))
    lo, hi = means[int(0.025 * draws)], means[int(0.975 * draws) - 1]
    return f"{wins} better, {losses} worse, {n - wins - losses} same; MRR {sum(diffs) / n:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def evaluate(
    engine: Engine, settings: Settings, split: str = "", ranks_out: dict[str, list[int | None]] | None = None
) -> dict[str, Score]:
    """Scores per method (and per kind for the three modes); `split`: "tune" (even lines), "test" (odd).
    `ranks_out`, when given, receives each method's target rank per query."""
    items = [json.loads(line) for line in QUERIES.read_text().splitlines() if line.strip()]
    with read_tx(engine) as conn:
        pk_of = dict(conn.execute(text("SELECT id, pk FROM papers")).all())
    searcher = Searcher(engine, settings)
    semantic = searcher.semantic()
    assert semantic is not None, searcher._semantic_error
    semantic.refresh()
    runs: dict[str, list[int | None]] = {}
    by_kind: dict[str, list[int | None]] = {}

    def record(name: str, ranking: Sequence[int], target: int, kind: str) -> None:
        rank = rank_of(list(ranking), target)
        runs.setdefault(name, []).append(rank)
        if name in ("keyword", "semantic", "hybrid (default: RRF k=10)"):
            by_kind.setdefault(f"{name} · {kind}", []).append(rank)

    variants: dict[str, Callable[[list[int], list[tuple[int, float]]], list[int]]] = {
        "RRF k=20": lambda kw, sem: [pk for pk, _ in service.rrf([kw, [p for p, _ in sem]], k=20)],
        "RRF k=30": lambda kw, sem: [pk for pk, _ in service.rrf([kw, [p for p, _ in sem]], k=30)],
        "RRF k=60": lambda kw, sem: [pk for pk, _ in service.rrf([kw, [p for p, _ in sem]], k=60)],
        "RRF k=10, semantic weight 1.5": lambda kw, sem: [
            pk for pk, _ in service.rrf([kw, [p for p, _ in sem]], k=10, weights=[1.0, 1.5])
        ],
        "RRF k=10, keyword weight 1.5": lambda kw, sem: [
            pk for pk, _ in service.rrf([kw, [p for p, _ in sem]], k=10, weights=[1.5, 1.0])
        ],
        "min-max score fusion, alpha 0.5": lambda kw, sem: minmax_fusion(kw, sem, 0.5),
        **{f"min-max score fusion, alpha {w}": functools.partial(minmax_fusion, alpha=w) for w in (0.3, 0.7, 0.9)},
    }
    for index, item in enumerate(items):
        if split and index % 2 != (0 if split == "tune" else 1):
            continue
        target = pk_of[item["id"]]
        kind = item.get("kind", "all")
        q = parse(item["query"])
        for mode in ("keyword", "semantic", "hybrid"):
            hits = searcher.search(q, mode, limit=DEPTH).hits
            record("hybrid (default: RRF k=10)" if mode == "hybrid" else mode, [h.pk for h in hits], target, kind)
        with read_tx(engine) as conn:
            kw = keyword.search(conn, q, limit=DEPTH)
        sem = semantic.search(q.text, DEPTH)
        for name, fuse in variants.items():
            record(name, fuse(kw, sem), target, kind)
    if ranks_out is not None:
        ranks_out.update(runs)
    return {name: score(ranks) for name, ranks in {**runs, **by_kind}.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL to load the demo into (default: scratch SQLite)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="an existing instance to search instead (its database, or --postgres's, and embeddings)",
    )
    parser.add_argument("--split", choices=("tune", "test"), help="only the even (tune) or odd (test) queries")
    parser.add_argument(
        "--old-defaults",
        action="store_true",
        help="search as before issue 13: the newest 2,000 any-word matches ranked, RRF k=20",
    )
    args = parser.parse_args()
    if args.old_defaults:
        keyword.RANK_WINDOW = 2_000
        term_stats.rarest_within = lambda conn, q, budget: q  # type: ignore[assignment]
        service.rrf = functools.partial(service.rrf, k=20)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            settings = Settings(data_dir=args.data_dir, database_url=args.postgres or "", embed_background=False)
            engine = make_engine(settings.database_url)
        else:
            settings = Settings(data_dir=Path(tmp), database_url=args.postgres or "", embed_background=False)
            engine = make_engine(settings.database_url)
            migrate(engine)
            load_demo(engine)
        with read_tx(engine) as conn:
            papers = conn.execute(text("SELECT count(*) FROM papers")).scalar()
        ranks: dict[str, list[int | None]] = {}
        results = evaluate(engine, settings, args.split or "", ranks)
        engine.dispose()
    print(f"{papers} papers; queries: {args.split or 'all'}")
    print("| method | recall@1 | recall@10 | MRR | queries |")
    print("|---|---|---|---|---|")
    for name, s in results.items():
        print(s.row(name))
    hybrid = ranks["hybrid (default: RRF k=10)"]
    print()
    for mode in ("keyword", "semantic"):
        print(f"- hybrid against {mode}, per query: {paired(hybrid, ranks[mode])}")


if __name__ == "__main__":
    main()
