"""Validate the known-item search evaluation set against the bundled demo data.

    python -m bench.search_eval.check [--quiet] [--queries PATH]

Loads the demo records into a temporary SQLite database (as `make run` does), then checks
bench/search_eval/queries.jsonl: every line is well formed, every `id` exists exactly once in the
database, each paper is the target of one query only, no query equals or is contained in its
paper's title (case-insensitive), queries are 4-15 words and carry no arXiv id. It prints, for each
query, the fraction of its words (stop words removed) that also occur in its paper's title, and the
mean of that fraction per kind. Exits 1 if any check fails (a missing id among them), else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import text

from dailypapers.ingest.demo import load_demo
from dailypapers.store.db import make_engine, migrate

QUERIES = Path(__file__).resolve().parent / "queries.jsonl"
KINDS = ("paraphrase", "keywordish", "vague", "author")
ARXIV_ID = re.compile(r"\b(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?\b")

# A small English stop-word list (function words, plus a few connectives common in titles).
_STOP_WORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves
via vs versus using use based towards toward
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def words(s: str) -> list[str]:
    """Lower-cased alphanumeric tokens minus stop words and single letters; longer words lose a plural 's'."""
    out = []
    for tok in re.findall(r"[a-z0-9]+", s.lower()):
        if tok in STOP_WORDS or (len(tok) == 1 and tok.isalpha()):
            continue
        if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
            tok = tok[:-1]
        out.append(tok)
    return out


def title_overlap(query: str, title: str) -> float:
    """Fraction of the query's (non-stop) words that also occur in the title."""
    q = words(query)
    if not q:
        return 0.0
    t = set(words(title))
    return sum(1 for w in q if w in t) / len(q)


def load_titles() -> tuple[dict[str, str], Counter[str]]:
    """Load the demo into a temporary SQLite database; return id -> title and the count of each id."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/search_eval.db")
        migrate(engine)
        load_demo(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("select id, title from papers order by pk")).all()
        engine.dispose()
    return {r.id: r.title for r in rows}, Counter(r.id for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    ap.add_argument("--queries", type=Path, default=QUERIES, help="the JSONL file to check (default: %(default)s)")
    args = ap.parse_args()

    titles, id_counts = load_titles()
    errors: list[str] = []
    queries = []
    for n, line in enumerate(args.queries.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: not JSON ({exc})")
            continue
        if set(obj) != {"query", "id", "kind"}:
            errors.append(f"line {n}: keys must be query, id, kind; got {sorted(obj)}")
            continue
        queries.append((n, obj))

    per_kind: dict[str, list[float]] = defaultdict(list)
    targets = Counter(obj["id"] for _, obj in queries)
    for n, obj in queries:
        q, pid, kind = obj["query"], obj["id"], obj["kind"]
        if kind not in KINDS:
            errors.append(f"line {n}: unknown kind {kind!r}")
        if id_counts[pid] != 1:
            what = "missing from" if id_counts[pid] == 0 else f"present {id_counts[pid]} times in"
            errors.append(f"line {n}: id {pid} is {what} the demo database")
            continue
        if targets[pid] > 1:
            errors.append(f"line {n}: id {pid} is the target of {targets[pid]} queries")
        title = titles[pid]
        if q.strip().lower() == title.strip().lower() or q.strip().lower() in title.lower():
            errors.append(f"line {n}: query equals or is contained in the title {title!r}")
        if not 4 <= len(q.split()) <= 15:
            errors.append(f"line {n}: query has {len(q.split())} words (want 4-15)")
        if ARXIV_ID.search(q):
            errors.append(f"line {n}: query contains an arXiv id")
        ov = title_overlap(q, title)
        per_kind[kind].append(ov)
        if not args.quiet:
            print(f"{ov:4.2f}  {kind:<10}  {pid:<17}  {q}")
            print(f"{'':28}title: {title}")

    print()
    print(f"{len(queries)} queries over {len(targets)} papers ({len(titles)} papers in the demo database)")
    local = sum(1 for _, obj in queries if obj["id"].startswith("local-"))
    print(f"  seed-page papers (local ids): {local}; other records: {len(queries) - local}")
    for kind in KINDS:
        vals = per_kind.get(kind, [])
        mean = sum(vals) / len(vals) if vals else 0.0
        print(f"  {kind:<10}  n={len(vals):3d}  mean title-word overlap {mean:.3f}  max {max(vals, default=0):.2f}")
    allv = [v for vals in per_kind.values() for v in vals]
    if allv:
        print(f"  {'all':<10}  n={len(allv):3d}  mean title-word overlap {sum(allv) / len(allv):.3f}")
    if errors:
        print(f"\n{len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
