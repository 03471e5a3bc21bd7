"""Scanning and recording sessions over bleak, and turning a recording into a training session.

`scan` lists nearby sensors with the profiles they offer; `record` connects
to several sensors at once (one clock: the recorder's monotonic clock),
keeps each connected with bleak-retry-connector (a fresh client each time,
backoff between attempts, the gap recorded as events), and drains the
`Recorder` a few times a second off the notification callbacks.
`session_from_run` makes the `loadmon.types.Session` of a decoded run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadmon.ble.profiles import (
    PROFILE_CLASSES,
    NotifyMethod,
    Profile,
    ProfileError,
    profiles_for,
)
from loadmon.ble.rawlog import SUFFIX
from loadmon.ble.recorder import BleRun, Recorder
from loadmon.types import Session

#: How often the recorder is drained (and the live line updated), s.
DRAIN_EVERY_S = 0.1
#: Backoff between reconnection attempts: first, factor, longest (s).
BACKOFF_S = (0.5, 2.0, 8.0)
#: Connection attempts bleak-retry-connector makes before we back off.
CONNECT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A device seen by a scan.

    Attributes
    ----------
    address : str
        Its address.
    name : str or None
        Its advertised name.
    rssi : int
        Signal strength, dBm.
    profiles : tuple of str
        Profiles it offers (see `loadmon.ble.profiles.PROFILE_SERVICES`).
    device : Any
        The `bleak.backends.device.BLEDevice` (to connect to).
    """

    address: str
    name: str | None
    rssi: int
    profiles: tuple[str, ...]
    device: Any = None

    def as_dict(self) -> dict[str, Any]:
        """Return the device as plain data (for ``--json``)."""
        return {"address": self.address, "name": self.name, "rssi": self.rssi,
                "profiles": list(self.profiles)}


async def scan(timeout_s: float = 5.0) -> list[FoundDevice]:
    """Scan for nearby devices.

    Parameters
    ----------
    timeout_s : float
        Scan duration, s.

    Returns
    -------
    list of FoundDevice
        Every device seen, strongest first.
    """
    from bleak import BleakScanner

    seen = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
    out = [
        FoundDevice(dev.address, adv.local_name or dev.name, adv.rssi,
                    tuple(profiles_for(adv.service_uuids)), dev)
        for dev, adv in seen.values()
    ]
    return sorted(out, key=lambda d: -d.rssi)


def pick_devices(found: Sequence[FoundDevice], wanted: Sequence[str],
                 profile: str) -> list[tuple[FoundDevice, list[str]]]:
    """Choose the devices and profiles to record.

    Parameters
    ----------
    found : sequence of FoundDevice
        Devices seen by a scan.
    wanted : sequence of str
        Addresses or names (case-insensitive); empty: every device with a
        recognised profile.
    profile : str
        ``auto`` (every profile a device offers) or one profile name.

    Returns
    -------
    list of (FoundDevice, list of str)
        Each device with the profiles to record from it.

    Raises
    ------
    ProfileError
        A wanted device was not found, or offers none of the profiles.
    """
    picked = []
    for want in wanted:
        match = [d for d in found if want.lower() in (d.address.lower(), (d.name or "").lower())]
        if not match:
            raise ProfileError(f"no device {want!r} found (try: loadmon scan)")
        picked.append(match[0])
    if not wanted:
        picked = [d for d in found if d.profiles]
        if not picked:
            raise ProfileError("no sensor found: is it awake and near? (try: loadmon scan)")
    out = []
    for d in picked:
        names = list(d.profiles) if profile == "auto" else [profile]
        if profile == "auto" and not names:
            raise ProfileError(f"{d.name or d.address} offers no known profile; "
                               "choose one with --profile")
        out.append((d, names))
    return out


