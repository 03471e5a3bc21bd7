"""The durable recording file: every notification as it arrived, readable after a kill.

Layout: the magic ``LMBLE1`` and a newline, then records, each::

    uint32 length | uint32 crc32(payload) | payload
    payload = uint8 kind | float64 t (monotonic s) | uint16 channel | data

Kinds: `META` (JSON: start time, clocks), `CHANNEL` (JSON: what a channel
number is: device, profile, characteristic, settings), `NOTIFY` (the raw
notification bytes), `EVENT` (JSON: connected, link lost, ...) and `END`
(a clean end). A record is written whole or not at all as far as a reader
is concerned: `read_log` stops at the first record that is cut short or
whose CRC does not match, so a file cut by SIGKILL or a full disk reads back
everything up to its last complete record. `LogWriter` flushes to the
operating system at least every `FLUSH_EVERY_S` (and fsyncs then), which is
what survives a killed process. While a `LogWriter` has a file open it
holds an exclusive advisory lock on it (``flock``, where the platform has
it), released by the kernel even when the process is killed: `in_progress`
tells ``loadmon sync`` not to import a recording that is still growing.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; `in_progress` is always False
    fcntl = None  # type: ignore[assignment]

MAGIC = b"LMBLE1\n"
META, CHANNEL, NOTIFY, EVENT, END = 0, 1, 2, 3, 4
_HEAD = struct.Struct("<II")
_BODY = struct.Struct("<BdH")
#: Longest payload a reader accepts (a corrupt length must not allocate gigabytes).
MAX_PAYLOAD = 1 << 20
#: The writer hands its buffer to the OS at least this often, s.
FLUSH_EVERY_S = 1.0
SUFFIX = ".lmble"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a recording file.

    Attributes
    ----------
    kind : int
        `META`, `CHANNEL`, `NOTIFY`, `EVENT` or `END`.
    t : float
        Monotonic clock when it happened, s.
    channel : int
        Channel number (0 for records that belong to no channel).
    data : bytes
        Notification bytes, or UTF-8 JSON for the other kinds.
    """

    kind: int
    t: float
    channel: int
    data: bytes

    def json(self) -> Any:
        """Return the data decoded as JSON (for META, CHANNEL, EVENT)."""
        return json.loads(self.data)


def encode_record(rec: Record) -> bytes:
    """Return a record as stored (length, CRC, payload).

    Parameters
    ----------
    rec : Record
        The record.

    Returns
    -------
    bytes
        The stored bytes.
    """
    payload = _BODY.pack(rec.kind, rec.t, rec.channel) + rec.data
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def json_record(kind: int, t: float, channel: int, value: Any) -> Record:
    """Return a record whose data is `value` as JSON.

    Parameters
    ----------
    kind : int
        Record kind.
    t : float
        Monotonic time, s.
    channel : int
        Channel number.
    value : Any
        A JSON-serialisable value.

    Returns
    -------
    Record
        The record.
    """
    return Record(kind, t, channel, json.dumps(value, separators=(",", ":")).encode())


class LogWriter:
    """Append records to a recording file, flushed at least every `flush_every_s`.

    Parameters
    ----------
    path : Path
        The file (created; must not exist).
    flush_every_s : float
        Longest time a record stays in the process's buffer, s.
    clock : callable
        Monotonic clock, s.
    fsync : bool
        Also fsync at each flush (survives a power cut, not only a kill).
    """

    def __init__(
        self,
        path: Path,
        flush_every_s: float = FLUSH_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        fsync: bool = True,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: BinaryIO = open(self.path, "xb")  # noqa: SIM115 - closed by close()
        if fcntl is not None:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._f.write(MAGIC)
        self.flush_every_s = flush_every_s
        self.clock = clock
        self.fsync = fsync
        self._last_flush = clock()
        self.records = 0
        self.flushed_records = 0

    def append(self, rec: Record) -> None:
        """Append one record (flushing when the last flush is `flush_every_s` old).

        Parameters
        ----------
        rec : Record
            The record.
        """
        self._f.write(encode_record(rec))
        self.records += 1
        self.flush_if_due()

    def flush_if_due(self) -> None:
        """Flush when the last flush is `flush_every_s` old."""
        if self.clock() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        """Hand everything written so far to the operating system (and fsync)."""
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())
        self._last_flush = self.clock()
        self.flushed_records = self.records

    def close(self) -> None:
        """Flush and close the file."""
        if not self._f.closed:
            self.flush()
            self._f.close()


