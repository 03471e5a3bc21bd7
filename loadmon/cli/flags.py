"""``loadmon flags``: the load rules' flags on the log, newest first.

A thin layer: it reads the log from the store and calls the pure core
(`loadmon.models.flags.evaluate`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from rich.table import Table

from loadmon.cli.common import (
    app,
    athlete_option,
    console,
    json_option,
    print_json,
    today_local,
)
from loadmon.cli.model import (
    assess_athlete,
    model_inputs,
    parse_date,
    rules_file_option,
    rules_for,
)
from loadmon.models.check import PlannedRun, check_run
from loadmon.models.flags import Flag
from loadmon.models.rules import (
    RULE_IDS,
    SEVERITIES,
    RuleSet,
    merge_overrides,
    parse_value,
)
from loadmon.store import Store
from loadmon.types import SURFACES
from loadmon.units import parse_distance_m


def collect_flags(
    store: Store,
    athlete: str | None,
    since: date | None = None,
    as_of: date | None = None,
    rules_file: Path | None = None,
) -> list[Flag]:
    """Read the log of one athlete (or every athlete) and return its flags, newest first.

    Parameters
    ----------
    store : Store
        The log.
    athlete : str or None
        One athlete; None: every athlete in the log.
    since : datetime.date or None
        Keep flags dated on or after this local date.
    as_of : datetime.date or None
        Evaluate the log as it was on this date; None: today in each athlete's zone.
    rules_file : Path or None
        A TOML file of threshold overrides.

    Returns
    -------
    list of Flag
        The flags.
    """
    who = [store.athlete(athlete)] if athlete is not None else store.athletes()
    flags: list[Flag] = []
    for info in who:
        flags += assess_athlete(store, info, as_of, rules_file).flags
    if since is not None:
        flags = [f for f in flags if f.date >= since]
    flags.sort(key=lambda f: f.date, reverse=True)  # stable: per-athlete order kept on a date
    return flags


@click.command()
@click.option("--since", default=None, metavar="DATE",
              help="Only flags on or after this local date (YYYY-MM-DD).")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Check the log as it was on this local date (default: today).")
@rules_file_option
@click.option("--athlete", "-a", default=None, envvar="LOADMON_ATHLETE",
              help="Only this athlete (default: every athlete in the log).")
@json_option
@click.pass_context
def flags(ctx: click.Context, since: str | None, as_of: str | None, rules_file: Path | None,
          athlete: str | None, as_json: bool) -> None:
    """Show the flags of the load rules, newest first: spikes, ramps, shoes, surfaces, pain."""
    found = collect_flags(app(ctx).store, athlete, parse_date("since", since),
                          parse_date("as-of", as_of), rules_file)
    if as_json:
        print_json([f.to_dict() for f in found])
        return
    if not found:
        click.echo("no flags")
        return
    table = Table(show_edge=False, header_style="bold")
    for col in ("date", "athlete", "severity", "rule", "message", "evidence"):
        table.add_column(col, overflow="fold")
    for f in found:
        table.add_row(f.date.isoformat(), f.athlete, f.severity.replace("_", " "), f.rule,
                      f.message, f.evidence)
    console().print(table)


@click.command("check")
@click.option("--distance", required=True, help="Planned distance: 18 (km), 18km, 11mi.")
@click.option("--date", "day", default=None, metavar="DATE",
              help="The day of the run (default: today).")
@click.option("--surface", type=click.Choice(SURFACES), default=None,
              help="Its surface (checks the surface spike).")
@click.option("--shoe", default=None, help="The shoe you will wear (checks its wear).")
@rules_file_option
@athlete_option
@json_option
@click.pass_context
def check_command(ctx: click.Context, distance: str, day: str | None, surface: str | None,
                  shoe: str | None, rules_file: Path | None, athlete: str | None,
                  as_json: bool) -> None:
    """Before a run: would it raise a spike, surface or shoe flag, and how long can it be."""
    store = app(ctx).store
    who = store.athlete(athlete)
    if shoe is not None:
        store.shoe(who, shoe)  # an unknown shoe is an error, not a new one
    planned = PlannedRun(who.name, parse_date("date", day) or today_local(who.tz),
                         parse_distance_m(distance) / 1000.0, surface, shoe)
    sessions, pain, shoes = model_inputs(store, who)
    result = check_run(sessions, pain, shoes, rules_for(store, who, rules_file), planned,
                       who.tz)
    longest = result.longest
    if as_json:
        print_json({
            "athlete": who.name, "date": planned.day.isoformat(),
            "distance_km": round(planned.distance_km, 3), "surface": surface, "shoe": shoe,
            "flags": [f.to_dict() for f in result.flags],
            "longest_km": None if longest is None else round(longest.km, 3),
            "longest_inclusive": None if longest is None else longest.inclusive,
            "limits": [{"rule": lim.rule, "km": round(lim.km, 3), "inclusive": lim.inclusive,
                        "basis": lim.basis} for lim in result.limits],
            "notes": result.notes,
        })
        return
    what = ", ".join(x for x in (surface, shoe) if x)
    click.echo(f"{who.name}: {planned.distance_km:.1f} km on {planned.day.isoformat()}"
               + (f" ({what})" if what else ""))
    if not result.flags:
        click.echo("  no spike, surface or shoe flag")
    for f in result.flags:
        click.echo(f"  {f.severity.replace('_', ' ')} ({f.rule}): {f.message}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    if longest is None:
        click.echo("  no distance limit from these rules")
    else:
        bound = "up to" if longest.inclusive else "under"
        click.echo(f"  longest without a flag: {bound} {longest.km:.1f} km ({longest.basis})")


def rule_records(ruleset: RuleSet) -> list[dict[str, object]]:
    """Return every rule as JSON-ready data: id, thresholds, windows, severities, evidence.

    Parameters
    ----------
    ruleset : RuleSet
        The rules (defaults with any overrides).

    Returns
    -------
    list of dict
        One dict per rule id, in the order of DESIGN.md section 4: ``id``,
        ``title``, ``computes``, ``severity``, ``severities`` (the tiers it can
        raise), ``thresholds`` (overridable values, windows included),
        ``evidence`` and ``strength``.
    """
    out: list[dict[str, object]] = []
    for rule_id in RULE_IDS:
        rule = ruleset[rule_id]
        tiers = [s for s in SEVERITIES if f"{s}_pct" in rule.values or s in rule.values]
        extra = [rule["red_flag_severity"]] if "red_flag_severity" in rule.values else []
        extra += ["high"] if "high_km" in rule.values else []  # shoe wear: past high_km
        out.append({
            "id": rule.id, "title": rule.title, "computes": rule["computes"],
            "severity": rule.severity,
            "severities": sorted({rule.severity, *tiers, *extra}, key=SEVERITIES.index),
            "thresholds": dict(rule.thresholds), "evidence": rule.evidence,
            "strength": rule.strength,
        })
    return out


@click.group("rules", invoke_without_command=True)
@click.option("--rules", "rules_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file overriding thresholds (shown merged over the defaults).")
@click.option("--athlete", "-a", default=None, envvar="LOADMON_ATHLETE",
              help="Show this athlete's rules, with their own thresholds (loadmon rules set).")
@json_option
@click.pass_context
def rules_command(ctx: click.Context, rules_file: Path | None, athlete: str | None,
                  as_json: bool) -> None:
    """Show every load rule: id, thresholds and windows, severities, evidence and its strength.

    `loadmon rules set` and `loadmon rules unset` keep an athlete's own thresholds.
    """
    if ctx.invoked_subcommand is not None:
        return
    who = app(ctx).store.athlete(athlete) if athlete is not None else None
    records = rule_records(rules_for(app(ctx).store, who, rules_file))
    if as_json:
        print_json(records)
        return
    table = Table(show_edge=False, header_style="bold")
    for col in ("rule", "thresholds", "severities", "evidence (strength)"):
        table.add_column(col, overflow="fold")
    for r in records:
        thresholds = ", ".join(f"{k} = {v:g}" for k, v in r["thresholds"].items())  # type: ignore[union-attr]
        table.add_row(f"{r['id']}\n{r['title']}", thresholds or "-",
                      " / ".join(str(s).replace("_", " ") for s in r["severities"]),  # type: ignore[union-attr]
                      f"{r['evidence']} ({r['strength']})")
    console().print(table)


def _rule_key(text: str) -> tuple[str, str]:
    rule, dot, key = text.partition(".")
    if not dot or not rule or not key:
        raise click.BadParameter(f"{text!r}: expected RULE.KEY, e.g. spike.caution_pct")
    return rule, key


@rules_command.command("set")
@click.argument("rule_key", metavar="RULE.KEY")
@click.argument("value")
@athlete_option
@click.pass_context
def rules_set(ctx: click.Context, rule_key: str, value: str, athlete: str | None) -> None:
    """Keep an athlete's own threshold: loadmon rules set spike.caution_pct 15."""
    store = app(ctx).store
    who = store.athlete(athlete)
    rule, key = _rule_key(rule_key)
    source = f"athlete {who.name!r}"
    try:
        number = parse_value(value, f"{source}: [{rule}] {key}")
        merge_overrides(rules_for(store, who, None), {rule: {key: number}}, source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    store.set_rule_override(who, rule, key, repr(number))
    click.echo(f"{who.name}: {rule}.{key} = {number!r}")


@rules_command.command("unset")
@click.argument("rule_key", metavar="RULE.KEY")
@athlete_option
@click.pass_context
def rules_unset(ctx: click.Context, rule_key: str, athlete: str | None) -> None:
    """Go back to the default of a threshold for an athlete."""
    store = app(ctx).store
    who = store.athlete(athlete)
    rule, key = _rule_key(rule_key)
    if not store.unset_rule_override(who, rule, key):
        raise click.ClickException(f"{who.name}: {rule}.{key} has no own value")
    click.echo(f"{who.name}: {rule}.{key} back to the default")


def register(cli: click.Group) -> None:
    """Add these commands to the ``loadmon`` group."""
    cli.add_command(flags)
    cli.add_command(check_command)
    cli.add_command(rules_command)
