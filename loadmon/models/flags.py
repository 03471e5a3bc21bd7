"""Flags: the load rules evaluated on an athlete's log.

Pure pandas: a sessions frame (as `loadmon.store.Store.sessions_frame` returns
it), a pain frame and a shoes frame in, a list of `Flag` out. No I/O.

Every rule of DESIGN.md section 4 (see `IMPLEMENTED_RULES`): ``spike``,
``weekly_ramp``, ``acwr``, ``fitness``, ``monotony``, ``shoe_rotation``,
``shoe_wear``, ``surface_mix``, ``surface_spike``, ``strength``, ``pain``,
``pain_referral``, ``cadence``, and the ``data_check`` of implausible sessions
(`loadmon.models.log`). The rules file documents each rule's decisions
(new logs, breaks, what counts) next to its thresholds.

Session-load rules (`loadmon.models.load` computes the models):

- ``monotony``: Foster's weekly measure, checked once per ISO week on its
  Sunday over the last ``window_days`` (7) days, as the weekly table shows it
  (overlapping 7-day windows would flag the same days again and again); one
  flag per episode (consecutive weeks above the caution limit), on its highest
  week, caution above 1.5 and high above 2.0. Undefined monotony (a week of
  identical daily loads: SD 0) raises nothing; the current, incomplete week is
  not checked.
- ``acwr``: context only, ``info`` at most: on the evaluation date, when the
  EWMA ratio lies outside the low - high band (0.8 - 1.3); the message labels
  the bands as team-sport heuristics.
- ``fitness``: context only, a performance model: it raises no flag (a flag
  that fires for every log is not one); fitness, fatigue and form are in the
  weekly table (`loadmon.models.load.weekly_load_table`) and `fitness_text`
  words them with the rule's message.

Dates are local calendar dates in each athlete's own time zone. Event rules
(spike, ramp, pain) raise flags on the day the event happened; state rules
(shoe rotation, shoe wear, surface mix, strength) describe the log as of
`as_of`, and shoe wear is dated on the day the shoe passed its limit.

Boundaries are exact: "above" means strictly above, compared with a tolerance
of `EPS` so that float arithmetic never turns +10.0 % into "above +10 %"; "at"
means at or past.

Decisions on the single-run spike rule:

- Runs are run sessions with a distance above zero; runs without a distance
  are excluded (they cannot be compared), so are all other kinds.
- Several runs on one day: the day's longest run is the one compared.
- The ceiling is the longest run of the prior ``window_days`` (30) local
  days, strictly before the run's day.
- New log: a run with less than ``min_history_days`` (28) of run history
  before it (counted from the first run in the log) raises no spike flag;
  instead one ``info`` flag, dated on the first run, says there is not enough
  history yet and when checking starts. Sessions of other kinds do not count as
  run history, so adding rest days, strength or cross-training never changes a
  spike flag.
- Return after a break: no run in the prior 30 days means no recent base; the
  run raises one ``info`` flag comparing it, as information, with the longest
  run of the prior ``break_window_days`` (90) if there was one. The runs after
  it are compared with it as usual.
"""

from __future__ import annotations

import gc
import heapq
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice, repeat, starmap
from typing import Any

import numpy as np
import pandas as pd

from loadmon.models.load import daily_load
from loadmon.models.log import (
    PAIN_COLUMNS,
    SHOE_COLUMNS,
    PreparedLog,
    day_grid,
    empty_pain,
    empty_shoes,
    end_of,
    per_row,
    prepare_log,
    weekday,
)
from loadmon.models.rules import SEVERITIES, Rule, RuleSet
from loadmon.types import PainEntry

#: Tolerance of threshold comparisons, in the threshold's unit (% points, km, score):
#: far below anything a runner can tell apart, far above float rounding.
EPS = 1e-6

#: Rules that raise flags in this version.
IMPLEMENTED_RULES: tuple[str, ...] = (
    "spike", "weekly_ramp", "acwr", "monotony", "shoe_rotation", "shoe_wear", "surface_mix",
    "surface_spike", "strength", "pain", "pain_referral", "cadence", "data_check",
)

#: The JSON keys of a flag, in order.
FLAG_KEYS: tuple[str, ...] = (
    "athlete", "rule", "severity", "date", "value", "threshold", "message", "evidence",
)

_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FlagKind:
    """What the flags of one rule evaluation share: the rule's message and evidence.

    Attributes
    ----------
    template : str
        The rule's message, with ``{placeholders}``.
    field_names : tuple of str
        The placeholders each flag measures (`Flag.measured`, in this order).
    defaults : Mapping[str, Any]
        The rule's values (thresholds, windows), for the other placeholders.
    evidence : str
        The evidence with its strength in parentheses.
    unit : str
        Unit of the flags' `value` and `threshold` (``%``, ``km``, ``/10``, ...).
    """

    template: str
    field_names: tuple[str, ...]
    defaults: Mapping[str, Any]
    evidence: str
    unit: str


