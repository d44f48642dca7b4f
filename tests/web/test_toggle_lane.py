"""Toggles (votes, saves, "not interested") run one at a time per process, in a thread of their own: votes sent
flat out never hold the whole thread pool, and a page render goes on beside them. Both databases."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import httpx
from sqlalchemy import Engine, text

from dailypapers.accounts import membership
from dailypapers.curation import voting
from dailypapers.ingest.demo import load_demo
from tests.support.accounts import make_user
from tests.support.server import serve_app

VOTES = 6
SLOW = 0.3  # seconds each vote holds its thread here


def test_votes_take_one_thread_and_a_render_goes_on_beside_them(engine: Engine, tmp_path: Path) -> None:
    load_demo(engine)
    tokens = [membership.create_api_token(engine, make_user(engine, f"voter{n}"), "t") for n in range(VOTES)]
    lock, running, most, done = threading.Lock(), [0], [0], [0]
    real_vote = voting.vote

    def slow_vote(*args: object, **kwargs: object) -> voting.VoteState:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(SLOW)
            return real_vote(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                running[0] -= 1
                done[0] += 1

    with serve_app(engine, tmp_path, rate_limits=False) as base, mock.patch.object(voting, "vote", slow_vote):
        paper_id = httpx.get(f"{base}/api/daily_papers?limit=1").json()[0]["paper"]["id"]

        def cast(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.post(f"{base}/api/papers/{paper_id}/upvote", headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(VOTES) as pool:
            votes = [pool.submit(cast, t) for t in tokens]
            while running[0] == 0:  # the first vote holds the toggle thread
                time.sleep(0.01)
            page = httpx.get(f"{base}/papers/{paper_id}", timeout=30)  # a render, in the thread pool
            finished_before_page = done[0]
            assert [v.result() for v in votes] == [200] * VOTES
    assert page.status_code == 200
    assert most[0] == 1, f"{most[0]} votes ran at once in one process"
    # Serialized, the votes take VOTES x SLOW; the page did not wait for them all.
    assert finished_before_page < VOTES - 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM votes")).scalar() == VOTES
