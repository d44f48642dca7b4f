"""The offline TL;DR and keyphrases against Hugging Face's `ai_summary` and `ai_keywords`, on days held apart.

    python -m bench.bench_summaries [FOLDER] [--first-test 2025-11-01] [--tune N] [--test N] [--fit] [--speed N]

FOLDER (default $CURATION_DATA or ../shared/data/curation) holds `hf_daily/*.json.gz`, Hugging Face's raw daily
papers; those from 2025-05-22 on carry `ai_summary` and `ai_keywords` (LLM-written by HF). Split by date: the
papers featured before --first-test are the tuning part (the weights in search/tldr.py and
search/keyphrases.py were set on it; --fit fits them on a sample), those from it on are the test part, reported
here. Each paper counts once (its first featured day).

TL;DR: ROUGE-L F (Google's `rouge-score`, Porter stemming) and the cosine of MiniLM embeddings between a
method's sentence and `ai_summary`, against the first sentence of the abstract. Keyphrases: precision,
recall and F1 at 5 and 10 of exact matches after normalization (case, hyphens, plurals; "Long Form (LF)"
matches either part), against the title's words and tf-idf's top terms. MiniLM embeddings of every text are
cached in bench/out/summaries-embeddings.npz (the first run embeds about 50,000 short texts: minutes on 2
cores; later runs take seconds). --speed N times `describe_many` on N test papers with the real model and
no cache (papers a second, TL;DR and keyphrases together).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dailypapers.search import keyphrases as kp
from dailypapers.search import tldr
from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.search.sentences import plain_text, split_sentences

DEFAULT = Path(os.environ.get("CURATION_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "curation"))
CACHE = Path(__file__).resolve().parent / "out" / "summaries-embeddings.npz"


@dataclass(frozen=True)
class Paper:
    id: str
    day: dt.date
    title: str
    abstract: str
    summary: str
    keywords: tuple[str, ...]


def load(folder: Path) -> list[Paper]:
    """Every paper with both `ai_summary` and `ai_keywords`, once, on the first day HF featured it."""
    papers: dict[str, Paper] = {}
    for path in sorted((folder / "hf_daily").glob("*.json.gz")):
        day = dt.date.fromisoformat(path.name[:10])
        for item in json.loads(gzip.decompress(path.read_bytes())):
            p = item.get("paper") or {}
            if p.get("ai_summary") and p.get("ai_keywords") and p.get("summary") and p["id"] not in papers:
                papers[p["id"]] = Paper(
                    p["id"], day, " ".join(p["title"].split()), p["summary"], p["ai_summary"], tuple(p["ai_keywords"])
                )
    return list(papers.values())


class CachedEmbedder:
    """The real model behind a disk cache of vectors keyed by text (float16, in CACHE)."""

    def __init__(self, inner: Embedder | None = None) -> None:
        self.inner = inner
        self.name = "all-MiniLM-L6-v2"
        self.dim = 384
        self.vectors: dict[str, np.ndarray] = {}
        self.dirty = False
        if CACHE.exists():
            with np.load(CACHE) as z:
                self.vectors = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
        if missing:
            if self.inner is None:
                from dailypapers.config import Settings
                from dailypapers.search.embedder import get_embedder

                self.inner = get_embedder(Settings(embed_device="cpu"))
            if len(missing) > 500:
                print(f"embedding {len(missing)} texts...", file=sys.stderr)
            fresh = self.inner.encode([t for _, t in missing])
            self.vectors.update(zip([k for k, _ in missing], fresh.astype(np.float16), strict=True))
            self.dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.stack([self.vectors[k] for k in keys]).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def save(self) -> None:
        if self.dirty:
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            keys = sorted(self.vectors)
            np.savez(CACHE, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


# ---- TL;DR -------------------------------------------------------------------------------------------------


Score = Callable[[str, str], float]  # (candidate, reference) -> ROUGE-L F


def rouge_l() -> Score:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return lambda candidate, reference: scorer.score(reference, candidate)["rougeL"].fmeasure


def first_sentence(abstract: str) -> str:
    sentences = split_sentences(plain_text(abstract))
    return sentences[0] if sentences else ""


def centroid(papers: Sequence[Paper], emb: Embedder) -> list[str]:
    """KeyBERT's idea for sentences: the one closest to the whole paper."""
    out = []
    for p in papers:
        pool = tldr.sentences_of(p.abstract)
        vecs = emb.encode([*pool, paper_text(p.title, p.abstract)])
        out.append(pool[int(np.argmax(vecs[:-1] @ vecs[-1]))] if pool else "")
    return out


