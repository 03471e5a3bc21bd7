"""``loadmon flags``: the load rules' flags on the log, newest first.

A thin layer: it reads the log from the store and calls the pure core
(`loadmon.models.flags.evaluate`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from loadmon.cli.common import app, console, json_option, print_json, today_local
from loadmon.models.flags import SHOE_COLUMNS, Flag, evaluate, pain_frame
from loadmon.models.rules import (
    RULE_IDS,
    SEVERITIES,
    RuleSet,
    default_rules,
    merge_overrides,
    parse_override_file,
)
from loadmon.store import Store
from loadmon.types import InvalidValue


def _date(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(name, f"{text!r} is not an ISO date (YYYY-MM-DD)") from None


def _rules(path: Path | None) -> tuple[RuleSet, dict[str, RuleSet]]:
    """Return the default rules with a ``--rules`` file's overrides: everyone's, per athlete."""
    rules = default_rules()
    if path is None:
        return rules, {}
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read ({exc})") from None
    try:
        common, athletes = parse_override_file(text, str(path))
        rules = merge_overrides(rules, common, str(path))
        own = {name: merge_overrides(rules, table, f"{path} (athlete {name!r})")
               for name, table in athletes.items()}
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    return rules, own


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
    rules, own = _rules(rules_file)
    who = [store.athlete(athlete)] if athlete is not None else store.athletes()
    flags: list[Flag] = []
    for info in who:
        shoes = pd.DataFrame([{**asdict(s), "athlete": info.name} for s in store.shoes(info)],
                             columns=[*SHOE_COLUMNS, "model", "distance_km", "runs"])
        flags += evaluate(
            store.sessions_frame([info.name]), pain_frame({info.name: store.pain(info)}),
            shoes, rules, as_of=as_of or today_local(info.tz), athlete_rules=own,
        )
    if since is not None:
        flags = [f for f in flags if f.date >= since]
    flags.sort(key=lambda f: f.date, reverse=True)  # stable: per-athlete order kept on a date
    return flags


@click.command()
@click.option("--since", default=None, metavar="DATE",
              help="Only flags on or after this local date (YYYY-MM-DD).")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Check the log as it was on this local date (default: today).")
@click.option("--rules", "rules_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file overriding thresholds: [spike] caution_pct = 15, or "
                   "[athletes.NAME.spike] for one athlete.")
@click.option("--athlete", "-a", default=None, envvar="LOADMON_ATHLETE",
              help="Only this athlete (default: every athlete in the log).")
@json_option
@click.pass_context
def flags(ctx: click.Context, since: str | None, as_of: str | None, rules_file: Path | None,
          athlete: str | None, as_json: bool) -> None:
    """Show the flags of the load rules, newest first: spikes, ramps, shoes, surfaces, pain."""
    found = collect_flags(app(ctx).store, athlete, _date("since", since), _date("as-of", as_of),
                          rules_file)
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


@click.command("rules")
@click.option("--rules", "rules_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file overriding thresholds (shown merged over the defaults).")
@json_option
def rules_command(rules_file: Path | None, as_json: bool) -> None:
    """Show every load rule: id, thresholds and windows, severities, evidence and its strength."""
    ruleset, _ = _rules(rules_file)
    records = rule_records(ruleset)
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


def register(cli: click.Group) -> None:
    """Add these commands to the ``loadmon`` group."""
    cli.add_command(flags)
    cli.add_command(rules_command)
