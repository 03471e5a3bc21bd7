"""Core value types shared by every layer, each defined once.

Pure data: no I/O, no database, no Bluetooth. Adapters build these; the pure
core (`loadmon.signal`, `loadmon.models`) consumes them; `loadmon.store`
persists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, get_args

Kind = Literal["run", "cross", "strength"]
Surface = Literal["road", "trail", "track", "treadmill", "grass", "other"]
PainWhen = Literal["morning", "during", "after"]

KINDS: tuple[str, ...] = get_args(Kind)
SURFACES: tuple[str, ...] = get_args(Surface)
PAIN_WHEN: tuple[str, ...] = get_args(PainWhen)

#: Sports that count as running (FIT ``sport`` names and their common aliases).
RUNNING_SPORTS: frozenset[str] = frozenset(
    {"running", "run", "trail_running", "treadmill_running", "track_running", "virtual_run"}
)


class InvalidValue(ValueError):
    """A value that cannot be stored: the message names the field and the problem."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field_name = field_name
        self.problem = problem


def _check_nonnegative(name: str, value: float | None) -> None:
    if value is None:
        return
    if not math.isfinite(value):
        raise InvalidValue(name, f"not a finite number ({value!r})")
    if value < 0:
        raise InvalidValue(name, f"must not be negative (got {value:g})")


def _check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise InvalidValue(name, f"{value!r} is not one of {', '.join(choices)}")


def check_utc(name: str, value: datetime) -> None:
    """Raise `InvalidValue` unless `value` is a timezone-aware UTC datetime.

    Parameters
    ----------
    name : str
        Field name used in the error message.
    value : datetime
        The timestamp to check.
    """
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise InvalidValue(name, "must be a timezone-aware UTC datetime")


def kind_for_sport(sport: str | None) -> Kind:
    """Map a sport name to a session kind: running sports are runs, the rest cross-training.

    Parameters
    ----------
    sport : str or None
        Sport name as found in an activity file (FIT ``sport``, GPX/TCX type).

    Returns
    -------
    Kind
        ``"run"`` for running sports, ``"strength"`` for strength training,
        ``"cross"`` otherwise (an unknown sport counts as cross-training).
    """
    if sport is None:
        return "cross"
    s = sport.strip().lower().replace(" ", "_")
    if s in RUNNING_SPORTS:
        return "run"
    if s in {"strength_training", "training_strength", "weight_training", "weighttraining"}:
        return "strength"
    return "cross"


@dataclass(frozen=True, slots=True)
class Session:
    """One training session of one athlete, as it enters the log.

    Attributes
    ----------
    start_utc : datetime
        Start, timezone-aware UTC.
    duration_s : float
        Moving (timer) duration in seconds.
    kind : {"run", "cross", "strength"}
        What the session counts as in the load model.
    distance_m : float or None
        Distance in metres, None when not measured (strength, swim without GPS).
    sport : str or None
        The sport as named by the source (``running``, ``cycling``, ...).
    shoe : str or None
        Name of the shoe worn (runs only).
    surface : str or None
        One of `SURFACES`.
    rpe : float or None
        Session rating of perceived exertion, 0-10 (Foster CR-10).
    source : str
        Where it came from: ``manual``, ``log_csv``, ``fit``, ``gpx``, ``tcx``,
        ``strava_csv``, ``replay``, ``ble``.
    device : str or None
        Recording device (manufacturer and product).
    cadence_spm : float or None
        Average cadence in steps per minute, both feet.
    stance_time_ms : float or None
        Average ground contact (stance) time in milliseconds.
    vertical_oscillation_mm : float or None
        Average vertical oscillation in millimetres.
    step_length_m : float or None
        Average step length in metres.
    avg_hr_bpm : float or None
        Average heart rate in beats per minute.
    impact_g : float or None
        Median peak impact of the run's foot contacts in g (resultant
        acceleration, sensor placement as recorded), from a sensor session.
    notes : str or None
        Free text.
    time_known : bool
        False when only the local date is known (a spreadsheet row without a
        time); `start_utc` is then local midnight of that date.
    distance_estimated : bool
        True when the distance is estimated (steps x step length), not measured.
    recording : str or None
        Reference to the raw recording file (content-hash name), when any.
    """

    start_utc: datetime
    duration_s: float
    kind: Kind
    distance_m: float | None = None
    sport: str | None = None
    shoe: str | None = None
    surface: str | None = None
    rpe: float | None = None
    source: str = "manual"
    device: str | None = None
    cadence_spm: float | None = None
    stance_time_ms: float | None = None
    vertical_oscillation_mm: float | None = None
    step_length_m: float | None = None
    avg_hr_bpm: float | None = None
    impact_g: float | None = None
    notes: str | None = None
    time_known: bool = True
    distance_estimated: bool = False
    recording: str | None = field(default=None)

    def __post_init__(self) -> None:
        check_utc("start_utc", self.start_utc)
        _check_choice("kind", self.kind, KINDS)
        _check_choice("surface", self.surface, SURFACES)
        _check_nonnegative("duration_s", self.duration_s)
        _check_nonnegative("distance_m", self.distance_m)
        for name in ("cadence_spm", "stance_time_ms", "vertical_oscillation_mm",
                     "step_length_m", "avg_hr_bpm", "impact_g"):
            _check_nonnegative(name, getattr(self, name))
        if self.rpe is not None and not (0 <= self.rpe <= 10):
            raise InvalidValue("rpe", f"must be between 0 and 10 (got {self.rpe:g})")


@dataclass(frozen=True, slots=True)
class PainEntry:
    """A pain score of one athlete on one local date.

    Attributes
    ----------
    date_local : datetime.date
        The athlete's local calendar date.
    score : float
        Pain 0-10 (numeric rating scale).
    when : {"morning", "during", "after"}
        Morning first steps, during a run, or 24 h after.
    site : str
        Body site, ``heel`` by default.
    notes : str or None
        Free text (red flags such as night pain or numbness belong here too).
    """

    date_local: date
    score: float
    when: PainWhen = "morning"
    site: str = "heel"
    notes: str | None = None

    def __post_init__(self) -> None:
        _check_choice("when", self.when, PAIN_WHEN)
        if not math.isfinite(self.score) or not (0 <= self.score <= 10):
            raise InvalidValue("score", f"pain must be between 0 and 10 (got {self.score!r})")
        if not self.site.strip():
            raise InvalidValue("site", "must not be empty")
