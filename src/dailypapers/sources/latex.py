"""The LaTeX in arXiv's titles, abstracts and names, taken apart into pieces a page can show.

Authors write their metadata in TeX: `$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]` formulas, text macros
(`\\textbf{Knowing--Using Gap}`, `\\emph{}`, `Stable Audio~3`, `--`, `\\&`), accents (`Bal\\'azs`, `{\\"o}`),
and now and then markup that TeX itself would refuse. `pieces` splits such a text into text (macros and
accents decoded, with the styles the macros ask for), formulas (their TeX, for `sources.mathml`) and links,
each with where it came from, so that marks (search highlights) and cuts (snippets) can be placed on the
source. Nothing is ever lost: markup that does not parse stays as its source text. `plain_text` is the text
for places that show no markup (a page's <title>, Atom, mail). Pure: no database, no network.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace

from latex2mathml.symbols_parser import convert_symbol

from dailypapers.sources.mathml import MAX_FORMULA, formula_mathml, formula_text
from dailypapers.sources.tex_tables import ACCENTS, DECLARATIONS, LETTERS, MATH_ARGS, STYLES, SYMBOLS, WORDS

MAX_TEXT = 20_000  # longer texts are shown as they are
MAX_FORMULAS = 200  # formulas per text; later `$` are plain dollars
MAX_GROUPS = 20  # braces inside one another; deeper ones are shown as braces
MAX_URL = 2000


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of a text. `text[start:end]` of the input is its source."""

    kind: str  # "text", "math" or "url"
    text: str  # text: what to show; math: the formula's TeX, without its delimiters; url: the address
    start: int
    end: int
    exact: bool = False  # a text piece whose text is its source, character for character
    style: tuple[str, ...] = ()  # set by \textbf, \emph, ...: "b", "i", "em", "tt", "sc", "u", "sup", "sub"
    display: bool = False  # math between $$ or \[ \]
    label: str = ""  # url: the link's text, when the source gave one (\href{url}{label})


_TLDS = "com|org|net|edu|gov|io|ai|dev|co|app|page|me|info"
# A bare address readers take for a link: `www.x.org`, `github.com/a/b`, `huggingface.co/x`, `x.github.io`
# (a host alone, `kragent.ai`, may be a name, and stays text).
_BARE = rf"(?:www\.[A-Za-z0-9-]+\.|(?:[A-Za-z0-9-]+\.)+(?:(?:{_TLDS})/|github\.io\b))"
_SPECIAL = re.compile(rf"\\[\\$()\[\]]|\\(?:url|href)\{{|\$\$?|(?<![\w/.@:%-])(?:(?i:https?://)|(?P<bare>{_BARE}))")
_URL = re.compile(r"""(?i:https?://)[A-Za-z0-9][^\s<>"'{}|\\^`$]*""")
_BARE_URL = re.compile(rf"""{_BARE}[^\s<>"'{{}}|\\^`$]*""")
_TRAILING = ".,;:!?'\"*"
_PAIRS = {")": "(", "]": "["}
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BRACES = re.compile(r"\\.|[{}]", re.DOTALL)
_TEXT_SPECIAL = re.compile(r"\\|[{}~]|-{2,3}|``|''")
_WORD = re.compile(r"[A-Za-z]{1,40}")
_LETTER = re.compile(r"[^\W\d_]")
_DOTLESS = re.compile(r"\\[ij](?![A-Za-z])")
_MATHY = re.compile(r"[\\^_{}=<>]")
_GROUP = re.compile(r"\{[^{}]*\}")
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){3}(?![A-Za-z])")
_SCRIPT = re.compile(r"\\[A-Za-z]+|[A-Za-z0-9]")


