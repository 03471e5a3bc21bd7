"""``loadmon scan``, ``loadmon record`` and ``loadmon sync``: BLE sensors into the log."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from loadmon.cli.common import app, athlete_option, json_option, print_json, print_table

PROFILE_CHOICES = ("auto", "rsc", "hr", "polar-acc")


def ble_dir() -> Path:
    """Return the folder of the BLE recordings (``<data dir>/ble``)."""
    from loadmon.ble.sync import recordings_dir

    return recordings_dir()


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError | PermissionError):
        # bleak reaches BlueZ over the system D-Bus: no bus, no Bluetooth service
        bus = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS",
                             "unix:path=/var/run/dbus/system_bus_socket")
        return click.ClickException(
            f"Bluetooth is not available: cannot reach BlueZ on the system D-Bus ({bus}: "
            f"{exc.strerror or exc}); is the bluetooth service running?")
    return click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _bluetooth_errors() -> tuple[type[BaseException], ...]:
    from bleak.exc import BleakError

    from loadmon.ble.profiles import ProfileError

    return (BleakError, ProfileError, OSError, EOFError)


@click.command("scan")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 120), default=5.0,
              show_default=True, help="Scan for this many seconds.")
@json_option
def scan_cmd(timeout_s: float, as_json: bool) -> None:
    """List nearby BLE sensors with the profiles each offers (rsc, hr, polar-acc)."""
    from loadmon.ble.session import scan

    try:
        found = asyncio.run(scan(timeout_s))
    except _bluetooth_errors() as exc:
        raise _fail(exc) from exc
    if as_json:
        print_json([d.as_dict() for d in found])
        return
    if not found:
        click.echo("no devices found")
        return
    print_table(None, ["name", "address", "rssi", "profiles"],
                [(d.name or "-", d.address, d.rssi, ", ".join(d.profiles) or "-") for d in found])


class _Live:
    """The live line of ``replay --live`` plus heart rate and speed."""

    def __init__(self, recorder: Any, placement: str) -> None:
        from loadmon.cli.live import LiveStats
        from loadmon.signal.types import SINGLE_FOOT

        self.recorder = recorder
        self.stats = LiveStats(placement in SINGLE_FOOT)
        self.out = sys.stderr
        self.terminal = bool(getattr(self.out, "isatty", lambda: False)())
        self._next_plain = 0.0
        self.state: Any = None

    def line(self) -> str:
        from loadmon.cli.live import format_live

        d = self.recorder.decoder
        hr = "-" if d.last_bpm is None else str(d.last_bpm)
        speed = "-" if d.last_speed_mps is None else f"{d.last_speed_mps * 3.6:.1f}"
        return f"{format_live(self.state)}  hr {hr:>3} bpm  speed {speed:>4} km/h"

    def tick(self, contacts: list[Any]) -> None:
        t = self.recorder.elapsed_s
        now = contacts[-1].t_s if contacts else 0.0
        self.state = self.stats.update(t, now, contacts)
        if self.terminal:
            self.out.write("\r" + self.line())
            self.out.flush()
        elif t >= self._next_plain:
            self.out.write(self.line() + "\n")
            self._next_plain = t + 10.0

    def status(self, message: str) -> None:
        self.out.write(("\r\n" if self.terminal else "") + message + "\n")
        self.out.flush()


@click.command("record")
@click.argument("devices", nargs=-1)
@click.option("--profile", type=click.Choice(PROFILE_CHOICES), default="auto", show_default=True,
              help="What to record from each device (auto: every profile it offers).")
@click.option("--rate", "rate_hz", type=int, default=None,
              help="Accelerometer rate, Hz (default: the highest offered).")
@click.option("--range", "range_g", type=int, default=None,
              help="Accelerometer range, g (default: the highest offered).")
@click.option("--placement", default="foot", show_default=True,
              help="Where the accelerometer is worn.")
@athlete_option
@click.option("--shoe", default=None, help="Shoe worn.")
@click.option("--surface", default=None, help="Surface (road, trail, track, ...).")
@click.option("--rpe", type=click.FloatRange(0.0, 10.0), default=None,
              help="Session RPE, 0-10 (how hard the run was).")
@click.option("--duration", "duration_s", type=click.FloatRange(0.5), default=None,
              help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--scan-timeout", type=click.FloatRange(0.1, 120), default=5.0, show_default=True,
              help="Seconds to look for the devices.")
@click.option("--notify", type=click.Choice(["start", "acquire"]), default="start",
              show_default=True, help="BlueZ notification method (StartNotify or AcquireNotify).")
@click.option("--no-save", is_flag=True, help="Record the file but do not add the session.")
@json_option
@click.pass_context
def record_cmd(ctx: click.Context, devices: tuple[str, ...], profile: str, rate_hz: int | None,
               range_g: int | None, placement: str, athlete: str | None, shoe: str | None,
               surface: str | None, rpe: float | None, duration_s: float | None,
               scan_timeout: float, notify: str, no_save: bool, as_json: bool) -> None:
    """Record BLE sensors (several at once), then store the run as a session.

    Every notification goes to a recording file under the data folder as it
    arrives (flushed every second); Ctrl-C or --duration ends the run. The
    distance is the foot pod's; without one it is estimated from the steps
    and the athlete's step length (marked estimated).
    """
    from loadmon.ble.recorder import Recorder
    from loadmon.ble.session import new_recording_path, pick_devices, record, scan
    from loadmon.signal import min_rate_hz
    from loadmon.signal.types import PLACEMENTS

    if placement not in PLACEMENTS:
        raise click.BadParameter(f"one of {', '.join(PLACEMENTS)}", param_hint="--placement")
    if rate_hz is not None and rate_hz < min_rate_hz(placement):
        raise click.BadParameter(
            f"{rate_hz} Hz: a {placement} sensor is read from {min_rate_hz(placement):g} Hz",
            param_hint="--rate")
    if not no_save:  # an unknown athlete or shoe fails now, not after the run
        from loadmon.store import StoreError

        try:
            store = app(ctx).store
            who = store.athlete(athlete)
            if shoe is not None:
                store.shoe(who, shoe)
        except StoreError as exc:
            raise _fail(exc) from exc

    async def main() -> Any:
        found = await scan(scan_timeout)
        picked = pick_devices(found, devices, profile)
        recorder = Recorder(new_recording_path(ble_dir()), placement=placement,
                            meta={"athlete": athlete, "shoe": shoe, "surface": surface,
                                  "rpe": rpe})
        live = _Live(recorder, placement)
        live.status(f"recording to {recorder.path}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with _contextual_sigint(loop, stop):
            run = await record(picked, recorder, duration_s=duration_s, stop=stop,
                               rate_hz=rate_hz, range_g=range_g, notify=notify,  # type: ignore[arg-type]
                               status=live.status, tick=live.tick)
        if live.state is not None:
            live.out.write(("\n" if live.terminal else "") + live.line() + "\n")
        return recorder.path, run

    try:
        path, run = asyncio.run(main())
    except _bluetooth_errors() as exc:
        raise _fail(exc) from exc
    result = _store_run(ctx, path, run, athlete, shoe, surface, rpe, save=not no_save)
    _report(result, as_json)


class _contextual_sigint:
    """Ctrl-C sets the stop event (a clean end) instead of raising in the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        self.loop, self.stop = loop, stop
        self.installed = False

    def __enter__(self) -> None:
        try:
            self.loop.add_signal_handler(signal.SIGINT, self.stop.set)
            self.loop.add_signal_handler(signal.SIGTERM, self.stop.set)
            self.installed = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            self.loop.remove_signal_handler(signal.SIGINT)
            self.loop.remove_signal_handler(signal.SIGTERM)


