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

import numpy as np
import pandas as pd

from loadmon.models.rules import Rule

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
    sess = sess[sess["day"] <= sess["end"]]
    pn = pn[pn["date_local"] <= pn["end"]]
    excluded = _implausible(sess, check)
    if not excluded.empty:
        sess = sess.drop(index=excluded.index)
    return PreparedLog(sess, pn, shoes_in, until,
                       excluded.reset_index(drop=True)[list(EXCLUDED_COLUMNS)])


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
    at = until.index.get_indexer(athlete.to_numpy())
    end = until.to_numpy(dtype="datetime64[ns]")[at]
    end[at < 0] = np.datetime64("NaT")
    return pd.Series(end, index=athlete.index, dtype="datetime64[ns]")


def _sessions(frame: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    n = len(frame)
    opt = {c: frame[c] if c in frame else pd.Series(default, index=frame.index)
           for c, default in (("rpe", np.nan), ("time_known", True), ("cadence_spm", np.nan))}
    out = pd.DataFrame({
        "athlete": pd.Categorical(frame["athlete"], categories=names),
        # categories: every grouping and comparison then works on small integer codes
        "tz": pd.Categorical(frame["tz"]),
        "kind": pd.Categorical(frame["kind"]),
        "shoe": pd.Categorical(frame["shoe"]),
        "surface": pd.Categorical(frame["surface"]),
        "start_utc": frame["start_utc"],
        "time_known": opt["time_known"].astype(bool).to_numpy(),
        "duration_s": pd.to_numeric(frame["duration_s"], errors="coerce").to_numpy("float64"),
        "rpe": pd.to_numeric(opt["rpe"], errors="coerce").to_numpy("float64"),
        "cadence_spm": pd.to_numeric(opt["cadence_spm"], errors="coerce").to_numpy("float64"),
        "day": local_dates(frame) if n else pd.Series(dtype="datetime64[ns]"),
        "km": pd.to_numeric(frame["distance_m"], errors="coerce").to_numpy("float64") / 1000.0,
    }, index=frame.index)
    out["minutes"] = out["duration_s"] / 60.0
    out["is_run"] = (out["kind"] == "run") & (out["km"] > 0)
    if not out.empty and not _sorted(out):
        out = out.sort_values(["athlete", "start_utc"], kind="stable")
    return out


def _sorted(frame: pd.DataFrame) -> bool:
    """Whether `frame` is already in athlete and start order (as the store returns it)."""
    a = frame["athlete"].to_numpy()
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
        _overlaps(sess[~too_far & ~too_fast], float(check["overlap_s"])),
    ])
    return out.sort_values(["athlete", "start_utc"], kind="stable")


def _overlaps(sess: pd.DataFrame, overlap_s: float) -> pd.DataFrame:
    """Return the lesser of two same-kind sessions overlapping by more than `overlap_s`.

    The lesser has the shorter distance, else the shorter duration (the later
    one among equals).
    """
    timed = sess[sess["time_known"] & (sess["duration_s"] > 0)].sort_values(
        ["athlete", "kind", "start_utc"], kind="stable")
    start = timed["start_utc"]
    start_s = start.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
    stop_s = start_s + timed["duration_s"].to_numpy()
    same = ((timed["athlete"] == timed["athlete"].shift())
            & (timed["kind"] == timed["kind"].shift())).to_numpy()
    shared_s = np.full(len(timed), -np.inf)
    shared_s[1:] = np.minimum(stop_s[1:], stop_s[:-1]) - start_s[1:]
    pos = np.flatnonzero(same & (shared_s > overlap_s))
    size = (timed["km"].fillna(0.0) * 1e6 + timed["duration_s"]).to_numpy()
    drop_later = size[pos] <= size[pos - 1]
    lose = np.where(drop_later, pos, pos - 1)
    keep = np.where(drop_later, pos - 1, pos)
    out = timed.iloc[lose].assign(reason="overlap", value=shared_s[pos], limit=overlap_s,
                                  other_utc=start.iloc[keep].to_numpy())
    return out[~out.index.duplicated()]
