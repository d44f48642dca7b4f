"""Deterministic synthetic Kaggle-format arXiv records, recombined from the real fixture texts.

    python -m bench.gen_kaggle 100000 > /tmp/synthetic.jsonl

Titles, abstract sentences, author names and categories all come from real records (the Kaggle
head and the seed papers); only their combinations and the ids are synthetic. Same count, same file.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
KAGGLE = ROOT / "src/dailypapers/demo/head200_wanng-ide_arxivSpider_mnbvc.jsonl"
SEED = ROOT / "src/dailypapers/demo/seed_papers.jsonl"


def _corpus() -> tuple[list[str], list[str], list[list[str]], list[str]]:
    titles, sentences, authors, cats = [], [], [], []
    for line in KAGGLE.read_bytes().splitlines():
        obj = orjson.loads(line)
        titles.append(" ".join(obj["title"].split()))
        sentences.extend(
            s.strip().rstrip(".") + "." for s in " ".join(obj["abstract"].split()).split(". ") if s.strip()
        )
        authors.extend([a[:3] for a in obj["authors_parsed"]])
        cats.append(obj["categories"])
    if SEED.exists():
        for line in SEED.read_bytes().splitlines():
            obj = orjson.loads(line)
            titles.append(obj["title"])
            sentences.extend(s.strip().rstrip(".") + "." for s in obj["abstract"].split(". ") if s.strip())
    cats += ["cs.CL", "cs.LG", "cs.AI", "cs.CV cs.LG", "cs.CL cs.AI", "stat.ML cs.LG"]
    return titles, sentences, authors, cats


def records(count: int, seed: int = 1) -> Iterator[dict]:
    """`count` Kaggle-shaped objects with ids 2001.00001, 2001.00002, ... (100k ids per month)."""
    rng = random.Random(seed)
    titles, sentences, authors, cats = _corpus()
    start = dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC)
    for n in range(count):
        month, num = divmod(n, 99999)
        year, mon = 20 + (month // 12), month % 12 + 1
        created = start + dt.timedelta(minutes=n * 7)
        versions = [
            {
                "version": f"v{v + 1}",
                "created": (created + dt.timedelta(days=30 * v)).strftime("%a, %d %b %Y %H:%M:%S GMT"),
            }
            for v in range(rng.choice((1, 1, 1, 2, 2, 3)))
        ]
        abstract = " ".join(rng.sample(sentences, rng.randint(4, 9)))
        if rng.random() < 0.1:
            abstract += f" Code is available at https://github.com/lab{n % 977}/project{n}."
        people = rng.sample(authors, rng.randint(1, 8))
        title = rng.choice(titles)
        if rng.random() < 0.5:
            title = f"{title.split(':')[0]}: {rng.choice(titles)}"
        yield {
            "id": f"{year:02d}{mon:02d}.{num + 1:05d}",
            "submitter": " ".join(people[0][1::-1]),
            "authors": ", ".join(f"{a[1]} {a[0]}" for a in people),
            "title": title,
            "comments": rng.choice([None, "12 pages, 4 figures", "Accepted at ICML"]),
            "journal-ref": None,
            "doi": None,
            "report-no": None,
            "categories": rng.choice(cats),
            "license": rng.choice([None, "http://creativecommons.org/licenses/by/4.0/"]),
            "abstract": abstract,
            "versions": versions,
            "update_date": created.date().isoformat(),
            "authors_parsed": people,
        }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    out = sys.stdout.buffer
    for obj in records(count):
        out.write(orjson.dumps(obj) + b"\n")


if __name__ == "__main__":
    main()
