"""What a card says of a paper in one line: its TL;DR and keywords, Hugging Face's when we have them, else ours.

`describe_many` is for a job filling a backlog: it runs the model only for the papers that need it, a few
batched calls for the lot. Hugging Face's `ai_summary` and `ai_keywords` (kept in `papers.extra` by the HF
importer and sync) win; a paper without them gets `tldr.tldrs` and `keyphrases.keyphrases`, computed
offline (docs/summaries.md). Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.search.keyphrases import keyphrases, normalize
from dailypapers.search.sentences import plain_text
from dailypapers.search.tldr import tldrs

TOP_KEYWORDS = 8
HF, OFFLINE, MIXED = "hf", "offline", "hf+offline"


class Description(NamedTuple):
    """A paper's TL;DR (plain text, "" when none), keywords (plain, best first) and where they came from:
    "hf", "offline", "hf+offline" (one of each), or "" when there was nothing to describe."""

    tldr: str
    keywords: list[str]
    source: str


def hf_fields(extra: Mapping[str, Any] | None, top_n: int = TOP_KEYWORDS) -> tuple[str, list[str]]:
    """Hugging Face's TL;DR and keywords from a paper's `extra`, cleaned ("" and [] where absent or malformed)."""
    extra = extra or {}
    summary = extra.get("ai_summary")
    summary = plain_text(summary) if isinstance(summary, str) else ""
    words = extra.get("ai_keywords")
    keywords: list[str] = []
    seen: set[str] = set()
    for word in words if isinstance(words, list) else []:
        text = plain_text(word) if isinstance(word, str) else ""
        key = normalize(text)
        if key and key not in seen:
            seen.add(key)
            keywords.append(text)
    return summary, keywords[:top_n]


def _doc_matrix(
    papers: Sequence[tuple[Mapping[str, Any] | None, str, str]],
    wanted: Sequence[int],
    embedder: Embedder,
    doc_vectors: Sequence[np.ndarray | None] | np.ndarray | None,
) -> np.ndarray | None:
    """The paper embeddings of papers `wanted` (None when none is): those given, the others computed in one
    model pass, shared by the TL;DR and the keyphrases."""
    if not wanted:
        return None
    given = [None if doc_vectors is None else doc_vectors[i] for i in wanted]
    missing = [j for j, v in enumerate(given) if v is None]
    if missing:
        fresh = embedder.encode([paper_text(*papers[wanted[j]][1:]) for j in missing])
        for j, vector in zip(missing, fresh, strict=True):
            given[j] = vector
    return np.stack([np.asarray(v, dtype=np.float32) for v in given])


def _rows(docs: np.ndarray | None, row: Mapping[int, int], which: Sequence[int]) -> np.ndarray | None:
    return None if docs is None else docs[[row[i] for i in which]]


def describe_many(
    papers: Sequence[tuple[Mapping[str, Any] | None, str, str]],
    embedder: Embedder,
    *,
    top_n: int = TOP_KEYWORDS,
    doc_vectors: Sequence[np.ndarray | None] | np.ndarray | None = None,
) -> list[Description]:
    """A Description of each (extra, title, abstract), in order.

    The model runs only if some paper lacks Hugging Face's fields and has an abstract. `doc_vectors`, one
    per paper (None where unknown), are their stored embeddings of `paper_text(title, abstract)` by the
    same model as `embedder`: they save a model pass over the whole text.
    """
    given = [hf_fields(extra, top_n) for extra, _, _ in papers]
    has_text = [bool(plain_text(abstract)) for _, _, abstract in papers]
    need_tldr = [i for i, (s, _) in enumerate(given) if not s and has_text[i]]
    need_words = [i for i, (_, k) in enumerate(given) if not k and has_text[i]]
    need = sorted({*need_tldr, *need_words})
    docs = _doc_matrix(papers, need, embedder, doc_vectors)
    row = {i: n for n, i in enumerate(need)}
    ours_tldr: dict[int, str] = {}
    ours_words: dict[int, list[str]] = {}
    if need_tldr:
        found = tldrs([papers[i][1:] for i in need_tldr], embedder, doc_vectors=_rows(docs, row, need_tldr))
        ours_tldr = dict(zip(need_tldr, found, strict=True))
    if need_words:
        pairs = [papers[i][1:] for i in need_words]
        found_words = keyphrases(pairs, embedder, top_n=top_n, doc_vectors=_rows(docs, row, need_words))
        ours_words = dict(zip(need_words, found_words, strict=True))
    out = []
    for i, (summary, words) in enumerate(given):
        sources = {
            HF if summary else OFFLINE if ours_tldr.get(i) else "",
            HF if words else OFFLINE if ours_words.get(i) else "",
        } - {""}
        source = MIXED if len(sources) == 2 else sources.pop() if sources else ""
        out.append(Description(summary or ours_tldr.get(i, ""), words or ours_words.get(i, []), source))
    return out


def describe(
    extra: Mapping[str, Any] | None, title: str, abstract: str, embedder: Embedder, *, top_n: int = TOP_KEYWORDS
) -> Description:
    """One paper's Description (see `describe_many`, better for many papers)."""
    return describe_many([(extra, title, abstract)], embedder, top_n=top_n)[0]