def sentence_table(papers: Sequence[Paper], emb: Embedder, score: Score) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per paper: the features of its sentences and each sentence's ROUGE-L F + cosine to `ai_summary`."""
    xs, ys = [], []
    for p in papers:
        pool = tldr.sentences_of(p.abstract)
        if len(pool) < 2:
            continue
        vecs = emb.encode([*pool, plain_text(p.title) or "-", paper_text(p.title, p.abstract), p.summary])
        sent, title_vec, doc_vec, ref = vecs[:-3], vecs[-3], vecs[-2], vecs[-1]
        xs.append(tldr.sentence_features(pool, p.title, sent @ doc_vec, sent @ title_vec))
        ys.append(np.array([score(s, p.summary) for s in pool]) + sent @ ref)
    return xs, ys


def fit_tldr(xs: list[np.ndarray], ys: list[np.ndarray]) -> np.ndarray:
    """A ridge regression of each sentence's score on its features, both centred per paper."""
    from sklearn.linear_model import Ridge

    x = np.vstack([a - a.mean(axis=0) for a in xs])
    y = np.concatenate([b - b.mean() for b in ys])
    return Ridge(alpha=1.0, fit_intercept=False).fit(x, y).coef_.astype(np.float32)


def tldr_rows(papers: Sequence[Paper], emb: Embedder, weights: np.ndarray) -> dict[str, list[str]]:
    pairs = [(p.title, p.abstract) for p in papers]
    xs, ys = sentence_table(papers, emb, rouge_l())
    oracle = []
    it = iter(zip(xs, ys, strict=True))
    for p in papers:
        pool = tldr.sentences_of(p.abstract)
        oracle.append(pool[int(np.argmax(next(it)[1]))] if len(pool) > 1 else (pool[0] if pool else ""))
    return {
        "first sentence of the abstract (baseline)": [first_sentence(p.abstract) for p in papers],
        "sentence closest to the paper's embedding": centroid(papers, emb),
        "ours, lead-ins kept": tldr.tldrs(pairs, emb, weights=weights, trim=False),
        "**ours** (`search.tldr.tldrs`)": tldr.tldrs(pairs, emb, weights=weights),
        "best single sentence by ROUGE-L + cosine (oracle, upper bound)": oracle,
    }


def tldr_metrics(
    papers: Sequence[Paper], outputs: list[str], emb: Embedder, score: Score
) -> tuple[float, float, float]:
    vecs = emb.encode([o or "-" for o in outputs])
    refs = emb.encode([p.summary for p in papers])
    r = np.mean([score(o, p.summary) for o, p in zip(outputs, papers, strict=True)])
    return float(r), float(np.mean(np.sum(vecs * refs, axis=1))), float(np.mean([len(o) for o in outputs]))


# ---- keyphrases ----------------------------------------------------------------------------------------------


def variants(keyword: str) -> set[str]:
    """What a keyword matches after normalization: itself, and for "Long Form (LF)" either part."""
    out = {kp.normalize(keyword)}
    m = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", keyword.strip())
    if m:
        out |= {kp.normalize(m.group(1)), kp.normalize(m.group(2))}
    return out - {""}


def matches(predicted: Sequence[str], gold: Sequence[str]) -> tuple[int, int]:
    """(predictions that match a keyword, keywords matched), each keyword matched at most once."""
    gold_variants = [variants(g) for g in gold]
    used: set[int] = set()
    hits = 0
    for p in predicted:
        pv = variants(p)
        j = next((j for j, g in enumerate(gold_variants) if j not in used and g & pv), None)
        if j is not None:
            used.add(j)
            hits += 1
    return hits, len(used)


