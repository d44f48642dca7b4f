"""BibTeX and BibLaTeX libraries (Zotero, Better BibTeX, JabRef, ADS, dblp, Google Scholar exports) read
into `LibraryRecord`s with bibtexparser 2.

Every entry is read on its own: an entry bibtexparser cannot parse (unbalanced braces, a missing comma) is
refused with its line and key, and the rest of the file still imports. `@comment`, `@preamble` and text
between entries are skipped; `@string` macros are expanded, `#` concatenations included. A key used twice
is read twice (the importer then skips the second as a duplicate when it names the same paper). TeX in
titles, abstracts and names is decoded (`sources.latex`). arXiv ids are taken from `eprint` (with
`archivePrefix`/`eprinttype` arXiv, or none), `arxiv`/`arxivid` fields, arXiv URLs and DOIs, and
`journal`/`note`/`volume`/`pages` texts that name one ("arXiv:2401.01234", dblp's "CoRR abs/1705.05363").
"""

from __future__ import annotations

import logging
import re

import bibtexparser
from bibtexparser import model

from dailypapers.sources.latex import plain_text
from dailypapers.sources.library_record import (
    MAX_ENTRIES,
    LibraryError,
    LibraryFormatError,
    LibraryRecord,
    ParsedLibrary,
    admit,
    arxiv_id_in,
    arxiv_id_of,
    arxiv_id_of_doi,
    check_size,
    doi_in_url,
    normalize_doi,
    too_many,
    year_in,
)
from dailypapers.sources.limits import MAX_ABSTRACT, MAX_TITLE
from dailypapers.sources.record import strip_bom

