"""The sport vocabulary of activity files: names, Strava GPX type codes, cadence units.

Shared by the GPX, TCX and Strava readers: every source's sport name is mapped
to a FIT-like name (``running``, ``trail_running``, ``cycling``,
``strength_training``, ...) that `loadmon.types.kind_for_sport` understands.
"""

from __future__ import annotations

import math
import re

#: Numeric ``<trk><type>`` codes written by Strava's GPX export (older exports;
#: newer ones write words such as ``running``). Strava does not document them; these
#: are the ones seen in real exports: 1 Ride, 2 AlpineSki, 4 Hike, 9 Run, 10 Walk,
#: 16 Swim, 23 Rowing. Other numbers give no sport (the caller's hint decides).
STRAVA_GPX_TYPE_CODES: dict[str, str] = {
    "1": "cycling",
    "2": "alpine_skiing",
    "4": "hiking",
    "9": "running",
    "10": "walking",
    "16": "swimming",
    "23": "rowing",
}

#: Names that say nothing about the sport.
_VAGUE_SPORTS = frozenset(
    {"", "other", "generic", "unknown", "uncategorized", "all", "none", "activity", "sport"}
)

#: Sport names from Strava (display names, API ``sport_type`` names), Garmin Connect
#: (``typeKey``), TCX ``Sport`` and phone apps, snake-cased, to FIT-like sport names.
_SPORT_ALIASES: dict[str, str] = {
    # running (the names `loadmon.types.RUNNING_SPORTS` counts as runs)
    "run": "running",
    "running": "running",
    "street_running": "running",
    "road_running": "running",
    "trail_run": "trail_running",
    "trail_running": "trail_running",
    "treadmill": "treadmill_running",
    "treadmill_running": "treadmill_running",
    "indoor_running": "treadmill_running",
    "track_running": "track_running",
    "virtual_run": "virtual_run",
    "virtual_running": "virtual_run",
    # cycling
    "ride": "cycling",
    "cycling": "cycling",
    "biking": "cycling",
    "bike": "cycling",
    "road_biking": "cycling",
    "road_cycling": "cycling",
    "mountain_bike_ride": "cycling",
    "mountain_biking": "cycling",
    "gravel_ride": "cycling",
    "gravel_cycling": "cycling",
    "virtual_ride": "cycling",
    "indoor_cycling": "cycling",
    "cyclocross": "cycling",
    "velomobile": "cycling",
    "handcycle": "cycling",
    "e_bike_ride": "e_biking",
    "ebike_ride": "e_biking",
    "e_mountain_bike_ride": "e_biking",
    "emountain_bike_ride": "e_biking",
    "e_biking": "e_biking",
    # on foot, not running
    "walk": "walking",
    "walking": "walking",
    "casual_walking": "walking",
    "speed_walking": "walking",
    "hike": "hiking",
    "hiking": "hiking",
    "snowshoe": "snowshoeing",
    # water
    "swim": "swimming",
    "swimming": "swimming",
    "lap_swimming": "swimming",
    "pool_swim": "swimming",
    "open_water_swimming": "swimming",
    "rowing": "rowing",
    "virtual_row": "rowing",
    "indoor_rowing": "rowing",
    "canoeing": "paddling",
    "kayaking": "kayaking",
    "stand_up_paddling": "stand_up_paddleboarding",
    "surfing": "surfing",
    "windsurf": "windsurfing",
    "kitesurf": "kitesurfing",
    "sail": "sailing",
    # gym
    "weight_training": "strength_training",
    "weighttraining": "strength_training",
    "strength": "strength_training",
    "strength_training": "strength_training",
    "workout": "training",
    "training": "training",
    "indoor_cardio": "training",
    "crossfit": "crossfit",
    "high_intensity_interval_training": "hiit",
    "hiit": "hiit",
    "yoga": "yoga",
    "pilates": "pilates",
    "elliptical": "elliptical",
    "stair_stepper": "stair_climbing",
    "stair_climbing": "stair_climbing",
    # snow, ice, wheels, rock
    "alpine_ski": "alpine_skiing",
    "backcountry_ski": "backcountry_skiing",
    "nordic_ski": "cross_country_skiing",
    "roller_ski": "roller_skiing",
    "snowboard": "snowboarding",
    "ice_skate": "ice_skating",
    "inline_skate": "inline_skating",
    "skateboard": "skateboarding",
    "rock_climb": "rock_climbing",
    "rock_climbing": "rock_climbing",
}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\s\-/]+")


def normalize_sport(name: str | None) -> str | None:
    """Map a sport name from an activity file or export to a FIT-like sport name.

    Understands Strava's display names (``Weight Training``, ``Virtual Run``),
    its API names (``TrailRun``, ``EBikeRide``), the numeric codes of its GPX
    export (`STRAVA_GPX_TYPE_CODES`), Garmin Connect type keys
    (``trail_running``, ``lap_swimming``) and TCX ``Sport`` values
    (``Running``, ``Biking``, ``Other``).

    Parameters
    ----------
    name : str or None
        The sport as the source names it.

    Returns
    -------
    str or None
        A FIT-like name (``running``, ``trail_running``, ``cycling``,
        ``swimming``, ``walking``, ``hiking``, ``strength_training``, ...);
        an unknown name is returned snake-cased as it is; None when the
        name says nothing (empty, ``Other``, ``generic``, an unknown number).
    """
    if name is None:
        return None
    text = name.strip()
    if text.isdigit():
        return STRAVA_GPX_TYPE_CODES.get(str(int(text)))
    key = _SEPARATORS.sub("_", _CAMEL_BOUNDARY.sub("_", text)).lower().strip("_")
    if key in _VAGUE_SPORTS:
        return None
    return _SPORT_ALIASES.get(key, key)


#: Average running cadences at or above this many per minute are taken as steps
#: (both feet) already, below it as strides (one foot). 120 strides/min would be a
#: 240 steps/min session average, beyond what runners sustain.
STRIDES_LIMIT_PER_MIN = 120.0


def steps_per_min(cadence_per_min: float | None) -> float | None:
    """Turn an average running cadence as stored by Garmin or Strava into steps per minute.

    Garmin's ``cad`` / ``RunCadence`` and Strava's running cadence count one
    foot (strides per minute: 85 for a runner taking 170 steps a minute), so
    they are doubled. A value that is already steps per minute (some apps
    write it so) is recognised by its size (`STRIDES_LIMIT_PER_MIN`) and kept.

    Parameters
    ----------
    cadence_per_min : float or None
        Average cadence as stored in the file.

    Returns
    -------
    float or None
        Steps per minute counting both feet; None when not measured (None,
        not finite, or not positive).
    """
    if cadence_per_min is None or not math.isfinite(cadence_per_min) or cadence_per_min <= 0:
        return None
    if cadence_per_min >= STRIDES_LIMIT_PER_MIN:
        return float(cadence_per_min)
    return 2.0 * float(cadence_per_min)
