"""A one-line TL;DR of a paper, offline: the abstract's sentence that best states what the paper contributes.

Each sentence of the plain abstract gets features: what it says ("we propose", "this paper", background
words such as "Recent" or "However", results words), where it stands, how long it is, and how close its
MiniLM embedding is to the whole paper's and to the title's; a linear score of them, fitted on Hugging
Face's `ai_summary` (bench/bench_summaries.py, docs/summaries.md), picks one. Lead-ins that say nothing
("To address this gap, ", "In this paper, ") are cut. Pure functions; the model is the caller's `Embedder`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.search.sentences import is_english, plain_text, split_sentences

_CONTRIBUTION = re.compile(
    r"\b(?:we|this (?:paper|work|study|report|article|letter)|our (?:work|paper|study))\b[^.]{0,40}?\b"
    r"(?:propose|present|introduce|develop|design|describe|build|construct|release|devise|formulate|offer|"
    r"establish|create|curate|contribute|put forward|unveil|pioneer)",
    re.I,
)
_FINDING = re.compile(
    r"\b(?:we|this (?:paper|work|study))\b[^.]{0,30}?\b(?:show|find|demonstrate|reveal|prove|argue|"
    r"observe|study|investigate|explore|analy[sz]e|examine|identify)",
    re.I,
)
_NAMING = re.compile(
    r"\b(?:called|named|termed|dubbed|coined)\b|, (?:a|an) (?:novel|new|simple|general|unified)\b", re.I
)
_BACKGROUND = re.compile(
    r"^(?:recent|despite|however|although|while|existing|current|traditional|conventional|prior|previous|"
    r"many|most|as|with the|in recent|over the|large language models|deep|modern|the (?:rapid|recent|success|"
    r"emergence|growing|increasing|advent|rise))\b|\b(?:remains?|has been|have been|has become|have become|"
    r"suffer|struggle|limited|challenging|lack)\b",
    re.I,
)
_RESULT = re.compile(
    r"\b(?:experiments?|results?|outperforms?|achiev\w*|state-of-the-art|sota|surpass\w*|"
    r"improv\w*|benchmarks?|accuracy|gains?)\b",
    re.I,
)
_AVAILABILITY = re.compile(
    r"https?://|\bgithub\b|\b(?:code|data|models?|dataset|weights)\b[^.]{0,40}\b"
    r"(?:available|released|public|open-source[d]?)\b",
    re.I,
)
_LEAD_IN = re.compile(
    r"^(?:(?:to (?:address|tackle|overcome|bridge|solve|fill|mitigate|close|alleviate|remedy|fix|resolve|"
    r"this end|that end)|in (?:this|the present) (?:paper|work|study|report|article|letter)|here|"
    r"in response|motivated by|inspired by|building (?:on|upon)|based on|therefore|thus|hence|consequently|"
    r"accordingly|specifically|concretely|in particular|to do so|to this end)[^,]{0,80}?,\s+)",
    re.I,
)
_STOP_TEXT = (
    "a an the of and or for to in on with by from via at as is are we our its their this that towards toward into"
)
_STOP = frozenset(_STOP_TEXT.split())

# Fitted by `python -m bench.bench_summaries --fit` on 400 papers of the tuning days (docs/summaries.md): a ridge
# regression of each sentence's ROUGE-L F + MiniLM cosine to Hugging Face's `ai_summary`, centred per paper.
FEATURES = (
    "cos_doc",
    "cos_title",
    "title_words",
    "title_name",
    "contribution",
    "finding",
    "naming",
    "background",
    "result",
    "availability",
    "first",
    "position",
    "last",
    "words",
    "short",
    "long",
    "symbols",
)
# fmt: off
WEIGHTS = np.array([0.780, 0.279, 0.116, 0.113, 0.060, -0.004, 0.015, -0.028, 0.024, -0.067, 0.013, -0.020, 0.036,
                    -0.086, -0.014, -0.076, -0.017], dtype=np.float32)
# fmt: on


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9][a-z0-9\-]+", text.lower()) if w not in _STOP}


def title_name(title: str) -> str:
    """The name a title gives its subject ("GeometryZero" of "GeometryZero: Improving ..."), or ""."""
    head, sep, _ = plain_text(title).partition(":")
    head = head.strip()
    return head if sep and 0 < len(head.split()) <= 4 else ""


def trim_lead_in(sentence: str) -> str:
    """The sentence without an opening that only links it to the previous one ("To address this, we ...")."""
    trimmed = _LEAD_IN.sub("", sentence, count=1)
    if trimmed == sentence or len(trimmed.split()) < 5:
        return sentence
    return trimmed[0].upper() + trimmed[1:]


def sentence_features(sentences: Sequence[str], title: str, cos_doc: np.ndarray, cos_title: np.ndarray) -> np.ndarray:
    """One row per sentence of an abstract, columns as FEATURES."""
    n = len(sentences)
    title_words = _content_words(title)
    name = title_name(title).lower()
    rows = np.zeros((n, len(FEATURES)), dtype=np.float32)
    for i, s in enumerate(sentences):
        words = len(s.split())
        letters = sum(c.isalpha() or c.isspace() for c in s)
        rows[i] = (
            cos_doc[i],
            cos_title[i],
            len(title_words & _content_words(s)) / max(1, len(title_words)),
            bool(name) and name in s.lower(),
            bool(_CONTRIBUTION.search(s)),
            bool(_FINDING.search(s)),
            bool(_NAMING.search(s)),
            bool(_BACKGROUND.search(s)),
            bool(_RESULT.search(s)),
            bool(_AVAILABILITY.search(s)),
            i == 0,
            i / max(1, n - 1),
            i == n - 1 and n > 1,
            min(words, 60) / 60,
            words < 8,
            words > 50,
            1 - letters / max(1, len(s)),
        )
    return rows


def sentences_of(abstract: str) -> list[str]:
    """The abstract's plain sentences that could be a TL;DR (a lone fragment is kept if it is all there is)."""
    sentences = split_sentences(plain_text(abstract))
    usable = [s for s in sentences if len(s.split()) >= 4 and not _AVAILABILITY.fullmatch(s)]
    return usable or sentences


