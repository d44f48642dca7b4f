"""sources/latex.py: arXiv's TeX metadata taken apart into text, formulas and links (`pieces`), and read as
plain text (`plain_text`): macros and accents decoded, prices kept as prices, what does not parse kept as
written. Pure: no database, no server.

The quoted titles, abstracts and names are real arXiv metadata, copied from the recordings in
`../shared` (the file is named next to each); `tests/fixtures/README.md` says where those come from."""

from __future__ import annotations

import re

import pytest

from dailypapers.sources.latex import MAX_FORMULAS, MAX_TEXT, Piece, pieces, plain_text

# shared/data/curation/arxiv_days/2025-12-03.rss.xml.gz, arXiv 2512.02543 (abstract)
ALFWORLD = (
    r"our method matches teacher-level accuracy at $\textbf{2.5$\times$ lower cost}$, reducing per-episode costs "
    r"from \$0.059 to \$0.024."
)
# shared/data/curation/arxiv_days/2026-01-01.rss.xml.gz, arXiv 2512.24617 (abstract)
DLCM = r"we further develop a $\textbf{decoupled $μ$P parametrization}$ that supports zero-shot transfer"
# shared/data/curation/arxiv_days/2025-12-11.rss.xml.gz, arXiv 2512.09882 (abstract)
ARTEMIS = "and cost -- certain ARTEMIS variants cost $18/hour versus $60/hour for professional penetration testers."
# shared/data/curation/arxiv_days/2026-01-15.rss.xml.gz, arXiv 2601.08852 (abstract)
NEWSSCOPE = "enables offline deployment at approximately $15 on-demand compute (or $0 on free tiers). Code and $x$."
# shared/fixtures/kaggle_arxiv_snapshot/head200_Sharath-1736_Embedding-VecSearch.jsonl, arXiv 0704.0106: the
# author forgot one `$`, so the dollars after it pair the wrong way round
QUARKS = (
    r"up to order \cal{O}(\alpha_{s}^2)$ in deeply inelastic scattering (DIS) off nuclear targets. At the order "
    r"$\cal{O}(\alpha_s^2)$, twist-four contributions from quark-quark (antiquark) rescattering also exhibit the "
    r"Landau-Pomeranchuck-Midgal (LPM) interference feature. Compared to quark-gluon scattering, the "
    r"modification, which is dominated by $t$-channel quark-quark (antiquark) scattering"
)
# shared/data/curation/hf_daily/2024-12-03.json.gz, arXiv 2411.19477: Hugging Face lost the backslashes
KNOCKOUT = r"with respect to N and K: $P(final output is incorrect) le (1 - p_{gen})^N + lceil log_2 N rceil$ Our"


MARKUP = re.compile(r"(?:\\[A-Za-z]+\s*\{?|[{}])*")


def kinds(text: str, urls: bool = False) -> list[tuple[str, str]]:
    return [(p.kind, p.text) for p in pieces(text, urls=urls) if p.kind != "text"]


def covers(text: str, parts: list[Piece]) -> bool:
    """The pieces follow each other in the text, exact ones are their source, and nothing between two of them
    is lost but markup: group braces and the commands that open them (`\\textbf{`)."""
    pos = 0
    for p in parts:
        if p.start < pos or not MARKUP.fullmatch(text[pos : p.start]) or p.exact and text[p.start : p.end] != p.text:
            return False
        pos = p.end
    return bool(MARKUP.fullmatch(text[pos:]))


# Pieces


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("$x$ and $$y$$ and \\(z\\) and \\[w\\]", [("math", "x"), ("math", "y"), ("math", "z"), ("math", "w")]),
        (r"costs \$5 and \$10", []),  # escaped dollars are text
        ("costs $5 and $10 while $x$ is", [("math", "x")]),  # prices before amounts, then a formula
        ("$5-$10 range", []),
        (ARTEMIS, []),
        (NEWSSCOPE, [("math", "x")]),
        (r"$\sim$10 K, 0.873$\pm$0.004, (256$\times$256)", [("math", r"\sim"), ("math", r"\pm"), ("math", r"\times")]),
        ("$ \\nu=1 $, admits", [("math", " \\nu=1 ")]),  # spaces inside the dollars: still TeX
        ("$x$ spans a\n\nparagraph $y", [("math", "x")]),  # no formula across a blank line
        (KNOCKOUT, []),  # prose between two dollars is not a formula
        ("50% of $x$ % not a comment", [("math", "x")]),  # arXiv's `%` is a percent sign
    ],
)
def test_formulas_are_found_where_tex_would_find_them(text: str, found: list[tuple[str, str]]) -> None:
    parts = pieces(text)
    assert covers(text, parts)
    assert [(p.kind, p.text) for p in parts if p.kind == "math"] == found


