"""Upvotes: one per member per paper, cast and taken back idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.problems import NotFound
from dailypapers.store import votes
from dailypapers.store.accounts import Account
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True, slots=True)
class VoteState:
    """A paper's upvotes after a vote, and whether the voter's is among them."""

    id: str
    upvoted: bool
    upvotes: int


def vote(engine: Engine, account: Account, paper_id: str, on: bool) -> VoteState:
    """Make `account`'s upvote of `paper_id` on or off (nothing changes when it already is)."""
    with write_tx(engine) as conn:
        # An upvote is a signal for the reader's ranking: a change marks their profile stale, in the same statement.
        pk, _, upvotes = votes.vote_by_id(conn, account.pk, paper_id, on)
    if pk is None:
        raise NotFound(f"Paper {paper_id} not found")
    return VoteState(paper_id, on, upvotes)
