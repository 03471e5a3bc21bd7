"""Reading a Strava bulk export's ``activities.csv``, and the sport vocabulary of activity files.

A Strava bulk export (Settings > My Account > Download or delete your account)
is a zip with ``activities.csv`` and the original uploads under
``activities/`` (``.fit.gz``, ``.gpx.gz``, ``.tcx.gz``, ...). The CSV names
every activity once; activities entered by hand have no file, so the CSV row
is all there is of them.

The CSV has changed over the years; this reader handles:

- the current English layout (2019 on): ``Activity ID``, ``Activity Date``
  (``"Feb 6, 2013, 12:11:14 PM"``, UTC), ``Activity Name``, ``Activity Type``
  (display names: ``Run``, ``Weight Training``, ``Virtual Run``, ...),
  ``Elapsed Time`` (s), ``Distance``, ..., ``Filename``, and from about 2020 a
  second block of columns repeating ``Elapsed Time``, ``Distance`` (now in
  metres), ``Max Heart Rate``, ``Relative Effort`` and ``Commute``, followed
  by ``Moving Time``, ``Average Heart Rate``, ``Average Cadence``,
  ``Perceived Exertion``, ... Columns are looked up by name, so added,
  removed or reordered optional columns do not matter;
- the older lower-case layout (``id, date, name, type, description,
  elapsed_time, distance, commute, gear, filename``; ``date`` as
  ``2018-09-12 15:02:23`` UTC, ``distance`` in metres).

Strava writes the header (and the dates and decimal separators) in the
account's language; only English exports are read, a localized one is
refused with a message saying so.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from loadmon.io.errors import FileFormatError
from loadmon.io.sports import normalize_sport, steps_per_min
from loadmon.types import Session, kind_for_sport

__all__ = ["StravaActivity", "read_strava_activities"]

# --------------------------------------------------------------------------------------
# activities.csv
# --------------------------------------------------------------------------------------

#: Columns without which a row cannot be read.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "Activity ID", "Activity Date", "Activity Type", "Elapsed Time", "Filename",
)

#: The pre-2019 lower-case header, mapped to the current names.
_LEGACY_COLUMNS: dict[str, str] = {
    "id": "Activity ID",
    "date": "Activity Date",
    "name": "Activity Name",
    "type": "Activity Type",
    "description": "Activity Description",
    "elapsed_time": "Elapsed Time",
    "moving_time": "Moving Time",
    "distance": "Distance",
    "gear": "Activity Gear",
    "filename": "Filename",
}

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}

#: ``Feb 6, 2013, 12:11:14 PM`` (2019 on), read without the process locale.
_ENGLISH_DATE = re.compile(
    r"([A-Za-z]{3})[A-Za-z]*\.? (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2}) ?([AaPp][Mm])"
)
#: ``2018-09-12 15:02:23`` (before 2019), also with a ``T`` and a ``Z``.
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})Z?")

#: Sports for which Strava itself reports elapsed rather than moving time.
_ELAPSED_TIME_SPORTS = frozenset(
    {"strength_training", "yoga", "pilates", "training", "hiit", "crossfit"}
)

#: Sports whose first-block ``Distance`` Strava writes in metres, not kilometres.
_METRE_SPORTS = frozenset({"swimming"})


@dataclass(frozen=True, slots=True)
class StravaActivity:
    """One row of a Strava ``activities.csv``.

    Attributes
    ----------
    activity_id : int
        Strava's activity id (stable across exports: use it as the import key).
    activity_type : str
        The type as Strava names it (``Run``, ``Weight Training``, ...).
    sport : str or None
        The type as a FIT-like sport name (see `normalize_sport`): ``running``,
        ``trail_running``, ``virtual_run``, ``cycling``, ``swimming``,
        ``walking``, ``hiking``, ``strength_training``, ``training``, ...
    filename : str or None
        Path of the uploaded file inside the export (``activities/123.fit.gz``);
        None for activities entered by hand.
    name : str or None
        The activity's title.
    session : Session or None
        The session the row itself describes (source ``strava_csv``): the
        only record of an activity entered by hand. For an activity with a
        file it is a summary; prefer the file's session. None only for an
        activity with a file whose row lacks a value the file will give.
    """

    activity_id: int
    activity_type: str
    sport: str | None
    filename: str | None
    name: str | None
    session: Session | None


def _number(text: str | None) -> float | None:
    """Parse an English-formatted number (``1,234.5``); None when empty or not a number."""
    if text is None:
        return None
    t = text.strip().replace(",", "")
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_date(text: str) -> datetime | None:
    """Parse ``Activity Date`` (UTC) in either layout; None when it is neither."""
    t = " ".join(text.split())
    try:
        if m := _ENGLISH_DATE.fullmatch(t):
            month = _MONTHS.get(m.group(1).lower())
            if month is None:
                return None
            hour = int(m.group(4)) % 12 + (12 if m.group(7).lower() == "pm" else 0)
            return datetime(int(m.group(3)), month, int(m.group(2)), hour,
                            int(m.group(5)), int(m.group(6)), tzinfo=UTC)
        if m := _ISO_DATE.fullmatch(t):
            return datetime(*(int(g) for g in m.groups()), tzinfo=UTC)  # type: ignore[misc]
    except ValueError:  # day or time out of range
        return None
    return None


class _Row:
    """Access to one CSV record by column name, choosing among repeated headers."""

    def __init__(self, columns: dict[str, list[int]], record: list[str]) -> None:
        self._columns = columns
        self._record = record

    def first(self, name: str) -> str | None:
        """Value of the first column of that name; None when absent or empty."""
        return self._get(name, 0)

    def last(self, name: str) -> str | None:
        """Value of the last column of that name (the SI block for repeated headers)."""
        return self._get(name, -1)

    def _get(self, name: str, which: int) -> str | None:
        idx = self._columns.get(name)
        if not idx:
            return None
        i = idx[which]
        if i >= len(self._record):
            return None
        value = self._record[i].strip()
        return value or None


def _header_map(header: list[str]) -> tuple[dict[str, list[int]], bool]:
    """Column name -> positions (repeated names keep all positions), and the legacy flag."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    legacy = "Activity ID" not in names and "id" in names
    columns: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        key = _LEGACY_COLUMNS.get(name, name) if legacy else name
        columns.setdefault(key, []).append(i)
    return columns, legacy


