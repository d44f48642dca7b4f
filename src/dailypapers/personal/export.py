"""A collection's papers as BibTeX, Markdown and JSON (pure: papers in, text out).

BibTeX: one `@misc` entry per paper, as arXiv's own export writes it (`eprint`, `archivePrefix`,
`primaryClass`, `url`, `doi`), written with bibtexparser. Keys are ASCII and unique within the file
(`vaswani2017attention`, then `vaswani2017attentiona`, ...). Titles keep their TeX (a BibTeX file is read
by TeX); characters TeX would misread outside formulas (`&`, `%`, `#`, `_`) are escaped and braces
balanced, so every entry parses. Other Unicode is written as is (the file is UTF-8, as biber and
`inputenc` read it). Markdown and JSON show titles as plain text (`sources.latex.plain_text`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import bibtexparser
from bibtexparser.model import Entry, Field

from dailypapers.sources.arxiv_ids import abs_url, pdf_url
from dailypapers.sources.latex import plain_text

if TYPE_CHECKING:
    from dailypapers.store.collections import ExportPaper, StoredCollection

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MATH = re.compile(r"(?<!\\)\$\$?.*?(?<!\\)\$\$?", re.S)  # $...$ and $$...$$: left as they are
_SPECIAL = re.compile(r"(?<!\\)([&%#_])")
_STOP = frozenset(
    ("a", "an", "the", "of", "on", "in", "for", "and", "to", "with", "from", "by", "at", "is", "are", "via", "towards")
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!])")


def paper_url(p: ExportPaper, base_url: str) -> str:
    return base_url.rstrip("/") + f"/papers/{p.id}" if p.local else abs_url(p.id)


# ---- BibTeX ----


def _balanced(text: str) -> str:
    """`text` without the braces that have no partner (BibTeX reads braces as structure, escaped or not)."""
    keep = [True] * len(text)
    opened: list[int] = []
    for i, c in enumerate(text):
        if c == "{":
            opened.append(i)
        elif c == "}":
            if opened:
                opened.pop()
            else:
                keep[i] = False
    for i in opened:
        keep[i] = False
    return "".join(c for c, k in zip(text, keep, strict=True) if k)


def tex_value(text: str) -> str:
    """A field's value for BibTeX: one line, specials outside formulas escaped, braces balanced."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    out, last = [], 0
    for m in _MATH.finditer(text):
        out.append(_SPECIAL.sub(r"\\\1", text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_SPECIAL.sub(r"\\\1", text[last:]))
    value = _balanced("".join(out))
    while value.endswith("\\"):  # a trailing backslash would escape the closing brace
        value = value[:-1].rstrip()
    return value


def _ascii_word(text: str) -> str:
    return re.sub(
        r"[^a-z0-9]", "", unicodedata.normalize("NFKD", plain_text(text)).encode("ascii", "ignore").decode().lower()
    )


def _last_name(name: str) -> str:
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0]
    parts = name.split()
    return parts[-1] if parts else ""


def base_key(p: ExportPaper) -> str:
    """`lastname` + year + first significant title word, ASCII: "vaswani2017attention"."""
    who = _ascii_word(_last_name(p.authors[0])) if p.authors else ""
    year = str(p.published.year) if p.published else ""
    words = [_ascii_word(w) for w in plain_text(p.title).split()]
    # The first word that is a word (not "O(n²)" nor "3D"), not a stop word; else the first at all.
    plain = [_ascii_word(w) for w in plain_text(p.title).split() if w.strip(",.:;!?'\"()").isalpha()]
    word = next((w for w in plain if w and w not in _STOP), next((w for w in words if w), ""))
    key = f"{who[:30]}{year}{word[:30]}"
    return key if key and not key.isdigit() else f"paper{_ascii_word(p.id) or 'x'}"


def unique_keys(papers: Sequence[ExportPaper]) -> list[str]:
    """One key per paper, the repeats told apart by a letter (then a number): a, b, ..., z, 27, 28, ..."""
    used: set[str] = set()
    keys = []
    for p in papers:
        base = base_key(p)
        key, n = base, 0
        while key in used:
            n += 1
            key = base + (chr(ord("a") + n - 1) if n <= 26 else str(n))
        used.add(key)
        keys.append(key)
    return keys


