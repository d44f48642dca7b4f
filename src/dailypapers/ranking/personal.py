"""The "for you" ranker, pure: arrays in, scores out (docs/personal.md, docs/recommendations.md).

A reader's signals are papers (saved, collected, upvoted, imported) and the text of imported entries that
match no stored paper. A candidate's score blends two standardized parts, chosen on the tuning half of the
offline evaluation (bench/eval_recommend.py):

- **meaning**: cosine similarity of its MiniLM vector to the reader's signals, 0.5 x the nearest signal
  plus 0.5 x the signals' centroid;
- **words**: a linear SVM over tf-idf of "title. abstract", the reader's signals against a sample of other
  recent papers, as arxiv-sanity-lite trains per reader. Features are hashed (no vocabulary to keep), the
  idf is the site's (`document_frequencies` over recent papers, refreshed by a job), and only the heaviest
  weights are kept, so a reader's model is a few tens of kilobytes.

Then: papers like ones the reader dismissed sink, papers from what they follow rise. Each result keeps
the signal it is most like, for its reason.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

N_FEATURES = 1 << 18
KEPT_WEIGHTS = 5000
MEANING_WEIGHT = 0.5  # against 1 - this for the words' SVM (chosen on the tuning half)
DISMISSED_WEIGHT = 0.5
FOLLOW_BOOST = 1.5  # in standard deviations: a followed author's paper is near the top, not above all
MAX_SIGNALS = 200  # the most recent signals the meaning part compares against
NEGATIVES = 2000

_HASHER = HashingVectorizer(
    n_features=N_FEATURES,
    strip_accents="unicode",
    lowercase=True,
    stop_words="english",
    token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
    ngram_range=(1, 2),
    alternate_sign=False,
    norm=None,
)


def paper_text(title: str, abstract: str) -> str:
    return f"{title}. {abstract}"


def term_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Hashed word and word-pair counts, sublinear (1 + log tf) as arxiv-sanity-lite's tf-idf."""
    counts = _HASHER.transform(texts).tocsr()
    counts.data = 1.0 + np.log(counts.data)
    return counts.astype(np.float32)


def document_frequencies(counts: sparse.csr_matrix) -> np.ndarray:
    """How many of these documents hold each hashed term (int32, one per feature)."""
    return np.bincount(counts.indices, minlength=N_FEATURES).astype(np.int32)


def idf_of(df: np.ndarray | None, documents: int) -> np.ndarray:
    """Smoothed idf from document frequencies; all ones when none are known yet."""
    if df is None or documents <= 0:
        return np.ones(N_FEATURES, dtype=np.float32)
    return (np.log((1 + documents) / (1 + df.astype(np.float64))) + 1).astype(np.float32)


def features(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """tf-idf rows, L2-normalized."""
    return normalize(counts @ sparse.diags(idf), copy=False).tocsr().astype(np.float32)


@dataclass(frozen=True)
class WordModel:
    """A reader's SVM over hashed tf-idf features: the kept weights (sparse) and the intercept."""

    index: np.ndarray  # int32
    weight: np.ndarray  # float32
    bias: float

    def score(self, x: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(x[:, self.index] @ self.weight).ravel() + self.bias

    def dumps(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, index=self.index, weight=self.weight, bias=np.array([self.bias]))
        return buf.getvalue()

    @staticmethod
    def loads(data: bytes) -> WordModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return WordModel(z["index"].astype(np.int32), z["weight"].astype(np.float32), float(z["bias"][0]))


def train_words(positives: sparse.csr_matrix, negatives: sparse.csr_matrix) -> WordModel | None:
    """arxiv-sanity-lite's per-reader SVM (C=0.01, balanced classes) on tf-idf rows; None without both."""
    if positives.shape[0] == 0 or negatives.shape[0] == 0:
        return None
    x = sparse.vstack([positives, negatives]).tocsr()
    y = np.r_[np.ones(positives.shape[0]), np.zeros(negatives.shape[0])]
    svm = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01).fit(x, y)
    w = svm.coef_.ravel()
    keep = np.sort(np.argsort(-np.abs(w))[:KEPT_WEIGHTS]).astype(np.int32)
    keep = keep[w[keep] != 0]
    return WordModel(keep, w[keep].astype(np.float32), float(svm.intercept_[0]))


def _z(scores: np.ndarray) -> np.ndarray:
    sd = float(scores.std()) if scores.size else 0.0
    return (scores - scores.mean()) / sd if sd > 1e-9 else np.zeros_like(scores)


@dataclass(frozen=True)
class Ranked:
    """Scores of the candidates, and for each the row of the signal it is most like (-1: none)."""

    scores: np.ndarray
    nearest: np.ndarray


def rank(
    candidates: np.ndarray,
    candidate_words: sparse.csr_matrix | None,
    signals: np.ndarray,
    words: WordModel | None,
    dismissed: np.ndarray,
    followed: np.ndarray,
    prior: np.ndarray,
    meaning_weight: float = MEANING_WEIGHT,
) -> Ranked:
    """Score candidates (unit rows) for a reader.

    `signals`: unit vectors of the reader's positive signals (rows, most recent first); `dismissed`: of
    papers they clicked "not interested" on; `followed`: 1 where a candidate comes from something they
    follow; `prior`: the community's view (e.g. standardized upvotes), which orders what nothing
    personal separates (a reader with follows only)."""
    n = candidates.shape[0]
    score = np.zeros(n, dtype=np.float64)
    nearest = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return Ranked(score, nearest)
    personal = False
    if signals.shape[0]:
        sims = candidates @ signals[:MAX_SIGNALS].T
        centroid = signals[:MAX_SIGNALS].mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        meaning = 0.5 * sims.max(axis=1) + 0.5 * (candidates @ centroid)
        nearest = sims.argmax(axis=1)
        if words is not None and candidate_words is not None:
            score += meaning_weight * _z(meaning) + (1 - meaning_weight) * _z(words.score(candidate_words))
        else:
            score += _z(meaning)
        personal = True
    if dismissed.shape[0]:
        score -= DISMISSED_WEIGHT * _z((candidates @ dismissed.T).max(axis=1))
    # Without signals, follows are all there is: what they bring comes first, by the community's view.
    score += (FOLLOW_BOOST if personal else 10.0) * followed
    score += (0.1 if personal else 1.0) * _z(prior.astype(np.float64))
    return Ranked(score, nearest)