def new_recording_path(folder: Path) -> Path:
    """Return a fresh recording file name under `folder` (UTC start time and a random tag)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"{stamp}-{secrets.token_hex(3)}{SUFFIX}"


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def keep_connected(
    found: FoundDevice,
    profiles: Sequence[Profile],
    recorder: Recorder,
    stop: asyncio.Event,
    status: Callable[[str], None],
) -> None:
    """Connect, subscribe, and reconnect with backoff after each link loss until `stop`.

    Parameters
    ----------
    found : FoundDevice
        The device.
    profiles : sequence of Profile
        Its profiles (subscribed again on each connection).
    recorder : Recorder
        Gets ``connected`` / ``disconnected`` events.
    stop : asyncio.Event
        Set to end the recording.
    status : callable
        Gets one-line status messages.
    """
    from bleak import BleakClient
    from bleak_retry_connector import establish_connection

    label = found.name or found.address
    channel = profiles[0].channel
    backoff = BACKOFF_S[0]
    while not stop.is_set():
        lost = asyncio.Event()
        try:
            client = await establish_connection(
                BleakClient, found.device, label,
                disconnected_callback=lambda _c, lost=lost: lost.set(),
                max_attempts=CONNECT_ATTEMPTS,
            )
        except Exception as exc:
            status(f"{label}: cannot connect ({exc}); retrying in {backoff:g} s")
            await _wait(stop, backoff)
            backoff = min(backoff * BACKOFF_S[1], BACKOFF_S[2])
            continue
        recorder.event(channel, "connected", device=found.address)
        status(f"{label}: connected")
        try:
            for p in profiles:
                await p.start(client)
            backoff = BACKOFF_S[0]
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        except Exception as exc:
            status(f"{label}: {exc}")
        if stop.is_set() and client.is_connected:
            for p in profiles:
                await p.stop(client)
            with contextlib.suppress(Exception):
                await client.disconnect()
            return
        recorder.event(channel, "disconnected", device=found.address)
        status(f"{label}: link lost; reconnecting in {backoff:g} s")
        with contextlib.suppress(Exception):
            await client.disconnect()
        await _wait(stop, backoff)
        backoff = min(backoff * BACKOFF_S[1], BACKOFF_S[2])


async def record(
    picked: Sequence[tuple[FoundDevice, list[str]]],
    recorder: Recorder,
    *,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    rate_hz: int | None = None,
    range_g: int | None = None,
    notify: NotifyMethod = "start",
    status: Callable[[str], None] = lambda _m: None,
    tick: Callable[[list[Any]], None] = lambda _c: None,
) -> BleRun:
    """Record from several devices at once until `duration_s` or `stop`.

    Parameters
    ----------
    picked : sequence of (FoundDevice, list of str)
        Devices and profiles (`pick_devices`).
    recorder : Recorder
        The recorder (its file is created already).
    duration_s : float or None
        Stop after this long, s.
    stop : asyncio.Event or None
        Set it to stop (Ctrl-C).
    rate_hz, range_g : int or None
        Accelerometer settings (None: the highest offered).
    notify : {"start", "acquire"}
        Notification method.
    status : callable
        Gets status lines.
    tick : callable
        Called after each drain with the contacts it completed.

    Returns
    -------
    BleRun
        The decoded run (the recording file is closed).
    """
    stop = stop or asyncio.Event()
    tasks = []
    for found, names in picked:
        profiles = []
        for name in names:
            kwargs: dict[str, Any] = {"notify": notify, "status": status}
            if name == "polar-acc":
                kwargs.update(rate_hz=rate_hz, range_g=range_g)
            profiles.append(PROFILE_CLASSES[name](found.address, found.name, recorder, **kwargs))
        tasks.append(asyncio.ensure_future(keep_connected(found, profiles, recorder, stop,
                                                          status)))
    loop = asyncio.get_running_loop()
    end = None if duration_s is None else loop.time() + duration_s
    try:
        while not stop.is_set() and (end is None or loop.time() < end):
            await _wait(stop, DRAIN_EVERY_S)
            tick(recorder.drain())
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10.0)
        for t in tasks:
            t.cancel()
    return recorder.close()


def session_from_run(
    run: BleRun,
    recording: Path,
    *,
    shoe: str | None = None,
    surface: str | None = None,
    rpe: float | None = None,
) -> Session | None:
    """Return the training session of a decoded run (None when nothing was recorded).

    Distance comes from the foot pod (total distance, else its speed); the
    cadence from the accelerometer's contacts, else the pod's cadence; heart
    rate from the strap.

    Parameters
    ----------
    run : BleRun
        The run.
    recording : Path
        Its recording file (named in the session).
    shoe, surface : str or None
        As the runner gave them.
    rpe : float or None
        Session RPE.

    Returns
    -------
    Session or None
        The session.
    """
    start = run.first_utc
    if start is None or run.duration_s <= 0:
        return None
    distance, _how = run.distance_m()
    cadence = None
    stance = None
    impact = None
    summaries = [s for s in run.summaries.values() if s.contacts]
    if summaries:
        cadence = summaries[0].cadence_spm
        stance = summaries[0].contact_ms_median
        impact = summaries[0].impact_g_median
    elif len(run.rsc):
        moving = run.rsc[run.rsc["cadence"] > 0]["cadence"]
        cadence = float(moving.mean()) if len(moving) else None
    hr = float(run.hr["bpm"].mean()) if len(run.hr) else None
    names = sorted({ch.name or ch.device for ch in run.channels.values()})
    return Session(
        start_utc=start.replace(microsecond=0), duration_s=round(run.duration_s, 1), kind="run",
        distance_m=distance, sport="running", shoe=shoe, surface=surface, rpe=rpe,
        source="ble", device=", ".join(names) or None, cadence_spm=cadence,
        stance_time_ms=stance, avg_hr_bpm=hr, impact_g=impact, recording=recording.name,
    )


def recording_checksum(path: Path) -> str:
    """Return the idempotency key of a recording: ``ble:`` and its file name."""
    return f"ble:{Path(path).name}"
