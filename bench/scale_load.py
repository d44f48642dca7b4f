"""bench_scale's load and its report: the rotating search queries and their wrk script, wrk's command line
and output, medians across rounds, ratios to the first N and the Markdown table."""

from __future__ import annotations

import random
import re
import statistics
import subprocess
from pathlib import Path
from urllib.parse import quote_plus

from bench.bench_web import parse_wrk
from bench.common import pinned

SEARCH_PATH = "/api/papers/search?mode=keyword&limit=20&q="
KINDS = ("feed", "api", "search", "votes")
Row = dict[str, dict[str, float]]  # a run's measurements by kind: rps, p50_ms, p99_ms, failed, requests...
# Short words that make poor queries; titles' longer words are kept.
_WORD = re.compile(r"[a-z][a-z0-9-]{3,}")
_STOP = frozenset(("with", "from", "that", "this", "their", "through", "using", "based", "into", "over", "when"))


def search_queries(titles: list[str], count: int, seed: int = 5) -> list[str]:
    """Up to `count` distinct keyword queries in a fixed shuffled order: pairs of words of one title (each
    finds at least that paper), then single words."""
    rng = random.Random(seed)
    pairs: set[str] = set()
    singles: set[str] = set()
    for title in titles:
        words = [w for w in dict.fromkeys(_WORD.findall(title.lower())) if w not in _STOP]
        singles.update(words)
        pairs.update(f"{a} {b}" for i, a in enumerate(words) for b in words[i + 1 :])
    ordered = sorted(pairs)
    rng.shuffle(ordered)
    if len(ordered) < count:
        rest = sorted(singles)
        rng.shuffle(rest)
        ordered += rest
    return ordered[:count]


def search_script(path: Path, queries: list[str]) -> Path:
    """A wrk script: each request asks the next query; wrk's threads start at different places in the list."""
    items = ", ".join(f'"{quote_plus(q)}"' for q in queries)  # quote_plus leaves no quote or backslash
    path.write_text(f"""
local queries = {{{items}}}
local started = 0
function setup(thread)
  thread:set("offset", started * 7919)
  started = started + 1
end
local n = 0
request = function()
  local q = queries[((offset or 0) + n) % #queries + 1]
  n = n + 1
  return wrk.format("GET", "{SEARCH_PATH}" .. q)
end
""")
    return path


def wrk_command(
    url: str,
    duration: int,
    connections: int,
    threads: int = 1,
    script: Path | None = None,
    cpus: list[int] | None = None,
) -> list[str]:
    """The wrk command line for one measurement, pinned to `cpus` when given. A slow answer (a search behind
    31 others) counts in the latencies up to 30 s instead of as a timeout at wrk's default of 2 s."""
    cmd = ["wrk", f"-t{threads}", f"-c{max(connections, threads)}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    cmd += ["-s", str(script)] if script else []
    return pinned([*cmd, url], cpus)


def wrk(cmd: list[str]) -> dict[str, float]:
    """Run one wrk command: requests/s, p50/p99 ms, failed responses (bench_web's parsing) and requests."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    total = re.search(r"(\d+) requests in", out)
    return {**parse_wrk(out), "requests": int(total[1]) if total else 0}


def combine(samples: list[Row]) -> Row:
    """One row from the rounds' rows for an N: the median of each figure (the sum of failures and requests),
    with every round's requests/s in `rps_samples`."""
    out: Row = {}
    for kind in samples[0]:
        runs = [s[kind] for s in samples]
        fields = dict.fromkeys(k for r in runs for k, v in r.items() if isinstance(v, int | float))
        row: dict[str, float] = {}
        for field in fields:
            values = [r.get(field, 0) for r in runs]
            row[field] = sum(values) if field in ("failed", "requests") else round(statistics.median(values), 2)
        row["rps_samples"] = [r["rps"] for r in runs]  # type: ignore[assignment]
        out[kind] = row
    return out


def with_ratios(results: dict[int, Row]) -> dict[int, Row]:
    """Each measurement's requests/s as a ratio to that of the first N measured (`vs_first`)."""
    first = results[min(results)]
    out = {}
    for n, row in results.items():
        out[n] = {
            kind: {**m, "vs_first": round(m["rps"] / first[kind]["rps"], 2) if first[kind]["rps"] else 0.0}
            for kind, m in row.items()
        }
    return out


def markdown_table(results: dict[int, Row]) -> str:
    """Requests/s per N and measurement, with the ratio to the first N in parentheses; p99 in a second line."""
    head = "| web processes | feed `/` | `/api/daily_papers` | keyword search | vote toggles |"
    lines = [head, "|---|---|---|---|---|"]
    for n, row in sorted(results.items()):
        cells = [f"{row[k]['rps']:,.0f} ({row[k]['vs_first']:.2f})" for k in KINDS]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| web processes | feed p99 ms | API p99 ms | search p99 ms | votes p99 ms |")
    lines.append("|---|---|---|---|---|")
    for n, row in sorted(results.items()):
        lines.append(f"| {n} | " + " | ".join(f"{row[k]['p99_ms']:,.0f}" for k in KINDS) + " |")
    return "\n".join(lines) + "\n"
