"""The templates' math filters (web/mathtext.py): titles, abstracts, snippets and search highlights with TeX
as MathML, text macros decoded, URLs in abstracts linked, malformed markup shown as its source, nothing unsafe
on the page; on the recorded titles and abstracts, and through the real server on both databases. The TeX
reading itself is tested in tests/sources/test_latex.py and test_mathml.py, comments in
tests/comments/test_comment_math.py."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
from lxml import html
from sqlalchemy import Engine

from dailypapers.comments.markdown import render_markdown
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.search.highlight import highlights
from dailypapers.search.query import parse
from dailypapers.sources import hf_json, kaggle
from dailypapers.sources.latex import MAX_TEXT, pieces, plain_text
from dailypapers.sources.mathml import MATH_ATTRIBUTES, MATH_TAGS, formula_mathml
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts, search_index
from dailypapers.store.db import write_tx
from dailypapers.web.mathtext import abstract_html, marked_html, snippet_html, title_html
from tests.support.accounts import make_user
from tests.support.fixtures import recording
from tests.support.server import serve_app
from tests.support.visitor import Visitor

TEXT_TAGS = {"div", "p", "a", "mark", "b", "i", "em", "code", "u", "sup", "sub", "span"}
KAGGLE = "head200_Sharath-1736_Embedding-VecSearch.jsonl"
HF_DEMO = "ai-weekly-radar_daily_papers_2026-07-09.json"


def records() -> list[PaperRecord]:
    """The recorded papers whose titles and abstracts carry TeX: arXiv's Kaggle snapshot, Hugging Face's."""
    out: list[PaperRecord] = []
    with recording("kaggle_arxiv_snapshot", KAGGLE).open("rb") as fp:
        out += [r for r in kaggle.iter_file(fp, KAGGLE) if isinstance(r, PaperRecord)]
    with recording("hf_daily_papers", HF_DEMO).open("rb") as fp:
        out += [r for r in hf_json.iter_file(fp, HF_DEMO) if isinstance(r, PaperRecord)]
    return out


def by_title(start: str) -> PaperRecord:
    return next(r for r in records() if r.title.startswith(start))


def tree(markup: str) -> html.HtmlElement:
    return html.fragment_fromstring(str(markup), create_parent="div")


def assert_safe(markup: str) -> None:
    """Only the allowed elements and attributes, links to http(s) only, and a page can encode it."""
    str(markup).encode("utf-8")
    for el in tree(markup).iter():
        tag = el.tag.rpartition("}")[2] if isinstance(el.tag, str) else "comment"
        assert tag in TEXT_TAGS | MATH_TAGS, (tag, markup)
        for attr, value in el.attrib.items():
            if tag == "a":
                assert attr in ("href", "rel") and (attr == "rel" or value.startswith(("https://", "http://")))
            elif tag == "span":
                assert (attr, value) == ("class", "sc")
            else:
                assert attr in MATH_ATTRIBUTES.get(tag, ()), (tag, attr, markup)
            assert "javascript" not in value.lower() and "url(" not in value.lower()
    lowered = str(markup).lower()
    assert "<script" not in lowered and "<img" not in lowered and "<style" not in lowered


# The recorded titles and abstracts


def test_titles_of_the_kaggle_snapshot_show_their_math() -> None:
    dyadic = title_html(by_title("From dyadic").title)
    assert dyadic.count("<math") == 2 and "$" not in dyadic and "<mi>Λ</mi>" in dyadic
    assert "<msub>" in dyadic and plain_text(by_title("From dyadic").title) == "From dyadic Λ_α to Λ_α"
    padic = title_html(by_title("$p$-adic").title)
    assert padic.startswith('<math display="inline"><mrow><mi>p</mi></mrow></math>-adic Limit')
    assert plain_text(by_title("Quasi-quartet").title).endswith("CeAg₂Ge₂ single crystal")
    genus = by_title("Computing genus 2")
    assert "<mi>ℚ</mi>" in title_html(genus.title) and "ℚ(√5)" in plain_text(genus.title)
    assert plain_text(by_title("Approximation for extinction").title).endswith("the Gröbner basis")
    assert (
        plain_text(by_title("A transcendental approach").title)
        == "A transcendental approach to Kollár's injectivity theorem"
    )


def test_text_macros_of_a_hugging_face_abstract() -> None:
    paper = next(r for r in records() if "Knowing--Using Gap" in r.abstract)
    out = abstract_html(paper.abstract)
    assert "<b>Knowing–Using Gap</b>" in out and "textbf" not in out
    assert "the Knowing–Using Gap," in plain_text(paper.abstract)
    assert title_html("Stable Audio~3") == "Stable Audio&nbsp;3"
    assert title_html("about ~100 tokens") == "about ~100 tokens"  # not between two words: a tilde
    assert (
        title_html(r"\textsc{AIEV-Instruct} {\bf 98} \emph{x \textit{y}}")
        == '<span class="sc">AIEV-Instruct</span> <b>98</b> <em>x <i>y</i></em>'
    )


def test_real_abstracts_with_prices_and_formulas_in_bold() -> None:
    # shared/data/curation/arxiv_days/2025-12-03.rss.xml.gz, arXiv 2512.02543 (abstract)
    out = abstract_html(
        r"our method matches teacher-level accuracy at $\textbf{2.5$\times$ lower cost}$, reducing per-episode "
        r"costs from \$0.059 to \$0.024."
    )
    assert '<b>2.5<math display="inline"><mrow><mo>×</mo></mrow></math> lower cost</b>' in out
    assert "from $0.059 to $0.024." in out
    # shared/data/curation/arxiv_days/2025-12-11.rss.xml.gz, arXiv 2512.09882 (abstract): dollars, not TeX
    artemis = "certain ARTEMIS variants cost $18/hour versus $60/hour for professional penetration testers."
    assert abstract_html(artemis) == f"<p>{artemis}</p>"
    assert title_html("costs $5 and $10 while $x$ is").count("<math") == 1


def test_every_recorded_title_and_abstract_renders_safely() -> None:
    papers = records()
    formulas = [p.text for r in papers for t in (r.title, r.abstract) for p in pieces(t) if p.kind == "math"]
    assert len(formulas) > 300
    for r in papers:
        for markup in (title_html(r.title), abstract_html(r.abstract), snippet_html(r.abstract)):
            assert_safe(markup)
    parsed = sum(formula_mathml(f) is not None for f in formulas)
    assert parsed / len(formulas) > 0.98


# Formulas that do not parse, and markup that does not balance


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("a $x^$ b", "a $x^$ b"),  # latex2mathml refuses it: the source, with its dollars
        ("costs $5 and more", "costs $5 and more"),  # an unpaired dollar
        (r"$\begin{matrix} a$ b", r"$\begin{matrix} a$ b"),
        (r"$\left( x$", r"$\left( x$"),
        ("{unbalanced and } more}", "unbalanced and  more}"),
        (r"\textbf{never closed", "{never closed"),
        ("$" + "{" * 40 + "x" + "}" * 40 + "$", "$" + "{" * 40 + "x" + "}" * 40 + "$"),  # too deep
        ("$x$ spans a\n\nparagraph $y", "x spans a  paragraph $y"),  # no formula across a blank line
        ("\\", "\\"),
    ],
)
def test_what_does_not_parse_is_shown_as_its_source(source: str, shown: str) -> None:
    out = title_html(source)
    assert_safe(out)
    assert tree(out).text_content() == shown


# Nothing unsafe gets through


@pytest.mark.parametrize(
    "source",
    [
        "$<script>alert(1)</script>$",
        r"$\text{<script>alert(1)</script>}$",
        r"$\text{<img src=x onerror=alert(1)>}$",
        r"$\href{javascript:alert(1)}{x}$",
        r"\href{javascript:alert(1)}{click} \url{javascript:alert(1)}",
        r"\url{ javascript:alert(1) } \href{data:text/html,x}{y}",
        r"$\style{background:url(https://evil.example)}{x}$ $\class{evil}{y}$ $\color{red}{z}$",
        r"$\mathbin{\href{javascript:alert(1)}{+}}$ $\toggle{a}{b}\endtoggle$",
        r"$\text{&#x3C;script&#x3E;}$ $\text{&#xD800;&#0;}$",
        "<img src=x onerror=alert(1)> &lt;script&gt; \"'` </p></math><script>",
        'https://example.org/"onmouseover=alert(1) javascript:alert(1) http://<script>',
        "$x$</math><script>alert(1)</script>$y$",
        r"$\operatorname{<script>}$ $\mathrm{\"><svg onload=alert(1)>}$",
    ],
)
def test_injections_are_inert(source: str) -> None:
    for markup in (title_html(source), abstract_html(source), snippet_html(source, 40), render_markdown(source)):
        assert_safe(markup)


def test_html_in_the_source_is_text() -> None:
    assert title_html("a <b>bold</b> & co") == "a &lt;b&gt;bold&lt;/b&gt; &amp; co"
    assert "&lt;script&gt;" in title_html(r"$\text{<script>}$")


# Links in abstracts


def test_urls_in_abstracts_are_links_without_trailing_punctuation() -> None:
    out = abstract_html(
        "Code: https://github.com/a/b. See (https://en.wikipedia.org/wiki/X_(y)), http://x.org/a?b=1&c=2; "
        r"and \url{https://example.org/~me} or \href{https://example.org/p}{the \emph{page}}, "
        "github.com/c/d, www.e.org and f.github.io. Not kragent.ai, javascript:alert(1) or ftp://x.org/."
    )
    links = [(a.get("href"), a.get("rel"), a.text_content()) for a in tree(out).iter("a")]
    rel = "nofollow noopener"
    assert links == [
        ("https://github.com/a/b", rel, "https://github.com/a/b"),
        ("https://en.wikipedia.org/wiki/X_(y)", rel, "https://en.wikipedia.org/wiki/X_(y)"),
        ("http://x.org/a?b=1&c=2", rel, "http://x.org/a?b=1&c=2"),
        ("https://example.org/~me", rel, "https://example.org/~me"),
        ("https://example.org/p", rel, "the page"),
        ("https://github.com/c/d", rel, "github.com/c/d"),  # bare addresses: linked, shown as written
        ("https://www.e.org", rel, "www.e.org"),
        ("https://f.github.io", rel, "f.github.io"),
    ]
    assert "/b</a>." in out and "_(y)</a>)," in out and "f.github.io</a>. Not" in out
    assert "<a" not in title_html("see https://github.com/a/b")  # titles are links already
    assert "<a" not in snippet_html("see https://github.com/a/b")  # so may cards be


def test_abstract_paragraphs_and_display_math() -> None:
    out = abstract_html("First $x$.\n  Second with $$\\sum_i x_i$$ here.\n\nThird.")
    assert out.count("<p>") == 3 and '<math display="block">' in out
    assert '<math display="inline">' in title_html("$$x$$")  # a title keeps its formulas in the line


# Excerpts and search highlights


def test_a_snippet_never_cuts_a_formula() -> None:
    text = "word " * 57 + r"$\frac{a}{b} + \sqrt{c}$ at the cut, and more words after it."
    assert text.index("$") < 300 < text.rindex("$")
    out = snippet_html(text, 300)
    assert out.endswith("…") and "<mfrac>" in out and "<msqrt>" in out and "$" not in out
    assert snippet_html("short $x$") == 'short <math display="inline"><mrow><mi>x</mi></mrow></math>'
    long = "word " * 57 + "$" + "+".join(f"x_{{{i}}}" for i in range(60)) + "$ and more words after it."
    out = snippet_html(long, 300)  # a long formula across the cut is left out rather than run on
    assert out == "word " * 56 + "word…"
    first = snippet_html("$" + "+".join(f"x_{{{i}}}" for i in range(60)) + "$ " + "word " * 80, 300)
    assert first.startswith("<math") and first.count("<msub>") == 60  # unless it is most of the snippet
    for length in range(5, 120, 7):  # wherever the cut, a snippet is well-formed
        assert_safe(snippet_html(r"A $\mathcal{O}(n \log n)$ bound \textbf{for all $k$} at https://x.org " * 3, length))


def test_search_highlights_compose_with_math() -> None:
    title = r"Evidence for an excitonic insulator phase in 1T-TiSe$_{2}$ and $\alpha$ decay"
    abstract = "We study the " + "long text " * 30 + r"formula $\frac{a}{b}$ and excitonic insulator " + "more " * 60
    marks = highlights(parse("excitonic insulator alpha"), {1: (title, abstract)})[1]
    shown = marked_html(marks.title, title)
    assert "<mark>excitonic</mark> <mark>insulator</mark>" in shown and "<msub>" in shown
    assert "<mark><math" in shown  # \alpha matched inside a formula: the formula is marked whole
    snippet = marked_html(marks.snippet, abstract)
    assert snippet.startswith("…") and snippet.endswith("…") and "<mfrac>" in snippet
    assert "<mark>excitonic</mark>" in snippet and "$" not in snippet
    assert marked_html("not <mark>in</mark> it", "something else") == "not <mark>in</mark> it"
    assert marked_html("<script>x</script> <mark>in</mark>", "other") == " <mark>in</mark>"  # cleaned all the same
    bold = r"The \textbf{excitonic} phase"  # a mark inside a macro's argument: kept, inside the style
    assert marked_html(highlights(parse("excitonic"), {1: (bold, "")})[1].title, bold) == (
        "The <b><mark>excitonic</mark></b> phase"
    )


# Bounded work on hostile input


@pytest.mark.parametrize(
    "source",
    [
        "{" * 9000 + "x" + "}" * 9000,
        "{" * 19_000,
        "$" + "{" * 5000 + "x" + "}" * 5000 + "$",
        "$x^2$ " * 3000,
        "$" * 19_000,
        "\\'" * 9000,
        "\\textbf{" * 3000 + "x" + "}" * 3000,
        "$" + r"\frac{1}{" * 300 + "x" + "}" * 300 + "$",
        "$" + r"\left(" * 400 + "$",
        "\\" * 19_999,
        "https://a.b/" + "x" * 5000 + " " + "http://" * 2000,
        "x" * (MAX_TEXT + 1),
    ],
)
def test_hostile_input_stays_bounded(source: str) -> None:
    """Nothing raises and nothing grows out of bounds (their speed is bench/bench_web.py's, not a test's)."""
    outputs = [title_html(source), abstract_html(source), snippet_html(source), plain_text(source)]
    outputs.append(render_markdown(source[:10_000]))
    assert all(len(out) < 8 * len(source) + 1000 for out in outputs[:4])


# Through the real server


DAY = dt.date(2026, 3, 2)
PAPER = "2603.00001"


def test_paper_page_and_comments_show_mathml(engine: Engine, tmp_path: Path) -> None:
    dyadic = by_title("From dyadic")
    paper = PaperRecord(
        id=PAPER,
        source="test",
        title=dyadic.title,
        # the second sentence: shared/data/curation/arxiv_days/2025-12-03.rss.xml.gz, arXiv 2512.02543
        abstract=r"We show $R^2 = 0.85$ and the \textbf{Knowing--Using Gap}; code at https://github.com/a/b. "
        r"Our method matches teacher-level accuracy at $\textbf{2.5$\times$ lower cost}$, reducing costs from "
        r"\$0.059 to \$0.024.",
        listing=Listing(day=DAY, source="test"),
    )
    ingest_items(engine, [paper], ImportReport())
    search_index.index_pending(engine)
    user = make_user(engine, "ada")
    token = secrets.token_urlsafe(32)
    with write_tx(engine) as conn:
        accounts.create_session(conn, user.pk, token, dt.timedelta(days=1))
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        ada = Visitor(base, token)
        ada.page(f"/papers/{PAPER}")
        r = ada.post(f"/papers/{PAPER}/comments", body="So $x^2$ it is, for $5 a copy. `$y$`")
        assert r.status_code == 303, r.text
        page = ada.page(f"/papers/{PAPER}").text
        doc = html.fromstring(page)
        assert doc.findtext(".//title").startswith("From dyadic Λ_α to Λ_α")
        h1 = html.tostring(doc.cssselect("h1")[0], encoding="unicode")
        assert h1.count("<math") == 2 and "$" not in h1
        abstract = doc.cssselect(".abstract-full")[0]
        assert abstract.cssselect("math msup") and abstract.cssselect("b")[0].text == "Knowing–Using Gap"
        link = abstract.cssselect("a")[0]
        assert (link.get("href"), link.get("rel")) == ("https://github.com/a/b", "nofollow noopener")
        body = doc.cssselect(".comment-body")[0]
        assert body.cssselect("math msup mi")[0].text == "x" and "for $5 a copy" in body.text_content()
        assert body.cssselect("code")[0].text == "$y$"

        assert "\\textbf" not in page and "\\times" not in page and "from $0.059 to $0.024." in page
        assert abstract.cssselect("b")[1].text_content() == "2.5× lower cost"

        for mode in ("keyword", "hybrid"):
            found = html.fromstring(ada.page(f"/search?q=dyadic+teacher&mode={mode}").text)
            result = found.xpath(f'//*[@id="paper-{PAPER}"]')[0]
            title = result.cssselect(".title")[0]
            assert title.cssselect("mark") and len(title.cssselect("math")) == 2 and "$" not in title.text_content()
            snippet = html.tostring(result.cssselect(".abstract")[0], encoding="unicode")
            assert "<math" in snippet and "textbf" not in snippet and "<mark>teacher</mark>" in snippet
