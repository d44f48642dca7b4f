"""sources/mathml.py: one TeX formula as MathML a page can hold (only the allow-listed presentation elements
and attributes, all text escaped), as readable text, or None when it cannot be shown. Pure."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from dailypapers.sources.mathml import (
    MATH_ATTRIBUTES,
    MATH_TAGS,
    MAX_FORMULA,
    MAX_NESTING,
    formula_mathml,
    formula_text,
    safe_math_attribute,
)


def parsed(mathml: str | None) -> ElementTree.Element:
    """The formula as XML (it must be well-formed), every element and attribute on the allow-list."""
    assert mathml is not None
    root = ElementTree.fromstring(mathml)
    assert root.tag == "math"
    for el in root.iter():
        assert el.tag in MATH_TAGS, el.tag
        for attr, value in el.attrib.items():
            assert safe_math_attribute(el.tag, attr, value) == value, (el.tag, attr, value)
    return root


@pytest.mark.parametrize(
    ("tex", "has"),
    [
        ("x^2", "<msup><mi>x</mi><mn>2</mn></msup>"),
        (r"\frac{a}{b}", "<mfrac>"),
        (r"\sqrt[3]{x}", "<mroot>"),
        (r"\mathbb{R}^d", "<mi>ℝ</mi>"),
        (r"\R^n \times \N", "<mi>ℕ</mi>"),  # shorthands papers define for themselves
        (r"\mathcal{O}(n \log n)", "<mi>𝒪</mi>"),
        (r"\begin{pmatrix}a&b\\c&d\end{pmatrix}", "<mtable>"),
        (r"\hat{x} + \tilde{y}", "<mover"),
        (r"a < b \land c > d", "<mo>&lt;</mo>"),
        (r"\text{if } x", "<mtext>if&#160;</mtext>"),
        (r"\sum_{i=1}^n x_i", "<msubsup><mo>∑</mo>"),
    ],
)
def test_formulas_become_mathml(tex: str, has: str) -> None:
    mathml = formula_mathml(tex)
    parsed(mathml)
    assert mathml is not None and (has in mathml or has in mathml.replace("\u00a0", "&#160;"))
    assert mathml.startswith('<math display="inline">')
    assert str(formula_mathml(tex, display=True)).startswith('<math display="block">')


@pytest.mark.parametrize(
    "tex",
    [
        "x^",  # latex2mathml refuses it
        r"\frac{a}",
        r"\text{a",  # unbalanced: latex2mathml would guess
        "x}",
        r"\begin{matrix} a",
        r"\left( x",
        "{" * (MAX_NESTING + 1) + "x" + "}" * (MAX_NESTING + 1),  # too deep
        r"\frac{1}{" * (MAX_NESTING + 1) + "x" + "}" * (MAX_NESTING + 1),
        "x+" * (MAX_FORMULA // 2 + 1),  # too long
        "",
        "   ",
    ],
)
def test_what_cannot_be_shown_is_none(tex: str) -> None:
    assert formula_mathml(tex) is None
    assert formula_text(tex) == tex.strip()  # plain text falls back to the source


def test_as_deep_as_allowed_still_renders() -> None:
    parsed(formula_mathml("{" * MAX_NESTING + "x" + "}" * MAX_NESTING))
    parsed(formula_mathml(r"\{x\} \left\{ y \right."))  # escaped braces do not nest


@pytest.mark.parametrize(
    "tex",
    [
        r"\text{<script>alert(1)</script>}",
        r"\text{<img src=x onerror=alert(1)>}",
        r"\href{javascript:alert(1)}{x}",
        r"\mathbin{\href{javascript:alert(1)}{+}}",
        r"\style{background:url(https://evil.example)}{x}",
        r"\class{evil}{y} \color{red}{z} \textcolor{red}{w} \colorbox{red}{v}",
        r"\text{&#x3C;script&#x3E;} \text{&#xD800;&#0;&lt;}",
        r"\operatorname{<script>} \mathrm{\"><svg onload=alert(1)>}",
        r"x</math><script>alert(1)</script>",
        r"\text{]]><script>} \mbox{<!-- x -->}",
    ],
)
def test_nothing_in_a_formula_becomes_markup(tex: str) -> None:
    mathml = formula_mathml(tex)
    if mathml is None:
        return
    root = parsed(mathml)
    assert "<script" not in mathml.lower() and "<img" not in mathml.lower() and "<svg" not in mathml.lower()
    assert not {a for el in root.iter() for a in el.attrib} & {"href", "style", "class", "mathcolor", "mathbackground"}
    assert "javascript" not in "".join(v for el in root.iter() for v in el.attrib.values())


def test_the_attribute_allow_list() -> None:
    assert set(MATH_ATTRIBUTES) == set(MATH_TAGS) and MATH_ATTRIBUTES["math"] == {"display"}
    assert safe_math_attribute("mi", "mathvariant", "bold") == "bold"
    assert safe_math_attribute("mspace", "width", "0.167em") == "0.167em"
    assert safe_math_attribute("mi", "href", "https://x.org") is None
    assert safe_math_attribute("mi", "style", "color:red") is None
    assert safe_math_attribute("mi", "mathcolor", "red") is None
    assert safe_math_attribute("mi", "mathvariant", 'bold" onclick="x') is None
    assert safe_math_attribute("mi", "mathvariant", "url(javascript:x)") is None
    assert safe_math_attribute("a", "mathvariant", "bold") is None


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("R^2 = 0.85", "R² = 0.85"),
        (r"\mathcal{O}(n \log n)", "𝒪(n log n)"),
        (r"x_{i}^{2}", "xᵢ²"),
        (r"\frac{1}{2}", "1/2"),
        (r"\frac{a+b}{2}", "(a+b)/2"),
        (r"\sqrt{5}", "√5"),
        (r"360^\circ", "360°"),
        (r"\hat{x}", "x̂"),
        (r"\dot{n}", "ṅ"),  # composed, as text should be
        (r"\begin{pmatrix}a&b\\c&d\end{pmatrix}", "(a, b; c, d)"),
        (r"\text{<b>}", "<b>"),  # plain text, not HTML: escaped where it goes
    ],
)
def test_formulas_as_plain_text(tex: str, text: str) -> None:
    assert formula_text(tex) == text


def test_hostile_formulas_are_refused() -> None:
    for tex in ["{" * 5000 + "x" + "}" * 5000, r"\left(" * 400, "\\" * 999, "^" * 999, "x_" * 499 + "x"]:
        formula_mathml(tex)
        formula_text(tex)
