"""Settings: declared once, parsed from the environment by type, documented in the README from the declarations."""

from __future__ import annotations

import dataclasses
import pickle
import re
import stat
import typing
from pathlib import Path

import pytest

from dailypapers.config import Settings, env_name, settings_table
from dailypapers.mail import message

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_has_a_unique_variable_and_help() -> None:
    fields = dataclasses.fields(Settings)
    assert len(fields) > 30
    names = [env_name(f) for f in fields]
    assert len(set(names)) == len(names)
    for f in fields:
        assert re.fullmatch(r"[A-Z_]+", f.metadata["env"]), f.name
        assert env_name(f) == "DAILYPAPERS_" + f.metadata["env"]
        help_text = f.metadata["help"]
        assert isinstance(help_text, str) and help_text.strip() and "\n" not in help_text, f.name


def test_every_setting_has_a_type_from_env_can_parse() -> None:
    supported = {str, int, float, bool, Path, tuple[str, ...]}
    for name, kind in typing.get_type_hints(Settings).items():
        assert kind in supported, f"{name}: from_env cannot parse {kind}"


def test_extra_is_gone_and_mail_from_is_a_setting() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    assert "extra" not in names
    assert "mail_from" in names


def test_unset_and_empty_variables_keep_the_defaults(tmp_path: Path) -> None:
    data = str(tmp_path)
    assert Settings.from_env({"DAILYPAPERS_DATA_DIR": data}) == Settings(data_dir=tmp_path)
    blank = {env_name(f): "  " for f in dataclasses.fields(Settings)} | {"DAILYPAPERS_DATA_DIR": data}
    assert Settings.from_env(blank) == Settings(data_dir=tmp_path)
    defaults = Settings.from_env({})
    assert defaults.port == 8000 and defaults.rate_limits is True and defaults.fetch_categories == ()
    assert defaults.data_dir == Path("data")


def test_each_type_is_parsed() -> None:
    s = Settings.from_env(
        {
            "DAILYPAPERS_PORT": " 9001 ",
            "DAILYPAPERS_REQUEST_INTERVAL": "0.25",
            "DAILYPAPERS_TRENDING_GRAVITY": "2",
            "DAILYPAPERS_RATE_LIMITS": "off",
            "DAILYPAPERS_DIGEST_SCHEDULER": "No",
            "DAILYPAPERS_EMBED_BACKGROUND": "FALSE",
            "DAILYPAPERS_FETCH_CATEGORIES": "cs.CL, ,cs.LG,,  ",
            "DAILYPAPERS_TRUSTED_PROXIES": "10.0.0.1",
            "DAILYPAPERS_DIGEST_TIMEZONE": " Europe/Berlin ",
        }
    )
    assert s.port == 9001
    assert s.request_interval == 0.25 and isinstance(s.request_interval, float)
    assert s.trending_gravity == 2.0 and isinstance(s.trending_gravity, float)
    assert (s.rate_limits, s.digest_scheduler, s.embed_background) == (False, False, False)
    assert s.fetch_categories == ("cs.CL", "cs.LG")
    assert s.trusted_proxies == ("10.0.0.1",)
    assert s.digest_timezone == "Europe/Berlin"


@pytest.mark.parametrize("word", ["1", "true", "Yes", "ON"])
def test_true_spellings(word: str) -> None:
    env = {"DAILYPAPERS_RATE_LIMITS": word, "DAILYPAPERS_EMBED_BACKGROUND": word}
    s = Settings.from_env(env | {"DAILYPAPERS_DIGEST_SCHEDULER": "0"})
    assert (s.rate_limits, s.embed_background, s.digest_scheduler) == (True, True, False)


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF"])
def test_false_spellings(word: str) -> None:
    assert Settings.from_env({"DAILYPAPERS_RATE_LIMITS": word}).rate_limits is False


def test_data_dir_expands_home_and_derives_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    s = Settings.from_env({"DAILYPAPERS_DATA_DIR": "~/papers"})
    assert s.data_dir == tmp_path / "papers"
    assert s.database_url == f"sqlite:///{tmp_path / 'papers' / 'dailypapers.db'}"
    assert s.is_sqlite
    url = "postgresql+psycopg://u:p@db/papers"
    assert Settings.from_env({"DAILYPAPERS_DATA_DIR": "~/papers", "DAILYPAPERS_DATABASE_URL": url}).database_url == url