def kp_metrics(papers: Sequence[Paper], outputs: list[list[str]]) -> list[float]:
    row = []
    for k in (5, 10):
        ps, rs, fs = [], [], []
        for p, out in zip(papers, outputs, strict=True):
            hits, found = matches(out[:k], p.keywords)
            prec, rec = hits / k, found / len(p.keywords)
            ps.append(prec)
            rs.append(rec)
            fs.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        row += [float(np.mean(ps)), float(np.mean(rs)), float(np.mean(fs))]
    return row


def title_words(p: Paper) -> list[str]:
    words = re.findall(r"[\w\-.]+", plain_text(p.title))
    out, seen = [], set()
    for w in (w.strip(".") for w in words):
        if w and w.lower() not in kp.STOP_WORDS and kp.normalize(w) not in seen:
            seen.add(kp.normalize(w))
            out.append(w)
    return out


def tfidf(train: Sequence[Paper]) -> Callable[[Sequence[Paper]], list[list[str]]]:
    """tf-idf's top unigrams and bigrams of title and abstract, document frequencies from the tuning part."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        stop_words=sorted(kp.STOP_WORDS),
        ngram_range=(1, 2),
        sublinear_tf=True,
        token_pattern=r"(?u)\b[A-Za-z][\w\-]+\b",
        lowercase=True,
    )
    vec.fit([f"{p.title} {plain_text(p.abstract)}" for p in train])
    names = vec.get_feature_names_out()

    def top(papers: Sequence[Paper], k: int = 10) -> list[list[str]]:
        m = vec.transform([f"{p.title} {plain_text(p.abstract)}" for p in papers])
        out = []
        for row in m:
            order = row.indices[np.argsort(-row.data, kind="stable")]
            picked: list[str] = []
            for i in order:
                name = names[i]
                if not any(set(name.split()) <= set(q.split()) or set(q.split()) <= set(name.split()) for q in picked):
                    picked.append(name)
                if len(picked) == k:
                    break
            out.append(picked)
        return out

    return top


def candidate_table(
    papers: Sequence[Paper], emb: Embedder, prefilter: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per paper: its candidates' features (with cosines) and whether each matches an `ai_keywords` entry."""
    xs, ys = [], []
    for p in papers:
        cands = kp.candidates(p.title, p.abstract)
        if prefilter and len(cands) > kp.PREFILTER:
            best = np.argsort(-kp.score(kp.features(cands)), kind="stable")[: kp.PREFILTER]
            cands = [cands[i] for i in sorted(best)]
        if not cands:
            continue
        vecs = emb.encode([*(c.text for c in cands), paper_text(p.title, p.abstract)])
        xs.append(kp.features(cands, vecs[:-1] @ vecs[-1]))
        gold = set().union(*(variants(g) for g in p.keywords))
        ys.append(np.array([bool(variants(c.text) & gold) for c in cands]))
    return xs, ys


def fit_keyphrases(xs: list[np.ndarray], ys: list[np.ndarray]) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=2000).fit(np.vstack(xs), np.concatenate(ys))
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def keyphrase_rows(papers: Sequence[Paper], tune: Sequence[Paper], emb: Embedder) -> dict[str, list[list[str]]]:
    pairs = [(p.title, p.abstract) for p in papers]
    cosine_only = np.zeros(len(kp.FEATURES), dtype=np.float32)
    cosine_only[kp.FEATURES.index("cosine")] = 1.0
    no_model = kp.WEIGHTS.copy()
    no_model[kp.FEATURES.index("cosine")] = 0.0
    rows = {
        "title's words (baseline)": [title_words(p) for p in papers],
        "tf-idf top terms, 1-2 words (baseline)": tfidf(tune)(papers),
    }
    saved = kp.WEIGHTS.copy()
    try:
        kp.WEIGHTS[:] = cosine_only
        rows["KeyBERT-like: our candidates, cosine to the paper + MMR"] = kp.keyphrases(pairs, emb, top_n=10)
        kp.WEIGHTS[:] = no_model
        rows["ours without the model (features only)"] = kp.keyphrases(pairs, _NoModel(), top_n=10)
    finally:
        kp.WEIGHTS[:] = saved
    rows["**ours** (`search.keyphrases.keyphrases`)"] = kp.keyphrases(pairs, emb, top_n=10)
    return rows


