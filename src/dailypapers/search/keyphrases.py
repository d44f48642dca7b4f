"""Keyphrases of a paper, offline: phrases of its title and abstract, ranked, without repeats.

Candidates are the runs of words between stop words and punctuation (and their shorter pieces), plus the
terms an abstract defines ("Group Contrastive Policy Optimization (GCPO)"). Each gets a score from what it
looks like (how often and how early it occurs, whether the title has it, whether it is a named term) and
from how close its MiniLM embedding is to the paper's (KeyBERT's idea); the weights were fitted on Hugging
Face's `ai_keywords` (bench/bench_summaries.py, docs/summaries.md). Maximal marginal relevance then picks
the best ones that do not say the same thing twice. Pure functions; the model is the caller's `Embedder`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.search.sentences import is_english, plain_text, split_sentences

# Words that end or split a keyphrase: English function words, and the verbs, adverbs and vague adjectives
# of abstracts ("we propose a novel ..."), which a part-of-speech tagger would have told from nouns.
_STOP_WORDS_TEXT = """
    a about above across after again against all almost along already also although always am among an and
    another any are as at be because been before being below between both but by can cannot could did do does
    doing done during each either else enough especially even ever every few for from further furthermore
    had has have having he her here hers him his how however i if in into is it its itself just least less
    let like made make makes many may me might more moreover most much must my neither no nor not now of off
    often on once one only onto or other others otherwise our ours out over own per perhaps rather same she
    should since so some still such than that the their theirs them themselves then there thereby therefore
    these they this those though through thus to too toward towards under unless until up upon us very via
    was we were what whatever when where whereas whether which while who whom whose why will with within
    without would yet you your
    propose proposes proposed proposing present presents presented presenting introduce introduces introduced
    introducing show shows showed shown showing demonstrate demonstrates demonstrated demonstrating achieve
    achieves achieved achieving outperform outperforms outperformed outperforming improve improves improved
    improving enable enables enabled enabling use uses used using leverage leverages leveraged leveraging
    based allow allows allowed allowing provide provides provided providing require requires required
    requiring remain remains remained consider considers considered develop develops developed developing
    design designs designed designing yield yields yielding study studies studied explore explores explored
    exploring investigate investigates investigated investigating address addresses addressed addressing
    evaluate evaluates evaluated evaluating conduct conducts conducted release released releases make
    find finds found reveal reveals revealed suggest suggests suggested obtain obtains obtained perform
    performs performed lead leads led apply applies applied applying establish establishes established
    include includes including included called termed named aim aims aiming seek seeks help helps
    employ employs employed employing incorporate incorporates incorporated integrate integrates integrated
    integrating extend extends extended offer offers offered surpass surpasses surpassing reach reaches
    reaching combine combines combined combining capture captures captured support supports supported
    focus focuses focused remains available given give gives well able due need needs et al e.g i.e etc
    novel new existing recent recently various several different significant significantly substantially
    extensive extensively further key crucial critical important challenging promising effective
    effectively efficient efficiently simple strong stronger superior comprehensive comprehensively
    first second third two three four five six seven eight nine ten multiple numerous paper
    """
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Heads of phrases that name no particular thing on their own ("framework", "performance").
_GENERIC_TEXT = (
    "work approach method framework result experiment performance model task problem "
    "study analysis technique system paradigm strategy setting improvement"
)
_GENERIC = frozenset(_GENERIC_TEXT.split())
_WORD = re.compile(r"[^\s,;:!?()\[\]{}\"“”‘’'<>=|]+")
_BREAK = re.compile(r"[,;:!?()\[\]{}\"“”<>=|]|(?<=\w)[.](?=\s|$)|\s[–—-]\s|’s\b|'s\b")
_ADVERB = re.compile(r"(?:ally|ively|ently|antly|ously|edly|ably|ibly|fully|ingly|tly|rly|ely)$")
_ABBREVIATION = re.compile(r"\(([A-Za-z][\w\-.+/]*[A-Z][\w\-.+/]*)s?\)")
MAX_WORDS = 4
MAX_DEFINED_WORDS = 7


@dataclass
class Candidate:
    """A phrase of the text, as it first appears, with what its score is computed from."""

    text: str
    key: str
    count: int = 0
    first: float = 1.0
    words: int = 1
    in_title: bool = False
    defined: bool = False
    named: bool = False
    runs: set[int] = field(default_factory=set)


def normalize(phrase: str) -> str:
    """A phrase's identity: lower case, hyphens as spaces, simple plurals singular ("LLMs" = "llm")."""
    words = re.sub(r"[-_/]+", " ", phrase.lower()).split()
    return " ".join(
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")) else w for w in words
    )


