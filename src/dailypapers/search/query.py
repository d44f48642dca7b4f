"""Parsing what people type into the search box. Pure Python: no SQL, never an exception.

The syntax, all of it optional and combinable:

    retrieval augmented          words: papers with all of them first, then papers with any
    "in-context learning"        a phrase: the words in this order, next to each other
    -survey  -"large language"   leave out papers with this word or phrase
    author:hinton                an author's name (word sequence, case- and accent-insensitive);
    author:"Geoffrey Hinton"     several author: filters must all hold (au: is the same)
    cat:cs.CL  cat:cs            an arXiv category, or a whole archive (cs.*); several: any of them
    since:2024-03  until:2024    dates (YYYY, YYYY-MM or YYYY-MM-DD), both ends inclusive:
    after:2023  before:2024-06   ... and their exclusive forms
    year:2024  date:2024-01      one whole year, month or day
    date:2024-01..2024-03        a range (either end may be left out: date:2024-06..)

Dates are the paper's first submission (its announcement day when that is unknown). Anything
that does not fit (an unknown `foo:` prefix, a bad date or one outside the years 1900 to 2999, an
unbalanced quote, a negated filter) is read as plain words, so a query never fails: operators of
the search engines (AND, NEAR, *, ^, column filters), LaTeX, SQL and control characters are only
ever text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass

from dailypapers.periods import FIRST_YEAR, LAST_YEAR

MAX_INPUT = 2000  # characters of a query that are read at all
MAX_TERMS = 32
MAX_PHRASES = 8
MAX_EXCLUDE = 8
MAX_AUTHORS = 4
MAX_CATEGORIES = 16
MAX_WORD = 80  # longer "words" are noise (or an attack) and are dropped
MAX_PHRASE_WORDS = 16
# Words too common to search for on their own (PostgreSQL's 'english' configuration drops them
# too): ignored beside other words, searched for when a query has nothing else. Phrases keep them.
_STOPWORDS = (
    "a an and are as at be been but by can do for from had has have if in into is it its no not of on or our "
    "so such than that the their then there these they this to was we were which will with"
)
STOPWORDS = frozenset(_STOPWORDS.split())

# Letters and digits (not the underscore): what FTS5's unicode61 tokenizer calls a token.
_WORD = re.compile(r"[^\W_]+")
# Control and invisible characters, and unpaired surrogates (which no database driver can encode).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\ud800-\udfff]")
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'})
_TOKEN = re.compile(
    r'(?P<neg>-?)(?:(?P<key>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))|(?P<stray>")',
)
_CATEGORY = re.compile(r"[a-z][a-z0-9\-]*(?:\.[a-z0-9\-]+)?")
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", re.ASCII)

_AUTHOR_KEYS = {"author", "au"}
_CATEGORY_KEYS = {"cat", "category"}
_DATE_KEYS = {"since", "until", "after", "before", "year", "date"}


@dataclass(frozen=True)
class Query:
    """A parsed query. `terms`, `phrases` and `exclude` hold lower-cased words (phrases and
    excluded phrases as space-separated words); `categories` are lower-cased."""

    raw: str
    text: str = ""
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None

    @property
    def has_filters(self) -> bool:
        return bool(self.authors or self.categories or self.since or self.until)

    @property
    def has_words(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def is_empty(self) -> bool:
        """Nothing to search for and nothing to filter by (exclusions alone select nothing)."""
        return not (self.has_words or self.has_filters)

    @property
    def content_terms(self) -> tuple[str, ...]:
        """The terms without stopwords, unless that leaves no words at all."""
        kept = tuple(t for t in self.terms if t not in STOPWORDS)
        return kept if kept or self.phrases else self.terms

    @property
    def words(self) -> tuple[str, ...]:
        """Every word the results should contain: the terms and the words of the phrases."""
        seen = dict.fromkeys(self.terms)
        for p in self.phrases:
            seen.update(dict.fromkeys(p.split()))
        return tuple(seen)


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, in order (duplicates kept); over-long ones dropped."""
    return [w for w in _WORD.findall(text.lower()) if len(w) <= MAX_WORD]


def clean(raw: str) -> str:
    """The query text as it is read: bounded, NFKC-normalised, without control characters."""
    s = unicodedata.normalize("NFKC", str(raw)[:MAX_INPUT]).translate(_QUOTES)
    return _CONTROL.sub(" ", s)


