"""Summaries of detected contacts: steps, cadence, impact and contact time."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from loadmon.signal.types import MAX_BRIDGE_S, SINGLE_FOOT, GaitSummary, Recording

#: A step (both feet) longer than this is a pause, not a step (60 steps/min); the interval
#: between a single-foot sensor's contacts is a stride, twice as long.
MAX_STEP_S = 1.0
#: Inside a bout up to `MAX_MISSED` contacts in a row may be missing (a contact not
#: detected, a short dropout bridged): an interval within `FILL_TOLERANCE` of a whole
#: number of the bout's typical interval counts that many steps. Without this, five missed
#: contacts in a minute of running read 170 steps/min for 180.
MAX_MISSED = 2
FILL_TOLERANCE = 0.25
#: The bout's typical interval at each interval: the median of this many around it.
TYPICAL_OF = 9
#: A minute's cadence needs samples over this share of it (it is scaled to the time covered:
#: a dropout does not read as slower running); NaN below.
MIN_COVERAGE = 0.5


def _median_iqr(values: pd.Series) -> tuple[float | None, float | None]:
    """Median and interquartile range of the finite values (no spread of one value)."""
    v = values.to_numpy(dtype=np.float64, na_value=np.nan)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None, None
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return float(med), float(q3 - q1) if len(v) >= 2 else None


def _steps_in_intervals(dt: np.ndarray, limit_s: float) -> np.ndarray:
    """Count the steps in each interval between contacts: 0 for a pause, more for missed ones.

    Parameters
    ----------
    dt : numpy.ndarray
        Intervals between consecutive contacts, s.
    limit_s : float
        Longest interval of one step (or stride).
    """
    steady = pd.Series(np.where(dt <= limit_s, dt, np.nan))
    typical = steady.rolling(TYPICAL_OF, center=True, min_periods=1).median().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.maximum(np.rint(dt / typical), 1.0)
    n = np.nan_to_num(n, nan=1.0)
    one = (n == 1) & (dt <= limit_s)
    missed = (
        (n >= 2)
        & (n <= MAX_MISSED + 1)
        & (np.abs(dt - n * typical) <= FILL_TOLERANCE * typical)
        & (typical <= limit_s)
    )
    return np.where(one | missed, n, 0.0).astype(np.int64)


def segments_between_gaps(
    t_first_s: float, t_last_s: float, gap_after_s: np.ndarray, gap_s: np.ndarray, fs_hz: float
) -> np.ndarray:
    """Return the stretches of a recording that have samples, from its gaps.

    Parameters
    ----------
    t_first_s, t_last_s : float
        Its first and last sample, s.
    gap_after_s, gap_s : numpy.ndarray
        Where each gap of `MAX_BRIDGE_S` or more starts (the sample before it)
        and how long it is, s, in time order.
    fs_hz : float
        Its sampling rate: a stretch ends one sample period after its last sample.

    Returns
    -------
    numpy.ndarray
        (k, 2) start and end times, s; a sample alone between gaps is left out.
    """
    starts = np.concatenate(([t_first_s], np.asarray(gap_after_s) + np.asarray(gap_s)))
    ends = np.concatenate((gap_after_s, [t_last_s]))
    alone = ends <= starts
    return np.column_stack((starts, ends + 1.0 / fs_hz))[~alone]


def sample_segments(rec: Recording) -> np.ndarray:
    """Return the stretches of a recording that have samples (see `segments_between_gaps`)."""
    t = np.unique(rec.t_s[np.isfinite(rec.t_s)])
    if not len(t):
        return np.empty((0, 2))
    dt = np.diff(t)
    gap = np.flatnonzero(dt >= MAX_BRIDGE_S)
    return segments_between_gaps(t[0], t[-1], t[gap], dt[gap], rec.fs_hz)


def _per_minute(t: np.ndarray, segments_s: np.ndarray, per_contact: int) -> list[float]:
    """Cadence in each full minute from the first stretch with samples (see `summarize`)."""
    if not len(segments_s):
        return []
    t0, t1 = segments_s[0, 0], segments_s[-1, 1]
    edges = t0 + 60.0 * np.arange(math.floor((t1 - t0) / 60.0 + 1e-9) + 1)
    if len(edges) < 2:
        return []
    # time with samples up to each edge: it grows along a stretch, stays flat over a gap
    lengths = segments_s[:, 1] - segments_s[:, 0]
    done = np.cumsum(lengths)
    covered = np.diff(np.interp(edges, segments_s.ravel(),
                                np.column_stack((done - lengths, done)).ravel()))
    counts = np.histogram(t, bins=edges)[0]
    return [60.0 * per_contact * c / s if s >= MIN_COVERAGE * 60.0 else float("nan")
            for c, s in zip(counts.tolist(), covered.tolist(), strict=True)]


def summarize(
    contacts: pd.DataFrame, rec: Recording, segments_s: np.ndarray | None = None
) -> GaitSummary:
    """Summarize the contacts of a recording.

    Cadence counts both feet: a single-foot sensor (foot, ankle, shank) sees
    every other step, so its contacts count twice. Overall cadence is taken
    over the time spent moving: an interval longer than `MAX_STEP_S` per step
    is a pause and left out, unless it spans a whole number (up to three) of
    the bout's typical interval, when the contacts missed in it count. Per-minute
    cadence counts the steps in each full minute of the samples, scaled to the
    time the minute has samples (0 while standing; NaN under `MIN_COVERAGE`).
    Contacts without a finite time, and repeats of one time, are left out.

    Parameters
    ----------
    contacts : pandas.DataFrame
        Contacts as returned by `loadmon.signal.detect_contacts`.
    rec : Recording
        The recording they came from.
    segments_s : numpy.ndarray, optional
        The (start, end) times of its stretches with samples
        (`segments_between_gaps`), when `rec` holds only its placement and
        rate (a file streamed in constant memory); by default from its samples.

    Returns
    -------
    GaitSummary
        Counts, cadence, impact and contact-time statistics.
    """
    per_contact = 2 if rec.placement in SINGLE_FOOT else 1
    times = contacts["t_s"].to_numpy(dtype=np.float64, na_value=np.nan)
    kept = contacts[np.isfinite(times)].drop_duplicates("t_s").sort_values("t_s")
    t = kept["t_s"].to_numpy(dtype=np.float64)
    dt = np.diff(t)
    n = _steps_in_intervals(dt, MAX_STEP_S * per_contact)
    cadence = float(60.0 * per_contact * n.sum() / dt[n > 0].sum()) if n.sum() else None
    single = dt[n == 1]
    impact_med, impact_iqr = _median_iqr(kept["impact_g"])
    contact_med, contact_iqr = _median_iqr(kept["contact_ms"])
    return GaitSummary(
        contacts=len(t),
        steps=per_contact * len(t),
        cadence_spm=cadence,
        cadence_spm_per_min=tuple(_per_minute(
            t, sample_segments(rec) if segments_s is None else segments_s, per_contact)),
        impact_g_median=impact_med,
        impact_g_iqr=impact_iqr,
        contact_ms_median=contact_med,
        contact_ms_iqr=contact_iqr,
        step_time_cv=float(np.std(single) / np.mean(single)) if len(single) >= 2 else None,
        clipped=int(kept["clipped"].sum()),
    )
