"""Cards' TL;DR and keywords (docs/summaries.md): Hugging Face's when given, else ours, offline, with the real
MiniLM model."""

from __future__ import annotations

import numpy as np

from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.search.keyphrases import normalize
from dailypapers.search.sentences import plain_text, split_sentences
from dailypapers.search.summaries import HF, MIXED, OFFLINE, describe, describe_many

TITLE = "GeoZero: Teaching Small Models Geometry Without Labels"
ABSTRACT = (
    "Large language models have made rapid progress in mathematical reasoning. However, geometry problems "
    "remain challenging because they require constructing auxiliary lines. To address this gap, we propose "
    "GeoZero, a reinforcement learning framework that trains small models to construct auxiliary lines "
    "without any human labels, using Group Contrastive Policy Optimization (GCPO). Experiments on three "
    "benchmarks show gains of 4.3% on average. Code is available at https://github.com/example/geozero."
)
FRENCH = (
    "Nous proposons une nouvelle méthode pour la traduction automatique des langues peu dotées. "
    "Notre approche combine un modèle de langue et un dictionnaire bilingue. Les résultats montrent "
    "une amélioration nette sur trois paires de langues."
)


def _is_sentence_of(tldr: str, abstract: str) -> bool:
    """The TL;DR is one sentence of the plain abstract, or its end after a trimmed lead-in."""
    return any(s.lower().endswith(tldr.lower()) for s in split_sentences(plain_text(abstract)))


def test_hugging_face_fields_win_and_are_cleaned(embedder: Embedder) -> None:
    extra = {
        "ai_summary": "GeoZero trains \\textbf{small} models to draw auxiliary lines with $\\alpha$-weighted RL.",
        "ai_keywords": ["reinforcement learning", "LLMs", "LLM", "Reinforcement-Learning", "GCPO", 3],
    }
    d = describe(extra, TITLE, ABSTRACT, embedder)
    assert d.source == HF
    assert d.tldr == "GeoZero trains small models to draw auxiliary lines with α-weighted RL."
    assert d.keywords == ["reinforcement learning", "LLMs", "GCPO"]


def test_offline_tldr_is_one_abstract_sentence_with_its_lead_in_trimmed(embedder: Embedder) -> None:
    d = describe({}, TITLE, ABSTRACT, embedder)
    assert d.source == OFFLINE
    assert _is_sentence_of(d.tldr, ABSTRACT)
    assert "GeoZero" in d.tldr and not d.tldr.startswith("To address")  # the contribution, not the background
    assert d.tldr[0].isupper() and "https://" not in d.tldr


def test_offline_keywords_are_phrases_of_the_paper_without_repeats(embedder: Embedder) -> None:
    d = describe({}, TITLE, ABSTRACT, embedder)
    assert 3 <= len(d.keywords) <= 8
    keys = [normalize(k) for k in d.keywords]
    assert len(keys) == len(set(keys))
    text = normalize(f"{TITLE} {ABSTRACT}")
    assert all(k in text for k in keys)
    assert any(k in ("gcpo", "group contrastive policy optimization", "geozero") for k in keys)
    assert not {"we", "the", "propose", "however"} & set(keys)


def test_latex_in_the_abstract_becomes_plain_text(embedder: Embedder) -> None:
    abstract = (
        "We introduce \\textbf{Knowing--Using Gap}, a benchmark where models with $\\geq 7$B parameters "
        "solve only $42\\%$ of tasks, with Stable Audio~3 as a baseline. We release all data."
    )
    d = describe(None, "The {Knowing--Using} Gap", abstract, embedder)
    assert d.tldr and not any(c in d.tldr for c in "\\${}~")
    assert "Knowing–Using Gap" in d.tldr and "≥ 7B" in d.tldr
    assert all(not any(c in k for c in "\\${}") for k in d.keywords)


def test_nothing_to_describe_gives_empty(embedder: Embedder) -> None:
    assert describe({}, "A title only", "", embedder) == ("", [], "")
    assert describe({}, "A title only", " \n\t ", embedder).tldr == ""
    # Hugging Face's fields stand even without an abstract.
    assert describe({"ai_summary": "S."}, "T", "", embedder) == ("S.", [], HF)


def test_a_non_english_abstract_gets_its_first_sentence_and_no_keywords(embedder: Embedder) -> None:
    d = describe({}, "Traduction des langues peu dotées", FRENCH, embedder)
    assert d.tldr == split_sentences(FRENCH)[0]
    assert d.keywords == [] and d.source == OFFLINE


def test_one_field_from_hugging_face_the_other_ours(embedder: Embedder) -> None:
    d = describe({"ai_summary": "A short summary."}, TITLE, ABSTRACT, embedder)
    assert d.tldr == "A short summary." and d.keywords and d.source == MIXED
    d = describe({"ai_keywords": ["geometry"]}, TITLE, ABSTRACT, embedder)
    assert _is_sentence_of(d.tldr, ABSTRACT) and d.keywords == ["geometry"] and d.source == MIXED


def test_stored_embeddings_give_the_same_descriptions(embedder: Embedder) -> None:
    papers = [({}, TITLE, ABSTRACT), ({"ai_summary": "x", "ai_keywords": ["y"]}, "T", "A."), ({}, "Fr", FRENCH)]
    docs = embedder.encode([paper_text(t, a) for _, t, a in papers])
    computed = describe_many(papers, embedder)
    given = describe_many(papers, embedder, doc_vectors=[docs[0], None, docs[2]])
    assert given == computed
    assert describe_many(papers, embedder, doc_vectors=np.asarray(docs)) == computed
