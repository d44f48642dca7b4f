"""OAI-PMH ListRecords with resumption tokens, through the replay server into both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.ingest.harvest import harvest_oai
from dailypapers.ingest.http import FetchError, PoliteClient
from dailypapers.sources.oai_pmh import OaiError
from dailypapers.store import bookkeeping
from dailypapers.store.db import write_tx
from tests.support.harvest import OAI, FakeTime, harvest_state, make_settings, oai_last_page, paper_titles
from tests.support.replay import ReplayServer, status

KEY = "oai:arXiv:set=cs:from=2013-05-01:until="
TOKEN = "436115|96001"  # the real token at the end of the scirate arXiv-format page
FIRST = (OAI / "scirate_ListRecords_arXiv_page96001_2013-05-25.xml").read_bytes()
LAST = oai_last_page(OAI / "hepcrawl" / "arxiv-physics-hep-th.xml", complete=1003, cursor=1000)


def serve(server: ReplayServer) -> None:
    server.add("/oai", FIRST, verb="ListRecords", metadataPrefix="arXiv", set="cs", **{"from": "2013-05-01"})
    server.add("/oai", LAST, verb="ListRecords", resumptionToken=TOKEN)


def run(engine: Engine, settings, client=None):  # type: ignore[no-untyped-def]
    return harvest_oai(engine, settings, set_spec="cs", from_date="2013-05-01", client=client)


def test_follows_resumption_token_to_the_last_page(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    serve(server)
    report = run(engine, make_settings(server, tmp_path))
    assert report.key == KEY and report.total_results == 1003
    assert (report.new, report.rejected, report.pages, report.requests) == (1003, 0, 2, 2)
    titles = paper_titles(engine)
    assert len(titles) == 1003
    assert titles["1412.8323"].startswith("Toolbox for reconstructing quantum theory from rules on information")
    assert "0811.3648" in titles
    first, second = server.log
    assert first.query == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2013-05-01"}
    assert second.query == {"verb": "ListRecords", "resumptionToken": TOKEN}  # nothing else with a token
    assert harvest_state(engine, KEY) == ("", True)


def test_crash_after_first_page_resumes_from_saved_token(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    serve(server)
    server.inject_from(2, status(503, retry_after="30"))
    settings = make_settings(server, tmp_path, max_retries=1)
    client = PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep)
    with pytest.raises(FetchError, match=r"resumptionToken=436115%7C96001 failed after 2 attempts: HTTP 503"):
        run(engine, settings, client)
    assert fake_time.sleeps == [30.0]
    assert len(paper_titles(engine)) == 1000 and harvest_state(engine, KEY) == (TOKEN, False)

    server.fail_from = None
    report = run(engine, settings, client)
    assert report.resumed_from == TOKEN and (report.new, report.pages, report.requests) == (3, 1, 1)
    assert len(server.requests("/oai", metadataPrefix="arXiv")) == 1  # the first page was not fetched again
    assert len(paper_titles(engine)) == 1003 and harvest_state(engine, KEY) == ("", True)


def test_expired_saved_token_restarts_the_harvest(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    # A real arXiv OAI error response, with its code changed to the one an expired token gets.
    error = (
        (OAI / "inspire-next" / "GetRecord_1305.9999.xml")
        .read_bytes()
        .replace(b"idDoesNotExist", b"badResumptionToken")
    )
    server.add("/oai", error, verb="ListRecords", resumptionToken="stale|5")
    server.add("/oai", LAST, verb="ListRecords", metadataPrefix="arXiv", set="physics:hep-th")
    key = "oai:arXiv:set=physics:hep-th:from=:until="
    with write_tx(engine) as conn:
        bookkeeping.save_harvest(conn, key, "stale|5")
    report = harvest_oai(engine, make_settings(server, tmp_path), set_spec="physics:hep-th")
    assert report.key == key and report.resumed_from is None and report.new == 3
    assert any("expired" in e for e in report.errors)
    assert [r.query.get("resumptionToken") for r in server.log] == ["stale|5", None]
    assert harvest_state(engine, key) == ("", True)


def test_protocol_error_is_raised(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    error = (OAI / "inspire-next" / "GetRecord_1305.9999.xml").read_bytes().replace(b"idDoesNotExist", b"badArgument")
    server.add("/oai", error)
    with pytest.raises(OaiError, match="OAI-PMH error badArgument") as err:
        harvest_oai(engine, make_settings(server, tmp_path), metadata_prefix="arXivRaw", until="2014-01-01")
    assert err.value.code == "badArgument" and err.value.where.startswith(f"{server.url}/oai?")
    assert server.log[0].query == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "until": "2014-01-01"}
