"""More real distractors: daily-arXiv-ai-enhanced day files turned into Kaggle-snapshot JSONL.

The forks of dw-dengwei/daily-arXiv-ai-enhanced commit each day's arXiv listing as
`data/YYYY-MM-DD.jsonl` (arXiv metadata: id, authors, title, categories, comment, summary).
This reads those files from a git mirror (no work tree needed) and writes the papers of the
chosen days, once each, in the Kaggle snapshot's shape so `dailypapers import` takes them as
they are. Only days before ../shared/data/curation's first day are taken by default, so no
paper of a later, held-out curation day is touched.

    python bench/search_eval/extra_distractors.py MIRROR.git OUT.jsonl [--after D] [--before 2025-06-26]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from datetime import UTC, date, datetime
from email.utils import format_datetime

DAY_FILE = re.compile(r"^data/(\d{4}-\d{2}-\d{2})\.jsonl$")


def day_files(mirror: str, after: str, before: str) -> list[tuple[str, str]]:
    names = subprocess.run(
        ["git", "-C", mirror, "ls-tree", "--name-only", "HEAD", "data/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    out = []
    for name in names:
        m = DAY_FILE.match(name)
        if m and after <= m.group(1) < before:
            out.append((m.group(1), name))
    return sorted(out)


def kaggle_line(item: dict, day: str) -> dict:
    created = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
    return {
        "id": item["id"],
        "authors": ", ".join(item.get("authors") or []),
        "title": item["title"],
        "comments": item.get("comment"),
        "categories": " ".join(item.get("categories") or []),
        "abstract": item.get("summary") or "",
        "versions": [{"version": "v1", "created": format_datetime(created)}],
        "update_date": day,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mirror", help="git directory of a daily-arXiv-ai-enhanced fork")
    ap.add_argument("out", help="JSONL file to write")
    ap.add_argument("--after", default="0000-00-00", help="only days from this one on")
    ap.add_argument("--before", default="2025-06-26", help="only days before this one")
    args = ap.parse_args()
    seen: set[str] = set()
    with open(args.out, "w", encoding="utf-8") as fh:
        for day, name in day_files(args.mirror, args.after, args.before):
            text = subprocess.run(
                ["git", "-C", args.mirror, "show", f"HEAD:{name}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            for line in text.splitlines():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(item, dict) or item.get("id") in seen or not item.get("title"):
                    continue
                seen.add(item["id"])
                fh.write(json.dumps(kaggle_line(item, day), ensure_ascii=False) + "\n")
    print(f"{len(seen)} papers written to {args.out}")


if __name__ == "__main__":
    main()