def _fallback(sentences: Sequence[str]) -> str:
    return sentences[0] if sentences else ""


def tldrs(
    papers: Sequence[tuple[str, str]],
    embedder: Embedder,
    *,
    doc_vectors: np.ndarray | None = None,
    weights: np.ndarray = WEIGHTS,
    trim: bool = True,
) -> list[str]:
    """The TL;DR of each (title, abstract): one plain-text sentence of its abstract, "" for an empty one.

    A non-English abstract gets its first sentence (the model and the cues are English). `doc_vectors` are
    the papers' embeddings of `paper_text(title, abstract)` when the caller has them; otherwise they are
    computed. The model runs at most twice per call, however many papers.
    """
    pools = [sentences_of(abstract) for _, abstract in papers]
    out = [_fallback(pool) for pool in pools]
    wanted = [i for i, pool in enumerate(pools) if len(pool) > 1 and is_english(" ".join(pool))]
    if wanted:
        texts = [s for i in wanted for s in pools[i]] + [plain_text(papers[i][0]) or "-" for i in wanted]
        if doc_vectors is None:
            texts += [paper_text(*papers[i]) for i in wanted]
        vectors = embedder.encode(texts)
        count = sum(len(pools[i]) for i in wanted)
        titles = vectors[count : count + len(wanted)]
        docs = vectors[count + len(wanted) :] if doc_vectors is None else np.asarray(doc_vectors)[wanted]
        start = 0
        for i, title_vec, doc_vec in zip(wanted, titles, docs, strict=True):
            pool = pools[i]
            sent = vectors[start : start + len(pool)]
            start += len(pool)
            rows = sentence_features(pool, papers[i][0], sent @ doc_vec, sent @ title_vec)
            out[i] = pool[int(np.argmax(rows @ weights))]
    return [trim_lead_in(s) if trim else s for s in out]
