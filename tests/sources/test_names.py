"""Names as readers look them up (sources.names) and the category names a feed filter takes
(sources.categories)."""

from __future__ import annotations

import re

import orjson
import pytest

from dailypapers.problems import Unprocessable
from dailypapers.sources.categories import MAX_CATEGORIES, filter_categories
from dailypapers.sources.kaggle import record_from_object
from dailypapers.sources.names import MAX_KEY, author_key, keys_of, most_written, org_key, tex_to_unicode
from tests.support.fixtures import recording
from tests.support.hostile import HOSTILE_QUERIES


@pytest.mark.parametrize(
    ("tex", "unicode"),
    [
        ("C. Bal\\'azs", "C. Balázs"),
        ("P\\'eter E. Frenkel", "Péter E. Frenkel"),
        ("R. Tom\\`as", "R. Tomàs"),
        ("Mikkel {\\O}bro", "Mikkel Øbro"),
        ("Rastislav \\v{S}r\\'amek", "Rastislav Šrámek"),
        ("Tom\\'a\\v{s} Vina\\v{r}", "Tomáš Vinař"),
        ('Franz G\\"ahler', "Franz Gähler"),
        ('Franz G\\"{a}hler', "Franz Gähler"),
        ("J. Mart\\'{\\i}nez", "J. Martínez"),
        ('\\c{C}a\\u{g}lar G\\"ul\\c{c}ehre', "Çağlar Gülçehre"),
        ("\\c C. Stra\\ss e", "Ç. Straße"),
        ("\\L{}ukasz Kaiser", "Łukasz Kaiser"),
        ("A.~Smith", "A. Smith"),
        ("Plain Name", "Plain Name"),
    ],
)
def test_tex_accents_decode_and_meet_their_unicode_spelling(tex: str, unicode: str) -> None:
    assert tex_to_unicode(tex) == unicode
    assert author_key(tex) == author_key(unicode)


def test_spellings_of_a_name_meet_and_different_names_do_not() -> None:
    same = ["C. Bal\\'azs", "C. Balázs", "C. Balazs", "c. balazs", "C.  BALÁZS", " C.Balazs ", "C. Bal\\'{a}zs"]
    assert {author_key(s) for s in same} == {"c balazs"}
    assert author_key("Csaba Balázs") != author_key("C. Balázs")  # initials stay initials
    assert author_key("Søren Øbro") == author_key("Soren Obro") == "soren obro"
    assert author_key("Jean-Pierre O’Brien") == author_key("jean pierre o'brien") == "jean pierre obrien"
    assert author_key("Ｆｕｌｌ Ｗｉｄｔｈ") == "full width"
    assert author_key("李 明") == "李 明"
    assert author_key("...") == "" and author_key("\x00\x01") == ""
    assert len(author_key("x" * 10_000)) == MAX_KEY
    assert keys_of(["C. Balázs", "C. Bal\\'azs", "", "E. L. Berger"]) == ["c balazs", "e l berger"]


def test_hostile_names_never_raise() -> None:
    for text in HOSTILE_QUERIES:
        key = author_key(text)
        assert len(key) <= MAX_KEY and "\x00" not in key
        assert isinstance(tex_to_unicode(text), str)
        assert len(org_key(text)) <= MAX_KEY


def test_kaggle_tex_author_strings_meet_the_parsed_unicode_names() -> None:
    """The Kaggle snapshot writes each paper's authors twice: `authors` in TeX (`Bal\\'azs`) and
    `authors_parsed` in Unicode (which the importer reads). Both spellings give the same keys."""
    path = recording("kaggle_arxiv_snapshot", "head200_Sharath-1736_Embedding-VecSearch.jsonl")
    checked = 0
    for line in path.read_bytes().splitlines():
        obj = orjson.loads(line)
        text = " ".join(obj["authors"].split())
        if "\\" not in text or "(" in text:  # affiliations in the text have no place in authors_parsed
            continue
        written = [n.strip() for n in re.split(r",| and ", text) if n.strip()]
        parsed = [a.name for a in record_from_object(obj).authors]
        assert [author_key(n) for n in written] == [author_key(n) for n in parsed], obj["id"]
        checked += 1
    assert checked == 5
    assert author_key("C. Bal\\'azs") == author_key("C. Balazs") == "c balazs"


def test_most_written_spelling() -> None:
    assert most_written(["C. Bal\\'azs", "C. Balazs", "C. Balázs"]) == "C. Balázs"  # TeX counts as its Unicode
    assert most_written(["C. Balazs", "C. Balazs", "C. Balázs"]) == "C. Balazs"
    assert most_written(["C. Balazs", "C. Balázs"]) == "C. Balázs"  # a tie: the one with its accents
    assert most_written([]) == "" and most_written(["  "]) == ""


def test_org_keys_ignore_case() -> None:
    assert org_key("Qwen") == org_key(" qwen ") == "qwen"
    assert org_key("\x00") == ""


def test_category_filters() -> None:
    assert filter_categories([]) == ()
    assert filter_categories(["cs.CL"]) == ("cs.CL",)
    assert filter_categories(["cs.CL", "cs.LG", "cs.cl"]) == ("cs.CL", "cs.LG")
    assert filter_categories(["cs.CL,math.AG", " hep-th "]) == ("cs.CL", "math.AG", "hep-th")
    assert filter_categories(["q-bio.NC", "cond-mat.mes-hall", "cs", "astro-ph.CO", ""]) == (
        "q-bio.NC",
        "cond-mat.mes-hall",
        "cs",
        "astro-ph.CO",
    )
    for bad in ["cs.CL;", "cs..CL", ".CL", "cs.", "cs CL", "' OR 1=1 --", "../etc", "cs.CL\x00", "日本", "x" * 41, "%"]:
        with pytest.raises(Unprocessable, match="not an arXiv category"):
            filter_categories([bad])
    with pytest.raises(Unprocessable, match=f"at most {MAX_CATEGORIES}"):
        filter_categories([",".join(f"cs.C{chr(65 + i)}" for i in range(MAX_CATEGORIES + 1))])
