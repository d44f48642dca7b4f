"""Abstracts as plain sentences: LaTeX and markup turned into readable text, then split where sentences end.

Pure functions for the TL;DR and keyphrases (docs/summaries.md): `plain_text` drops what a reader should not
see on a card (`$`, `\\textbf{}`, `~`, tags, entities) and keeps what the source meant (accents, Greek letters,
simple operators as Unicode); `split_sentences` knows the abbreviations of papers ("e.g.", "et al.", "Fig. 2",
"Qwen2.5") and the sentences glued by a missing space ("scenarios.We"); `is_english` says whether an English
model and English stop words may judge the text.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Accents written the TeX way: \"o, \'{e}, {\`a}, \^i, \~n, \c{c}, \v{s}, \u{a}, \H{o}, \={a}, \.{z}.
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "c": "\u0327",
    "v": "\u030c",
    "u": "\u0306",
    "H": "\u030b",
    "=": "\u0304",
    ".": "\u0307",
    "r": "\u030a",
}
_ACCENT = re.compile(r"\{?\\([\"'`^~=.]|[cvuHr](?=[{ ]))\s*\{?\\?([A-Za-z])\}?\}?")
_SYMBOLS = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "θ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "times": "×",
    "cdot": "·",
    "pm": "±",
    "approx": "≈",
    "sim": "~",
    "simeq": "≃",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "ll": "≪",
    "gg": "≫",
    "infty": "∞",
    "rightarrow": "→",
    "to": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "mapsto": "↦",
    "in": "∈",
    "sum": "Σ",
    "prod": "Π",
    "partial": "∂",
    "nabla": "∇",
    "sqrt": "√",
    "ell": "ℓ",
    "dagger": "†",
    "circ": "°",
    "degree": "°",
    "textdegree": "°",
    "%": "%",
    "&": "&",
    "_": "_",
    "#": "#",
    "$": "$",
    "{": "{",
    "}": "}",
    "textasciitilde": "~",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "textendash": "–",
    "textemdash": "—",
    "S": "§",
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
}
_FUNCTIONS_TEXT = "log ln exp sin cos tan max min arg argmax argmin lim sup inf det dim mod Pr"
_FUNCTIONS = frozenset(_FUNCTIONS_TEXT.split())
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_WRAPPERS = re.compile(
    r"\\(?:text(?:bf|it|tt|sc|sf|rm|up|normal)?|emph|mathrm|mathbf|mathit|mathsf|mathtt|mathcal|mathbb|"
    r"mathfrak|mathscr|boldsymbol|bm|operatorname|underline|overline|hat|tilde|bar|vec|widehat|widetilde|"
    r"textsuperscript|textsubscript|mbox|hbox|url|footnotesize|small|large|Large)\s*\{([^{}]*)\}"
)
_HREF = re.compile(r"\\href\s*\{[^{}]*\}\s*\{([^{}]*)\}")
_DROPPED = re.compile(r"\\(?:cite[tp]?|ref|eqref|label|footnote|vspace|hspace)\s*\{[^{}]*\}")
_COMMAND = re.compile(r"\\(?:([A-Za-z]+)\s?|([%&_#${}]))")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_SCRIPT = re.compile(r"([\^_])\{([^{}]*)\}")


def _math(match: re.Match[str]) -> str:
    body = next(g for g in match.groups() if g is not None)
    if not re.search(r"[\\^_{}=<>]", body) and len(body.split()) > 3:
        return match.group(0)  # "$5 million ... $10": dollars, not a formula
    body = _SCRIPT.sub(lambda m: m.group(1) + m.group(2), body)  # 10^{-3} -> 10^-3
    return f" {body.strip()} " if match.group(0).startswith(("$$", "\\[")) else body.strip()


def _command(match: re.Match[str]) -> str:
    name = match.group(1) or match.group(2)
    if name in _SYMBOLS:
        return _SYMBOLS[name] + (" " if match.group(0).endswith(" ") else "")
    if name in _FUNCTIONS:
        return name + " "
    return ""  # an unknown command: its name means nothing to a reader (\left, \quad, \displaystyle...)


def plain_text(text: str) -> str:
    """`text` as a reader should see it on a card: one line, no LaTeX or HTML markup, math as plain symbols."""
    if not text:
        return ""
    text = html.unescape(_TAG.sub("", text)).replace("\\$", "\x00")  # an escaped dollar is no formula
    text = _ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)]), text)
    text = _MATH.sub(_math, text)
    for _ in range(3):  # nested wrappers: \textbf{\emph{x}}
        text = _HREF.sub(r"\1", text)
        text = _DROPPED.sub("", text)
        text = _WRAPPERS.sub(r"\1", text)
    text = text.replace("\\\\", " ")
    text = _COMMAND.sub(_command, text)
    text = text.replace("---", "—").replace("--", "–").replace("``", "“").replace("''", "”")
    text = re.sub(r"(?<=[\w.,])~(?=[\w\\])", " ", text)  # Stable Audio~3: a non-breaking space (~3x stays)
    text = re.sub(r"(?<![\w\\])\{([^{}]*)\}", r"\1", text)  # {BERT}: braces that only protect case
    text = re.sub(r"\s+", " ", text.replace("\x00", "$")).strip()
    return re.sub(r"\s+([,.;:!?)])", r"\1", text).replace("( ", "(")


# Words after which a full stop does not end a sentence (lower-cased, without their final dot).
_ABBREVIATIONS_TEXT = (
    "e.g i.e cf vs etc al fig figs eq eqs sec secs tab tabs ref refs approx resp no nos vol pp ch app appx "
    "dr mr mrs ms prof st jr inc ltd co corp dept univ est avg max min w.r.t a.k.a viz incl def thm lem prop "
    "u.s e.u jan feb mar apr jun jul aug sep sept oct nov dec"
)
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
_END = re.compile(r"([.!?…]+[\"'”’)\]]*)(\s+)(?=[\"'“‘(\[]?[A-Z0-9\u0370-\u03ff\u0400-\u04ff])")
_GLUED = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z])")  # "scenarios.We": a sentence without its space
_CJK_END = re.compile(r"(?<=[。！？])")


def split_sentences(text: str) -> list[str]:
    """The sentences of plain text, in order, each stripped (no empty ones)."""
    text = " ".join(text.split())
    if not text:
        return []
    text = _GLUED.sub(" ", text)
    pieces: list[str] = []
    start = 0
    for match in _END.finditer(text):
        before = text[start : match.start()].rsplit(" ", 1)[-1]
        word = before.lower().lstrip("([\"'“")
        if (
            word in _ABBREVIATIONS
            or re.fullmatch(r"[A-Za-z]", word)
            or (word and re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))
        ):
            continue  # "e.g. GPT-4", "et al. (2024)", "J. Smith", "i.e. X"
        pieces.append(text[start : match.end(1)])
        start = match.end()
    pieces.append(text[start:])
    out = []
    for piece in pieces:
        out.extend(p.strip() for p in _CJK_END.split(piece) if p.strip())
    return out


_ENGLISH_TEXT = (
    "the of and to in a is that for on with as by we this are be from an our which at it can or these its "
    "their than has have not but more while also such both into over between"
)
_ENGLISH = frozenset(_ENGLISH_TEXT.split())


def is_english(text: str) -> bool:
    """Whether `text` reads as English: mostly Latin letters, and enough common English words."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    if sum(c.isascii() for c in letters) < 0.8 * len(letters):
        return False
    words = re.findall(r"[A-Za-z]+", text.lower())
    if len(words) < 20:
        return True  # too short to tell: a title-like fragment in Latin letters
    return sum(w in _ENGLISH for w in words) >= 0.12 * len(words)
