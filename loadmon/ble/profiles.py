"""Device profiles over bleak: RSC foot pod, heart-rate strap, Polar PMD accelerometer.

A profile subscribes its characteristics on a connected `bleak.BleakClient`
with the `Recorder`'s callbacks (they only timestamp and queue); control
point requests go through `ControlPoint`, one at a time, each waiting for
its response with a timeout. The notification method (``start``: BlueZ
StartNotify, ``acquire``: AcquireNotify) is a parameter because bleak's
re-subscription after a reconnect has known problems with one or the other
on some adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any, Literal

from loadmon.ble import codecs as c
from loadmon.ble.recorder import Recorder

NotifyMethod = Literal["start", "acquire"]
#: Profile names as ``--profile`` takes them, with the service that identifies each.
PROFILE_SERVICES: dict[str, str] = {
    "rsc": c.RSC_SERVICE,
    "hr": c.HR_SERVICE,
    "polar-acc": c.PMD_SERVICE,
}
#: Longest wait for a control point's response, s.
CONTROL_TIMEOUT_S = 10.0


class ProfileError(RuntimeError):
    """A sensor refused a request or did not answer."""


def profiles_for(service_uuids: Iterable[str]) -> list[str]:
    """Return the profiles a device offers, from its (advertised) service UUIDs.

    Parameters
    ----------
    service_uuids : iterable of str
        Service UUIDs.

    Returns
    -------
    list of str
        Profile names (keys of `PROFILE_SERVICES`), in that order.
    """
    have = {u.lower() for u in service_uuids}
    return [name for name, uuid in PROFILE_SERVICES.items() if uuid in have]


class ControlPoint:
    """Requests to a control point, serialised, each answered by an indication.

    Parameters
    ----------
    client : BleakClient
        The connected client.
    uuid : str
        The control point characteristic.
    decode : callable
        Turns an indication into a response (raises `ParseError` otherwise).
    forward : callable or None
        Also gets every indication (the recorder's callback, so the responses
        are in the file).
    timeout_s : float
        Longest wait for a response.
    """

    def __init__(self, client: Any, uuid: str, decode: Callable[[bytes], Any],
                 forward: Callable[[Any, bytearray], None] | None = None,
                 timeout_s: float = CONTROL_TIMEOUT_S) -> None:
        self.client, self.uuid, self.decode, self.forward = client, uuid, decode, forward
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[Any] | None = None

    def on_indication(self, char: Any, data: bytearray) -> None:
        """Take an indication (the control point's notification callback)."""
        if self.forward is not None:
            self.forward(char, data)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            # not an answer: keep waiting (the recorder counts it as malformed)
            with contextlib.suppress(c.ParseError):
                waiter.set_result(self.decode(bytes(data)))

    async def request(self, data: bytes) -> Any:
        """Write a request and return the decoded response.

        Parameters
        ----------
        data : bytes
            The request.

        Returns
        -------
        Any
            The decoded response.

        Raises
        ------
        ProfileError
            No response within the timeout.
        """
        async with self._lock:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self.client.write_gatt_char(self.uuid, data, response=True)
                return await asyncio.wait_for(self._waiter, self.timeout_s)
            except TimeoutError as exc:
                raise ProfileError(f"no answer to request {data.hex()} within "
                                   f"{self.timeout_s:g} s") from exc
            finally:
                self._waiter = None


class Profile:
    """One sensor kind on one device.

    Parameters
    ----------
    address, name : str
        The device.
    recorder : Recorder
        Where notifications go.
    notify : {"start", "acquire"}
        Notification method.
    status : callable
        Gets one-line status messages (e.g. "waiting for the stream").
    """

    kind = ""
    channel_kind = ""
    data_uuid = ""

    def __init__(self, address: str, name: str | None, recorder: Recorder,
                 notify: NotifyMethod = "start",
                 status: Callable[[str], None] = lambda _m: None) -> None:
        self.address, self.name, self.recorder = address, name, recorder
        self.notify, self.status = notify, status
        self.channel = recorder.add_channel(self.channel_kind, address, name)

    async def _subscribe(self, client: Any, uuid: str, callback: Callable[..., None]) -> None:
        await client.start_notify(uuid, callback,
                                  bluez={"use_start_notify": self.notify == "start"})

    async def start(self, client: Any) -> None:
        """Subscribe (and start the stream) on a freshly connected client."""
        await self._subscribe(client, self.data_uuid, self.recorder.callback(self.channel))

    async def stop(self, client: Any) -> None:
        """Stop the stream before a clean disconnect."""
        with contextlib.suppress(Exception):
            await client.stop_notify(self.data_uuid)


class RscPod(Profile):
    """A Running Speed and Cadence foot pod (service 0x1814)."""

    kind = "rsc"
    channel_kind = "rsc"
    data_uuid = c.RSC_MEASUREMENT


class HrStrap(Profile):
    """A heart-rate strap (service 0x180D)."""

    kind = "hr"
    channel_kind = "hr"
    data_uuid = c.HR_MEASUREMENT


class PolarAcc(Profile):
    """A Polar accelerometer stream over PMD (Verity Sense, H10, OH1).

    Parameters
    ----------
    rate_hz : int or None
        Sample rate; None takes the highest the device offers.
    range_g : int or None
        Range; None takes the highest offered.
    **kwargs
        See `Profile`.
    """

    kind = "polar-acc"
    channel_kind = "pmd_acc"
    data_uuid = c.PMD_DATA

    def __init__(self, *args: Any, rate_hz: int | None = None, range_g: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate_hz, self.range_g = rate_hz, range_g
        self.control_channel = self.recorder.add_channel("pmd_control", self.address, self.name)

    async def start(self, client: Any) -> None:
        """Read the features, choose the settings, subscribe, start ACC."""
        cp = ControlPoint(client, c.PMD_CONTROL, c.decode_pmd_response,
                          self.recorder.callback(self.control_channel))
        features = c.decode_pmd_features(bytes(await client.read_gatt_char(c.PMD_CONTROL)))
        if c.PMD_ACC not in features:
            raise ProfileError(f"{self.name or self.address} offers no accelerometer stream")
        await self._subscribe(client, c.PMD_CONTROL, cp.on_indication)
        await self._subscribe(client, c.PMD_DATA, self.recorder.callback(self.channel))
        offered = await cp.request(c.encode_pmd_request(c.PMD_GET_SETTINGS, c.PMD_ACC))
        if not offered.ok:
            raise ProfileError(f"ACC settings refused: {offered.status_text}")
        s = offered.settings()
        rate = self.rate_hz or max(s.values.get(c.SET_SAMPLE_RATE, (52,)))
        rng = self.range_g or max(s.values.get(c.SET_RANGE, (8,)))
        res = s.first(c.SET_RESOLUTION) or 16
        settings = c.acc_settings(rate, rng, res)
        self.status(f"{self.name or self.address}: starting the accelerometer "
                    f"({rate} Hz, ±{rng} g); Polar streams can take 15-30 s to start")
        started = await cp.request(c.encode_pmd_request(c.PMD_START, c.PMD_ACC, settings))
        if started.status == 6:  # already streaming (a reconnect): restart it cleanly
            await cp.request(c.encode_pmd_request(c.PMD_STOP, c.PMD_ACC))
            started = await cp.request(c.encode_pmd_request(c.PMD_START, c.PMD_ACC, settings))
        if not started.ok:
            raise ProfileError(f"ACC start refused: {started.status_text}")
        factor = started.settings().factor if started.parameters else None
        self.recorder.event(self.channel, "pmd_start", rate_hz=rate, range_g=rng,
                            factor=factor or 1.0)
        self._cp = cp

    async def stop(self, client: Any) -> None:
        """Stop the ACC stream."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._cp.request(c.encode_pmd_request(c.PMD_STOP, c.PMD_ACC)), 2.0)
        await super().stop(client)


PROFILE_CLASSES: dict[str, type[Profile]] = {"rsc": RscPod, "hr": HrStrap, "polar-acc": PolarAcc}
