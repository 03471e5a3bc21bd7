"""Flags: the load rules evaluated on an athlete's log.

Pure pandas: a sessions frame (as `loadmon.store.Store.sessions_frame` returns
it), a pain frame and a shoes frame in, a list of `Flag` out. No I/O.

Implemented rules (see `IMPLEMENTED_RULES`): ``spike``, ``weekly_ramp``,
``acwr``, ``fitness``, ``monotony``, ``shoe_rotation``, ``shoe_wear``,
``surface_mix``, ``strength``, ``pain`` and ``pain_referral``. The other rules
of DESIGN.md section 4 (``surface_spike``, ``cadence``) are defined in the
rules file but raise no flags yet.

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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from loadmon.models.load import daily_load
from loadmon.models.rules import SEVERITIES, Rule, RuleSet
from loadmon.models.weekly import local_dates
from loadmon.types import PainEntry

#: Tolerance of threshold comparisons, in the threshold's unit (% points, km, score):
#: far below anything a runner can tell apart, far above float rounding.
EPS = 1e-6

#: Rules that raise flags in this version.
IMPLEMENTED_RULES: tuple[str, ...] = (
    "spike", "weekly_ramp", "acwr", "monotony", "shoe_rotation", "shoe_wear", "surface_mix",
    "strength", "pain", "pain_referral",
)

#: Columns of the pain frame (one row a `loadmon.types.PainEntry` of an athlete).
PAIN_COLUMNS: tuple[str, ...] = ("athlete", "date_local", "score", "when", "site", "notes")
#: Columns of the shoes frame (one row a shoe of an athlete).
SHOE_COLUMNS: tuple[str, ...] = ("athlete", "name", "start_km", "retire_km", "retired")

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
    message : str
        What a runner reads.
    evidence : str
        The evidence with its strength in parentheses.
    unit : str
        Unit of `value` and `threshold` (``%``, ``km``, ``/10``, ``per week``, ``days``).
    """

    athlete: str
    rule: str
    severity: str
    date: date
    value: float | None
    threshold: float | None
    message: str
    evidence: str
    unit: str = ""

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
    pain = _empty_pain() if pain_frame is None else pain_frame
    shoes = pd.DataFrame(columns=list(SHOE_COLUMNS)) if shoes_frame is None else shoes_frame
    own = dict(athlete_rules or {})
    groups: list[tuple[RuleSet, pd.Series, pd.Series, pd.Series]] = []
    for name, ruleset in own.items():
        groups.append((ruleset, sessions_frame["athlete"] == name, pain["athlete"] == name,
                       shoes["athlete"] == name))
    others = list(own)
    groups.append((rules, ~sessions_frame["athlete"].isin(others), ~pain["athlete"].isin(others),
                   ~shoes["athlete"].isin(others)))
    flags: list[Flag] = []
    for ruleset, s_mask, p_mask, sh_mask in groups:
        flags += _evaluate(sessions_frame[s_mask], pain[p_mask], shoes[sh_mask], ruleset, as_of)
    flags.sort(key=lambda f: (f.date, _RANK[f.severity]), reverse=True)
    return flags


def _empty_pain() -> pd.DataFrame:
    return pd.DataFrame({
        "athlete": pd.Series(dtype=object), "date_local": pd.Series(dtype="datetime64[ns]"),
        "score": pd.Series(dtype="float64"), "when": pd.Series(dtype=object),
        "site": pd.Series(dtype=object), "notes": pd.Series(dtype=object),
    })


def _evaluate(
    sessions: pd.DataFrame, pain: pd.DataFrame, shoes: pd.DataFrame, rules: RuleSet,
    as_of: date | None,
) -> list[Flag]:
    sess = _prepare_sessions(sessions)
    pain = _prepare_pain(pain)
    until = _as_of(sess, pain, shoes, as_of)
    sess = sess[sess["day"] <= _end(sess["athlete"], until)]
    pain = pain[pain["date_local"] <= _end(pain["athlete"], until)]
    runs = sess[sess["is_run"]]
    spike, ramp = rules["spike"], rules["weekly_ramp"]
    pad = max(spike["window_days"], spike["break_window_days"], 2 * ramp["window_days"])
    days = _daily_runs(runs, until, pad_days=pad)
    load = daily_load(sess, rules, until) if not sess.empty else None
    return [
        *_spike(days, rules["spike"]),
        *_weekly_ramp(days, rules["weekly_ramp"]),
        *([] if load is None else [
            *_acwr(load, until, rules["acwr"]),
            *_monotony(load, rules["monotony"]),
        ]),
        *_shoe_rotation(runs, until, rules["shoe_rotation"]),
        *_shoe_wear(runs, shoes, until, rules["shoe_wear"]),
        *_surface_mix(runs, until, rules["surface_mix"]),
        *_strength(sess, until, rules["strength"]),
        *_pain(pain, rules["pain"]),
        *_pain_referral(pain, rules["pain_referral"]),
    ]