def _store_run(ctx: click.Context, path: Path, run: Any, athlete: str | None, shoe: str | None,
               surface: str | None, rpe: float | None, save: bool) -> dict[str, Any]:
    from loadmon.ble.session import session_from_run
    from loadmon.ble.sync import store_run

    distance, how = run.distance_m()
    session = session_from_run(run, path, shoe=shoe, surface=surface, rpe=rpe)
    out: dict[str, Any] = {
        "recording": str(path), "complete": run.complete, "notifications": run.notifications,
        "malformed": sum(run.malformed.values()), "link_losses": len(run.gaps),
        "duration_s": round(run.duration_s, 1),
        "distance_m": None if distance is None else round(distance, 1), "distance_from": how,
        "contacts": len(run.contacts),
        "steps": sum(s.steps for s in run.summaries.values()),
        "cadence_spm": None if session is None else session.cadence_spm,
        "avg_hr_bpm": None if session is None else session.avg_hr_bpm,
        "rpe": rpe,
        "status": "not saved",
    }
    if save and session is not None:
        stored = store_run(app(ctx).store, athlete, path, run, shoe=shoe, surface=surface,
                           rpe=rpe)
        out["status"] = stored.status
        if stored.step is not None and stored.session is not None:
            out["distance_m"] = stored.session.distance_m
            out["distance_from"] = "steps (estimated)"
            out["step_length"] = stored.step.describe()
    return out


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    dist = "-" if result["distance_m"] is None else f"{result['distance_m'] / 1000:.2f} km"
    cad = "-" if result["cadence_spm"] is None else f"{result['cadence_spm']:.0f} spm"
    hr = "-" if result["avg_hr_bpm"] is None else f"{result['avg_hr_bpm']:.0f} bpm"
    click.echo(f"{result['status']}: {result['duration_s']:.0f} s, {dist} "
               f"({result['distance_from']}), cadence {cad}, hr {hr}, "
               f"{result['notifications']} notifications, {result['malformed']} malformed, "
               f"{result['link_losses']} link losses; {result['recording']}")
    if result.get("step_length"):
        click.echo(f"distance estimated with a {result['step_length']}")


