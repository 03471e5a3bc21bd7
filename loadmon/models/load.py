"""Session load and the load models: ACWR, fitness / fatigue / form, monotony and strain.

Pure pandas / numpy: a sessions frame (as `loadmon.store.Store.sessions_frame`
returns it) in, DataFrames out; no I/O, no Python loop over sessions or days.

Definitions (DESIGN.md section 4):

- Session load (Foster 2001): minutes x RPE (CR-10), in arbitrary units (AU).
  A session without an RPE gets the default RPE of its kind from the
  ``[session_load]`` table of ``rules.toml`` and is marked as assumed
  (``rpe_assumed``; daily and weekly ``assumed_load_au`` and ``assumed_sessions``).
  A missing duration counts as 0 minutes.
- Daily load: the sum of an athlete's session loads on each local calendar day,
  on a complete day index from the athlete's first session to the evaluation
  date; rest days are zero.
- ACWR, EWMA (Williams et al. 2017): exponentially weighted averages of daily
  load with decay ``2 / (N + 1)``, N = 7 (acute) and 28 (chronic) days, both
  starting from zero before the first day; ratio = acute / chronic.
- ACWR, uncoupled rolling (Lolli et al. 2019): mean of the last 7 days / mean of
  the 21 days before them (acute and chronic windows do not overlap).
- Fitness (CTL), fatigue (ATL): exponentially weighted averages of daily load
  with decay ``1 / T``, T = 42 and 7 days (the Banister impulse-response
  convention of training-stress tools), starting from zero; form (TSB) is
  fitness - fatigue.
- Monotony (Foster 1998): mean daily load of the last 7 days / their sample
  standard deviation (n - 1), rest days zero; undefined (NaN) when the SD is 0,
  e.g. a week of identical daily loads or a week of rest. Strain: the 7-day
  load x monotony.

A value whose window reaches before the athlete's first logged day is NaN: the
log does not say what happened before it. Ratios with a zero denominator are NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from loadmon.models.log import (
    PreparedLog,
    day_grid,
    end_of,
    local_dates,
    per_row,
    prepare_log,
    rows_where,
    weekday,
)
from loadmon.models.rules import RuleSet, default_rules_text, parse_session_load
from loadmon.types import SURFACES

#: Columns of `session_loads`.
SESSION_LOAD_COLUMNS: tuple[str, ...] = (
    "athlete", "day", "kind", "minutes", "rpe", "rpe_assumed", "load_au",
)

#: Columns of `daily_load`.
DAILY_LOAD_COLUMNS: tuple[str, ...] = (
    "athlete", "day", "history_days", "load_au", "assumed_load_au", "sessions",
    "assumed_sessions", "acute_ewma_au", "chronic_ewma_au", "acwr_ewma", "acute_mean_au",
    "chronic_mean_au", "acwr_uncoupled", "fitness_au", "fatigue_au", "form_au",
    "week_load_au", "monotony", "strain_au",
)

#: Columns of `weekly_load_table`.
WEEK_LOAD_COLUMNS: tuple[str, ...] = (
    "athlete", "week", "week_start", "run_km", "runs", "long_run_km", "ramp_pct", "load_au",
    "assumed_load_au", "acwr_ewma", "acwr_uncoupled", "fitness_au", "fatigue_au", "form_au",
    "monotony", "strain_au", "strength_sessions", "cross_min",
    *(f"surface_{s}_pct" for s in SURFACES), "main_shoe", "main_shoe_pct",
    "worst_morning_pain",
)

#: Relative size below which a standard deviation counts as zero (float dust).
_SD_ZERO = 1e-9


@cache
def default_rpe() -> Mapping[str, float]:
    """Return the packaged default RPE of each session kind (``[session_load]`` of rules.toml).

    Returns
    -------
    Mapping[str, float]
        Session kind to its default RPE (0-10).
    """
    return parse_session_load(default_rules_text(), "loadmon/models/rules.toml")


def session_loads(
    sessions: pd.DataFrame, rpe_by_kind: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Return each session's load: minutes x RPE, the RPE assumed by kind when none was logged.

    Parameters
    ----------
    sessions : pandas.DataFrame
        Sessions: ``athlete``, ``kind``, ``duration_s``, and ``rpe`` (optional:
        without it every RPE is assumed); a ``day`` column of local dates, or
        ``tz`` and a UTC-aware ``start_utc`` to compute it.
    rpe_by_kind : Mapping[str, float] or None
        Default RPE per kind; None: `default_rpe`.

    Returns
    -------
    pandas.DataFrame
        `SESSION_LOAD_COLUMNS`, aligned with `sessions`; ``day`` as naive
        midnight timestamps, ``load_au`` in minutes x RPE.
    """
    defaults = default_rpe() if rpe_by_kind is None else rpe_by_kind
    if "day" in sessions:
        day = pd.Series(sessions["day"], index=sessions.index).astype("datetime64[ns]")
    elif sessions.empty:
        day = pd.Series(dtype="datetime64[ns]", index=sessions.index)
    else:
        day = local_dates(sessions)
    minutes = pd.to_numeric(sessions["duration_s"], errors="coerce").astype("float64") / 60.0
    logged = (pd.to_numeric(sessions["rpe"], errors="coerce").astype("float64")
              if "rpe" in sessions else pd.Series(np.nan, index=sessions.index))
    kind = sessions["kind"].astype(object)
    assumed = logged.isna()
    # each kind's default looked up once, not once per session
    code, kinds = pd.factorize(sessions["kind"])
    by_kind = np.array([*(defaults.get(k, np.nan) for k in kinds), np.nan], dtype="float64")
    rpe = logged.fillna(pd.Series(by_kind[code], index=sessions.index))
    return pd.DataFrame({
        "athlete": sessions["athlete"].astype(object), "day": day, "kind": kind,
        "minutes": minutes, "rpe": rpe, "rpe_assumed": assumed,
        "load_au": minutes.fillna(0.0) * rpe.fillna(0.0),
    }, index=sessions.index)