def test_a_missing_dollar_does_not_turn_the_rest_into_formulas() -> None:
    found = [t for k, t in kinds(QUARKS) if k == "math"]
    assert r"\cal{O}(\alpha_s^2)" in found and "t" in found
    assert not [t for t in found if "scattering" in t]


def test_formulas_inside_bold_text_inside_a_formula() -> None:
    parts = pieces(ALFWORLD)
    assert covers(ALFWORLD, parts)
    assert [p.text for p in parts if p.kind == "math"] == [r"\times"]
    bold = "".join(p.text for p in parts if "b" in p.style)
    assert bold == "2.5\\times lower cost"
    assert plain_text(ALFWORLD).startswith("our method matches teacher-level accuracy at 2.5× lower cost, reducing")
    assert plain_text(ALFWORLD).endswith("costs from $0.059 to $0.024.")
    assert "decoupled μP parametrization that" in plain_text(DLCM)


def test_math_commands_outside_dollars_take_their_arguments_and_scripts() -> None:
    # shared/fixtures/kaggle_arxiv_snapshot (arXiv 0704.0046, 0704.0102, 0704.0064): TeX without dollars
    text = r"a \tilde{\pi}_w is generic; \bar{\Q}; d\dot{n}/dE; \tilde\epsilon(\omega); \Lambda_{NC}; \frac{1}{2}"
    assert [t for k, t in kinds(text)] == [
        r"\tilde{\pi}_w",
        r"\bar{\Q}",
        r"\dot{n}",
        r"\tilde\epsilon",
        r"\omega",
        r"\Lambda_{NC}",
        r"\frac{1}{2}",
    ]
    assert plain_text(text) == "a π̃_w is generic; ℚ̄; dṅ/dE; ϵ̃(ω); Λ_(NC); 1/2"


def test_links_are_found_only_when_asked() -> None:
    text = r"see https://a.org/x. and \url{https://b.org} or \href{https://c.org}{the \emph{page}}"
    assert kinds(text) == []
    assert kinds(text, urls=True) == [("url", "https://a.org/x"), ("url", "https://b.org"), ("url", "https://c.org")]
    assert pieces(text, urls=True)[-1].label == "the page"


@pytest.mark.parametrize(
    ("text", "links"),
    [
        # shared/data/curation/arxiv_days/2025-08-21.rss.xml.gz, arXiv 2508.14370 (abstract)
        (
            "Code and Benchmark are available: github.com/Hamidreza-Hashempoor/FastTracker, "
            "huggingface.co/datasets/Hamidreza-Hashemp/FastTracker-Benchmark.",
            [
                "https://github.com/Hamidreza-Hashempoor/FastTracker",
                "https://huggingface.co/datasets/Hamidreza-Hashemp/FastTracker-Benchmark",
            ],
        ),
        (
            "pages at treegrpo.github.io. and www.graphbench.io",
            ["https://treegrpo.github.io", "https://www.graphbench.io"],
        ),
        (
            "(see https://en.wikipedia.org/wiki/X_(y)), or http://x.org/a?b=1&c=2;",
            ["https://en.wikipedia.org/wiki/X_(y)", "http://x.org/a?b=1&c=2"],
        ),
        # names and hosts alone are not links: a company, a file, the end of a sentence
        ("by MyAntFarm.ai, kragent.ai or on github.com. Node.js/x e.g./ i.e. a@github.com/x", []),
        (r"\url{javascript:alert(1)} \href{data:text/html,x}{y} ftp://x.org/a javascript://x.org/", []),
    ],
)
def test_addresses_readers_take_for_links(text: str, links: list[str]) -> None:
    parts = pieces(text, urls=True)
    assert covers(text, parts)
    assert [p.text for p in parts if p.kind == "url"] == links