def _distance_m(row: _Row, columns: dict[str, list[int]], legacy: bool,
                sport: str | None) -> float | None:
    """Distance in metres: the SI block's ``Distance`` when the header repeats it."""
    positions = columns.get("Distance", [])
    if len(positions) >= 2:
        return _number(row.last("Distance"))
    value = _number(row.first("Distance"))
    if value is None or legacy or sport in _METRE_SPORTS:
        return value
    return value * 1000.0


def _row_session(row: _Row, columns: dict[str, list[int]], legacy: bool,
                 start: datetime, sport: str | None, name: str | None) -> Session:
    """Build the session one row describes; raise ValueError naming the bad value."""
    kind = kind_for_sport(sport)
    elapsed_s = _number(row.last("Elapsed Time"))
    if elapsed_s is None:
        elapsed_s = _number(row.first("Elapsed Time"))
    if elapsed_s is None:
        raise ValueError("no Elapsed Time")
    moving_s = _number(row.first("Moving Time"))
    duration_s = elapsed_s
    if moving_s is not None and moving_s > 0 and sport not in _ELAPSED_TIME_SPORTS:
        duration_s = moving_s
    distance_m = _distance_m(row, columns, legacy, sport)
    if distance_m is not None and distance_m <= 0:
        distance_m = None  # Strava writes 0 for "no distance" (gym, manual entries)
    avg_hr = _number(row.last("Average Heart Rate"))
    cadence = steps_per_min(_number(row.first("Average Cadence"))) if kind == "run" else None
    rpe = _number(row.first("Perceived Exertion"))
    if rpe is not None and not 0 <= rpe <= 10:
        rpe = None
    gear = row.first("Activity Gear")
    return Session(
        start_utc=start,
        duration_s=duration_s,
        kind=kind,
        distance_m=distance_m,
        sport=sport,
        shoe=gear if kind == "run" else None,
        rpe=rpe,
        source="strava_csv",
        cadence_spm=cadence,
        avg_hr_bpm=avg_hr if avg_hr is not None and avg_hr > 0 else None,
        notes=name,
    )