def _period(value: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day of YYYY, YYYY-MM or YYYY-MM-DD; None if that is no date, or one outside the
    years the site covers (periods.FIRST_YEAR to LAST_YEAR: the search adds a day to `until`)."""
    m = _DATE.fullmatch(value)
    if not m or not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        return None
    try:
        year = int(m[1])
        if m[3]:
            day = dt.date(year, int(m[2]), int(m[3]))
            return day, day
        if m[2]:
            month = int(m[2])
            return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    except (ValueError, OverflowError):
        return None


def _date_range(key: str, value: str) -> tuple[dt.date | None, dt.date | None] | None:
    """(since, until) of one date filter, or None when the value is not understood."""
    try:
        if key == "date" and ".." in value:
            start, _, end = value.partition("..")
            a = _period(start) if start else None
            b = _period(end) if end else None
            if (start and not a) or (end and not b) or not (a or b):
                return None
            return (a[0] if a else None), (b[1] if b else None)
        p = _period(value)
        if p is None:
            return None
        first, last = p
        if key == "since":
            return first, None
        if key == "until":
            return None, last
        if key == "after":
            return last + dt.timedelta(days=1), None
        if key == "before":
            return None, first - dt.timedelta(days=1)
        if key == "year" and _DATE.fullmatch(value) and "-" not in value:
            return first, last
        if key == "date":
            return first, last
    except OverflowError:
        return None
    return None


class _Builder:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.terms: dict[str, None] = {}
        self.phrases: dict[str, None] = {}
        self.exclude: dict[str, None] = {}
        self.authors: dict[str, None] = {}
        self.categories: dict[str, None] = {}
        self.since: dt.date | None = None
        self.until: dt.date | None = None

    def plain(self, token: str) -> None:
        """Text read as words."""
        self.text.append(token)
        for w in words(token):
            if len(self.terms) < MAX_TERMS:
                self.terms.setdefault(w, None)

    def phrase(self, token: str) -> None:
        ws = words(token)[:MAX_PHRASE_WORDS]
        if not ws:
            return
        self.text.append(" ".join(token.split()))
        if len(ws) == 1:
            if len(self.terms) < MAX_TERMS:
                self.terms.setdefault(ws[0], None)
        elif len(self.phrases) < MAX_PHRASES:
            self.phrases.setdefault(" ".join(ws), None)

    def negated(self, token: str) -> None:
        ws = words(token)[:MAX_PHRASE_WORDS]
        if ws and len(self.exclude) < MAX_EXCLUDE:
            self.exclude.setdefault(" ".join(ws), None)

    def filter(self, key: str, value: str, quoted: bool) -> bool:
        """Apply a `key:value` filter; False when it is not one (the caller reads it as words)."""
        if key in _AUTHOR_KEYS:
            ws = words(value)[:MAX_PHRASE_WORDS]
            if not ws or len(self.authors) >= MAX_AUTHORS:
                return False
            self.authors.setdefault(" ".join(ws), None)
            return True
        if quoted:
            return False
        if key in _CATEGORY_KEYS:
            cat = value.lower()
            if not _CATEGORY.fullmatch(cat) or len(self.categories) >= MAX_CATEGORIES:
                return False
            self.categories.setdefault(cat, None)
            return True
        if key in _DATE_KEYS:
            rng = _date_range(key, value)
            if rng is None:
                return False
            since, until = rng
            if since and (self.since is None or since > self.since):
                self.since = since
            if until and (self.until is None or until < self.until):
                self.until = until
            return True
        return False

    def build(self, raw: str) -> Query:
        return Query(
            raw=raw,
            text=" ".join(" ".join(self.text).split()),
            terms=tuple(self.terms),
            phrases=tuple(self.phrases),
            exclude=tuple(self.exclude),
            authors=tuple(self.authors),
            categories=tuple(self.categories),
            since=self.since,
            until=self.until,
        )


def parse(raw: str) -> Query:
    """Read a search-box query (see the module docstring). Never raises."""
    raw = raw if isinstance(raw, str) else str(raw or "")
    b = _Builder()
    for m in _TOKEN.finditer(clean(raw)):
        if m["stray"]:
            continue  # an unbalanced quote: what follows is plain words
        neg, key, quoted, bare = m["neg"], m["key"], m["quoted"], m["bare"]
        value = quoted if quoted is not None else bare
        token = m[0][len(neg) :]
        if key:
            if not neg and b.filter(key.lower(), value, quoted is not None):
                continue
            b.plain(token)  # an unknown prefix, a bad value, or a negated filter: words
        elif neg:
            b.negated(value)
        elif quoted is not None:
            b.phrase(value)
        else:
            b.plain(value)
    return b.build(raw)


# -- where a query's words occur in a text (for highlighting) ---------------------------------


@functools.lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A rough stem: accents and case folded, plural and -ed/-ing endings removed (close to the
    first step of Porter's stemmer, which the engines use), so "Models" and "modeling" meet."""
    w = "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))
    if len(w) <= 2:
        return w
    if w.endswith("sses") or w.endswith("ies"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    for suffix in ("ingly", "edly", "ing", "ed"):
        base = w[: -len(suffix)]
        if w.endswith(suffix) and len(base) >= 2 and any(c in "aeiouy" for c in base):
            w = base
            if w.endswith(("at", "bl", "iz")):
                w += "e"
            elif w[-1] == w[-2] and w[-1] not in "aeioulsz":
                w = w[:-1]
            break
    if len(w) > 2 and w.endswith("y") and any(c in "aeiou" for c in w[:-1]):
        w = w[:-1] + "i"
    if len(w) > 2 and w.endswith("e"):
        w = w[:-1]
    return w


def spans(q: Query, text: str) -> list[tuple[int, int]]:
    """(start, end) of the query's terms and phrases in `text`, in order, overlaps merged."""
    singles = {stem(t) for t in q.content_terms}
    phrases = [tuple(stem(w) for w in p.split()) for p in q.phrases]
    if not (singles or phrases) or not text:
        return []
    toks = [(m.start(), m.end(), stem(m[0])) for m in _WORD.finditer(text) if len(m[0]) <= MAX_WORD]
    found = []
    for i, (start, end, st) in enumerate(toks):
        if st in singles:
            found.append((start, end))
        for ph in phrases:
            if st == ph[0] and i + len(ph) <= len(toks) and all(toks[i + j][2] == w for j, w in enumerate(ph)):
                found.append((start, toks[i + len(ph) - 1][1]))
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
