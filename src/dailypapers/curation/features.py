"""What the curation model knows of a paper at announcement time, and the features it computes from it.

Pure functions of the data handed in (no database, no web): a day's `Candidate`s and the community's
`Pick`s, of which only those featured before the candidate's day count, never the candidate's own pick.
`model.py` learns how to weigh these features; this module only measures them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import vstack as sparse_vstack
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer

HASH_FEATURES = 2**18
RECENT_DAYS = 60  # picks this recent are the "recent picks" a candidate is compared with
AUTHOR_TAU_DAYS = 365.0  # an author's earlier picks count less with age: exp(-age / tau)
MAIN_CATEGORIES = ("cs.CV", "cs.CL", "cs.LG", "cs.AI")


@dataclass(frozen=True)
class Candidate:
    """A paper as known at announcement time: arXiv metadata, and its sentence embedding when there is one."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    day: dt.date
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class Pick:
    """A paper the community featured on `day` (an HF pick, a curator's feature, a member's submission)."""

    id: str
    day: dt.date
    authors: tuple[str, ...]
    upvotes: int = 0
    title: str = ""
    abstract: str = ""
    embedding: np.ndarray | None = None


# Cues of the abstract: (name, whole words, substrings), looked for in the lowercased title and abstract.
_CUES: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    (
        "code",
        frozenset({"code", "codes", "github"}),
        ("github.com", "gitlab", "huggingface.co", "open-sourc", "open sourc"),
    ),
    ("link", frozenset(), ("http://", "https://", "project page", "website")),
    ("release", frozenset(), ("we release", "will release", "will be released", "publicly available", "available at")),
    ("benchmark", frozenset(), ("benchmark",)),
    ("dataset", frozenset(), ("dataset",)),
    ("size", frozenset({"billion"}), ()),  # and words such as 7b, 1.5b, 350m: see _has_size
    ("sota", frozenset({"sota"}), ("state-of-the-art", "state of the art", "outperform")),
    ("llm", frozenset({"llm", "llms", "mllm", "mllms", "vlm", "vlms"}), ("language model",)),
    ("agent", frozenset(), ("agent",)),
    ("gen", frozenset(), ("diffusion", "text-to-", "generat")),
    ("rl", frozenset({"rl", "grpo", "rlvr"}), ("reinforcement learning", "reward")),
    ("theory", frozenset({"bound", "bounds", "bounded"}), ("theorem", "we prove", "convergence", "regret")),
    ("medical", frozenset(), ("medical", "clinical", "patient", "health")),
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9.]*[a-z0-9]|[a-z0-9]")
_SIZE = re.compile(r"\d+(?:\.\d+)?[bm]")

FEATURE_NAMES: tuple[str, ...] = (
    "authors_featured",  # how many of its authors had a pick before
    "author_picks",  # log1p of the decayed number of earlier picks sharing an author
    "author_picks_90d",  # log1p of the picks sharing an author in the last 90 days
    "author_upvotes",  # log1p of the upvotes of those earlier picks (each pick once)
    "first_author_featured",
    "last_author_featured",
    "featured_fraction",  # authors_featured / number of authors
    "n_authors",  # log1p
    "sim_max",  # cosine to the closest recent pick (embedding when given, else tf-idf)
    "sim_top5",  # mean cosine to the 5 closest recent picks
    "tfidf_max",
    "tfidf_top5",
    "text",  # the text model's score (title and abstract)
    "title_colon",  # a named method: "Name: what it does"
    "title_words",
    "abstract_words",
    "n_categories",
    *(f"primary_{c}" for c in MAIN_CATEGORIES),
    *(f"cue_{name}" for name, _, _ in _CUES),
)
INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}

_vectorizer = HashingVectorizer(
    n_features=HASH_FEATURES,
    alternate_sign=False,
    norm=None,
    ngram_range=(1, 2),
    stop_words="english",
    strip_accents="unicode",
    token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,}")
_STOP = ENGLISH_STOP_WORDS | frozenset(
    {
        *("the", "and", "for", "with", "from", "that", "this", "are", "our", "via", "its", "into", "using"),
        *("based", "towards", "toward", "large", "model", "models", "learning", "new", "method", "approach"),
        *("study", "analysis", "framework", "data", "task", "tasks", "multi", "paradigm", "native", "novel"),
    }
)


@functools.lru_cache(maxsize=1 << 17)
def normalize_name(name: str) -> str:
    """An author's name as compared across sources: no accents, case, dots or hyphens."""
    if not name.isascii():
        name = unicodedata.normalize("NFKD", name)
        name = "".join(c for c in name if not unicodedata.combining(c))
    return " ".join(name.lower().replace(".", " ").replace("-", " ").split())