def _is_boundary(word: str) -> bool:
    low = word.lower()
    if low in STOP_WORDS or not any(c.isalpha() for c in word):
        return True
    if low.islower() and _ADVERB.search(low) and len(low) > 5:
        return True
    if re.fullmatch(r"\d[dD]", word):
        return False  # 3D
    return bool(re.fullmatch(r"[\d.,%×x+~≈<>±]+[a-zA-Z]?|[\d.]+[kKMBT]|\w", word))  # 4.29%, 3x, 7B, "a"


def _named(words: Sequence[str]) -> bool:
    """A name rather than words: an acronym, a mixed-case or digit-bearing token ("GRPO", "MathVista", "Qwen2.5")."""
    return any(re.search(r"[A-Z].*[A-Z]|[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]", w) for w in words)


def _long_form(words: list[str], abbreviation: str) -> int:
    """How many of `words` (the last ones, before "(ABBR)") the abbreviation stands for; 0 when none."""
    letters = [c.lower() for c in abbreviation if c.isalnum()]
    if len(letters) < 2:
        return 0
    for size in range(1, min(len(words), MAX_DEFINED_WORDS, len(letters) + 2) + 1):
        span = words[-size:]
        if span[0].lower() in STOP_WORDS or span[0][0].lower() != letters[0]:
            continue
        # Schwartz and Hearst's test: the letters appear in order, the first at a word's start.
        text, i = " ".join(span).lower(), 0
        for c in letters:
            i = text.find(c, i)
            if i < 0:
                break
            i += 1
        else:
            return size
    return 0


def candidates(title: str, abstract: str) -> list[Candidate]:
    """The candidate keyphrases of a paper's plain title and abstract, in order of first appearance."""
    title, abstract = plain_text(title), plain_text(abstract)
    parts = [title, *split_sentences(abstract)] if title else split_sentences(abstract)
    total = max(1, sum(len(p) for p in parts))
    title_keys = f" {normalize(title)} "
    found: dict[str, Candidate] = {}
    offset = 0
    run_id = 0

    def add(words: list[str], where: float, run: int, defined: bool = False) -> None:
        text = " ".join(words)
        key = normalize(text)
        cand = found.get(key)
        if cand is None:
            cand = found[key] = Candidate(text, key, first=where, words=len(words), named=_named(words))
            cand.in_title = f" {key} " in title_keys
        cand.count += 1
        cand.defined |= defined
        cand.runs.add(run)

    for part in parts:
        for chunk_match in re.finditer(r"[^,;:!?()\[\]{}\"“”<>=|]+|\([^()]*\)", part):
            chunk = chunk_match.group(0)
            where = (offset + chunk_match.start()) / total
            if chunk.startswith("("):
                abbr = _ABBREVIATION.fullmatch(chunk)
                before = [w.strip(".") for w in _WORD.findall(part[: chunk_match.start()])][-MAX_DEFINED_WORDS - 1 :]
                size = _long_form(before, abbr.group(1)) if abbr else 0
                if abbr and size:
                    run_id += 1
                    add(before[-size:], where, run_id, defined=True)
                    add([abbr.group(1)], where, run_id, defined=True)
                    continue
                chunk = chunk[1:-1]
            for piece in _BREAK.split(chunk):
                words = [w.strip(".'’") for w in _WORD.findall(piece)]
                run: list[str] = []
                for word in [*words, ""]:
                    if word and not _is_boundary(word):
                        run.append(word)
                        continue
                    if run:
                        run_id += 1
                        for size in range(1, min(MAX_WORDS, len(run)) + 1):
                            for i in range(len(run) - size + 1):
                                add(run[i : i + size], where, run_id)
                    run = []
        offset += len(part) + 1
    return list(found.values())


# Set by hand on the tuning days, the scale of a logistic regression of "Hugging Face listed this phrase" on
# these features (`python -m bench.bench_summaries --fit` fits one; docs/summaries.md).
FEATURES = ("cosine", "log_count", "first", "in_title", "defined", "named", "one_word", "words", "generic", "part")
WEIGHTS = np.array([6.0, 1.0, -1.0, 1.0, 1.5, 1.0, -0.5, 0.0, -1.0, -0.5], dtype=np.float32)
BIAS = -4.0
PREFILTER = 40  # candidates embedded per paper, the best by the features that need no model
MMR_DIVERSITY = 0.3  # KeyBERT's `diversity`: 0 ranks by score only, 1 by novelty only


