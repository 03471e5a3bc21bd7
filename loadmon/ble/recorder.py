"""The recorder core, without Bluetooth: notifications in, a durable file and a run out.

* `Recorder.callback` gives each subscribed characteristic a notification
  callback that only takes the monotonic time and queues the bytes;
* `Recorder.drain` (called off the callback, a few times a second) appends
  the queued notifications to the recording file (`loadmon.ble.rawlog`) and
  feeds them to a `StreamDecoder`;
* `StreamDecoder` turns records into values: RSC speed / cadence / distance,
  heart rate, Polar accelerations on the recording's clock, the online
  contact detector's contacts; malformed notifications are counted and
  skipped. Recovery (`decode_log`) replays a file's records through the same
  decoder, so an interrupted recording gives what the live run had up to its
  last flush.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loadmon.ble import codecs as c
from loadmon.ble.rawlog import (
    CHANNEL,
    END,
    EVENT,
    META,
    NOTIFY,
    LogWriter,
    Record,
    json_record,
    read_log,
)
from loadmon.signal import ContactDetector, GaitEvent, Recording, contacts_frame, summarize
from loadmon.signal.types import GaitSummary

#: Channel kinds: what a channel's notifications are.
KINDS = ("rsc", "hr", "pmd_acc", "pmd_control", "sc_control")
#: An RSC total distance falling by more than this (dm) is a wrap of the uint32, not a reset.
WRAP_MIN_DM = 1 << 31
#: Speed integration bridges silences up to this long, s (longer ones add nothing).
MAX_SPEED_GAP_S = 5.0


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What a channel number stands for.

    Attributes
    ----------
    number : int
        Channel number in the file (1, 2, ...).
    kind : str
        One of `KINDS`.
    device : str
        Device address.
    name : str or None
        Device name.
    """

    number: int
    kind: str
    device: str
    name: str | None = None


@dataclass
class _AccStream:
    """State of one Polar accelerometer channel."""

    rate_hz: float = 0.0
    range_g: float | None = None
    factor: float = 1.0
    previous_ns: int = 0
    ref_ns: int = 0
    offset_s: float | None = None
    t: list[np.ndarray] = field(default_factory=list)
    acc: list[np.ndarray] = field(default_factory=list)
    detector: ContactDetector | None = None
    contacts: list[GaitEvent] = field(default_factory=list)  # this sensor's alone


