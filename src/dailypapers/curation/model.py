"""A curation model: which of a day's newly announced papers this community will want, and why.

Data in, data out (no database, no web). `train` learns from announcement days whose outcome is known
(`labels`: the candidates the community picked) and from the history of picks; `CurationModel.rank` orders
one day's candidates, best first, each with a short reason shown to readers. Two stages:

1. a text model: logistic regression on tf-idf of title and abstract (hashed words and word pairs);
2. a logistic regression over the features of `features.py` (the authors' track record among earlier picks,
   similarity to recent picks, the text model's score, cues of the abstract, categories).

For each training day the features see only the picks featured before that day, never the paper's own pick,
and the text score of a training row comes from a text model fitted without that row's day (cross-fitting),
so the second stage learns how far to trust the text model on papers it has not seen.
`to_bytes` stores the coefficients as a numpy `.npz` (no pickle) with a JSON header.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import vstack
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32

from dailypapers.curation.features import (
    FEATURE_NAMES,
    HASH_FEATURES,
    INDEX,
    Candidate,
    DayFeatures,
    Pick,
    PickIndex,
    day_features,
    hashed_counts,
    idf_of,
    paper_text,
    tfidf,
    topic_words,
    weigh,
)

__all__ = ["Candidate", "CurationModel", "Pick", "Ranked", "train"]

FORMAT = "dailypapers-curation/1"
TEXT_C = 1.0  # inverse regularization of the text model (chosen on validation days, docs/curation.md)
STACK_C = 0.01  # and of the second stage
FOLDS = 4  # cross-fitting of the text scores of the training rows, by day
MAX_ROWS = 50_000  # candidates learned from at most (all picked ones, a sample of the others): about a year


@dataclass(frozen=True)
class Ranked:
    """One candidate in a ranking: its id, its score (higher is better) and why, in one sentence."""

    id: str
    score: float
    reason: str


def _sampled(cands: dict[dt.date, list[Candidate]], labels: Mapping[str, float]) -> dict[dt.date, list[Candidate]]:
    """Every picked candidate and, past MAX_ROWS in all, an even sample of the others (the same on every run),
    so that training time stays bounded however long the history: a long history has far more unpicked
    papers than a linear model needs, and the sample changes scores by a constant only."""
    total = sum(len(cs) for cs in cands.values())
    picked = sum(1 for cs in cands.values() for c in cs if labels.get(c.id, 0.0) > 0)
    if total <= MAX_ROWS or total == picked:
        return cands
    rate = max(MAX_ROWS - picked, 0) / (total - picked)
    rng = np.random.default_rng(0)
    return {d: [c for c in cs if labels.get(c.id, 0.0) > 0 or rng.random() < rate] for d, cs in cands.items()}


def _text_docs(cands: Sequence[Candidate]) -> list[str]:
    return [paper_text(c.title, c.abstract) for c in cands]


def _fit_text(x, y: np.ndarray) -> tuple[np.ndarray, float]:  # x: scipy.sparse.csr_matrix
    """Weights over the hashed words (zero for words absent from `x`) and the intercept."""
    coef = np.zeros(x.shape[1], dtype=np.float32)
    if y.min() == y.max():
        return coef, 0.0
    used = np.flatnonzero(np.bincount(x.indices, minlength=x.shape[1]))  # lbfgs over unused columns: slow
    lr = LogisticRegression(C=TEXT_C, class_weight="balanced", max_iter=2000).fit(x[:, used], y)
    coef[used] = lr.coef_[0]
    return coef, float(lr.intercept_[0])


def train(
    candidates_by_day: Mapping[dt.date, Sequence[Candidate]],
    picks: Sequence[Pick],
    labels: Mapping[str, float],
) -> CurationModel:
    """Learn from announcement days whose outcome is known.

    `candidates_by_day`: each day's full list as announced. `labels`: candidate id -> a value > 0 for those the
    community picked (absent or 0: not picked); give only days whose picking window has closed. `picks`: the
    history of picks (any days; each training day sees only those before it, never a candidate's own pick).
    When every candidate has an `embedding`, closeness to recent picks is measured on embeddings (then give
    them when ranking too; a candidate without one falls back to tf-idf), else on tf-idf.
    """
    days = sorted(d for d, cs in candidates_by_day.items() if cs)
    if not days:
        raise ValueError("no candidates to learn from")
    cands = _sampled({d: list(candidates_by_day[d]) for d in days}, labels)
    y = {d: np.array([float(labels.get(c.id, 0.0) > 0) for c in cands[d]]) for d in days}
    if not any(v.any() for v in y.values()):
        raise ValueError("no candidate is labelled as picked")
    # Each text is hashed once (the costly part): the idf is counted over the candidates and the picks.
    counts = hashed_counts([t for d in days for t in _text_docs(cands[d])])
    pick_counts = hashed_counts([paper_text(p.title, p.abstract) for p in picks if p.title])
    idf = idf_of(vstack([counts, pick_counts]).tocsr() if pick_counts.shape[0] else counts)
    weighed = weigh(counts, idf)
    bounds = np.cumsum([0] + [len(cands[d]) for d in days])
    x = {d: weighed[bounds[i] : bounds[i + 1]] for i, d in enumerate(days)}
    text_scores: dict[dt.date, np.ndarray] = {}
    folds = [days[k :: min(FOLDS, len(days))] for k in range(min(FOLDS, len(days)))]
    for fold in folds:
        rest = [d for d in days if d not in fold]
        if not rest:
            text_scores.update((d, np.zeros(len(cands[d]))) for d in fold)
            continue
        fold_coef, fold_intercept = _fit_text(
            vstack([x[d] for d in rest]).tocsr(), np.concatenate([y[d] for d in rest])
        )
        text_scores.update((d, x[d] @ fold_coef + fold_intercept) for d in fold)
    coef, intercept = _fit_text(vstack([x[d] for d in days]).tocsr(), np.concatenate([y[d] for d in days]))

    embeddings = all(c.embedding is not None for d in days for c in cands[d])
    index = PickIndex(picks, idf, since=days[0], embeddings=embeddings)
    features = np.vstack([day_features(cands[d], index, x[d], text_scores[d]).x for d in days])
    target = np.concatenate([y[d] for d in days])
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    stack = LogisticRegression(C=STACK_C, max_iter=5000).fit((features - mean) / scale, target)
    meta = {
        "format": FORMAT,
        "features": list(FEATURE_NAMES),
        "days": [days[0].isoformat(), days[-1].isoformat(), len(days)],
        "rows": int(len(target)),
        "positives": int(target.sum()),
        "text_intercept": intercept,
        "embeddings": embeddings,
        "intercept": float(stack.intercept_[0]),
    }
    return CurationModel(idf, coef, mean, scale, stack.coef_[0], meta)


class CurationModel:
    """A trained model: rank a day's candidates given the picks known so far."""

    def __init__(
        self,
        idf: np.ndarray,
        text_coef: np.ndarray,
        mean: np.ndarray,
        scale: np.ndarray,
        coef: np.ndarray,
        meta: dict,
    ) -> None:
        self.idf = np.asarray(idf, dtype=np.float32)
        self.text_coef = np.asarray(text_coef, dtype=np.float32)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.meta = dict(meta)

    @property
    def weights(self) -> dict[str, float]:
        """The second stage's weight of each (standardized) feature."""
        return dict(zip(FEATURE_NAMES, (float(w) for w in self.coef), strict=True))

    def text_scores(self, cands: Sequence[Candidate]) -> np.ndarray:
        return tfidf(_text_docs(cands), self.idf) @ self.text_coef + float(self.meta["text_intercept"])

    def rank(self, candidates: Sequence[Candidate], picks: Sequence[Pick]) -> list[Ranked]:
        """`candidates` best first. Each is scored with the picks featured before its own day (`picks` may
        hold later ones, and the candidate's own pick: both are left out); candidates of several days are
        scored each with its day's history and then ordered together."""
        if not candidates:
            return []
        by_day: dict[dt.date, list[Candidate]] = {}
        for c in candidates:
            by_day.setdefault(c.day, []).append(c)
        index = PickIndex(picks, self.idf, since=min(by_day), embeddings=bool(self.meta.get("embeddings")))
        out: list[Ranked] = []
        for cands in by_day.values():
            x = tfidf(_text_docs(cands), self.idf)
            feats = day_features(cands, index, x, x @ self.text_coef + float(self.meta["text_intercept"]))
            contributions = (feats.x - self.mean) / self.scale * self.coef
            scores = contributions.sum(axis=1) + float(self.meta["intercept"])
            for i, c in enumerate(cands):
                out.append(Ranked(c.id, float(scores[i]), self._reason(c, i, feats, contributions[i])))
        out.sort(key=lambda r: (-r.score, r.id))
        return out

    def _reason(self, c: Candidate, i: int, feats: DayFeatures, contrib: np.ndarray) -> str:
        """One sentence from the two feature groups that raised the score most."""
        x = feats.x[i]
        parts: list[tuple[float, str]] = []
        authors = feats.featured_authors[i]
        group = sum(contrib[INDEX[n]] for n in _AUTHOR_FEATURES)
        if authors and group > 0:
            name, count = authors[0]
            who = f"{len(authors)} of its authors" if len(authors) > 1 else "an author"
            parts.append((group, f"{who} featured before ({name}: {count} pick{'s' if count > 1 else ''})"))
        group = sum(contrib[INDEX[n]] for n in ("sim_max", "sim_top5", "tfidf_max", "tfidf_top5"))
        near = feats.neighbours[i]
        if near.picks and group > 0:
            parts.append((group, _near_phrase(c, near.picks)))
        if contrib[INDEX["text"]] > 0:
            words = self._telling_words(c)
            if words:
                parts.append((contrib[INDEX["text"]], "on subjects this community reads (" + ", ".join(words) + ")"))
        for name, phrase in _CUE_PHRASES.items():
            if contrib[INDEX[name]] > 0 and x[INDEX[name]] > 0:
                parts.append((contrib[INDEX[name]], phrase))
        if contrib[INDEX["n_authors"]] > 0 and len(c.authors) >= 8:
            parts.append((contrib[INDEX["n_authors"]], f"a large team ({len(c.authors)} authors)"))
        parts = [p for p in parts if p[0] > 0.02]
        parts.sort(key=lambda p: -p[0])
        if not parts:
            return "Few signals: no author featured before, and far from recent picks."
        text = "; ".join(p[1] for p in parts[:2])
        return text[0].upper() + text[1:] + "."

    def _telling_words(self, c: Candidate, limit: int = 3) -> list[str]:
        """The words of the title and abstract that the text model weighs most in favour."""
        scored = []
        for word in topic_words(f"{c.title} {c.abstract}", limit=60):
            j = abs(murmurhash3_32(word, seed=0)) % HASH_FEATURES
            weight = float(self.text_coef[j]) * float(self.idf[j])
            if weight > 0:
                scored.append((weight, word))
        scored.sort(key=lambda t: -t[0])
        return [w for _, w in scored[:limit]]

    def to_bytes(self) -> bytes:
        """The model as a numpy `.npz` (arrays and a JSON header; no pickle), for storing it in a database."""
        kept = np.nonzero(self.idf)[0].astype(np.int32)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            meta=np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8),
            kept=kept,
            idf=self.idf[kept],
            text_coef=self.text_coef[kept],
            mean=self.mean,
            scale=self.scale,
            coef=self.coef,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CurationModel:
        """The model `to_bytes` wrote; ValueError for anything else or for a model of other features."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                arrays = {k: z[k] for k in ("kept", "idf", "text_coef", "mean", "scale", "coef")}
        except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a stored curation model ({exc})") from exc
        if meta.get("format") != FORMAT or meta.get("features") != list(FEATURE_NAMES):
            raise ValueError(f"a curation model of another format or features ({meta.get('format')})")
        idf = np.zeros(HASH_FEATURES, dtype=np.float32)
        text_coef = np.zeros(HASH_FEATURES, dtype=np.float32)
        idf[arrays["kept"]] = arrays["idf"]
        text_coef[arrays["kept"]] = arrays["text_coef"]
        return cls(idf, text_coef, arrays["mean"], arrays["scale"], arrays["coef"], meta)


_AUTHOR_FEATURES = (
    "authors_featured",
    "author_picks",
    "author_picks_90d",
    "author_upvotes",
    "first_author_featured",
    "last_author_featured",
    "featured_fraction",
)
_CUE_PHRASES = {
    "cue_code": "shares its code",
    "cue_link": "links a project page",
    "cue_release": "releases what it built",
    "cue_benchmark": "brings a benchmark",
    "cue_dataset": "brings a dataset",
    "cue_size": "states its model sizes",
    "cue_agent": "about agents",
    "cue_gen": "about generative models",
    "cue_llm": "about language models",
    "cue_rl": "about reinforcement learning",
    "primary_cs.CV": "a computer vision paper",
    "primary_cs.CL": "a language paper",
    "title_colon": "a named method",
}


def _near_phrase(c: Candidate, near: Sequence[Pick]) -> str:
    """'close to recent picks on <shared words>', or naming the closest pick when they share no word."""
    mine = set(topic_words(f"{c.title} {c.abstract}", limit=80))
    shared: list[str] = []
    for p in near:
        shared += [w for w in topic_words(p.title) if w in mine and w not in shared]
    if shared:
        return "close to recent picks on " + " ".join(shared[:3])
    title = near[0].title if len(near[0].title) <= 60 else near[0].title[:57].rstrip() + "..."
    return f"close to the recent pick “{title}”"