@dataclass(slots=True)
class Flag:
    """One flag: what was measured, against what, and why it matters.

    Attributes
    ----------
    athlete : str
        The athlete's name.
    rule : str
        The rule id (``spike``, ``weekly_ramp``, ...).
    severity : {"info", "caution", "high", "very_high"}
        How much attention it deserves.
    date : datetime.date
        The athlete's local date the flag is about.
    value : float or None
        What was measured, in `unit`.
    threshold : float or None
        What it was compared with, in `unit`.
    measured : tuple
        The values of the placeholders this flag measured (`kind.field_names`).
    kind : FlagKind
        What every flag of this rule evaluation shares.

    Notes
    -----
    `message` is written from the template and `fields` when it is read: a log
    of years raises tens of thousands of flags, and most are filtered out
    (``--since``) before anyone reads them. Hence also the shared `kind`: a flag
    is built in one call with a few values of its own.
    """

    athlete: str
    rule: str
    severity: str
    date: date
    value: float | None
    threshold: float | None
    measured: tuple[Any, ...] = field(repr=False)
    kind: FlagKind = field(repr=False)

    @property
    def fields(self) -> dict[str, Any]:
        """The placeholders this flag measured, by name."""
        return dict(zip(self.kind.field_names, self.measured, strict=True))

    @property
    def evidence(self) -> str:
        """The evidence with its strength in parentheses."""
        return self.kind.evidence

    @property
    def unit(self) -> str:
        """Unit of `value` and `threshold`."""
        return self.kind.unit

    @property
    def message(self) -> str:
        """What a runner reads: the rule's message with this flag's values."""
        return self.kind.template.format_map(ChainMap(self.fields, self.kind.defaults))

    def to_dict(self) -> dict[str, Any]:
        """Return the flag as JSON-ready data with exactly the `FLAG_KEYS`.

        Returns
        -------
        dict
            ``date`` as an ISO string, numbers rounded to 3 decimals.
        """
        return {
            "athlete": self.athlete, "rule": self.rule, "severity": self.severity,
            "date": self.date.isoformat(), "value": _round(self.value),
            "threshold": _round(self.threshold), "message": self.message,
            "evidence": self.evidence,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def pain_frame(entries: Mapping[str, Sequence[PainEntry]]) -> pd.DataFrame:
    """Build the pain frame from each athlete's pain entries.

    Parameters
    ----------
    entries : Mapping[str, Sequence[PainEntry]]
        Athlete name to that athlete's entries.

    Returns
    -------
    pandas.DataFrame
        `PAIN_COLUMNS`; ``date_local`` as naive midnight timestamps.
    """
    rows = [(a, e.date_local, e.score, e.when, e.site, e.notes)
            for a, es in entries.items() for e in es]
    out = pd.DataFrame(rows, columns=list(PAIN_COLUMNS))
    out["date_local"] = pd.to_datetime(out["date_local"])
    out["score"] = out["score"].astype("float64")
    return out


def evaluate(
    sessions_frame: pd.DataFrame,
    pain_frame: pd.DataFrame | None,
    shoes_frame: pd.DataFrame | None,
    rules: RuleSet,
    as_of: date | None = None,
    athlete_rules: Mapping[str, RuleSet] | None = None,
) -> list[Flag]:
    """Evaluate the implemented rules on a log and return its flags, newest first.

    Parameters
    ----------
    sessions_frame : pandas.DataFrame
        Sessions: ``athlete``, ``tz``, ``start_utc`` (UTC aware), ``kind``,
        ``distance_m``, ``shoe``, ``surface``.
    pain_frame : pandas.DataFrame or None
        Pain entries with `PAIN_COLUMNS` (see `pain_frame`); None for none.
    shoes_frame : pandas.DataFrame or None
        Shoes with `SHOE_COLUMNS` (``start_km`` and ``retire_km`` in km); None
        for none. Shoes worn in sessions but missing here count from 0 km
        with the rule's default limit.
    rules : RuleSet
        The rules (see `loadmon.models.rules.default_rules`).
    as_of : datetime.date or None
        Evaluate the log as it was on this local date (later entries are
        ignored); None: each athlete's last logged date.
    athlete_rules : Mapping[str, RuleSet] or None
        Rule sets of athletes with their own thresholds.

    Returns
    -------
    list of Flag
        Newest first; on one date the most severe first.
    """
    groups = split_log(sessions_frame, pain_frame, shoes_frame, rules, as_of, athlete_rules)
    return merge_flags([flags_of(log, ruleset) for ruleset, log in groups])


def merge_flags(parts: Sequence[list[Flag]]) -> list[Flag]:
    """Merge lists of flags, each newest first, into one list newest first.

    Parameters
    ----------
    parts : sequence of list of Flag
        Lists sorted as `flags_of` returns them.

    Returns
    -------
    list of Flag
        All of them, newest first; on one date the most severe first.
    """
    found = [p for p in parts if p]
    if len(found) <= 1:
        return list(found[0]) if found else []
    return list(heapq.merge(*found, key=newest_first, reverse=True))


def newest_first(flag: Flag) -> tuple[date, int]:
    """Return the sort key of flags, newest first when sorted in reverse: date, severity.

    Parameters
    ----------
    flag : Flag
        A flag.

    Returns
    -------
    tuple of (datetime.date, int)
        Its date and the rank of its severity.
    """
    return flag.date, _RANK[flag.severity]


def split_log(
    sessions_frame: pd.DataFrame,
    pain_frame: pd.DataFrame | None,
    shoes_frame: pd.DataFrame | None,
    rules: RuleSet,
    as_of: date | None = None,
    athlete_rules: Mapping[str, RuleSet] | None = None,
) -> list[tuple[RuleSet, PreparedLog]]:
    """Prepare a log once per rule set: the athletes with their own rules, then the others.

    Parameters
    ----------
    sessions_frame, pain_frame, shoes_frame, rules, as_of, athlete_rules
        As for `evaluate`.

    Returns
    -------
    list of (RuleSet, PreparedLog)
        Each rule set with the prepared log of its athletes (see
        `loadmon.models.log.prepare_log`).
    """
    pain = pain_frame if pain_frame is not None else empty_pain()
    shoes = shoes_frame if shoes_frame is not None else empty_shoes()
    own = dict(athlete_rules or {})
    others = list(own)
    groups = [(ruleset, [name]) for name, ruleset in own.items()]
    out: list[tuple[RuleSet, PreparedLog]] = []
    for ruleset, names in [*groups, (rules, None)]:
        def pick(frame: pd.DataFrame, names: list[str] | None = names) -> pd.DataFrame:
            if names is None:
                return frame[~frame["athlete"].isin(others)] if others else frame
            return frame[frame["athlete"].isin(names)]
        out.append((ruleset, prepare_log(pick(sessions_frame), pick(pain), pick(shoes),
                                         ruleset["data_check"], as_of)))
    return out


def flags_of(log: PreparedLog, rules: RuleSet,
             daily: pd.DataFrame | None = None) -> list[Flag]:
    """Evaluate the implemented rules on a prepared log; return its flags, newest first.

    Parameters
    ----------
    log : PreparedLog
        The log (see `loadmon.models.log.prepare_log`).
    rules : RuleSet
        The rules.
    daily : pandas.DataFrame or None
        The log's daily load (`loadmon.models.load.daily_load` up to
        ``log.until``), when already computed.

    Returns
    -------
    list of Flag
        Newest first; on one date the most severe first.
    """
    sess, pain, until = log.sessions, log.pain, log.until
    runs = sess[sess["is_run"]]
    days = _run_days(log, rules)
    if daily is None and not sess.empty:
        daily = daily_load(sess, rules, until)
    spikes = _spike(days, rules["spike"])
    # The single-run spike leads: a run it flags is not flagged again for its surface.
    spiked = {(f.athlete, f.date) for f in spikes if f.severity != "info"}
    flags = [
        *_data_check(log.excluded, rules["data_check"]),
        *spikes,
        *_weekly_ramp(days, rules["weekly_ramp"]),
        *([] if daily is None or daily.empty else [
            *_acwr(daily, rules["acwr"]),
            *_monotony(daily, rules["monotony"]),
        ]),
        *_shoe_rotation(runs, until, rules["shoe_rotation"]),
        *_shoe_wear(runs, log.shoes, until, rules["shoe_wear"]),
        *_surface_mix(runs, until, rules["surface_mix"]),
        *_surface_spike(runs, rules["surface_spike"], spiked),
        *_cadence(runs, pain, rules["cadence"]),
        *_strength(sess, until, rules["strength"]),
        *_pain(pain, rules["pain"]),
        *_pain_referral(pain, rules["pain_referral"]),
    ]
    # `newest_first`, in reverse and stable (equals keep their order), as arrays
    date = np.fromiter((f.date.toordinal() for f in flags), dtype=np.int64, count=len(flags))
    rank = np.fromiter((_RANK[f.severity] for f in flags), dtype=np.int64, count=len(flags))
    return [flags[i] for i in np.lexsort((-rank, -date)).tolist()]


# --- helpers ----------------------------------------------------------------------------------


def _daily_runs(runs: pd.DataFrame, until: pd.Series, pad_days: int) -> pd.DataFrame:
    """Return one row per athlete and calendar day, `pad_days` before the first run to `until`.

    Columns: ``athlete``, ``day``, ``max_km`` (longest run), ``sum_km``,
    ``history_days`` (days since the first run; negative in the padding). The
    padding of run-free days lets rolling windows run over all athletes at once
    without one athlete's runs reaching into the next one's windows.
    """
    cols = ["athlete", "day", "max_km", "sum_km", "history_days"]
    if runs.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    grid, row = day_grid(runs["athlete"], runs["day"], until, pad_days)
    totals = per_row(row, len(grid), max_km=(runs["km"], "max"), sum_km=(runs["km"], "sum"))
    grid["max_km"], grid["sum_km"] = totals["max_km"], totals["sum_km"]
    return grid[cols]


def _rolling(grid: pd.DataFrame, column: str, days: int, how: str, shift: int) -> pd.Series:
    """Return the rolling `how` over `days` calendar days ending `shift` days earlier.

    One pass over every athlete: the grid's padding (at least ``days + shift``
    run-free days before each athlete's first run) keeps athletes apart.
    """
    shifted = grid[column].shift(shift, fill_value=0.0)
    out = getattr(shifted.rolling(days, min_periods=1), how)()
    # A rolling sum leaves float dust (1e-15 where the window is empty): km to the micrometre.
    return out.round(9) if how == "sum" else out


def _tier(change: pd.Series, rule: Rule) -> pd.Series:
    """Severity of a change in % against the rule's ``*_pct`` tiers ('' when below)."""
    conditions = [change > rule[f"{s}_pct"] + EPS for s in ("very_high", "high", "caution")]
    return pd.Series(np.select(conditions, ["very_high", "high", "caution"], default=""),
                     index=change.index)


#: What `_flags` takes as one value per flag (anything else is every flag's value).
_COLUMN = (pd.Series, pd.Index, np.ndarray, list)


def _flags(rule: Rule, athlete: Any, day: Any, severity: Any, value: Any, threshold: Any,
           unit: str, message_key: str = "message", **fields: Any) -> list[Flag]:
    """Return flags of `rule`, one per row of the columns given (a scalar: every flag's).

    `athlete` and `day` are columns (a day a naive timestamp); `severity`,
    `value`, `threshold` and each of `fields` a column or a scalar (a value or
    threshold of None stays None, also in a list). Each column becomes Python
    values at once (floats, ints, strings, dates), and the flags are built in
    one pass: a log of years raises tens of thousands of flags.
    """
    dates = pd.to_datetime(day)
    n = len(dates)

    def column(x: Any, convert: Any = None) -> list[Any]:
        if not isinstance(x, _COLUMN):
            return [x if convert is None or x is None else convert(x)] * n
        if convert is float and not isinstance(x, list):
            return np.asarray(x, dtype=np.float64).tolist()
        out = x if isinstance(x, list) else x.tolist()
        return out if convert is None else [None if v is None else convert(v) for v in out]

    names = column(athlete, str)
    days = np.asarray(dates, dtype="datetime64[D]").tolist()
    measured = zip(*[column(x) for x in fields.values()], strict=True) if fields else repeat(())
    kind = FlagKind(rule[message_key], tuple(fields), rule.values, rule.evidence_text(), unit)
    with _gc_paused():
        return list(starmap(Flag, zip(names, repeat(rule.id, n), column(severity), days,
                                      column(value, float), column(threshold, float),
                                      islice(measured, n), repeat(kind, n), strict=True)))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are made.

    Tens of thousands of new flags would otherwise set off full collections, each
    walking every object of the process (pandas, SQLAlchemy, ...) for no garbage:
    a flag holds no reference cycle.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _in_window(frame: pd.DataFrame, days: int) -> pd.Series:
    """Whether each row's ``day`` lies in the `days` days ending on its ``end``."""
    end = frame["end"]
    return (frame["day"] <= end) & (frame["day"] > end - pd.Timedelta(days=days))


# --- the rules --------------------------------------------------------------------------------


def _data_check(excluded: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Flag the sessions `loadmon.models.log.prepare_log` left out, and why (info)."""
    if excluded.empty:
        return []
    when = _iso(excluded["day"])
    flags: list[Flag | None] = [None] * len(excluded)
    for reason in ("distance", "speed", "overlap"):
        at = np.flatnonzero((excluded["reason"] == reason).to_numpy())
        r = excluded.iloc[at]
        if reason == "distance":
            found = _flags(rule, r["athlete"], r["day"], rule.severity, r["km"], r["limit"],
                           "km", distance_km=r["km"], date=when.iloc[at])
        elif reason == "speed":
            found = _flags(rule, r["athlete"], r["day"], rule.severity, r["value"], r["limit"],
                           "m/s", "message_speed", distance_km=r["km"], date=when.iloc[at],
                           speed_m_s=r["value"])
        else:
            minutes = r["value"] / 60.0
            found = _flags(rule, r["athlete"], r["day"], rule.severity, minutes,
                           r["limit"] / 60.0, "min", "message_overlap", kind=r["kind"],
                           time=_local_time(r["start_utc"], r["tz"]),
                           other_time=_local_time(r["other_utc"], r["tz"]),
                           overlap_min=minutes)
        for i, flag in zip(at, found, strict=True):
            flags[i] = flag
    return [f for f in flags if f is not None]


def _iso(day: pd.Series) -> pd.Series:
    """Return each (naive) day as an ISO date, ``2026-02-09``."""
    return pd.Series(np.asarray(day, dtype="datetime64[D]").astype(str).astype(object),
                     index=day.index)


def _local_time(utc: pd.Series, tz: pd.Series) -> pd.Series:
    """Return each UTC time as ``YYYY-MM-DD HH:MM`` in its time zone `tz`."""
    out = pd.Series("", index=utc.index, dtype=object)
    aware = pd.to_datetime(utc, utc=True)
    for zone, idx in tz.groupby(tz.astype(object), sort=False).indices.items():
        out.iloc[idx] = aware.iloc[idx].dt.tz_convert(str(zone)).dt.strftime(
            "%Y-%m-%d %H:%M").astype(object).to_numpy()
    return out


def spike_table(log: PreparedLog, rules: RuleSet) -> pd.DataFrame:
    """Return each run day's longest run against its 30-day ceiling, as the spike rule sees it.

    Parameters
    ----------
    log : PreparedLog
        The log.
    rules : RuleSet
        The rules (``spike`` and ``weekly_ramp`` windows).

    Returns
    -------
    pandas.DataFrame
        One row per athlete and day with a run: ``athlete``, ``day``, ``max_km``
        (the day's longest run), ``ceiling_km`` (the longest run of the prior
        ``window_days``; 0 when none), ``change_pct`` (NaN when not checked: a
        new log or no recent base) and ``tier`` (``""`` below the caution tier).
    """
    days = _run_days(log, rules)
    ceiling = _rolling(days, "max_km", rules["spike"]["window_days"], "max", shift=1)
    checked, change = _spike_change(days, ceiling, rules["spike"])
    out = days.assign(ceiling_km=ceiling, change_pct=change.where(checked),
                      tier=_tier(change, rules["spike"]).where(checked, ""))
    return out.loc[out["max_km"] > 0, ["athlete", "day", "max_km", "ceiling_km", "change_pct",
                                       "tier"]].reset_index(drop=True)


def _run_days(log: PreparedLog, rules: RuleSet) -> pd.DataFrame:
    spike, ramp = rules["spike"], rules["weekly_ramp"]
    pad = max(spike["window_days"], spike["break_window_days"], 2 * ramp["window_days"])
    return _daily_runs(log.sessions[log.sessions["is_run"]], log.until, pad_days=pad)


def _spike_change(days: pd.DataFrame, ceiling: pd.Series,
                  rule: Rule) -> tuple[pd.Series, pd.Series]:
    """Which days are checked, and their change in % over the ceiling."""
    checked = (days["max_km"] > 0) & (days["history_days"] >= rule["min_history_days"]) & (
        ceiling > 0)
    change = (days["max_km"] / ceiling.where(checked) - 1.0) * 100.0
    return checked, change


def _spike(days: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Each day's longest run against the longest run of the prior 30 days."""
    if days.empty:
        return []
    window, break_window = rule["window_days"], rule["break_window_days"]
    ceiling = _rolling(days, "max_km", window, "max", shift=1)
    ceiling_break = _rolling(days, "max_km", break_window, "max", shift=1)
    ran = days["max_km"] > 0
    young = days["history_days"] < rule["min_history_days"]

    first = days[ran & young].groupby("athlete", sort=False)["day"].min()
    flags = _flags(rule, first.index, first, "info", None, float(rule["min_history_days"]),
                   "days", "message_new_log", first_run=_iso(first),
                   checks_from=_iso(first + pd.Timedelta(days=rule["min_history_days"])))

    on_break = days[ran & ~young & (ceiling == 0)]
    before = ceiling_break[on_break.index]
    change = (on_break["max_km"] / before.where(before > 0) - 1.0) * 100.0
    texts = [
        rule["message_break_compared"].format(break_window_days=break_window, ceiling_km=b,
                                              change_pct=c) if b > 0
        else rule["message_break_none"].format(break_window_days=break_window)
        for b, c in zip(before.tolist(), change.tolist(), strict=True)
    ]
    flags += _flags(rule, on_break["athlete"], on_break["day"], "info", on_break["max_km"],
                    [b or None for b in before.tolist()], "km", "message_break",
                    distance_km=on_break["max_km"], break_text=texts)

    checked, change = _spike_change(days, ceiling, rule)
    # above the caution tier: in a tier (the tiers' limits rise)
    hit = days.assign(change=change, ceiling=ceiling)[
        checked & (change > rule["caution_pct"] + EPS)]
    tier = _tier(hit["change"], rule)
    return flags + _flags(rule, hit["athlete"], hit["day"], tier, hit["change"],
                          _tier_pct(tier, rule), "%", distance_km=hit["max_km"],
                          ceiling_km=hit["ceiling"], change_pct=hit["change"])


def _tier_pct(tier: pd.Series, rule: Rule) -> pd.Series:
    """Return the threshold of each tier (``caution`` to ``caution_pct``)."""
    return tier.map({t: rule[f"{t}_pct"] for t in ("caution", "high", "very_high")})


def _weekly_ramp(days: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Compare the rolling 7-day run distance with the 7 days before, on run days.

    One flag per episode (consecutive run days above the threshold), on the
    day of its largest ramp. Only days whose prior window lies inside the log
    are checked, so a log's first fortnight raises nothing.
    """
    if days.empty:
        return []
    w = rule["window_days"]
    current = _rolling(days, "sum_km", w, "sum", shift=0)
    prior = _rolling(days, "sum_km", w, "sum", shift=w)
    checked = (days["max_km"] > 0) & (days["history_days"] >= 2 * w - 1)
    change = ((current / prior.where(prior > 0) - 1.0) * 100.0).where(checked)
    above = checked & (prior > rule["min_base_km"] + EPS) & (change > rule["caution_pct"] + EPS)
    frame = days.assign(current=current, prior=prior, change=change, above=above)[checked]
    if not frame["above"].any():
        return []
    frame["episode"] = (~frame["above"]).groupby(frame["athlete"], sort=False).cumsum()
    hits = frame[frame["above"]]
    peaks = hits.loc[hits.groupby(["athlete", "episode"], sort=False)["change"].idxmax()]
    return _flags(rule, peaks["athlete"], peaks["day"], rule.severity, peaks["change"],
                  rule["caution_pct"], "%", current_km=peaks["current"], prior_km=peaks["prior"],
                  change_pct=peaks["change"])


def _at_end(load: pd.DataFrame) -> pd.DataFrame:
    """Each athlete's last row of the daily load: the evaluation date."""
    return load[load["history_days"].shift(-1, fill_value=0).to_numpy() == 0]


def _acwr(load: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Context: the EWMA acute:chronic ratio on the evaluation date, outside the low-high band."""
    now = _at_end(load)
    ratio = now["acwr_ewma"]
    bands = [(ratio > rule["very_high_band"] + EPS, "very_high_band", "above"),
             (ratio > rule["high_band"] + EPS, "high_band", "above"),
             (ratio < rule["low_band"] - EPS, "low_band", "below")]
    band = pd.Series(np.select([c for c, _, _ in bands], [b for _, b, _ in bands], default=""),
                     index=now.index)
    out, key = now[band != ""], band[band != ""].tolist()
    limit = [rule[k] for k in key]
    return _flags(rule, out["athlete"], out["day"], rule.severity, out["acwr_ewma"], limit,
                  "ratio", ratio_ewma=out["acwr_ewma"],
                  uncoupled_text=["n/a" if pd.isna(u) else f"{u:.2f}"
                                  for u in out["acwr_uncoupled"].tolist()],
                  band_text=[f"{'above' if k != 'low_band' else 'below'} {x:g}"
                             for k, x in zip(key, limit, strict=True)])


def fitness_text(fitness_au: float, fatigue_au: float, form_au: float, rule: Rule) -> str:
    """Word fitness, fatigue and form with the ``fitness`` rule's message (context, not a flag).

    Parameters
    ----------
    fitness_au, fatigue_au, form_au : float
        Fitness (CTL), fatigue (ATL) and form (TSB) in session-load units.
    rule : Rule
        The ``fitness`` rule.

    Returns
    -------
    str
        The message, with the rule's windows.
    """
    return rule["message"].format(**{**rule.values, "fitness": fitness_au,
                                     "fatigue": fatigue_au, "form": form_au})


def _monotony(load: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Weekly monotony above the caution limit: one flag per episode of weeks, on its highest."""
    weeks = load[(weekday(load["day"]) == 6) & load["monotony"].notna()]
    above = weeks["monotony"] > rule["caution"] + EPS
    if not above.any():
        return []
    episode = (~above).groupby(weeks["athlete"], sort=False).cumsum()
    hits = weeks.assign(episode=episode)[above]
    peaks = hits.loc[hits.groupby(["athlete", "episode"], sort=False)["monotony"].idxmax()]
    high = (peaks["monotony"] > rule["high"] + EPS).to_numpy()
    limit = np.where(high, rule["high"], rule["caution"])
    return _flags(rule, peaks["athlete"], peaks["day"], np.where(high, "high", "caution"),
                  peaks["monotony"], limit, "", monotony=peaks["monotony"], limit=limit)


def _shoe_rotation(runs: pd.DataFrame, until: pd.Series, rule: Rule) -> list[Flag]:
    """Share of the last 30 days' runs (with a shoe logged) in the main pair."""
    w = rule["window_days"]
    recent = runs[runs["shoe"].notna() & _in_window(runs, w)]
    if recent.empty:
        return []
    counts = recent.groupby(["athlete", "shoe"]).size()
    total = counts.groupby(level="athlete").sum()
    main = counts.groupby(level="athlete").idxmax().str[1]
    share = counts.groupby(level="athlete").max() / total * 100.0
    per_week = total * 7.0 / w
    hit = (share > rule["share_pct"] + EPS) & (per_week >= rule["min_runs_per_week"] - EPS)
    a = hit.index[hit.to_numpy()]
    return _flags(rule, a, until.reindex(a), rule.severity, share[a], rule["share_pct"], "%",
                  share_pct=share[a], runs=total[a].astype("int64"), shoe=main[a])


def _shoe_wear(runs: pd.DataFrame, shoes: pd.DataFrame, until: pd.Series,
               rule: Rule) -> list[Flag]:
    """Km on each active shoe against its limit (caution) and the high limit."""
    worn = runs[runs["shoe"].notna()]
    known = shoes.loc[:, list(SHOE_COLUMNS)].rename(columns={"name": "shoe"})
    # each run's pair of athlete and shoe, numbered in the order of their first runs
    athlete, _ = pd.factorize(worn["athlete"])
    shoe, shoe_names = pd.factorize(worn["shoe"])
    pair, _ = pd.factorize(athlete * len(shoe_names) + shoe)
    named = worn[["athlete", "shoe"]].iloc[np.unique(pair, return_index=True)[1]]
    pairs = named.merge(known, on=["athlete", "shoe"], how="outer")
    if pairs.empty:
        return []
    pairs["start_km"] = pd.to_numeric(pairs["start_km"]).fillna(0.0).astype("float64")
    pairs["limit_km"] = pd.to_numeric(pairs["retire_km"]).fillna(rule["default_limit_km"])
    pairs["high_km"] = np.maximum(pairs["limit_km"], rule["high_km"])
    pairs = pairs[~pairs["retired"].astype("boolean").fillna(False).astype(bool)]
    pairs = pairs.set_index(["athlete", "shoe"])
    # each run's row of `pairs` (-1: a retired shoe) and the shoe's km after it
    of_named = pairs.index.get_indexer(list(zip(named["athlete"].astype(object),
                                                named["shoe"].astype(object), strict=True)))
    row = of_named[pair]
    counted = row >= 0
    row = row[counted]
    total_km = (pairs["start_km"].to_numpy()[row] + pd.Series(worn["km"].to_numpy()).groupby(
        pair).cumsum().to_numpy()[counted])
    day = worn["day"].to_numpy()[counted]
    total = pd.Series(total_km).groupby(row).max()
    pairs["total_km"] = pd.Series(total.to_numpy(), index=pairs.index[total.index]).reindex(
        pairs.index).fillna(pairs["start_km"])
    flags: list[Flag] = []
    for severity, limit in (("high", "high_km"), ("caution", "limit_km")):
        is_past = (pairs["total_km"] >= pairs[limit] - EPS).to_numpy()
        past = pairs[is_past]
        pairs.loc[is_past, "total_km"] = np.nan  # flagged once, at the highest limit passed
        if past.empty:
            continue
        over = is_past[row] & (total_km >= pairs[limit].to_numpy()[row] - EPS)
        crossed = pd.Series(day[over]).groupby(row[over]).min()
        athlete_of = past.index.get_level_values("athlete")
        since = pd.Series(crossed.to_numpy(), index=pairs.index[crossed.index]).reindex(
            past.index).fillna(pd.Series(until.reindex(athlete_of).to_numpy(), index=past.index))
        # a shoe of an athlete with nothing logged has no date to flag
        past, since = past[since.notna()], since[since.notna()]
        flags += _flags(rule, past.index.get_level_values("athlete"), since, severity,
                        past["total_km"], past[limit], "km",
                        shoe=past.index.get_level_values("shoe"), distance_km=past["total_km"],
                        limit_km=past[limit])
    return flags


def _surface_mix(runs: pd.DataFrame, until: pd.Series, rule: Rule) -> list[Flag]:
    """Share of the last 4 weeks' run distance (with a surface logged) on one surface."""
    w = rule["window_days"]
    recent = runs[runs["surface"].notna()
                  & _in_window(runs, w)]
    if recent.empty:
        return []
    km = recent.groupby(["athlete", "surface"])["km"].sum()
    top = km.groupby(level="athlete").idxmax().str[1]
    share = km.groupby(level="athlete").max() / km.groupby(level="athlete").sum() * 100.0
    hit = share > rule["share_pct"] + EPS
    a = hit.index[hit.to_numpy()]
    return _flags(rule, a, until.reindex(a), rule.severity, share[a], rule["share_pct"], "%",
                  share_pct=share[a], surface=top[a])


def _surface_spike(runs: pd.DataFrame, rule: Rule,
                   spiked: set[tuple[str, date]]) -> list[Flag]:
    """Each day's longest run on a surface against the longest on it in the prior 30 days.

    The single-run spike per (athlete, surface), on the days with a run on the
    surface: the ceiling is the longest of those in the prior ``window_days``
    calendar days (0 when none). Days in `spiked` (athlete, date: the
    single-run spike flagged them, and it leads) are skipped.
    """
    on = runs[runs["surface"].notna()]
    if on.empty:
        return []
    window = rule["window_days"]
    # each day's longest run per athlete and surface, in athlete, surface and day order
    athlete, athletes = pd.factorize(on["athlete"], sort=True)
    surface, surfaces = pd.factorize(on["surface"], sort=True)
    day_no = on["day"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    first_day, n_days = day_no.min(), day_no.max() - day_no.min() + 1
    longest = pd.Series(on["km"].to_numpy()).groupby(
        (athlete * len(surfaces) + surface) * n_days + day_no - first_day).max()
    pair, day_no = np.divmod(longest.index.to_numpy(), n_days)
    days = pd.DataFrame({
        "athlete": pd.Categorical.from_codes(pair // len(surfaces),
                                             categories=pd.Index(np.asarray(athletes))),
        "surface": pd.Categorical.from_codes(pair % len(surfaces),
                                             categories=pd.Index(np.asarray(surfaces))),
        "day": (day_no + first_day).astype("datetime64[D]").astype("datetime64[ns]"),
        "km": longest.to_numpy(),
    })
    ceiling = pd.Series(_prior_max(pair, day_no, days["km"].to_numpy(), window))
    first_run = runs.groupby("athlete", observed=True)["day"].min()
    history = (days["day"] - end_of(days["athlete"], first_run)) // _DAY
    checked = (days["km"] > 0) & (ceiling > 0) & (history >= rule["min_history_days"])
    change = (days["km"] / ceiling.where(checked) - 1.0) * 100.0
    rows = days.assign(change=change, ceiling=ceiling)[
        checked & (change > rule["caution_pct"] + EPS)]
    day = rows["day"].to_numpy(dtype="datetime64[D]").tolist()
    rows = rows[np.array([(a, d) not in spiked
                          for a, d in zip(rows["athlete"].tolist(), day, strict=True)], dtype=bool)]
    return _flags(rule, rows["athlete"], rows["day"], rule.severity, rows["change"],
                  _tier_pct(_tier(rows["change"], rule), rule), "%", distance_km=rows["km"],
                  surface=rows["surface"], ceiling_km=rows["ceiling"], change_pct=rows["change"])


def _prior_max(key: np.ndarray, day: np.ndarray, km: np.ndarray, days: int) -> np.ndarray:
    """Return the largest `km` of each row's key in the `days` days before its day (0: none).

    The rows are in key and day (a day number, 0 or more) order, one per key and
    day. The maxima of runs of 1, 2, 4, ... rows (a sparse table) answer each
    window with two lookups.
    """
    # keys far enough apart that no window reaches back into the previous key's days
    at = key * (day.max(initial=0) + days + 1) + day
    end = np.arange(len(at))  # each window: the rows from `begin` up to the row's own
    begin = np.searchsorted(at, at - days)
    length = end - begin
    out = np.zeros(len(at))
    level, span = km, 1  # level[i]: the largest of km[i : i + span]
    while span <= length.max(initial=0):
        use = (length >= span) & (length < 2 * span)
        out[use] = np.maximum(level[begin[use]], level[end[use] - span])
        level, span = np.maximum(level[:-span], level[span:]), span * 2
    return out


def _cadence(runs: pd.DataFrame, pain: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Flag a sustained cadence drop against the runner's own cadence-speed line.

    For each run with a cadence: a least-squares line of cadence on speed over the
    runner's runs with a cadence in the ``window_days`` before the last
    ``sustained_runs`` runs (at least ``min_runs``; a flat line, their mean, when
    their speeds barely differ), its value at the run's speed, and the drop below
    it in %.
    """
    timed = runs[runs["cadence_spm"].notna() & (runs["duration_s"] > 0)]
    if len(timed) < rule["min_runs"] + rule["sustained_runs"]:
        return []
    t = timed.assign(speed=timed["km"] * 1000.0 / timed["duration_s"],
                     t=timed["start_utc"].dt.tz_convert(None))
    t = t.assign(sx=t["speed"], sy=t["cadence_spm"], sxy=t["speed"] * t["cadence_spm"],
                 sxx=t["speed"] ** 2, n=1.0)
    sums = (t.set_index("t").groupby("athlete", observed=True, sort=False)[
        ["n", "sx", "sy", "sxy", "sxx"]]
        .rolling(f"{rule['window_days']}D", closed="left").sum()
        .reset_index(level=0, drop=True))
    sums.index = t.index  # rolling keeps each athlete's rows in their (time) order
    # The baseline leaves out the last sustained_runs - 1 runs too: a drop in progress
    # would otherwise pull the baseline down with it.
    sums = sums.groupby(t["athlete"], observed=True).shift(rule["sustained_runs"] - 1)
    n = sums["n"].fillna(0.0)
    var = n * sums["sxx"] - sums["sx"] ** 2
    # speeds within ~0.1 m/s of each other: no slope to fit, the mean serves
    flat = var <= n * n * 0.01
    slope = ((n * sums["sxy"] - sums["sx"] * sums["sy"]) / var.where(~flat)).fillna(0.0)
    expected = (sums["sy"] - slope * sums["sx"]) / n.where(n > 0) + slope * t["speed"]
    drop = ((expected - t["cadence_spm"]) / expected * 100.0).where(n >= rule["min_runs"])
    below = (drop > rule["drop_pct"] + EPS).fillna(False)
    run_no = below.groupby(t["athlete"], observed=True).cumsum()
    reset = run_no.where(~below).groupby(t["athlete"], observed=True).ffill().fillna(0)
    streak = run_no - reset
    hit = t.assign(drop=drop, expected=expected)[streak == rule["sustained_runs"]]
    sore = pain[pain["site"].isin(["knee", "hip"]) & (pain["score"] > 0)]
    retrain = [
        "" if sore[(sore["athlete"] == a) & (sore["date_local"] <= day)
                   & (sore["date_local"] > day - pd.Timedelta(days=rule["window_days"]))].empty
        else rule["message_retrain"].format_map(rule.values)
        for a, day in zip(hit["athlete"].tolist(), hit["day"].tolist(), strict=True)
    ]
    return _flags(rule, hit["athlete"], hit["day"], rule.severity, hit["drop"], rule["drop_pct"],
                  "%", change_pct=hit["drop"], runs=rule["sustained_runs"],
                  cadence_spm=hit["cadence_spm"], expected_spm=hit["expected"],
                  retrain_text=retrain)


def _strength(sess: pd.DataFrame, until: pd.Series, rule: Rule) -> list[Flag]:
    """Strength sessions a week over the last 4 weeks, for athletes who run.

    Checked only when the log covers the whole window (a new log would look
    like too little strength work).
    """
    w = rule["window_days"]
    recent = sess[_in_window(sess, w)]
    running = recent.loc[recent["is_run"], "athlete"].unique()
    first = sess.groupby("athlete")["day"].min()
    covered = first <= until.reindex(first.index) - pd.Timedelta(days=w - 1)
    athletes = [a for a in running if covered.get(a, False)]
    n = (recent["kind"] == "strength").groupby(recent["athlete"]).sum().reindex(athletes)
    per_week = n * 7.0 / w
    threshold = rule["min_sessions_per_week"]
    hit = per_week < threshold - EPS
    a = hit.index[hit.to_numpy()]
    return _flags(rule, a, until.reindex(a), rule.severity, per_week[a], threshold, "per week",
                  per_week=per_week[a])


def _rising(pain: pd.DataFrame, keys: list[str], entries: int) -> tuple[pd.Series, pd.Series]:
    """Whether each entry ends `entries` strictly rising scores of its group, and those scores."""
    g = pain.groupby(keys, sort=False)["score"]
    steps = (g.diff() > 0).astype("float64")
    rising = steps.groupby([pain[k] for k in keys], sort=False).transform(
        lambda s: s.rolling(entries - 1, min_periods=entries - 1).sum()
    ) == entries - 1
    shifted = [g.shift(k) for k in range(entries - 1, -1, -1)]
    scores = shifted[0].map("{:g}".format)
    for s in shifted[1:]:
        scores = scores + " -> " + s.map("{:g}".format)
    return rising, scores


def _pain(pain: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Pain above the limit, or a morning / 24 h-after response rising entry after entry."""
    # One flag per episode of consecutive entries above the limit (per athlete and site),
    # on its first entry: a daily score of 6 for a week is one message, not seven.
    above = pain["score"] > rule["max_score"] + EPS
    keys = [pain["athlete"].astype(object), pain["site"]]
    starts = above & ~above.groupby(keys, sort=False).shift(1, fill_value=False).astype(bool)
    first = pain[starts]
    flags = _flags(rule, first["athlete"], first["date_local"], rule.severity, first["score"],
                   rule["max_score"], "/10", site=[x.capitalize() for x in first["site"].tolist()],
                   score=first["score"], when=first["when"], date=_iso(first["date_local"]))
    response = pain[pain["when"].isin(["morning", "after"])]
    if response.empty:
        return flags
    n = rule["rising_entries"]
    rising, scores = _rising(response, ["athlete", "site", "when"], n)
    when_text = {"morning": "morning", "after": "24 h after"}
    up = response.assign(scores=scores)[rising]
    flags += _flags(rule, up["athlete"], up["date_local"], rule.severity, up["score"], None,
                    "/10", "message_rising", when=[when_text[w] for w in up["when"].tolist()],
                    site=up["site"], entries=n, scores=up["scores"])
    return _worst_per_day(flags)


def _pain_referral(pain: pd.DataFrame, rule: Rule) -> list[Flag]:
    """When to see a physical therapist, and the red flags that always refer."""
    phrases = "|".join(re.escape(p.lower()) for p in rule["red_flags"])
    found = pain["notes"].str.lower().str.extract(rf"(\b(?:{phrases}))", expand=False)
    red = pain.assign(phrase=found)[found.notna()]
    flags = _flags(rule, red["athlete"], red["date_local"], rule["red_flag_severity"],
                   red["score"], None, "/10", "message_red_flag", phrase=red["phrase"],
                   date=_iso(red["date_local"]))

    heel = pain[pain["site"] == rule["site"].lower()].copy()
    if heel.empty:
        return _worst_per_day(flags)
    gap = heel.groupby("athlete", sort=False)["date_local"].diff() > pd.Timedelta(
        days=rule["episode_gap_days"])
    heel["episode"] = (gap | (heel["score"] <= 0)).groupby(heel["athlete"]).cumsum()
    sore = heel[heel["score"] > 0].copy()
    sore["since"] = sore.groupby(["athlete", "episode"])["date_local"].transform("min")
    sore["days"] = (sore["date_local"] - sore["since"]) // _DAY
    limit_days = rule["max_weeks"] * 7.0

    def first_per_episode(mask: pd.Series) -> pd.DataFrame:
        hits = sore[mask]
        return hits.loc[hits.groupby(["athlete", "episode"], sort=False)["date_local"].idxmin()]

    long = first_per_episode(sore["days"] > limit_days + EPS)
    weeks = long["days"] / 7.0
    flags += _flags(rule, long["athlete"], long["date_local"], rule.severity, weeks,
                    rule["max_weeks"], "weeks", "message_duration", weeks=weeks,
                    since=_iso(long["since"]))
    high = first_per_episode(sore["score"] > rule["max_score"] + EPS)
    flags += _flags(rule, high["athlete"], high["date_local"], rule.severity, high["score"],
                    rule["max_score"], "/10", "message_score", score=high["score"],
                    date=_iso(high["date_local"]))
    by_moment = sore.sort_values(["athlete", "when", "date_local"], kind="stable")
    rising, scores = _rising(by_moment, ["athlete", "episode", "when"],
                             rule["worsening_entries"])
    worse = by_moment.assign(scores=scores)[rising]
    worse = worse.loc[worse.groupby(["athlete", "episode"], sort=False)["date_local"].idxmin()]
    flags += _flags(rule, worse["athlete"], worse["date_local"], rule.severity, worse["score"],
                    None, "/10", "message_worsening", when=worse["when"], scores=worse["scores"])
    return _worst_per_day(flags)


def _worst_per_day(flags: list[Flag]) -> list[Flag]:
    """Keep one flag per athlete, rule and date: the most severe (the first among equals)."""
    best: dict[tuple[str, str, date], Flag] = {}
    for f in flags:
        key = (f.athlete, f.rule, f.date)
        if key not in best or _RANK[f.severity] > _RANK[best[key].severity]:
            best[key] = f
    return list(best.values())
