"""Reading the log and the rules for the load model: shared by ``flags``, ``week`` and ``check``.

A thin layer: the store gives the frames and each athlete's own thresholds, a
``--rules`` file adds its overrides, and the pure core (`loadmon.models`) does
the rest.

Rule precedence, lowest first: the packaged defaults, the athlete's own
thresholds in the database (``loadmon rules set``), the ``--rules`` file's
tables for everyone, the file's ``[athletes.NAME.RULE]`` tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from loadmon.cli.common import today_local
from loadmon.models.assess import Assessment, assess
from loadmon.models.flags import pain_frame
from loadmon.models.log import SHOE_COLUMNS
from loadmon.models.rules import (
    RuleSet,
    default_rules,
    merge_overrides,
    parse_override_file,
    parse_stored_overrides,
)
from loadmon.store import MODEL_COLUMNS, AthleteInfo, Store
from loadmon.types import InvalidValue

F = TypeVar("F", bound=Callable[..., Any])


def rules_file_option(f: F) -> F:
    """Add ``--rules FILE``: a TOML file of threshold overrides."""
    return click.option(
        "--rules", "rules_file", default=None,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="TOML file overriding thresholds: [spike] caution_pct = 15, or "
             "[athletes.NAME.spike] for one athlete.",
    )(f)


def parse_date(name: str, text: str | None) -> date | None:
    """Read an ISO date option (None stays None).

    Parameters
    ----------
    name : str
        The option's name, for the error.
    text : str or None
        The option's text.

    Returns
    -------
    datetime.date or None
        The date.
    """
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(name, f"{text!r} is not an ISO date (YYYY-MM-DD)") from None


def read_rules_file(path: Path | None) -> tuple[dict, dict]:
    """Read a ``--rules`` file: the overrides for everyone and per athlete (empty without one).

    Parameters
    ----------
    path : Path or None
        The TOML file.

    Returns
    -------
    tuple of dict
        Common overrides, and athlete name to that athlete's overrides.
    """
    if path is None:
        return {}, {}
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read ({exc})") from None
    try:
        return parse_override_file(text, str(path))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def rules_for(store: Store, who: AthleteInfo | None, path: Path | None) -> RuleSet:
    """Return the rules of one athlete (or everyone's, for None), overrides merged.

    Parameters
    ----------
    store : Store
        Where the athlete's own thresholds are.
    who : AthleteInfo or None
        The athlete; None: the defaults and the file's common tables only.
    path : Path or None
        A ``--rules`` file.

    Returns
    -------
    RuleSet
        The merged rules.
    """
    common, per_athlete = read_rules_file(path)
    rules = default_rules()
    try:
        if who is not None:
            source = f"athlete {who.name!r} (loadmon rules set)"
            rules = merge_overrides(
                rules, parse_stored_overrides(store.rule_overrides(who), source), source)
        rules = merge_overrides(rules, common, str(path))
        if who is not None and who.name in per_athlete:
            rules = merge_overrides(rules, per_athlete[who.name],
                                    f"{path} (athlete {who.name!r})")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    return rules


def squad_rules(store: Store, athletes: list[AthleteInfo],
                path: Path | None) -> tuple[RuleSet, dict[str, RuleSet]]:
    """Return the rules for everyone and those of the athletes with their own thresholds.

    Parameters
    ----------
    store : Store
        Where the athletes' own thresholds are.
    athletes : list of AthleteInfo
        The squad.
    path : Path or None
        A ``--rules`` file.

    Returns
    -------
    tuple
        The common rules, and athlete name to their own rules (only those who
        have thresholds of their own: the others share one evaluation).
    """
    _, per_athlete = read_rules_file(path)
    own = {who.name: rules_for(store, who, path) for who in athletes
           if who.name in per_athlete or store.rule_overrides(who)}
    return rules_for(store, None, path), own


def model_inputs(store: Store, who: AthleteInfo) -> tuple[pd.DataFrame, pd.DataFrame,
                                                          pd.DataFrame]:
    """Read one athlete's sessions, pain entries and shoes as the load model takes them.

    Parameters
    ----------
    store : Store
        The log.
    who : AthleteInfo
        The athlete.

    Returns
    -------
    tuple of pandas.DataFrame
        Sessions (`loadmon.store.MODEL_COLUMNS`), pain, shoes (km).
    """
    shoes = pd.DataFrame([{**asdict(s), "athlete": who.name} for s in store.shoes(who)],
                         columns=[*SHOE_COLUMNS, "model", "distance_km", "runs"])
    return (store.sessions_frame([who.name], columns=MODEL_COLUMNS),
            pain_frame({who.name: store.pain(who)}), shoes)


def assess_athlete(store: Store, who: AthleteInfo, as_of: date | None,
                   rules_file: Path | None) -> Assessment:
    """Run the load model on one athlete's log: weekly table, flags, exclusions.

    Parameters
    ----------
    store : Store
        The log.
    who : AthleteInfo
        The athlete.
    as_of : datetime.date or None
        The evaluation date; None: today in the athlete's time zone.
    rules_file : Path or None
        A ``--rules`` file.

    Returns
    -------
    Assessment
        The model's output.
    """
    sessions, pain, shoes = model_inputs(store, who)
    return assess(sessions, pain, shoes, rules_for(store, who, rules_file),
                  as_of=as_of or today_local(who.tz), with_spikes=False)