FORMAT = "bibtex"
# Blocks that are not entries: counted apart so that the entry limit means entries.
_NOT_ENTRIES = {"comment", "string", "preamble"}
_BLOCK = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*[{(]", re.MULTILINE)
_KEY = re.compile(r"@\s*[A-Za-z]+\s*[{(]\s*([^,\s{}()]{1,200})\s*,")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
_ARXIV_PREFIXES = {"arxiv", "arxiv.org"}
_URL_COMMAND = re.compile(r"\\url\{([^{}]*)\}")

logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # its failures come back to us as blocks


def decode(data: bytes) -> tuple[str, list[str]]:
    """The text of a BibTeX file: UTF-8 (a byte order mark dropped), else read as Windows-1252, as older
    tools (JabRef, BibDesk) wrote them, with a note saying so."""
    data = strip_bom(data)
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        note = f"The file is not UTF-8 (first at line {line}); it was read as Windows-1252 (Latin-1)."
        return data.decode("cp1252", errors="replace"), [note]


def parse_bytes(data: bytes) -> ParsedLibrary:
    """Read a BibTeX file's bytes; LibraryFormatError when the file as a whole cannot be a library."""
    check_size(data)
    text, notes = decode(data)
    parsed = parse(text)
    parsed.notes[:0] = notes
    return parsed


def parse(text: str) -> ParsedLibrary:
    """Read BibTeX text: its entries as records, in order, and the entries refused, with why."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    entries = sum(1 for m in _BLOCK.finditer(text) if m.group(1).lower() not in _NOT_ENTRIES)
    if entries > MAX_ENTRIES:
        raise too_many(entries)
    if not entries:
        raise LibraryFormatError("No BibTeX entries (@article{…}, @misc{…}, …) in this file.")
    library = bibtexparser.parse_string(text)
    strings = {s.key.lower(): _unbrace(str(s.value)) for s in library.strings}
    out = ParsedLibrary(FORMAT)
    for block in library.blocks:
        if isinstance(block, model.Entry):
            _read(block, strings, out)
        elif isinstance(block, (model.DuplicateBlockKeyBlock, model.DuplicateFieldKeyBlock)):
            entry = block.ignore_error_block
            if isinstance(entry, model.Entry):  # as written: no middleware ran on it
                _read(entry, strings, out, raw=True)
        elif isinstance(block, model.ParsingFailedBlock):
            raw = block.raw or ""
            m = _KEY.search(raw[:500])
            out.errors.append(LibraryError(_failure(block), m.group(1) if m else "", block.start_line + 1))
    if not out.read:
        raise LibraryFormatError("No BibTeX entries could be read from this file.")
    return out


_REASONS = (
    ("Unexpected block start", "a brace or quote is still open when the next entry starts"),
    ("Unexpectedly reached end of file", "the file ends inside this entry (a brace or quote is still open)"),
    ("Expected comma after entry key", "no comma after the entry's key"),
)


def _failure(block: model.ParsingFailedBlock) -> str:
    reason = " ".join(str(getattr(block.error, "abort_reason", "") or block.error or "").split())
    for start, plain in _REASONS:
        if reason.startswith(start):
            return f"not a complete BibTeX entry: {plain}"
    return f"not a complete BibTeX entry ({reason[:200]})" if reason else "not a complete BibTeX entry"


def _read(entry: model.Entry, strings: dict[str, str], out: ParsedLibrary, *, raw: bool = False) -> None:
    key, line = entry.key or "", entry.start_line + 1
    try:
        out.records.append(record_of(entry, strings, key, line, raw=raw))
    except ValueError as exc:
        out.errors.append(LibraryError(str(exc), key, line))


def record_of(entry: model.Entry, strings: dict[str, str], key: str, line: int, *, raw: bool = False) -> LibraryRecord:
    """The record of one parsed entry; ValueError saying why it is refused."""
    fields: dict[str, str] = {}
    for f in entry.fields:
        name = f.key.strip().lower()
        if name not in fields:
            fields[name] = _value(f.value, strings, raw)
    raw_title, raw_abstract = fields.get("title", ""), fields.get("abstract", "")
    if len(raw_title) > MAX_TITLE * 4:  # not decoded at all: TeX never makes a text 4 times shorter
        raise ValueError(f"title longer than {MAX_TITLE:,} characters ({len(raw_title):,})")
    if len(raw_abstract) > MAX_ABSTRACT * 4:
        raise ValueError(f"abstract longer than {MAX_ABSTRACT:,} characters ({len(raw_abstract):,})")
    doi = normalize_doi(fields.get("doi")) or doi_in_url(fields.get("url"))
    return admit(
        title=_text(raw_title),
        abstract=_text(raw_abstract),
        authors=[_name(n) for n in _names(fields.get("author") or fields.get("editor") or "")],
        arxiv_id=_arxiv(fields, doi),
        doi=doi,
        year=year_in(fields.get("year")) or year_in(fields.get("date")),
        key=key,
        line=line,
    )


def _arxiv(fields: dict[str, str], doi: str) -> str:
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if (prefix in _ARXIV_PREFIXES or not prefix) and (found := arxiv_id_of(fields.get("eprint"))):
        return found
    for name in ("arxiv", "arxivid", "arxiv_id"):
        if found := arxiv_id_of(fields.get(name)) or arxiv_id_in(fields.get(name)):
            return found
    if found := arxiv_id_of_doi(doi):
        return found
    for name in ("url", "eprint", "howpublished", "pdf", "link"):
        value = fields.get(name, "")
        if found := arxiv_id_in(_URL_COMMAND.sub(r"\1", value)):
            return found
    journal = fields.get("journal", "") or fields.get("journaltitle", "")
    volume = fields.get("volume", "").strip()
    corr = journal.strip().lower() == "corr" and volume.lower().startswith("abs/")
    if corr and (found := arxiv_id_of(volume[4:])):
        return found
    for name in ("journal", "journaltitle", "note", "pages", "eid", "number", "booktitle", "publisher"):
        if found := arxiv_id_in(fields.get(name)):
            return found
    return ""


def _value(value: object, strings: dict[str, str], raw: bool = False) -> str:
    """A field's text with `@string` macros and `#` concatenations resolved (bibtexparser leaves those);
    `raw` values still have their enclosing braces or quotes."""
    text = str(value)
    if not raw and "#" not in text and text.strip().lower() not in strings:
        return text
    parts = _concatenation(text)
    if parts is None:
        return text
    out = []
    for part in parts:
        p = part.strip()
        if p[:1] in '{"' and len(p) >= 2:
            out.append(p[1:-1])
        elif p.lower() in strings:
            out.append(strings[p.lower()])
        elif p.lower() in _MONTHS or p.isdigit():
            out.append(p)
        else:
            return text  # not a concatenation after all (a "#" inside plain text)
    return "".join(out)


def _concatenation(text: str) -> list[str] | None:
    """`text` split at the `#` outside braces and quotes, or None when it is unbalanced."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, c in enumerate(text):
        if c == "\\":
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return None
        elif c == '"' and depth == 0:
            quoted = not quoted
        elif c == "#" and depth == 0 and not quoted:
            parts.append(text[start:i])
            start = i + 1
    if depth or quoted:
        return None
    parts.append(text[start:])
    return parts


def _unbrace(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and (t[0], t[-1]) in (("{", "}"), ('"', '"')):
        return t[1:-1]
    return t


def _text(value: str) -> str:
    """Plain text of a TeX field: accents and macros decoded, braces gone, whitespace collapsed."""
    if not value:
        return ""
    return plain_text(value).replace("{", "").replace("}", "")


def _names(value: str) -> list[str]:
    """An `author` field split at the "and"s outside braces."""
    if not value.strip():
        return []
    names, depth, start = [], 0, 0
    for m in re.finditer(r"[{}]|\s+and\s+", value, re.IGNORECASE):
        token = m.group(0)
        if token == "{":
            depth += 1
        elif token == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            names.append(value[start : m.start()])
            start = m.end()
    names.append(value[start:])
    return [n for n in (n.strip() for n in names) if n and n.lower() != "others"]


def _name(name: str) -> str:
    """ "Last, First" (or "Last, Jr, First") as "First Last", TeX decoded."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(name):
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            parts.append(name[start:i])
            start = i + 1
    parts.append(name[start:])
    parts = [p.strip() for p in parts]
    if len(parts) == 2:
        name = f"{parts[1]} {parts[0]}"
    elif len(parts) >= 3:
        name = f"{parts[2]} {parts[0]} {parts[1]}"
    return _text(name).strip(" ,")