def _author(name: str) -> str:
    name = tex_value(name)
    # " and " inside one name would split it; braces keep such a name (an organization's) whole.
    return f"{{{name}}}" if re.search(r"\band\b", name, re.I) else name


def bibtex_entry(p: ExportPaper, key: str, base_url: str) -> Entry:
    fields = [Field("title", tex_value(p.title) or p.id)]
    if p.authors:
        fields.append(Field("author", " and ".join(_author(a) for a in p.authors if a.strip())))
    if p.published:
        fields.append(Field("year", str(p.published.year)))
        fields.append(Field("month", p.published.strftime("%b").lower()))
    if not p.local:
        fields.append(Field("eprint", p.id))
        fields.append(Field("archivePrefix", "arXiv"))
        if p.primary_category:
            fields.append(Field("primaryClass", tex_value(p.primary_category)))
    fields.append(Field("url", paper_url(p, base_url)))
    if p.doi:
        fields.append(Field("doi", tex_value(p.doi)))
    if p.journal_ref:
        fields.append(Field("note", tex_value(p.journal_ref)))
    if p.note:
        fields.append(Field("annote", tex_value(p.note)))
    return Entry("misc", key, fields)


def bibtex(papers: Sequence[ExportPaper], base_url: str, header: str = "") -> str:
    """The papers as a BibTeX file (with `header` as a comment line first, if given)."""
    library = bibtexparser.Library()
    for p, key in zip(papers, unique_keys(papers), strict=True):
        library.add(bibtex_entry(p, key, base_url))
    text = bibtexparser.write_string(library) if papers else ""
    if header:
        text = f"% {' '.join(header.split())}\n\n" + text
    return text


# ---- Markdown ----


def md_escape(text: str) -> str:
    """A reader's own text (a name, a description, a note) with Markdown's specials escaped."""
    return _MD_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", text))


def md_text(text: str) -> str:
    """A paper's text (TeX decoded to plain text) with Markdown's specials escaped."""
    return md_escape(plain_text(text))


def markdown(collection: StoredCollection, papers: Sequence[ExportPaper], base_url: str) -> str:
    base = base_url.rstrip("/")
    lines = [f"# {md_escape(collection.name)}", ""]
    if collection.description:
        lines += [md_escape(line) if line.strip() else "" for line in collection.description.splitlines()]
        lines.append("")
    count = f"{len(papers)} paper{'' if len(papers) == 1 else 's'}"
    lines += [f"{count}, collected by {md_escape(collection.owner)}: <{base}/collections/{collection.slug}>", ""]
    for i, p in enumerate(papers, 1):
        lines.append(f"{i}. **[{md_text(p.title) or p.id}]({paper_url(p, base)})**")
        if p.authors:
            shown = ", ".join(md_text(a) for a in p.authors[:10]) + (", et al." if len(p.authors) > 10 else "")
            lines.append(f"   {shown}")
        facts = []
        if not p.local:
            facts.append(f"arXiv:{p.id} ([PDF]({pdf_url(p.id)}))")
        if p.published:
            facts.append(p.published.date().isoformat())
        if p.doi:
            facts.append(f"DOI: [{md_text(p.doi)}](https://doi.org/{p.doi})")
        if facts:
            lines.append("   " + " · ".join(facts))
        for line in p.note.splitlines():
            lines.append(f"   > {md_escape(line)}" if line.strip() else "   >")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---- JSON ----


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def as_json(collection: StoredCollection, papers: Sequence[ExportPaper], base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    return {
        "collection": {
            "slug": collection.slug,
            "name": collection.name,
            "description": collection.description,
            "visibility": collection.visibility,
            "owner": collection.owner,
            "url": f"{base}/collections/{collection.slug}",
            "createdAt": _iso(collection.created_at),
            "updatedAt": _iso(collection.updated_at),
        },
        "papers": [
            {
                "id": p.id,
                "title": p.title,
                "titleText": plain_text(p.title),
                "authors": p.authors,
                "summary": p.abstract,
                "publishedAt": _iso(p.published),
                "categories": p.categories,
                "primaryCategory": p.primary_category,
                "doi": p.doi or None,
                "journalRef": p.journal_ref or None,
                "url": paper_url(p, base),
                "pageUrl": f"{base}/papers/{p.id}",
                "arxivUrl": None if p.local else abs_url(p.id),
                "note": p.note,
                "addedAt": _iso(p.added_at),
            }
            for p in papers
        ],
    }
