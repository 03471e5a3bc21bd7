"""``loadmon log``: add sessions by hand, import and export the training-log CSV."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import click

from loadmon.cli.common import (
    app,
    athlete_option,
    json_option,
    print_json,
    print_table,
    today_local,
)
from loadmon.importer import import_log_csv
from loadmon.io.logcsv import parse_when, write_log_csv
from loadmon.types import KINDS, SURFACES, Session
from loadmon.units import parse_distance_m, parse_duration_s


@click.group()
def log() -> None:
    """Add sessions by hand, list them, import and export the training-log CSV."""


@log.command("add")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--date", "day", default=None,
              help="Local date YYYY-MM-DD or date-time YYYY-MM-DDTHH:MM (default: today).")
@click.option("--duration", default=None, help="Minutes, or 45:30, 1:05:00, 1.5h.")
@click.option("--distance", default=None, help="Distance: 10 (km), 10km, 6.2mi, 5000m.")
@click.option("--shoe", default=None, help="Shoe name (see: loadmon shoes list).")
@click.option("--surface", type=click.Choice(SURFACES), default=None)
@click.option("--rpe", type=float, default=None, help="Session effort 0-10 (CR-10).")
@click.option("--sport", default=None, help="For cross-training: cycling, swimming, ...")
@click.option("--notes", default=None)
@athlete_option
@click.pass_context
def log_add(ctx: click.Context, kind: str, day: str | None, duration: str | None,
            distance: str | None, shoe: str | None, surface: str | None, rpe: float | None,
            sport: str | None, notes: str | None, athlete: str | None) -> None:
    """Add one session of KIND (run, cross or strength)."""
    store = app(ctx).store
    who = store.athlete(athlete)
    if day is None:
        day = today_local(who.tz).isoformat()
    start, time_known = parse_when(day, who.zone)
    session = Session(
        start_utc=start, time_known=time_known,
        duration_s=parse_duration_s(duration) if duration else 0.0,
        kind=kind,  # type: ignore[arg-type]
        distance_m=parse_distance_m(distance) if distance else None,
        shoe=shoe, surface=surface, rpe=rpe, sport=sport, notes=notes, source="manual",
    )
    store.add_sessions(who, [session])
    what = f"{session.distance_m / 1000:.2f} km " if session.distance_m else ""
    click.echo(f"added {kind} {what}on {day} for {who.name}")


@log.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--add-shoes", is_flag=True,
              help="Add shoes named in the file that are not in the log yet.")
@athlete_option
@click.pass_context
def log_import(ctx: click.Context, file: Path, add_shoes: bool, athlete: str | None) -> None:
    """Import a training-log CSV FILE (one transaction: all rows or none).

    Columns: date, kind, distance_km or distance_mi, duration_min, shoe, surface,
    rpe, sport, notes (only date and kind are required). Importing the same rows
    again adds nothing.
    """
    outcome = import_log_csv(app(ctx).store, file, athlete, add_shoes=add_shoes)
    click.echo(f"{file}: added {outcome.added} sessions, {outcome.duplicates} already in the log")


@log.command("export")
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@athlete_option
@click.pass_context
def log_export(ctx: click.Context, file: Path, athlete: str | None) -> None:
    """Export the log as a training-log CSV FILE ('-' for stdout)."""
    store = app(ctx).store
    who = store.athlete(athlete)
    text = write_log_csv(store.sessions(who), who.zone)
    if str(file) == "-":
        click.echo(text, nl=False)
        return
    tmp = file.with_name(f".{file.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, file)  # never leave a half-written export behind
    click.echo(f"wrote {text.count(chr(10)) - 1} sessions to {file}")


@log.command("list")
@click.option("--last", type=int, default=20, show_default=True, help="How many sessions.")
@athlete_option
@json_option
@click.pass_context
def log_list(ctx: click.Context, last: int, athlete: str | None, as_json: bool) -> None:
    """List the most recent sessions."""
    store = app(ctx).store
    who = store.athlete(athlete)
    sessions = store.sessions(who)[-last:] if last > 0 else []
    if as_json:
        print_json([asdict(s) for s in sessions])
        return
    print_table(None, ["date", "kind", "sport", "km", "min", "shoe", "surface", "rpe", "source"], [
        (s.start_utc.astimezone(who.zone).strftime("%Y-%m-%d %H:%M" if s.time_known
                                                    else "%Y-%m-%d"),
         s.kind, s.sport, f"{s.distance_m / 1000:.2f}" if s.distance_m is not None else None,
         f"{s.duration_s / 60:.0f}", s.shoe, s.surface,
         f"{s.rpe:g}" if s.rpe is not None else None, s.source)
        for s in sessions
    ])


def register(cli: click.Group) -> None:
    """Add this group to the ``loadmon`` group."""
    cli.add_command(log)
