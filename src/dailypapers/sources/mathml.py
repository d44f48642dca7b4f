"""One TeX formula as MathML that is safe to put into a page, or as readable plain text.

latex2mathml parses the formula; its element tree is then written out here, element by element, keeping
only the presentation MathML on `MATH_TAGS` with the attributes of `MATH_ATTRIBUTES` (values of a few
plain characters), and escaping all text. So nothing the formula says (`\\text{<script>}`, `\\href`,
`\\style`, `\\class`, colours) reaches the page as markup. A formula that cannot be parsed, or that is too
long or too deeply nested, gives None: the caller shows its source instead. Browsers render MathML
natively: no script, no font download.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from xml.etree.ElementTree import Element

from latex2mathml.converter import convert_to_element
from markupsafe import escape

MAX_FORMULA = 1000  # characters of TeX in one formula; longer ones stay source text
MAX_NESTING = 30  # braces or environments inside one another
_MAX_DEPTH = 80  # elements inside one another in the MathML written out

MATH_TAGS = frozenset(
    str.split(
        "math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mover munder munderover "
        "mtable mtr mtd mstyle mpadded mphantom menclose merror"
    )
)
_PRESENTATION = frozenset(
    str.split(
        "mathvariant mathsize displaystyle scriptlevel stretchy fence form accent accentunder lspace rspace "
        "movablelimits largeop minsize maxsize symmetric separator linethickness width height depth voffset "
        "notation linebreak columnalign columnlines columnspacing rowalign rowlines rowspacing frame"
    )
)
_ARITY = {"mfrac": 2, "msup": 2, "msub": 2, "mroot": 2, "mover": 2, "munder": 2, "msubsup": 3, "munderover": 3}
MATH_ATTRIBUTES: dict[str, set[str]] = {tag: set(_PRESENTATION) for tag in MATH_TAGS}
MATH_ATTRIBUTES["math"] = {"display"}
_VALUE = re.compile(r"[A-Za-z0-9.+\- %#]{0,80}")
_CHAR_REF = re.compile(r"&#x([0-9A-Fa-f]{1,6});|&#([0-9]{1,7});")
# Shorthands many papers define for themselves, and that latex2mathml would show as `\R`.
_SHORTHANDS = {
    **{f"\\{c}": f"\\mathbb{{{c}}}" for c in "NZQRC"},
    "\\eps": "\\epsilon",
    "\\E": "\\mathbb{E}",
}
_NESTING = re.compile(r"\\[{}]|\\begin(?![A-Za-z])|\\end(?![A-Za-z])|[{}]")
_SHORTHAND = re.compile(r"\\(?:[NZQRCE]|eps)(?![A-Za-z])")


def safe_math_attribute(tag: str, attr: str, value: str) -> str | None:
    """`value` when `attr` may stay on MathML element `tag` with that value, else None."""
    if attr in MATH_ATTRIBUTES.get(tag, ()) and _VALUE.fullmatch(value):
        return value
    return None


def _unbalanced(tex: str) -> bool:
    """Braces or environments that do not close, or nest deeper than MAX_NESTING: latex2mathml would guess
    (`\\text{a` as "{a"), recurse too deep, or fail; the source is clearer."""
    depth = 0
    for m in _NESTING.finditer(tex):
        depth += 1 if m.group() in ("{", "\\begin") else -1 if m.group() in ("}", "\\end") else 0
        if depth < 0 or depth > MAX_NESTING:
            return True
    return depth != 0


@functools.lru_cache(maxsize=8192)
def _element(tex: str, display: bool) -> Element | None:
    tex = tex.strip()
    if not tex or len(tex) > MAX_FORMULA or _unbalanced(tex):
        return None
    tex = _SHORTHAND.sub(lambda m: _SHORTHANDS[m.group()], tex)
    try:
        return convert_to_element(tex, display="block" if display else "inline")
    except (Exception, RecursionError):  # latex2mathml refuses what it cannot parse in many ways
        return None


def _text(value: str | None) -> str:
    """latex2mathml's text: symbols as numeric character references, what the formula wrote as is."""
    if not value:
        return ""
    return _CHAR_REF.sub(_char, value)


def _char(m: re.Match[str]) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    if code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000 or code > 0x10FFFF:
        return m.group()  # no character a page can hold: the reference stays text
    return chr(code)


