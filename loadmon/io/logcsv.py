"""The training-log CSV: the spreadsheet many runners keep, read and written losslessly.

Columns (headers case-insensitive, any order): ``date`` (ISO date or date-time),
``kind`` (run / cross / strength), ``distance_km`` or ``distance_mi``,
``duration_min``, ``shoe``, ``surface``, ``rpe``, ``notes``, and ``sport``
(optional: what the cross-training was). Only ``date`` and ``kind`` are
required. A date without a time is a local calendar date of the athlete; a
date-time without an offset is local time of the athlete; with an offset it is
converted to UTC.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from loadmon.io.errors import FileFormatError
from loadmon.types import InvalidValue, Session

M_PER_MI = 1609.344
COLUMNS = ("date", "kind", "distance_km", "distance_mi", "duration_min", "shoe", "surface",
           "rpe", "notes", "sport")
EXPORT_COLUMNS = ("date", "kind", "distance_km", "duration_min", "shoe", "surface", "rpe",
                  "sport", "notes")
REQUIRED = ("date", "kind")


def _header(raw: list[str]) -> list[str]:
    names = [h.strip().lower().lstrip("\ufeff") for h in raw]
    dupes = sorted(n for n, c in Counter(names).items() if c > 1)
    if dupes:
        raise FileFormatError(f"column {dupes[0]!r} appears more than once")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        hint = ""
        if any(n in {"distance", "dist", "km", "miles", "mi"} for n in unknown):
            hint = " (say the unit in the header: distance_km or distance_mi)"
        elif any(n in {"duration", "time", "duration_s", "duration_h"} for n in unknown):
            hint = " (durations are given in minutes: duration_min)"
        raise FileFormatError(
            f"unknown column {unknown[0]!r}{hint}; expected columns: {', '.join(COLUMNS)}"
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise FileFormatError(f"missing column {missing[0]!r}")
    if "distance_km" in names and "distance_mi" in names:
        raise FileFormatError("give distance_km or distance_mi, not both")
    return names


def _number(field: str, text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidValue(field, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidValue(field, f"{text!r} is not a finite number")
    return value


def parse_when(text: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Parse an ISO date or date-time into a UTC start and whether the time is known.

    Parameters
    ----------
    text : str
        ``2026-03-01``, ``2026-03-01T07:30``, ``2026-03-01 07:30:00+01:00``, ...
    zone : ZoneInfo
        The athlete's time zone, for dates and naive date-times.

    Returns
    -------
    tuple of (datetime, bool)
        The start in UTC and True when a time of day was given; a bare date is
        local midnight with False.
    """
    text = text.strip()
    if not text:
        raise InvalidValue("date", "is empty")
    try:
        if len(text) <= 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC), False
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue("date", f"{text!r} is not an ISO date (YYYY-MM-DD[THH:MM])") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC), True


def _row_session(row: dict[str, str], zone: ZoneInfo) -> Session:
    start, time_known = parse_when(row.get("date", ""), zone)
    kind = row.get("kind", "").strip().lower()
    distance_m = None
    if (km := _number("distance_km", row.get("distance_km", ""))) is not None:
        distance_m = round(km * 1000.0, 3)
    if (mi := _number("distance_mi", row.get("distance_mi", ""))) is not None:
        distance_m = round(mi * M_PER_MI, 3)
    minutes = _number("duration_min", row.get("duration_min", ""))
    surface = row.get("surface", "").strip().lower() or None
    return Session(
        start_utc=start,
        time_known=time_known,
        duration_s=0.0 if minutes is None else round(minutes * 60.0, 3),
        kind=kind,  # type: ignore[arg-type] - checked by Session
        distance_m=distance_m,
        sport=row.get("sport", "").strip() or None,
        shoe=row.get("shoe", "").strip() or None,
        surface=surface,
        rpe=_number("rpe", row.get("rpe", "")),
        notes=row.get("notes", "").strip() or None,
        source="log_csv",
    )


def read_log_csv(data: bytes, zone: ZoneInfo) -> list[tuple[Session, str]]:
    """Read a training-log CSV into sessions, each with its row checksum.

    The row checksum (values plus the occurrence number of identical rows)
    makes importing the same spreadsheet twice add nothing.

    Parameters
    ----------
    data : bytes
        The file's content (UTF-8, optionally with a byte-order mark).
    zone : ZoneInfo
        The athlete's time zone.

    Returns
    -------
    list of (Session, str)
        Sessions in file order with their checksums.

    Raises
    ------
    FileFormatError
        Unknown or missing columns, undecodable text, or an invalid value
        (the message names the row and the field).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        raw_header = next(reader)
    except StopIteration:
        raise FileFormatError("empty file: expected a header row") from None
    names = _header(raw_header)
    out: list[tuple[Session, str]] = []
    seen: Counter[str] = Counter()
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            raise FileFormatError(
                f"row {line_no}: {len(cells)} values for {len(names)} columns"
            )
        row = dict(zip(names, cells, strict=True))
        try:
            session = _row_session(row, zone)
        except InvalidValue as exc:
            raise FileFormatError(f"row {line_no}, {exc}") from None
        key = "\x1f".join(f"{n}={row[n].strip()}" for n in sorted(names))
        seen[key] += 1
        digest = hashlib.sha256(f"{key}\x1e{seen[key]}".encode()).hexdigest()
        out.append((session, digest))
    return out


def _fmt(value: float | None, scale: float) -> str:
    # 7 decimals of km or minutes resolve 0.1 mm and 6 us: reading back (rounded
    # to mm and ms) gives the stored value exactly, without 46.13333333333333.
    if value is None:
        return ""
    return f"{value / scale:.7f}".rstrip("0").rstrip(".")


def write_log_csv(sessions: Sequence[Session], zone: ZoneInfo) -> str:
    """Write sessions as a training-log CSV that `read_log_csv` reads back unchanged.

    Distances are written in km; dates in the athlete's local time with their
    UTC offset (a bare date where no time was known).

    Parameters
    ----------
    sessions : sequence of Session
        The sessions, in the order to write.
    zone : ZoneInfo
        The athlete's time zone.

    Returns
    -------
    str
        The CSV text with a header row.
    """
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180: quotes fields holding \r or \n
    writer.writerow(EXPORT_COLUMNS)
    for s in sessions:
        local = s.start_utc.astimezone(zone)
        writer.writerow([
            local.isoformat() if s.time_known else local.date().isoformat(),
            s.kind,
            _fmt(s.distance_m, 1000.0),
            _fmt(s.duration_s, 60.0),
            s.shoe or "",
            s.surface or "",
            _fmt(s.rpe, 1.0),
            s.sport or "",
            s.notes or "",
        ])
    return buf.getvalue()
