"""Keyword search's stemming and prefix choices, measured on the known-item queries of an instance.

    python -m bench.eval_keyword_choices --data-dir DIR [--split tune|test]

Copies the instance (SQLite database and embeddings) to a scratch folder and, for each choice, rebuilds
the FTS5 index with that tokenizer and/or turns every query word into a prefix query, then scores the
keyword and hybrid modes as bench.eval_search does. The instance itself is not touched.

- stemming: FTS5's `porter` tokenizer (the default since the first migration) or none;
- prefix: each query word matches the words it begins (`"graph" *` finds graphs, graphical) or only itself.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Connection, text

from bench.eval_search import evaluate
from dailypapers.config import Settings
from dailypapers.store import keyword, term_stats
from dailypapers.store.db import make_engine, write_tx

PORTER = "porter unicode61 remove_diacritics 2"
PLAIN = "unicode61 remove_diacritics 2"


def retokenize(conn: Connection, tokenizer: str) -> None:
    """Recreate papers_fts with `tokenizer` and index every paper again."""
    conn.execute(text("DROP TABLE papers_fts"))
    conn.execute(
        text(
            "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors_text, "
            f"content='papers', content_rowid='pk', tokenize='{tokenizer}')"
        )
    )
    conn.execute(text("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')"))


@contextmanager
def prefix_queries() -> Iterator[None]:
    """Every quoted word of the FTS5 query (and of the word counts that prune it) becomes a prefix query."""
    fts_string, doc_freq = keyword._fts_string, term_stats._doc_freq

    def prefixed(s: str) -> str:
        return fts_string(s) + " *"

    def prefixed_df(conn: Connection, term: str) -> int:
        if term == term_stats.PAPERS:
            return doc_freq(conn, term)
        sql = text("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :m")
        return int(conn.execute(sql, {"m": prefixed(term)}).scalar() or 0)

    keyword._fts_string, term_stats._doc_freq = prefixed, prefixed_df  # type: ignore[assignment]
    try:
        yield
    finally:
        keyword._fts_string, term_stats._doc_freq = fts_string, doc_freq  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an instance built as bench/search_eval says")
    parser.add_argument("--split", choices=("tune", "test"), help="only the even (tune) or odd (test) queries")
    args = parser.parse_args()
    print("| stemming | prefix | keyword R@1 / R@10 / MRR | hybrid R@1 / R@10 / MRR |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data)
        settings = Settings(data_dir=data, embed_background=False)
        for tokenizer, stem in ((PORTER, "porter"), (PLAIN, "none")):
            engine = make_engine(settings.database_url)
            with write_tx(engine) as conn:
                retokenize(conn, tokenizer)
            for prefix in (False, True):
                term_stats._df_cache.clear()
                with prefix_queries() if prefix else nullcontext():
                    scores = evaluate(engine, settings, args.split or "")
                kw, hy = scores["keyword"], scores["hybrid (default: RRF k=10)"]
                print(
                    f"| {stem} | {'yes' if prefix else 'no'} "
                    f"| {kw.recall1:.3f} / {kw.recall10:.3f} / {kw.mrr:.3f} "
                    f"| {hy.recall1:.3f} / {hy.recall10:.3f} / {hy.mrr:.3f} |",
                    flush=True,
                )
            engine.dispose()


if __name__ == "__main__":
    main()
