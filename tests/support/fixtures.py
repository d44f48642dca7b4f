"""Where the recorded files the tests read are stored: tests/fixtures/ (README.md there gives each one's
source and license) and, for the nine files the demo data ships, the package's demo folder, which keeps
the only copy (its PROVENANCE.md lists them).

`recording(kind, name)` finds one file and `recordings(kind, pattern)` every file matching a pattern,
in both places, so a test that reads "every arXiv API feed" sees the demo's feeds as well.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from dailypapers.ingest.demo import DEMO_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO = DEMO_DIR

# The recordings stored only in the demo folder, by the folder of tests/fixtures/ they belong to.
IN_DEMO: dict[str, tuple[str, ...]] = {
    "arxiv_api": (
        "ai-weekly-radar_cs.AI_OR_cs.LG_50_2026-07-13.xml",
        "brevio_cs.LG_OR_cs.AI_20_2026-04-30.xml",
        "personal-news-feed_cs.AI_OR_cs.LG_OR_cs.CL_25_2026-08-02.xml",
        "sotawhat_search_transformer_cs.LG_2026-06-14.xml",
        "xiv_search_cs.RO_neural_2_oldformat_2025-10-17.xml",
    ),
    "hf_daily_papers": (
        "ai-weekly-radar_daily_papers_2026-07-09.json",
        "personal-news-feed_daily_papers_2026-08.json",
        "sotawhat_daily_papers_2026-06-12.json",
    ),
    "kaggle_arxiv_snapshot": ("head200_wanng-ide_arxivSpider_mnbvc.jsonl",),
}


def recording(kind: str, name: str) -> Path:
    """The recorded file `name` of `kind` (a folder of tests/fixtures/, e.g. "arxiv_api"), wherever it is
    stored; a missing file fails loudly rather than leaving a test with nothing to read."""
    path = DEMO / name if name in IN_DEMO.get(kind, ()) else FIXTURES / kind / name
    if not path.is_file():
        raise FileNotFoundError(f"recorded file {kind}/{name} is not at {path}")
    return path


def recordings(kind: str, pattern: str) -> list[Path]:
    """Every recorded file of `kind` whose name matches `pattern` (directly in its folder, not below),
    from tests/fixtures/ and the demo folder together, sorted by name."""
    demo_names = IN_DEMO.get(kind, ())
    here = [p for p in (FIXTURES / kind).glob(pattern) if p.is_file() and p.name not in demo_names]
    demo = [recording(kind, name) for name in demo_names if fnmatch.fnmatchcase(name, pattern)]
    return sorted(here + demo, key=lambda p: p.name)