@dataclass
class BleRun:
    """Everything decoded from one recording.

    Attributes
    ----------
    start_utc : datetime or None
        UTC time of the recording's clock zero (``t = 0``).
    t_first, t_last : float or None
        First and last notification, s on the recording's clock.
    channels : dict of int to ChannelInfo
        The channels.
    rsc : pandas.DataFrame
        One row an RSC measurement: ``t_s``, ``speed_mps``, ``cadence``,
        ``stride_m``, ``total_dm``, ``running``.
    hr : pandas.DataFrame
        One row a heart-rate measurement: ``t_s``, ``bpm``, ``rr_s`` (tuple).
    recordings : dict of int to Recording
        Accelerations of each PMD channel on the recording's clock.
    contacts : pandas.DataFrame
        Contacts found online (`loadmon.signal.types.CONTACT_COLUMNS`), all
        accelerometer channels.
    summaries : dict of int to GaitSummary
        Gait summary of each accelerometer channel.
    notifications : int
        Notifications read.
    malformed : dict of int to int
        Malformed notifications per channel (skipped).
    gaps : list of tuple of float
        (start, end) of each time a device's link was lost, s; end None if it never came
        back (the gaps of several devices may overlap).
    complete : bool
        Whether the recording ended cleanly.
    meta : dict
        The META record (athlete, shoe, surface, rpe, placement, ... as given to `record`).
    """

    start_utc: datetime | None = None
    t_first: float | None = None
    t_last: float | None = None
    channels: dict[int, ChannelInfo] = field(default_factory=dict)
    rsc: pd.DataFrame = field(default_factory=pd.DataFrame)
    hr: pd.DataFrame = field(default_factory=pd.DataFrame)
    recordings: dict[int, Recording] = field(default_factory=dict)
    contacts: pd.DataFrame = field(default_factory=lambda: contacts_frame([]))
    summaries: dict[int, GaitSummary] = field(default_factory=dict)
    notifications: int = 0
    malformed: dict[int, int] = field(default_factory=dict)
    gaps: list[tuple[float, float | None]] = field(default_factory=list)
    complete: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last notification, s."""
        if self.t_first is None or self.t_last is None:
            return 0.0
        return self.t_last - self.t_first

    @property
    def first_utc(self) -> datetime | None:
        """UTC time of the first notification."""
        if self.start_utc is None or self.t_first is None:
            return None
        return self.start_utc + timedelta(seconds=self.t_first)

    def distance_m(self) -> tuple[float | None, str]:
        """Return the run's distance and how it was found.

        Returns
        -------
        distance_m : float or None
            From the pod's total distance (uint32 wrap-around and resets
            handled), else the integral of its speed, else None.
        how : str
            ``"total distance"``, ``"speed"`` or ``"none"``.
        """
        if len(self.rsc) and self.rsc["total_dm"].notna().any():
            return total_distance_m(self.rsc["total_dm"].dropna().to_numpy(np.int64)), \
                "total distance"
        if len(self.rsc) >= 2:
            t = self.rsc["t_s"].to_numpy(np.float64)
            v = self.rsc["speed_mps"].to_numpy(np.float64)
            dt = np.diff(t)
            ok = dt <= MAX_SPEED_GAP_S
            return float(np.sum(0.5 * (v[1:] + v[:-1])[ok] * dt[ok])), "speed"
        return None, "none"


def total_distance_m(total_dm: np.ndarray) -> float:
    """Return the distance covered by a sequence of RSC total-distance values, m.

    A fall of more than `WRAP_MIN_DM` is the uint32 wrapping round (the
    difference is taken modulo 2**32); a smaller fall is a reset of the
    pod's counter (power cycle, SC control point), across which nothing is
    counted.

    Parameters
    ----------
    total_dm : numpy.ndarray
        Total distance values, dm, in arrival order.

    Returns
    -------
    float
        Metres.
    """
    d = np.diff(np.asarray(total_dm, dtype=np.int64))
    d = np.where(d < -WRAP_MIN_DM, d + (1 << 32), d)
    return float(d[d >= 0].sum()) / 10.0


class StreamDecoder:
    """Decode a recording's records into values, incrementally (live) or all at once (recovery).

    Parameters
    ----------
    placement : str
        Where the accelerometers are worn (for the contact detector).
    """

    def __init__(self, placement: str = "foot") -> None:
        self.placement = placement
        self.run = BleRun()
        self._rsc: list[tuple[Any, ...]] = []
        self._hr: list[tuple[float, int, tuple[float, ...]]] = []
        self._acc: dict[int, _AccStream] = {}
        self._open_gaps: dict[Any, int] = {}
        #: Latest values for a live line.
        self.last_bpm: int | None = None
        self.last_speed_mps: float | None = None
        self.pmd_status: dict[int, str] = {}

    def feed(self, rec: Record) -> list[GaitEvent]:
        """Take one record; return the contacts it completed.

        Parameters
        ----------
        rec : Record
            The record.

        Returns
        -------
        list of Contact or ToeOff
            Contacts and toe-offs decided by it.
        """
        run = self.run
        if rec.kind == META:
            meta = rec.json()
            run.meta = dict(meta)
            if meta.get("start_utc"):
                run.start_utc = datetime.fromisoformat(meta["start_utc"]).astimezone(UTC)
        elif rec.kind == CHANNEL:
            j = rec.json()
            run.channels[rec.channel] = ChannelInfo(rec.channel, j["kind"], j["device"],
                                                    j.get("name"))
            if j["kind"] == "pmd_acc":
                self._acc[rec.channel] = _AccStream()
        elif rec.kind == EVENT:
            self._event(rec)
        elif rec.kind == END:
            run.complete = True
        elif rec.kind == NOTIFY:
            run.notifications += 1
            run.t_first = rec.t if run.t_first is None else run.t_first
            run.t_last = rec.t
            try:
                return self._notify(rec)
            except c.ParseError:
                run.malformed[rec.channel] = run.malformed.get(rec.channel, 0) + 1
        return []

    def _event(self, rec: Record) -> None:
        j = rec.json()
        name = j.get("event")
        gaps = self.run.gaps
        device = j.get("device") or rec.channel  # links come and go one device at a time
        if name == "disconnected":
            self._open_gaps[device] = len(gaps)
            gaps.append((rec.t, None))
        elif name == "connected" and device in self._open_gaps:
            i = self._open_gaps.pop(device)
            gaps[i] = (gaps[i][0], rec.t)
        elif name == "pmd_start" and rec.channel in self._acc:
            s = self._acc[rec.channel]
            s.rate_hz = float(j["rate_hz"])
            s.range_g = float(j["range_g"]) if j.get("range_g") else None
            s.factor = float(j.get("factor") or 1.0)
            s.previous_ns = 0  # a new stream: the first frame's times come from the rate
            if s.detector is None:
                s.detector = ContactDetector(self.placement, s.rate_hz, range_g=s.range_g)

    def _notify(self, rec: Record) -> list[GaitEvent]:
        ch = self.run.channels.get(rec.channel)
        if ch is None:
            raise c.ParseError(f"notification on unknown channel {rec.channel}")
        if ch.kind == "rsc":
            m = c.decode_rsc_measurement(rec.data)
            self._rsc.append((rec.t, m.speed_mps, m.cadence, m.stride_length_m,
                              m.total_distance_dm, m.running))
            self.last_speed_mps = m.speed_mps
        elif ch.kind == "hr":
            h = c.decode_heart_rate(rec.data)
            self._hr.append((rec.t, h.bpm, h.rr_s))
            self.last_bpm = h.bpm
        elif ch.kind == "pmd_acc":
            return self._acc_frame(rec)
        elif ch.kind == "pmd_control":
            r = c.decode_pmd_response(rec.data)
            self.pmd_status[rec.channel] = r.status_text
        elif ch.kind == "sc_control":
            c.decode_sc_response(rec.data)
        return []

    def _acc_frame(self, rec: Record) -> list[GaitEvent]:
        s = self._acc[rec.channel]
        frame = c.decode_pmd_frame(rec.data)
        mg = c.decode_acc_mg(frame, s.factor)
        if s.rate_hz <= 0 and s.previous_ns == 0:
            raise c.ParseError("PMD frame before the stream's start settings")
        if not len(mg):
            raise c.ParseError("PMD frame without samples")
        if s.previous_ns and frame.timestamp_ns <= s.previous_ns:
            raise c.ParseError("PMD frame timestamp does not advance")
        ns = c.sample_times_ns(frame.timestamp_ns, s.previous_ns, len(mg), s.rate_hz)
        s.previous_ns = frame.timestamp_ns
        if s.offset_s is None:  # the sensor's clock, placed on ours by the first frame
            # times relative to the first frame in integer ns first: the sensor's clock
            # counts from 2000, where a double in seconds only resolves ~0.1 us
            s.ref_ns = frame.timestamp_ns
            s.offset_s = rec.t
        t = (ns - s.ref_ns) / 1e9 + s.offset_s
        acc = mg / 1000.0
        s.t.append(t)
        s.acc.append(acc)
        if s.detector is None:
            s.detector = ContactDetector(self.placement, s.rate_hz or 52.0, range_g=s.range_g)
        found = s.detector.push(t, acc)
        s.contacts += found
        return found

    def finish(self) -> BleRun:
        """End the stream: the remaining contacts, summaries and tables.

        Returns
        -------
        BleRun
            The decoded run.
        """
        run = self.run
        for number, s in self._acc.items():
            if s.detector is not None:
                s.contacts += s.detector.finish()
            if not s.t:
                continue
            t = np.concatenate(s.t)
            rate = s.rate_hz or _rate(t)
            rec = Recording(t_s=t, acc_g=np.vstack(s.acc), fs_hz=rate, placement=self.placement,
                            start_utc=run.start_utc, range_g=s.range_g,
                            device=run.channels[number].name)
            run.recordings[number] = rec
            # each sensor is summarized on its own contacts: two pods would count each other's
            run.summaries[number] = summarize(contacts_frame(s.contacts), rec)
        every = [e for s in self._acc.values() for e in s.contacts]
        run.contacts = contacts_frame(sorted(every, key=lambda k: k.t_s))
        run.rsc = pd.DataFrame(
            self._rsc, columns=["t_s", "speed_mps", "cadence", "stride_m", "total_dm", "running"]
        )
        run.hr = pd.DataFrame(self._hr, columns=["t_s", "bpm", "rr_s"])
        return run


def _rate(t: np.ndarray) -> float:
    dt = np.diff(t)
    dt = dt[dt > 0]
    return float(min(max(1.0 / np.median(dt), 1.0), 10_000.0)) if len(dt) else 52.0


def decode_log(path: Path, placement: str = "foot") -> BleRun:
    """Decode a recording file, interrupted or not, up to its last complete record.

    Parameters
    ----------
    path : Path
        The recording file.
    placement : str
        Placement of its accelerometers (the file's META record wins).

    Returns
    -------
    BleRun
        The run.
    """
    contents = read_log(path)
    meta = contents.meta()
    dec = StreamDecoder(meta.get("placement") or placement)
    for rec in contents.records:
        dec.feed(rec)
    return dec.finish()


Queued = tuple[int, float, int, bytes]


class Recorder:
    """Queue notifications from callbacks, write them durably, decode them off the callback.

    Parameters
    ----------
    path : Path
        The recording file to create.
    placement : str
        Where the accelerometers are worn.
    meta : dict
        Extra fields for the META record (athlete, shoe, surface, ...).
    clock : callable
        Monotonic clock, s.
    flush_every_s : float
        Longest time a record waits in memory.
    """

    def __init__(
        self,
        path: Path,
        placement: str = "foot",
        meta: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        flush_every_s: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.writer = LogWriter(self.path, flush_every_s, clock)
        self.decoder = StreamDecoder(placement)
        self._queue: deque[Queued] = deque()
        self._channels = 0
        self.t0 = clock()
        # record times are monotonic seconds; start_utc is the UTC time of monotonic zero
        zero_utc = datetime.now(UTC) - timedelta(seconds=clock())
        head = {"version": 1, "start_utc": zero_utc.isoformat(), "clock": "monotonic",
                "t0": self.t0, "placement": placement, **(meta or {})}
        self._write(json_record(META, self.t0, 0, head))
        self.writer.flush()  # the file is a recording from its first moment

    def _write(self, rec: Record) -> list[GaitEvent]:
        self.writer.append(rec)
        return self.decoder.feed(rec)

    def add_channel(self, kind: str, device: str, name: str | None = None) -> int:
        """Declare a channel (a subscribed characteristic); return its number.

        Parameters
        ----------
        kind : str
            One of `KINDS`.
        device : str
            Device address.
        name : str or None
            Device name.

        Returns
        -------
        int
            The channel number for `callback` and `event`.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown channel kind {kind!r}")
        self._channels += 1
        self._queue.append((CHANNEL, self.clock(), self._channels,
                            _json({"kind": kind, "device": device, "name": name})))
        return self._channels

    def callback(self, channel: int) -> Callable[[Any, bytearray], None]:
        """Return a notification callback for bleak: it timestamps and queues, nothing more.

        Parameters
        ----------
        channel : int
            The channel number.

        Returns
        -------
        callable
            ``(characteristic, data) -> None``.
        """
        clock, append = self.clock, self._queue.append

        def on_notify(_char: Any, data: bytearray) -> None:
            append((NOTIFY, clock(), channel, bytes(data)))

        return on_notify

    def event(self, channel: int, name: str, **fields: Any) -> None:
        """Queue an event (connected, disconnected, pmd_start, status ...).

        Parameters
        ----------
        channel : int
            The channel it concerns (0: none).
        name : str
            Event name.
        **fields
            JSON-serialisable details.
        """
        self._queue.append((EVENT, self.clock(), channel, _json({"event": name, **fields})))

    def drain(self) -> list[GaitEvent]:
        """Write and decode everything queued; return the contacts and toe-offs it decided.

        Returns
        -------
        list of Contact or ToeOff
            New contacts, and toe-offs giving earlier contacts' contact time.
        """
        found: list[GaitEvent] = []
        while self._queue:
            kind, t, ch, data = self._queue.popleft()
            found += self._write(Record(kind, t, ch, data))
        self.writer.flush_if_due()
        return found

    @property
    def elapsed_s(self) -> float:
        """Time since the recorder started, s."""
        return self.clock() - self.t0

    def close(self) -> BleRun:
        """Drain, mark the end, close the file and finish decoding.

        Returns
        -------
        BleRun
            The run.
        """
        self.drain()
        self._write(Record(END, self.clock(), 0, b""))
        self.writer.close()
        return self.decoder.finish()


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()

