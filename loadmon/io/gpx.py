"""Reading GPX activity files (Garmin Connect, Strava, phone apps) into sessions.

GPX is parsed with gpxpy, but only after a guard has refused any document
type declaration: every XML entity attack (billion laughs, quadratic blowup,
external entities) needs a ``<!DOCTYPE>``, and GPX never uses one. The guard
is a bare expat pass with no element handlers, run on exactly the text gpxpy
then parses. Measured on a one-hour 1 Hz Garmin GPX (3,600 points, 0.8 MB):
gpxpy 110-145 ms; the guard 4-6 ms (+4 %); a defusedxml pre-parse instead
would cost 40-60 ms (+40 %, it builds a whole tree in Python callbacks), and a
defusedxml tree cannot be handed to gpxpy, which parses text.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers import expat

import gpxpy
import gpxpy.gpx
import numpy as np

from loadmon.io.errors import FileFormatError
from loadmon.io.sports import normalize_sport, steps_per_min
from loadmon.types import Session, kind_for_sport

__all__ = [
    "EARTH_RADIUS_M",
    "OTHER_STOP_SPEED_MPS",
    "RUN_STOP_SPEED_MPS",
    "decode_xml",
    "haversine_m",
    "parse_gpx",
    "reject_doctype",
]

#: Mean Earth radius (IUGG), metres, for haversine distances.
EARTH_RADIUS_M = 6_371_008.8

#: Below this speed a runner counts as stopped: Strava's documented moving threshold
#: for runs, a 30 min/mile pace (1609.344 m / 1800 s = 0.894 m/s).
RUN_STOP_SPEED_MPS = 1609.344 / 1800.0

#: Below this speed any other sport counts as stopped: 1 km/h, gpxpy's default.
OTHER_STOP_SPEED_MPS = 1.0 / 3.6

#: Local names of heart-rate and cadence elements in point extensions: Garmin
#: TrackPointExtension v1/v2 (``hr``, ``cad``) and Cluetrust gpxdata (``hr``,
#: ``cadence``); ``heartrate`` as some phone apps write it.
_HR_TAGS = frozenset({"hr", "heartrate"})
_CAD_TAGS = frozenset({"cad", "cadence"})

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


class _Refused(Exception):
    """Raised inside expat callbacks to stop at a document type declaration."""


def decode_xml(data: bytes) -> str:
    """Decode the bytes of an XML file to text as an XML parser would.

    The byte-order mark decides first, then the ``encoding`` of the XML
    declaration, then UTF-8.

    Parameters
    ----------
    data : bytes
        The file content.

    Returns
    -------
    str
        The text, without a byte-order mark.

    Raises
    ------
    FileFormatError
        Empty, an unknown encoding, or bytes not valid in the encoding.
    """
    if not data.strip():
        raise FileFormatError("empty file")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        match = _XML_ENCODING.match(data[:256])
        encoding = match.group(1).decode("ascii") if match else "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise FileFormatError(f"unknown text encoding {encoding!r}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"not {encoding} text (bad byte at offset {exc.start}): not an XML file?"
        ) from None
    return text.lstrip("\ufeff")


def reject_doctype(text: str) -> str:
    """Check that `text` is well-formed XML without a document type declaration.

    A bare expat pass (no element handlers, so fast) that stops at the start
    of a ``<!DOCTYPE``, before any entity is declared, let alone expanded.
    Entity declarations and references to external entities are only
    possible inside a DOCTYPE, so refusing it refuses them all.

    Parameters
    ----------
    text : str
        The decoded document (see `decode_xml`).

    Returns
    -------
    str
        The local name of the root element.

    Raises
    ------
    FileFormatError
        A DOCTYPE (a possible XML bomb or external-entity attack), or XML
        that is not well formed.
    """
    parser = expat.ParserCreate()
    root: list[str] = []

    def refuse(*_args: object) -> None:
        raise _Refused

    def first_element(name: str, _attrs: object) -> None:
        root.append(name.rpartition(":")[2])
        parser.StartElementHandler = None

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = first_element
    try:
        parser.Parse(text, True)
    except _Refused:
        raise FileFormatError(
            "XML with a document type declaration (DOCTYPE) refused: "
            "entity declarations are how XML bombs and external-entity attacks work"
        ) from None
    except expat.ExpatError as exc:
        raise FileFormatError(f"not well-formed XML ({exc})") from None
    return root[0] if root else ""


def haversine_m(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Great-circle distances between consecutive points, in metres.

    Parameters
    ----------
    lat_deg, lon_deg : numpy.ndarray
        Latitudes and longitudes in degrees (WGS84), same length n.

    Returns
    -------
    numpy.ndarray
        The n - 1 distances on a sphere of radius `EARTH_RADIUS_M`.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    dlat = np.diff(lat)
    dlon = np.diff(lon)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2].lower()


def _extension_values(point: gpxpy.gpx.GPXTrackPoint) -> tuple[float, float]:
    """Heart rate and cadence of a point from its extensions (NaN when absent)."""
    hr = cad = math.nan
    for ext in point.extensions:
        for el in ext.iter():
            name = _local(el.tag)
            if name in _HR_TAGS or name in _CAD_TAGS:
                try:
                    value = float((el.text or "").strip())
                except ValueError:
                    continue
                if not math.isfinite(value):
                    continue
                if name in _HR_TAGS:
                    hr = value
                else:
                    cad = value
    return hr, cad


def _utc(value: datetime) -> datetime:
    """GPX times are UTC; an offset is honoured, a naive time is taken as UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass
