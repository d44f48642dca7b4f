"""`dailypapers fetch arxiv|oai|rss`: live harvests from arXiv."""

from __future__ import annotations

import typer

fetch_app = typer.Typer(help="Harvest live from arXiv (at most one request per 3 s).", no_args_is_help=True)