def test_base_url_derives_from_host_and_port_and_loses_its_trailing_slash() -> None:
    s = Settings.from_env({"DAILYPAPERS_HOST": "0.0.0.0", "DAILYPAPERS_PORT": "8080"})
    assert s.base_url == "http://0.0.0.0:8080" and not s.secure_cookies
    s = Settings.from_env({"DAILYPAPERS_BASE_URL": "https://papers.example.org/", "DAILYPAPERS_PORT": "8080"})
    assert s.base_url == "https://papers.example.org" and s.secure_cookies


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DAILYPAPERS_PORT", "abc", "is not an integer"),
        ("DAILYPAPERS_WORKERS", "1.5", "is not an integer"),
        ("DAILYPAPERS_REQUEST_TIMEOUT", "soon", "is not a number"),
        ("DAILYPAPERS_RATE_LIMITS", "maybe", "is not a boolean"),
        ("DAILYPAPERS_EMBED_BACKGROUND", "2", "is not a boolean"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(name: str, value: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(f"{name}: {value!r} {says}")


def test_mail_from_reaches_the_from_header(tmp_path: Path) -> None:
    env = {"DAILYPAPERS_DATA_DIR": str(tmp_path), "DAILYPAPERS_MAIL_FROM": "Paper Club <club@example.org>"}
    msg = message(Settings.from_env(env), "a@example.org", "s", "t")
    assert msg["From"] == "Paper Club <club@example.org>"
    default = message(Settings(base_url="https://papers.example.org/"), "a@example.org", "s", "t")
    assert default["From"] == "Daily Papers <noreply@papers.example.org>"


def test_the_secret_key_is_generated_once_private_and_read_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Settings(data_dir=data)
    key = first.secret
    path = data / "secret_key"
    assert len(key) >= 40 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary file left behind
    assert Settings(data_dir=data).secret == key  # another instance reads the same key back
    path.unlink()
    assert first.secret == key  # cached: the file is not read again
    assert first.secret == key
    fresh = Settings(data_dir=data).secret
    assert fresh != key and path.read_text().strip() == fresh


def test_a_configured_secret_key_writes_nothing(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data", secret_key="configured-key")
    assert s.secret == "configured-key"
    assert not (tmp_path / "data").exists()


def test_settings_pickle_equal_with_or_without_the_cached_secret(tmp_path: Path) -> None:
    s = Settings.from_env(
        {"DAILYPAPERS_DATA_DIR": str(tmp_path), "DAILYPAPERS_FETCH_CATEGORIES": "cs.CL,cs.LG", "DAILYPAPERS_PORT": "9"}
    )
    assert pickle.loads(pickle.dumps(s)) == s
    key = s.secret
    copy = pickle.loads(pickle.dumps(s))
    assert copy == s and hash(copy) == hash(s)
    (tmp_path / "secret_key").unlink()
    assert copy.secret == key  # a worker process gets the key with the settings


def test_replace_keeps_working() -> None:
    s = Settings(base_url="https://papers.example.org")
    polite = dataclasses.replace(s, max_retries=1)
    assert polite.max_retries == 1 and polite.base_url == s.base_url and polite != s


def test_table_shows_readable_defaults() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in settings_table().splitlines()[2:]}
    assert len(rows) == len(dataclasses.fields(Settings))
    assert "| `./data` |" in rows["DAILYPAPERS_DATA_DIR"]
    assert "| `sqlite:///$DATA_DIR/dailypapers.db` |" in rows["DAILYPAPERS_DATABASE_URL"]
    assert "| `http://HOST:PORT` |" in rows["DAILYPAPERS_BASE_URL"]
    assert "| generated into the data dir |" in rows["DAILYPAPERS_SECRET_KEY"]
    assert "| unset |" in rows["DAILYPAPERS_SMTP_URL"] and "| unset |" in rows["DAILYPAPERS_FETCH_CATEGORIES"]
    assert "| auto |" in rows["DAILYPAPERS_EMBED_DEVICE"]
    assert "| `1` |" in rows["DAILYPAPERS_RATE_LIMITS"]
    assert "| `3.0` |" in rows["DAILYPAPERS_REQUEST_INTERVAL"] and "| `8000` |" in rows["DAILYPAPERS_PORT"]


def test_readme_table_is_current() -> None:
    text = README.read_text()
    match = re.search(r"^<!-- settings:start -->\n(.*?)^<!-- settings:end -->$", text, re.S | re.M)
    assert match, "README.md lacks the <!-- settings:start --> ... <!-- settings:end --> block"
    assert match.group(1) == settings_table(), "stale README table: paste `python -m dailypapers.config`"