def _escaped(text: str, i: int) -> bool:
    n = 0
    while i - n > 0 and text[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _close(text: str, delim: str, start: int) -> tuple[int, bool]:
    """Where the formula opened before `start` closes with `delim` (-1: nowhere), and whether it holds
    formulas of its own: unescaped, within MAX_FORMULA characters, not past a blank line (as in TeX). A `$`
    inside a brace group (`$\\textbf{2.5$\\times$ lower}$`, as Hugging Face's abstracts have it) does not
    close the formula when a `$` after the group does."""
    limit = min(len(text), start + MAX_FORMULA + len(delim))
    first, nested, depth, pos = -1, False, 0, start
    i = text.find(delim, start, limit)
    while i != -1:
        if not (delim[0] == "$" and _escaped(text, i)):
            depth += _depth(text, pos, i)
            pos = i
            if depth <= 0 or delim != "$":
                break
            first, nested = (i if first == -1 else first), True
        i = text.find(delim, i + 1, limit)
    if nested and (i == -1 or sum(text[j] == "$" and not _escaped(text, j) for j in range(start, i)) % 2):
        i, nested = first, False  # `$\\text{a$x}$`: the first `$` after all
    if i == -1 or i == start or _BLANK_LINE.search(text, start, i) or not text[start:i].strip():
        return -1, False
    return i, nested


def _depth(text: str, start: int, end: int) -> int:
    """How many more `{` than `}` (unescaped) there are in `text[start:end]`."""
    return sum(1 if m.group() == "{" else -1 for m in _BRACES.finditer(text, start, end) if m.group() in "{}")


def _currency(text: str, body: str, end: int) -> bool:
    """`$5 and $10`, `$5-$10`: dollars before amounts, not a formula (`0.87$\\pm$0.01` is one)."""
    after = text[end + 1 : end + 2]
    return after.isdigit() and (body[-1].isspace() or body[0].isdigit() and not _MATHY.search(body))


def _prose(body: str) -> bool:
    """Four words in a row outside braces: text between two dollars that do not pair (`\\cal{O}(x)$ in
    deeply inelastic scattering off targets at order $`), not a formula."""
    for _ in range(4):
        body, n = _GROUP.subn(" ", body)
        if not n:
            break
    return bool(_PROSE.search(body))


def _link(url: str, bare: bool = False) -> str:
    while url and (url[-1] in _TRAILING or url[-1] in _PAIRS and url.count(url[-1]) > url.count(_PAIRS[url[-1]])):
        url = url[:-1]
    return url if (_BARE_URL if bare else _URL).fullmatch(url) and len(url) <= MAX_URL else ""


def _group_end(text: str, start: int) -> int:
    """The index of the `}` closing the `{` at `start` (nested braces counted), or -1."""
    depth = 0
    for m in _BRACES.finditer(text, start, min(len(text), start + MAX_URL)):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


def _command_link(text: str, m: re.Match[str], urls: bool) -> Piece | None:
    """`\\url{address}` or `\\href{address}{label}` as a link (or text, where links are not wanted)."""
    close = text.find("}", m.end(), m.end() + MAX_URL)
    if close == -1:
        return None
    url, end, label = text[m.end() : close].strip(), close + 1, ""
    if m.group().startswith("\\href"):
        if not text.startswith("{", end) or (label_end := _group_end(text, end)) == -1:
            return None
        label, end = plain_text(text[end + 1 : label_end]), label_end + 1
    if urls and _link(url) == url:
        return Piece("url", url, m.start(), end, label=label)
    return Piece("text", label or url, m.start(), end)


def _spans(text: str, urls: bool) -> list[Piece]:
    """The formulas and links of a text, in order."""
    out: list[Piece] = []
    pos, formulas, unwrapped = 0, 0, set()
    while m := _SPECIAL.search(text, pos):
        token, i = m.group(), m.start()
        pos = m.end()
        if i in unwrapped:  # the closing `$` of a formula taken as text
            out.append(Piece("text", "", i, i + 1))
            pos = i + 1
        elif token in ("\\\\", "\\$", "\\)", "\\]"):
            continue
        elif token.startswith("\\url") or token.startswith("\\href"):
            piece = _command_link(text, m, urls)
            if piece:
                out.append(piece)
                pos = piece.end
        elif m.group("bare") or token[0].lower() == "h":
            bare = bool(m.group("bare"))
            url = _link(u.group(), bare) if (u := (_BARE_URL if bare else _URL).match(text, i)) else ""
            if urls and url:
                out.append(Piece("url", ("https://" if bare else "") + url, i, i + len(url), label=url))
                pos = i + len(url)
            elif bare:
                pos = i + 1
        elif formulas < MAX_FORMULAS:
            closing = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}[token]
            end, nested = _close(text, closing, m.end())
            body = text[m.end() : end]
            if end != -1 and closing == "$" and _currency(text, body, end):
                pos = end + 1  # both dollars are prices
                continue
            if end == -1 or _prose(body):
                pos = i + 1  # an unpaired `$$` may still open a `$` formula
                continue
            if nested:  # `$\\textbf{2.5$\\times$ lower cost}$`: text with formulas in it
                out.append(Piece("text", "", i, m.end()))
                unwrapped.add(end)
                continue
            display = token in ("$$", "\\[")
            out.append(Piece("math", body, i, end + len(closing), display=display))
            formulas += 1
            pos = end + len(closing)
    return out