# --- preparation ------------------------------------------------------------------------------


def _prepare_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """Sessions with their local day, km, and whether they count as a run."""
    cols = ["athlete", "kind", "shoe", "surface", "start_utc",
            *(c for c in ("duration_s", "rpe") if c in frame)]
    if frame.empty:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out["day"] = pd.Series(dtype="datetime64[ns]")
        out["km"] = pd.Series(dtype="float64")
        out["is_run"] = pd.Series(dtype=bool)
        return out
    out = frame[cols].copy()
    out["day"] = local_dates(frame).astype("datetime64[ns]")
    out["km"] = pd.to_numeric(frame["distance_m"], errors="coerce").astype("float64") / 1000.0
    # A run without a distance (or of 0 km) cannot be compared: excluded from the run rules.
    out["is_run"] = (out["kind"] == "run") & (out["km"] > 0)
    return out.sort_values(["athlete", "start_utc"], kind="stable")


def _prepare_pain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(PAIN_COLUMNS)].copy()
    out["date_local"] = pd.to_datetime(out["date_local"]).astype("datetime64[ns]")
    out["score"] = out["score"].astype("float64")
    out["site"] = out["site"].fillna("").astype(str).str.strip().str.lower()
    out["notes"] = out["notes"].fillna("").astype(str)
    return out.sort_values(["athlete", "date_local"], kind="stable")


def _as_of(
    sess: pd.DataFrame, pain: pd.DataFrame, shoes: pd.DataFrame, as_of: date | None
) -> pd.Series:
    """Each athlete's evaluation date (a naive midnight timestamp)."""
    last = pd.concat([
        sess.groupby("athlete")["day"].max(), pain.groupby("athlete")["date_local"].max(),
    ]).groupby(level=0).max()
    names = sorted(set(last.index) | set(shoes["athlete"]))
    if as_of is not None:
        last = pd.Series(pd.Timestamp(as_of), index=pd.Index(names, name="athlete"))
    return last.reindex(names).astype("datetime64[ns]")


def _end(athlete: pd.Series, until: pd.Series) -> pd.Series:
    """Return each row's evaluation date, aligned with `athlete`."""
    at = until.index.get_indexer(athlete.to_numpy())
    end = until.to_numpy()[at]
    end[at < 0] = np.datetime64("NaT")
    return pd.Series(end, index=athlete.index, dtype="datetime64[ns]")


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
    values = {**rule.values, **fields}
    return Flag(
        athlete=str(athlete), rule=rule.id, severity=severity, date=pd.Timestamp(day).date(),
        value=None if value is None else float(value),
        threshold=None if threshold is None else float(threshold),
        message=rule[message_key].format(**values), evidence=rule.evidence_text(), unit=unit,
    )


def _in_window(day: pd.Series, athlete: pd.Series, until: pd.Series, days: int) -> pd.Series:
    end = _end(athlete, until)
    return (day <= end) & (day > end - pd.Timedelta(days=days))


# --- the rules --------------------------------------------------------------------------------


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

    checked = ran & ~young & (ceiling > 0)
    change = (days["max_km"] / ceiling.where(checked) - 1.0) * 100.0
    tier = _tier(change, rule)
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


def _at_end(load: pd.DataFrame, until: pd.Series) -> pd.DataFrame:
    """Each athlete's row of the evaluation date."""
    return load[load["day"] == _end(load["athlete"], until)]


def _acwr(load: pd.DataFrame, until: pd.Series, rule: Rule) -> list[Flag]:
    """Context: the EWMA acute:chronic ratio on the evaluation date, outside the low-high band."""
    now = _at_end(load, until)
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
    recent = runs[runs["shoe"].notna() & _in_window(runs["day"], runs["athlete"], until, w)]
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
                  & _in_window(runs["day"], runs["athlete"], until, w)]
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


def _strength(sess: pd.DataFrame, until: pd.Series, rule: Rule) -> list[Flag]:
    """Strength sessions a week over the last 4 weeks, for athletes who run.

    Checked only when the log covers the whole window (a new log would look
    like too little strength work).
    """
    w = rule["window_days"]
    recent = sess[_in_window(sess["day"], sess["athlete"], until, w)]
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
    flags = [
        _flag(rule, r.athlete, r.date_local, rule.severity, r.score, rule["max_score"], "/10",
              site=r.site.capitalize(), score=r.score, when=r.when,
              date=r.date_local.date().isoformat())
        for r in pain[pain["score"] > rule["max_score"] + EPS].itertuples()
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
