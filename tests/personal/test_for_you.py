"""The "for you" ranking on the demo data, on both databases: cold start, signals of every kind, reasons,
"not interested", follows, training in the background and its bookkeeping."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.personal import follows, for_you
from dailypapers.problems import NotFound, Unprocessable
from dailypapers.store import reader_profiles
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user

_names = itertools.count()
NEWEST = "ORDER BY published IS NULL, published DESC, pk LIMIT 1"  # the newest paper: in the candidates


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=Path(tmp_path_factory.mktemp("fy")))


@pytest.fixture(scope="module")
def pool(demo_engine: Engine, settings: Settings) -> for_you.Pool:
    for_you.refresh_frequencies(demo_engine, force=True)
    return for_you.Pool(demo_engine, settings)


def reader(engine: Engine) -> int:
    return make_user(engine, f"reader{next(_names)}").pk


def paper(engine: Engine, like: str) -> tuple[int, str, str]:
    """(pk, id, title) of the newest demo paper whose title holds `like`."""
    with read_tx(engine) as conn:
        row = conn.execute(
            text(f"SELECT pk, id, title FROM papers WHERE title LIKE :t {NEWEST}"),
            {"t": f"%{like}%"},
        ).first()
    assert row is not None, like
    return row.pk, row.id, row.title


def save(engine: Engine, user_pk: int, paper_pk: int) -> None:
    with write_tx(engine) as conn:
        conn.execute(
            text("INSERT INTO saves (user_pk, paper_pk, created_at) VALUES (:u, :p, :t)"),
            {"u": user_pk, "p": paper_pk, "t": dt.datetime.now(dt.UTC)},
        )
        reader_profiles.mark_stale(conn, user_pk)


def test_a_reader_with_no_signals_gets_the_trending_papers(
    demo_engine: Engine, settings: Settings, pool: for_you.Pool
) -> None:
    got = for_you.recommend(demo_engine, settings, pool, None, reader(demo_engine), 7, 10)
    assert not got.personal and got.picks
    assert {p.reason for p in got.picks} == {"Trending in the community"}
    ups = [p.entry.upvotes for p in got.picks]
    assert ups[0] >= ups[-1]


def test_one_save_is_enough_and_the_reason_names_it(
    demo_engine: Engine, settings: Settings, pool: for_you.Pool
) -> None:
    user = reader(demo_engine)
    pk, _, title = paper(demo_engine, "Distillation")
    save(demo_engine, user, pk)
    got = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 10)
    assert got.personal and got.signals == 1
    assert pk not in {p.entry.pk for p in got.picks}, "a saved paper is not recommended back"
    assert all(p.reason.startswith("Like “") and p.reason.endswith("which you saved") for p in got.picks)
    assert title[:40] in got.picks[0].reason
    # The ranking is about the saved paper: papers on distillation (a few percent of the window) lead it.
    on_topic = ["distill" in f"{p.entry.title} {p.entry.abstract}".lower() for p in got.picks]
    assert sum(on_topic) >= 3 and on_topic[0]
    scores = [p.score for p in got.picks]
    assert scores == sorted(scores, reverse=True)


def test_training_in_the_background_keeps_what_arrived_meanwhile(demo_engine: Engine, settings: Settings) -> None:
    user = reader(demo_engine)
    first, _, _ = paper(demo_engine, "Attention")
    save(demo_engine, user, first)
    with read_tx(demo_engine) as conn:
        stale = dict(reader_profiles.stale(conn, 10_000))
    assert user in stale
    assert for_you.train_stale(demo_engine, settings, 10_000) >= 1
    with read_tx(demo_engine) as conn:
        profile = reader_profiles.profile_of(conn, user)
        assert user not in dict(reader_profiles.stale(conn, 10_000))
    assert profile is not None and profile.model and profile.signals == 1 and profile.stale_since is None
    # A signal that arrives while a training runs (after the staleness it started from) stays pending.
    seen = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    second, _, _ = paper(demo_engine, "Reinforcement")
    save(demo_engine, user, second)
    for_you.train(demo_engine, settings, user, seen=seen)
    with read_tx(demo_engine) as conn:
        assert user in dict(reader_profiles.stale(conn, 10_000))


def test_the_trained_word_model_changes_the_order(demo_engine: Engine, settings: Settings, pool: for_you.Pool) -> None:
    user = reader(demo_engine)
    for like in ("Diffusion", "Video"):
        save(demo_engine, user, paper(demo_engine, like)[0])
    before = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 20)
    for_you.train_stale(demo_engine, settings, 10_000)
    after = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 20)
    assert [p.entry.pk for p in before.picks] != [p.entry.pk for p in after.picks]


def test_not_interested_removes_the_paper_and_can_be_taken_back(
    demo_engine: Engine, settings: Settings, pool: for_you.Pool
) -> None:
    user = reader(demo_engine)
    save(demo_engine, user, paper(demo_engine, "Distillation")[0])
    top = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 5).picks[0].entry
    for_you.not_interested(demo_engine, user, top.id, True)
    for_you.not_interested(demo_engine, user, top.id, True)  # twice: idempotent
    again = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 50)
    assert top.pk not in {p.entry.pk for p in again.picks}
    for_you.not_interested(demo_engine, user, top.id, False)
    back = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 50)
    assert top.pk in {p.entry.pk for p in back.picks}
    with pytest.raises(NotFound):
        for_you.not_interested(demo_engine, user, "9999.99999", True)


def test_papers_like_a_dismissed_one_sink(demo_engine: Engine, settings: Settings, pool: for_you.Pool) -> None:
    user = reader(demo_engine)
    save(demo_engine, user, paper(demo_engine, "Distillation")[0])
    picks = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 100).picks
    order = [p.entry.pk for p in picks]
    for_you.not_interested(demo_engine, user, picks[0].entry.id, True)
    after = [
        p.entry.pk for p in for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 100).picks
    ]
    # What was most like the dismissed paper loses places on average.
    near = order[1:6]
    assert sum(after.index(pk) for pk in near if pk in after) > sum(order.index(pk) for pk in near)


def test_follows_alone_are_a_cold_start_and_say_why(
    demo_engine: Engine, settings: Settings, pool: for_you.Pool
) -> None:
    user_pk = reader(demo_engine)
    with read_tx(demo_engine) as conn:
        row = conn.execute(text(f"SELECT id, authors FROM papers {NEWEST}")).first()
    assert row is not None
    from dailypapers.store.accounts import account_by_pk as by_pk
    from dailypapers.store.convert import from_json

    name = from_json(row.authors)[0]["name"]
    with read_tx(demo_engine) as conn:
        account = by_pk(conn, user_pk)
    assert account is not None
    follows.follow(demo_engine, account, "author", name)
    got = for_you.recommend(demo_engine, settings, pool, None, user_pk, for_you.MAX_DAYS, 10)
    assert got.personal and got.follows == 1 and got.signals == 0
    assert got.picks[0].kind == "follow" and got.picks[0].entry.id == row.id
    assert name in got.picks[0].reason


def test_an_unmatched_library_entry_counts_as_interest(
    demo_engine: Engine, settings: Settings, pool: for_you.Pool
) -> None:
    user = reader(demo_engine)
    pk, _, _ = paper(demo_engine, "Attention")
    from dailypapers.store.vectors import vectors_of

    with read_tx(demo_engine) as conn:
        vec = vectors_of(conn, settings.embed_model, [pk], 384)[pk].astype(np.float32)
    with write_tx(demo_engine) as conn:
        conn.execute(
            text(
                "INSERT INTO library_entries (user_pk, title, abstract, source, vector, imported_at) "
                "VALUES (:u, 'My old attention paper', 'About attention.', 'bibtex', :v, :t)"
            ),
            {"u": user, "v": vec.tobytes(), "t": dt.datetime.now(dt.UTC)},
        )
    got = for_you.recommend(demo_engine, settings, pool, None, user, for_you.MAX_DAYS, 5)
    assert got.personal and got.picks[0].reason == "Like “My old attention paper” from your library"
    assert got.picks[0].entry.pk == pk, "the paper whose vector it shares is the nearest"


def test_bounds_of_days_and_limit(demo_engine: Engine, settings: Settings, pool: for_you.Pool) -> None:
    user = reader(demo_engine)
    for days, limit in ((0, 10), (31, 10), (7, 0), (7, 101)):
        with pytest.raises(Unprocessable):
            for_you.recommend(demo_engine, settings, pool, None, user, days, limit)


def test_an_upvote_marks_the_profile_stale(demo_engine: Engine) -> None:
    from dailypapers.curation import voting
    from dailypapers.store.accounts import account_by_pk as by_pk

    user_pk = reader(demo_engine)
    with read_tx(demo_engine) as conn:
        account = by_pk(conn, user_pk)
    assert account is not None
    voting.vote(demo_engine, account, paper(demo_engine, "Attention")[1], True)
    with read_tx(demo_engine) as conn:
        assert user_pk in dict(reader_profiles.stale(conn, 10_000))
