"""Importing activity files into the log: one transaction per file, idempotent.

The thin service between the file adapters (`loadmon.io.sources`) and the
store; the command line and `loadmon sync` call it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadmon.io.errors import FileFormatError
from loadmon.io.logcsv import read_log_csv
from loadmon.io.sources import MAX_FILE_BYTES, SourceRef, collect, parse_source, read_source
from loadmon.store import AddOutcome, AthleteInfo, Store, StoreError
from loadmon.types import InvalidValue


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one source: ``imported``, ``duplicate`` or ``failed``."""

    file: str
    status: str
    sessions: int = 0
    reason: str | None = None


@dataclass(slots=True)
class ImportSummary:
    """Counts and per-file outcomes of one import."""

    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Return the number of files with `status`."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def sessions_added(self) -> int:
        """Sessions added in all."""
        return sum(f.sessions for f in self.files if f.status == "imported")

    def as_dict(self) -> dict[str, object]:
        """Return the summary as plain data (for ``--json``)."""
        return {
            "imported": self.count("imported"),
            "duplicates": self.count("duplicate"),
            "failed": self.count("failed"),
            "sessions_added": self.sessions_added,
            "files": [asdict(f) for f in self.files],
        }


def checksum(data: bytes) -> str:
    """Return the SHA-256 hex digest of a source's content (its identity in the log)."""
    return hashlib.sha256(data).hexdigest()


def import_one(store: Store, ref: SourceRef, athlete: str | AthleteInfo | None) -> FileOutcome:
    """Import one source in one transaction; failures are returned, not raised.

    Parameters
    ----------
    store : Store
        The log.
    ref : SourceRef
        The source.
    athlete : str or None
        Athlete name (None: the default athlete).

    Returns
    -------
    FileOutcome
        The outcome; a failure carries its one-line reason and stored nothing.
    """
    try:
        if ref.key is not None:
            data, digest = b"", checksum(ref.key.encode())
        else:
            data = read_source(ref)
            digest = checksum(data)
        if store.has_source(athlete, digest):
            return FileOutcome(ref.name, "duplicate", reason="already imported")
        sessions = parse_source(ref, data)
        if not sessions:
            raise FileFormatError("no activity in the file")
        # Shoes named by an export (Strava gear) join the log with their first run.
        named = {s.shoe for s in sessions if s.shoe}
        new_shoes = sorted(named - {s.name for s in store.shoes(athlete)}) if named else []
        done = store.add_sessions(athlete, sessions, checksum=digest, source_name=ref.name,
                                  add_shoes=new_shoes)
    except (FileFormatError, InvalidValue, StoreError) as exc:
        return FileOutcome(ref.name, "failed", reason=str(exc))
    if done.added == 0:
        twin = done.duplicate_of[0]
        why = "already imported" if twin == ref.name else f"same activity as {twin}"
        return FileOutcome(ref.name, "duplicate", reason=why)
    return FileOutcome(ref.name, "imported", sessions=done.added)


def import_paths(
    store: Store,
    paths: Iterable[Path],
    athlete: str | AthleteInfo | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import every activity found in `paths` (files, folders, Strava zips).

    Parameters
    ----------
    store : Store
        The log.
    paths : iterable of Path
        What the user named.
    athlete : str or None
        Athlete name (None: the default athlete).
    progress : callable or None
        Called as ``progress(done, total)`` after each source.

    Returns
    -------
    ImportSummary
        Per-file outcomes; nothing of a failed file is stored.
    """
    athlete = store.athlete(athlete)  # fail early, before reading files, on an unknown athlete
    found = collect(paths)
    summary = ImportSummary([FileOutcome(p, "failed", reason=r) for p, r in found.failed])
    total = len(found.refs)
    for i, ref in enumerate(found.refs, start=1):
        summary.files.append(import_one(store, ref, athlete))
        if progress is not None:
            progress(i, total)
    return summary


def import_log_csv(
    store: Store, path: Path, athlete: str | AthleteInfo | None = None, add_shoes: bool = False
) -> AddOutcome:
    """Import a training-log CSV in one transaction: every row, or none.

    Parameters
    ----------
    store : Store
        The log.
    path : Path
        The CSV file (see `loadmon.io.logcsv`).
    athlete : str, AthleteInfo or None
        Athlete (None: the default athlete).
    add_shoes : bool
        Create shoes the file names that are not in the log; otherwise an
        unknown shoe is an error.

    Returns
    -------
    AddOutcome
        Sessions added, and rows already in the log.

    Raises
    ------
    FileFormatError
        Unreadable file, bad columns or values, or an unknown shoe (the message
        starts with the file name).
    """
    who = store.athlete(athlete)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FileFormatError(f"larger than the {MAX_FILE_BYTES >> 20} MiB limit")
        rows = read_log_csv(path.read_bytes(), who.zone)
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc.strerror})") from None
    except FileFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    known = {s.name for s in store.shoes(who)}
    missing = sorted({s.shoe for s, _ in rows if s.shoe and s.shoe not in known})
    if missing and not add_shoes:
        raise FileFormatError(
            f"{path}: unknown shoe {missing[0]!r} (add it with: loadmon shoes add, "
            "or import with --add-shoes)"
        )
    try:
        return store.add_sessions(
            who, [s for s, _ in rows], checksum=[c for _, c in rows], source_name=str(path),
            add_shoes=missing,
        )
    except InvalidValue as exc:
        raise FileFormatError(f"{path}: {exc}") from None
