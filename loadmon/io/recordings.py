"""Read sensor recordings in the plain layout into a `Recording`, checked and repaired.

The plain layout (the one of ``../shared/data/recordings``) is a folder holding
``samples.csv`` or ``samples.csv.gz`` with a header and the columns

* ``t_s``: sample time in seconds;
* ``ax_g``, ``ay_g``, ``az_g``: accelerations in g, including gravity;
* ``gx_dps``, ``gy_dps``, ``gz_dps`` (optional, all three or none): angular
  rates in deg/s;

and optionally a ``meta.json`` beside it, of which ``fs_hz``, ``side`` and
``start_unix_s`` are used when present. Other columns and keys are ignored.
Compression is recognised by content (the gzip magic bytes), not by the name.

Checks and repairs (each repair is described in one human-readable note; the
helpers doing them are public and shared with `loadmon.io.exporters`):

* rows with a missing, non-numeric, NaN or infinite value in any column used are
  dropped;
* samples out of time order are sorted, when they are few (at most 1 % of the
  samples) and none steps back by more than 1 s; otherwise the file is refused
  (a clock reset or joined files cannot be repaired by sorting);
* samples whose timestamp repeats an earlier one are dropped (the first is
  kept), when they are at most 10 % of the samples; more means the timestamps
  are too coarse or not a time column, and the file is refused;
* gaps of 1 s or more are reported and left as they are: nothing is
  interpolated or invented;
* the nominal rate is the ``fs_hz`` argument, else ``fs_hz`` of meta.json,
  else 1 / median sample interval, rounded to 4 significant digits and snapped
  to the nearest integer when within 0.05 % of it (99.98 -> 100, 204.8 stays);
  a given rate more than 10 % away from the timestamps' rate is noted;
* units: the median resultant acceleration of a body-worn sensor in g with
  gravity is about 1 g (0.9-2.5 g measured on the real recordings). A median
  above 4.9 g means the values are not in g: m/s^2 (median near 9.8) or milli-g
  (near 1000). Such files are refused with a message that says so, never
  rescaled silently: the header claims g, so a rescale would be a guess about
  a file that is wrong in at least one way. A median below 0.3 g (gravity
  removed, or another unit) is kept with a note.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loadmon.io.errors import FileFormatError
from loadmon.signal.types import (
    MAX_BRIDGE_S,
    MAX_MEDIAN_G,
    Recording,
    finite_rows,
    median_resultant_g,
    sampled_rows,
    units_problem,
)

__all__ = [
    "ACC_COLUMNS",
    "GYRO_COLUMNS",
    "GZIP_MAGIC",
    "SNIFF_BYTES",
    "TIME_COLUMN",
    "PlainMeta",
    "StreamTimeRepair",
    "check_text_head",
    "check_units",
    "is_text",
    "nominal_rate",
    "numeric_column",
    "one_line",
    "read_plain_meta",
    "read_plain_recording",
    "repair_time",
    "report_gaps",
    "report_nonfinite",
    "round_rate",
    "samples_file",
    "stray_samples",
]

TIME_COLUMN = "t_s"
ACC_COLUMNS = ("ax_g", "ay_g", "az_g")
GYRO_COLUMNS = ("gx_dps", "gy_dps", "gz_dps")
#: File names looked up when the path is a recording folder, in this order.
SAMPLE_FILES = ("samples.csv.gz", "samples.csv")

#: Largest share of samples that may be out of time order and still be sorted.
MAX_UNORDERED_SHARE = 0.01
#: Largest step back in time (s) that sorting may repair.
MAX_STEP_BACK_S = 1.0
#: Largest share of samples with a repeated timestamp that may be dropped.
MAX_REPEATED_SHARE = 0.10
#: A given rate further than this (relative) from the timestamps' rate is noted.
RATE_MISMATCH_REL = 0.10
#: Median |a| below this (g) is noted as "gravity removed or not g".
MIN_MEDIAN_G = 0.3
#: `units_switch` reads the median resultant of blocks of this many samples.
UNITS_BLOCK = 1000
#: Accelerations whose every axis varies less than this (g, standard deviation) are noted as
#: stuck: a sensor at rest still has 1-5 mg of noise.
MIN_SPREAD_G = 0.0005
#: Plausible nominal rates, Hz (`Recording` accepts this range).
FS_RANGE_HZ = (1.0, 10_000.0)

#: Bytes read from the start of a file to check it is text.
SNIFF_BYTES = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"


def read_plain_recording(
    path: Path, placement: str, fs_hz: float | None = None
) -> tuple[Recording, list[str]]:
    """Read one recording of the plain layout, checking and repairing it.

    Parameters
    ----------
    path : Path
        ``samples.csv`` or ``samples.csv.gz`` (gzip recognised by content), or
        the recording folder holding one of them.
    placement : str
        Where the sensor was worn, one of `loadmon.signal.types.PLACEMENTS`.
    fs_hz : float, optional
        Nominal sampling rate in Hz. Default: ``fs_hz`` of a ``meta.json``
        beside the samples, else estimated from the timestamps (see the module
        docstring for the rounding).

    Returns
    -------
    recording : Recording
        Times in s (strictly increasing), accelerations in g (N x 3),
        angular rates in deg/s (N x 3) when the file has them; ``side`` and
        ``start_utc`` from meta.json when it gives them.
    notes : list of str
        One human-readable line per repair or finding (rows dropped, samples
        sorted, gaps, rate mismatch); empty for a clean file.

    Raises
    ------
    FileFormatError
        When the file cannot be used: empty, binary or not CSV, missing
        columns, fewer than two usable samples, timestamps that cannot be
        repaired, a rate outside 1-10,000 Hz, or values that are not in g
        (m/s^2, milli-g). The message is one line without the file name.
    OSError
        When the file cannot be opened.
    ValueError
        When `placement` is unknown or `fs_hz` is outside 1-10,000 Hz.
    """
    if fs_hz is not None and not (FS_RANGE_HZ[0] <= fs_hz <= FS_RANGE_HZ[1]):
        raise ValueError(f"fs_hz {fs_hz!r} is outside {FS_RANGE_HZ[0]:g}-{FS_RANGE_HZ[1]:g} Hz")
    samples = samples_file(Path(path))
    notes: list[str] = []
    meta = _read_meta(samples.parent / "meta.json", notes)

    table = _read_table(samples, notes)
    t_s, acc_g, gyro_dps, row_no = _columns(table, notes)
    t_s, acc_g, gyro_dps = repair_time(t_s, acc_g, gyro_dps, row_no, notes)

    dt_s = np.diff(t_s)
    rate_hz = _nominal_rate(dt_s, fs_hz, meta, notes)
    check_units(acc_g, notes)
    report_gaps(t_s, dt_s, notes)

    side = meta.get("side")
    return (
        Recording(
            t_s=t_s,
            acc_g=acc_g,
            fs_hz=rate_hz,
            placement=placement,
            gyro_dps=gyro_dps,
            start_utc=_start_utc(meta),
            side=side if side in ("left", "right") else None,
        ),
        notes,
    )


# --------------------------------------------------------------------------- reading


def samples_file(path: Path) -> Path:
    """Return the samples file: `path` itself, or the one inside a recording folder.

    Parameters
    ----------
    path : Path
        ``samples.csv``, ``samples.csv.gz`` or the folder holding one of them.

    Returns
    -------
    Path
        The file to read.

    Raises
    ------
    FileFormatError
        When `path` is a folder without a samples file.
    """
    if not path.is_dir():
        return path
    for name in SAMPLE_FILES:
        if (path / name).is_file():
            return path / name
    raise FileFormatError(f"folder without {' or '.join(SAMPLE_FILES)}")


@dataclass(frozen=True, slots=True)
class PlainMeta:
    """What a plain-layout recording's ``meta.json`` tells the readers.

    Attributes
    ----------
    fs_hz : float or None
        Its ``fs_hz`` when it is a plausible rate.
    side : {"left", "right"} or None
        Its ``side``.
    start_utc : datetime or None
        Its ``start_unix_s`` as a UTC time.
    """

    fs_hz: float | None = None
    side: str | None = None
    start_utc: datetime | None = None


def read_plain_meta(path: Path, notes: list[str]) -> PlainMeta:
    """Read the ``meta.json`` beside a plain-layout samples file, as `read_plain_recording` does.

    Parameters
    ----------
    path : Path
        The samples file, or the recording folder.
    notes : list of str
        Receives a line when meta.json is unreadable or its ``fs_hz`` implausible.

    Returns
    -------
    PlainMeta
        The keys used; all None without a usable meta.json.
    """
    samples = samples_file(Path(path))
    meta = _read_meta(samples.parent / "meta.json", notes)
    fs = meta.get("fs_hz")
    rate: float | None = None
    if isinstance(fs, int | float) and not isinstance(fs, bool):
        if FS_RANGE_HZ[0] <= fs <= FS_RANGE_HZ[1]:
            rate = float(fs)
        else:
            notes.append(f"ignored meta.json's fs_hz {fs!r}: not a plausible rate")
    side = meta.get("side")
    return PlainMeta(rate, side if side in ("left", "right") else None, _start_utc(meta))


def _read_meta(path: Path, notes: list[str]) -> dict[str, Any]:
    """Return the keys of meta.json that the reader uses; {} without a usable meta.json."""
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        notes.append("meta.json beside the samples is not readable JSON; ignored it")
        return {}
    if not isinstance(meta, dict):
        notes.append("meta.json beside the samples is not a JSON object; ignored it")
        return {}
    return meta


def _read_table(path: Path, notes: list[str]) -> pd.DataFrame:
    """Read the CSV (plain or gzip) into a DataFrame, refusing binary data.

    A row with another number of cells than the header (the last row of a
    file whose writer stopped mid-line) is dropped with a note.
    """
    with path.open("rb") as fh:
        magic = fh.read(2)
    compression = "gzip" if magic == GZIP_MAGIC else None
    try:
        if compression:
            with gzip.open(path, "rb") as fh:
                head = fh.read(SNIFF_BYTES)
        else:
            with path.open("rb") as fh:
                head = fh.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFormatError(f"corrupt gzip data ({one_line(exc)})") from exc
    check_text_head(head)
    ragged: list[Any] = []

    def skip(row: Any) -> str:  # pyarrow's InvalidRow: expected and actual cells, its text
        ragged.append(row)
        return "skip"

    try:
        table = pd.read_csv(path, engine="pyarrow", compression=compression, on_bad_lines=skip)
    except pd.errors.EmptyDataError as exc:  # a header without its line end
        raise FileFormatError("no samples: the file has a header only") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFormatError(f"corrupt gzip data ({one_line(exc)})") from exc
    except Exception as exc:  # pyarrow's ArrowInvalid, pandas' parser errors, decoding
        raise FileFormatError(f"not a readable CSV ({one_line(exc)})") from exc
    if ragged:
        row = ragged[0]
        notes.append(
            f"dropped {_count(len(ragged), 'row')} whose cells do not match the header's "
            f"{row.expected_columns} (first {_short(row.text)}, {row.actual_columns} cells: "
            "cut off mid-write?)"
        )
    return table


def check_text_head(head: bytes) -> None:
    """Refuse the start of a file that is empty or not UTF-8 text.

    Parameters
    ----------
    head : bytes
        The first bytes of the (decompressed) file, e.g. `SNIFF_BYTES` of them.

    Raises
    ------
    FileFormatError
        ``empty file: ...`` when it holds only white space, ``not a CSV text
        file (binary data)`` when it holds a NUL byte, ``not UTF-8 text ...``
        when it is not UTF-8.
    """
    if not head.strip():
        raise FileFormatError("empty file: no header and no samples")
    if b"\x00" in head:
        raise FileFormatError("not a CSV text file (binary data)")
    if not is_text(head):
        raise FileFormatError("not UTF-8 text (binary data, or another encoding such as "
                              "Latin-1: save it as UTF-8)")


def is_text(head: bytes) -> bool:
    """Tell whether `head` (possibly cut inside a character) is UTF-8 text.

    Parameters
    ----------
    head : bytes
        The first bytes of a file.

    Returns
    -------
    bool
        True when they decode as UTF-8.
    """
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def one_line(exc: BaseException) -> str:
    """Return the message of `exc` on one line of at most 160 characters.

    Parameters
    ----------
    exc : BaseException
        Any exception.

    Returns
    -------
    str
        Its message with white space collapsed (its type name when empty).
    """
    text = " ".join(str(exc).split())
    text = text or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _columns(
    table: pd.DataFrame, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Pick the time, acceleration and gyroscope columns; drop rows that are not finite.

    Returns the arrays and, per kept row, its data row number (1 = the first
    row after the header) for messages.
    """
    table = table.rename(columns=lambda c: str(c).strip().lstrip("\ufeff"))
    required = (TIME_COLUMN, *ACC_COLUMNS)
    missing = [c for c in required if c not in table.columns]
    if missing:
        found = ", ".join(_short(c) for c in list(table.columns)[:8])
        more = ", ..." if len(table.columns) > 8 else ""
        raise FileFormatError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            f"expected {', '.join(required)} (gyroscope {', '.join(GYRO_COLUMNS)} optional); "
            f"found {found}{more}"
        )
    gyro_present = [c for c in GYRO_COLUMNS if c in table.columns]
    if gyro_present and len(gyro_present) < len(GYRO_COLUMNS):
        notes.append(
            f"ignored the gyroscope: only {', '.join(gyro_present)} of "
            f"{', '.join(GYRO_COLUMNS)} are present"
        )
        gyro_present = []
    if len(table) == 0:
        raise FileFormatError("no samples: the file has a header only")

    numbers = {c: numeric_column(table[c], c) for c in (*required, *gyro_present)}
    if gyro_present and all(numbers[c].isna().all() for c in gyro_present):
        notes.append("ignored the gyroscope: its columns are empty")
        gyro_present = []

    used = (*required, *gyro_present)
    values = np.column_stack([numbers[c].to_numpy(dtype=np.float64) for c in used])
    finite = finite_rows(values)
    report_nonfinite(len(values) - int(finite.sum()), len(values), notes)
    values = values[finite]
    row_no = np.flatnonzero(finite) + 1
    gyro = values[:, 4:7].copy() if gyro_present else None
    return values[:, 0].copy(), values[:, 1:4].copy(), gyro, row_no