def features(cands: Sequence[Candidate], cosines: np.ndarray | None = None) -> np.ndarray:
    """One row per candidate, columns as FEATURES (cosine 0 when not given)."""
    rows = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    longer = {}
    for c in cands:
        for w in c.key.split():
            longer[w] = max(longer.get(w, 0), c.count if c.words > 1 else 0)
    for i, c in enumerate(cands):
        last = normalize(c.key.split()[-1]) if c.key else ""
        # A word that mostly occurs inside a longer candidate is a piece of it ("policy" of "policy gradient").
        part = c.words == 1 and longer.get(c.key, 0) >= c.count
        rows[i] = (
            0.0,
            math.log1p(c.count),
            c.first,
            c.in_title,
            c.defined,
            c.named,
            c.words == 1,
            min(c.words, MAX_WORDS) / MAX_WORDS,
            last in _GENERIC,
            part,
        )
    if cosines is not None:
        rows[:, 0] = cosines
    return rows


def score(rows: np.ndarray) -> np.ndarray:
    return rows @ WEIGHTS + BIAS


def mmr(scores: np.ndarray, vectors: np.ndarray, top_n: int, diversity: float = MMR_DIVERSITY) -> list[int]:
    """Indexes of up to `top_n` rows: each next one the best by score less its likeness to those chosen."""
    if not len(scores):
        return []
    chosen = [int(np.argmax(scores))]
    rest = [i for i in range(len(scores)) if i != chosen[0]]
    sims = vectors @ vectors.T if len(vectors) else np.zeros((len(scores), len(scores)))
    spread = float(scores.max() - scores.min()) or 1.0
    while rest and len(chosen) < top_n:
        relevance = (scores[rest] - scores.min()) / spread
        redundancy = sims[np.ix_(rest, chosen)].max(axis=1)
        best = rest[int(np.argmax((1 - diversity) * relevance - diversity * redundancy))]
        chosen.append(best)
        rest.remove(best)
    return chosen


def _select(cands: list[Candidate], order: list[int], top_n: int) -> list[str]:
    """Candidates in `order`, skipping one whose words a chosen one already has (or the other way)."""
    out: list[str] = []
    seen: list[tuple[set[str], frozenset[int]]] = []
    for i in order:
        c = cands[i]
        words = set(c.key.split())
        if any((words <= w or w <= words) and c.runs & runs for w, runs in seen):
            continue  # "policy optimization" after "group contrastive policy optimization" from the same place
        if any(words == w for w, _ in seen):
            continue
        seen.append((words, frozenset(c.runs)))
        out.append(c.text)
        if len(out) == top_n:
            break
    return out


def keyphrases(
    papers: Sequence[tuple[str, str]],
    embedder: Embedder,
    *,
    top_n: int = 8,
    doc_vectors: np.ndarray | None = None,
) -> list[list[str]]:
    """Up to `top_n` keyphrases of each (title, abstract), best first; [] for an empty or non-English abstract.

    `doc_vectors` are the papers' embeddings of `paper_text(title, abstract)` when the caller has them (the
    search index does); otherwise they are computed. The model runs twice per call, however many papers.
    """
    pools: list[list[Candidate]] = []
    for title, abstract in papers:
        text = plain_text(abstract)
        if not text or not is_english(f"{plain_text(title)} {text}"):
            pools.append([])
            continue
        cands = candidates(title, abstract)
        if len(cands) > PREFILTER:
            best = np.argsort(-score(features(cands)), kind="stable")[:PREFILTER]
            cands = [cands[i] for i in sorted(best)]
        pools.append(cands)
    wanted = [i for i, pool in enumerate(pools) if pool]
    if not wanted:
        return [[] for _ in papers]
    if doc_vectors is None:
        docs = embedder.encode([paper_text(*papers[i]) for i in wanted])
    else:
        docs = np.asarray(doc_vectors, dtype=np.float32)[wanted]
    phrase_vectors = embedder.encode([c.text for i in wanted for c in pools[i]])
    out: list[list[str]] = [[] for _ in papers]
    start = 0
    for doc, i in zip(docs, wanted, strict=True):
        cands = pools[i]
        vectors = phrase_vectors[start : start + len(cands)]
        start += len(cands)
        scores = score(features(cands, vectors @ doc))
        out[i] = _select(cands, mmr(scores, vectors, top_n * 2), top_n)
    return out
