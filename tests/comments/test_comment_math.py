"""Math in comments (comments/markdown.py): `$...$` and `$$...$$` as MathML, read the way pandoc reads them so
that prices stay prices; code keeps its dollars; a formula that does not parse stays as typed; nothing a
formula says becomes markup."""

from __future__ import annotations

import time

import pytest
from lxml import html

from dailypapers.comments.markdown import MAX_BODY, render_markdown
from dailypapers.sources.mathml import MATH_TAGS


def assert_safe(out: str) -> None:
    allowed = {"div", "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", *MATH_TAGS}
    for el in html.fragment_fromstring(out, create_parent="div").iter():
        assert isinstance(el.tag, str) and el.tag in allowed, (el.tag, out)
        for attr, value in el.attrib.items():
            assert attr in {"href", "rel", "start", "display", "mathvariant", "stretchy", "fence", "form"} or (
                attr in {"lspace", "rspace", "width", "displaystyle", "scriptlevel", "accent", "movablelimits"}
            ), (attr, out)
            assert "javascript" not in value.lower()
    assert "<script" not in out.lower() and "<img" not in out.lower()


def test_formulas_render_as_mathml() -> None:
    out = render_markdown("Nice: $x^2$, and $$\\sum_i x_i$$ here")
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in out and '<math display="block">' in out
    assert '<math display="inline">' in out and "$" not in out
    assert_safe(out)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("costs $5 and $10", "<p>costs $5 and $10</p>"),  # no formula: a closing `$` needs no space before it
        ("$5-$10", "<p>$5-$10</p>"),  # nor a digit after it
        ("costs $5, or \\$3", "<p>costs $5, or $3</p>"),  # an escaped dollar is a dollar
        ("$ x $", "<p>$ x $</p>"),  # a space just inside: not a formula
        ("`$y$` and\n\n```\n$z$\n```", "<p><code>$y$</code> and</p>\n<pre><code>$z$\n</code></pre>"),
        ("$x^$ stays", "<p>$x^$ stays</p>"),  # does not parse: as typed
        ("$\\frac{a}$ too", "<p>$\\frac{a}$ too</p>"),
    ],
)
def test_prices_code_and_what_does_not_parse_stay_as_typed(body: str, shown: str) -> None:
    assert render_markdown(body) == shown


def test_a_formula_is_not_markdown() -> None:
    out = render_markdown("*a* $b*c*d$ *e* and $a_1 + b_2$ [x](https://e.org)")
    assert out.count("<em>") == 2 and "<msub>" in out and 'href="https://e.org"' in out


@pytest.mark.parametrize(
    "body",
    [
        r"$\href{javascript:alert(1)}{x}$ [y](javascript:alert(1))",
        r"$\text{<script>alert(1)</script>}$ and $\text{<img src=x onerror=alert(1)>}$",
        r"$\style{color:red}{x}$ $\class{a}{b}$ $\color{red} c$",
        "$x$</math><script>alert(1)</script>",
        r"$\text{&#x3C;script&#x3E;}$",
    ],
)
def test_formulas_cannot_inject_markup(body: str) -> None:
    assert_safe(render_markdown(body))


def test_many_dollars_stay_fast() -> None:
    started = time.perf_counter()
    for body in ["$" * MAX_BODY, "$x^2$ " * 1600, "$" + "{" * 4000 + "$", "$a " * 3000]:
        render_markdown(body[:MAX_BODY])
    assert time.perf_counter() - started < 3