def report_nonfinite(n_bad: int, n_rows: int, notes: list[str]) -> None:
    """Note the rows dropped for a missing or non-finite value; refuse when all are.

    Parameters
    ----------
    n_bad : int
        Rows with a missing, non-numeric, NaN or infinite value in a used column.
    n_rows : int
        Data rows read.
    notes : list of str
        Repair notes; one line is appended when ``0 < n_bad < n_rows``.

    Raises
    ------
    FileFormatError
        When every row is bad (or there are no rows).
    """
    if n_rows == 0:
        raise FileFormatError("no samples: the file has a header only")
    if n_bad == n_rows:
        raise FileFormatError(
            f"no usable samples: all {n_rows} rows have a missing, non-numeric or infinite value"
        )
    if n_bad:
        notes.append(
            f"dropped {n_bad} of {n_rows} rows with a missing, non-numeric, NaN or infinite value"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _short(name: object) -> str:
    text = repr(str(name))
    return text if len(text) <= 24 else text[:21] + "...'"


def numeric_column(column: pd.Series, name: str) -> pd.Series:
    """Return `column` as float64; text cells that are not numbers become NaN.

    Parameters
    ----------
    column : pandas.Series
        A column as parsed from a CSV (numbers, or text when a cell is not one).
    name : str
        Its name, for the message.

    Returns
    -------
    pandas.Series
        The values as float64.

    Raises
    ------
    FileFormatError
        When the column holds booleans, dates or other values that are not numbers.
    """
    if pd.api.types.is_bool_dtype(column.dtype) or not (
        pd.api.types.is_numeric_dtype(column.dtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or column.dtype == object
    ):
        raise FileFormatError(f"column {name} holds {column.dtype} values, not numbers")
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.astype(np.float64)
    return pd.to_numeric(column.astype(str).str.strip(), errors="coerce").astype(np.float64)


# --------------------------------------------------------------------------- time


def stray_samples(t_s: np.ndarray, before_s: float = np.nan, after_s: float = np.nan
                  ) -> np.ndarray:
    """Return the samples whose time stands `MAX_BRIDGE_S` or more off both neighbours.

    One corrupted timestamp (far ahead, or back at zero) among good ones: read
    as a clock reset or a gap it threw away the rest of a recording. The first
    and last samples have one neighbour and are never strays, unless the
    samples just outside the array are given.

    Parameters
    ----------
    t_s : numpy.ndarray
        Sample times, s, in file order.
    before_s, after_s : float
        The times of the samples just before and after `t_s` (NaN: none).

    Returns
    -------
    numpy.ndarray
        Indices into `t_s`.
    """
    t = np.concatenate(([before_s], t_s, [after_s]))
    left, mid, right = t[:-2], t[1:-1], t[2:]
    with np.errstate(invalid="ignore"):  # NaN neighbours compare false
        ahead = (mid - left >= MAX_BRIDGE_S) & (mid - right >= MAX_BRIDGE_S)
        behind = (left - mid >= MAX_BRIDGE_S) & (right - mid >= MAX_BRIDGE_S)
    return np.flatnonzero(ahead | behind)


def stray_note(count: int, row: int, off_s: float) -> str:
    """Return the repair note of dropped stray timestamps (see `stray_samples`)."""
    return (f"dropped {_count(count, 'sample')} whose time stands {MAX_BRIDGE_S:g} s or more "
            f"off both neighbours (a stray timestamp; first at row {row}, {off_s:.3g} s off)")


def step_back_error(back_s: float, row: int, time_label: str) -> FileFormatError:
    """Return the refusal of a step back in time that sorting cannot repair."""
    return FileFormatError(
        f"time goes back by {back_s:.3g} s at row {row} (clock reset or joined files?): "
        f"{time_label} must increase"
    )


def unordered_error(count: int, n: int, first_row: int | None = None) -> FileFormatError:
    """Return the refusal of more than `MAX_UNORDERED_SHARE` of the samples out of order."""
    first = f" (first at row {first_row})" if first_row is not None else ""
    return FileFormatError(
        f"timestamps out of order at {count} of {n} samples{first}: too many to sort")


def repeated_error(count: int, n: int, time_label: str) -> FileFormatError:
    """Return the refusal of more than `MAX_REPEATED_SHARE` of the timestamps repeated."""
    return FileFormatError(
        f"{time_label} repeats at {count} of {n} samples ({count / n:.0%}): timestamps too "
        "coarse for the rate, or not a time column"
    )


class StreamTimeRepair:
    """`repair_time` for a stream read chunk by chunk, in constant memory.

    The same strays are dropped and the same files refused (a step back of
    more than `MAX_STEP_BACK_S`; too many samples out of order or repeated,
    counted at the end); a sample out of order or repeated is dropped rather
    than sorted (a stream keeps the first). Each chunk's last sample is held
    until the next chunk tells whether it is a stray.

    Parameters
    ----------
    time_label : str
        Name of the time column in messages.
    """

    def __init__(self, time_label: str = TIME_COLUMN) -> None:
        self.time_label = time_label
        self._held: tuple[np.ndarray, ...] = ()  # the last sample (t, acc, gyro, row)
        self._before = np.nan  # the time of the sample before it, in file order
        self._last = -np.inf  # the latest time passed on
        self._n = self._back = self._repeated = self._strays = 0
        self._stray_at: tuple[int, float] | None = None  # first stray's row and offset

    def feed(
        self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None, row_no: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Take one chunk in file order; return its samples that pass, in order.

        Raises
        ------
        FileFormatError
            A step back of more than `MAX_STEP_BACK_S`.
        """
        parts = [t_s, acc_g, gyro_dps, row_no]
        if self._held:
            parts = [None if p is None else np.concatenate((h, p))
                     for h, p in zip(self._held, parts, strict=True)]
        t, acc, gyro, row = parts
        if not len(t):
            return t, acc, gyro
        self._n += len(t_s)
        self._held = tuple(None if p is None else p[-1:] for p in parts)
        before = self._before
        stray = stray_samples(t[:-1], before, t[-1])
        if len(t) > 1:
            self._before = float(t[-2])
        if stray.size:
            self._strays += stray.size
            if self._stray_at is None:
                i = stray[0]
                self._stray_at = (int(row[i]), float(abs(t[i] - (t[i - 1] if i else before))))
        keep = np.ones(len(t) - 1, dtype=bool)
        keep[stray] = False
        return self._in_order(t[:-1][keep], acc[:-1][keep],
                              None if gyro is None else gyro[:-1][keep], row[:-1][keep])

    def _in_order(
        self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None, row: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ceiling = np.maximum.accumulate(np.concatenate(([self._last], t)))[:-1]
        keep = t > ceiling
        if not keep.all():
            back = ceiling - t
            worst = int(np.argmax(back))
            if back[worst] > MAX_STEP_BACK_S:
                raise step_back_error(back[worst], int(row[worst]), self.time_label)
            self._repeated += int(np.count_nonzero(back == 0))
            self._back += int(np.count_nonzero(back > 0))
            t, acc, row = t[keep], acc[keep], row[keep]
            gyro = None if gyro is None else gyro[keep]
        if len(t):
            self._last = float(t[-1])
        return t, acc, gyro

    def finish(self, notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return the held last sample (if it passes) and note the repairs.

        Raises
        ------
        FileFormatError
            More than `MAX_UNORDERED_SHARE` of the samples out of order, or
            more than `MAX_REPEATED_SHARE` repeating a timestamp.
        """
        t, acc, gyro, row = self._held or (np.empty(0), np.empty((0, 3)), None, np.empty(0, int))
        self._held = ()
        out = self._in_order(t, acc, gyro, row)
        n = self._n
        if self._back > MAX_UNORDERED_SHARE * n:
            raise unordered_error(self._back, n)
        if self._repeated > MAX_REPEATED_SHARE * n:
            raise repeated_error(self._repeated, n, self.time_label)
        if self._stray_at is not None:
            notes.append(stray_note(self._strays, *self._stray_at))
        if self._back or self._repeated:
            notes.append(
                f"dropped {self._back + self._repeated} samples whose time is not after every "
                "earlier one (repeated or out of order; a stream keeps the first)"
            )
        return out


def repair_time(
    t_s: np.ndarray,
    acc_g: np.ndarray,
    gyro_dps: np.ndarray | None,
    row_no: np.ndarray,
    notes: list[str],
    time_label: str = TIME_COLUMN,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sort a few out-of-order samples and drop repeated timestamps, or refuse.

    Parameters
    ----------
    t_s : numpy.ndarray
        Sample times, s, shape (N,), in file order.
    acc_g : numpy.ndarray
        Accelerations, shape (N, 3).
    gyro_dps : numpy.ndarray or None
        Angular rates, shape (N, 3), or None.
    row_no : numpy.ndarray
        Data row number of each sample in the file (1 = first row after the
        header), for messages.
    notes : list of str
        Repair notes; one line is appended per repair.
    time_label : str
        Name of the time column in messages.

    Returns
    -------
    t_s, acc_g, gyro_dps : numpy.ndarray
        The samples with strictly increasing times.

    Raises
    ------
    FileFormatError
        Fewer than two samples; a step back of more than `MAX_STEP_BACK_S`
        (a single sample off both neighbours is dropped first: `stray_samples`);
        more than `MAX_UNORDERED_SHARE` of the samples out of order; more
        than `MAX_REPEATED_SHARE` of them repeating a timestamp.
    """
    n = len(t_s)
    if n < 2:
        raise FileFormatError("only one usable sample: need at least two")
    stray = stray_samples(t_s)
    if stray.size:
        i = stray[0]
        notes.append(stray_note(stray.size, row_no[i], abs(t_s[i] - t_s[i - 1])))
        keep = np.ones(n, dtype=bool)
        keep[stray] = False
        t_s, acc_g, row_no = t_s[keep], acc_g[keep], row_no[keep]
        gyro_dps = gyro_dps[keep] if gyro_dps is not None else None
        n = len(t_s)
    dt_s = np.diff(t_s)
    back = np.flatnonzero(dt_s < 0)
    if back.size:
        worst = back[np.argmin(dt_s[back])]
        if -dt_s[worst] > MAX_STEP_BACK_S:
            raise step_back_error(-dt_s[worst], row_no[worst + 1], time_label)
        if back.size > MAX_UNORDERED_SHARE * n:
            raise unordered_error(back.size, n, row_no[back[0] + 1])
        order = np.argsort(t_s, kind="stable")
        t_s, acc_g = t_s[order], acc_g[order]
        gyro_dps = gyro_dps[order] if gyro_dps is not None else None
        notes.append(
            f"sorted {_count(back.size, 'sample')} that were out of time order "
            f"(first at row {row_no[back[0] + 1]}, at most {-dt_s[worst] * 1e3:.3g} ms back)"
        )
    repeated = np.flatnonzero(np.diff(t_s) == 0) + 1
    if repeated.size:
        if repeated.size > MAX_REPEATED_SHARE * n:
            raise repeated_error(repeated.size, n, time_label)
        keep = np.ones(n, dtype=bool)
        keep[repeated] = False
        t_s, acc_g = t_s[keep], acc_g[keep]
        gyro_dps = gyro_dps[keep] if gyro_dps is not None else None
        notes.append(
            f"dropped {_count(repeated.size, 'sample')} whose timestamp repeats the one before "
            "(kept the first)"
        )
    return t_s, acc_g, gyro_dps


def _nominal_rate(
    dt_s: np.ndarray, fs_hz: float | None, meta: dict[str, Any], notes: list[str]
) -> float:
    """Return the nominal rate: the argument, meta.json's, or 1 / median interval."""
    meta_fs = meta.get("fs_hz")
    if fs_hz is None and isinstance(meta_fs, int | float) and not isinstance(meta_fs, bool):
        if FS_RANGE_HZ[0] <= meta_fs <= FS_RANGE_HZ[1]:
            return nominal_rate(dt_s, float(meta_fs), notes, origin="meta.json's")
        notes.append(f"ignored meta.json's fs_hz {meta_fs!r}: not a plausible rate")
    return nominal_rate(dt_s, fs_hz, notes)


def nominal_rate(
    dt_s: np.ndarray,
    fs_hz: float | None,
    notes: list[str],
    origin: str = "given",
    time_label: str = TIME_COLUMN,
) -> float:
    """Return the nominal rate: `fs_hz` when given, else 1 / median sample interval.

    Parameters
    ----------
    dt_s : numpy.ndarray
        Intervals between consecutive samples, s (at least one).
    fs_hz : float or None
        A rate stated by the user or the file, Hz.
    notes : list of str
        Repair notes; a line is appended when `fs_hz` differs by more than
        `RATE_MISMATCH_REL` from the timestamps' rate.
    origin : str
        Who stated `fs_hz`, for the note (``"given"``, ``"meta.json's"``,
        ``"the header's"``).
    time_label : str
        Name of the time column in messages.

    Returns
    -------
    float
        The rate in Hz; an estimate is rounded by `round_rate`.

    Raises
    ------
    FileFormatError
        When the timestamps' rate is outside `FS_RANGE_HZ`.
    """
    median_dt = float(np.median(dt_s))
    measured = 1.0 / median_dt if median_dt > 0 else math.inf
    if not FS_RANGE_HZ[0] <= measured <= FS_RANGE_HZ[1]:
        hint = f" (is {time_label} in milliseconds?)" if measured < FS_RANGE_HZ[0] else ""
        raise FileFormatError(
            f"median sample interval is {median_dt:.3g} s, {measured:.3g} Hz: "
            f"not a rate of {FS_RANGE_HZ[0]:g}-{FS_RANGE_HZ[1]:g} Hz{hint}"
        )
    if fs_hz is None:
        return round_rate(measured)
    if abs(fs_hz / measured - 1.0) > RATE_MISMATCH_REL:
        notes.append(
            f"{origin} rate {fs_hz:g} Hz differs from the timestamps' {round_rate(measured):g} Hz "
            f"(1 / median interval); used {fs_hz:g} Hz as the nominal rate"
        )
    return float(fs_hz)


def round_rate(fs_hz: float) -> float:
    """Round an estimated rate: 4 significant digits, an integer when within 0.05 %.

    Parameters
    ----------
    fs_hz : float
        Rate in Hz, e.g. 1 / median sample interval.

    Returns
    -------
    float
        The rounded rate (99.98 -> 100.0, 204.79 -> 204.8, 198.63 -> 198.6).
    """
    rounded = float(f"{fs_hz:.4g}")
    nearest = round(rounded)
    if nearest and abs(rounded - nearest) <= 5e-4 * nearest:
        return float(nearest)
    return rounded


def report_gaps(t_s: np.ndarray, dt_s: np.ndarray, notes: list[str]) -> None:
    """Note gaps of `MAX_BRIDGE_S` or more between samples; nothing is filled in.

    Parameters
    ----------
    t_s : numpy.ndarray
        Strictly increasing sample times, s.
    dt_s : numpy.ndarray
        ``numpy.diff(t_s)``.
    notes : list of str
        Repair notes; one line is appended when there is a gap.
    """
    gaps = np.flatnonzero(dt_s >= MAX_BRIDGE_S)
    if not gaps.size:
        return
    longest = gaps[np.argmax(dt_s[gaps])]
    many = gaps.size > 1
    notes.append(
        f"{gaps.size} gap{'s' if many else ''} of {MAX_BRIDGE_S:g} s or more "
        f"({dt_s[gaps].sum():.1f} s in all; {'longest ' if many else ''}"
        f"{dt_s[longest]:.1f} s after t_s {t_s[longest]:.2f}), left as "
        f"{'they are' if many else 'it is'}: no samples invented"
    )


# --------------------------------------------------------------------------- values


def units_switch(acc_g: np.ndarray) -> tuple[int, float] | None:
    """Find where accelerations stop looking like g part way (files joined across units).

    Parameters
    ----------
    acc_g : numpy.ndarray
        Accelerations said to be in g, shape (N, 3).

    Returns
    -------
    (int, float) or None
        The first sample of the first block of `UNITS_BLOCK` samples (from
        the start, and the last ones) whose median resultant is above
        `loadmon.signal.types.MAX_MEDIAN_G`, and that median; None when every
        block looks like g.
    """
    n = len(acc_g) // UNITS_BLOCK * UNITS_BLOCK
    if not n:
        return None
    starts = np.r_[np.arange(0, n, UNITS_BLOCK), len(acc_g) - UNITS_BLOCK]  # and the last
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.linalg.norm(acc_g, axis=1)
        blocks = norm[starts[:, None] + np.arange(UNITS_BLOCK)]
        medians = np.nanmedian(np.where(np.isfinite(blocks), blocks, np.nan), axis=1)
    above = np.flatnonzero(medians > MAX_MEDIAN_G)
    return (int(starts[above[0]]), float(medians[above[0]])) if above.size else None


def units_switch_error(first: int, median_g: float) -> FileFormatError:
    """Return the refusal of accelerations that stop looking like g at sample `first`."""
    return FileFormatError(
        f"accelerations stop looking like g from sample {first + 1}: median |a| is "
        f"{median_g:.3g} over the next {UNITS_BLOCK} samples (about 1 g expected; files in "
        "other units joined?)"
    )


def check_units(acc_g: np.ndarray, notes: list[str]) -> None:
    """Refuse accelerations that are not in g; note ones without gravity.

    Parameters
    ----------
    acc_g : numpy.ndarray
        Accelerations said to be in g including gravity, shape (N, 3).
    notes : list of str
        Repair notes; a line is appended when the median resultant is below
        `MIN_MEDIAN_G`, or no axis varies by `MIN_SPREAD_G`.

    Raises
    ------
    FileFormatError
        When the median resultant is above
        `loadmon.signal.types.MAX_MEDIAN_G` (m/s^2, milli-g or
        not accelerations), over the file or part of it (`units_switch`).
    """
    median_g = median_resultant_g(acc_g)
    problem = units_problem(median_g)
    if problem:
        raise FileFormatError(problem)
    switch = units_switch(acc_g)
    if switch is not None:
        raise units_switch_error(*switch)
    if median_g < MIN_MEDIAN_G:
        notes.append(
            f"median |a| is only {median_g:.2g} g (about 1 g expected): gravity removed, "
            "a constant signal, or not g; impacts may read low"
        )
    some = sampled_rows(acc_g)
    with np.errstate(over="ignore", invalid="ignore"):  # a corrupted 1e300 among them
        spread_g = float(some.std(axis=0).max()) if len(some) > 1 else math.inf
    if spread_g < MIN_SPREAD_G:
        notes.append(
            f"the accelerations do not change (spread under {MIN_SPREAD_G * 1000:g} mg): a "
            "stuck sensor, placeholder values, or a coarse sensor lying still"
        )


def _start_utc(meta: dict[str, Any]) -> datetime | None:
    start = meta.get("start_unix_s")
    if isinstance(start, int | float) and not isinstance(start, bool) and math.isfinite(start):
        try:
            return datetime.fromtimestamp(start, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None