def _write(el: Element, out: list[str], depth: int) -> bool:
    tag = el.tag.rpartition("}")[2]
    if tag not in MATH_TAGS or depth > _MAX_DEPTH or _ARITY.get(tag, len(el)) != len(el):
        return False  # `\\frac{a}` makes an mfrac of one child: the source reads better
    attrs = "".join(
        f' {name}="{escape(value)}"'
        for name, value in sorted(el.attrib.items())
        if safe_math_attribute(tag, name, value) is not None
    )
    out.append(f"<{tag}{attrs}>{escape(_text(el.text))}")
    for child in el:
        if not _write(child, out, depth + 1):
            return False
        out.append(str(escape(_text(child.tail))))
    out.append(f"</{tag}>")
    return True


@functools.lru_cache(maxsize=8192)
def formula_mathml(tex: str, display: bool = False) -> str | None:
    """The formula `tex` (without its `$` delimiters) as sanitized MathML, or None when it cannot be shown."""
    el = _element(tex, display)
    if el is None:
        return None
    out: list[str] = []
    if not _write(el, out, 0):
        return None
    return "".join(out)


# Readable text for places that cannot show MathML (a page's <title>, Atom, mail, search snippets).
_SUPERSCRIPT = dict(
    zip("0123456789+-−=()niabcdefghjklmoprstuvwxyz", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻ", strict=True)
)
_SUBSCRIPT = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
_SPACED = set("=≠<>≤≥≈∼≃≅≡≪≫∝→←↔⇒⇐⇔↦⟶∈∉∋⊂⊆⊃⊇⊊")
_ACCENT_MARKS = {"^": "\u0302", "~": "\u0303", "˜": "\u0303", "¯": "\u0304", "―": "\u0305", "→": "\u20d7"}
_ACCENT_MARKS.update({"˙": "\u0307", "¨": "\u0308", "ˇ": "\u030c", "˘": "\u0306", "´": "\u0301", "`": "\u0300"})


def _script(text: str, table: dict[str, str], mark: str) -> str:
    text = text.replace(" ", "")
    if mark == "^" and text in ("∘", "′", "″"):
        return "°" if text == "∘" else text
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return mark + text if len(text) == 1 else f"{mark}({text})"


def _wrap(text: str) -> str:
    return text if len(text) <= 1 or text.isalnum() else f"({text})"


def _plain(el: Element) -> str:
    tag = el.tag.rpartition("}")[2]
    raw = [_plain(child) for child in el]
    kids = [k.strip() for k in raw]
    text = _text(el.text)
    if tag in ("mi", "mn", "mtext", "ms"):
        return f" {text} " if tag == "mi" and len(text) > 1 else text
    if tag == "mo":
        return f" {text} " if text in _SPACED or len(text) > 1 else text
    if tag == "mspace":
        return " "
    if tag == "msup" and len(kids) == 2:
        return kids[0] + _script(kids[1], _SUPERSCRIPT, "^")
    if tag == "msub" and len(kids) == 2:
        return kids[0] + _script(kids[1], _SUBSCRIPT, "_")
    if tag == "msubsup" and len(kids) == 3:
        return kids[0] + _script(kids[1], _SUBSCRIPT, "_") + _script(kids[2], _SUPERSCRIPT, "^")
    if tag == "mfrac" and len(kids) == 2:
        return f"{_wrap(kids[0])}/{_wrap(kids[1])}"
    if tag == "msqrt":
        return "√" + _wrap("".join(kids))
    if tag == "mroot" and len(kids) == 2:
        return _script(kids[1], _SUPERSCRIPT, "^") + "√" + _wrap(kids[0])
    if tag == "mover" and len(kids) == 2:
        mark = _ACCENT_MARKS.get(kids[1])
        if mark and len(kids[0]) == 1:
            return kids[0] + mark
        return kids[0] if mark else kids[0] + _script(kids[1], _SUPERSCRIPT, "^")
    if tag == "munder" and len(kids) == 2:
        return kids[0] + _script(kids[1], _SUBSCRIPT, "_")
    if tag == "munderover" and len(kids) == 3:
        return kids[0] + _script(kids[1], _SUBSCRIPT, "_") + _script(kids[2], _SUPERSCRIPT, "^")
    if tag == "mtr":
        return ", ".join(kids)
    if tag == "mtable":
        return "; ".join(kids)
    return "".join(raw)  # keeps the spaces around operators


@functools.lru_cache(maxsize=8192)
def formula_text(tex: str) -> str:
    """The formula as readable plain text (`R^2 = 0.85` -> `R² = 0.85`), or its source when it cannot be
    parsed."""
    el = _element(tex, False)
    if el is None or formula_mathml(tex) is None:  # what a page would show as source, so does the text
        return tex.strip()
    text = " ".join(_plain(el).split())
    return unicodedata.normalize("NFC", re.sub(r"\( | (?=[),;])", lambda m: m.group().strip(), text))
