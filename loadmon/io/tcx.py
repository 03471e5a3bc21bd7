"""Reading Garmin Training Center XML (TCX v2) activity files into sessions.

Parsed with ``defusedxml.ElementTree`` with document type declarations
forbidden, so XML bombs and external entities are refused before anything is
expanded. Elements of the TrainingCenterDatabase v2 namespace are looked up
by their qualified names; the ActivityExtension v2 elements (``LX``, ``TPX``)
by local name, since exporters bind them to any prefix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from loadmon.io.errors import FileFormatError
from loadmon.io.sports import normalize_sport, steps_per_min
from loadmon.types import Session, kind_for_sport

__all__ = ["TCX_NS", "parse_tcx"]

#: Namespace of TrainingCenterDatabase v2.
TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
_TCX_V1_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v1"


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _time(text: str | None) -> datetime | None:
    """Parse an xsd:dateTime; a time without an offset is taken as UTC."""
    if not text or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _ext_values(elements: Iterable[Element], local_name: str) -> list[float]:
    """Values of extension elements with that local name, any namespace."""
    out = []
    for el in elements:
        if _local(el.tag) == local_name:
            value = _float(el.text)
            if value is not None:
                out.append(value)
    return out


def _weighted_mean(pairs: list[tuple[float, float]]) -> float | None:
    """Mean of values weighted by durations; plain mean when no duration is positive."""
    if not pairs:
        return None
    weight = sum(w for _, w in pairs if w > 0)
    if weight > 0:
        return sum(v * w for v, w in pairs if w > 0) / weight
    return sum(v for v, _ in pairs) / len(pairs)


class _Reader:
    """Qualified-name lookups in one document's namespace."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, name: str) -> str:
        """Qualified tag, ``a/b`` paths allowed."""
        if not self.ns:
            return name
        return "/".join(f"{{{self.ns}}}{part}" for part in name.split("/"))

    def hr(self, parent: Element, name: str) -> float | None:
        value = _float(parent.findtext(self.q(f"{name}/Value")))
        return value if value is not None and value > 0 else None

    def session(self, activity: Element, sport_hint: str | None) -> Session | None:
        q = self.q
        laps = activity.findall(q("Lap"))
        if not laps:
            return None
        sport = normalize_sport(activity.get("Sport")) or normalize_sport(sport_hint)
        kind = kind_for_sport(sport)

        duration_s = 0.0
        distance_m: float | None = None
        hr_pairs: list[tuple[float, float]] = []
        run_cad_pairs: list[tuple[float, float]] = []
        lap_cad_pairs: list[tuple[float, float]] = []
        for lap in laps:
            lap_s = _float(lap.findtext(q("TotalTimeSeconds")))
            if lap_s is None or lap_s < 0:
                raise FileFormatError("a Lap without a valid TotalTimeSeconds")
            duration_s += lap_s
            lap_m = _float(lap.findtext(q("DistanceMeters")))
            if lap_m is not None and lap_m >= 0:
                distance_m = (distance_m or 0.0) + lap_m
            if (hr := self.hr(lap, "AverageHeartRateBpm")) is not None:
                hr_pairs.append((hr, lap_s))
            ext = lap.find(q("Extensions"))
            if ext is not None:
                for cad in _ext_values(ext.iter(), "AvgRunCadence"):
                    run_cad_pairs.append((cad, lap_s))
            if (cad := _float(lap.findtext(q("Cadence")))) is not None:
                lap_cad_pairs.append((cad, lap_s))

        points = list(activity.iter(q("Trackpoint")))
        start = _time(activity.findtext(q("Id"))) or _time(laps[0].get("StartTime"))
        if start is None:
            start = next((t for p in points if (t := _time(p.findtext(q("Time"))))), None)
        if start is None:
            raise FileFormatError("an Activity without a start time (Id or Lap StartTime)")

        avg_hr = _weighted_mean(hr_pairs)
        if avg_hr is None:
            values = [v for p in points if (v := self.hr(p, "HeartRateBpm")) is not None]
            avg_hr = sum(values) / len(values) if values else None

        cadence = None
        if kind == "run":
            strides = _weighted_mean(run_cad_pairs)
            if strides is None:
                tpx = [v for p in points
                       for v in _ext_values(p.iter(), "RunCadence") if v > 0]
                strides = sum(tpx) / len(tpx) if tpx else None
            if strides is None:
                strides = _weighted_mean(lap_cad_pairs)
            if strides is None:
                plain = [v for p in points
                         if (v := _float(p.findtext(q("Cadence")))) is not None and v > 0]
                strides = sum(plain) / len(plain) if plain else None
            cadence = steps_per_min(strides)

        device = (activity.findtext(q("Creator/Name")) or "").strip() or None
        notes = (activity.findtext(q("Notes")) or "").strip() or None
        return Session(
            start_utc=start,
            duration_s=duration_s,
            kind=kind,
            distance_m=distance_m,
            sport=sport,
            source="tcx",
            device=device,
            cadence_spm=cadence,
            avg_hr_bpm=avg_hr,
            notes=notes,
        )


