"""``loadmon sync``: BLE recordings and the activity files of configured folders into the log.

What a runner does after a run. Two kinds of source, both idempotent:

* **BLE recordings** (``<data dir>/ble/*.lmble``, `loadmon.ble.rawlog`): every
  finished or interrupted recording not yet in the log becomes a session
  (an interrupted one up to its last flush); its identity is its file name
  (`loadmon.ble.session.recording_checksum`). A recording still being
  written (its recorder holds the file's lock) is left for the next sync.
* **Sync folders**: folders the runner registered with ``loadmon sync
  --add-folder DIR``, such as a watch mounted as USB storage
  (``/media/me/GARMIN/GARMIN/Activity``) or a phone app's export folder. Their
  FIT / GPX / TCX files and zip exports go through `loadmon.importer`
  (identity: the content's SHA-256), so a file synced before adds nothing. A
  folder that is not there (the watch is not plugged in) is a note, not an
  error.

Configuration
-------------
The folder list is kept in ``sync.json`` (``{"version": 1, "folders":
[...]}``, absolute paths) in the user configuration directory:
``LOADMON_CONFIG_DIR`` when set, else the platform's
(``platformdirs.user_config_dir("loadmon")``, e.g. ``~/.config/loadmon`` on
Linux). The file is rewritten atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from loadmon.importer import FileOutcome, ImportSummary, import_paths

if TYPE_CHECKING:
    from loadmon.ble.recorder import BleRun
    from loadmon.distance import StepLength
    from loadmon.store import AthleteInfo, Store
    from loadmon.types import Session

#: Environment variable naming the configuration directory.
ENV_CONFIG_DIR = "LOADMON_CONFIG_DIR"
#: The sync configuration's file name.
CONFIG_NAME = "sync.json"
CONFIG_VERSION = 1


def config_dir() -> Path:
    """Return the configuration directory (``LOADMON_CONFIG_DIR`` or the platform's).

    Returns
    -------
    Path
        The directory (not created).
    """
    env = os.environ.get(ENV_CONFIG_DIR)
    return Path(env) if env else Path(platformdirs.user_config_dir("loadmon", appauthor=False))


def config_path() -> Path:
    """Return the sync configuration file (``<config dir>/sync.json``)."""
    return config_dir() / CONFIG_NAME


def recordings_dir() -> Path:
    """Return the folder of the BLE recordings (``<data dir>/ble``)."""
    from loadmon.store import data_dir

    return data_dir() / "ble"


def normalise_folder(folder: str | os.PathLike[str]) -> Path:
    """Return a folder as it is stored: ``~`` expanded, absolute, not resolved.

    Symbolic links are kept (a mount point may be reached through one).

    Parameters
    ----------
    folder : str or PathLike
        A folder as the user typed it.

    Returns
    -------
    Path
        The absolute path.
    """
    return Path(os.path.abspath(os.path.expanduser(os.fspath(folder))))


def sync_folders() -> list[Path]:
    """Return the registered sync folders, in the order they were added.

    Returns
    -------
    list of Path
        Absolute paths; empty when nothing is configured.

    Raises
    ------
    ValueError
        The configuration file exists but is not a sync configuration.
    """
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable sync configuration ({exc})") from exc
    folders = data.get("folders") if isinstance(data, dict) else None
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise ValueError(f"{path}: 'folders' must be a list of paths")
    return [Path(f) for f in folders]


def _save(folders: Sequence[Path]) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": CONFIG_VERSION, "folders": [str(f) for f in folders]},
                              indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def add_folder(folder: str | os.PathLike[str]) -> tuple[Path, bool]:
    """Register a sync folder (it need not exist now: a watch may be unplugged).

    Parameters
    ----------
    folder : str or PathLike
        The folder.

    Returns
    -------
    path : Path
        The folder as stored (`normalise_folder`).
    added : bool
        False when it was registered already.
    """
    path = normalise_folder(folder)
    folders = sync_folders()
    if path in folders:
        return path, False
    _save([*folders, path])
    return path, True


def remove_folder(folder: str | os.PathLike[str]) -> tuple[Path, bool]:
    """Forget a sync folder (its sessions stay in the log).

    Parameters
    ----------
    folder : str or PathLike
        The folder, as given to `add_folder` (relative paths are taken from
        the current directory, as there).

    Returns
    -------
    path : Path
        The folder as stored.
    removed : bool
        False when it was not registered.
    """
    path = normalise_folder(folder)
    folders = sync_folders()
    if path not in folders:
        return path, False
    _save([f for f in folders if f != path])
    return path, True


# --------------------------------------------------------------------------- storing a run


def estimate_distance(store: Store, who: AthleteInfo, steps: int) -> tuple[float, StepLength]:
    """Return a distance from steps with the athlete's step length (`loadmon.distance`).

    Parameters
    ----------
    store : Store
        The log (the athlete's runs calibrate the step length).
    who : AthleteInfo
        The athlete.
    steps : int
        Steps counted.

    Returns
    -------
    distance_m : float
        ``steps`` x the step length, m.
    step : StepLength
        The step length used, and where it came from.
    """
    from loadmon.distance import step_length

    runs = store.sessions_frame(
        [who.name],
        columns=["start_utc", "kind", "distance_m", "distance_estimated", "cadence_spm",
                 "duration_s"],
    )
    step = step_length(runs, who.height_cm)
    return steps * step.m, step


@dataclass(frozen=True, slots=True)
class StoredRun:
    """What storing one recording did.

    Attributes
    ----------
    status : {"saved", "duplicate", "empty"}
        Stored; already in the log; nothing recorded (no session).
    session : Session or None
        The session (as stored, or as it would have been).
    step : StepLength or None
        The step length of a distance estimated from the steps.
    duplicate_of : str or None
        The stored source the run duplicates.
    """

    status: str
    session: Session | None
    step: StepLength | None = None
    duplicate_of: str | None = None


def store_run(
    store: Store,
    athlete: str | AthleteInfo | None,
    path: Path,
    run: BleRun,
    *,
    shoe: str | None = None,
    surface: str | None = None,
    rpe: float | None = None,
) -> StoredRun:
    """Add a decoded recording to the log as one session, once.

    Distance: the pod's (total distance, else its speed); without a pod,
    estimated from the accelerometer's steps with the athlete's step length
    (the session is marked ``distance_estimated``). Shoe, surface and RPE
    default to those the recording was started with (its META record).

    Parameters
    ----------
    store : Store
        The log.
    athlete : str, AthleteInfo or None
        The athlete (None: the recording's, else the default athlete).
    path : Path
        The recording file.
    run : BleRun
        Its decoded run (`loadmon.ble.recorder.decode_log`).
    shoe, surface : str or None
        Override the recording's.
    rpe : float or None
        Session RPE, 0-10 (overrides the recording's).

    Returns
    -------
    StoredRun
        What was stored.

    Raises
    ------
    StoreError
        Unknown athlete or shoe, or the database failed.
    InvalidValue
        The session cannot be stored (a start in the future, ...).
    """
    from dataclasses import replace

    from loadmon.ble.session import recording_checksum, session_from_run

    meta = run.meta
    who = store.athlete(athlete if athlete is not None else meta.get("athlete"))
    session = session_from_run(
        run, path,
        shoe=shoe if shoe is not None else meta.get("shoe"),
        surface=surface if surface is not None else meta.get("surface"),
        rpe=rpe if rpe is not None else meta.get("rpe"),
    )
    if session is None:
        return StoredRun("empty", None)
    step = None
    steps = sum(s.steps for s in run.summaries.values())
    if session.distance_m is None and steps > 0:
        distance, step = estimate_distance(store, who, steps)
        session = replace(session, distance_m=round(distance, 1), distance_estimated=True)
    elif session.distance_m is not None and steps > 0:
        session = replace(session, step_length_m=session.distance_m / steps)
    added = store.add_sessions(who, [session], checksum=recording_checksum(path),
                               source_name=path.name)
    if not added.added:
        return StoredRun("duplicate", session, step, added.duplicate_of[0])
    return StoredRun("saved", session, step)


# --------------------------------------------------------------------------- sync


@dataclass(slots=True)
class SyncSummary:
    """What one sync did.

    Attributes
    ----------
    recordings : list of FileOutcome
        One per BLE recording looked at: ``imported``, ``duplicate``,
        ``skipped`` (empty, or still being recorded) or ``failed``.
    recovered : int
        Imported recordings that had been interrupted (recovered up to their
        last flush).
    files : ImportSummary
        The activity files of the sync folders.
    folders : list of tuple of (Path, bool)
        Each sync folder and whether it was there.
    notes : list of str
        Things worth a line (a folder not found, a recording in progress).
    """

    recordings: list[FileOutcome] = field(default_factory=list)
    recovered: int = 0
    files: ImportSummary = field(default_factory=ImportSummary)
    folders: list[tuple[Path, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for f in self.recordings if f.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        """Recordings and files that could not be imported."""
        return [f for f in (*self.recordings, *self.files.files) if f.status == "failed"]

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain data (for ``--json``)."""
        return {
            "recordings": {
                "imported": self._count("imported"),
                "recovered": self.recovered,
                "duplicates": self._count("duplicate"),
                "skipped": self._count("skipped"),
                "failed": self._count("failed"),
                "files": [asdict(f) for f in self.recordings],
            },
            "files": self.files.as_dict(),
            "folders": [{"path": str(p), "found": found} for p, found in self.folders],
            "notes": list(self.notes),
        }

    def line(self) -> str:
        """Return the one-line summary."""
        n = self._count("imported")
        rec = f"{n} recording{'s' if n != 1 else ''} imported"
        if self.recovered:
            rec += f" ({self.recovered} recovered after an interruption)"
        files = self.files.count("imported")
        dupes = self._count("duplicate") + self.files.count("duplicate")
        failed = self.failed
        parts = [rec, f"{files} file{'s' if files != 1 else ''} imported "
                      f"({self.files.sessions_added} sessions)",
                 f"{dupes} duplicate{'s' if dupes != 1 else ''}"]
        if failed:
            reasons = "; ".join(f"{Path(f.file).name}: {f.reason}" for f in failed)
            parts.append(f"{len(failed)} failed ({reasons})")
        else:
            parts.append("0 failed")
        missing = sum(1 for _p, found in self.folders if not found)
        if missing:
            parts.append(f"{missing} folder{'s' if missing != 1 else ''} not found")
        return "sync: " + ", ".join(parts)


def sync_recordings(store: Store, athlete: str | None, folder: Path,
                    summary: SyncSummary) -> None:
    """Import the BLE recordings of `folder` not yet in the log into `summary`.

    Parameters
    ----------
    store : Store
        The log.
    athlete : str or None
        For recordings made without an athlete (None: the default athlete).
    folder : Path
        The recordings folder (`recordings_dir`).
    summary : SyncSummary
        Gets one outcome per recording.
    """
    from loadmon.ble.rawlog import SUFFIX, in_progress, read_meta
    from loadmon.ble.recorder import decode_log
    from loadmon.ble.session import recording_checksum
    from loadmon.store import StoreError

    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        name = path.name
        try:
            if in_progress(path):
                summary.recordings.append(FileOutcome(name, "skipped",
                                                      reason="still being recorded"))
                summary.notes.append(f"{name} is still being recorded: left for the next sync")
                continue
            who = athlete if athlete is not None else read_meta(path).get("athlete")
            if store.has_source(who, recording_checksum(path)):
                summary.recordings.append(FileOutcome(name, "duplicate",
                                                      reason="already imported"))
                continue
            run = decode_log(path)
            stored = store_run(store, athlete, path, run)
        except (OSError, ValueError, StoreError) as exc:  # InvalidValue is a ValueError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            summary.recordings.append(FileOutcome(name, "failed", reason=why.splitlines()[0]))
            continue
        if stored.status == "empty":
            summary.recordings.append(FileOutcome(name, "skipped", reason="nothing recorded"))
        elif stored.status == "duplicate":
            why = f"same activity as {stored.duplicate_of}"
            summary.recordings.append(FileOutcome(name, "duplicate", reason=why))
        else:
            summary.recordings.append(FileOutcome(name, "imported", sessions=1))
            summary.recovered += int(not run.complete)


def sync(
    store: Store,
    athlete: str | None = None,
    *,
    recordings: Path | None = None,
    folders: Sequence[Path] | None = None,
) -> SyncSummary:
    """Import new BLE recordings, then new activity files of the sync folders.

    Parameters
    ----------
    store : Store
        The log.
    athlete : str or None
        The athlete for activity files and for recordings made without one
        (None: the default athlete; a recording made with ``record
        --athlete`` goes to that athlete).
    recordings : Path or None
        The recordings folder (None: `recordings_dir`).
    folders : sequence of Path or None
        Folders to import from (None: the registered ones, `sync_folders`).

    Returns
    -------
    SyncSummary
        Outcomes; a failure is reported, never raised, and stores nothing
        of its source.
    """
    summary = SyncSummary()
    sync_recordings(store, athlete, recordings or recordings_dir(), summary)
    present = []
    for folder in sync_folders() if folders is None else folders:
        found = folder.is_dir()
        summary.folders.append((folder, found))
        if found:
            present.append(folder)
        else:
            summary.notes.append(f"{folder} is not there (device not plugged in?): skipped")
    if present:
        summary.files = import_paths(store, present, athlete)
    return summary