def daily_load(
    sessions: pd.DataFrame,
    rules: RuleSet,
    until: pd.Series | date | None = None,
    rpe_by_kind: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Return each athlete's daily session load and the load models, one row per local day.

    Parameters
    ----------
    sessions : pandas.DataFrame
        Sessions, as for `session_loads`.
    rules : RuleSet
        The rules: windows of ``acwr``, ``fitness`` and ``monotony``.
    until : pandas.Series, datetime.date or None
        The last day of each athlete's index (athlete name to a timestamp, or one
        date for everyone); sessions after it are ignored. None: each athlete's
        last session day.
    rpe_by_kind : Mapping[str, float] or None
        Default RPE per kind; None: `default_rpe`.

    Returns
    -------
    pandas.DataFrame
        `DAILY_LOAD_COLUMNS`, sorted by athlete and day, every day from the
        athlete's first session to `until` (rest days zero). ``history_days`` is
        the number of days since the first one (0 on it). Loads in AU.
    """
    load = session_loads(sessions, rpe_by_kind)
    keep = load["day"].notna()
    if isinstance(until, date):
        until = pd.Series(pd.Timestamp(until), index=pd.Index(load["athlete"][keep].unique()))
    if until is not None:
        # the sessions' own athlete column: categories (a prepared log) look up fastest
        keep &= load["day"] <= end_of(sessions["athlete"], until.astype("datetime64[ns]"))
    load, athlete = rows_where(load, keep), rows_where(sessions["athlete"], keep)
    if load.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in DAILY_LOAD_COLUMNS})
    grid, row = day_grid(athlete, load["day"], until)
    totals = per_row(row, len(grid), load_au=(load["load_au"], "sum"),
                     assumed_load_au=(load["load_au"].where(load["rpe_assumed"], 0.0), "sum"),
                     sessions=(load["load_au"], "size"),
                     assumed_sessions=(load["rpe_assumed"], "sum"))
    grid["load_au"] = totals["load_au"]
    grid["assumed_load_au"] = totals["assumed_load_au"]
    grid["sessions"] = totals["sessions"].astype("int64")
    grid["assumed_sessions"] = totals["assumed_sessions"].astype("int64")
    return _models(grid, rules)


def _ewma(x: pd.Series, athlete: np.ndarray, first: np.ndarray, history: pd.Series,
          alpha: float) -> pd.Series:
    """Return the exponentially weighted average of daily load per athlete, from zero.

    pandas starts the recursion at the first value (``y0 = x0``); starting
    from zero instead (``y0 = alpha * x0``) subtracts ``(1 - alpha)^(t + 1) x0``.
    `athlete` numbers the athletes of the grid (each one's days together, in
    order) and `first` is each row's athlete's first load.
    """
    # the groups come back in their order, each in its rows' order: the grid's order
    seeded = x.groupby(athlete, sort=False).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return pd.Series(seeded, index=x.index) - (1.0 - alpha) ** (history + 1) * first


def _rolling(x: pd.Series, history: pd.Series, days: int, how: str,
             shift: int = 0) -> pd.Series:
    """Return the rolling `how` of `days` days ending `shift` days back (NaN before the log).

    One pass over every athlete: rows whose window would reach into the previous
    athlete's days (before this athlete's first day) are exactly the masked ones.
    """
    out = getattr(x.shift(shift).rolling(days, min_periods=days), how)()
    return out.where(history >= days + shift - 1)


def _ratio(num: pd.Series, den: pd.Series, tiny: pd.Series) -> pd.Series:
    """Return ``num / den``, NaN where `den` is zero (at most `tiny`)."""
    return num / den.where(den > tiny)


def _clean(x: pd.Series, tiny: pd.Series) -> pd.Series:
    """Return `x` with float dust (at most `tiny` in size) set to 0."""
    return x.mask(x.abs() <= tiny, 0.0)


def _models(grid: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    acwr, fit, mono = rules["acwr"], rules["fitness"], rules["monotony"]
    a_days, c_days = acwr["acute_days"], acwr["chronic_days"]
    x, hist = grid["load_au"], grid["history_days"]
    # the grid holds each athlete's days together, from their first (history 0)
    begins = np.flatnonzero(hist.to_numpy() == 0)
    athlete = np.cumsum(hist.to_numpy() == 0) - 1
    # Zero, to the athlete's own scale: rolling sums and decayed averages leave float
    # dust where the true value is 0, and a fixed limit would depend on the load's unit.
    tiny = _SD_ZERO * pd.Series(np.maximum.reduceat(x.to_numpy(), begins)[athlete],
                                index=x.index)
    first = x.to_numpy()[begins][athlete]

    def ewma(alpha: float) -> pd.Series:
        return _ewma(x, athlete, first, hist, alpha)

    grid["acute_ewma_au"] = ewma(2.0 / (a_days + 1))
    grid["chronic_ewma_au"] = ewma(2.0 / (c_days + 1))
    covered = hist >= c_days - 1
    grid["acwr_ewma"] = _ratio(grid["acute_ewma_au"], grid["chronic_ewma_au"],
                               tiny).where(covered)
    grid["acute_mean_au"] = _clean(_rolling(x, hist, a_days, "mean"), tiny)
    grid["chronic_mean_au"] = _clean(_rolling(x, hist, c_days - a_days, "mean", shift=a_days),
                                     tiny)
    grid["acwr_uncoupled"] = _ratio(grid["acute_mean_au"], grid["chronic_mean_au"], tiny)
    grid["fitness_au"] = ewma(1.0 / fit["fitness_days"])
    grid["fatigue_au"] = ewma(1.0 / fit["fatigue_days"])
    grid["form_au"] = grid["fitness_au"] - grid["fatigue_au"]
    w = mono["window_days"]
    mean = _clean(_rolling(x, hist, w, "mean"), tiny)
    sd = _rolling(x, hist, w, "std")
    # SD 0 exactly when every day of the window is equal: tested on max == min, since a
    # rolling SD leaves dust (its square root magnifies the variance's rounding).
    flat = _rolling(x, hist, w, "max") == _rolling(x, hist, w, "min")
    grid["week_load_au"] = mean * w
    grid["monotony"] = (mean / sd).mask(flat | sd.isna())
    grid["strain_au"] = grid["week_load_au"] * grid["monotony"]
    return grid[list(DAILY_LOAD_COLUMNS)]


def weekly_load_table(
    sessions: pd.DataFrame,
    pain: pd.DataFrame | None,
    shoes: pd.DataFrame | None,
    rules: RuleSet,
    as_of: date | None = None,
    rpe_by_kind: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Return one row per athlete and ISO week (local time): distance, load and the models.

    Parameters
    ----------
    sessions : pandas.DataFrame
        Sessions as `loadmon.store.Store.sessions_frame` returns them: ``athlete``,
        ``tz``, ``start_utc``, ``kind``, ``duration_s``, ``distance_m``, ``shoe``,
        ``surface``, ``rpe``.
    pain : pandas.DataFrame or None
        Pain entries with ``athlete``, ``date_local``, ``score``, ``when``
        (see `loadmon.models.flags.pain_frame`); None for none.
    shoes : pandas.DataFrame or None
        The athletes' shoes (they extend no week: the main-shoe share counts
        the runs logged with a shoe, whatever the shoe list holds).
    rules : RuleSet
        The rules: windows of ``acwr``, ``fitness`` and ``monotony``.
    as_of : datetime.date or None
        The last day of every athlete's log (later entries ignored; the weeks
        run up to it); None: each athlete's last session or pain date.
    rpe_by_kind : Mapping[str, float] or None
        Default RPE per kind; None: `default_rpe`.

    Returns
    -------
    pandas.DataFrame
        `WEEK_LOAD_COLUMNS`, one row per athlete and ISO week from the first
        logged week to the last (weeks without sessions included):

        - ``week`` (``2026-W07``), ``week_start`` (its Monday, a date);
        - ``run_km``, ``runs``, ``long_run_km``; ``ramp_pct``: run km vs the
          previous ISO week in % (NaN for the first week or after a week of 0 km);
        - ``load_au`` (minutes x RPE) and ``assumed_load_au`` (its part from
          assumed RPEs);
        - ``acwr_ewma``, ``acwr_uncoupled``, ``fitness_au``, ``fatigue_au``,
          ``form_au``, ``monotony`` and ``strain_au`` on the week's last day
          (its Sunday, or the last day of the log);
        - ``strength_sessions``, ``cross_min``;
        - ``surface_<surface>_pct``: share of the week's run km with a surface
          logged (NaN when none); ``main_shoe`` and ``main_shoe_pct``: the pair
          of most of the week's runs with a shoe logged and its share of them;
        - ``worst_morning_pain``: the highest morning pain score of the week.

        Sessions the ``data_check`` rule excludes (see `loadmon.models.log`)
        count nowhere.
    """
    log = prepare_log(sessions, pain, shoes, rules["data_check"], as_of)
    return weekly_table(log, rules, rpe_by_kind=rpe_by_kind)


