"""`dailypapers curate train|rank|pick`: the curation model learned from the community (docs/curation.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dailypapers.cli.common import console, load_settings, store

curate_app = typer.Typer(
    help="Curation learned from the community: train, rank a day, pick a day.", no_args_is_help=True
)

DateOption = Annotated[str, typer.Option("--date", help="YYYY-MM-DD: an announcement day")]


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a YYYY-MM-DD date", param_hint="--date") from exc


def _categories(value: str | None) -> list[str] | None:
    if value is None:
        return None
    cats = [c.strip() for c in value.split(",") if c.strip()]
    bad = [c for c in cats if len(c) > 32 or not all(ch.isalnum() or ch in ".-_" for ch in c)]
    if bad:
        raise typer.BadParameter(f"{bad[0]!r} is not an arXiv category such as cs.CL", param_hint="--categories")
    return cats


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(1)


@curate_app.command("train")
def curate_train() -> None:
    """Fit the model on the store's history (announcement days and the community's picks) and keep it."""
    from dailypapers.curation.auto import NoHistory, train_model

    settings = load_settings()
    with store(settings) as engine:
        try:
            r = train_model(engine, settings)
        except NoHistory as exc:
            raise _fail(exc) from exc
    console.print(
        f"Trained model {r.model_pk} on {r.days} announcement days ({r.first_day}..{r.last_day}): {r.papers} "
        f"papers, {r.positives} picked by the community, {r.picks} picks in the history; {r.seconds:.1f} s",
        highlight=False,
    )


@curate_app.command("rank")
def curate_rank(
    date: DateOption,
    categories: Annotated[
        str | None, typer.Option("--categories", help="e.g. cs.CL,cs.LG (default: DAILYPAPERS_AUTO_FEATURE)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='One {"id", "score", "reason"} object a line')] = False,
) -> None:
    """Rank every paper announced that day in the categories, best first."""
    from dailypapers.curation.auto import NoHistory, rank_day

    day, cats = _day(date), _categories(categories)
    settings = load_settings()
    with store(settings) as engine:
        try:
            ranked = rank_day(engine, settings, day, cats)
        except NoHistory as exc:
            raise _fail(exc) from exc
    if as_json:
        for r in ranked:
            typer.echo(orjson.dumps({"id": r.id, "score": round(r.score, 4), "reason": r.reason}).decode())
        return
    if not ranked:
        console.print(
            f"No paper was announced on {day} in {', '.join(cats or settings.auto_feature) or 'any category'}."
        )
        return
    table = Table(title=f"Announced {day}: {len(ranked)} papers, best first")
    for col in ("#", "id", "score", "why"):
        table.add_column(col)
    for i, r in enumerate(ranked, 1):
        table.add_row(str(i), r.id, f"{r.score:.2f}", escape(r.reason))
    Console().print(table)  # on stdout, like the JSON lines


@curate_app.command("pick")
def curate_pick(
    date: DateOption,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Default: DAILYPAPERS_AUTO_FEATURE_TOP")] = None,
) -> None:
    """Feature the day's best papers for this community now (the harvest does it when AUTO_FEATURE_TOP is set)."""
    from dailypapers.curation.auto import NoHistory, pick_day

    day = _day(date)
    settings = load_settings()
    if not (top or settings.auto_feature_top):
        raise typer.BadParameter("give --top N or set DAILYPAPERS_AUTO_FEATURE_TOP", param_hint="--top")
    with store(settings) as engine:
        try:
            r = pick_day(engine, settings, day, top)
        except NoHistory as exc:
            raise _fail(exc) from exc
    console.print(
        f"{day}: {r.picked} newly picked, {r.kept} already featured, {r.skipped} skipped by curators, "
        f"of {r.candidates} candidates",
        highlight=False,
    )
