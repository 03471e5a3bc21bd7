"""Replaying a recorded file: read it, run the contact detector, pace it, save the run.

The thin service between the exporter readers (`loadmon.io.exporters`), the
online detector (`loadmon.signal.ContactDetector`), the raw-file writer
(`loadmon.io.rawfiles`) and the store; ``loadmon replay`` and
``benchmarks/replay_bench.py`` call it.

Two ways through a file, with the same contacts for a clean file:

* **whole**: files of up to `STREAM_FROM_BYTES` of text are read whole
  (`loadmon.io.exporters.read_recording`), which allows the whole-file
  repairs: a few out-of-order samples sorted, the rate from every interval;
* **streamed**: longer files, and every live replay, go through the same
  detector chunk by chunk (`loadmon.io.exporters.Format.open`): memory is
  bounded by a chunk (`DEFAULT_CHUNK_ROWS` rows) whatever the file's
  length. The nominal rate comes from the first `RATE_PROBE_SAMPLES`
  samples; samples whose time does not increase are dropped (a stream
  cannot sort) and counted in a note.
"""

from __future__ import annotations

import math
import os
import struct
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from loadmon.io.errors import FileFormatError
from loadmon.io.exporters import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    ExportInfo,
    detect_format,
    read_recording,
)
from loadmon.io.exporters.core import named
from loadmon.io.recordings import (
    GZIP_MAGIC,
    PlainMeta,
    check_units,
    nominal_rate,
    read_plain_meta,
    report_gaps,
    units_switch,
    units_switch_error,
)
from loadmon.signal.types import MAX_BRIDGE_S

if TYPE_CHECKING:
    import pandas as pd

    from loadmon.distance import StepLength
    from loadmon.signal import GaitEvent
    from loadmon.signal.types import GaitSummary, Recording
    from loadmon.store import AddOutcome, AthleteInfo, Store

#: Files holding more text than this (bytes, uncompressed) are streamed, not read whole.
STREAM_FROM_BYTES = 16 << 20
#: Text of numbers compresses 3-5 times with gzip: a gzip file holds at least this many
#: times its size in text.
GZIP_TEXT_RATIO = 4
#: Samples at the start of a stream whose intervals give its nominal rate.
RATE_PROBE_SAMPLES = 20_000
#: A live replay feeds the detector in slices of this much wall-clock time, s.
LIVE_SLICE_S = 0.1

DetectFn = Callable[["Recording"], "pd.DataFrame"]
SummarizeFn = Callable[["pd.DataFrame", "Recording", "np.ndarray | None"], "GaitSummary"]
#: Called after each piece of a stream with the time since its first sample (s), the
#: time on the file's clock (s) and the contacts and toe-offs that piece decided.
UpdateFn = Callable[[float, float, Sequence["GaitEvent"]], None]


class SampleSink(Protocol):
    """Where the samples fed to the detector also go (the raw-file writer)."""

    def start(self, fs_hz: float, has_gyro: bool, **metadata: str | None) -> None:
        """Receive the rate and the columns, before the first samples."""

    def write(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None) -> None:
        """Receive samples in time order."""


@dataclass(frozen=True)
class ReplayResult:
    """The contacts of a replayed file and what was read.

    Attributes
    ----------
    file : Path
        The file as given.
    placement : str
        Where the sensor was worn.
    fs_hz : float
        Nominal sampling rate the detector used, Hz.
    n_samples : int
        Samples fed to the detector.
    t_first_s, t_last_s : float
        Times of the first and last sample, s, on the file's clock.
    has_gyro : bool
        Whether the file has angular rates.
    side : str or None
        Side of a single-foot sensor, when the file tells it.
    start_utc : datetime or None
        UTC time of ``t_s == 0``, when the file tells it.
    device : str or None
        Device named by the file.
    contacts : pandas.DataFrame
        The contacts (`loadmon.signal.types.CONTACT_COLUMNS`).
    summary : GaitSummary
        Their summary.
    info : ExportInfo
        Detected format, units and time unit.
    notes : list of str
        Repairs and assumptions, one line each.
    streamed : bool
        Whether the file was streamed (else read whole).
    """

    file: Path
    placement: str
    fs_hz: float
    n_samples: int
    t_first_s: float
    t_last_s: float
    has_gyro: bool
    side: str | None
    start_utc: datetime | None
    device: str | None
    contacts: pd.DataFrame
    summary: GaitSummary
    info: ExportInfo
    notes: list[str]
    streamed: bool

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample, s."""
        return self.t_last_s - self.t_first_s

    @property
    def first_sample_utc(self) -> datetime | None:
        """UTC time of the first sample, when the file's clock is known."""
        if self.start_utc is None:
            return None
        return self.start_utc + timedelta(seconds=self.t_first_s)


