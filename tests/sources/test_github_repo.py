"""GitHub repositories: which code links name one, and GitHub's recorded answers about one (PyGithub's
ReplayData, tests/fixtures/github_api/)."""

from __future__ import annotations

import datetime as dt

import pytest

from dailypapers.sources.code_links import find_links
from dailypapers.sources.github_repo import RepoName, parse_repo, parse_repo_url, repo_names
from dailypapers.sources.record import SourceError
from tests.support.fixtures import FIXTURES
from tests.support.replay import Exchange, load_replay_data

RECORDED = FIXTURES / "github_api" / "pygithub"


def exchange(name: str, number: int = 0) -> Exchange:
    return load_replay_data(RECORDED / f"{name}.txt")[number]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/PyGithub/PyGithub", RepoName("PyGithub", "PyGithub")),
        ("http://www.github.com/huggingface/transformers/", RepoName("huggingface", "transformers")),
        ("https://github.com/facebookresearch/detectron2.git", RepoName("facebookresearch", "detectron2")),
        ("https://github.com/a-b/c.d_e-f/tree/main/src?tab=readme#usage", RepoName("a-b", "c.d_e-f")),
        ("github.com/owner/repo", RepoName("owner", "repo")),
        ("HTTPS://GITHUB.COM/Owner/Repo/blob/x.py", RepoName("Owner", "Repo")),
        ("https://github.com/owner", None),
        ("https://github.com/", None),
        ("https://github.com/orgs/huggingface/repositories", None),
        ("https://github.com/sponsors/someone/x", None),
        ("https://github.com/topics/llm", None),
        ("https://gist.github.com/owner/abc123", None),
        ("https://owner.github.io/project", None),
        ("https://gitlab.com/owner/repo", None),
        ("https://github.com/-bad/repo", None),
        ("https://github.com/owner/..", None),
        ("https://github.com/owner/re po", None),
        ("https://[bad/", None),
    ],
)
def test_parse_repo_url(url: str, expected: RepoName | None) -> None:
    assert parse_repo_url(url) == expected


def test_repo_names_are_lower_case_unique_and_in_order() -> None:
    urls = [
        "https://github.com/PyGithub/PyGithub",
        "https://huggingface.co/org/model",
        "https://github.com/pygithub/pygithub/issues/1",
        "https://github.com/ReDASers/Phishing-Detection.git",
    ]
    assert repo_names(urls) == ["PyGithub/PyGithub", "ReDASers/Phishing-Detection"]
    code, _ = find_links("Code: https://github.com/PyGithub/PyGithub. Models at https://huggingface.co/org/model.")
    assert repo_names(code) == ["PyGithub/PyGithub"]


def test_a_recorded_repository_answer() -> None:
    answer = exchange("Requester.testApiVersion", 1)  # what this site asks: X-GitHub-Api-Version 2022-11-28
    assert answer.request_headers["X-GitHub-Api-Version"] == "2022-11-28" and answer.status == 200
    info = parse_repo(answer.body)
    assert (info.full_name, info.stars, info.github_id) == ("PyGithub/PyGithub", 7701, 3544490)
    assert info.pushed_at == dt.datetime(2026, 4, 14, 7, 25, 38, tzinfo=dt.UTC)


def test_a_moved_repository_answers_with_its_new_name() -> None:
    moved, found = load_replay_data(RECORDED / "PullRequest2408.setUp.txt")
    assert moved.status == 301 and moved.header("Location") == "https://api.github.com/repositories/146139403"
    info = parse_repo(found.body)
    assert (info.full_name, info.stars) == ("ReDASers/PhishBench", 6)


def test_answers_from_2013_count_stars_as_watchers() -> None:
    info = parse_repo(exchange("ConditionalRequestUpdate.setUp").body)
    assert (info.full_name, info.stars) == ("akfish/PyGithub", 0)
    assert info.pushed_at == dt.datetime(2013, 8, 22, 2, 9, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (exchange("LazyRepository.testGetVulnerabilityAlert", 2).body, "not a repository"),  # a real 404's body
        (exchange("SpecificExceptions.testRateLimitExceeded", 1).body, "not a repository"),  # a real 403's body
        (b'{"full_name": "a/b", "pushed_at": null}', "no star count"),
        (b'{"full_name": "a/b", "stargazers_count": 3, "pushed_at": "yesterday"}', "bad pushed_at"),
        (exchange("ConditionalRequestUpdate.setUp").body[:100], "malformed JSON"),
        (b"[]", "not a repository"),
        # What PostgreSQL would refuse (a NUL, more than code_repos.full_name's 200 characters) and SQLite store.
        (b'{"full_name": "a/b\\u0000", "stargazers_count": 3}', "not a repository name: 'a/b"),
        (b'{"full_name": "a/' + b"b" * 250 + b'", "stargazers_count": 3}', "not a repository name"),
        (b'{"full_name": "/b", "stargazers_count": 3}', "not a repository name"),
        (b'{"full_name": "a/b", "stargazers_count": 2147483648}', "no star count"),  # over PostgreSQL's INTEGER
    ],
)
def test_what_is_not_a_repository_is_refused(body: bytes, says: str) -> None:
    with pytest.raises(SourceError, match=says) as caught:
        parse_repo(body, where="https://api.github.com/repos/x/y")
    assert caught.value.where == "https://api.github.com/repos/x/y"
