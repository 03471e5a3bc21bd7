"""Summaries of detected contacts: steps, cadence, impact and contact time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loadmon.signal.types import SINGLE_FOOT, GaitSummary, Recording

#: Intervals longer than this (per contact of one foot, or per step) are pauses, not steps.
MAX_STRIDE_S = 2.0
MAX_STEP_S = 1.2


def _median_iqr(values: pd.Series) -> tuple[float | None, float | None]:
    v = values.dropna().to_numpy(dtype=np.float64)
    if len(v) == 0:
        return None, None
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return float(med), float(q3 - q1)


def summarize(contacts: pd.DataFrame, rec: Recording) -> GaitSummary:
    """Summarize the contacts of a recording.

    Cadence counts both feet: a single-foot sensor (foot, ankle, shank) sees
    every other step, so its contacts count twice. Overall cadence is taken
    over the time spent moving (pauses of more than 2 s between contacts of
    one foot, 1.2 s between steps, are left out); per-minute cadence counts
    the steps in each full minute of the recording.

    Parameters
    ----------
    contacts : pandas.DataFrame
        Contacts as returned by `loadmon.signal.detect_contacts`.
    rec : Recording
        The recording they came from.

    Returns
    -------
    GaitSummary
        Counts, cadence, impact and contact-time statistics.
    """
    per_contact = 2 if rec.placement in SINGLE_FOOT else 1
    t = np.sort(contacts["t_s"].to_numpy(dtype=np.float64))
    dt = np.diff(t)
    moving = dt[dt <= (MAX_STRIDE_S if per_contact == 2 else MAX_STEP_S)]
    cadence = 60.0 * per_contact * len(moving) / moving.sum() if moving.sum() > 0 else None
    per_min: list[float] = []
    finite = rec.t_s[np.isfinite(rec.t_s)]
    if len(finite):
        t0 = float(finite[0])
        minutes = int(rec.duration_s // 60)
        counts = np.bincount(
            ((t - t0) // 60).astype(np.int64)[(t >= t0) & (t < t0 + 60 * minutes)],
            minlength=minutes,
        )[:minutes]
        per_min = [float(c * per_contact) if c else float("nan") for c in counts]
    impact_med, impact_iqr = _median_iqr(contacts["impact_g"])
    contact_med, contact_iqr = _median_iqr(contacts["contact_ms"])
    cv = float(np.std(moving) / np.mean(moving)) if len(moving) >= 2 else None
    return GaitSummary(
        contacts=len(t),
        steps=per_contact * len(t),
        cadence_spm=cadence,
        cadence_spm_per_min=tuple(per_min),
        impact_g_median=impact_med,
        impact_g_iqr=impact_iqr,
        contact_ms_median=contact_med,
        contact_ms_iqr=contact_iqr,
        step_time_cv=cv,
        clipped=int(contacts["clipped"].sum()),
    )