def read_strava_activities(data: bytes) -> list[StravaActivity]:
    """Read the rows of a Strava bulk export's ``activities.csv``.

    Every row gives a `StravaActivity` with the sport mapped to a FIT-like
    name and, where the row allows, a `Session` built from the row itself
    (source ``strava_csv``): the one record of an activity entered by hand.

    Decisions, per row:

    - ``start_utc``: ``Activity Date``, which Strava writes in UTC.
    - ``duration_s``: ``Moving Time`` (what Strava shows for runs and rides)
      when present and positive, else ``Elapsed Time``; for strength
      training, yoga, pilates, workouts, HIIT and CrossFit ``Elapsed Time``,
      as Strava itself reports them.
    - ``distance_m``: the metre column of the second block when the header
      repeats ``Distance``; otherwise the single ``Distance`` column, which
      is in kilometres (metres for swims and in the old lower-case layout).
      Zero means "no distance" and gives None.
    - ``cadence_spm``: ``Average Cadence`` for runs only, doubled (Strava
      stores running cadence per foot; see `steps_per_min`).
    - ``shoe``: ``Activity Gear`` for runs; ``rpe``: ``Perceived Exertion``
      (Strava's 1-10 scale); ``notes``: ``Activity Name``.

    Parameters
    ----------
    data : bytes
        The content of ``activities.csv`` (UTF-8, with or without a BOM).

    Returns
    -------
    list of StravaActivity
        One per row, in file order.

    Raises
    ------
    FileFormatError
        Empty or not UTF-8 text; required columns missing (the message names
        them, and says so when the header is localized); a row whose id, date
        or type cannot be read; an activity without a file whose duration
        cannot be read.
    """
    if not data.strip():
        raise FileFormatError("empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if "\x00" in text:
        raise FileFormatError("not a CSV text file (contains NUL bytes)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        records = list(reader)
    except csv.Error as exc:
        raise FileFormatError(f"not a readable CSV file ({exc})") from None
    columns, legacy = _header_map(header)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        hint = ""
        if any(not h.isascii() for h in header[:5]):
            hint = (f" (header starts {', '.join(header[:3])!r}: a localized export? "
                    "set Strava's language to English and export again)")
        raise FileFormatError(
            f"not a Strava activities.csv: missing column(s) {', '.join(missing)}{hint}"
        )

    out: list[StravaActivity] = []
    for number, record in enumerate(records, start=2):
        if not any(field.strip() for field in record):
            continue
        row = _Row(columns, record)
        raw_id = row.first("Activity ID") or ""
        try:
            activity_id = int(raw_id)
        except ValueError:
            raise FileFormatError(
                f"row {number}: Activity ID {raw_id!r} is not a number"
            ) from None
        raw_date = row.first("Activity Date") or ""
        start = _parse_date(raw_date)
        if start is None:
            raise FileFormatError(
                f"activity {activity_id}: cannot read Activity Date {raw_date!r}"
            )
        activity_type = row.first("Activity Type")
        if activity_type is None:
            raise FileFormatError(f"activity {activity_id}: no Activity Type")
        sport = normalize_sport(activity_type)
        filename = row.first("Filename")
        name = row.first("Activity Name")
        try:
            session: Session | None = _row_session(row, columns, legacy, start, sport, name)
        except ValueError as exc:  # includes InvalidValue from Session
            if filename is None:
                raise FileFormatError(f"activity {activity_id}: {exc}") from None
            session = None
        out.append(StravaActivity(
            activity_id=activity_id,
            activity_type=activity_type,
            sport=sport,
            filename=filename,
            name=name,
            session=session,
        ))
    return out
