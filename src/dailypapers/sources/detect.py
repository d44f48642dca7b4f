"""Which source format a file is in, from its first bytes, and how to read each format."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from dailypapers.sources import arxiv_atom, arxiv_rss, hf_json, kaggle, oai_pmh, seed
from dailypapers.sources.record import PaperRecord, SourceError, strip_bom

Item = PaperRecord | SourceError


def _xml_reader(parse: Callable[..., object]) -> Callable[[IO[bytes], str], Iterator[Item]]:
    def read(fp: IO[bytes], where: str) -> Iterator[Item]:
        page = parse(fp.read(), where=where)
        yield from page.records  # type: ignore[attr-defined]
        yield from page.errors  # type: ignore[attr-defined]

    return read


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    # Line formats are read line by line and resume mid-file; documents are read whole.
    line_parser: Callable[[IO[bytes], str, int], Iterator[Item]] | None = None
    document_parser: Callable[[IO[bytes], str], Iterator[Item]] | None = None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("kaggle", "arXiv metadata snapshot (Kaggle JSONL)", line_parser=kaggle.iter_file),
        Format("seed", "seed papers JSONL (title, abstract)", line_parser=seed.iter_file),
        Format("hf", "Hugging Face daily_papers / papers JSON", document_parser=hf_json.iter_file),
        Format("arxiv-api", "arXiv API Atom feed", document_parser=_xml_reader(arxiv_atom.parse_feed)),
        Format("oai", "arXiv OAI-PMH response", document_parser=_xml_reader(oai_pmh.parse_oai)),
        Format("rss", "arXiv RSS feed", document_parser=_xml_reader(arxiv_rss.parse_rss)),
    )
}

_XML_ROOT = re.compile(rb"<(?!\?|!)(?:[\w.-]+:)?([\w.-]+)")


def detect_format(head: bytes, where: str = "") -> Format:
    """The format of a file whose first bytes are `head`; raises SourceError when unknown."""
    if not head:
        raise SourceError("the file is empty", where=where)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError("the file is in UTF-16: save it as UTF-8", where=where)
    text = strip_bom(head).lstrip(b" \t\r\n")
    if text.startswith(b"<"):
        body = re.sub(rb"<!--.*?-->", b"", text, flags=re.S)
        m = _XML_ROOT.search(body)
        root = m.group(1).decode() if m else ""
        by_root = {"feed": "arxiv-api", "OAI-PMH": "oai", "rss": "rss"}
        if root in by_root:
            return FORMATS[by_root[root]]
        raise SourceError(f"unknown XML document (root element <{root}>)", where=where)
    if text.startswith(b"["):
        return FORMATS["hf"]
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        if b'"authors_parsed"' in first or b'"versions"' in first or b'"update_date"' in first:
            return FORMATS["kaggle"]
        if b'"rank"' in first and b'"id"' not in first:
            return FORMATS["seed"]
        if b'"paper"' in text or b'"upvotes"' in text or b'"submittedOnDaily' in text:
            return FORMATS["hf"]
        if b'"id"' in first:
            return FORMATS["kaggle"]
    raise SourceError("cannot tell the file's format; pass --format", where=where)
