"""Machinery shared by the exporter readers: sources, the chunked CSV engine, units.

A *source* is where an export's text comes from: a file (plain or gzip), a
member of a zip archive, or a file in a folder. A *plan* says how to turn the
rows of one source into times in s and accelerations in g: separator, decimal
mark, rows to skip, which columns, their scale, the time origin. The engine
streams a plan in chunks of at most ``chunk_rows`` rows through
`pandas.read_csv` (``chunksize``), so memory is bounded by the chunk, not by
the file; a whole-file read is the same engine with its chunks concatenated.

Times: every exporter keeps the file's own time base shifted by a fixed
origin (the first sample's epoch time for files stamped with absolute epochs,
whose start becomes ``start_utc``); integer epochs (ns, ms) are subtracted as
int64 before they become float seconds, so 1 ns survives on a 2024 epoch.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import itertools
import math
import os
import queue
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

import numpy as np
import pandas as pd

from loadmon.io.errors import FileFormatError
from loadmon.io.recordings import (
    GZIP_MAGIC,
    SAMPLE_FILES,
    SNIFF_BYTES,
    check_text_head,
    numeric_column,
    one_line,
)
from loadmon.signal.types import G_M_S2, finite_rows

#: Rows per chunk unless told otherwise (about 8 min at 200 Hz; ~10 MB of arrays).
DEFAULT_CHUNK_ROWS = 100_000
#: Rows read from the start of a file to judge its units and time base.
PROBE_ROWS = 20_000
#: Lines of the file start handed to the sniffers.
HEADER_LINES = 12
#: Scale from each acceleration unit to g.
ACC_UNITS: dict[str, float] = {"g": 1.0, "mg": 1e-3, "m/s2": 1.0 / G_M_S2}
#: Scale from each time unit to s.
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
UNIT_NAMES = {"g": "g", "mg": "milli-g", "m/s2": "m/s^2"}
#: Plausible median resultant acceleration (with gravity) in each unit: 0.5-4.9 g.
_UNIT_RANGES = {"g": (0.5, 4.9), "m/s2": (0.5 * G_M_S2, 4.9 * G_M_S2), "mg": (500.0, 4900.0)}
#: Rates a body-worn accelerometer is recorded at (the detector's design range), Hz.
_TYPICAL_RATES_HZ = (20.0, 2000.0)
_PK_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: A sniffer: the first lines of a file -> whether they are a format's header.
Sniffer = Callable[[list[str]], bool]
T = TypeVar("T")
#: A first time above this many seconds is a Unix epoch (after 1973), not time since start.
MIN_EPOCH_S = 1e8


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True, slots=True, eq=False)
class Chunk:
    """A block of consecutive samples of an export.

    Attributes
    ----------
    t_s : numpy.ndarray
        Sample times, s, shape (n,), on the export's clock shifted to its
        origin (see `ExportInfo.start_utc`).
    acc_g : numpy.ndarray
        Accelerations in g, shape (n, 3), sensor axes.
    gyro_dps : numpy.ndarray or None
        Angular rates in deg/s, shape (n, 3), when the export has a gyroscope.
    """

    t_s: np.ndarray
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What was detected about an export.

    Attributes
    ----------
    format : str
        Name of the format in `loadmon.io.exporters.FORMATS`.
    units : str
        Acceleration unit of the file: ``"g"``, ``"mg"`` or ``"m/s2"``.
    units_origin : str
        Where the unit came from: ``"format"`` (fixed by the exporter),
        ``"header"``, ``"argument"`` or ``"assumed"`` (from the magnitude).
    time_unit : str or None
        Unit of the time column (``"s"``, ``"ms"``, ``"us"``, ``"ns"``);
        None for timestamps that are dates or for times from the sample rate.
    gravity : bool or None
        True when the accelerations include gravity, False when the exporter
        removed it, None when unknown.
    member : str or None
        The file read inside a zip archive or folder.
    extra_members : tuple of str
        Other files of the archive or folder that were used (gyroscope, gravity).
    header_fs_hz : float or None
        Sampling rate stated by the file, Hz.
    start_utc : datetime or None
        UTC time of ``t_s == 0`` when the file's clock is a UTC epoch.
    device : str or None
        Device named by the file, when it names one.
    """

    format: str
    units: str
    units_origin: str
    time_unit: str | None = None
    gravity: bool | None = None
    member: str | None = None
    extra_members: tuple[str, ...] = ()
    header_fs_hz: float | None = None
    start_utc: datetime | None = None
    device: str | None = None


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def named(label: str) -> Iterator[None]:
    """Prefix `FileFormatError` messages raised inside with ``label: `` (once)."""
    try:
        yield
    except FileFormatError as exc:
        if getattr(exc, "named", False):
            raise
        new = FileFormatError(f"{label}: {exc}")
        new.named = True  # type: ignore[attr-defined]
        raise new from exc