def paper_text(title: str, abstract: str) -> str:
    return f"{title} {title} {abstract}"  # the title counts twice


PARALLEL_TEXTS = 20_000  # more texts than this are hashed in parallel, one process per core


def _hash(texts: list[str]):  # -> csr_matrix of sublinear term frequencies
    x = _vectorizer.transform(texts)
    x.data = 1.0 + np.log(x.data)
    return x


def hashed_counts(texts: Iterable[str]):  # -> scipy.sparse.csr_matrix (sublinear term frequencies)
    texts = list(texts)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if len(texts) < PARALLEL_TEXTS or cores < 2:
        return _hash(texts)
    from joblib import Parallel, delayed  # scikit-learn's own parallelism, for training on long histories

    step = -(-len(texts) // (cores * 2))
    parts = Parallel(n_jobs=cores)(delayed(_hash)(texts[i : i + step]) for i in range(0, len(texts), step))
    return sparse_vstack(parts).tocsr()


def weigh(counts, idf: np.ndarray):  # (csr_matrix of hashed_counts, idf) -> csr_matrix, rows of length 1
    """Hashed counts weighed by `idf`, each row scaled to unit length."""
    x = counts.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return x.multiply(1.0 / norms[:, None]).tocsr()


def tfidf(texts: Iterable[str], idf: np.ndarray):  # -> scipy.sparse.csr_matrix, rows of length 1
    return weigh(hashed_counts(texts), idf)


def idf_of(counts, min_df: int = 3) -> np.ndarray:  # counts: csr_matrix of hashed_counts
    """Smoothed idf over the rows of `counts`, zero for terms seen in fewer than `min_df` of them (dropped)."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=HASH_FEATURES)
    idf = np.log((1 + n) / (1 + df)) + 1.0
    idf[df < min_df] = 0.0
    return idf.astype(np.float32)


def fit_idf(texts: Iterable[str], min_df: int = 3) -> np.ndarray:
    """Smoothed idf over `texts`, zero for terms seen in fewer than `min_df` of them (dropped)."""
    return idf_of(hashed_counts(texts), min_df)


def topic_words(text: str, limit: int = 12) -> list[str]:
    return [w for w in dict.fromkeys(m.lower() for m in _WORD.findall(text)) if w not in _STOP][:limit]


@dataclass
class Neighbours:
    """A candidate's closest recent picks (best first) and their cosine similarities."""

    picks: list[Pick]
    similarity: list[float]


class PickIndex:
    """The community's picks, indexed once for the features of any day: by author, and by day for the recent ones.

    Only picks within RECENT_DAYS before `since` are vectorized (the others only count for their authors).
    With `embeddings` (and embeddings on both sides) closeness is the cosine of embeddings, else of tf-idf.
    """

    def __init__(self, picks: Sequence[Pick], idf: np.ndarray, since: dt.date, *, embeddings: bool = True) -> None:
        self.use_embeddings = embeddings
        self.picks = sorted(picks, key=lambda p: (p.day, p.id))
        self.days = [p.day.toordinal() for p in self.picks]
        self.by_author: dict[str, list[Pick]] = defaultdict(list)
        for p in self.picks:
            for name in dict.fromkeys(normalize_name(a) for a in p.authors):
                self.by_author[name].append(p)
        self.first = bisect_left(self.days, (since - dt.timedelta(days=RECENT_DAYS)).toordinal())
        window = self.picks[self.first :]
        self.tfidf = tfidf((paper_text(p.title, p.abstract) for p in window), idf)
        self.has_emb = np.array([p.embedding is not None for p in window], dtype=bool)
        dim = next((len(p.embedding) for p in window if p.embedding is not None), 1)
        self.emb = np.zeros((len(window), dim), dtype=np.float32)
        for i, p in enumerate(window):
            if p.embedding is not None:
                self.emb[i] = _unit(p.embedding)

    def recent(self, day: dt.date) -> tuple[int, int]:
        """The rows of `tfidf` and `emb` of the picks featured in the RECENT_DAYS before `day`."""
        lo = bisect_left(self.days, (day - dt.timedelta(days=RECENT_DAYS)).toordinal())
        hi = bisect_left(self.days, day.toordinal())
        return max(lo, self.first) - self.first, max(hi, self.first) - self.first

    def author_stats(self, c: Candidate) -> tuple[list[float], list[tuple[str, int]]]:
        """The author features of `c`, and (author, earlier picks) for each featured author, most first."""
        names = [normalize_name(a) for a in c.authors]
        featured: list[tuple[str, int]] = []
        seen: dict[str, Pick] = {}
        flags = []
        for raw, name in zip(c.authors, names, strict=True):
            own = [p for p in self.by_author.get(name, ()) if p.day < c.day and p.id != c.id]
            flags.append(bool(own))
            if own:
                featured.append((raw, len(own)))
                seen.update((p.id, p) for p in own)
        decayed = sum(math.exp(-(c.day - p.day).days / AUTHOR_TAU_DAYS) for p in seen.values())
        recent = sum(1 for p in seen.values() if (c.day - p.day).days <= 90)
        upvotes = sum(max(p.upvotes, 0) for p in seen.values())
        n = len(names)
        values = [
            float(sum(flags)),
            math.log1p(decayed),
            math.log1p(recent),
            math.log1p(upvotes),
            float(flags[0]) if flags else 0.0,
            float(flags[-1]) if flags else 0.0,
            sum(flags) / n if n else 0.0,
            math.log1p(n),
        ]
        featured.sort(key=lambda t: -t[1])
        return values, featured

    def similarity(self, cands: Sequence[Candidate], cand_tfidf) -> tuple[np.ndarray, list[Neighbours]]:
        """Columns sim_max, sim_top5, tfidf_max, tfidf_top5 of one day's candidates, and their closest picks."""
        out = np.zeros((len(cands), 4))
        neighbours = [Neighbours([], []) for _ in cands]
        lo, hi = self.recent(cands[0].day)
        if lo == hi:
            return out, neighbours
        window = self.picks[self.first + lo : self.first + hi]
        tf = (cand_tfidf @ self.tfidf[lo:hi].T).toarray()
        emb = np.full_like(tf, np.nan)
        cols = np.nonzero(self.has_emb[lo:hi])[0]
        rows = [i for i, c in enumerate(cands) if c.embedding is not None and self.use_embeddings]
        if rows and len(cols):
            vectors = np.stack([_unit(cands[i].embedding) for i in rows])
            emb[np.ix_(rows, cols)] = vectors @ self.emb[lo:hi][cols].T
        own = {c.id: i for i, c in enumerate(cands)}
        for j, p in enumerate(window):  # a candidate's own pick is no history for it
            if p.id in own:
                tf[own[p.id], j] = 0.0
                emb[own[p.id], j] = np.nan
        for i in range(len(cands)):
            row = tf[i] if np.all(np.isnan(emb[i])) else np.where(np.isnan(emb[i]), -1.0, emb[i])
            top = np.argsort(-row, kind="stable")[:5]
            out[i, 0], out[i, 1] = row[top[0]], row[top].mean()
            best = np.sort(tf[i])[::-1][:5]
            out[i, 2], out[i, 3] = best[0], best.mean()
            neighbours[i] = Neighbours([window[j] for j in top[:3]], [float(row[j]) for j in top[:3]])
        return out, neighbours


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).ravel()
    return v / max(float(np.linalg.norm(v)), 1e-12)


