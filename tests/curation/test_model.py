"""The curation model on a small synthetic history: what it learns, what it may see, and how it is stored."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from dailypapers.curation.features import INDEX, PickIndex, fit_idf, normalize_name, text_features, tfidf
from dailypapers.curation.model import Candidate, CurationModel, Pick, Ranked, train

START = dt.date(2025, 3, 3)
TOPICS = {
    "video": "video diffusion generation frames temporal motion synthesis",
    "agents": "language model agents tool use planning reasoning benchmark",
    "graphs": "graph neural networks message passing node classification",
    "control": "robust control linear systems stability lyapunov convex",
    "survey": "survey taxonomy review literature classical methods overview",
}
STARS = ("Ada Star", "Bo Bright")  # authors whose papers the community keeps picking


def _paper(rng: random.Random, pid: str, day: dt.date, topic: str, authors: tuple[str, ...]) -> Candidate:
    words = TOPICS[topic].split()
    abstract = " ".join(rng.choice(words) for _ in range(40)) + " we study this problem with experiments."
    title = " ".join(rng.sample(words, 4)).title()
    return Candidate(pid, title, abstract, authors, ("cs.LG",), day)


def _stranger(rng: random.Random) -> str:
    return f"Person {rng.randrange(10_000)}"


def history(days: int = 12, per_day: int = 24, seed: int = 7):
    """Candidates by day, picks (featured a day after announcement, plus earlier ones) and labels.

    On each day the stars' papers are picked whatever their topic, and so are some video papers."""
    rng = random.Random(seed)
    by_day: dict[dt.date, list[Candidate]] = {}
    picks: list[Pick] = []
    labels: dict[str, float] = {}
    for k in range(10):  # a track record from before the first day
        day = START - dt.timedelta(days=30 - k)
        picks.append(Pick(f"old.{k}", day, (STARS[k % 2], _stranger(rng)), 20, "Older Video Paper", TOPICS["video"]))
    for d in range(days):
        day = START + dt.timedelta(days=d)
        cands = []
        for n in range(per_day):
            topic = rng.choice(sorted(TOPICS))
            authors = tuple(_stranger(rng) for _ in range(rng.randint(1, 5)))
            if n < 2:
                authors = (_stranger(rng), STARS[n])
            c = _paper(rng, f"25{d:02d}.{n:05d}", day, topic, authors)
            cands.append(c)
            if n < 2 or (topic == "video" and rng.random() < 0.5):
                labels[c.id] = 1.0
                picks.append(Pick(c.id, day + dt.timedelta(days=1), c.authors, 10, c.title, c.abstract))
        by_day[day] = cands
    return by_day, picks, labels


@pytest.fixture(scope="module")
def trained():
    by_day, picks, labels = history()
    return train(by_day, picks, labels), by_day, picks


def test_an_author_with_a_track_record_ranks_above_a_stranger(trained):
    model, _, picks = trained
    day = START + dt.timedelta(days=40)
    rng = random.Random(1)
    base = _paper(rng, "2601.00001", day, "control", ("Ada Star", "Someone Else"))
    stranger = Candidate("2601.00002", base.title, base.abstract, ("Nobody Known", "Someone Else"), ("cs.LG",), day)
    ranked = model.rank([stranger, base], picks)
    assert [r.id for r in ranked] == ["2601.00001", "2601.00002"]
    assert ranked[0].score > ranked[1].score
    assert "featured before" in ranked[0].reason and "Ada Star" in ranked[0].reason


def test_the_topic_the_community_picks_ranks_above_another(trained):
    model, _, picks = trained
    day = START + dt.timedelta(days=40)
    rng = random.Random(2)
    video = _paper(rng, "2601.00010", day, "video", ("A Nobody",))
    control = _paper(rng, "2601.00011", day, "control", ("B Nobody",))
    assert [r.id for r in model.rank([control, video], picks)] == ["2601.00010", "2601.00011"]