# --------------------------------------------------------------------------- progress


class ByteMeter:
    """How far a stream has read into its source: bytes read over the source's size.

    `Source.open` attaches the innermost file it opens (the file on disk, or
    the zip member) so that the fraction counts the bytes actually consumed,
    compressed ones for a gzip file.
    """

    def __init__(self) -> None:
        self._fh: IO[bytes] | None = None
        self._total = 0

    def attach(self, fh: IO[bytes], total: int) -> None:
        """Measure `fh`, whose full length is `total` bytes."""
        self._fh, self._total = fh, max(int(total), 0)

    @property
    def fraction(self) -> float:
        """Share of the source read so far, 0-1 (0 before it is opened)."""
        if self._fh is None or self._total <= 0:
            return 0.0
        try:
            pos = self._fh.tell()
        except (OSError, ValueError):  # closed: read to its end
            return 1.0
        return min(max(pos / self._total, 0.0), 1.0)


#: Chunks a stream reads ahead of its consumer (`prefetched`).
READ_AHEAD = 2


def prefetched(items: Iterator[T], depth: int = READ_AHEAD) -> Iterator[T]:
    """Run an iterator in a background thread, at most `depth` items ahead of the caller.

    Parsing (pyarrow releases the GIL) then overlaps with what the caller does
    with each item (the contact detector), on a second core. An exception
    raised by `items` is raised to the caller in its place; when the caller
    stops early, the thread stops and `items` is closed (its file with it).
    Memory stays bounded by `depth` items.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                box.put((kind, value), timeout=0.05)
                return True
        return False

    def work() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the caller, who raises it
            put("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name="loadmon-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True, slots=True)
class Source:
    """One text stream: a file, or a member of a zip archive or of a folder."""

    path: Path
    member: str | None = None
    kind: str = "file"  # "file", "zip" or "dir"

    @property
    def name(self) -> str:
        """File name of the stream (the member's, inside an archive or folder)."""
        return PurePosixPath(self.member).name if self.member else self.path.name

    @property
    def label(self) -> str:
        """The path for messages, with the member inside an archive or folder."""
        return f"{self.path}: {self.member}" if self.member else str(self.path)

    @contextlib.contextmanager
    def open(self, meter: ByteMeter | None = None) -> Iterator[IO[bytes]]:
        """Open the stream for reading bytes, decompressing gzip (told by content).

        A `meter`, when given, is attached to the innermost file opened.
        """
        with contextlib.ExitStack() as stack:
            if self.kind == "zip":
                archive = stack.enter_context(zipfile.ZipFile(self.path))
                raw: IO[bytes] = stack.enter_context(archive.open(self.member or ""))
                size = archive.getinfo(self.member or "").file_size
            elif self.kind == "dir":
                raw = stack.enter_context((self.path / (self.member or "")).open("rb"))
                size = os.fstat(raw.fileno()).st_size
            else:
                raw = stack.enter_context(self.path.open("rb"))
                size = os.fstat(raw.fileno()).st_size
            if meter is not None:
                meter.attach(raw, size)
            buffered = io.BufferedReader(raw) if not hasattr(raw, "peek") else raw
            if buffered.peek(2)[:2] == GZIP_MAGIC:  # type: ignore[attr-defined]
                buffered = stack.enter_context(gzip.GzipFile(fileobj=buffered, mode="rb"))
            yield buffered


@dataclass(frozen=True, slots=True)
class Candidate:
    """A source with the first lines of its text, for the sniffers."""

    source: Source
    lines: list[str]


def read_head(source: Source) -> list[str]:
    """Return the first `HEADER_LINES` lines of a source, refusing empty or binary data."""
    try:
        with source.open() as fh:
            head = fh.read(SNIFF_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FileFormatError(f"corrupt gzip data ({one_line(exc)})") from exc
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"corrupt zip member ({one_line(exc)})") from exc
    check_text_head(head)
    text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    lines = text.lstrip("\ufeff").splitlines()
    if len(head) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    return [line.rstrip("\r\n") for line in lines[:HEADER_LINES]]


def is_zip(path: Path) -> bool:
    """Tell a zip archive by its first bytes."""
    with path.open("rb") as fh:
        return fh.read(4) in _PK_MAGIC


#: Members of an export archive that are read or knowingly ignored.
_ALLOWED_MEMBER = re.compile(
    r"[^/]+\.(?:csv|csv\.gz|txt)"  # the sensors' tables (Sensor Logger, phyphox)
    r"|meta/[^/]+\.csv"  # phyphox's metadata
    r"|Camera/[^/]+\.(?:jpe?g|heic|png|mp4|mov)"  # Sensor Logger's camera
    r"|[^/]+\.(?:m4a|mp4|wav|caf|aac|mp3|json)",  # Sensor Logger's microphone, metadata
    re.IGNORECASE,
)
_IGNORED_MEMBER = re.compile(r"(?:.*/)?\.DS_Store|__MACOSX/.*")
#: A member declaring more than this many bytes is refused.
MAX_MEMBER_BYTES = 16 << 30


def zip_members(path: Path) -> list[str]:
    """List the members of an export archive, refusing path traversal and strangers.

    Parameters
    ----------
    path : Path
        The zip archive.

    Returns
    -------
    list of str
        Member names of files (folders and macOS resource forks left out).

    Raises
    ------
    FileFormatError
        A corrupt archive; a member whose name leaves the archive (absolute,
        ``..``, a drive letter or a backslash); a symbolic link; an encrypted
        or huge member; a member that an accelerometer export does not hold.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileFormatError(f"not a readable zip archive ({one_line(exc)})") from exc
    names = []
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if (
            name.startswith(("/", "\\"))
            or "\\" in name
            or re.match(r"[A-Za-z]:", name)
            or ".." in parts
        ):
            raise FileFormatError(
                f"zip member {name!r} points outside the archive (path traversal): refused"
            )
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise FileFormatError(f"zip member {name!r} is a symbolic link: refused")
        if info.is_dir() or _IGNORED_MEMBER.fullmatch(name):
            continue
        if info.flag_bits & 0x1:
            raise FileFormatError(f"zip member {name!r} is encrypted: refused")
        if info.file_size > MAX_MEMBER_BYTES:
            raise FileFormatError(
                f"zip member {name!r} declares {info.file_size / 2**30:.0f} GiB: refused"
            )
        names.append(name)
    top = {PurePosixPath(n).parts[0] for n in names}
    prefix = ""
    if len(top) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names):
        prefix = f"{top.pop()}/"  # a re-zipped export folder
    for name in names:
        if not _ALLOWED_MEMBER.fullmatch(name[len(prefix) :]):
            raise FileFormatError(
                f"unexpected zip member {name!r}: an accelerometer export holds CSV tables "
                "(and camera or microphone media) only; refused"
            )
    return names


def candidates(path: Path) -> list[Candidate]:
    """Return the text streams of `path` a format may read, with their first lines.

    A file is one candidate; a zip archive or a folder gives one per CSV or
    text table in it (at its top level, or in one common top folder of the
    archive). Tables that cannot be read are left out, except a plain-layout
    folder's ``samples.csv`` (or ``.csv.gz``), whose error names it; a single
    file that cannot be read raises.
    """
    if path.is_dir():
        sources = [
            Source(path, p.name, "dir")
            for p in sorted(path.iterdir())
            if p.is_file() and re.fullmatch(r".+\.(?:csv|csv\.gz|txt)", p.name, re.IGNORECASE)
        ]
    elif is_zip(path):
        sources = [
            Source(path, name, "zip")
            for name in zip_members(path)
            if re.fullmatch(r"(?:[^/]+/)?[^/]+\.(?:csv|csv\.gz|txt)", name, re.IGNORECASE)
        ]
    else:
        return [Candidate(Source(path), read_head(Source(path)))]
    found = []
    for source in sources:
        try:
            found.append(Candidate(source, read_head(source)))
        except FileFormatError as exc:
            if source.kind == "dir" and source.name in SAMPLE_FILES:  # a plain recording's
                raise FileFormatError(f"{source.member}: {exc}") from exc
    return found


# --------------------------------------------------------------------------- header parsing


def split_fields(line: str, sep: str | None = None) -> tuple[list[str], str]:
    """Split a header line into stripped, unquoted fields; guess the separator.

    Parameters
    ----------
    line : str
        The line.
    sep : str, optional
        The separator; default: whichever of ``,``, ``;`` and tab gives most fields.

    Returns
    -------
    fields : list of str
        The fields.
    sep : str
        The separator used.
    """
    seps = [sep] if sep else [",", ";", "\t"]
    best: tuple[list[str], str] = ([line.strip()], seps[0])
    for s in seps:
        row = next(csv.reader([line], delimiter=s, quotechar='"'), [])
        fields = [f.strip().strip('"').strip() for f in row]
        if len(fields) > len(best[0]):
            best = (fields, s)
    return best


def decimal_mark(data_lines: list[str], sep: str) -> str:
    """Return ``","`` when `sep` is not a comma and the data write decimal commas."""
    if sep == ",":
        return "."
    number = re.compile(r"\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*")
    for line in data_lines:
        if any(number.fullmatch(f) for f in line.split(sep)):
            return ","
    return "."


# --------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """How to read one source into seconds and g (see the module docstring).

    ``time_kind`` is ``"float"`` (a number times ``time_scale``), ``"int"``
    (an integer epoch times ``time_scale``, subtracted exactly), ``"datetime"``
    (text dates in ``datetime_format``) or ``"index"`` (row number times
    ``time_scale``, the sample period). ``origin`` is the raw time value of
    ``t_s == 0``: a number, a `pandas.Timestamp`, or ``"first"`` for the
    first sample with a valid time.
    """

    source: Source
    sep: str
    decimal: str
    skiprows: int
    names: list[str]
    time_col: int | None
    time_kind: str
    time_scale: float
    acc_cols: tuple[int, int, int]
    acc_scale: float
    info: ExportInfo
    origin: Any = 0
    datetime_format: str | None = None
    gyro_cols: tuple[int, int, int] | None = None
    gyro_scale: float = 1.0
    followers: list[Follower] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    time_label: str = "time"
    epoch_scale_to_utc: float | None = None  # raw epoch unit -> s, when origin is a UTC epoch

    @property
    def usecols(self) -> list[int]:
        """Column indices read."""
        cols = [*self.acc_cols, *(self.gyro_cols or ())]
        if self.time_col is not None:
            cols.append(self.time_col)
        return sorted(set(cols))


@dataclass
class Follower:
    """Another table interpolated onto the main table's times (gyroscope, gravity)."""

    plan: Plan
    role: str  # "gyro" or "gravity"


@dataclass
class RawChunk:
    """Finite samples of one chunk, in file order, with their data row numbers."""

    t_s: np.ndarray
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None
    row_no: np.ndarray
    n_rows: int
    n_bad: int


#: Most bytes of text parsed at once by the chunked reader (the memory it holds, with the arrays).
BLOCK_BYTES = 4 << 20
#: Typical bytes of one data row, to read about one chunk of text at a time.
ROW_BYTES = 40
_BOM = codecs.BOM_UTF8
_LINE_END = re.compile(rb"\r\n|\n|\r")


def text_blocks(
    fh: IO[bytes], skiprows: int, block_bytes: int | Callable[[], int] = BLOCK_BYTES
) -> Iterator[bytes]:
    """Yield the text of `fh` after its first `skiprows` lines, in blocks of whole lines.

    Each block ends at a line end (the last may not), holds about
    `block_bytes` bytes (more when one line is longer; a callable is asked
    before each read) and starts without the byte-order mark. A quoted value
    spanning lines is not supported (no accelerometer export writes one).
    """
    rest = b""
    first = True
    size = block_bytes if callable(block_bytes) else lambda: block_bytes
    while True:
        data = fh.read(size())
        if not data:
            if rest and not first:
                yield rest
            return
        data = rest + data
        if first:
            data = data.removeprefix(_BOM)
            ends = list(itertools.islice(_LINE_END.finditer(data), skiprows))
            if len(ends) < skiprows:
                rest = data  # the header is longer than what was read so far
                continue
            data = data[ends[-1].end() :] if skiprows else data
            first = False
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1  # keep \r\n whole
        if cut == 0:
            rest = data  # no line end yet: a line longer than a block
            continue
        rest = data[cut:]
        yield data[:cut]


def _parse_block(block: bytes, plan: Plan, types: dict[int, Any]) -> pd.DataFrame:
    """Parse one block of whole lines into the used columns of `plan`, labelled by index.

    pyarrow parses clean blocks (fast, both cores; its columns become the
    frame's without a copy); a block it refuses (a row with another number
    of fields, a cell that is not a number, bytes that are not UTF-8) is
    parsed by pandas, which fills short rows with NaN and keeps text cells
    for `numbers` to turn into NaN. Both round decimal text correctly
    (pandas 3's default parser is exact), so they give the same floats.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = plan.usecols
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter=plan.sep, quote_char='"'),
            convert_options=pacsv.ConvertOptions(
                include_columns=[f"f{c}" for c in cols],
                column_types={f"f{c}": t for c, t in types.items()},
                decimal_point=plan.decimal,
            ),
        )
    except (pa.ArrowInvalid, KeyError):
        return pd.read_csv(
            io.BytesIO(block),
            sep=plan.sep,
            decimal=plan.decimal,
            header=None,
            # all the header's columns (not usecols, which refuses a block of short rows): a
            # row cut short, as the last of a half-written file, gets NaN cells, dropped and
            # counted as any bad row
            names=range(max(len(plan.names), max(cols) + 1)),
            dtype={c: str for c, t in types.items() if t == pa.string()} or None,
            engine="c",
            skip_blank_lines=True,
            skipinitialspace=True,
            quotechar='"',
            encoding="utf-8",
        )[list(cols)]
    arrays = {c: table.column(f"f{c}").to_numpy(zero_copy_only=False) for c in cols}
    return pd.DataFrame(arrays, copy=False)


def frames(
    plan: Plan, chunk_rows: int, nrows: int | None = None, meter: ByteMeter | None = None
) -> Iterator[pd.DataFrame]:
    """Yield the used columns of `plan`'s source in DataFrames of at most `chunk_rows` rows.

    The text is parsed in blocks of whole lines (`text_blocks`,
    `_parse_block`) sized to hold a little under `chunk_rows` rows, from the
    bytes per row seen so far (`ROW_BYTES` at first; at most `BLOCK_BYTES`):
    memory is bounded by a block whatever the file's length, and the bytes
    read (the progress) advance chunk by chunk. A block that holds more rows
    is split. At most `nrows` rows are yielded, when given.
    """
    import pyarrow as pa

    types: dict[int, Any] = {c: pa.float64() for c in plan.usecols}
    if plan.time_col is not None:
        kind = {"int": pa.int64(), "datetime": pa.string()}
        types[plan.time_col] = kind.get(plan.time_kind, pa.float64())
    left = math.inf if nrows is None else nrows
    seen = [0, 0]  # bytes and rows parsed so far

    def block_bytes() -> int:
        per_row = seen[0] / seen[1] if seen[1] else ROW_BYTES
        return int(min(BLOCK_BYTES, max(0.97 * chunk_rows * per_row, 1 << 16)))

    try:
        with plan.source.open(meter) as fh:
            for block in text_blocks(fh, plan.skiprows, block_bytes):
                frame = _parse_block(block, plan, types)
                seen[0] += len(block)
                seen[1] += len(frame)
                for start in range(0, len(frame), chunk_rows):
                    if left <= 0:
                        return
                    part = frame.iloc[start : start + min(chunk_rows, left)]
                    left -= len(part)
                    yield part
    except pd.errors.EmptyDataError:
        return
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FileFormatError(f"corrupt gzip data ({one_line(exc)})") from exc
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"corrupt zip member ({one_line(exc)})") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(f"not a readable CSV ({one_line(exc)})") from exc


def numbers(column: pd.Series, name: str, decimal: str = ".") -> np.ndarray:
    """Return a parsed column as float64 (text that is not a number becomes NaN)."""
    if decimal == "," and not pd.api.types.is_numeric_dtype(column.dtype):
        column = column.astype(str).str.replace(",", ".", regex=False)
    return numeric_column(column, name).to_numpy(dtype=np.float64)


def integers(column: pd.Series, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of integer epochs exactly where it can be; fall back to floats.

    A column the CSV parser read as int64 is exact. One it read as float64
    (a chunk with an empty cell) has lost the last digits of a ns epoch
    (2**-52 relative: 256 ns in 2024), harmless at any sampling rate. Text
    (a chunk with a cell that is not a number) is parsed here: exactly when
    every number in it is an integer.

    Returns the values (int64 or float64) and the mask of valid cells.
    """
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64), np.ones(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        return values, np.isfinite(values)
    text = pd.Series(column.astype(object).where(column.notna(), ""), dtype=str).str.strip()
    ints = text.str.fullmatch(r"[+-]?\d{1,19}").to_numpy(dtype=bool)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    valid = np.isfinite(values)
    if valid.any() and (ints == valid).all():
        out = np.zeros(len(text), dtype=np.int64)
        out[ints] = text[ints].astype(np.int64).to_numpy()
        return out, ints
    return values, valid


class Stream:
    """Convert the chunks of a plan into finite samples (one pass over the source)."""

    def __init__(
        self, plan: Plan, chunk_rows: int, origin: Any = None, meter: ByteMeter | None = None
    ) -> None:
        self.plan = plan
        self.chunk_rows = max(1, int(chunk_rows))
        self.origin = plan.origin if origin is None else origin
        self.rows = 0  # data rows read so far
        self.start_utc: datetime | None = None
        self.meter = meter

    def times(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Return the times (s) of a frame's rows and the mask of valid ones."""
        p = self.plan
        n = len(frame)
        if p.time_kind == "index":
            t = (self.rows + np.arange(n, dtype=np.float64)) * p.time_scale
            return t, np.ones(n, dtype=bool)
        col = frame[p.time_col]
        if p.time_kind == "datetime":
            stamps = pd.to_datetime(col, format=p.datetime_format, errors="coerce")
            valid = stamps.notna().to_numpy()
            if isinstance(self.origin, str) and valid.any():
                self.origin = stamps[valid].iloc[0]
            if isinstance(self.origin, str):
                return np.full(n, np.nan), valid
            t = (stamps - self.origin).dt.total_seconds().to_numpy(dtype=np.float64)
            return t, valid
        if p.time_kind == "int":
            raw, valid = integers(col, p.decimal)
        else:
            raw = numbers(col, p.names[p.time_col], p.decimal)
            valid = np.isfinite(raw)
        if isinstance(self.origin, str):  # "first"
            if not valid.any():
                return np.full(n, np.nan), valid
            first = raw[valid][0]
            self.origin = int(first) if raw.dtype == np.int64 else float(first)
            if p.epoch_scale_to_utc is not None:
                seconds = self.origin * p.epoch_scale_to_utc
                if seconds > MIN_EPOCH_S:  # an epoch, not a time since the start
                    with contextlib.suppress(OverflowError, OSError, ValueError):
                        self.start_utc = datetime.fromtimestamp(seconds, UTC)
        if raw.dtype == np.int64 and isinstance(self.origin, int):
            rel = (raw - np.int64(self.origin)).astype(np.float64)
        else:
            rel = raw.astype(np.float64) - float(self.origin)
        t = rel * p.time_scale
        t[~valid] = np.nan
        return t, valid

    def __iter__(self) -> Iterator[RawChunk]:
        """Yield the finite samples of each chunk."""
        p = self.plan
        for frame in frames(p, self.chunk_rows, meter=self.meter):
            n = len(frame)
            t, _ = self.times(frame)
            acc = np.column_stack([numbers(frame[c], p.names[c], p.decimal) for c in p.acc_cols])
            acc *= p.acc_scale
            gyro = None
            if p.gyro_cols is not None:
                gyro = np.column_stack(
                    [numbers(frame[c], p.names[c], p.decimal) for c in p.gyro_cols]
                )
                gyro *= p.gyro_scale
            ok = finite_rows(t, acc, gyro)
            row_no = self.rows + 1 + np.flatnonzero(ok)
            self.rows += n
            n_bad = n - len(row_no)
            if n_bad:  # (a clean chunk is passed on without copies)
                t, acc, gyro = t[ok], acc[ok], gyro[ok] if gyro is not None else None
            yield RawChunk(t, acc, gyro, row_no, n, n_bad)


class FollowerStream:
    """Interpolate a follower table (gyroscope, gravity) onto the main table's times.

    The follower's samples are read as needed, kept only while strictly
    increasing, and linearly interpolated; the buffer keeps the samples
    around the last requested time only, so memory stays bounded. Times
    before the follower's first sample or after its last get its first or
    last value and are counted in `outside`.
    """

    def __init__(self, follower: Follower, main: Stream) -> None:
        self.role = follower.role
        self.plan = follower.plan
        self._main = main
        self._it: Iterator[RawChunk] | None = None
        self._t = np.empty(0)
        self._v = np.empty((0, 3))
        self._first: float | None = None
        self._last = -math.inf
        self.done = False
        self.outside = 0
        self.dropped = 0
        self.samples = 0

    def _pull(self) -> None:
        if self._it is None:
            stream = Stream(self.plan, self._main.chunk_rows, origin=self._main.origin)
            self._it = iter(stream)
        try:
            chunk = next(self._it)
        except StopIteration:
            self.done = True
            return
        t, v = chunk.t_s, chunk.acc_g
        prev = np.maximum.accumulate(np.concatenate([[self._last], t]))[:-1]
        keep = t > prev
        self.dropped += chunk.n_bad + int((~keep).sum())
        t, v = t[keep], v[keep]
        if len(t):
            if self._first is None:
                self._first = float(t[0])
            self._last = float(t[-1])
            self._t = np.concatenate([self._t, t])
            self._v = np.vstack([self._v, v])
            self.samples += len(t)

    def at(self, t: np.ndarray) -> np.ndarray | None:
        """Return the follower's values at times `t` (n x 3), or None when it has none."""
        if not len(t):
            return np.empty((0, 3))
        t_max = float(np.max(t))
        while not self.done and (not len(self._t) or self._t[-1] < t_max):
            self._pull()
        if not len(self._t):
            return None
        out = np.column_stack([np.interp(t, self._t, self._v[:, k]) for k in range(3)])
        assert self._first is not None
        self.outside += int(np.count_nonzero(t < self._first))
        if self.done:
            self.outside += int(np.count_nonzero(t > self._last))
        keep_from = max(int(np.searchsorted(self._t, t_max, "right")) - 2, 0)
        self._t, self._v = self._t[keep_from:], self._v[keep_from:]
        return out


def raw_chunks(
    plan: Plan, chunk_rows: int, notes: list[str], meter: ByteMeter | None = None
) -> Iterator[RawChunk]:
    """Yield the finite samples of `plan` chunk by chunk, followers interpolated in.

    Notes about the followers (samples outside their span, a follower
    without samples) are appended to `notes` when the stream ends. A `meter`
    follows how far the main table has been read.
    """
    main = Stream(plan, chunk_rows, meter=meter)
    followers = [FollowerStream(f, main) for f in plan.followers]
    gone: set[str] = set()
    for chunk in main:
        for fol in followers:
            if fol.role in gone:
                continue
            values = fol.at(chunk.t_s)
            if values is None:
                gone.add(fol.role)
                notes.append(
                    f"ignored {fol.plan.source.name}: it holds no usable samples"
                    + ("; the accelerations stay without gravity" if fol.role == "gravity" else "")
                )
                if fol.role == "gyro":
                    chunk.gyro_dps = None
                continue
            if fol.role == "gyro":
                chunk.gyro_dps = values
            else:
                chunk.acc_g = chunk.acc_g + values
        if "gyro" in gone:
            chunk.gyro_dps = None
        if main.start_utc is not None and plan.info.start_utc is None:
            plan.info = replace(plan.info, start_utc=main.start_utc)  # known from the first rows
        yield chunk
    for fol in followers:
        if fol.role in gone:
            continue
        if fol.dropped:
            notes.append(
                f"dropped {fol.dropped} rows of {fol.plan.source.name} that were not finite "
                "or not after the row before"
            )
        if fol.outside:
            notes.append(
                f"{fol.outside} samples lie outside the time span of {fol.plan.source.name}: "
                "they got its first or last value"
            )
    if main.start_utc is not None and plan.info.start_utc is None:
        plan.info = replace(plan.info, start_utc=main.start_utc)


def drop_empty_gyro(plan: Plan) -> None:
    """Ignore a plan's gyroscope columns when its first `PROBE_ROWS` rows leave them empty.

    As the whole-file reader does for columns empty throughout: every row of
    the stream would otherwise be dropped for its missing angular rates.
    """
    if plan.gyro_cols is None:
        return
    frame = next(frames(plan, PROBE_ROWS, nrows=PROBE_ROWS), None)
    if frame is None or not len(frame):
        return
    if not any(np.isfinite(numbers(frame[c], plan.names[c], plan.decimal)).any()
               for c in plan.gyro_cols):
        plan.gyro_cols = None
        plan.notes.append("ignored the gyroscope: its columns are empty in the first rows")


def probe(plan: Plan) -> tuple[float | None, float | None]:
    """Return the median raw resultant and median positive raw time step of the first rows.

    Raw means in the file's own units (the plan's scales are not applied).
    Either is None when the first `PROBE_ROWS` rows hold no usable value.
    """
    frame = next(frames(plan, PROBE_ROWS, nrows=PROBE_ROWS), None)
    if frame is None or not len(frame):
        return None, None
    acc = np.column_stack([numbers(frame[c], plan.names[c], plan.decimal) for c in plan.acc_cols])
    with np.errstate(over="ignore"):  # a corrupted 1e300 is an inf among them
        mag = np.linalg.norm(acc[np.isfinite(acc).all(axis=1)], axis=1)
    median_mag = float(np.median(mag)) if len(mag) else None
    median_dt = None
    if plan.time_col is not None and plan.time_kind in ("float", "int"):
        col = frame[plan.time_col]
        if plan.time_kind == "int":
            raw, valid = integers(col, plan.decimal)
            raw = raw[valid].astype(np.float64)
        else:
            raw = numbers(col, plan.names[plan.time_col], plan.decimal)
            raw = raw[np.isfinite(raw)]
        steps = np.diff(raw)
        steps = steps[steps > 0]
        median_dt = float(np.median(steps)) if len(steps) else None
    return median_mag, median_dt


# --------------------------------------------------------------------------- units


def guess_units(median_mag: float | None) -> str | None:
    """Return the unit in which `median_mag` is about 0.5-4.9 g, or None."""
    if median_mag is None:
        return None
    for unit, (lo, hi) in _UNIT_RANGES.items():
        if lo <= median_mag <= hi:
            return unit
    return None


def decide_units(
    plan: Plan,
    declared: str | None,
    declared_by: str,
    given: str | None,
) -> None:
    """Choose the acceleration unit of a plan and set it; note or refuse doubts.

    Parameters
    ----------
    plan : Plan
        The plan (its ``acc_scale``, ``notes`` and ``info.units`` /
        ``info.units_origin`` are updated).
    declared : str or None
        The unit stated by the format or the header.
    declared_by : str
        Who stated it, for messages (``"the header"``, ``"the phyphox format"``).
    given : str or None
        The unit passed by the caller, which wins. ``info.units_origin`` says
        where the unit came from (``"argument"``, ``"header"``, ``"format"``,
        ``"assumed"``).

    Raises
    ------
    FileFormatError
        When the median resultant of the first rows contradicts the declared
        unit (with gravity: m/s^2 read as g, milli-g as g, ...), or when no
        unit is declared and the magnitude fits none.
    """
    if given is not None and given not in ACC_UNITS:
        raise ValueError(f"units {given!r} is not one of {', '.join(ACC_UNITS)}")
    with_gravity = plan.info.gravity is not False
    median_mag, _ = probe(plan)
    guess = guess_units(median_mag) if with_gravity else None
    if given is not None:
        unit, origin = given, "argument"
        if guess is not None and guess != given:
            plan.notes.append(
                f"median |a| of the first rows is {median_mag:.4g}, which looks like "
                f"{UNIT_NAMES[guess]}; read as {UNIT_NAMES[given]} as told"
            )
    elif declared is not None:
        unit, origin = declared, "header" if "header" in declared_by else "format"
        if guess is not None and guess != declared:
            # the plain layout takes no units: its files are converted, not reinterpreted
            advice = (f"multiply them by {ACC_UNITS[guess]:.6g} to make them g"
                      if plan.info.format == "plain" else f"pass units={guess!r} to read them so")
            raise FileFormatError(
                f"accelerations look like {UNIT_NAMES[guess]}, not {UNIT_NAMES[declared]} as "
                f"{declared_by} says: median |a| of the first rows is {median_mag:.4g} "
                f"(about 1 g with gravity expected); {advice}"
            )
    else:
        if guess is None:
            found = "no values" if median_mag is None else f"median |a| {median_mag:.4g}"
            raise FileFormatError(
                f"no acceleration unit in the header and the first rows ({found}) fit none "
                f"of g, milli-g, m/s^2: pass units= one of {', '.join(ACC_UNITS)}"
            )
        unit, origin = guess, "assumed"
        plan.notes.append(
            f"no acceleration unit in the header: assumed {UNIT_NAMES[guess]}, as the median "
            f"|a| of the first rows is {median_mag:.4g} (about 1 g with gravity)"
        )
    plan.acc_scale = ACC_UNITS[unit]
    plan.info = replace(plan.info, units=unit, units_origin=origin)


def decide_time_unit(plan: Plan, declared: str | None, given: str | None) -> str:
    """Choose the unit of a numeric time column (declared, given, or from its steps)."""
    if given is not None and given not in TIME_UNITS:
        raise ValueError(f"time_unit {given!r} is not one of {', '.join(TIME_UNITS)}")
    unit = given or declared
    if unit is None:
        _, median_dt = probe(plan)
        fits = []
        if median_dt:
            fits = [
                u
                for u, scale in TIME_UNITS.items()
                if _TYPICAL_RATES_HZ[0] <= 1.0 / (median_dt * scale) <= _TYPICAL_RATES_HZ[1]
            ]
        if len(fits) != 1:
            step = "no steps" if not median_dt else f"a median step of {median_dt:.4g}"
            raise FileFormatError(
                f"no time unit in the header and {step} does not tell it: pass time_unit= "
                f"one of {', '.join(TIME_UNITS)}"
            )
        unit = fits[0]
        assert median_dt is not None
        plan.notes.append(
            f"no time unit in the header: assumed {unit}, as the median step "
            f"{median_dt:.4g} then means {1.0 / (median_dt * TIME_UNITS[unit]):.4g} Hz"
        )
    plan.time_scale = TIME_UNITS[unit]
    return unit


def missing_columns(wanted: list[str], fields: list[str]) -> FileFormatError:
    """Return the error for axis columns that a header lacks."""
    missing = [w for w in wanted if w not in fields]
    shown = ", ".join(repr(f) for f in fields[:8]) + (", ..." if len(fields) > 8 else "")
    return FileFormatError(
        f"missing axis column{'s' if len(missing) > 1 else ''} "
        f"{', '.join(repr(m) for m in missing)}: found {shown or 'no columns'}"
    )
