"""Names of people and organizations as readers look them up: TeX accents decoded, and one key under which
the spellings of a name meet.

arXiv's metadata (the Kaggle snapshot, OAI-PMH) writes accents in TeX (`Bal\\'azs`, `\\v{S}r\\'amek`,
`{\\O}bro`), Hugging Face and arXiv's Atom API in Unicode (`Balázs`), and people type plain ASCII
(`balazs`). `author_key` maps all of them to `c balazs`: TeX decoded, accents and case dropped,
punctuation turned into spaces. Initials stay initials: "C. Balázs" and "Csaba Balázs" are two keys.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from dailypapers.sources.tex_tables import ACCENTS, LETTERS

MAX_KEY = 200  # store.schema.PaperName.key is VARCHAR(200)
MAX_NAME = 300  # longer names are no one's: a page asked for one answers "not found" without a query

# An accent on a letter: `\'a`, `\'{a}`, `\' a`, `\'{\i}`; accents named by a letter need a brace or a
# space before their letter (`\v{S}`, `\c c`), as in TeX, where `\vS` would be one command.
_ACCENT = re.compile(
    r"""\\(?:([`'^~=."])\s*|([uvHcdkbrt])(?=[\s{]))\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))"""
)
_LETTER = re.compile(r"\\(" + "|".join(sorted(LETTERS, key=len, reverse=True)) + r")(?![A-Za-z])\s*(?:\{\})?")
_SPACES = re.compile(r"\s+")
# What accents do not take apart: letters of their own that readers type as ASCII.
_FOLD = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ȷ": "j", "ŋ": "n"})
_FOLD_MORE = {"æ": "ae", "œ": "oe", "þ": "th"}
_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")


def _accented(m: re.Match[str]) -> str:
    mark = ACCENTS[m.group(1) or m.group(2)]
    letter = m.group(3) or m.group(4)
    if letter.startswith("\\"):
        letter = letter[1]  # an accent over a dotless i or j: the letter itself carries it
    return letter + mark


def tex_to_unicode(text: str) -> str:
    """`Bal\\'azs` -> `Balázs`, `{\\O}bro` -> `Øbro`, `\\v{S}r\\'amek` -> `Šrámek`; other text unchanged."""
    if "\\" not in text and "{" not in text and "~" not in text:
        return text
    out = _ACCENT.sub(_accented, text)
    out = _LETTER.sub(lambda m: LETTERS[m.group(1)], out)
    out = out.replace("\\&", "&").replace("\\ ", " ").replace("~", " ").replace("{", "").replace("}", "")
    return _SPACES.sub(" ", unicodedata.normalize("NFC", out)).strip()


@functools.lru_cache(maxsize=1 << 17)
def author_key(name: str) -> str:
    """The key under which the spellings of a name meet ("" for a name with no letter or digit):
    `Bal\\'azs`, `Balázs`, `BALAZS` and `Bal-azs` all give `balazs`; `C. Balázs` gives `c balazs`."""
    text = tex_to_unicode(name[: MAX_KEY * 2]).casefold()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.translate(_FOLD)
        for letter, plain in _FOLD_MORE.items():
            text = text.replace(letter, plain)
    text = text.translate(_APOSTROPHES)
    text = "".join(c if c.isalnum() else " " for c in text)
    return " ".join(text.split())[:MAX_KEY].rstrip()


def org_key(name: str) -> str:
    """The key of a Hugging Face organization's name (`Qwen`, `qwen`): case and outer spaces dropped."""
    return "".join(c for c in name.strip().casefold() if c.isprintable())[:MAX_KEY]


def keys_of(names: Iterable[str]) -> list[str]:
    """The distinct non-empty author keys of `names`, in order."""
    return [k for k in dict.fromkeys(author_key(n) for n in names) if k]


def most_written(spellings: Iterable[str]) -> str:
    """The spelling of a name written most often (TeX decoded): on a tie, one with accents (which keeps
    more of the name than its ASCII spelling), then the first seen."""
    counts = Counter(tex_to_unicode(s) for s in spellings if s.strip())
    if not counts:
        return ""
    order = {s: i for i, s in enumerate(counts)}
    return max(counts, key=lambda s: (counts[s], not s.isascii(), -order[s]))
