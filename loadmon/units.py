"""Parsing quantities typed by people: distances with units, durations, dates.

Pure functions; each raises `loadmon.types.InvalidValue` naming the field.
"""

from __future__ import annotations

import math
import re

from loadmon.types import InvalidValue

M_PER_UNIT = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "mile": 1609.344, "miles": 1609.344}
S_PER_UNIT = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0}
_QUANTITY = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*([a-zA-Z]*)\s*$")


def _split(field: str, text: str) -> tuple[float, str]:
    match = _QUANTITY.match(text)
    if match is None:
        raise InvalidValue(field, f"{text!r} is not a number with an optional unit")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise InvalidValue(field, f"{text!r} is not finite")
    if value < 0:
        raise InvalidValue(field, f"must not be negative (got {text.strip()})")
    return value, match.group(2).lower()


def parse_distance_m(text: str, default_unit: str = "km") -> float:
    """Parse a distance such as ``10``, ``10km``, ``6.2 mi`` or ``5000m`` into metres.

    Parameters
    ----------
    text : str
        The distance as typed.
    default_unit : str
        Unit of a bare number: ``km``, ``mi`` or ``m``.

    Returns
    -------
    float
        Distance in metres, rounded to the millimetre.
    """
    value, unit = _split("distance", text)
    unit = unit or default_unit
    if unit not in M_PER_UNIT:
        raise InvalidValue("distance", f"unknown unit {unit!r} (use km, mi or m)")
    return round(value * M_PER_UNIT[unit], 3)


def parse_duration_s(text: str) -> float:
    """Parse a duration such as ``55`` (minutes), ``55min``, ``1.5h``, ``45:30`` or ``1:05:00``.

    Parameters
    ----------
    text : str
        The duration as typed; a bare number is minutes, ``MM:SS`` and
        ``H:MM:SS`` are clock notation.

    Returns
    -------
    float
        Duration in seconds.
    """
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) > 3 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts):
            raise InvalidValue("duration", f"{text!r} is not MM:SS or H:MM:SS")
        seconds = 0.0
        for p in parts:
            seconds = seconds * 60 + float(p)
        return seconds
    value, unit = _split("duration", text)
    unit = unit or "min"
    if unit not in S_PER_UNIT:
        raise InvalidValue("duration", f"unknown unit {unit!r} (use s, min or h, or H:MM:SS)")
    return round(value * S_PER_UNIT[unit], 3)
