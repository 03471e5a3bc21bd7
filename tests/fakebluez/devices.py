"""Scripted sensors for the fake BlueZ: an RSC foot pod, a heart-rate strap, a Polar PMD device.

Every device streams from an index it keeps across link losses, so a test
knows exactly which notifications were delivered (`FakeDevice.delivered`);
`drop_after` lists delivered-notification counts after which the link is
lost; `malformed` lists indices whose notification is replaced by garbage.
``speedup`` runs the device's clock faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from dbus_fast import Variant

from loadmon.ble import codecs as c
from tests.fakebluez.bluez import ADAPTER, CHAR_IF, DESC_IF, DEVICE_IF, SERVICE_IF, variants

if TYPE_CHECKING:
    from tests.fakebluez.bluez import FakeBlueZ

GARBAGE = b"\x03\x00"


class FakeDevice:
    """A scripted BLE peripheral.

    Parameters
    ----------
    address, name : str
        Its address and advertised name.
    count : int
        Notifications to send in all.
    period_s : float
        Device time between notifications, s.
    speedup : float
        Device time runs this much faster than wall-clock time.
    drop_after : sequence of int
        Lose the link after this many delivered notifications.
    malformed : sequence of int
        Indices of notifications replaced by garbage.
    rssi : int
        Advertised signal strength.
    """

    #: (service uuid, [(characteristic uuid, flags), ...]) of the GATT table.
    services: ClassVar[list[tuple[str, list[tuple[str, list[str]]]]]] = []
    advertised: ClassVar[list[str]] = []
    data_uuid = ""

    def __init__(self, address: str, name: str, count: int = 60, period_s: float = 1.0,
                 speedup: float = 1.0, drop_after: tuple[int, ...] = (),
                 malformed: tuple[int, ...] = (), rssi: int = -60) -> None:
        self.address, self.name, self.rssi = address, name, rssi
        self.path = f"{ADAPTER}/dev_{address.replace(':', '_')}"
        self.count, self.period_s, self.speedup = count, period_s, speedup
        self.drop_after = sorted(drop_after)
        self.malformed = set(malformed)
        self.bluez: FakeBlueZ | None = None
        self.char_paths: dict[str, str] = {}
        self.index = 0
        self.delivered: list[bytes] = []
        self.connections = 0
        self.done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()

    # -- advertising and GATT ------------------------------------------------------------

    def device_props(self) -> dict[str, Variant]:
        props = variants({
            "Address": self.address, "AddressType": "public", "Name": self.name,
            "Alias": self.name, "RSSI": self.rssi, "UUIDs": list(self.advertised),
            "Adapter": ADAPTER, "Connected": False, "Paired": False, "Bonded": False,
            "Trusted": False, "Blocked": False, "LegacyPairing": False,
            "ServicesResolved": False,
        })
        props["ManufacturerData"] = Variant("a{qv}", {})
        props["ServiceData"] = Variant("a{sv}", {})
        return props

    def gatt_objects(self) -> list[tuple[str, dict[str, dict[str, Variant]]]]:
        out = []
        handle = 0x000A
        for suuid, chars in self.services:
            spath = f"{self.path}/service{handle:04x}"
            out.append((spath, {SERVICE_IF: variants(
                {"UUID": suuid, "Device": self.path, "Primary": True, "Includes": []}
            )}))
            handle += 1
            for cuuid, flags in chars:
                cpath = f"{spath}/char{handle:04x}"
                props = variants({"UUID": cuuid, "Service": spath, "Flags": flags,
                                  "Notifying": False, "MTU": 247})
                props["Value"] = Variant("ay", b"")
                if "notify" in flags or "indicate" in flags:
                    props["NotifyAcquired"] = Variant("b", False)
                out.append((cpath, {CHAR_IF: props}))
                self.char_paths[cuuid] = cpath
                handle += 2
                if "notify" in flags or "indicate" in flags:
                    out.append((f"{cpath}/desc{handle:04x}", {DESC_IF: variants(
                        {"UUID": c.CCCD, "Characteristic": cpath, "Value": b"\x00\x00"}
                    )}))
                    handle += 1
        return out

    def read(self, uuid: str) -> bytes:
        raise KeyError(uuid)

    async def write(self, uuid: str, data: bytes) -> None:
        raise KeyError(uuid)

    # -- streaming -----------------------------------------------------------------------

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def on_connected(self) -> None:
        self.connections += 1
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def on_disconnected(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def stop(self) -> None:
        self.on_disconnected()

    def item(self, i: int) -> bytes:
        raise NotImplementedError

    async def ready(self) -> None:
        """Wait until the device may stream (subscribed, started)."""
        assert self.bluez is not None
        path = self.char_paths[self.data_uuid]
        while not (self.bluez.objects.get(path, {}).get(CHAR_IF, {}).get("Notifying",
                                                                          Variant("b", False)).value
                   or path in self.bluez.acquired):
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        assert self.bluez is not None
        await self.ready()
        while self.index < self.count:
            data = GARBAGE if self.index in self.malformed else self.item(self.index)
            if not await self.bluez.notify(self.char_paths[self.data_uuid], data):
                await self.ready()
                continue
            self.delivered.append(data)
            self.index += 1
            if self.drop_after and len(self.delivered) >= self.drop_after[0]:
                self.drop_after.pop(0)
                self._later(self.bluez.drop(self))
                return
            await asyncio.sleep(self.period_s / self.speedup)
        self.done.set()


class RscPod(FakeDevice):
    """A Running Speed and Cadence foot pod: 3 m/s, 86 steps/min, total distance counting.

    Parameters
    ----------
    start_dm : int
        Total distance at the first notification (near 2**32 to test the wrap).
    **kwargs
        See `FakeDevice`.
    """

    services: ClassVar = [(c.RSC_SERVICE, [(c.RSC_MEASUREMENT, ["notify"]),
                                            (c.RSC_FEATURE, ["read"]),
                                            (c.SENSOR_LOCATION, ["read"]),
                                  (c.SC_CONTROL_POINT, ["write", "indicate"])])]
    advertised: ClassVar = [c.RSC_SERVICE]
    data_uuid = c.RSC_MEASUREMENT

    def __init__(self, *args: Any, start_dm: int = 1000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start_dm = start_dm

    def measurement(self, i: int) -> c.RscMeasurement:
        dist = (self.start_dm + round(i * self.period_s * 30)) % (1 << 32)
        return c.RscMeasurement(768, 86, 210, dist, True)

    def item(self, i: int) -> bytes:
        return c.encode_rsc_measurement(self.measurement(i))

    def read(self, uuid: str) -> bytes:
        if uuid == c.RSC_FEATURE:
            return c.encode_rsc_feature(c.RscFeature(0x07))
        if uuid == c.SENSOR_LOCATION:
            return c.encode_sensor_location(2)
        raise KeyError(uuid)


class HrStrap(FakeDevice):
    """A heart-rate strap: 140-160 bpm with RR intervals."""

    services: ClassVar = [(c.HR_SERVICE, [(c.HR_MEASUREMENT, ["notify"])])]
    advertised: ClassVar = [c.HR_SERVICE]
    data_uuid = c.HR_MEASUREMENT

    def item(self, i: int) -> bytes:
        bpm = 140 + i % 20
        return c.encode_heart_rate(c.HeartRateMeasurement(bpm, True, None,
                                                          (round(60 / bpm * 1024),)))


class PolarSense(FakeDevice):
    """A Polar device that answers the PMD control point and streams compressed ACC frames.

    Parameters
    ----------
    samples_mg : numpy.ndarray
        Accelerations, mG, shape (n, 3), at `rate_hz`.
    rate_hz : int
        The only sample rate offered.
    per_frame : int
        Samples per frame.
    startup_s : float
        Device time between the start response and the first frame.
    keep_clock : bool
        The sensor keeps sampling while the link is down (as a real one
        does): after a reconnect it streams from where its clock is, and the
        samples of the gap are lost (counted in `skipped`). False: it goes
        on from the last delivered frame.
    **kwargs
        See `FakeDevice` (``count`` and ``period_s`` are set from the samples).
    """

    services: ClassVar = [(c.PMD_SERVICE, [(c.PMD_CONTROL, ["read", "write", "indicate"]),
                                  (c.PMD_DATA, ["notify"])])]
    advertised: ClassVar = [c.PMD_SERVICE]
    data_uuid = c.PMD_DATA
    EPOCH_NS = 800_000_000 * 10**9  # some time in 2025 on Polar's clock (ns since 2000)

    def __init__(self, *args: Any, samples_mg: np.ndarray, rate_hz: int = 52,
                 per_frame: int = 36, startup_s: float = 1.0, keep_clock: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("period_s", per_frame / rate_hz)
        super().__init__(*args, count=-(-len(samples_mg) // per_frame), **kwargs)
        self.samples = np.asarray(samples_mg, dtype=np.int64)
        self.rate_hz, self.per_frame, self.startup_s = rate_hz, per_frame, startup_s
        self.keep_clock = keep_clock
        self.streaming = False
        self.requests: list[c.PmdRequest] = []
        self.skipped: list[int] = []
        self._lost_at: float | None = None

    def item(self, i: int) -> bytes:
        lo = i * self.per_frame
        chunk = self.samples[lo : lo + self.per_frame]
        ts = self.EPOCH_NS + round((lo + len(chunk) - 1) * 1e9 / self.rate_hz)
        return c.encode_acc_frame(chunk, ts)

    def read(self, uuid: str) -> bytes:
        if uuid == c.PMD_CONTROL:
            return c.encode_pmd_features({c.PMD_ACC})
        raise KeyError(uuid)

    async def write(self, uuid: str, data: bytes) -> None:
        if uuid != c.PMD_CONTROL:
            raise KeyError(uuid)
        req = c.decode_pmd_request(data)
        self.requests.append(req)
        status, params = 0, b""
        if req.measurement != c.PMD_ACC:
            status = 2
        elif req.op == c.PMD_GET_SETTINGS:
            params = c.encode_pmd_settings(c.PmdSettings({
                c.SET_SAMPLE_RATE: (self.rate_hz,), c.SET_RESOLUTION: (16,),
                c.SET_RANGE: (2, 4, 8, 16)}))
        elif req.op == c.PMD_START:
            if req.settings.first(c.SET_SAMPLE_RATE) != self.rate_hz:
                status = 8
            else:
                params = c.factor_parameters(1.0)
                asyncio.get_running_loop().call_later(self.startup_s / self.speedup,
                                                      self._go)
        elif req.op == c.PMD_STOP:
            self.streaming = False
        resp = c.encode_pmd_response(c.PmdResponse(req.op, req.measurement, status, False,
                                                   params))
        self._later(self._indicate(resp))

    def _go(self) -> None:
        self.streaming = True

    async def _indicate(self, resp: bytes) -> None:
        assert self.bluez is not None
        await asyncio.sleep(0.005)
        await self.bluez.notify(self.char_paths[c.PMD_CONTROL], resp)

    def on_disconnected(self) -> None:
        if self.streaming and self._lost_at is None:
            self._lost_at = asyncio.get_running_loop().time()
        self.streaming = False
        super().on_disconnected()

    async def ready(self) -> None:
        await super().ready()
        while not self.streaming:
            await asyncio.sleep(0.01)
        if self._lost_at is not None and self.keep_clock:
            gap_s = (asyncio.get_running_loop().time() - self._lost_at) * self.speedup
            self.skipped.append(int(gap_s / self.period_s))
            self.index += self.skipped[-1]
        self._lost_at = None


def shared_foot_mg(recording: Path, rate_hz: float) -> np.ndarray:
    """Accelerations of a real recording as a Polar sensor would stream them.

    Reads ``samples.csv.gz`` of a recording in ../shared/data/recordings
    (t_s in s, accelerations in g including gravity), resamples it linearly
    onto a uniform grid at `rate_hz` (the PMD rate), and quantises to int16
    mG, the units of a raw PMD ACC frame.

    Parameters
    ----------
    recording : Path
        The recording's folder.
    rate_hz : float
        The PMD sample rate.

    Returns
    -------
    numpy.ndarray
        int64 mG, shape (n, 3), within the int16 range.
    """
    import pandas as pd

    df = pd.read_csv(recording / "samples.csv.gz", usecols=["t_s", "ax_g", "ay_g", "az_g"])
    t = df["t_s"].to_numpy(np.float64)
    grid = np.arange(t[0], t[-1], 1.0 / rate_hz)
    g = np.column_stack([np.interp(grid, t, df[k].to_numpy(np.float64))
                         for k in ("ax_g", "ay_g", "az_g")])
    return np.clip(np.round(g * 1000.0), -32768, 32767).astype(np.int64)


def stop_all(devices: list[FakeDevice]) -> None:
    for d in devices:
        with contextlib.suppress(Exception):
            d.stop()


__all__ = ["DEVICE_IF", "FakeDevice", "HrStrap", "PolarSense", "RscPod", "shared_foot_mg",
           "stop_all"]
