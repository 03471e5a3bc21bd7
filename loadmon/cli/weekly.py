"""``loadmon week`` and ``loadmon demo``: the weekly summary of the log."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import pandas as pd

from loadmon.cli.common import AppContext, app, athlete_option, json_option, print_json, print_table
from loadmon.demo import load_demo
from loadmon.models.weekly import weekly_summary
from loadmon.store import Store


def show_weeks(store: Store, athlete: str | None, weeks: int, as_json: bool) -> None:
    """Print the last `weeks` ISO weeks of an athlete's log as a table or JSON."""
    who = store.athlete(athlete)
    table = weekly_summary(store.sessions_frame([who.name])).tail(weeks)
    if as_json:
        print_json(_records(table))
        return
    print_table(
        f"{who.name}: weekly load ({who.tz})",
        ["week", "from", "run km", "runs", "long km", "run min", "cross min", "strength"],
        [(r.week, r.week_start, f"{r.run_km:.1f}", r.runs, f"{r.long_run_km:.1f}",
          f"{r.run_min:.0f}", f"{r.cross_min:.0f}", r.strength_sessions)
         for r in table.itertuples()],
    )


def _records(table: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


@click.command()
@click.option("--weeks", type=click.IntRange(min=1), default=12, show_default=True,
              help="How many recent weeks.")
@athlete_option
@json_option
@click.pass_context
def week(ctx: click.Context, weeks: int, athlete: str | None, as_json: bool) -> None:
    """Show weekly load: run km, runs, long run, minutes, cross-training, strength."""
    show_weeks(app(ctx).store, athlete, weeks, as_json)


@click.command()
@click.option("--weeks", type=click.IntRange(min=1), default=16, show_default=True,
              help="How many weeks to show.")
@json_option
@click.pass_context
def demo(ctx: click.Context, weeks: int, as_json: bool) -> None:
    """Build a demo log from the shipped sample data and show its weekly summary.

    Uses a new database in a temporary folder unless --db (or LOADMON_DB) names one.
    """
    state: AppContext = app(ctx)
    if state.db is None:
        state.db = str(Path(tempfile.mkdtemp(prefix="loadmon-demo-")) / "demo.sqlite")
    name = load_demo(state.store)
    if not as_json:
        click.echo(f"demo log: {state.store.engine.url.render_as_string(hide_password=True)}")
    show_weeks(state.store, name, weeks, as_json)


def register(cli: click.Group) -> None:
    """Add these commands to the ``loadmon`` group."""
    cli.add_command(week)
    cli.add_command(demo)
