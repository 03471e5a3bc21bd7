"""The public face of the exporter readers: the format registry, detection, reading."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from loadmon.io.errors import FileFormatError
from loadmon.io.exporters.core import (
    DEFAULT_CHUNK_ROWS,
    ByteMeter,
    Candidate,
    Chunk,
    ExportInfo,
    Plan,
    RawChunk,
    candidates,
    named,
    prefetched,
    raw_chunks,
)
from loadmon.io.exporters.formats import SPECS, Options, Spec
from loadmon.io.recordings import (
    FS_RANGE_HZ,
    StreamTimeRepair,
    check_units,
    nominal_rate,
    read_plain_recording,
    repair_time,
    report_gaps,
    report_nonfinite,
    samples_file,
)
from loadmon.signal.types import Recording


@dataclass(frozen=True)
class Format:
    """One exporter format of the registry `FORMATS`.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"phyphox"``; pass it as ``format=`` to skip detection.
    description : str
        One line saying what the format is.
    expected : str
        The header it expects, for messages.
    """

    name: str
    description: str
    expected: str
    _spec: Spec = field(repr=False)

    def sniff(self, header_lines: list[str]) -> bool:
        """Tell whether the first lines of a file are this format's header.

        Parameters
        ----------
        header_lines : list of str
            The first lines of the file (up to 12), without line ends.

        Returns
        -------
        bool
            True when the header is this format's.
        """
        return bool(header_lines) and self._spec.sniff(header_lines)

    def _pick(self, cands: list[Candidate]) -> Candidate | None:
        usable = [c for c in cands if c.source.kind in self._spec.kinds]
        if self._spec.choose is not None:
            return self._spec.choose(usable)
        return next((c for c in usable if self.sniff(c.lines)), None)

    def _plan(self, path: Path, opts: Options) -> Plan:
        with named(str(path)):
            cands = candidates(path)
            chosen = self._pick(cands)
            if chosen is None:
                raise FileFormatError(
                    f"does not look like a {self.name} export: expected a header like "
                    f"{self.expected}"
                )
        with named(chosen.source.label):
            return self._spec.planner(chosen, cands, opts)

    def open(
        self,
        path: str | PathLike[str],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        units: str | None = None,
        time_unit: str | None = None,
        fs_hz: float | None = None,
        notes: list[str] | None = None,
    ) -> ChunkStream:
        """Open an export of this format for streaming (see `iter_chunks`).

        The header is read and the units decided now, so that the returned
        stream's `ChunkStream.info` is known before the first chunk.

        Parameters
        ----------
        path, chunk_rows, units, time_unit, fs_hz, notes
            As for `iter_chunks`.

        Returns
        -------
        ChunkStream
            The stream: iterate it for the chunks; it tells the detected facts
            (`ChunkStream.info`) and how far it has read (`ChunkStream.fraction`).

        Raises
        ------
        FileFormatError
            One line naming the file, as for `iter_chunks`.
        """
        path = Path(path)
        plan = self._plan(path, Options(units, time_unit, fs_hz))
        return ChunkStream(plan, chunk_rows, notes if notes is not None else [])

    def iter_chunks(
        self,
        path: str | PathLike[str],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        units: str | None = None,
        time_unit: str | None = None,
        fs_hz: float | None = None,
        notes: list[str] | None = None,
    ) -> Iterator[Chunk]:
        """Stream an export of this format in chunks of at most `chunk_rows` rows.

        Memory is bounded by the chunk: a 6 h recording at 200 Hz (4.3 M
        rows) is never held whole. Rows with a missing or non-finite value
        are dropped; so are samples whose time does not increase past every
        earlier one (a stream cannot sort), which `read_recording` would
        sort instead when they are few.

        Parameters
        ----------
        path : str or PathLike
            The exported file, zip archive or folder.
        chunk_rows : int
            Rows read per chunk (each chunk yields at most this many samples).
        units : {"g", "mg", "m/s2"}, optional
            Acceleration unit of the file when its header does not say it
            (or says it wrongly). Default: from the format, else the header,
            else assumed from the magnitude with a note.
        time_unit : {"s", "ms", "us", "ns"}, optional
            Unit of a generic CSV's time column when its header does not say it.
        fs_hz : float, optional
            Sampling rate, for files without timestamps (ActiGraph) whose
            header does not state it.
        notes : list of str, optional
            Receives one human-readable line per assumption or repair; it is
            complete when the iteration ends.

        Yields
        ------
        Chunk
            ``t_s`` (s, strictly increasing across chunks), ``acc_g`` (g,
            n x 3) and ``gyro_dps`` (deg/s, n x 3, or None).

        Raises
        ------
        FileFormatError
            One line naming the file: not this format, unreadable, missing
            axis columns, units contradicting the data, no usable samples.
        """
        yield from self.open(
            path, chunk_rows=chunk_rows, units=units, time_unit=time_unit, fs_hz=fs_hz,
            notes=notes,
        )


class ChunkStream:
    """An export opened for streaming: its detected facts, its chunks, how far it has read.

    Made by `Format.open`. Iterate it once for its `Chunk` s; `notes` is
    complete when the iteration ends.

    Attributes
    ----------
    notes : list of str
        One line per assumption or repair.
    """

    def __init__(self, plan: Plan, chunk_rows: int, notes: list[str]) -> None:
        self._plan = plan
        self._chunk_rows = chunk_rows
        self._meter = ByteMeter()
        self._fraction = 0.0
        self.notes = notes
        self.notes.extend(plan.notes)

    @property
    def info(self) -> ExportInfo:
        """What was detected: format, units, time unit, ``start_utc`` (after the stream)."""
        return self._plan.info

    @property
    def time_label(self) -> str:
        """Name of the time column, for messages."""
        return self._plan.time_label

    @property
    def label(self) -> str:
        """The file (and archive member) read, for messages."""
        return self._plan.source.label

    @property
    def fraction(self) -> float:
        """Share of the main table read up to the last chunk yielded, 0-1.

        Counted in bytes of the file or zip member, when that chunk was read
        (the reader thread may be ahead).
        """
        return self._fraction

    def __iter__(self) -> Iterator[Chunk]:
        """Yield the chunks; see `Format.iter_chunks`."""
        sink = self.notes
        n_rows = n_bad = 0
        repair = StreamTimeRepair(self.time_label)

        def read() -> Iterator[tuple[RawChunk, float]]:
            for raw in raw_chunks(self._plan, self._chunk_rows, sink, self._meter):
                yield raw, self._meter.fraction

        with named(self._plan.source.label):
            for raw, fraction in prefetched(read()):
                self._fraction = fraction
                n_rows += raw.n_rows
                n_bad += raw.n_bad
                t, acc, gyro = repair.feed(raw.t_s, raw.acc_g, raw.gyro_dps, raw.row_no)
                if len(t):
                    yield Chunk(t, acc, gyro)
            t, acc, gyro = repair.finish(sink)
            if len(t):
                yield Chunk(t, acc, gyro)
            report_nonfinite(n_bad, n_rows, sink)
        self._fraction = 1.0


#: The formats, in the order they are tried (the specific ones before ``generic``).
FORMATS: dict[str, Format] = {
    spec.name: Format(spec.name, spec.description, spec.expected, spec) for spec in SPECS
}


def detect_format(path: str | PathLike[str], forced: str | None = None) -> Format:
    """Detect the exporter format of a file, zip archive or folder from its header.

    Parameters
    ----------
    path : str or PathLike
        The export: a CSV or text file (gzip is recognised by content), a zip
        archive (Sensor Logger, phyphox) or a folder (a plain-layout
        recording, an unzipped Sensor Logger or phyphox export).
    forced : str, optional
        A name of `FORMATS` to use instead of detecting; the file must still
        have that format's header.

    Returns
    -------
    Format
        The first format of `FORMATS` whose sniffer accepts the header.

    Raises
    ------
    FileFormatError
        One line naming the file: empty, binary, a corrupt or unsafe zip
        archive, an unknown `forced` name, or a header matching no format
        (the message lists the expected ones).
    OSError
        When the file cannot be opened.
    """
    path = Path(path)
    with named(str(path)):
        if forced is not None:
            if forced not in FORMATS:
                raise FileFormatError(
                    f"unknown format {forced!r}: expected one of {', '.join(FORMATS)}"
                )
            fmt = FORMATS[forced]
            if fmt._pick(candidates(path)) is None:
                raise FileFormatError(
                    f"does not look like a {forced} export: expected a header like {fmt.expected}"
                )
            return fmt
        cands = candidates(path)
        for fmt in FORMATS.values():
            if fmt._pick(cands) is not None:
                return fmt
        expected = "; ".join(f"{f.name} ({f.expected})" for f in FORMATS.values())
        if len(cands) == 1 and cands[0].source.member is None:
            first = cands[0].lines[0] if cands[0].lines else ""
            shown = first if len(first) <= 60 else first[:57] + "..."
            raise FileFormatError(
                f"header {shown!r} matches no known export format; expected one of: {expected}"
            )
        members = ", ".join(c.source.member or "" for c in cands[:8]) or "none"
        where = "folder" if path.is_dir() else "zip archive"
        raise FileFormatError(
            f"{where} holds no accelerometer table of a known format (tables: {members}); "
            f"expected one of: {expected}"
        )


def iter_chunks(
    path: str | PathLike[str],
    *,
    format: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    units: str | None = None,
    time_unit: str | None = None,
    fs_hz: float | None = None,
    notes: list[str] | None = None,
) -> Iterator[Chunk]:
    """Detect the format of `path` and stream it (see `Format.iter_chunks`).

    Parameters
    ----------
    path : str or PathLike
        The export.
    format : str, optional
        A name of `FORMATS`; default: detected.
    chunk_rows, units, time_unit, fs_hz, notes
        As for `Format.iter_chunks`.

    Yields
    ------
    Chunk
        The samples, chunk by chunk.
    """
    fmt = detect_format(path, format)
    yield from fmt.iter_chunks(
        path, chunk_rows=chunk_rows, units=units, time_unit=time_unit, fs_hz=fs_hz, notes=notes
    )


def read_recording(
    path: str | PathLike[str],
    placement: str,
    *,
    format: str | None = None,
    units: str | None = None,
    time_unit: str | None = None,
    fs_hz: float | None = None,
) -> tuple[Recording, list[str], ExportInfo]:
    """Read a whole export into a `Recording`, checked and repaired.

    The samples come from the same chunk reader as `Format.iter_chunks`; the
    whole-file repairs are those of the plain layout
    (`loadmon.io.recordings`): a few out-of-order samples are sorted,
    repeated timestamps dropped, gaps reported, the nominal rate estimated.
    A plain-layout file or folder is read by
    `loadmon.io.recordings.read_plain_recording` itself.

    Parameters
    ----------
    path : str or PathLike
        The export (file, zip archive or folder).
    placement : str
        Where the sensor was worn, one of `loadmon.signal.types.PLACEMENTS`.
    format : str, optional
        A name of `FORMATS`; default: detected from the header.
    units : {"g", "mg", "m/s2"}, optional
        Acceleration unit, when the header does not say it or says it wrongly.
    time_unit : {"s", "ms", "us", "ns"}, optional
        Unit of a generic CSV's time column, when its header does not say it.
    fs_hz : float, optional
        Nominal sampling rate, Hz. Default: the header's (ActiGraph), else
        1 / median sample interval.

    Returns
    -------
    recording : Recording
        Times in s (strictly increasing), accelerations in g (N x 3), angular
        rates in deg/s when the export has a gyroscope, ``start_utc`` when
        the file's clock is a UTC epoch, ``device`` when the file names it.
    notes : list of str
        One line per assumption or repair (units assumed, rows dropped,
        samples sorted, gaps, gravity removed, ...).
    info : ExportInfo
        The detected format, units and other facts.

    Raises
    ------
    FileFormatError
        One line naming the file when it cannot be used.
    OSError
        When the file cannot be opened.
    ValueError
        When `placement`, `units`, `time_unit` or `fs_hz` is not valid.
    """
    if fs_hz is not None and not (FS_RANGE_HZ[0] <= fs_hz <= FS_RANGE_HZ[1]):
        raise ValueError(f"fs_hz {fs_hz!r} is outside {FS_RANGE_HZ[0]:g}-{FS_RANGE_HZ[1]:g} Hz")
    path = Path(path)
    fmt = detect_format(path, format)
    if fmt.name == "plain":
        if units not in (None, "g") or time_unit not in (None, "s"):
            raise ValueError("the plain layout is in s and g: units and time_unit do not apply")
        with named(str(path)):
            rec, notes = read_plain_recording(path, placement, fs_hz)
        member = samples_file(path).name if path.is_dir() else None
        info = ExportInfo("plain", "g", "format", "s", gravity=True, member=member,
                          start_utc=rec.start_utc)
        return rec, notes, info
    plan = fmt._plan(path, Options(units, time_unit, fs_hz))
    notes = list(plan.notes)
    with named(plan.source.label):
        parts = list(raw_chunks(plan, DEFAULT_CHUNK_ROWS, notes))
        report_nonfinite(sum(p.n_bad for p in parts), sum(p.n_rows for p in parts), notes)
        t_s = np.concatenate([p.t_s for p in parts])
        acc_g = np.vstack([p.acc_g for p in parts])
        row_no = np.concatenate([p.row_no for p in parts])
        gyro_dps = None
        if all(p.gyro_dps is not None for p in parts):
            gyro_dps = np.vstack([p.gyro_dps for p in parts])  # type: ignore[misc]
        parts.clear()  # the chunks' arrays are copied: free them before the repairs
        t_s, acc_g, gyro_dps = repair_time(
            t_s, acc_g, gyro_dps, row_no, notes, time_label=plan.time_label
        )
        dt_s = np.diff(t_s)
        stated, origin = (
            (fs_hz, "given")
            if fs_hz is not None
            else (
                plan.info.header_fs_hz,
                "the header's",
            )
        )
        rate_hz = nominal_rate(dt_s, stated, notes, origin=origin, time_label=plan.time_label)
        if plan.info.gravity is not False:
            check_units(acc_g, notes)
        report_gaps(t_s, dt_s, notes)
    rec = Recording(
        t_s=t_s,
        acc_g=acc_g,
        fs_hz=rate_hz,
        placement=placement,
        gyro_dps=gyro_dps,
        start_utc=plan.info.start_utc,
        device=plan.info.device,
    )
    return rec, notes, plan.info
