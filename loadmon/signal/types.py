"""Value types of the signal pipeline: `Recording` in, contacts and `GaitSummary` out.

And `finite_rows`, the row check of samples shared by the readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import numpy as np

Placement = Literal[
    "foot", "ankle", "shank", "lower_back", "hip", "wrist",
    "phone_hand", "phone_pocket", "phone_bag",
]
PLACEMENTS: tuple[str, ...] = get_args(Placement)
#: Placements whose sensor sees the impacts of one foot only.
SINGLE_FOOT: frozenset[str] = frozenset({"foot", "ankle", "shank"})

#: Columns of the contacts table (one row a foot contact).
CONTACT_COLUMNS = ("t_s", "side", "impact_g", "clipped", "contact_ms")


@dataclass(frozen=True, slots=True, eq=False)
class Recording:
    """Accelerations (and optionally angular rates) of one body-worn sensor.

    Attributes
    ----------
    t_s : numpy.ndarray
        Sample times in seconds, shape (N,), on the sensor's clock.
    acc_g : numpy.ndarray
        Accelerations in g including gravity, shape (N, 3), sensor axes.
    fs_hz : float
        Nominal sampling rate in Hz (timestamps may jitter or gap around it).
    placement : str
        One of `PLACEMENTS`.
    gyro_dps : numpy.ndarray or None
        Angular rates in deg/s, shape (N, 3), when the sensor has a gyroscope.
    start_utc : datetime or None
        UTC time of ``t_s == 0`` when known.
    side : {"left", "right"} or None
        Side of a single-foot sensor, when known.
    range_g : float or None
        The sensor's full-scale range (e.g. 16.0), to mark clipped impacts.
    device : str or None
        Sensor name.
    """

    t_s: np.ndarray
    acc_g: np.ndarray
    fs_hz: float
    placement: str
    gyro_dps: np.ndarray | None = None
    start_utc: datetime | None = None
    side: str | None = None
    range_g: float | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(
                f"placement {self.placement!r} is not one of {', '.join(PLACEMENTS)}"
            )
        if self.acc_g.ndim != 2 or self.acc_g.shape[1] != 3:
            raise ValueError(f"acc_g must be N x 3, got shape {self.acc_g.shape}")
        if self.t_s.shape != (self.acc_g.shape[0],):
            raise ValueError("t_s and acc_g must have the same number of samples")
        if self.gyro_dps is not None and self.gyro_dps.shape != self.acc_g.shape:
            raise ValueError("gyro_dps must have the shape of acc_g")
        if not 1.0 <= self.fs_hz <= 10_000.0:
            raise ValueError(f"fs_hz {self.fs_hz!r} is not a plausible sampling rate")

    @property
    def duration_s(self) -> float:
        """Time from the first finite timestamp to the latest one, in seconds.

        A sample without a finite timestamp is one the detector drops; one
        stepping back in time does not shorten the recording.
        """
        t = self.t_s[np.isfinite(self.t_s)]
        return float(t.max() - t[0]) if len(t) else 0.0


@dataclass(frozen=True, slots=True)
class GaitSummary:
    """Summary of the contacts of one recording.

    Attributes
    ----------
    contacts : int
        Foot contacts seen by the sensor.
    steps : int
        Steps of both feet (twice the contacts for a single-foot sensor).
    cadence_spm : float or None
        Steps per minute over the time spent moving (both feet).
    cadence_spm_per_min : tuple of float
        Cadence in each full minute of the recording, scaled to the time the
        minute has samples (0 while standing, NaN where under half of it has).
    impact_g_median, impact_g_iqr : float or None
        Median and interquartile range of the peak impact, g.
    contact_ms_median, contact_ms_iqr : float or None
        Median and interquartile range of ground contact time, ms.
    step_time_cv : float or None
        Coefficient of variation of the step (or stride) interval, a measure
        of variability.
    clipped : int
        Contacts whose impact reached the sensor's range.
    """

    contacts: int
    steps: int
    cadence_spm: float | None
    cadence_spm_per_min: tuple[float, ...]
    impact_g_median: float | None
    impact_g_iqr: float | None
    contact_ms_median: float | None
    contact_ms_iqr: float | None
    step_time_cv: float | None
    clipped: int


#: A gap between samples this long or longer is not bridged: the detector starts afresh
#: after it (a bridge would be seconds of invented samples, read as contacts where the
#: filters ring, and an hour-long one would allocate the whole hour); readers report it and
#: summaries leave it out of the time with samples.
MAX_BRIDGE_S = 1.0
#: Standard gravity, m/s^2 per g.
G_M_S2 = 9.80665
#: The median resultant of a body-worn sensor in g with gravity is about 1 g (0.9-2.5 g on
#: the real recordings): above this the values cannot be g including gravity.
MAX_MEDIAN_G = 4.9
#: `sampled_rows` keeps about this many samples, evenly spread.
UNITS_SAMPLES = 1 << 16


def sampled_rows(x: np.ndarray) -> np.ndarray:
    """Return about `UNITS_SAMPLES` rows of `x`, evenly spread, those with a NaN or inf left out.

    Parameters
    ----------
    x : numpy.ndarray
        Samples, shape (N, k).

    Returns
    -------
    numpy.ndarray
        The rows kept (a median or a spread needs no more).
    """
    some = x[:: max(1, len(x) // UNITS_SAMPLES)]
    return some[finite_rows(some)]


def median_resultant_g(acc_g: np.ndarray) -> float:
    """Median resultant acceleration over about `UNITS_SAMPLES` evenly spread rows.

    Parameters
    ----------
    acc_g : numpy.ndarray
        Accelerations, shape (N, 3); rows with a NaN or infinite value are skipped.

    Returns
    -------
    float
        The median of the finite rows' resultants; NaN without any.
    """
    with np.errstate(over="ignore"):  # a corrupted 1e300 is an inf among them
        norm = np.linalg.norm(sampled_rows(acc_g), axis=1)
    return float(np.median(norm)) if len(norm) else math.nan


def units_problem(median_g: float) -> str | None:
    """Say why accelerations cannot be in g including gravity, or None when they can.

    Parameters
    ----------
    median_g : float
        Their median resultant (`median_resultant_g`).

    Returns
    -------
    str or None
        A one-line reason naming the likely unit (m/s^2 or milli-g) when the
        median is above `MAX_MEDIAN_G`; None otherwise (or when it is NaN).
    """
    if not median_g > MAX_MEDIAN_G:
        return None
    if 7.0 <= median_g <= 30.0:
        return (f"accelerations look like m/s^2, not g: median |a| is {median_g:.3g} "
                f"(about 1 g expected, with gravity); divide them by {G_M_S2}")
    if 500.0 <= median_g <= 5000.0:
        return (f"accelerations look like milli-g, not g: median |a| is {median_g:.4g} "
                "(about 1 g expected, with gravity); divide them by 1000")
    return (f"median |a| is {median_g:.3g}: not accelerations in g of a body-worn sensor "
            "(about 1 g expected, with gravity)")


def timing_problem(t_s: np.ndarray, fs_hz: float) -> str | None:
    """Say why timestamps cannot be seconds at the nominal rate, or None when they can.

    Parameters
    ----------
    t_s : numpy.ndarray
        Sample times said to be in seconds, shape (N,).
    fs_hz : float
        The nominal rate they are said to follow.

    Returns
    -------
    str or None
        A one-line reason when the median interval between increasing
        timestamps is more than four times off the nominal period
        (milliseconds given as seconds, or the wrong rate).
    """
    some = t_s[:: max(1, len(t_s) // UNITS_SAMPLES)]
    step = np.diff(some[np.isfinite(some)]) / max(1, len(t_s) // UNITS_SAMPLES)
    step = step[step > 0]
    if not len(step):
        return None
    median_s = float(np.median(step))
    if 0.25 <= median_s * fs_hz <= 4.0:
        return None
    return (f"timestamps advance {median_s:.3g} s per sample, against {1.0 / fs_hz:.3g} s at "
            f"the nominal {fs_hz:g} Hz: not seconds, or not that rate")


def finite_rows(*arrays: np.ndarray | None) -> np.ndarray:
    """Return the mask of the rows whose values are finite in every array given.

    Parameters
    ----------
    *arrays : numpy.ndarray or None
        Arrays of the same length, of shape (n,) or (n, k); None is skipped.

    Returns
    -------
    numpy.ndarray
        Boolean mask of shape (n,). The common case, every value finite, is
        told by one pass over each array without building a per-row mask.
    """
    given = [a for a in arrays if a is not None]
    if all(np.isfinite(a).all() for a in given):
        return np.ones(len(given[0]) if given else 0, dtype=bool)
    ok = np.ones(len(given[0]), dtype=bool)
    for a in given:
        ok &= np.isfinite(a).reshape(len(a), -1).all(axis=1)
    return ok
