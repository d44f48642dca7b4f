"""The period parser and the search-box parser on any text: a period or BadPeriod, and a query that never
raises; and whatever they accept, every date computation made with it afterwards stays in range."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from dailypapers.periods import FIRST_YEAR, KINDS, LAST_YEAR, BadPeriod, in_range, neighbours, parse, period_of
from dailypapers.ranking.score import reference_time
from dailypapers.search import query
from tests.property.strategies import FAST, texts

digits = st.text(st.sampled_from("0123456789") | st.sampled_from("\u0660\u0663\uff12"), min_size=1, max_size=5)
period_texts = st.one_of(
    texts,
    st.builds("{}-{}-{}".format, digits, digits, digits),
    st.builds("{}-W{}".format, digits, digits),
    st.builds("{}-{}".format, digits, digits),
    st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)),
    st.builds("{:04d}-W{:02d}".format, st.integers(0, 9999), st.integers(0, 54)),
    st.builds("{:04d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13)),
)
# Days near the ends of the years the site covers, and anywhere in the years Python holds.
any_day = st.dates(dt.date(1895, 1, 1), dt.date(3005, 12, 31)) | st.dates(dt.date.min, dt.date.max)


def written(kind: str, day: dt.date) -> str:
    """How a period of `kind` around `day` is written in a URL (whether or not it is one the site has)."""
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{day.year:04d}-{day.month:02d}" + (f"-{day.day:02d}" if kind == "day" else "")


# Periods as URLs write them, around and beyond the years the site covers, and anything else.
written_periods = st.builds(lambda kind, day: (kind, written(kind, day)), st.sampled_from(KINDS), any_day)
periods = written_periods | st.tuples(st.sampled_from(KINDS) | texts, period_texts)


@settings(FAST, max_examples=600)
@given(periods)
def test_a_period_parses_or_is_refused_with_bad_period(written_period: tuple[str, str]) -> None:
    kind, text = written_period
    try:
        period = parse(kind, text)
    except BadPeriod as exc:
        event("refused")
        assert str(exc)
        return
    event("parsed")
    assert period.kind == kind and in_range(period.start) and period.start <= period.end
    assert parse(kind, period.key) == period
    assert period.path.endswith(period.key) and period.label
    for other in KINDS:
        around = period.containing(other)
        assert around.start <= period.start <= around.end
    reference_time(period.end)  # the ranking's "now" of a past period: the day after its end


@settings(FAST, max_examples=400)
@given(st.sampled_from(KINDS), any_day, any_day, any_day)
def test_periods_of_any_day_and_their_neighbours_stay_in_range(
    kind: str, day: dt.date, before: dt.date, after: dt.date
) -> None:
    try:
        period = period_of(kind, day)
    except BadPeriod:
        assert not FIRST_YEAR <= day.year <= LAST_YEAR
        return
    prev, nxt = neighbours(period, lambda _: before, lambda _: after)
    for found, day_found in ((prev, before), (nxt, after)):
        assert (found is None) == (not in_range(day_found))
        if found:
            assert found.start <= day_found <= found.end and reference_time(found.end)


# The search box: words, phrases, negations and filters, with keys and values as people (and attackers) type them.
keys = st.sampled_from(["author", "au", "cat", "category", "since", "until", "after", "before", "year", "date", "foo"])
date_values = st.builds("{}-{}-{}".format, digits, digits, digits) | st.builds("{}..{}".format, digits, digits)
tokens = st.one_of(
    texts,
    st.builds("{}:{}".format, keys, texts | date_values | digits),
    st.builds('{}:"{}"'.format, keys, texts),
    st.builds('-"{}"'.format, texts),
    st.builds("-{}".format, texts),
)
queries = st.lists(tokens, max_size=8).map(" ".join) | texts


@settings(FAST, max_examples=400)
@given(queries)
def test_the_search_box_reads_anything(raw: str) -> None:
    q = query.parse(raw)
    for day in (q.since, q.until):
        if day is not None:
            assert FIRST_YEAR <= day.year <= LAST_YEAR
            day + dt.timedelta(days=1)  # the store's exclusive end of `until`
            day - dt.timedelta(days=1)
    assume(q.text or q.terms)
    for text in (q.text, *q.terms, *q.phrases, *q.exclude, *q.authors, *q.categories):
        text.encode("utf-8")  # no unpaired surrogate for a database driver to choke on
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text)
    assert len(q.terms) <= query.MAX_TERMS and all(len(t) <= query.MAX_WORD for t in q.terms)
    spans = query.spans(q, raw)
    assert spans == sorted(spans) and all(0 <= a < b <= len(raw) for a, b in spans)
