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

import heapq
import re
from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from loadmon.models.load import daily_load
from loadmon.models.log import (
    PAIN_COLUMNS,
    SHOE_COLUMNS,
    PreparedLog,
    empty_pain,
    empty_shoes,
    prepare_log,
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
    template : str
        The rule's message, with ``{placeholders}``.
    fields : Mapping[str, Any]
        The values of the placeholders this flag measured.
    defaults : Mapping[str, Any]
        The rule's values (thresholds, windows), for the other placeholders.
    evidence : str
        The evidence with its strength in parentheses.
    unit : str
        Unit of `value` and `threshold` (``%``, ``km``, ``/10``, ``per week``, ``days``).

    Notes
    -----
    `message` is written from `template` and `fields` when it is read: a log
    of years raises thousands of flags, and most are filtered out (``--since``)
    before anyone reads them.
    """

    athlete: str
    rule: str
    severity: str
    date: date
    value: float | None
    threshold: float | None
    template: str = field(repr=False)
    fields: Mapping[str, Any] = field(repr=False)
    defaults: Mapping[str, Any] = field(repr=False)
    evidence: str
    unit: str = ""

    @property
    def message(self) -> str:
        """What a runner reads: the rule's message with this flag's values."""
        return self.template.format_map(ChainMap(self.fields, self.defaults))

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
        *_surface_spike(runs, until, rules["surface_spike"], spiked),
        *_cadence(runs, pain, rules["cadence"]),
        *_strength(sess, until, rules["strength"]),
        *_pain(pain, rules["pain"]),
        *_pain_referral(pain, rules["pain_referral"]),
    ]
    flags.sort(key=newest_first, reverse=True)
    return flags


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
    per_day = runs.groupby(["athlete", "day"])["km"].agg(max_km="max", sum_km="sum")
    first = runs.groupby("athlete")["day"].min()
    last = until.reindex(first.index).fillna(runs.groupby("athlete")["day"].max())
    start = first - pd.Timedelta(days=pad_days)
    span = (((last - start) // _DAY).astype("int64") + 1).to_numpy()
    athlete = np.repeat(first.index.to_numpy(), span)
    offset = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
    day = np.repeat(start.to_numpy(), span) + offset.astype("timedelta64[D]")
    index = pd.MultiIndex.from_arrays([athlete, day], names=["athlete", "day"])
    grid = per_day.reindex(index, fill_value=0.0).reset_index()
    grid["history_days"] = offset - pad_days
    return grid


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


def _flag(rule: Rule, athlete: str, day: Any, severity: str, value: float | None,
          threshold: float | None, unit: str, message_key: str = "message",
          **fields: Any) -> Flag:
    return Flag(
        athlete=str(athlete), rule=rule.id, severity=severity,
        date=day.date() if isinstance(day, pd.Timestamp) else pd.Timestamp(day).date(),
        value=None if value is None else float(value),
        threshold=None if threshold is None else float(threshold),
        template=rule[message_key], fields=fields, defaults=rule.values,
        evidence=rule.evidence_text(), unit=unit,
    )


def _in_window(frame: pd.DataFrame, days: int) -> pd.Series:
    """Whether each row's ``day`` lies in the `days` days ending on its ``end``."""
    end = frame["end"]
    return (frame["day"] <= end) & (frame["day"] > end - pd.Timedelta(days=days))


# --- the rules --------------------------------------------------------------------------------


def _data_check(excluded: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Flag the sessions `loadmon.models.log.prepare_log` left out, and why (info)."""
    flags: list[Flag] = []
    for r in excluded.itertuples():
        when = r.day.date().isoformat()
        if r.reason == "distance":
            flags.append(_flag(rule, r.athlete, r.day, rule.severity, r.km, r.limit, "km",
                               distance_km=r.km, date=when))
        elif r.reason == "speed":
            flags.append(_flag(rule, r.athlete, r.day, rule.severity, r.value, r.limit, "m/s",
                               "message_speed", distance_km=r.km, date=when,
                               speed_m_s=r.value))
        else:
            def local(t: pd.Timestamp, tz: str = r.tz) -> str:
                return t.tz_convert(tz).strftime("%Y-%m-%d %H:%M")
            flags.append(_flag(rule, r.athlete, r.day, rule.severity, r.value / 60.0,
                               r.limit / 60.0, "min", "message_overlap", kind=r.kind,
                               time=local(r.start_utc), other_time=local(r.other_utc),
                               overlap_min=r.value / 60.0))
    return flags


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
    checked, change, tier = _spike_change(days, ceiling, rules["spike"])
    out = days.assign(ceiling_km=ceiling, change_pct=change.where(checked),
                      tier=tier.where(checked, ""))
    return out.loc[out["max_km"] > 0, ["athlete", "day", "max_km", "ceiling_km", "change_pct",
                                       "tier"]].reset_index(drop=True)


def _run_days(log: PreparedLog, rules: RuleSet) -> pd.DataFrame:
    spike, ramp = rules["spike"], rules["weekly_ramp"]
    pad = max(spike["window_days"], spike["break_window_days"], 2 * ramp["window_days"])
    return _daily_runs(log.sessions[log.sessions["is_run"]], log.until, pad_days=pad)


def _spike_change(days: pd.DataFrame, ceiling: pd.Series,
                  rule: Rule) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Which days are checked, their change in % over the ceiling, and its tier."""
    checked = (days["max_km"] > 0) & (days["history_days"] >= rule["min_history_days"]) & (
        ceiling > 0)
    change = (days["max_km"] / ceiling.where(checked) - 1.0) * 100.0
    return checked, change, _tier(change, rule)


def _spike(days: pd.DataFrame, rule: Rule) -> list[Flag]:
    """Each day's longest run against the longest run of the prior 30 days."""
    if days.empty:
        return []
    window, break_window = rule["window_days"], rule["break_window_days"]
    ceiling = _rolling(days, "max_km", window, "max", shift=1)
    ceiling_break = _rolling(days, "max_km", break_window, "max", shift=1)
    ran = days["max_km"] > 0
    young = days["history_days"] < rule["min_history_days"]
    flags: list[Flag] = []

    first = days[ran & young].groupby("athlete", sort=False)["day"].min()
    for athlete, day in first.items():
        checks_from = day + pd.Timedelta(days=rule["min_history_days"])
        flags.append(_flag(rule, athlete, day, "info", None, float(rule["min_history_days"]),
                           "days", "message_new_log", first_run=day.date().isoformat(),
                           checks_from=checks_from.date().isoformat()))

    on_break = days[ran & ~young & (ceiling == 0)]
    for i, r in on_break.iterrows():
        before = float(ceiling_break.loc[i])
        if before > 0:
            change = (r.max_km / before - 1.0) * 100.0
            text = rule["message_break_compared"].format(
                break_window_days=break_window, ceiling_km=before, change_pct=change)
        else:
            text = rule["message_break_none"].format(break_window_days=break_window)
        flags.append(_flag(rule, r.athlete, r.day, "info", r.max_km, before or None, "km",
                           "message_break", distance_km=r.max_km, break_text=text))

    checked, change, tier = _spike_change(days, ceiling, rule)
    hit = days.assign(change=change, ceiling=ceiling, tier=tier)[checked & (tier != "")]
    for r in hit.itertuples():
        flags.append(_flag(rule, r.athlete, r.day, r.tier, r.change,
                           rule[f"{r.tier}_pct"], "%", distance_km=r.max_km,
                           ceiling_km=r.ceiling, change_pct=r.change))
    return flags


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
    return [
        _flag(rule, r.athlete, r.day, rule.severity, r.change, rule["caution_pct"], "%",
              current_km=r.current, prior_km=r.prior, change_pct=r.change)
        for r in peaks.itertuples()
    ]


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
    flags: list[Flag] = []
    for r, key in zip(now[band != ""].itertuples(), band[band != ""], strict=True):
        word = "above" if key != "low_band" else "below"
        uncoupled = ("n/a" if pd.isna(r.acwr_uncoupled)
                     else f"{r.acwr_uncoupled:.2f}")
        flags.append(_flag(rule, r.athlete, r.day, rule.severity, r.acwr_ewma, rule[key], "ratio",
                           ratio_ewma=r.acwr_ewma, uncoupled_text=uncoupled,
                           band_text=f"{word} {rule[key]:g}"))
    return flags


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
    weeks = load[(load["day"].dt.day_of_week == 6) & load["monotony"].notna()]
    above = weeks["monotony"] > rule["caution"] + EPS
    if not above.any():
        return []
    episode = (~above).groupby(weeks["athlete"], sort=False).cumsum()
    hits = weeks.assign(episode=episode)[above]
    peaks = hits.loc[hits.groupby(["athlete", "episode"], sort=False)["monotony"].idxmax()]
    flags: list[Flag] = []
    for r in peaks.itertuples():
        tier = "high" if r.monotony > rule["high"] + EPS else "caution"
        flags.append(_flag(rule, r.athlete, r.day, tier, r.monotony, rule[tier], "",
                           monotony=r.monotony, limit=rule[tier]))
    return flags


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
    return [
        _flag(rule, a, until[a], rule.severity, share[a], rule["share_pct"], "%",
              share_pct=share[a], runs=int(total[a]), shoe=main[a])
        for a in hit[hit].index
    ]


def _shoe_wear(runs: pd.DataFrame, shoes: pd.DataFrame, until: pd.Series,
               rule: Rule) -> list[Flag]:
    """Km on each active shoe against its limit (caution) and the high limit."""
    worn = runs[runs["shoe"].notna()]
    known = shoes.loc[:, list(SHOE_COLUMNS)].rename(columns={"name": "shoe"})
    named = worn[["athlete", "shoe"]].drop_duplicates()
    pairs = named.merge(known, on=["athlete", "shoe"], how="outer")
    if pairs.empty:
        return []
    pairs["start_km"] = pd.to_numeric(pairs["start_km"]).fillna(0.0).astype("float64")
    pairs["limit_km"] = pd.to_numeric(pairs["retire_km"]).fillna(rule["default_limit_km"])
    pairs["high_km"] = np.maximum(pairs["limit_km"], rule["high_km"])
    pairs = pairs[~pairs["retired"].astype("boolean").fillna(False).astype(bool)]
    logged = worn.merge(pairs[["athlete", "shoe", "start_km"]], on=["athlete", "shoe"])
    logged["total_km"] = logged["start_km"] + logged.groupby(["athlete", "shoe"])["km"].cumsum()
    total = logged.groupby(["athlete", "shoe"])["total_km"].max()
    pairs = pairs.set_index(["athlete", "shoe"])
    pairs["total_km"] = total.reindex(pairs.index).fillna(pairs["start_km"])
    flags: list[Flag] = []
    for severity, limit in (("high", "high_km"), ("caution", "limit_km")):
        past = pairs[pairs["total_km"] >= pairs[limit] - EPS]
        pairs = pairs.drop(past.index)
        if past.empty:
            continue
        rows = logged.merge(past[[limit]].reset_index(), on=["athlete", "shoe"])
        crossed = rows[rows["total_km"] >= rows[limit] - EPS].groupby(["athlete", "shoe"])["day"]
        since = crossed.min().reindex(past.index)
        for (athlete, shoe), r in past.iterrows():
            day = since[(athlete, shoe)]
            day = until.get(athlete) if pd.isna(day) else day
            if pd.isna(day):
                continue  # a shoe of an athlete with nothing logged: no date to flag
            flags.append(_flag(rule, athlete, day, severity, r.total_km, r[limit], "km",
                               shoe=shoe, distance_km=r.total_km, limit_km=r[limit]))
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
    return [
        _flag(rule, a, until[a], rule.severity, share[a], rule["share_pct"], "%",
              share_pct=share[a], surface=top[a])
        for a in hit[hit].index
    ]


def _surface_spike(runs: pd.DataFrame, until: pd.Series, rule: Rule,
                   spiked: set[tuple[str, date]]) -> list[Flag]:
    """Each day's longest run on a surface against the longest on it in the prior 30 days.

    The single-run spike per (athlete, surface): the same grid of days, keyed by an
    integer per athlete and surface, so the same rolling windows serve. Days in
    `spiked` (athlete, date: the single-run spike flagged them, and it leads) are
    skipped.
    """
    on = runs[runs["surface"].notna()]
    if on.empty:
        return []
    window = rule["window_days"]
    a_code, a_names = pd.factorize(on["athlete"].astype(object), sort=True)
    s_code, s_names = pd.factorize(on["surface"].astype(object), sort=True)
    key = a_code * len(s_names) + s_code
    keys = np.unique(key)
    key_athlete = a_names.to_numpy()[keys // len(s_names)]
    key_until = pd.Series(until.reindex(key_athlete).to_numpy(), index=keys)
    days = _daily_runs(on.assign(athlete=key), key_until, pad_days=window)
    ceiling = _rolling(days, "max_km", window, "max", shift=1)
    first_run = runs.groupby("athlete", observed=True)["day"].min()
    first_of_key = pd.Series(first_run.reindex(key_athlete).to_numpy(), index=keys)
    history = (days["day"] - first_of_key.reindex(days["athlete"]).to_numpy()) // _DAY
    checked = (days["max_km"] > 0) & (ceiling > 0) & (history >= rule["min_history_days"])
    change = (days["max_km"] / ceiling.where(checked) - 1.0) * 100.0
    hit = checked & (change > rule["caution_pct"] + EPS)
    if not hit.any():
        return []
    rows = days.assign(change=change, ceiling=ceiling)[hit]
    k = rows["athlete"].to_numpy(dtype=np.int64)
    names = a_names.to_numpy()[k // len(s_names)]
    surfaces = s_names.to_numpy()[k % len(s_names)]
    fresh = ~pd.MultiIndex.from_arrays([names, rows["day"].dt.date]).isin(list(spiked))
    rows, names, surfaces = rows[fresh], names[fresh], surfaces[fresh]
    tier = _tier(rows["change"], rule)
    return [
        _flag(rule, name, r.day, rule.severity, r.change, rule[f"{t}_pct"], "%",
              distance_km=r.max_km, surface=surface, ceiling_km=r.ceiling, change_pct=r.change)
        for r, t, name, surface in zip(rows.itertuples(), tier, names, surfaces, strict=True)
    ]


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
    flags: list[Flag] = []
    sore = pain[pain["site"].isin(["knee", "hip"]) & (pain["score"] > 0)]
    for r in hit.itertuples():
        recent = sore[(sore["athlete"] == r.athlete) & (sore["date_local"] <= r.day)
                      & (sore["date_local"] > r.day - pd.Timedelta(days=rule["window_days"]))]
        retrain = "" if recent.empty else rule["message_retrain"].format_map(rule.values)
        flags.append(_flag(rule, r.athlete, r.day, rule.severity, r.drop, rule["drop_pct"], "%",
                           change_pct=r.drop, runs=rule["sustained_runs"],
                           cadence_spm=r.cadence_spm, expected_spm=r.expected,
                           retrain_text=retrain))
    return flags


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
    return [
        _flag(rule, a, until[a], rule.severity, per_week[a], threshold, "per week",
              per_week=per_week[a])
        for a in hit[hit].index
    ]


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
    flags = [
        _flag(rule, r.athlete, r.date_local, rule.severity, r.score, rule["max_score"], "/10",
              site=r.site.capitalize(), score=r.score, when=r.when,
              date=r.date_local.date().isoformat())
        for r in pain[starts].itertuples()
    ]
    response = pain[pain["when"].isin(["morning", "after"])]
    if response.empty:
        return flags
    n = rule["rising_entries"]
    rising, scores = _rising(response, ["athlete", "site", "when"], n)
    when_text = {"morning": "morning", "after": "24 h after"}
    for r in response.assign(scores=scores)[rising].itertuples():
        flags.append(_flag(rule, r.athlete, r.date_local, rule.severity, r.score, None, "/10",
                           "message_rising", when=when_text[r.when], site=r.site,
                           entries=n, scores=r.scores))
    return _worst_per_day(flags)


def _pain_referral(pain: pd.DataFrame, rule: Rule) -> list[Flag]:
    """When to see a physical therapist, and the red flags that always refer."""
    flags: list[Flag] = []
    phrases = "|".join(re.escape(p.lower()) for p in rule["red_flags"])
    found = pain["notes"].str.lower().str.extract(rf"(\b(?:{phrases}))", expand=False)
    for r in pain.assign(phrase=found)[found.notna()].itertuples():
        flags.append(_flag(rule, r.athlete, r.date_local, rule["red_flag_severity"], r.score,
                           None, "/10", "message_red_flag", phrase=r.phrase,
                           date=r.date_local.date().isoformat()))

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

    for r in first_per_episode(sore["days"] > limit_days + EPS).itertuples():
        flags.append(_flag(rule, r.athlete, r.date_local, rule.severity, r.days / 7.0,
                           rule["max_weeks"], "weeks", "message_duration", weeks=r.days / 7.0,
                           since=r.since.date().isoformat()))
    for r in first_per_episode(sore["score"] > rule["max_score"] + EPS).itertuples():
        flags.append(_flag(rule, r.athlete, r.date_local, rule.severity, r.score,
                           rule["max_score"], "/10", "message_score", score=r.score,
                           date=r.date_local.date().isoformat()))
    by_moment = sore.sort_values(["athlete", "when", "date_local"], kind="stable")
    rising, scores = _rising(by_moment, ["athlete", "episode", "when"],
                             rule["worsening_entries"])
    worse = by_moment.assign(scores=scores)[rising]
    worse = worse.loc[worse.groupby(["athlete", "episode"], sort=False)["date_local"].idxmin()]
    for r in worse.itertuples():
        flags.append(_flag(rule, r.athlete, r.date_local, rule.severity, r.score, None, "/10",
                           "message_worsening", when=r.when, scores=r.scores))
    return _worst_per_day(flags)


def _worst_per_day(flags: list[Flag]) -> list[Flag]:
    """Keep one flag per athlete, rule and date: the most severe (the first among equals)."""
    best: dict[tuple[str, str, date], Flag] = {}
    for f in flags:
        key = (f.athlete, f.rule, f.date)
        if key not in best or _RANK[f.severity] > _RANK[best[key].severity]:
            best[key] = f
    return list(best.values())
