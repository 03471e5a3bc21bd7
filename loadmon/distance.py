"""Distance of a run from its steps: the athlete's own step length, else a height-based default.

Pure (numpy and pandas, no I/O): the caller reads the athlete's runs and
height from the store.

Step length
-----------
1. **Calibrated**: from the athlete's runs with a measured distance (not
   itself estimated) and a cadence, step length = distance / (cadence x
   minutes); the median of the most recent `CALIBRATION_RUNS` such runs,
   values outside `PLAUSIBLE_STEP_M` left out (a wrong distance or cadence).
2. **Height-based default**: `RUN_STEP_PER_HEIGHT` x height. Recreational
   runners at their preferred easy pace, 2.9 m/s, took about 173 steps/min
   (Heiderscheit et al. 2011, Med Sci Sports Exerc 43:296-302, 45 runners):
   2.9 / (173 / 60) = 1.0 m a step, 0.57 of a 1.75 m runner's height. The
   pedometer convention, walking step 0.413-0.415 x height and running
   steps 30-45 % longer at an easy pace, gives 0.54-0.60 x height, around
   the same value.
3. **Population default**: `POPULATION_STEP_M` (1.0 m, the same study's
   mean) when the height is not known either.

Running step length depends on speed much more than on height (Cavanagh and
Kram 1989, Med Sci Sports Exerc 21:467-479: stride length only weakly
related to leg length at a given speed), so the defaults are rough (about
+-15 % at easy paces, more for fast running); one run with a known distance
replaces them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CALIBRATION_RUNS",
    "PLAUSIBLE_STEP_M",
    "POPULATION_STEP_M",
    "RUN_STEP_PER_HEIGHT",
    "StepLength",
    "calibrated_step_length",
    "step_length",
]

#: Running step length over body height at an easy pace (see the module docstring).
RUN_STEP_PER_HEIGHT = 0.57
#: Running step length without a height, m (Heiderscheit et al. 2011: 2.9 m/s at 173 steps/min).
POPULATION_STEP_M = 1.0
#: Most recent runs whose step lengths are combined.
CALIBRATION_RUNS = 10
#: Step lengths outside this range (m) come from a wrong distance or cadence and are left out.
PLAUSIBLE_STEP_M = (0.4, 2.5)


@dataclass(frozen=True, slots=True)
class StepLength:
    """A step length and where it came from.

    Attributes
    ----------
    m : float
        Step length, m (one step: both feet count).
    basis : {"calibrated", "height", "population"}
        From the athlete's runs, from their height, or the population default.
    runs : int
        Runs it was calibrated from (0 for a default).
    height_cm : float or None
        The height used, for ``basis == "height"``.
    """

    m: float
    basis: str
    runs: int = 0
    height_cm: float | None = None

    def describe(self) -> str:
        """Return one line saying what the step length is and where it came from."""
        if self.basis == "calibrated":
            runs = f"{self.runs} run{'s' if self.runs != 1 else ''}"
            return f"step length {self.m:.2f} m, calibrated from {runs} with a known distance"
        if self.basis == "height":
            return (
                f"step length {self.m:.2f} m, a default for a height of {self.height_cm:g} cm "
                f"({RUN_STEP_PER_HEIGHT:g} x height); a run with a known distance calibrates it"
            )
        return (
            f"step length {self.m:.2f} m, the population default (no height known: "
            "loadmon athlete set NAME --height-cm CM); a run with a known distance calibrates it"
        )


def calibrated_step_length(runs: pd.DataFrame, recent: int = CALIBRATION_RUNS) -> StepLength | None:
    """Return the median step length of an athlete's recent runs with a known distance.

    Parameters
    ----------
    runs : pandas.DataFrame
        Sessions with columns ``start_utc``, ``kind``, ``distance_m``,
        ``distance_estimated``, ``cadence_spm`` and ``duration_s`` (as from
        `loadmon.store.Store.sessions_frame`).
    recent : int
        How many of the most recent usable runs to combine.

    Returns
    -------
    StepLength or None
        ``basis == "calibrated"``; None when no run has a measured distance,
        a cadence and a plausible step length.
    """
    if runs.empty:
        return None
    distance = pd.to_numeric(runs["distance_m"], errors="coerce").to_numpy(dtype=np.float64)
    cadence = pd.to_numeric(runs["cadence_spm"], errors="coerce").to_numpy(dtype=np.float64)
    minutes = pd.to_numeric(runs["duration_s"], errors="coerce").to_numpy(dtype=np.float64) / 60
    measured = ~runs["distance_estimated"].fillna(False).astype(bool).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        step = distance / (cadence * minutes)
    usable = (
        (runs["kind"].to_numpy() == "run")
        & measured
        & np.isfinite(step)
        & (step >= PLAUSIBLE_STEP_M[0])
        & (step <= PLAUSIBLE_STEP_M[1])
    )
    if not usable.any():
        return None
    starts = pd.to_datetime(runs["start_utc"], utc=True).to_numpy()[usable]
    order = np.argsort(starts, kind="stable")
    latest = step[usable][order][-recent:]
    return StepLength(float(np.median(latest)), "calibrated", runs=len(latest))


def step_length(runs: pd.DataFrame, height_cm: float | None) -> StepLength:
    """Return the step length to estimate a run's distance with: calibrated, else a default.

    Parameters
    ----------
    runs : pandas.DataFrame
        The athlete's sessions (see `calibrated_step_length`).
    height_cm : float or None
        The athlete's height, cm, when known.

    Returns
    -------
    StepLength
        Calibrated from the runs when possible, else ``RUN_STEP_PER_HEIGHT``
        x height, else `POPULATION_STEP_M`.
    """
    calibrated = calibrated_step_length(runs)
    if calibrated is not None:
        return calibrated
    if height_cm is not None and math.isfinite(height_cm) and height_cm > 0:
        return StepLength(RUN_STEP_PER_HEIGHT * height_cm / 100.0, "height", height_cm=height_cm)
    return StepLength(POPULATION_STEP_M, "population")