def _braces(text: str, spans: list[Piece]) -> dict[int, int]:
    """Each balanced `{` outside formulas and links -> its `}` (too deep ones are left out)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    k = 0
    for m in _BRACES.finditer(text):
        i = m.start()
        while k < len(spans) and spans[k].end <= i:
            k += 1
        if k < len(spans) and spans[k].start <= i:
            continue
        if m.group() == "{":
            stack.append(i if len(stack) < MAX_GROUPS else -1)
        elif m.group() == "}" and stack:
            opened = stack.pop()
            if opened != -1:
                pairs[opened] = i
    return pairs


class _Reader:
    """Text mode: macros, accents, groups and ligatures between the formulas and links."""

    def __init__(self, text: str, pairs: dict[int, int], formulas: int) -> None:
        self.text, self.pairs, self.closers = text, pairs, set(pairs.values())
        self.out: list[Piece] = []
        self.frames: list[tuple[int, tuple[str, ...]]] = []  # open groups: (where they close, their style)
        self.base: tuple[str, ...] = ()
        self.formulas = formulas
        self.stop = len(text)  # where the next formula or link starts

    @property
    def style(self) -> tuple[str, ...]:
        return self.frames[-1][1] if self.frames else self.base

    def with_style(self, name: str) -> tuple[str, ...]:
        return self.style + (name,) if name and name not in self.style else self.style

    def emit(self, text: str, start: int, end: int, exact: bool = False) -> None:
        self.out.append(Piece("text", text, start, end, exact=exact, style=self.style))

    def read(self, spans: list[Piece]) -> list[Piece]:
        text, pos = self.text, 0
        for span in [*spans, None]:
            stop = self.stop = span.start if span else len(text)
            while pos < stop:
                m = _TEXT_SPECIAL.search(text, pos, stop)
                upto = m.start() if m else stop
                if upto > pos:
                    self.emit(text[pos:upto], pos, upto, exact=True)
                pos = min(self.special(m), stop) if m else stop
            if span:
                self.out.append(replace(span, style=self.style))
                pos = span.end
        return self.out

    def special(self, m: re.Match[str]) -> int:
        token, i, text = m.group(), m.start(), self.text
        if token == "{" and i in self.pairs:
            self.frames.append((self.pairs[i], self.style))
        elif token == "}" and i in self.closers:
            if self.frames and self.frames[-1][0] == i:
                self.frames.pop()
        elif token == "~" and 0 < i < len(text) - 1 and not text[i - 1].isspace() and not text[i + 1].isspace():
            self.emit("\u00a0", i, i + 1)
        elif token in ("--", "---", "``", "''"):
            self.emit({"--": "–", "---": "—", "``": "“", "''": "”"}[token], i, m.end())
        elif token == "\\":
            return self.command(i)
        else:
            self.emit(token, i, m.end(), exact=True)
        return m.end()

    def skip_spaces(self, j: int) -> int:
        while j < self.stop and self.text[j] in " \t\n":
            j += 1
        return j

    def command(self, i: int) -> int:
        text = self.text
        word = _WORD.match(text, i + 1, self.stop)
        if not word:
            c = text[i + 1 : min(i + 2, self.stop)]
            if c in ACCENTS and (end := self.accent(i, i + 2, ACCENTS[c])):
                return end
            if c and c in SYMBOLS:
                self.emit(SYMBOLS[c], i, i + 2)
                return i + 2
            if _LETTER.fullmatch(c):  # `St\\ütz`: an accent already applied, its command left over
                self.emit(c, i, i + 2)
                return i + 2
            self.emit(text[i : i + 2], i, i + 2, exact=True)
            return i + 2
        name, end = word.group(), word.end()
        if name in STYLES:
            j = self.skip_spaces(end)
            if j in self.pairs:
                self.frames.append((self.pairs[j], self.with_style(STYLES[name])))
                return j + 1
            return end
        if name in DECLARATIONS:
            style = self.with_style(DECLARATIONS[name]) if DECLARATIONS[name] else ()
            if self.frames:
                self.frames[-1] = (self.frames[-1][0], style)
            else:
                self.base = style
            return self.skip_spaces(end)
        if len(name) == 1 and name in ACCENTS and (after := self.accent(i, end, ACCENTS[name])):
            return after
        if name in LETTERS:
            self.emit(LETTERS[name], i, end)
            return self.skip_spaces(end)
        if name in WORDS:
            self.emit(WORDS[name], i, end)
            return end
        if self.formulas < MAX_FORMULAS and (name in MATH_ARGS or convert_symbol("\\" + name)):
            self.formulas += 1  # \alpha, \tilde{\pi}_w, \mathcal{O} outside $...$
            end = self.math_end(i, name, end)
            self.out.append(Piece("math", text[i:end], i, end, style=self.style))
            return end
        j = self.skip_spaces(end)  # a command we do not know: its source, with its {argument}
        if j in self.pairs and self.pairs[j] < self.stop and self.pairs[j] - i <= 200:
            end = self.pairs[j] + 1
        self.emit(text[i:end], i, end, exact=True)
        return end

    def math_end(self, i: int, name: str, end: int) -> int:
        """Where a math command met in text ends: with its arguments and its sub- and superscripts, when the
        formula so made parses (else the command alone)."""
        text, j = self.text, end
        for _ in range(MATH_ARGS.get(name, 0)):
            if j in self.pairs and self.pairs[j] < self.stop:
                j = self.pairs[j] + 1
            elif arg := _SCRIPT.match(text, j, self.stop):
                j = arg.end()
        while j + 1 < self.stop and text[j] in "_^":
            if j + 1 in self.pairs and self.pairs[j + 1] < self.stop:
                j = self.pairs[j + 1] + 1
            elif script := _SCRIPT.match(text, j + 1, self.stop):
                j = script.end()
            else:
                break
        return j if j == end or formula_mathml(text[i:j]) is not None else end

    def accent(self, i: int, after: int, mark: str) -> int:
        """An accented letter: `\\'a`, `\\'{a}`, `\\v{S}`, `\\c c`, `\\"{\\i}`; 0 when there is none."""
        text = self.text
        j = self.skip_spaces(after)
        if j in self.pairs:
            arg, end = text[j + 1 : self.pairs[j]].strip(), self.pairs[j] + 1
        elif j >= self.stop:
            return 0
        elif _DOTLESS.match(text, j, self.stop):
            arg, end = text[j + 1], j + 2
        else:
            arg, end = text[j], j + 1
        if _DOTLESS.fullmatch(arg):
            arg = arg[1]
        if not _LETTER.fullmatch(arg) or end > self.stop:
            return 0
        self.emit(unicodedata.normalize("NFC", arg + mark), i, end)
        return end


def _tex(text: str) -> bool:
    """Whether `text` may hold TeX at all (most titles and abstracts do not): substring tests, fast."""
    return any(c in text for c in "\\$~{}") or "--" in text or "``" in text or "''" in text


def pieces(text: str, *, urls: bool = False) -> list[Piece]:
    """The text, formulas and (with `urls`) links of `text`, in order, covering all of it."""
    if len(text) > MAX_TEXT or not urls and not _tex(text):
        return [Piece("text", text, 0, len(text), exact=True)]
    spans = _spans(text, urls)
    reader = _Reader(text, _braces(text, spans), sum(1 for p in spans if p.kind == "math"))
    return reader.read(spans)


@functools.lru_cache(maxsize=1 << 15)
def plain_text(text: str) -> str:
    """The text without markup: macros and accents decoded, formulas as readable text (`$R^2$` -> `R²`,
    their source when they do not parse), whitespace collapsed. Not HTML: escape it where it goes."""
    if not text or not _tex(text):
        return " ".join((text or "").split())
    out = []
    for p in pieces(text, urls=True):
        if p.kind == "math":
            out.append(formula_text(p.text))
        elif p.kind == "url" and p.label and p.label not in (p.text, p.text.removeprefix("https://")):
            out.append(f"{p.label} ({p.text})")
        else:
            out.append(p.text)
    return " ".join("".join(out).split())
