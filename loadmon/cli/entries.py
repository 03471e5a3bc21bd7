"""Manual entries: athletes, shoes and pain scores."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import click

from loadmon.cli.common import (
    app,
    athlete_option,
    json_option,
    print_json,
    print_table,
    today_local,
)
from loadmon.types import PAIN_WHEN, InvalidValue, PainEntry


@click.group()
def athlete() -> None:
    """Add and list athletes (a default athlete, 'me', exists without asking)."""


_HEIGHT_HELP = ("Body height in cm: the default step length of distances estimated from "
                "steps (loadmon replay --save), until a run with a known distance calibrates it.")


@athlete.command("add")
@click.argument("name")
@click.option("--tz", default=None, help="IANA time zone, e.g. Europe/Berlin (default: this "
                                         "machine's). Weeks are counted in it.")
@click.option("--height-cm", type=float, default=None, metavar="CM", help=_HEIGHT_HELP)
@click.pass_context
def athlete_add(ctx: click.Context, name: str, tz: str | None, height_cm: float | None) -> None:
    """Add an athlete NAME."""
    info = app(ctx).store.add_athlete(name, tz, height_cm)
    height = f", {info.height_cm:g} cm" if info.height_cm is not None else ""
    click.echo(f"added athlete {info.name} ({info.tz}{height})")


@athlete.command("set")
@click.argument("name")
@click.option("--height-cm", type=float, default=None, metavar="CM", help=_HEIGHT_HELP)
@click.pass_context
def athlete_set(ctx: click.Context, name: str, height_cm: float | None) -> None:
    """Change what is known of athlete NAME (the default athlete is 'me')."""
    if height_cm is None:
        raise click.UsageError("nothing to set: give --height-cm")
    info = app(ctx).store.set_athlete_height(name, height_cm)
    click.echo(f"{info.name}: height {info.height_cm:g} cm")


@athlete.command("list")
@json_option
@click.pass_context
def athlete_list(ctx: click.Context, as_json: bool) -> None:
    """List athletes."""
    rows = app(ctx).store.athletes()
    if as_json:
        print_json([{"name": a.name, "tz": a.tz, "height_cm": a.height_cm} for a in rows])
    else:
        print_table(None, ["name", "time zone", "height cm"],
                    [(a.name, a.tz, None if a.height_cm is None else f"{a.height_cm:g}")
                     for a in rows])


@click.group()
def shoes() -> None:
    """Add, list and retire running shoes."""


@shoes.command("add")
@click.argument("name")
@click.option("--model", default=None, help="Make and model, e.g. 'Nike Pegasus 40'.")
@click.option("--start-km", type=float, default=0.0, show_default=True,
              help="Distance already on the shoe, km.")
@click.option("--retire-km", type=float, default=650.0, show_default=True,
              help="Distance at which to retire it, km.")
@athlete_option
@click.pass_context
def shoes_add(ctx: click.Context, name: str, model: str | None, start_km: float,
              retire_km: float, athlete: str | None) -> None:
    """Add a pair of shoes called NAME."""
    shoe = app(ctx).store.add_shoe(athlete, name, model, start_km, retire_km)
    click.echo(f"added shoe {shoe.name} ({shoe.start_km:g} km, retire at {shoe.retire_km:g} km)")


@shoes.command("list")
@athlete_option
@json_option
@click.pass_context
def shoes_list(ctx: click.Context, athlete: str | None, as_json: bool) -> None:
    """List shoes with their distance."""
    rows = app(ctx).store.shoes(athlete)
    if as_json:
        print_json([asdict(s) for s in rows])
        return
    print_table(None, ["name", "model", "km", "runs", "retire km", "status"], [
        (s.name, s.model, f"{s.distance_km:.1f}", s.runs, f"{s.retire_km:g}",
         "retired" if s.retired else "active") for s in rows
    ])


@shoes.command("retire")
@click.argument("name")
@athlete_option
@click.pass_context
def shoes_retire(ctx: click.Context, name: str, athlete: str | None) -> None:
    """Retire the shoe NAME (its runs stay in the log)."""
    shoe = app(ctx).store.retire_shoe(athlete, name)
    click.echo(f"retired {shoe.name} at {shoe.distance_km:.1f} km")


@click.command()
@click.argument("score", type=float)
@click.option("--date", "day", default=None, help="Local date YYYY-MM-DD (default: today).")
@click.option("--when", "moment", type=click.Choice(PAIN_WHEN), default="morning",
              show_default=True, help="First steps in the morning, during a run, or after.")
@click.option("--site", default="heel", show_default=True, help="Where it hurts.")
@click.option("--notes", default=None, help="Anything else (night pain, numbness, swelling...).")
@athlete_option
@click.pass_context
def pain(ctx: click.Context, score: float, day: str | None, moment: str, site: str,
         notes: str | None, athlete: str | None) -> None:
    """Log a pain SCORE from 0 (none) to 10 (worst imaginable)."""
    store = app(ctx).store
    who = store.athlete(athlete)
    try:
        when_date = date.fromisoformat(day) if day else today_local(who.tz)
    except ValueError:
        raise InvalidValue("date", f"{day!r} is not an ISO date (YYYY-MM-DD)") from None
    entry = PainEntry(when_date, score, moment, site, notes)  # type: ignore[arg-type]
    store.add_pain(who, entry)
    click.echo(f"logged {site} pain {score:g}/10 ({moment}) on {when_date.isoformat()}")


def register(cli: click.Group) -> None:
    """Add these commands to the ``loadmon`` group."""
    cli.add_command(athlete)
    cli.add_command(shoes)
    cli.add_command(pain)