def test_reasons_are_short_sentences(trained):
    model, by_day, picks = trained
    ranked = model.rank(by_day[START + dt.timedelta(days=11)], picks)
    assert len(ranked) == 24
    for r in ranked:
        assert isinstance(r, Ranked)
        assert r.reason[0].isupper() and r.reason.endswith(".") and 10 < len(r.reason) < 200
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_round_trip_through_bytes_gives_identical_scores(trained):
    model, by_day, picks = trained
    data = model.to_bytes()
    assert isinstance(data, bytes) and b"pickle" not in data
    again = CurationModel.from_bytes(data)
    day = by_day[START + dt.timedelta(days=5)]
    assert model.rank(day, picks) == again.rank(day, picks)
    assert again.weights == model.weights


def test_from_bytes_refuses_anything_else():
    with pytest.raises(ValueError):
        CurationModel.from_bytes(b"not a model")


def test_training_is_deterministic(trained):
    model, by_day, picks = trained
    again = train(*history())
    day = by_day[START + dt.timedelta(days=3)]
    assert again.rank(day, picks) == model.rank(day, picks)


def test_an_empty_day_ranks_to_nothing(trained):
    model, _, picks = trained
    assert model.rank([], picks) == []


def test_a_candidates_own_pick_and_later_picks_are_not_history():
    day = dt.date(2025, 6, 2)
    own = Pick("2506.00001", day - dt.timedelta(days=2), ("Solo Writer",), 50, "Own", "own abstract")
    later = Pick("2506.09999", day + dt.timedelta(days=1), ("Solo Writer", "Late Comer"), 5, "Later", "later")
    earlier = Pick("2505.00002", day - dt.timedelta(days=9), ("Other Hand",), 3, "Earlier", "earlier")
    cand = Candidate("2506.00001", "Own", "own abstract", ("Solo Writer", "Other Hand"), ("cs.CL",), day)
    index = PickIndex([own, later, earlier], fit_idf(["own abstract"] * 3), since=day)
    values, featured = index.author_stats(cand)
    assert values[INDEX["authors_featured"]] == 1.0  # Other Hand, through the earlier pick only
    assert featured == [("Other Hand", 1)]
    assert values[INDEX["first_author_featured"]] == 0.0 and values[INDEX["last_author_featured"]] == 1.0


def test_future_picks_do_not_change_a_ranking(trained):
    model, by_day, picks = trained
    day = START + dt.timedelta(days=6)
    before = [p for p in picks if p.day < day]
    assert model.rank(by_day[day], before) == model.rank(by_day[day], picks)


def test_embeddings_when_given_are_used_for_similarity():
    day = dt.date(2025, 6, 2)
    e1, e2 = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    pick = Pick("2505.1", day - dt.timedelta(days=3), ("X",), 1, "alpha beta", "gamma delta", embedding=e1)
    near = Candidate("2506.1", "zeta", "eta theta", ("Y",), ("cs.CV",), day, embedding=e1 * 2)
    far = Candidate("2506.2", "alpha beta", "gamma delta", ("Z",), ("cs.CV",), day, embedding=e2)
    idf = fit_idf(["alpha beta gamma delta zeta eta theta"] * 3)
    index = PickIndex([pick], idf, since=day)
    sims, neighbours = index.similarity(
        [near, far], tfidf(["zeta zeta eta theta", "alpha alpha beta gamma delta"], idf)
    )
    assert sims[0, 0] == pytest.approx(1.0) and sims[1, 0] == pytest.approx(0.0)
    assert sims[1, 2] > 0.9  # the tf-idf columns still see the shared words
    assert neighbours[0].picks == [pick]


def test_names_and_cues():
    assert normalize_name("José  García-Pérez") == normalize_name("Jose Garcia Perez") == "jose garcia perez"
    c = Candidate(
        "1", "Q: A 7B Model", "Code at https://github.com/x/y. We release a benchmark.", (), ("cs.CL",), START
    )
    values = dict(zip(("colon", "title", "abstract", "cats", "cv", "cl"), text_features(c), strict=False))
    assert values["colon"] == 1.0 and values["cl"] == 1.0 and values["cv"] == 0.0
    cues = text_features(c)[INDEX["cue_code"] - INDEX["title_colon"] :]
    assert cues[:6] == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]  # code, link, release, benchmark, (no dataset), size


def test_training_needs_a_picked_candidate():
    by_day, picks, _ = history(days=2)
    with pytest.raises(ValueError):
        train(by_day, picks, {})
