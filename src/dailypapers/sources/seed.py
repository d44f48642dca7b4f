"""The seed page's papers (`{"rank", "title", "abstract"}` per line): no arXiv id, so a local one.

The local id is derived from the title, so it is stable across imports and machines, and marked
`local` so nothing pretends it is an arXiv id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import IO

import orjson

from dailypapers.sources.code_links import find_links
from dailypapers.sources.limits import MAX_LINE_BYTES, admit
from dailypapers.sources.record import PaperRecord, SourceError, clean_text, strip_bom, text_field

SOURCE = "seed"
LOCAL_PREFIX = "local-"


def local_id(title: str) -> str:
    """A stable id for a paper with no arXiv id: `local-` and 10 hex digits of the title's hash."""
    key = " ".join(title.lower().split()).encode()
    return LOCAL_PREFIX + hashlib.sha256(key).hexdigest()[:10]


def iter_file(fp: IO[bytes], where: str, start_line: int = 0) -> Iterator[PaperRecord | SourceError]:
    """Yield a record, or a SourceError naming `where:line`, for each non-empty line of `fp`."""
    for number, line in enumerate(fp, start_line + 1):
        line = strip_bom(line)
        if not line.strip():
            continue
        if len(line) > MAX_LINE_BYTES:
            yield SourceError(f"line longer than {MAX_LINE_BYTES:,} bytes", where=f"{where}:{number}")
            continue
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict):
                raise TypeError("the line is not a JSON object")
            title = clean_text(text_field(obj, "title"))
            abstract = clean_text(text_field(obj, "abstract"))
        except (orjson.JSONDecodeError, TypeError) as exc:
            yield SourceError(f"malformed line ({exc})", where=f"{where}:{number}")
            continue
        if not title:
            yield SourceError("empty title", where=f"{where}:{number}")
            continue
        code, project = find_links(abstract)
        rank = obj.get("rank")
        record = PaperRecord(
            id=local_id(title),
            source=SOURCE,
            title=title,
            abstract=abstract,
            local=True,
            code_urls=code,
            project_urls=project,
            extra={"seed_rank": rank} if isinstance(rank, int) and not isinstance(rank, bool) else {},
        )
        try:
            admitted = admit(record)
        except SourceError as exc:
            yield SourceError(exc.problem, where=f"{where}:{number} (id {record.id})")
            continue
        yield admitted