@click.command("sync")
@click.option("--add-folder", "add", type=click.Path(path_type=Path, file_okay=False),
              multiple=True, metavar="DIR",
              help="Remember DIR as a sync folder (a watch's GARMIN/Activity, a phone app's "
                   "export folder) and sync.")
@click.option("--remove-folder", "remove", type=click.Path(path_type=Path), multiple=True,
              metavar="DIR", help="Forget a sync folder (its sessions stay in the log).")
@click.option("--list-folders", is_flag=True, help="List the sync folders and exit.")
@athlete_option
@json_option
@click.pass_context
def sync_cmd(ctx: click.Context, add: tuple[Path, ...], remove: tuple[Path, ...],
             list_folders: bool, athlete: str | None, as_json: bool) -> None:
    """Import new BLE recordings and new activity files from the sync folders.

    Every finished or interrupted BLE recording not yet in the log becomes a
    session (an interrupted one up to its last flush; one still being
    recorded waits for the next sync). Then the FIT, GPX and TCX files (and
    zip exports) of every sync folder are imported; a folder that is not
    there (a watch not plugged in) is noted and skipped. Syncing again adds
    nothing. The folder list is kept in sync.json in the configuration
    folder (LOADMON_CONFIG_DIR, else the platform's). Exits with 1 when a
    recording or file failed.
    """
    from loadmon.ble import sync as service

    try:
        for folder in remove:
            path, removed = service.remove_folder(folder)
            _note(f"{'removed' if removed else 'not a sync folder'}: {path}", as_json)
        for folder in add:
            path, added = service.add_folder(folder)
            where = "" if path.is_dir() else " (not there now: it is synced when it is)"
            _note(f"{'added' if added else 'already a sync folder'}: {path}{where}", as_json)
        folders = service.sync_folders()
    except (OSError, ValueError) as exc:
        raise _fail(exc) from exc
    if list_folders:
        if as_json:
            print_json([{"path": str(p), "found": p.is_dir()} for p in folders])
        elif not folders:
            click.echo(f"no sync folders (add one with: loadmon sync --add-folder DIR); "
                       f"config: {service.config_path()}")
        else:
            for p in folders:
                click.echo(f"{p}{'' if p.is_dir() else '  (not there now)'}")
        return
    if remove and not add:
        return  # forgetting a folder is not a reason to sync
    summary = service.sync(app(ctx).store, athlete, folders=folders)
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        print_json(summary.as_dict())
    else:
        click.echo(summary.line())
    if summary.failed:
        ctx.exit(1)


def _note(message: str, as_json: bool) -> None:
    """Folder changes go to stderr: stdout is the summary line (or the JSON)."""
    click.echo(message, err=True)


def register(cli: click.Group) -> None:
    """Add the BLE commands to the ``loadmon`` group."""
    cli.add_command(scan_cmd)
    cli.add_command(record_cmd)
    cli.add_command(sync_cmd)