def parse_tcx(data: bytes, *, sport_hint: str | None = None) -> list[Session]:
    """Read the activities of a TCX file as sessions, one per activity or multisport leg.

    Decisions:

    - ``duration_s``: the sum of the laps' ``TotalTimeSeconds`` (the timer
      time: pauses excluded); ``distance_m``: the sum of their
      ``DistanceMeters`` (None when no lap has one).
    - ``start_utc``: the Activity ``Id`` (a start time in Garmin's files),
      else the first Lap's ``StartTime``, else the first Trackpoint's time.
    - ``sport``: ``Running`` -> ``running``, ``Biking`` -> ``cycling``;
      ``Other`` names nothing, so `sport_hint` or None.
    - ``cadence_spm`` (runs only): the laps' ``AvgRunCadence`` (Activity
      Extension v2 ``LX``) weighted by lap time, else the Trackpoints'
      ``RunCadence`` (``TPX``, zeros while standing left out), else a plain
      ``Cadence`` element as some exporters write for runs; these count one
      foot, so they are doubled (see `steps_per_min`). A ride's ``Cadence``
      is pedal rpm and never becomes a running cadence.
    - ``avg_hr_bpm``: the laps' ``AverageHeartRateBpm`` weighted by lap time,
      else the mean of the Trackpoints' ``HeartRateBpm``.
    - ``device``: ``Creator/Name`` (``Forerunner 255``); ``notes``: ``Notes``.
    - A ``MultiSportSession`` gives one session per leg (``FirstSport``,
      ``NextSport``); the transitions between legs are not sessions and their
      time counts in none.

    Parameters
    ----------
    data : bytes
        The TCX file content.
    sport_hint : str, optional
        Sport to assume for activities whose ``Sport`` is ``Other``.

    Returns
    -------
    list of Session
        In file order (source ``tcx``).

    Raises
    ------
    FileFormatError
        Empty or not XML; a DOCTYPE (XML bombs, external entities); not a TCX
        v2 document; no activity with laps; a lap without its time.
    """
    if not data.strip():
        raise FileFormatError("empty file")
    try:
        root = DET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise FileFormatError(
            "XML with a document type declaration (DOCTYPE) refused: "
            "entity declarations are how XML bombs and external-entity attacks work"
        ) from None
    except ParseError as exc:
        raise FileFormatError(f"not well-formed XML ({exc})") from None
    tag = str(root.tag)
    ns = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    if _local(tag) != "TrainingCenterDatabase":
        raise FileFormatError(f"not a TCX file (root element <{_local(tag)}>)")
    if ns == _TCX_V1_NS:
        raise FileFormatError("TrainingCenterDatabase v1 is not supported (expected v2)")
    if ns not in (TCX_NS, ""):
        raise FileFormatError(f"not a TCX v2 file (namespace {ns!r})")
    reader = _Reader(ns)
    activities = root.find(reader.q("Activities"))
    if activities is None:
        raise FileFormatError("no activities (a course or workout file?)")
    sessions = [
        s for act in activities.iter(reader.q("Activity"))
        if (s := reader.session(act, sport_hint)) is not None
    ]
    if not sessions:
        raise FileFormatError("no activity with laps")
    return sessions