def text_features(c: Candidate) -> list[float]:
    text = f"{c.title} {c.abstract}".lower()
    words = set(_TOKEN.findall(text))
    if any(_SIZE.fullmatch(w) for w in words if w[-1] in "bm" and w[0].isdigit()):
        words.add("billion")
    primary = c.categories[0] if c.categories else ""
    return [
        float(":" in c.title),
        math.log1p(len(c.title.split())),
        math.log1p(len(c.abstract.split())),
        float(len(c.categories)),
        *(float(primary == cat) for cat in MAIN_CATEGORIES),
        *(float(bool(words & w) or any(sub in text for sub in subs)) for _, w, subs in _CUES),
    ]


@dataclass
class DayFeatures:
    """One day's feature matrix (rows in candidate order) and what the reasons are made of."""

    x: np.ndarray
    featured_authors: list[list[tuple[str, int]]]
    neighbours: list[Neighbours]


def day_features(cands: Sequence[Candidate], index: PickIndex, cand_tfidf, text_scores: np.ndarray) -> DayFeatures:
    """The features of one day's candidates (all of the same `day`, `cand_tfidf` their rows of `tfidf`), from
    the picks featured before that day."""
    sims, neighbours = index.similarity(cands, cand_tfidf)
    x = np.zeros((len(cands), len(FEATURE_NAMES)))
    featured = []
    for i, c in enumerate(cands):
        authors, names = index.author_stats(c)
        featured.append(names)
        x[i, : len(authors)] = authors
        x[i, INDEX["sim_max"] : INDEX["sim_max"] + 4] = sims[i]
        x[i, INDEX["text"]] = text_scores[i]
        x[i, INDEX["title_colon"] :] = text_features(c)
    return DayFeatures(x, featured, neighbours)
