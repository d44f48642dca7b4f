"""Similar papers at scale: do a paper's nearest neighbours share its field as often among 11,000 papers
as among the demo's 451?

    python -m bench.eval_similar [--data-dir DIR]

For every demo paper with an arXiv category, its 5 most similar papers (the paper page's list) are
checked: the share that has the same primary category, and the share that shares any category, among
the neighbours that have categories (Hugging Face's records carry none, so they cannot be judged; the
share of such neighbours is reported beside). With
`--data-dir`, an instance holding the demo plus distractors (bench/search_eval/README.md says how to
build one); without, the demo alone in a scratch database.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from sqlalchemy import text

from dailypapers.config import Settings
from dailypapers.ingest.demo import load_demo
from dailypapers.search.service import Searcher
from dailypapers.store.convert import from_json
from dailypapers.store.db import make_engine, migrate, read_tx

NEIGHBOURS = 5


def measure(settings: Settings, demo_ids: set[str] | None) -> tuple[int, float, float, int, float]:
    """(papers checked, same primary category share, any shared category share, papers in the store,
    share of neighbours without categories)."""
    engine = make_engine(settings.database_url)
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT pk, id, categories FROM papers")).all()
    cats = {int(pk): [c.lower() for c in from_json(c) or []] for pk, _, c in rows}
    ids = {int(pk): pid for pk, pid, _ in rows}
    searcher = Searcher(engine, settings)
    checked, same, shared, unjudged, neighbours = 0, 0.0, 0.0, 0, 0
    for pk, pid in ids.items():
        if (demo_ids is not None and pid not in demo_ids) or not cats[pk]:
            continue
        found = [n for n, _ in searcher.similar(pk, NEIGHBOURS)]
        near = [n for n in found if cats[n]]
        neighbours += len(found)
        unjudged += len(found) - len(near)
        if not near:
            continue
        checked += 1
        same += sum(1 for n in near if cats[n][:1] == cats[pk][:1]) / len(near)
        shared += sum(1 for n in near if set(cats[n]) & set(cats[pk])) / len(near)
    engine.dispose()
    return checked, same / max(1, checked), shared / max(1, checked), len(rows), unjudged / max(1, neighbours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = Settings(data_dir=Path(tmp), embed_background=False)
        engine = make_engine(demo.database_url)
        migrate(engine)
        load_demo(engine)
        with read_tx(engine) as conn:
            demo_ids = {r[0] for r in conn.execute(text("SELECT id FROM papers"))}
        engine.dispose()
        runs = [("demo", demo, None)]
        if args.data_dir:
            runs.append(("demo + distractors", Settings(data_dir=args.data_dir, embed_background=False), demo_ids))
        print(
            f"| store | papers | demo papers checked | same primary category (top {NEIGHBOURS}) "
            "| any shared category | neighbours without categories |"
        )
        print("|---|---|---|---|---|---|")
        for name, settings, only in runs:
            checked, same, shared, papers, unjudged = measure(settings, only)
            print(f"| {name} | {papers:,} | {checked} | {same:.3f} | {shared:.3f} | {unjudged:.3f} |")


if __name__ == "__main__":
    main()