# --------------------------------------------------------------------------- pacing


class Pacer:
    """Hold a stream back to real time x `speed` (a live replay).

    Parameters
    ----------
    speed : float
        How many seconds of recording pass in one second of wall-clock time.
    clock : callable
        Monotonic wall clock, s (`time.monotonic`; tests pass a fake).
    sleep : callable
        Sleeps for a number of seconds (`time.sleep`; tests pass a fake).
    """

    def __init__(
        self,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number (got {speed!r})")
        self.speed = float(speed)
        self.clock = clock
        self.sleep = sleep
        self._wall0: float | None = None
        self._last = 0.0  # the last sample time fed, s
        self._played = 0.0  # stream time fed, s, gaps left out

    def wait_until(self, t_s: np.ndarray) -> None:
        """Sleep until a piece of the stream is due; the first piece starts the clock.

        Parameters
        ----------
        t_s : numpy.ndarray
            The sample times of the piece about to be fed, s. The stream's
            time is counted along its samples: a gap of
            `loadmon.signal.types.MAX_BRIDGE_S` or more (where the detector
            starts afresh) or a step back adds nothing, so a stray timestamp
            or an hour's pause is not waited out.
        """
        t = np.asarray(t_s, dtype=np.float64)
        if not len(t):
            return
        now = self.clock()
        if self._wall0 is None:
            self._wall0, self._last = now, float(t[0])
        steps = np.diff(t, prepend=self._last)
        self._played += float(steps[(steps > 0) & (steps < MAX_BRIDGE_S)].sum())
        self._last = float(t[-1])
        wait = self._wall0 + self._played / self.speed - now
        if wait > 0:
            self.sleep(wait)

    def slice_samples(self, fs_hz: float) -> int:
        """Return the samples fed at once: `LIVE_SLICE_S` of wall-clock time, at least one."""
        return max(1, round(LIVE_SLICE_S * self.speed * fs_hz))


# --------------------------------------------------------------------------- replay


def text_bytes(path: Path) -> int:
    """Return about how many bytes of text `path` holds (uncompressed), to choose the way in.

    A gzip file tells its uncompressed size in its last four bytes, but only
    its last member's (files joined with ``cat``, bgzip, a logger appending a
    member per flush) and modulo 4 GiB: it counts as at least
    `GZIP_TEXT_RATIO` times its size. A zip archive tells its members' sizes;
    a folder is the sum of its files.

    Parameters
    ----------
    path : Path
        A file, zip archive or folder.

    Returns
    -------
    int
        Bytes.
    """
    path = Path(path)
    if path.is_dir():
        return sum(text_bytes(p) for p in path.iterdir() if p.is_file())
    size = path.stat().st_size
    with path.open("rb") as fh:
        magic = fh.read(4)
        if magic[:2] == GZIP_MAGIC and size >= 18:
            fh.seek(-4, os.SEEK_END)
            return max(GZIP_TEXT_RATIO * size, struct.unpack("<I", fh.read(4))[0])
    if magic in (b"PK\x03\x04", b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as archive:
                return sum(i.file_size for i in archive.infolist())
        except (zipfile.BadZipFile, OSError):
            return size
    return size


def replay(
    path: Path,
    placement: str,
    *,
    format: str | None = None,
    units: str | None = None,
    time_unit: str | None = None,
    fs_hz: float | None = None,
    stream: bool | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    sink: SampleSink | None = None,
    progress: Callable[[float], None] | None = None,
    on_update: UpdateFn | None = None,
    pacer: Pacer | None = None,
    detect: DetectFn | None = None,
    summarize: SummarizeFn | None = None,
) -> ReplayResult:
    """Run the contact detector over a recorded file (see the module docstring).

    Parameters
    ----------
    path : Path
        The recording: a file, zip archive or folder of a format of
        `loadmon.io.exporters.FORMATS`.
    placement : str
        Where the sensor was worn (`loadmon.signal.types.PLACEMENTS`).
    format : str, optional
        Force a format instead of detecting it.
    units : {"g", "mg", "m/s2"}, optional
        Acceleration unit when the header does not say it.
    time_unit : {"s", "ms", "us", "ns"}, optional
        Time unit of a generic CSV when its header does not say it.
    fs_hz : float, optional
        Nominal sampling rate, Hz; default: the file's, else estimated.
    stream : bool, optional
        Stream (True) or read whole (False); default: stream files of more
        than `STREAM_FROM_BYTES` and every paced replay.
    chunk_rows : int
        Rows per chunk when streaming.
    sink : SampleSink, optional
        Also receives every sample fed to the detector (to save them).
    progress : callable, optional
        Called with the share of the file read (0-1) after each chunk.
    on_update : callable, optional
        Called after each piece fed to the detector with the time since the
        first sample (s), the time on the file's clock (s) and the contacts
        and toe-offs that piece decided (streamed replays only).
    pacer : Pacer, optional
        Feed the detector at real time x speed (a live replay; streams).
    detect : callable, optional
        ``detect(recording) -> contacts`` for a whole file; default
        `loadmon.signal.detect_contacts`.
    summarize : callable, optional
        ``summarize(contacts, recording, segments_s) -> GaitSummary``; default
        `loadmon.signal.summarize` (a streamed file passes its stretches with
        samples, a whole one None).

    Returns
    -------
    ReplayResult
        Contacts, summary and what was read.

    Raises
    ------
    FileFormatError
        One line naming the file when it cannot be used.
    OSError
        When it cannot be opened.
    ValueError
        An argument that does not apply (units for the plain layout, a bad rate).
    """
    path = Path(path)
    if summarize is None:
        from loadmon.signal import summarize as summarize_default

        summarize = summarize_default
    if stream is None:
        stream = pacer is not None or text_bytes(path) > STREAM_FROM_BYTES
    if not stream:
        return _replay_whole(path, placement, format, units, time_unit, fs_hz, sink, progress,
                             detect, summarize)
    return _replay_stream(path, placement, format, units, time_unit, fs_hz, chunk_rows, sink,
                          progress, on_update, pacer, summarize)


def _replay_whole(
    path: Path,
    placement: str,
    format: str | None,
    units: str | None,
    time_unit: str | None,
    fs_hz: float | None,
    sink: SampleSink | None,
    progress: Callable[[float], None] | None,
    detect: DetectFn | None,
    summarize: SummarizeFn,
) -> ReplayResult:
    rec, notes, info = read_recording(
        path, placement, format=format, units=units, time_unit=time_unit, fs_hz=fs_hz
    )
    if detect is None:
        from loadmon.signal import detect_contacts

        detect = detect_contacts
    if sink is not None:
        sink.start(rec.fs_hz, rec.gyro_dps is not None,
                   **_sink_meta(placement, info, rec.start_utc, rec.side))
        sink.write(rec.t_s, rec.acc_g, rec.gyro_dps)
    contacts = detect(rec)
    if contacts.attrs.get("dropped"):  # as a stream reports it
        notes.append(f"the detector dropped {contacts.attrs['dropped']} samples")
    if progress is not None:
        progress(1.0)
    return ReplayResult(
        file=path, placement=placement, fs_hz=rec.fs_hz, n_samples=len(rec.t_s),
        t_first_s=float(rec.t_s[0]), t_last_s=float(rec.t_s[-1]),
        has_gyro=rec.gyro_dps is not None, side=rec.side, start_utc=rec.start_utc,
        device=rec.device, contacts=contacts, summary=summarize(contacts, rec, None), info=info,
        notes=notes, streamed=False,
    )


@dataclass
class _Gaps:
    """Gaps of `loadmon.signal.types.MAX_BRIDGE_S` or more, counted across chunks."""

    last: float | None = None
    before: list[float] = field(default_factory=list)
    length: list[float] = field(default_factory=list)

    def add(self, t: np.ndarray) -> None:
        if not len(t):
            return
        full = t if self.last is None else np.concatenate(([self.last], t))
        dt = np.diff(full)
        at = np.flatnonzero(dt >= MAX_BRIDGE_S)
        self.before += full[at].tolist()
        self.length += dt[at].tolist()
        self.last = float(t[-1])

    def report(self, notes: list[str]) -> None:
        report_gaps(np.array(self.before), np.array(self.length), notes)


def _replay_stream(
    path: Path,
    placement: str,
    format: str | None,
    units: str | None,
    time_unit: str | None,
    fs_hz: float | None,
    chunk_rows: int,
    sink: SampleSink | None,
    progress: Callable[[float], None] | None,
    on_update: UpdateFn | None,
    pacer: Pacer | None,
    summarize: SummarizeFn,
) -> ReplayResult:
    from loadmon.signal import ContactDetector, contacts_frame
    from loadmon.signal.summary import segments_between_gaps
    from loadmon.signal.types import Recording, timing_problem

    fmt = detect_format(path, format)
    notes: list[str] = []
    meta = PlainMeta()
    if fmt.name == "plain":
        if units not in (None, "g") or time_unit not in (None, "s"):
            raise ValueError("the plain layout is in s and g: units and time_unit do not apply")
        with named(str(path)):
            meta = read_plain_meta(path, notes)
    chunks = fmt.open(path, chunk_rows=chunk_rows, units=units, time_unit=time_unit,
                      fs_hz=fs_hz, notes=notes)
    it = iter(chunks)
    head: list[Chunk] = []
    for chunk in it:  # the first samples tell the rate
        head.append(chunk)
        if sum(len(c.t_s) for c in head) >= RATE_PROBE_SAMPLES:
            break
    n_head = sum(len(c.t_s) for c in head)
    if n_head < 2:
        raise FileFormatError(
            f"{chunks.label}: "
            + ("no usable samples" if n_head == 0 else "only one usable sample")
        )
    info = chunks.info
    t_probe = np.concatenate([c.t_s for c in head])
    with named(chunks.label):
        if fs_hz is not None:
            stated, origin = fs_hz, "given"
        elif info.header_fs_hz is not None:
            stated, origin = info.header_fs_hz, "the header's"
        else:
            stated, origin = meta.fs_hz, "meta.json's"
        rate = nominal_rate(np.diff(t_probe), stated, notes, origin=origin,
                            time_label=chunks.time_label)
        problem = timing_problem(t_probe, rate)  # as detect_contacts refuses a whole file
        if problem:
            raise FileFormatError(problem)
        if info.gravity is not False:
            check_units(np.vstack([c.acc_g for c in head]), notes)
    has_gyro = head[0].gyro_dps is not None
    det = ContactDetector(placement, rate, has_gyro=has_gyro, side=meta.side)
    if sink is not None:
        start_utc = info.start_utc or meta.start_utc
        sink.start(rate, has_gyro, **_sink_meta(placement, info, start_utc, meta.side))
    step = pacer.slice_samples(rate) if pacer is not None else None
    t0 = float(head[0].t_s[0])
    found: list[GaitEvent] = []
    gaps = _Gaps()
    n = 0
    t_last = t0

    def pieces() -> Iterator[Chunk]:
        yield from head
        yield from it

    for chunk in pieces():
        if has_gyro and chunk.gyro_dps is None:
            raise FileFormatError(f"{chunks.label}: the gyroscope stops part way through")
        switch = units_switch(chunk.acc_g) if info.gravity is not False else None
        if switch is not None:  # as check_units refuses a whole file
            with named(chunks.label):
                raise units_switch_error(n + switch[0], switch[1])
        gyro = chunk.gyro_dps if has_gyro else None
        if sink is not None:
            sink.write(chunk.t_s, chunk.acc_g, gyro)
        gaps.add(chunk.t_s)
        n += len(chunk.t_s)
        t_last = float(chunk.t_s[-1])
        size = step or len(chunk.t_s)
        for i in range(0, len(chunk.t_s), size):
            t = chunk.t_s[i : i + size]
            if pacer is not None:
                pacer.wait_until(t)
            new = det.push(t, chunk.acc_g[i : i + size],
                           None if gyro is None else gyro[i : i + size])
            found += new
            if on_update is not None:
                on_update(float(t[-1]) - t0, float(t[-1]), new)
        if progress is not None:
            progress(chunks.fraction)
    last = det.finish()
    found += last
    if on_update is not None:
        on_update(t_last - t0, t_last, last)
    gaps.report(notes)
    if det.dropped:  # the reader dropped these already; the detector sees clean samples
        notes.append(f"the detector dropped {det.dropped} samples")
    contacts = contacts_frame(found)
    span = Recording(  # summarize reads the placement and rate, the stretches come apart
        t_s=np.array([t0, t_last]), acc_g=np.zeros((2, 3)), fs_hz=rate, placement=placement,
        side=meta.side,
    )
    segments = segments_between_gaps(t0, t_last, np.array(gaps.before), np.array(gaps.length),
                                     rate)
    info = chunks.info
    if info.start_utc is None and meta.start_utc is not None:  # a plain layout's meta.json
        info = replace(info, start_utc=meta.start_utc)
    return ReplayResult(
        file=path, placement=placement, fs_hz=rate, n_samples=n, t_first_s=t0, t_last_s=t_last,
        has_gyro=has_gyro, side=meta.side, start_utc=info.start_utc,
        device=info.device, contacts=contacts, summary=summarize(contacts, span, segments),
        info=info,
        notes=notes, streamed=True,
    )


def _sink_meta(
    placement: str, info: ExportInfo, start_utc: datetime | None, side: str | None
) -> dict[str, str | None]:
    return {
        "placement": placement,
        "format": info.format,
        "units": info.units,
        "start_utc": start_utc.isoformat() if start_utc else None,
        "side": side,
    }


# --------------------------------------------------------------------------- saving


@dataclass(frozen=True)
class RunDetails:
    """What the runner adds to a saved replay (all optional).

    Attributes
    ----------
    athlete : str or None
        Athlete name (None: the default athlete).
    shoe, surface : str or None
        Shoe name (as stored) and surface (`loadmon.types.SURFACES`).
    distance_km : float or None
        Measured distance; None: estimated from the steps.
    rpe : float or None
        Session RPE, 0-10.
    """

    athlete: str | None = None
    shoe: str | None = None
    surface: str | None = None
    distance_km: float | None = None
    rpe: float | None = None


@dataclass(frozen=True)
class SaveOutcome:
    """What saving a replay did.

    Attributes
    ----------
    status : {"saved", "duplicate"}
        Stored, or already in the log (nothing stored).
    athlete : str
        The athlete's name.
    checksum : str
        SHA-256 of the source file.
    recording : Path or None
        The raw Parquet file (None for a duplicate).
    distance_m : float or None
        The session's distance.
    distance_estimated : bool
        Whether it was estimated from the steps.
    step_length : StepLength or None
        The step length used for an estimate.
    start_utc : datetime
        The session's start.
    time_known : bool
        False when only the date is known (from the file's modification time).
    tz : str
        The athlete's time zone (IANA name).
    duplicate_of : str or None
        The stored source the run duplicates.
    """

    status: str
    athlete: str
    checksum: str
    recording: Path | None
    distance_m: float | None
    distance_estimated: bool
    step_length: StepLength | None
    start_utc: datetime
    time_known: bool
    tz: str = "UTC"
    duplicate_of: str | None = None

    @property
    def start_local(self) -> datetime:
        """The start in the athlete's time zone."""
        return self.start_utc.astimezone(ZoneInfo(self.tz))


def session_start(
    first_sample_utc: datetime | None, mtime_s: float, duration_s: float, zone: ZoneInfo
) -> tuple[datetime, bool]:
    """Return a replayed run's start and whether its time is known.

    With the file's clock, the first sample's UTC time. Without it, only a
    date is known: the local date (in the athlete's `zone`) on which the
    recording began if it ended when the file was last modified; the start
    is then local midnight of that date (as `loadmon.types.Session` defines
    for ``time_known=False``).

    Parameters
    ----------
    first_sample_utc : datetime or None
        UTC time of the first sample, when the file tells it.
    mtime_s : float
        The file's modification time, Unix seconds.
    duration_s : float
        The recording's duration, s.
    zone : ZoneInfo
        The athlete's time zone.

    Returns
    -------
    start_utc : datetime
        Timezone-aware UTC.
    time_known : bool
        False for a date-only start.
    """
    if first_sample_utc is not None:
        return first_sample_utc.astimezone(UTC), True
    began = datetime.fromtimestamp(mtime_s - max(duration_s, 0.0), UTC).astimezone(zone)
    midnight = datetime(began.year, began.month, began.day, tzinfo=zone)
    return midnight.astimezone(UTC), False


def save_replay(
    store: Store,
    source: Path,
    details: RunDetails,
    checksum: str,
    data_dir: Path,
    run: Callable[[SampleSink | None], ReplayResult],
    now: datetime | None = None,
) -> tuple[ReplayResult, SaveOutcome]:
    """Replay a file while writing its samples to Parquet, then store the run; all or nothing.

    Order: the athlete and shoe are checked first; a source already in the
    athlete's log is replayed without saving (``status="duplicate"``); else
    the samples go to a temporary Parquet file as the detector reads them,
    which is renamed to ``recordings/<checksum>.parquet`` and then the
    session is added in one transaction. A failure at any step deletes the
    Parquet file it created: no session without its raw file, no raw file
    without its session.

    Parameters
    ----------
    store : Store
        The log.
    source : Path
        The replayed file (its name and modification time are kept).
    details : RunDetails
        Athlete, shoe, surface, distance, RPE.
    checksum : str
        SHA-256 of the source (`loadmon.io.rawfiles.content_checksum`).
    data_dir : Path
        The data directory (`loadmon.store.data_dir`).
    run : callable
        ``run(sink) -> ReplayResult``: the replay, feeding `sink` (None: do
        not write samples).
    now : datetime, optional
        The current time (UTC), for the store's future-date check.

    Returns
    -------
    result : ReplayResult
        The replay.
    outcome : SaveOutcome
        What was stored.
    """
    from loadmon.io.rawfiles import ParquetRecordingWriter, recording_path
    from loadmon.types import Session

    who = store.athlete(details.athlete)
    if details.shoe is not None:
        store.shoe(who, details.shoe)  # NotFound before the work, not after
    if store.has_source(who, checksum):
        result = run(None)
        start, known = session_start(result.first_sample_utc, source.stat().st_mtime,
                                     result.duration_s, who.zone)
        return result, SaveOutcome("duplicate", who.name, checksum, None, None, False, None,
                                   start, known, who.tz, duplicate_of=source.name)
    target = recording_path(data_dir, checksum)
    with ParquetRecordingWriter(target.parent, {"source_file": source.name}) as writer:
        result = run(writer)
        start, known = session_start(result.first_sample_utc, source.stat().st_mtime,
                                     result.duration_s, who.zone)
        distance_m, estimated, step = _distance(store, who, result, details.distance_km)
        summary = result.summary
        measured_step = (
            distance_m / summary.steps if distance_m is not None and not estimated
            and summary.steps else None
        )
        session = Session(
            start_utc=start,
            duration_s=result.duration_s,
            kind="run",
            distance_m=distance_m,
            sport="running",
            shoe=details.shoe,
            surface=details.surface,
            rpe=details.rpe,
            source="replay",
            device=result.device,
            cadence_spm=summary.cadence_spm,
            stance_time_ms=summary.contact_ms_median,
            impact_g=summary.impact_g_median,
            step_length_m=measured_step,
            time_known=known,
            distance_estimated=estimated,
            recording=target.relative_to(data_dir).as_posix(),
        )
        created = writer.commit(target)
    try:
        added: AddOutcome = store.add_sessions(who, [session], checksum=checksum,
                                               source_name=source.name, now=now)
    except BaseException:
        if created:
            _drop_unused(store, target, session.recording or "")
        raise
    if not added.added:
        if created:
            _drop_unused(store, target, session.recording or "")
        return result, SaveOutcome("duplicate", who.name, checksum, None, None, False, None,
                                   start, known, who.tz,
                                   duplicate_of=added.duplicate_of[0])
    return result, SaveOutcome("saved", who.name, checksum, target, distance_m, estimated, step,
                               start, known, who.tz)


def _drop_unused(store: Store, target: Path, recording: str) -> None:
    """Delete a raw file this save created, unless a session saved meanwhile points to it."""
    try:
        in_use = store.recording_in_use(recording)
    except Exception:  # the store is failing: nothing can point to the new file
        in_use = False
    if not in_use:
        target.unlink(missing_ok=True)


def _distance(
    store: Store, who: AthleteInfo, result: ReplayResult, distance_km: float | None
) -> tuple[float | None, bool, StepLength | None]:
    """Return the distance (m), whether it is estimated, and the step length of an estimate."""
    from loadmon.distance import step_length

    if distance_km is not None:
        return distance_km * 1000.0, False, None
    if result.summary.steps == 0:
        return None, False, None
    runs = store.sessions_frame(
        [who.name],
        columns=["start_utc", "kind", "distance_m", "distance_estimated", "cadence_spm",
                 "duration_s"],
    )
    step = step_length(runs, who.height_cm)
    return result.summary.steps * step.m, True, step
