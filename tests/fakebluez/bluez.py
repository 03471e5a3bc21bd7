"""A small ``org.bluez`` service on a private bus: adapter, devices, GATT, notifications.

Just enough of BlueZ's D-Bus API for bleak's real Linux backend
(``bleak.backends.bluezdbus``): ``ObjectManager.GetManagedObjects`` at ``/``
and its ``InterfacesAdded`` / ``InterfacesRemoved`` signals, generic
``org.freedesktop.DBus.Properties`` with ``PropertiesChanged``, and the
methods of ``Adapter1``, ``Device1``, ``GattCharacteristic1`` and
``GattDescriptor1`` that bleak calls. Messages are handled at the low level
(`dbus_fast.Message`) so objects can come and go as on a real adapter.

Scripted devices (`tests.fakebluez.devices`) are announced while discovery
runs; ``Connect`` sets ``Connected``, adds the device's GATT objects (paths
ending in 4-hex-digit handles) and then sets ``ServicesResolved``;
notifications are ``PropertiesChanged`` of ``Value`` after ``StartNotify``
or writes to the socket handed out by ``AcquireNotify``; `FakeBlueZ.drop`
is a link loss (``ServicesResolved`` false, GATT objects removed,
``Connected`` false).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

if TYPE_CHECKING:
    from tests.fakebluez.devices import FakeDevice

ADAPTER = "/org/bluez/hci0"
OM = "org.freedesktop.DBus.ObjectManager"
PROPS = "org.freedesktop.DBus.Properties"
ADAPTER_IF, DEVICE_IF = "org.bluez.Adapter1", "org.bluez.Device1"
SERVICE_IF, CHAR_IF, DESC_IF = (
    "org.bluez.GattService1", "org.bluez.GattCharacteristic1", "org.bluez.GattDescriptor1",
)
#: Pause between two signals of a burst, s (dbus-fast drops a peer whose socket fills).
PACE_S = 0.0005


def _sig(value: Any) -> str:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "n" if value < 0 else "q"
    if isinstance(value, bytes | bytearray):
        return "ay"
    if isinstance(value, str):
        return "o" if value.startswith("/org/") else "s"
    if isinstance(value, list):
        return "as"
    raise TypeError(value)


def variants(props: dict[str, Any]) -> dict[str, Variant]:
    """Wrap plain property values in variants (dicts must be Variants already)."""
    return {k: v if isinstance(v, Variant) else Variant(_sig(v), v) for k, v in props.items()}


class FakeBlueZ:
    """The service: an object tree served on a bus connection that owns ``org.bluez``."""

    def __init__(self, bus: MessageBus, devices: list[FakeDevice]) -> None:
        self.bus = bus
        self.objects: dict[str, dict[str, dict[str, Variant]]] = {}
        self.devices = {d.path: d for d in devices}
        self.acquired: dict[str, socket.socket] = {}
        self.calls: list[tuple[str, str]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        for d in devices:
            d.bluez = self
        self.objects[ADAPTER] = {ADAPTER_IF: variants({
            "Address": "00:1A:7D:DA:71:13", "Name": "fake", "Alias": "fake", "Powered": True,
            "Discovering": False, "Roles": ["central", "peripheral"],
        })}

    # -- signals -------------------------------------------------------------------------

    async def _send(self, msg: Message) -> None:
        self.bus.send(msg)
        await asyncio.sleep(PACE_S)

    async def add(self, path: str, ifaces: dict[str, dict[str, Variant]]) -> None:
        """Add an object and announce it."""
        self.objects[path] = ifaces
        await self._send(Message.new_signal("/", OM, "InterfacesAdded", "oa{sa{sv}}",
                                            [path, ifaces]))

    async def remove(self, path: str) -> None:
        """Remove an object and announce it."""
        ifaces = self.objects.pop(path, None)
        if ifaces is not None:
            await self._send(Message.new_signal("/", OM, "InterfacesRemoved", "oas",
                                                [path, list(ifaces)]))

    async def set(self, path: str, iface: str, **changed: Any) -> None:
        """Change properties and signal it."""
        if path not in self.objects:
            return
        vs = variants(changed)
        self.objects[path][iface].update(vs)
        await self._send(Message.new_signal(path, PROPS, "PropertiesChanged", "sa{sv}as",
                                            [iface, vs, []]))

    async def notify(self, char_path: str, value: bytes) -> bool:
        """Send a notification on a characteristic; False when nobody listens."""
        sock = self.acquired.get(char_path)
        if sock is not None:
            try:
                sock.send(value)
            except OSError:
                self.acquired.pop(char_path, None)
                return False
            await asyncio.sleep(PACE_S)
            return True
        props = self.objects.get(char_path, {}).get(CHAR_IF)
        if not props or not props["Notifying"].value:
            return False
        await self.set(char_path, CHAR_IF, Value=bytes(value))
        return True

    # -- connection ----------------------------------------------------------------------

    async def connect(self, dev: FakeDevice) -> None:
        """Connect: Connected, GATT objects, then ServicesResolved."""
        await self.set(dev.path, DEVICE_IF, Connected=True)
        for path, ifaces in dev.gatt_objects():
            await self.add(path, ifaces)
        await self.set(dev.path, DEVICE_IF, ServicesResolved=True)
        dev.on_connected()

    async def drop(self, dev: FakeDevice) -> None:
        """Lose the link: ServicesResolved false, GATT objects removed, Connected false."""
        dev.on_disconnected()
        props = self.objects.get(dev.path, {}).get(DEVICE_IF, {})
        if not props or not props["Connected"].value:
            return
        await self.set(dev.path, DEVICE_IF, ServicesResolved=False)
        for path in sorted((p for p in self.objects if p.startswith(dev.path + "/")),
                           reverse=True):
            with contextlib.suppress(OSError, KeyError):
                self.acquired.pop(path).close()
            await self.remove(path)
        await self.set(dev.path, DEVICE_IF, Connected=False)

    # -- method calls --------------------------------------------------------------------

    def handle(self, msg: Message) -> Message | bool | None:
        """The bus message handler: answer method calls to ``org.bluez``."""
        if msg.message_type != MessageType.METHOD_CALL or msg.destination != "org.bluez":
            return None
        self.calls.append((msg.path or "", msg.member or ""))
        try:
            out = self._dispatch(msg)
        except KeyError:
            return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownObject",
                                     f"no object {msg.path}")
        if isinstance(out, Message):
            return out
        # a coroutine: reply when it is done
        task = asyncio.ensure_future(self._later(msg, out))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _later(self, msg: Message, work: Awaitable[Message]) -> None:
        try:
            reply = await work
        except Exception as exc:
            reply = Message.new_error(msg, "org.bluez.Error.Failed", str(exc))
        self.bus.send(reply)

    def _dispatch(self, msg: Message) -> Message | Awaitable[Message]:
        path, iface, member = msg.path or "", msg.interface, msg.member
        ok = Message.new_method_return(msg)
        if iface == OM and member == "GetManagedObjects":
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [self.objects])
        if iface == PROPS:
            obj = self.objects[path]
            if member == "GetAll":
                return Message.new_method_return(msg, "a{sv}", [obj.get(msg.body[0], {})])
            if member == "Get":
                return Message.new_method_return(msg, "v", [obj[msg.body[0]][msg.body[1]]])
            if member == "Set":
                obj[msg.body[0]][msg.body[1]] = msg.body[2]
                return ok
        if iface == ADAPTER_IF:
            if member == "StartDiscovery":
                return self._discover(msg)
            if member == "StopDiscovery":
                return self._stop_discovery(msg)
            if member in ("SetDiscoveryFilter", "RemoveDevice"):
                return ok
        if iface == DEVICE_IF:
            dev = self.devices[path]
            if member == "Connect":
                return self._reply_after(msg, self.connect(dev))
            if member == "Disconnect":
                return self._reply_after(msg, self.drop(dev))
        if iface == CHAR_IF:
            return self._char_call(msg, path, member or "")
        if iface == DESC_IF and member == "ReadValue":
            return Message.new_method_return(msg, "ay", [self.objects[path][DESC_IF]["Value"]
                                                          .value])
        return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod",
                                 f"{iface}.{member} is not faked")

    async def _reply_after(self, msg: Message, work: Awaitable[None]) -> Message:
        await work
        return Message.new_method_return(msg)

    async def _discover(self, msg: Message) -> Message:
        await self.set(ADAPTER, ADAPTER_IF, Discovering=True)
        task = asyncio.ensure_future(self._announce())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Message.new_method_return(msg)

    async def _announce(self) -> None:
        for dev in self.devices.values():
            await asyncio.sleep(0.02)
            if dev.path in self.objects:
                await self.set(dev.path, DEVICE_IF, RSSI=dev.rssi)
            else:
                await self.add(dev.path, {DEVICE_IF: dev.device_props()})

    async def _stop_discovery(self, msg: Message) -> Message:
        await self.set(ADAPTER, ADAPTER_IF, Discovering=False)
        return Message.new_method_return(msg)

    def _char_call(self, msg: Message, path: str, member: str) -> Message | Awaitable[Message]:
        props = self.objects[path][CHAR_IF]
        dev = self.devices[path.split("/service")[0]]
        uuid = props["UUID"].value
        if member == "ReadValue":
            return Message.new_method_return(msg, "ay", [dev.read(uuid)])
        if member == "WriteValue":
            return self._reply_after(msg, dev.write(uuid, bytes(msg.body[0])))
        if member == "StartNotify":
            return self._reply_after(msg, self._notifying(path, True))
        if member == "StopNotify":
            return self._reply_after(msg, self._notifying(path, False))
        if member == "AcquireNotify":
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            mine.setblocking(False)
            self.acquired[path] = mine
            reply = Message.new_method_return(msg, "hq", [0, 247], unix_fds=[theirs.fileno()])
            self.bus.send(reply)
            # dbus-fast passes the descriptor when it writes the reply: close ours later
            asyncio.get_running_loop().call_later(2.0, theirs.close)
            props["NotifyAcquired"] = Variant("b", True)
            return True  # type: ignore[return-value]
        raise KeyError(member)

    async def _notifying(self, path: str, on: bool) -> None:
        await self.set(path, CHAR_IF, Notifying=on)


class FakeBus:
    """A private ``dbus-daemon`` and a fake BlueZ on it, run in a background thread.

    Parameters
    ----------
    devices : list of FakeDevice
        The scripted devices.
    address : str
        The bus address (from `start_daemon`).
    """

    def __init__(self, devices: list[FakeDevice], address: str) -> None:
        self.devices = devices
        self.address = address
        self.loop = asyncio.new_event_loop()
        self.bluez: FakeBlueZ | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True, name="fakebluez")
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    async def _serve(self) -> None:
        bus = await MessageBus(bus_address=self.address, bus_type=BusType.SYSTEM,
                               negotiate_unix_fd=True).connect()
        self.bluez = FakeBlueZ(bus, self.devices)
        bus.add_message_handler(self.bluez.handle)
        await bus.request_name("org.bluez")
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        for dev in self.devices:
            dev.stop()
        bus.disconnect()

    def start(self) -> FakeBus:
        """Start serving; return when ``org.bluez`` is owned."""
        self._thread.start()
        self._ready.wait(10)
        if self.error is not None:
            raise self.error
        return self

    def call(self, fn: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
        """Run a coroutine function on the fake's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def start_daemon(tmp: str) -> tuple[Any, str]:
    """Start a private dbus-daemon (session policy: anyone may own any name).

    Parameters
    ----------
    tmp : str
        A directory for its socket.

    Returns
    -------
    proc : subprocess.Popen
        The daemon (terminate it when done).
    address : str
        Its address, for ``DBUS_SYSTEM_BUS_ADDRESS``.
    """
    import subprocess

    sock = os.path.join(tmp, "system_bus_socket")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address=unix:path={sock}",
         "--print-address=1"],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    return proc, address