def weekly_table(
    log: PreparedLog,
    rules: RuleSet,
    daily: pd.DataFrame | None = None,
    rpe_by_kind: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Return the weekly load table of a prepared log (see `weekly_load_table`).

    Parameters
    ----------
    log : PreparedLog
        The log (see `loadmon.models.log.prepare_log`).
    rules : RuleSet
        The rules.
    daily : pandas.DataFrame or None
        The log's `daily_load` up to ``log.until``, when already computed.
    rpe_by_kind : Mapping[str, float] or None
        Default RPE per kind; None: `default_rpe`.

    Returns
    -------
    pandas.DataFrame
        `WEEK_LOAD_COLUMNS`, as `weekly_load_table` describes them.
    """
    sess = log.sessions
    if sess.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in WEEK_LOAD_COLUMNS})
    if daily is None:
        daily = daily_load(sess, rules, until=log.until, rpe_by_kind=rpe_by_kind)
    # The daily rows hold each athlete's days together and in order (history 0 first): a
    # week is a run of rows from a Monday or an athlete's first day. Everything is summed
    # per week number, in the rows' order.
    history = daily["history_days"].to_numpy()
    new_week = (history == 0) | (weekday(daily["day"]) == 0)
    week = np.cumsum(new_week) - 1
    n_weeks = int(week[-1]) + 1
    ends = np.append(np.flatnonzero(new_week)[1:] - 1, len(week) - 1)
    at_end = ["acwr_ewma", "acwr_uncoupled", "fitness_au", "fatigue_au", "form_au",
              "monotony", "strain_au"]
    # the values of each week's last day, NaN included
    out = daily.iloc[ends][["athlete", "day", *at_end]].reset_index(drop=True)
    out.insert(1, "week_start", _monday(out.pop("day")))
    out = out.assign(**per_row(week, n_weeks, load_au=(daily["load_au"], "sum"),
                               assumed_load_au=(daily["assumed_load_au"], "sum")))

    of = _week_of(sess, daily, week)
    is_run = sess["is_run"].to_numpy()
    run_km = np.where(is_run, sess["km"].to_numpy(), 0.0)
    totals = per_row(of, n_weeks, run_km=(run_km, "sum"), runs=(is_run, "sum"),
                     long_run_km=(run_km, "max"),
                     strength_sessions=(sess["kind"] == "strength", "sum"),
                     cross_min=(np.where(sess["kind"] == "cross", sess["minutes"].fillna(0.0),
                                         0.0), "sum"))
    out = out.assign(**totals)
    for c in ("runs", "strength_sessions"):
        out[c] = out[c].astype("int64")
    prev = out["run_km"].shift(1).where(history[new_week] != 0)  # none before a first week
    out["ramp_pct"] = (out["run_km"] / prev.where(prev > 0) - 1.0) * 100.0

    run = is_run & (of >= 0)
    on = run & sess["surface"].notna().to_numpy()
    code, names = pd.factorize(sess["surface"][on])
    surf = pd.Series(sess["km"].to_numpy()[on]).groupby([of[on], code]).sum().unstack(
        fill_value=0.0)
    surf.columns = np.asarray(names)[surf.columns]
    surf = surf.reindex(columns=list(SURFACES), fill_value=0.0)
    total = surf.sum(axis=1)
    shares = surf.div(total.where(total > 0), axis=0) * 100.0
    for c in SURFACES:
        out[f"surface_{c}_pct"] = shares[c].reindex(out.index)

    shod = run & sess["shoe"].notna().to_numpy()
    if not shod.any():
        out["main_shoe"], out["main_shoe_pct"] = None, np.nan
    else:
        # runs per week and shoe (shoes in name order); the main shoe: the most runs, the
        # first name among equals
        code, shoes = pd.factorize(sess["shoe"][shod], sort=True)
        pair, count = np.unique(of[shod] * len(shoes) + code, return_counts=True)
        in_week = pair // len(shoes)
        by_count = np.lexsort((-count, in_week))
        main = by_count[np.r_[True, np.diff(in_week[by_count]) != 0]]
        weeks = in_week[main]
        runs_shod = np.bincount(in_week, weights=count).astype("int64")[weeks]
        out["main_shoe"] = pd.Series(pd.Index(np.asarray(shoes)).take(pair[main] % len(shoes)),
                                     index=weeks).reindex(out.index)
        out["main_shoe_pct"] = pd.Series(count[main] / runs_shod * 100.0,
                                         index=weeks).reindex(out.index)

    keys = pd.MultiIndex.from_arrays([out["athlete"].to_numpy(), out["week_start"]],
                                     names=["athlete", "week_start"])
    out["worst_morning_pain"] = _worst_morning_pain(log.pain).reindex(keys).to_numpy()
    iso = out["week_start"].dt.isocalendar()
    out["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    out["week_start"] = out["week_start"].to_numpy(dtype="datetime64[D]").astype(object)  # dates
    return out[list(WEEK_LOAD_COLUMNS)]


def _week_of(sess: pd.DataFrame, daily: pd.DataFrame, week: np.ndarray) -> np.ndarray:
    """Return each session's week number in the daily rows (-1: outside them)."""
    begins = np.flatnonzero(daily["history_days"].to_numpy() == 0)
    spans = np.diff(np.append(begins, len(daily)))
    first = daily["day"].to_numpy(dtype="datetime64[D]").astype(np.int64)[begins]
    code, names = pd.factorize(sess["athlete"])
    block = np.append(pd.Index(daily["athlete"].iloc[begins].to_numpy()).get_indexer(
        np.asarray(names)), -1)[code]
    day = sess["day"].to_numpy(dtype="datetime64[D]")
    at = np.where(block >= 0, block, 0)
    offset = np.where(np.isnat(day), -1, day.astype(np.int64) - first[at])
    inside = (block >= 0) & (offset >= 0) & (offset < spans[at])
    return np.where(inside, week[np.where(inside, begins[at] + offset, 0)], -1)


def _monday(day: pd.Series) -> pd.Series:
    """Return the Monday of each day's ISO week."""
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def _worst_morning_pain(pain: pd.DataFrame | None) -> pd.Series:
    """Return the highest morning pain score per athlete and ISO week."""
    index = pd.MultiIndex.from_arrays([[], pd.DatetimeIndex([])], names=["athlete", "week_start"])
    if pain is None or pain.empty:
        return pd.Series(dtype="float64", index=index)
    morning = pain[pain["when"] == "morning"]
    ws = _monday(pd.to_datetime(morning["date_local"]).astype("datetime64[ns]"))
    score = pd.to_numeric(morning["score"], errors="coerce").astype("float64")
    return score.groupby([morning["athlete"].to_numpy(), ws.to_numpy()]).max().rename_axis(
        ["athlete", "week_start"])
