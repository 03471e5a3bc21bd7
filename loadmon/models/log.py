"""The training log prepared once for the load model: local days, km, minutes, exclusions.

Pure pandas: the frames of the store in, a `PreparedLog` out. Every rule and the
weekly table read the same prepared log, so local dates, distances and each
athlete's evaluation date are computed once however many rules run.

Data checks (the ``data_check`` rule of ``rules.toml``): a session the load
model cannot trust is left out of every rule and the weekly table, and said so
(`PreparedLog.excluded`, which `loadmon.models.flags` turns into ``info``
flags); it stays in the log, where the runner can fix it:

- a run longer than ``max_run_km`` (250 km: beyond all but the best 24-hour
  races; a 300 km "run" in a training log is a unit or GPS error);
- a run of at least ``speed_check_min_km`` at an average speed above
  ``max_speed_m_s`` (7 m/s, faster than the 5,000 m world record's average);
- a session overlapping, by more than ``overlap_s``, an earlier session of the
  same athlete and kind with a known start time: the same activity recorded
  twice (a watch and a phone); the session with the longer distance, else the
  longer duration, is kept. Sessions of different kinds may overlap (a warm-up
  run inside a cross-training session is plausible; double counting is not
  possible across kinds).

A run without a distance (or of 0 km) is not excluded: it counts for session
load and cross-checks, and only the distance rules (spike, ramp, shoes,
surfaces) skip it, as they cannot compare it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from loadmon.models.rules import Rule

#: A frame or a series: what `rows_where` selects from.
Rows = TypeVar("Rows", pd.DataFrame, pd.Series)

#: Columns of `PreparedLog.sessions` (besides any passed through).
PREPARED_COLUMNS: tuple[str, ...] = (
    "athlete", "tz", "kind", "shoe", "surface", "start_utc", "time_known", "duration_s", "rpe",
    "cadence_spm", "day", "km", "minutes", "is_run", "end",
)
#: Columns of the pain frame (one row a `loadmon.types.PainEntry` of an athlete).
PAIN_COLUMNS: tuple[str, ...] = ("athlete", "date_local", "score", "when", "site", "notes")
#: Columns of the shoes frame (one row a shoe of an athlete).
SHOE_COLUMNS: tuple[str, ...] = ("athlete", "name", "start_km", "retire_km", "retired")
#: Columns of `PreparedLog.excluded`.
EXCLUDED_COLUMNS: tuple[str, ...] = (
    "athlete", "tz", "day", "start_utc", "kind", "km", "reason", "value", "limit", "other_utc",
)


@dataclass(frozen=True, slots=True)
class PreparedLog:
    """A training log ready for the rules: one evaluation date per athlete, exclusions stated.

    Attributes
    ----------
    sessions : pandas.DataFrame
        `PREPARED_COLUMNS`, sorted by athlete and start, up to each athlete's
        evaluation date, without the excluded sessions: ``day`` (local date, a
        naive midnight timestamp), ``km``, ``minutes``, ``is_run`` (a run with a
        distance above 0), ``end`` (the athlete's evaluation date).
    pain : pandas.DataFrame
        `PAIN_COLUMNS` plus ``end``, sorted by athlete and date; ``site``
        lower-case, ``notes`` never missing.
    shoes : pandas.DataFrame
        `SHOE_COLUMNS` (km).
    until : pandas.Series
        Athlete name to the evaluation date (naive midnight timestamp).
    excluded : pandas.DataFrame
        `EXCLUDED_COLUMNS`: the sessions left out, with the reason
        (``distance``, ``speed`` or ``overlap``), the measured value and its
        limit (km, m/s or s of overlap) and, for an overlap, the start of the
        session kept.
    """

    sessions: pd.DataFrame
    pain: pd.DataFrame
    shoes: pd.DataFrame
    until: pd.Series
    excluded: pd.DataFrame


def local_dates(frame: pd.DataFrame) -> pd.Series:
    """Return each session's calendar date in its athlete's time zone.

    Parameters
    ----------
    frame : pandas.DataFrame
        Sessions with a UTC-aware ``start_utc`` and an IANA ``tz`` column.

    Returns
    -------
    pandas.Series
        Naive midnight timestamps (``datetime64[ns]``) of the local dates, aligned
        with `frame`.
    """
    out = np.empty(len(frame), dtype="datetime64[ns]")
    start = frame["start_utc"]
    for tz, idx in frame.groupby("tz", sort=False).indices.items():
        local = start.iloc[idx].dt.tz_convert(str(tz)).dt.tz_localize(None).dt.normalize()
        out[idx] = local.to_numpy(dtype="datetime64[ns]")
    return pd.Series(out, index=frame.index)


def weekday(day: pd.Series) -> np.ndarray:
    """Return each day's weekday, Monday 0 to Sunday 6 (-1 without a date).

    Parameters
    ----------
    day : pandas.Series
        Naive timestamps.

    Returns
    -------
    numpy.ndarray
        Integers, aligned with `day` (`Series.dt.day_of_week`, from the day
        numbers at once: 1970-01-01 was a Thursday).
    """
    days = day.to_numpy(dtype="datetime64[D]")
    return np.where(np.isnat(days), -1, (days.astype(np.int64) + 3) % 7)


def empty_pain() -> pd.DataFrame:
    """Return a pain frame without entries (`PAIN_COLUMNS`, typed).

    Returns
    -------
    pandas.DataFrame
        No rows.
    """
    return pd.DataFrame({
        "athlete": pd.Series(dtype=object), "date_local": pd.Series(dtype="datetime64[ns]"),
        "score": pd.Series(dtype="float64"), "when": pd.Series(dtype=object),
        "site": pd.Series(dtype=object), "notes": pd.Series(dtype=object),
    })


def empty_shoes() -> pd.DataFrame:
    """Return a shoes frame without shoes (`SHOE_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        No rows.
    """
    return pd.DataFrame(columns=list(SHOE_COLUMNS))


def prepare_log(
    sessions: pd.DataFrame,
    pain: pd.DataFrame | None,
    shoes: pd.DataFrame | None,
    check: Rule,
    as_of: date | None = None,
) -> PreparedLog:
    """Prepare a log for the rules: local days, km and minutes, evaluation dates, exclusions.

    Parameters
    ----------
    sessions : pandas.DataFrame
        Sessions as `loadmon.store.Store.sessions_frame` returns them: ``athlete``,
        ``tz``, ``start_utc`` (UTC aware), ``kind``, ``duration_s``,
        ``distance_m``, ``shoe``, ``surface``, and optionally ``rpe`` and
        ``time_known``.
    pain : pandas.DataFrame or None
        Pain entries with `PAIN_COLUMNS`; None for none.
    shoes : pandas.DataFrame or None
        Shoes with `SHOE_COLUMNS`; None for none.
    check : Rule
        The ``data_check`` rule (its limits).
    as_of : datetime.date or None
        Every athlete's evaluation date (later entries are dropped); None: each
        athlete's last session or pain date.

    Returns
    -------
    PreparedLog
        The prepared log.
    """
    pain_in = empty_pain() if pain is None else pain
    shoes_in = empty_shoes() if shoes is None else shoes
    names = pd.Index(sorted({*sessions["athlete"].unique(), *pain_in["athlete"].unique(),
                             *shoes_in["athlete"].unique()}), dtype=object)
    sess = _sessions(sessions, names)
    pn = _pain(pain_in, names)
    until = _until(sess, pn, shoes_in, as_of)
    sess["end"] = end_of(sess["athlete"], until)
    pn["end"] = end_of(pn["athlete"], until)
    sess = rows_where(sess, sess["day"] <= sess["end"])
    pn = rows_where(pn, pn["date_local"] <= pn["end"])
    excluded = _implausible(sess, check)
    if not excluded.empty:
        sess = sess.drop(index=excluded.index)
    return PreparedLog(sess, pn, shoes_in, until,
                       excluded.reset_index(drop=True)[list(EXCLUDED_COLUMNS)])


def rows_where(frame: Rows, mask: pd.Series) -> Rows:
    """Return the rows of `frame` where `mask` holds: `frame` itself when it holds on all.

    Usually nothing is left out, and selecting every row would copy every column.

    Parameters
    ----------
    frame : pandas.DataFrame or pandas.Series
        The rows.
    mask : pandas.Series
        Booleans aligned with `frame`.

    Returns
    -------
    pandas.DataFrame or pandas.Series
        The rows kept.
    """
    return frame if mask.all() else frame[mask]


def end_of(athlete: pd.Series, until: pd.Series) -> pd.Series:
    """Return each row's evaluation date: `until` of its athlete (NaT when it has none).

    Parameters
    ----------
    athlete : pandas.Series
        Athlete names.
    until : pandas.Series
        Athlete name to its evaluation date.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]``, aligned with `athlete`.
    """
    # each name looked up once (a categorical column is factorized for free)
    code, names = pd.factorize(athlete)
    at = np.append(until.index.get_indexer(np.asarray(names)), -1)[code]
    end = until.to_numpy(dtype="datetime64[ns]")[at]
    end[at < 0] = np.datetime64("NaT")
    return pd.Series(end, index=athlete.index, dtype="datetime64[ns]")


def day_grid(athlete: pd.Series, day: pd.Series, until: pd.Series | None,
             pad_days: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Return every day of each athlete's log, and where each row falls in it.

    The days run from `pad_days` before the athlete's first day to their
    `until` (their last day when they have none): the rows of a daily frame of
    several athletes at once, athletes in sorted order (as ``groupby`` sorts
    them). Callers aggregate their own columns by the positions returned.

    Parameters
    ----------
    athlete : pandas.Series
        Each row's athlete (rows without one fall nowhere).
    day : pandas.Series
        Each row's local date (naive midnight timestamps).
    until : pandas.Series or None
        Athlete name to the last day of their grid.
    pad_days : int
        Days before each athlete's first day.

    Returns
    -------
    pandas.DataFrame
        ``athlete`` (typed as an index of the names), ``day``
        (``datetime64[ns]``), ``history_days`` (days since the first day;
        negative in the padding).
    numpy.ndarray
        Each row's position in the grid; -1 without an athlete or after `until`.
    """
    code, found = pd.factorize(athlete)
    labels = np.asarray(found)
    order = np.argsort(labels, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    code = np.where(code < 0, -1, rank[code])
    labels = labels[order]
    days = day.to_numpy(dtype="datetime64[D]").astype(np.int64)
    has = code >= 0
    by = pd.Series(days[has]).groupby(code[has])
    first, last = by.min().to_numpy(), by.max().to_numpy()
    if until is not None:
        end = until.reindex(labels).to_numpy(dtype="datetime64[D]")
        last = np.where(np.isnat(end), last, end.astype(np.int64))
    start = first - pad_days
    span = last - start + 1
    begins = np.cumsum(span) - span
    offset = np.arange(span.sum()) - np.repeat(begins, span)
    at = np.where(has, code, 0)
    row = np.where(has & (days <= last[at]), begins[at] + days - start[at], -1)
    grid = pd.DataFrame({
        "athlete": pd.Index(labels).take(np.repeat(np.arange(len(labels)), span)),
        "day": (np.repeat(start, span) + offset).astype("datetime64[D]").astype(
            "datetime64[ns]"),
        "history_days": offset - pad_days,
    })
    return grid, row


def per_row(row: np.ndarray, size: int, **columns: tuple[Any, str]) -> dict[str, np.ndarray]:
    """Return columns aggregated (``sum``, ``max`` or ``size``) per row of a table.

    The rows are numbered (the days of a `day_grid`, the weeks of a weekly
    table); each value's group is aggregated in its order, as ``groupby`` does,
    and the groups are found once for every column.

    Parameters
    ----------
    row : numpy.ndarray
        Each value's row number (-1: none).
    size : int
        Rows of the table.
    **columns : tuple of (array-like, str)
        Each column's values (aligned with `row`) and its aggregation.

    Returns
    -------
    dict of str to numpy.ndarray
        One value per row of each column (float for sum and max of floats, int
        for size and sums of booleans); rows without values are 0.
    """
    on = row >= 0
    groups = pd.DataFrame({name: np.asarray(values)[on]
                           for name, (values, _) in columns.items()}).groupby(row[on])
    out = {}
    for name, (_, how) in columns.items():
        per = getattr(groups[name], how)()
        out[name] = np.zeros(size, dtype=per.dtype)
        out[name][per.index.to_numpy()] = per.to_numpy()
    return out


def _sessions(frame: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    n = len(frame)
    opt = {c: frame[c] if c in frame else pd.Series(default, index=frame.index)
           for c, default in (("rpe", np.nan), ("time_known", True), ("cadence_spm", np.nan))}
    # each name looked up once: the same codes as a categorical of the names
    code, found = pd.factorize(frame["athlete"])
    out = pd.DataFrame({
        "athlete": pd.Categorical.from_codes(np.append(names.get_indexer(found), -1)[code],
                                             categories=names),
        # categories: every grouping and comparison then works on small integer codes
        "tz": pd.Categorical(frame["tz"]),
        "kind": pd.Categorical(frame["kind"]),
        "shoe": pd.Categorical(frame["shoe"]),
        "surface": pd.Categorical(frame["surface"]),
        "start_utc": frame["start_utc"],
        "time_known": opt["time_known"].astype(bool).to_numpy(),
        "duration_s": _numbers(frame["duration_s"]),
        "rpe": _numbers(opt["rpe"]),
        "cadence_spm": _numbers(opt["cadence_spm"]),
        "day": local_dates(frame) if n else pd.Series(dtype="datetime64[ns]"),
        "km": _numbers(frame["distance_m"]) / 1000.0,
    }, index=frame.index)
    out["minutes"] = out["duration_s"] / 60.0
    out["is_run"] = (out["kind"] == "run") & (out["km"] > 0)
    if not out.empty and not _sorted(out):
        out = out.sort_values(["athlete", "start_utc"], kind="stable")
    return out


def _numbers(column: pd.Series) -> np.ndarray:
    """Return a column as floats, NaN where it holds no number (`pandas.to_numeric`).

    A column of missing values only (a sensor nobody wears: None throughout) is
    all NaN at once, without converting value by value.
    """
    if column.dtype == object and column.isna().all():
        return np.full(len(column), np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy("float64")


def _sorted(frame: pd.DataFrame) -> bool:
    """Whether `frame` is already in athlete and start order (as the store returns it)."""
    a = frame["athlete"].cat.codes.to_numpy()  # the categories are in name order
    t = frame["start_utc"].to_numpy(dtype="datetime64[ns]")
    same = a[1:] == a[:-1]
    return bool(np.all((a[1:] > a[:-1]) | (same & (t[1:] >= t[:-1]))))


def _pain(frame: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    out = frame.loc[:, list(PAIN_COLUMNS)].copy()
    out["athlete"] = pd.Categorical(out["athlete"], categories=names)
    out["date_local"] = pd.to_datetime(out["date_local"]).astype("datetime64[ns]")
    out["score"] = out["score"].astype("float64")
    out["site"] = out["site"].fillna("").astype(str).str.strip().str.lower()
    out["notes"] = out["notes"].fillna("").astype(str)
    return out.sort_values(["athlete", "date_local"], kind="stable")


def _until(sess: pd.DataFrame, pain: pd.DataFrame, shoes: pd.DataFrame,
           as_of: date | None) -> pd.Series:
    last = pd.concat([
        sess.groupby("athlete")["day"].max(), pain.groupby("athlete")["date_local"].max(),
    ]).groupby(level=0).max()
    names = sorted(set(last.index) | set(shoes["athlete"]))
    if as_of is not None:
        last = pd.Series(pd.Timestamp(as_of), index=pd.Index(names, name="athlete"))
    return last.reindex(names).astype("datetime64[ns]")


def _implausible(sess: pd.DataFrame, check: Rule) -> pd.DataFrame:
    """Return the sessions to leave out, indexed like `sess`, with `EXCLUDED_COLUMNS`."""
    run = sess["kind"] == "run"
    speed = sess["km"] * 1000.0 / sess["duration_s"].where(sess["duration_s"] > 0)
    too_far = run & (sess["km"] > check["max_run_km"])
    too_fast = (run & ~too_far & (sess["km"] >= check["speed_check_min_km"])
                & (speed > check["max_speed_m_s"]))
    out = pd.concat([
        sess[too_far].assign(reason="distance", value=sess["km"][too_far].to_numpy(),
                             limit=check["max_run_km"], other_utc=pd.NaT),
        sess[too_fast].assign(reason="speed", value=speed[too_fast].to_numpy(),
                              limit=check["max_speed_m_s"], other_utc=pd.NaT),
        _overlaps(sess, (~too_far & ~too_fast).to_numpy(), float(check["overlap_s"])),
    ])
    return out.sort_values(["athlete", "start_utc"], kind="stable")


#: The sort key of a missing category: after every category.
_NO_CODE = np.iinfo(np.int64).max


def _codes(column: pd.Series) -> np.ndarray:
    """Return a categorical column's codes as sort keys (missing: `_NO_CODE`)."""
    codes = column.cat.codes.to_numpy().astype(np.int64)
    return np.where(codes < 0, _NO_CODE, codes)


def _overlaps(sess: pd.DataFrame, among: np.ndarray, overlap_s: float) -> pd.DataFrame:
    """Return the lesser of two same-kind sessions overlapping by more than `overlap_s`.

    Only the sessions `among` count. The lesser has the shorter distance, else
    the shorter duration (the later one among equals). `sess` is in athlete and
    start order (`_sessions`).
    """
    # by athlete, kind and start (categories in their order, missing ones last): a stable
    # sort by athlete and kind keeps each one's sessions in start order
    at = np.flatnonzero(among & (sess["time_known"] & (sess["duration_s"] > 0)).to_numpy())
    athlete, kind = _codes(sess["athlete"])[at], _codes(sess["kind"])[at]
    order = np.lexsort((kind, athlete))
    at, athlete, kind = at[order], athlete[order], kind[order]
    start = sess["start_utc"].iloc[at]
    start_s = start.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
    stop_s = start_s + sess["duration_s"].to_numpy()[at]
    same = np.zeros(len(at), dtype=bool)
    same[1:] = ((athlete[1:] == athlete[:-1]) & (kind[1:] == kind[:-1])
                & (athlete[1:] < _NO_CODE) & (kind[1:] < _NO_CODE))
    shared_s = np.full(len(at), -np.inf)
    shared_s[1:] = np.minimum(stop_s[1:], stop_s[:-1]) - start_s[1:]
    pos = np.flatnonzero(same & (shared_s > overlap_s))
    size = (sess["km"].iloc[at].fillna(0.0) * 1e6 + sess["duration_s"].iloc[at]).to_numpy()
    drop_later = size[pos] <= size[pos - 1]
    lose = np.where(drop_later, pos, pos - 1)
    keep = np.where(drop_later, pos - 1, pos)
    out = sess.iloc[at[lose]].assign(reason="overlap", value=shared_s[pos], limit=overlap_s,
                                     other_utc=start.iloc[keep].to_numpy())
    return out[~out.index.duplicated()]