class _NoModel:
    """Zero vectors: every cosine 0, so the ranking is the features' alone (MMR then only orders by score)."""

    name, dim = "none", 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)


# ---- main ----------------------------------------------------------------------------------------------------


def speed(papers: Sequence[Paper], n: int) -> str:
    from dailypapers.config import Settings
    from dailypapers.search.embedder import get_embedder
    from dailypapers.search.summaries import describe_many

    model = get_embedder(Settings(embed_device="cpu"))
    model.encode(["warm up"])
    batch = [({}, p.title, p.abstract) for p in papers[:n]]
    t0 = time.perf_counter()
    out = describe_many(batch, model)
    seconds = time.perf_counter() - t0
    assert all(d.tldr for d in out)
    rate = len(batch) / seconds
    return f"{len(batch)} papers in {seconds:.1f} s: {rate:.1f} papers/s (TL;DR + 8 keyphrases, batch of {n})"


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--first-test", type=dt.date.fromisoformat, default=dt.date(2025, 11, 1))
    ap.add_argument("--tune", type=int, default=400, help="tuning papers sampled for --fit (seed 0)")
    ap.add_argument("--test", type=int, default=0, help="test papers sampled (seed 0); 0: all")
    ap.add_argument("--fit", action="store_true", help="fit the weights on the tuning sample, print and use them")
    ap.add_argument("--on-tune", action="store_true", help="report on the tuning sample instead of the test part")
    ap.add_argument("--speed", type=int, default=0, help="time describe_many on this many test papers")
    args = ap.parse_args()

    t_start = time.perf_counter()
    papers = load(args.folder)
    tune_all = [p for p in papers if p.day < args.first_test]
    test = [p for p in papers if p.day >= args.first_test]
    tune = random.Random(0).sample(tune_all, min(args.tune, len(tune_all)))
    if args.test and args.test < len(test):
        test = random.Random(0).sample(test, args.test)
    if args.on_tune:
        test = tune
    emb = CachedEmbedder()
    score = rouge_l()
    weights = tldr.WEIGHTS
    try:
        if args.fit:
            weights = fit_tldr(*sentence_table(tune, emb, score))
            print("tldr.WEIGHTS = np.array([" + ", ".join(f"{w:.3f}" for w in weights) + "])")
            coef, bias = fit_keyphrases(*candidate_table(tune, emb, prefilter=False))
            print("keyphrases.WEIGHTS = np.array([" + ", ".join(f"{w:.2f}" for w in coef) + f"]), BIAS = {bias:.2f}")
            kp.WEIGHTS[:] = coef
            kp.BIAS = bias
        print(f"\ndata: {len(papers)} HF papers with ai_summary and ai_keywords, {papers[0].day}..{papers[-1].day}")
        print(
            f"tuning part: {len(tune_all)} papers featured before {args.first_test} ({len(tune)} sampled for fitting)"
        )
        print(
            f"{'reported on the tuning sample' if args.on_tune else 'test part'}: {len(test)} papers "
            f"{min(p.day for p in test)}..{max(p.day for p in test)}\n"
        )

        print("| TL;DR method | ROUGE-L F | MiniLM cosine | mean length (chars) |")
        print("| --- | --- | --- | --- |")
        for name, outputs in tldr_rows(test, emb, weights).items():
            r, c, n = tldr_metrics(test, outputs, emb, score)
            print(f"| {name} | {r:.3f} | {c:.3f} | {n:.0f} |")
        print(
            f"| (Hugging Face's `ai_summary` itself: mean length {np.mean([len(p.summary) for p in test]):.0f}) | | | |"
        )

        print("\n| keyphrase method | P@5 | R@5 | F1@5 | P@10 | R@10 | F1@10 |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, outputs in keyphrase_rows(test, tune_all, emb).items():
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in kp_metrics(test, outputs)) + " |")
        print(f"\n(`ai_keywords`: {np.mean([len(p.keywords) for p in test]):.1f} a paper on average)")
    finally:
        emb.save()
    print(f"\nmachine: {machine()}; bench took {time.perf_counter() - t_start:.0f} s")
    if args.speed:
        print("speed: " + speed(test, args.speed))


if __name__ == "__main__":
    main()
