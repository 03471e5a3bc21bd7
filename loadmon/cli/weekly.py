"""``loadmon week`` and ``loadmon demo``: the weekly load table of the log."""

from __future__ import annotations

import math
import tempfile
from datetime import date
from pathlib import Path

import click
import pandas as pd

from loadmon.cli.common import (
    AppContext,
    app,
    athlete_option,
    json_option,
    print_json,
    print_table,
    today_local,
)
from loadmon.cli.model import assess_athlete, parse_date, rules_file_option
from loadmon.cli.report import write_report
from loadmon.demo import load_demo
from loadmon.store import Store
from loadmon.types import SURFACES


def show_weeks(store: Store, athlete: str | None, weeks: int, as_json: bool,
               as_of: date | None = None, rules_file: Path | None = None) -> None:
    """Print the last `weeks` ISO weeks of an athlete's weekly load table as a table or JSON.

    Parameters
    ----------
    store : Store
        The log.
    athlete : str or None
        The athlete (None: the default one).
    weeks : int
        How many weeks, up to the one of `as_of`.
    as_json : bool
        JSON records (every column of `loadmon.models.load.WEEK_LOAD_COLUMNS`,
        unknown values null) instead of a table.
    as_of : datetime.date or None
        The last day; None: today in the athlete's time zone.
    rules_file : Path or None
        A ``--rules`` file.
    """
    who = store.athlete(athlete)
    result = assess_athlete(store, who, as_of or today_local(who.tz), rules_file)
    table = result.weekly.tail(weeks)
    if as_json:
        print_json(_records(table))
        return
    if table.empty:
        click.echo(f"{who.name}: nothing logged yet (loadmon log add, loadmon import)")
        return
    print_table(
        f"{who.name}: weekly load ({who.tz})",
        ["week", "run km", "runs", "long", "ramp", "ACWR ewma/unc", "fit/fat/form", "mono",
         "strain", "strength", "cross min", "surfaces", "main shoe", "am pain"],
        [(r.week, f"{r.run_km:.1f}", r.runs, f"{r.long_run_km:.1f}", _pct(r.ramp_pct),
          f"{_num(r.acwr_ewma, 2)}/{_num(r.acwr_uncoupled, 2)}",
          f"{_num(r.fitness_au, 0)}/{_num(r.fatigue_au, 0)}/{_num(r.form_au, 0, '+')}",
          _num(r.monotony, 1), _num(r.strain_au, 0), r.strength_sessions,
          f"{r.cross_min:.0f}", _surfaces(r), _shoe(r.main_shoe, r.main_shoe_pct),
          _num(r.worst_morning_pain, 0))
         for r in table.itertuples()],
    )
    for reason in _excluded(result.excluded):
        click.echo(reason, err=True)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _num(v: float | None, decimals: int, sign: str = "") -> str:
    return "-" if _missing(v) else f"{v:{sign}.{decimals}f}"


def _pct(v: float | None) -> str:
    return "-" if _missing(v) else f"{v:+.0f}%"


def _surfaces(r: object) -> str:
    parts = [(s, getattr(r, f"surface_{s}_pct")) for s in SURFACES]
    return " ".join(f"{s} {p:.0f}%" for s, p in parts if not _missing(p) and p > 0) or "-"


def _shoe(name: str | None, pct: float | None) -> str:
    return "-" if _missing(name) or _missing(pct) else f"{name} {pct:.0f}%"


def _excluded(excluded: pd.DataFrame) -> list[str]:
    return [f"left out: {r.kind} on {r.day.date().isoformat()} ({r.reason}; see loadmon flags)"
            for r in excluded.itertuples()]


def _records(table: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {k: (None if _missing(v) else round(v, 3) if isinstance(v, float) else
             v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


@click.command()
@click.option("--weeks", type=click.IntRange(min=1), default=12, show_default=True,
              help="How many recent weeks.")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The last day shown (default: today).")
@rules_file_option
@athlete_option
@json_option
@click.pass_context
def week(ctx: click.Context, weeks: int, as_of: str | None, rules_file: Path | None,
         athlete: str | None, as_json: bool) -> None:
    """Show weekly load: km, runs, long run, ramp, ACWR, fitness/fatigue/form, monotony, ...

    One row per ISO week (the athlete's time zone): run km, runs, long run, ramp vs the
    previous week, ACWR (EWMA and uncoupled), fitness / fatigue / form, monotony and
    strain (session load, minutes x RPE), strength sessions, cross-training minutes,
    surface mix, main-shoe share and the worst morning pain.
    """
    show_weeks(app(ctx).store, athlete, weeks, as_json, parse_date("as-of", as_of), rules_file)


@click.command()
@click.option("--weeks", type=click.IntRange(min=1), default=16, show_default=True,
              help="How many weeks to show.")
@json_option
@click.pass_context
def demo(ctx: click.Context, weeks: int, as_json: bool) -> None:
    """Build the demo squad from the shipped sample data, show a week table, write the report.

    Four runners over 16 weeks (one spikes, one never rotates shoes, one with rising heel
    pain, one steady). Uses a new database in a temporary folder unless --db (or
    LOADMON_DB) names one; the squad report is written next to it. With --json, only the
    weekly table of the first runner is printed.
    """
    state: AppContext = app(ctx)
    if state.db is None:
        state.db = str(Path(tempfile.mkdtemp(prefix="loadmon-demo-")) / "demo.sqlite")
    names = load_demo(state.store)
    store = state.store
    last = store.sessions_frame(columns=["start_utc"])["start_utc"].max()
    who = store.athlete(names[0])
    as_of = last.tz_convert(who.tz).date()
    if not as_json:
        click.echo(f"demo log: {store.engine.url.render_as_string(hide_password=True)}")
    show_weeks(store, names[0], weeks, as_json, as_of)
    if not as_json:
        folder = Path(store.engine.url.database or ".").parent if store.engine.url.drivername \
            .startswith("sqlite") else Path.cwd()
        path = write_report(store, [store.athlete(n) for n in names], True, weeks,
                            folder / "loadmon-demo-report.html", as_of)
        click.echo(f"squad report: {path}")


def register(cli: click.Group) -> None:
    """Add these commands to the ``loadmon`` group."""
    cli.add_command(week)
    cli.add_command(demo)