class _Totals:
    """Running sums over the segments of one track."""

    distance_m: float = 0.0
    moving_s: float = 0.0
    start: datetime | None = None
    hr_sum: float = 0.0
    hr_weight: float = 0.0
    cad_sum: float = 0.0
    cad_weight: float = 0.0
    hr_all: list[float] = field(default_factory=list)
    cad_all: list[float] = field(default_factory=list)
    timed_points: int = 0


def _interval_values(values: np.ndarray) -> np.ndarray:
    """Value over each interval: the mean of its two ends, or the one end measured."""
    a, b = values[:-1], values[1:]
    both = (a + b) / 2
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, both))


def _weighted(values: np.ndarray, dt_s: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """Sum of value x duration and sum of durations over the measured moving intervals."""
    v = _interval_values(values)
    w = np.where(moving & ~np.isnan(v), dt_s, 0.0)
    return float(np.sum(np.where(w > 0, v, 0.0) * w)), float(w.sum())


def _add_segment(points: list[gpxpy.gpx.GPXTrackPoint], stop_speed_mps: float,
                 totals: _Totals) -> None:
    if len(points) >= 2:
        lat = np.array([p.latitude for p in points], dtype=float)
        lon = np.array([p.longitude for p in points], dtype=float)
        totals.distance_m += float(np.nansum(haversine_m(lat, lon)))
    timed = [p for p in points if p.time is not None]
    if not timed:
        return
    times = [_utc(p.time) for p in timed]  # type: ignore[arg-type]
    first = min(times)
    totals.start = first if totals.start is None else min(totals.start, first)
    totals.timed_points += len(timed)
    values = np.array([_extension_values(p) for p in timed], dtype=float).reshape(-1, 2)
    hr, cad = values[:, 0], values[:, 1]
    totals.hr_all.extend(hr[~np.isnan(hr)].tolist())
    totals.cad_all.extend(cad[~np.isnan(cad)].tolist())
    if len(timed) < 2:
        return
    t_s = np.array([t.timestamp() for t in times], dtype=float)
    dt_s = np.diff(t_s)
    step_m = haversine_m(np.array([p.latitude for p in timed], dtype=float),
                         np.array([p.longitude for p in timed], dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt_s > 0, step_m / dt_s, 0.0)
    moving = (dt_s > 0) & (speed >= stop_speed_mps)
    totals.moving_s += float(dt_s[moving].sum())
    hr_sum, hr_weight = _weighted(hr, dt_s, moving)
    cad_sum, cad_weight = _weighted(cad, dt_s, moving)
    totals.hr_sum += hr_sum
    totals.hr_weight += hr_weight
    totals.cad_sum += cad_sum
    totals.cad_weight += cad_weight


def _mean(total: float, weight: float, fallback: list[float]) -> float | None:
    if weight > 0:
        return total / weight
    return float(np.mean(fallback)) if fallback else None


def _device(creator: str | None) -> str | None:
    """Return the recording device named by ``creator``, not an exporting service."""
    if not creator or not creator.strip():
        return None
    name = creator.strip()
    if name.startswith("StravaGPX"):
        return name.removeprefix("StravaGPX").strip() or None  # "StravaGPX iPhone"
    if name.lower() in {"garmin connect", "strava", "strava.com"}:
        return None
    return name


def parse_gpx(data: bytes, *, sport_hint: str | None = None) -> list[Session]:
    """Read the tracks of a GPX file as sessions, one per track with timed points.

    Decisions:

    - ``start_utc``: the earliest point time of the track (GPX times are UTC;
      an explicit offset is honoured, a time without one is taken as UTC).
    - ``duration_s``: moving time, what Strava shows for runs and what
      `Session` stores. A GPX carries no timer events, so it is computed from
      the points: the sum of the intervals between consecutive timed points
      whose 2-D speed is at least `RUN_STOP_SPEED_MPS` (Strava's run
      threshold, a 30 min/mile pace) for runs, `OTHER_STOP_SPEED_MPS`
      (1 km/h) otherwise. Standing at a light drops out, and so does a
      device pause (no points for a while, then a point close by). A pause
      that covered ground fast (a lift in a car) would count; GPS loss while
      running (a tunnel) counts, as it should. Intervals between segments
      never count.
    - ``distance_m``: the 2-D haversine length of each segment (mean Earth
      radius), summed; the gap between one segment's last point and the
      next one's first is not counted. gpxpy's ``length_2d`` uses a flat
      approximation on the equatorial radius, 0.11 % longer.
    - ``sport``: the track's ``<type>`` mapped by `normalize_sport` (Strava
      writes ``running`` or numeric codes such as ``9``; Garmin Connect its
      type keys such as ``trail_running``); else `sport_hint`; else None.
    - ``avg_hr_bpm`` and ``cadence_spm``: time-weighted over the moving
      intervals from Garmin TrackPointExtension v1/v2 ``hr`` and ``cad``
      (Cluetrust ``gpxdata`` too). Cadence is kept for runs only: ``cad``
      counts one foot there (strides per minute), so it is doubled (see
      `steps_per_min`); for other sports, and when the sport is unknown, it
      may be pedal rpm, so it is not a running cadence.
    - ``device``: the ``creator`` attribute unless it names a service
      (``Garmin Connect``, ``StravaGPX`` alone); ``notes``: the track name.

    Parameters
    ----------
    data : bytes
        The GPX file content.
    sport_hint : str, optional
        Sport to assume for tracks without a ``<type>`` (for example the
        ``Activity Type`` of a Strava export's ``activities.csv``).

    Returns
    -------
    list of Session
        One session per track with timed points, in file order (source ``gpx``).

    Raises
    ------
    FileFormatError
        Empty or not XML; a DOCTYPE (XML bombs, external entities); not a GPX
        document; no track with timed points (routes and waypoints only).
    """
    text = decode_xml(data)
    root = reject_doctype(text)
    if root != "gpx":
        raise FileFormatError(f"not a GPX file (root element <{root}>)")
    try:
        gpx = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError, TypeError) as exc:
        raise FileFormatError(f"not a valid GPX file ({exc})") from None
    device = _device(gpx.creator)
    sessions: list[Session] = []
    for track in gpx.tracks:
        sport = normalize_sport(track.type) or normalize_sport(sport_hint)
        kind = kind_for_sport(sport)
        stop_speed = RUN_STOP_SPEED_MPS if kind == "run" else OTHER_STOP_SPEED_MPS
        totals = _Totals()
        for segment in track.segments:
            _add_segment(segment.points, stop_speed, totals)
        if totals.start is None:
            continue
        cadence = None
        if kind == "run":
            cadence = steps_per_min(_mean(totals.cad_sum, totals.cad_weight, totals.cad_all))
        name = (track.name or "").strip() or None
        sessions.append(Session(
            start_utc=totals.start,
            duration_s=totals.moving_s,
            kind=kind,
            distance_m=totals.distance_m,
            sport=sport,
            source="gpx",
            device=device,
            cadence_spm=cadence,
            avg_hr_bpm=_mean(totals.hr_sum, totals.hr_weight, totals.hr_all),
            notes=name,
        ))
    if not sessions:
        raise FileFormatError("no timed track points")
    return sessions