def in_progress(path: Path) -> bool:
    """Return whether a recorder is still writing `path` (it holds the file's lock).

    A recorder that was killed holds nothing: its file reads as interrupted,
    not in progress.

    Parameters
    ----------
    path : Path
        A recording file.

    Returns
    -------
    bool
        True while a `LogWriter`, in this or another process, has it open.
    """
    if fcntl is None:
        return False
    try:
        with open(path, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def read_meta(path: Path) -> dict[str, Any]:
    """Return a recording's META record (its first) without reading the whole file.

    Parameters
    ----------
    path : Path
        A recording file.

    Returns
    -------
    dict
        The META JSON; empty when the file has none (killed while created).

    Raises
    ------
    ValueError
        Not a recording file.
    """
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + _HEAD.size)
        if len(head) < len(MAGIC) and MAGIC.startswith(head):
            return {}
        if len(head) == len(MAGIC) + _HEAD.size:
            length = _HEAD.unpack_from(head, len(MAGIC))[0]
            head += f.read(min(length, MAX_PAYLOAD))
    for rec, _end in iter_records(head):
        if rec.kind == META:
            return dict(rec.json())
        break
    return {}


@dataclass
class LogContents:
    """What `read_log` recovered from a recording file.

    Attributes
    ----------
    records : list of Record
        Every complete record, in file order.
    trailing_bytes : int
        Bytes after the last complete record (a record cut short or corrupt).
    complete : bool
        Whether the recording ended cleanly (an `END` record).
    """

    records: list[Record] = field(default_factory=list)
    trailing_bytes: int = 0
    complete: bool = False

    def meta(self) -> dict[str, Any]:
        """Return the META record's JSON (empty when missing)."""
        for r in self.records:
            if r.kind == META:
                return dict(r.json())
        return {}


def iter_records(data: bytes) -> Iterator[tuple[Record, int]]:
    """Yield the complete records of a file's bytes with the offset after each.

    Parameters
    ----------
    data : bytes
        The file's bytes, magic included.

    Yields
    ------
    tuple of (Record, int)
        A record and the offset just after it.

    Raises
    ------
    ValueError
        The bytes do not start with the magic.
    """
    if not data.startswith(MAGIC):
        raise ValueError("not a loadmon BLE recording (bad magic)")
    pos = len(MAGIC)
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        start = pos + _HEAD.size
        end = start + length
        if length < _BODY.size or length > MAX_PAYLOAD or end > len(data):
            return
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return
        kind, t, channel = _BODY.unpack_from(payload)
        yield Record(kind, t, channel, payload[_BODY.size :]), end
        pos = end


def read_log(path: Path) -> LogContents:
    """Read a recording file up to its last complete record.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    LogContents
        The records and how the file ended.

    Raises
    ------
    ValueError
        Not a recording file.
    """
    data = Path(path).read_bytes()
    out = LogContents()
    if len(data) < len(MAGIC) and MAGIC.startswith(data):  # killed while creating it
        out.trailing_bytes = len(data)
        return out
    end = len(MAGIC)
    for rec, end in iter_records(data):  # noqa: B007 - `end` is used after the loop
        out.records.append(rec)
        if rec.kind == END:
            out.complete = True
    out.trailing_bytes = len(data) - end
    return out
