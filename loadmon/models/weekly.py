"""Daily and weekly totals of the training log, in each athlete's own time zone.

Pure pandas: a sessions DataFrame in (as `loadmon.store.Store.sessions_frame`
returns it), DataFrames out.
"""

from __future__ import annotations

import pandas as pd

WEEK_COLUMNS = [
    "athlete", "week", "week_start", "run_km", "runs", "long_run_km", "run_min",
    "cross_min", "strength_sessions", "sessions",
]


def local_dates(frame: pd.DataFrame) -> pd.Series:
    """Return each session's calendar date in its athlete's time zone.

    Parameters
    ----------
    frame : pandas.DataFrame
        Sessions with a UTC-aware ``start_utc`` and an IANA ``tz`` column.

    Returns
    -------
    pandas.Series
        Naive midnight timestamps of the local dates, aligned with `frame`.
    """
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for tz, idx in frame.groupby("tz").groups.items():
        local = frame.loc[idx, "start_utc"].dt.tz_convert(str(tz))
        out.loc[idx] = local.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    return out


def weekly_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Total each athlete's sessions per ISO week (Monday to Sunday, local time).

    Weeks without sessions between an athlete's first and last week appear with
    zeros, so ramps and charts see the rest weeks.

    Parameters
    ----------
    frame : pandas.DataFrame
        Sessions: ``athlete``, ``tz``, ``start_utc``, ``kind``, ``distance_m``,
        ``duration_s``.

    Returns
    -------
    pandas.DataFrame
        One row per athlete and week with `WEEK_COLUMNS`: ``week`` is the ISO
        week label (``2026-W07``), ``week_start`` its Monday; distances in km,
        durations in minutes.
    """
    if frame.empty:
        return pd.DataFrame(columns=WEEK_COLUMNS)
    day = local_dates(frame)
    df = pd.DataFrame({
        "athlete": frame["athlete"].to_numpy(),
        "week_start": (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).to_numpy(),
        "is_run": (frame["kind"] == "run").to_numpy(),
        "km": frame["distance_m"].astype("float64").fillna(0.0).to_numpy() / 1000.0,
        "minutes": frame["duration_s"].astype("float64").to_numpy() / 60.0,
        "is_cross": (frame["kind"] == "cross").to_numpy(),
        "is_strength": (frame["kind"] == "strength").to_numpy(),
    })
    df["run_km"] = df["km"].where(df["is_run"], 0.0)
    df["run_min"] = df["minutes"].where(df["is_run"], 0.0)
    df["cross_min"] = df["minutes"].where(df["is_cross"], 0.0)
    grouped = df.groupby(["athlete", "week_start"])
    weeks = pd.DataFrame({
        "run_km": grouped["run_km"].sum(),
        "runs": grouped["is_run"].sum().astype("int64"),
        "long_run_km": grouped["run_km"].max(),
        "run_min": grouped["run_min"].sum(),
        "cross_min": grouped["cross_min"].sum(),
        "strength_sessions": grouped["is_strength"].sum().astype("int64"),
        "sessions": grouped.size().astype("int64"),
    })
    full = []
    for athlete, part in weeks.groupby(level="athlete"):
        starts = part.index.get_level_values("week_start")
        span = pd.date_range(starts.min(), starts.max(), freq="7D", name="week_start")
        full.append(
            part.droplevel("athlete").reindex(span, fill_value=0).assign(athlete=athlete)
        )
    out = pd.concat(full).reset_index()
    iso = out["week_start"].dt.isocalendar()
    out["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    out["week_start"] = out["week_start"].dt.date
    return out[WEEK_COLUMNS].reset_index(drop=True)