# Plain text


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        (r"\textbf{Knowing--Using Gap}", "Knowing–Using Gap"),  # issue 12's examples
        ("Stable Audio~3", "Stable Audio 3"),  # a no-break space, a space in plain text
        ("about ~100 tokens", "about ~100 tokens"),  # not between two words: a tilde
        (r"A \emph{new} way --- and \textit{old} -- \& 50\% ``off''", "A new way — and old – & 50% “off”"),
        (r"{\em emphasis} and {\bf bold}, \textsc{AIEV}", "emphasis and bold, AIEV"),
        (r"\eg layouts, 100\,000 \ldots{} \LaTeX", "e.g. layouts, 100 000 … LaTeX"),
        # shared/data/curation/arxiv_days: arXiv 2512.15738, 2512.19943, 2601.11214 (titles)
        (
            r"Hybrid Quantum-Classical Ensemble Learning for S\&P 500",
            "Hybrid Quantum-Classical Ensemble Learning for S&P 500",
        ),
        (r"SE360: Semantic Edit in 360$^\circ$ Panoramas", "SE360: Semantic Edit in 360° Panoramas"),
        (r"T$^\star$: Progressive Block Scaling", "T^⋆: Progressive Block Scaling"),
        # shared/fixtures/arxiv_oai/scirate_ListRecords_arXivRaw_page96001_2014-01-16.xml: 0811.3925, 0811.4225
        (r"Superconductivity in LaFeAs$_{1-x}$P$_{x}$O: effect", "Superconductivity in LaFeAs₁₋ₓPₓO: effect"),
        (r"Stellar dynamos with $\vec{\Omega}\times \vec{J}$ effect", "Stellar dynamos with Ω⃗×J⃗ effect"),
        (r"$\mathcal{O}(n \log n)$ time, $R^2 = 0.85$", "𝒪(n log n) time, R² = 0.85"),
        (r"\href{https://example.org/p}{the page}", "the page (https://example.org/p)"),
        ("github.com/a/b and https://x.org", "github.com/a/b and https://x.org"),
        ("  spaces\n and\tlines  ", "spaces and lines"),
        ("", ""),
    ],
)
def test_plain_text(source: str, plain: str) -> None:
    assert plain_text(source) == plain


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        (r"Bal\'azs", "Balázs"),  # issue 12's example
        (r"Bal\'{a}zs G\"odel Schr\"{o}dinger Erd\H{o}s", "Balázs Gödel Schrödinger Erdős"),
        (r"\c{C}a\u{g}lar \k{a} \'{\i} \"{\i} \v{S}r\'amek {\O}bro \ss", "Çağlar ą í ï Šrámek Øbro ß"),
        # shared/fixtures/arxiv_oai/scirate_ListRecords_arXivRaw_page96001_2014-01-16.xml, 0811.4157
        (r"Anja Gli\v{s}ovi\'c", "Anja Glišović"),
        # shared/data/curation/arxiv_days/2026-01-12.rss.xml.gz, 2601.05747: an accent applied twice
        ("Peter St\\ütz", "Peter Stütz"),
        (r"A. M. Magalh\~aes, Antonio C. Guti\'errez-Pi\~neres", "A. M. Magalhães, Antonio C. Gutiérrez-Piñeres"),
    ],
)
def test_accented_names_read_as_unicode(name: str, plain: str) -> None:
    assert plain_text(name) == plain


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        (r"see \cite{x} and \foo bar", r"see \cite{x} and \foo bar"),  # unknown commands stay as written
        ("a $x^$ b", "a x^ b"),  # latex2mathml refuses it: its source
        ("costs $5 and more", "costs $5 and more"),  # an unpaired dollar
        ("{unbalanced and } more}", "unbalanced and more}"),
        (r"\textbf{never closed", "{never closed"),
        ("\\", "\\"),
        (r"\'", r"\'"),
        (r"$\text{a$x}$ b", r"\text{ax}$ b"),
    ],
)
def test_what_does_not_parse_stays_as_written(source: str, plain: str) -> None:
    assert plain_text(source) == plain


def test_at_most_so_many_formulas_then_dollars() -> None:
    text = "$x$ " * (MAX_FORMULAS + 5)
    assert sum(p.kind == "math" for p in pieces(text)) == MAX_FORMULAS
    assert pieces("x" * (MAX_TEXT + 1)) == [Piece("text", "x" * (MAX_TEXT + 1), 0, MAX_TEXT + 1, exact=True)]


@pytest.mark.parametrize(
    "source",
    [
        "{" * 9000 + "x" + "}" * 9000,
        "{" * 19_000,
        "$" + "{" * 5000 + "x" + "}" * 5000 + "$",
        "$x^2$ " * 3000,
        "$" * 19_000,
        "$\\textbf{" * 2000,
        "\\'" * 9000,
        "\\textbf{" * 3000 + "x" + "}" * 3000,
        "\\tilde" * 3000,
        "\\" * 19_999,
        "github.com/" * 1500,
        "https://a.b/" + "x" * 5000 + " " + "http://" * 2000,
    ],
)
def test_hostile_input_is_read_whole(source: str) -> None:
    parts = pieces(source, urls=True)
    plain_text(source)
    assert covers(source, parts)
