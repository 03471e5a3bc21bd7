"""The load rules as data: the packaged defaults, validation and per-athlete overrides.

The rules of DESIGN.md section 4 live in ``rules.toml`` next to this module:
one table per rule id with its thresholds, windows, severity, message, evidence
and the strength of that evidence. This module knows each rule's keys and
their types (the schema) and nothing of their values.

Overrides (an athlete's own thresholds, a ``--rules`` file) change thresholds
and windows only: messages, evidence and its strength are not overridable, so
an override can never make a flag claim more than its evidence.

Every problem is a `ValueError` naming the file (or source), the rule and the key.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

#: Severities in increasing order.
SEVERITIES: tuple[str, ...] = ("info", "caution", "high", "very_high")

#: The packaged defaults file (package data of `loadmon.models`).
DEFAULT_RULES_FILE = "rules.toml"

#: Keys every rule has; none of them may be overridden.
TEXT_KEYS: dict[str, str] = {
    "title": "str",
    "computes": "str",
    "severity": "severity",
    "message": "str",
    "evidence": "str",
    "strength": "str",
}

_TIERS_PCT = {"window_days": "int", "caution_pct": "float", "high_pct": "float",
              "very_high_pct": "float"}

#: Per rule: its own keys and their types. Keys of type ``str``, ``list[str]`` and
#: ``severity`` are descriptive (not overridable); ``float`` and ``int`` keys are
#: the thresholds and windows an override may change.
RULE_KEYS: dict[str, dict[str, str]] = {
    "spike": {
        **_TIERS_PCT, "break_window_days": "int", "min_history_days": "int",
        "message_break": "str", "message_break_compared": "str", "message_break_none": "str",
        "message_new_log": "str",
    },
    "weekly_ramp": {
        "window_days": "int", "caution_pct": "float", "min_base_km": "float",
        "convention_pct": "float", "convention": "str",
    },
    "acwr": {
        "acute_days": "int", "chronic_days": "int", "low_band": "float", "high_band": "float",
        "very_high_band": "float",
    },
    "fitness": {"fitness_days": "int", "fatigue_days": "int"},
    "monotony": {"window_days": "int", "caution": "float", "high": "float"},
    "shoe_rotation": {"window_days": "int", "share_pct": "float", "min_runs_per_week": "float"},
    "shoe_wear": {"default_limit_km": "float", "high_km": "float"},
    "surface_mix": {"window_days": "int", "share_pct": "float"},
    "surface_spike": {**_TIERS_PCT, "min_history_days": "int"},
    "strength": {"window_days": "int", "min_sessions_per_week": "float"},
    "pain": {"max_score": "float", "rising_entries": "int", "message_rising": "str"},
    "pain_referral": {
        "red_flag_severity": "severity", "site": "str", "max_weeks": "float",
        "max_score": "float", "worsening_entries": "int", "episode_gap_days": "int",
        "red_flags": "list[str]", "message_duration": "str", "message_score": "str",
        "message_worsening": "str", "message_red_flag": "str",
    },
    "cadence": {
        "window_days": "int", "min_runs": "int", "sustained_runs": "int", "drop_pct": "float",
        "retrain_min_pct": "float", "retrain_max_pct": "float", "message_retrain": "str",
    },
    "data_check": {
        "max_run_km": "float", "max_speed_m_s": "float", "speed_check_min_km": "float",
        "overlap_s": "float", "message_speed": "str", "message_overlap": "str",
    },
}

#: Rule ids, the stable API, in the order of DESIGN.md section 4.
RULE_IDS: tuple[str, ...] = tuple(RULE_KEYS)

#: The table of session-load settings in the rules file (not a rule: it raises no
#: flag). Its keys: the default RPE (0-10) of a session of each kind that has none logged.
SESSION_LOAD_TABLE = "session_load"
SESSION_LOAD_KEYS: tuple[str, ...] = ("rpe_run", "rpe_cross", "rpe_strength")

#: Keys a rule has that are not required (all others are).
_OPTIONAL: frozenset[str] = frozenset({"message"})

#: Lower bounds that keep a threshold meaningful: windows of at least one day, the
#: rest not negative.
_INT_MIN = 1
_ORDERED = (("caution_pct", "high_pct", "very_high_pct"), ("caution", "high"),
            ("low_band", "high_band", "very_high_band"), ("retrain_min_pct", "retrain_max_pct"))


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id and every value of its table.

    Attributes
    ----------
    id : str
        The stable rule id (``spike``, ``weekly_ramp``, ...).
    title : str
        A short human name.
    severity : str
        The severity it raises (tiered rules: the lowest tier).
    evidence : str
        The evidence behind the rule.
    strength : str
        The strength of that evidence (``moderate``, ``low``, ...).
    values : Mapping[str, Any]
        Every key of the rule's table, thresholds and texts alike.
    """

    id: str
    title: str
    severity: str
    evidence: str
    strength: str
    values: Mapping[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        """Return the value of `key` (a threshold, window or text)."""
        return self.values[key]

    @property
    def thresholds(self) -> dict[str, float | int]:
        """The overridable thresholds and windows of this rule."""
        return {k: v for k, v in self.values.items()
                if RULE_KEYS[self.id].get(k) in {"float", "int"}}

    def evidence_text(self) -> str:
        """Return the evidence with its strength, as a flag shows it."""
        return f"{self.evidence} ({self.strength})"


#: A full rule set: every rule id to its `Rule`.
RuleSet = Mapping[str, Rule]


def default_rules_text() -> str:
    """Return the text of the packaged default rules (``loadmon/models/rules.toml``).

    The one place `loadmon.models` reads a file: its own package data, which is
    configuration.

    Returns
    -------
    str
        The TOML text.
    """
    return resources.files("loadmon.models").joinpath(DEFAULT_RULES_FILE).read_text("utf-8")


def default_rules() -> RuleSet:
    """Return the packaged default rules, validated.

    Returns
    -------
    RuleSet
        Every rule id to its `Rule`.
    """
    return parse_rules(default_rules_text(), source=f"loadmon/models/{DEFAULT_RULES_FILE}")


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Parse and validate a full rules file: every rule id, every key, right types.

    Parameters
    ----------
    text : str
        TOML text with one table per rule id.
    source : str
        The file name used in error messages.

    Returns
    -------
    RuleSet
        Every rule id to its `Rule`.

    Raises
    ------
    ValueError
        Invalid TOML, an unknown or missing rule id, an unknown or missing key,
        a value of the wrong type or out of range; the message names `source`,
        the rule and the key.
    """
    data = _load_toml(text, source)
    if SESSION_LOAD_TABLE in data:
        _session_load(data.pop(SESSION_LOAD_TABLE), source)
    _check_rule_ids(data, source)
    missing_rules = [r for r in RULE_IDS if r not in data]
    if missing_rules:
        raise ValueError(f"{source}: rule {missing_rules[0]!r} is missing")
    rules: dict[str, Rule] = {}
    for rule_id in RULE_IDS:
        table = data[rule_id]
        if not isinstance(table, dict):
            raise ValueError(f"{source}: [{rule_id}] must be a table")
        schema = _schema(rule_id)
        for key in table:
            _check_key(source, rule_id, key, schema)
        missing = [k for k in schema if k not in table and k not in _OPTIONAL]
        if missing:
            raise ValueError(f"{source}: [{rule_id}] {missing[0]}: missing")
        values = {k: _checked(source, rule_id, k, schema[k], v) for k, v in table.items()}
        rules[rule_id] = _rule(source, rule_id, values)
    return MappingProxyType(rules)


def parse_session_load(text: str, source: str = "<rules>") -> dict[str, float]:
    """Return the ``[session_load]`` table of a rules file: the default RPE per session kind.

    Parameters
    ----------
    text : str
        TOML text of a rules file.
    source : str
        The file name used in error messages.

    Returns
    -------
    dict of str to float
        Session kind (``run``, ``cross``, ``strength``) to its default RPE (0-10).

    Raises
    ------
    ValueError
        The table or one of its keys is missing, unknown, not a number or outside 0-10.
    """
    data = _load_toml(text, source)
    if SESSION_LOAD_TABLE not in data:
        raise ValueError(f"{source}: [{SESSION_LOAD_TABLE}] is missing")
    return _session_load(data[SESSION_LOAD_TABLE], source)


def _session_load(table: Any, source: str) -> dict[str, float]:
    where = f"{source}: [{SESSION_LOAD_TABLE}]"
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table")
    schema = {k: "float" for k in SESSION_LOAD_KEYS}
    for key in table:
        if key not in schema:
            raise ValueError(f"{where} unknown key {key!r} (known keys: "
                             f"{', '.join(SESSION_LOAD_KEYS)})")
    out: dict[str, float] = {}
    for key in SESSION_LOAD_KEYS:
        if key not in table:
            raise ValueError(f"{where} {key}: missing")
        value = _checked(source, SESSION_LOAD_TABLE, key, "float", table[key])
        if value > 10:
            raise ValueError(f"{where} {key}: expected an RPE from 0 to 10, got {value!r}")
        out[key.removeprefix("rpe_")] = value
    return out


def merge_overrides(
    rules: RuleSet, overrides: Mapping[str, Any] | str, source: str = "<overrides>"
) -> RuleSet:
    """Return `rules` with an athlete's (or a file's) thresholds merged over them.

    Parameters
    ----------
    rules : RuleSet
        The rules to start from (usually `default_rules`).
    overrides : Mapping or str
        Rule id to a table of thresholds, as a dict or as TOML text
        (``[spike]`` / ``caution_pct = 15``).
    source : str
        The file name (or ``athlete NAME``) used in error messages.

    Returns
    -------
    RuleSet
        A new rule set; rules and keys not overridden keep their values.

    Raises
    ------
    ValueError
        An unknown rule id or key, a key that is not a threshold (messages,
        evidence), a value of the wrong type or out of range.
    """
    data = _load_toml(overrides, source) if isinstance(overrides, str) else overrides
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: overrides must be a table of rule ids")
    _check_rule_ids(data, source)
    merged = dict(rules)
    for rule_id, table in data.items():
        if not isinstance(table, Mapping):
            raise ValueError(f"{source}: [{rule_id}] must be a table of thresholds")
        schema = _schema(rule_id)
        values = dict(rules[rule_id].values)
        for key, value in table.items():
            _check_key(source, rule_id, key, schema)
            kind = schema[key]
            if kind not in {"float", "int"}:
                raise ValueError(
                    f"{source}: [{rule_id}] {key}: not overridable (only thresholds and "
                    f"windows are: {', '.join(sorted(rules[rule_id].thresholds))})"
                )
            values[key] = _checked(source, rule_id, key, kind, value)
        merged[rule_id] = _rule(source, rule_id, values)
    return MappingProxyType(merged)


def parse_value(text: str, source: str = "<value>") -> int | float:
    """Read one threshold value as TOML reads it: ``15`` is whole, ``15.0`` and ``12.5`` are not.

    Parameters
    ----------
    text : str
        The value, e.g. from a command line.
    source : str
        What to name in the error message.

    Returns
    -------
    int or float
        The number (whether it suits the key is `merge_overrides`'s check).

    Raises
    ------
    ValueError
        Not a single number.
    """
    value: object = None
    if "\n" not in text and "\r" not in text:
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{source}: expected a number, got {text!r}")
    return value


def parse_stored_overrides(
    stored: Mapping[str, Mapping[str, str]], source: str
) -> dict[str, dict[str, int | float]]:
    """Turn stored overrides (rule id to key to TOML literal) into override tables.

    Parameters
    ----------
    stored : Mapping
        As `loadmon.store.Store.rule_overrides` returns them.
    source : str
        What to name in error messages (``athlete NAME``).

    Returns
    -------
    dict
        Rule id to key to number, for `merge_overrides`.
    """
    return {rule: {key: parse_value(text, f"{source}: [{rule}] {key}")
                   for key, text in table.items()}
            for rule, table in stored.items()}


def parse_override_file(text: str, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a ``--rules`` file into overrides for everyone and per athlete.

    The file holds rule tables (``[spike]``) for every athlete, and
    ``[athletes.NAME.RULE]`` tables for one athlete.

    Parameters
    ----------
    text : str
        TOML text.
    source : str
        The file name used in error messages.

    Returns
    -------
    tuple of dict
        The common overrides, and athlete name to that athlete's overrides.
    """
    data = _load_toml(text, source)
    athletes = data.pop("athletes", {})
    if not isinstance(athletes, dict) or not all(isinstance(v, dict) for v in athletes.values()):
        raise ValueError(f"{source}: [athletes.NAME.RULE] tables expected under 'athletes'")
    _check_rule_ids(data, source)
    for name, table in athletes.items():
        _check_rule_ids(table, f"{source} (athlete {name!r})")
    return data, athletes


def _load_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML ({exc})") from None


def _check_rule_ids(data: Mapping[str, Any], source: str) -> None:
    for rule_id in data:
        if rule_id not in RULE_KEYS:
            raise ValueError(
                f"{source}: unknown rule {rule_id!r} (known rules: {', '.join(RULE_IDS)})"
            )


def _schema(rule_id: str) -> dict[str, str]:
    return {**TEXT_KEYS, **RULE_KEYS[rule_id]}


def _check_key(source: str, rule_id: str, key: str, schema: Mapping[str, str]) -> None:
    if key not in schema:
        raise ValueError(
            f"{source}: [{rule_id}] unknown key {key!r} (known keys: {', '.join(sorted(schema))})"
        )


def _checked(source: str, rule_id: str, key: str, kind: str, value: Any) -> Any:
    where = f"{source}: [{rule_id}] {key}"
    got = f"got {value!r} ({type(value).__name__})"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: expected a number, {got}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{where}: expected a finite number >= 0, {got}")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected a whole number, {got}")
        if value < _INT_MIN:
            raise ValueError(f"{where}: expected a whole number >= {_INT_MIN}, {got}")
        return value
    if kind == "severity":
        if value not in SEVERITIES:
            raise ValueError(f"{where}: expected one of {', '.join(SEVERITIES)}, {got}")
        return value
    if kind == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{where}: expected a list of non-empty strings, {got}")
        return tuple(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a non-empty string, {got}")
    return value


def _rule(source: str, rule_id: str, values: dict[str, Any]) -> Rule:
    for keys in _ORDERED:
        present = [k for k in keys if k in values]
        for low, high in itertools.pairwise(present):
            if not values[low] < values[high]:
                raise ValueError(
                    f"{source}: [{rule_id}] {high}: must be above {low} "
                    f"({values[high]!r} <= {values[low]!r})"
                )
    return Rule(
        id=rule_id, title=values["title"], severity=values["severity"],
        evidence=values["evidence"], strength=values["strength"],
        values=MappingProxyType(values),
    )
