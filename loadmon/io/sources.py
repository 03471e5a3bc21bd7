"""Finding and reading activity files: paths, folders, gzip, Strava bulk-export zips.

`collect` turns what the user named into a list of `SourceRef` without
reading any content (so a progress bar knows the total); `read_source` reads
one of them, bounded in size, and `parse_source` turns its bytes into sessions.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from loadmon.io.errors import FileFormatError
from loadmon.io.fit import parse_fit
from loadmon.io.gpx import parse_gpx
from loadmon.io.strava import StravaActivity, read_strava_activities
from loadmon.io.tcx import parse_tcx
from loadmon.types import Session

#: Largest activity file accepted, raw or decompressed (a 24 h FIT at 1 s is ~10 MB).
MAX_FILE_BYTES = 64 * 1024 * 1024
FORMATS = ("fit", "gpx", "tcx")
STRAVA_CSV = "activities.csv"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One activity source found by `collect`, not yet read.

    Attributes
    ----------
    path : Path
        The file on disk (the zip archive for a member).
    fmt : str
        ``fit``, ``gpx``, ``tcx``, or ``strava_row`` (a Strava activity without a file).
    member : str or None
        The member name inside a zip archive.
    gzipped : bool
        Whether the content is gzip-compressed.
    sport : str or None
        Sport named by an accompanying Strava ``activities.csv``.
    shoe : str or None
        Gear named by that ``activities.csv`` (Strava tracks shoes as gear).
    sessions : tuple of Session
        For ``strava_row``: the session described by the CSV row.
    key : str or None
        For ``strava_row``: a stable identity (the Strava activity id).
    """

    path: Path
    fmt: str
    member: str | None = None
    gzipped: bool = False
    sport: str | None = None
    shoe: str | None = None
    sessions: tuple[Session, ...] = field(default=())
    key: str | None = None

    @property
    def name(self) -> str:
        """A display name: the path, and the member for zip members."""
        return f"{self.path}:{self.member}" if self.member else str(self.path)


def _format_of(name: str) -> tuple[str | None, bool]:
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    suffix = lower.rsplit(".", 1)[-1] if "." in lower else ""
    return (suffix if suffix in FORMATS else None), gz


def _unsafe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


@dataclass(slots=True)
class Collected:
    """The outcome of `collect`: sources to import and paths that failed before reading."""

    refs: list[SourceRef] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _zip_refs(path: Path, out: Collected) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            bad = [i.filename for i in infos if _unsafe_member(i.filename)]
            if bad:
                raise FileFormatError(
                    f"unsafe entry {bad[0]!r} (absolute path or '..'): archive not imported"
                )
            by_name = {i.filename: i for i in infos if not i.is_dir()}
            hints: dict[str, StravaActivity] = {}
            csv_info = next(
                (i for n, i in by_name.items() if PurePosixPath(n).name == STRAVA_CSV), None
            )
            if csv_info is not None:
                for act in read_strava_activities(_read_member(zf, csv_info)):
                    if act.filename:
                        hints[act.filename] = act
                    elif act.session is not None:
                        out.refs.append(SourceRef(
                            path, "strava_row", member=f"{STRAVA_CSV}#{act.activity_id}",
                            sport=act.sport, sessions=(act.session,),
                            key=f"strava:{act.activity_id}",
                        ))
            for name in sorted(by_name):
                fmt, gz = _format_of(name)
                if fmt is None:
                    continue
                act = hints.get(name)
                out.refs.append(SourceRef(
                    path, fmt, member=name, gzipped=gz, sport=act.sport if act else None,
                    shoe=act.session.shoe if act and act.session else None,
                ))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        out.failed.append((str(path), f"not a readable zip archive ({exc})"))
    except FileFormatError as exc:
        out.failed.append((str(path), str(exc)))


def collect(paths: Iterable[Path]) -> Collected:
    """Find the activity sources in files, folders (recursively) and zip archives.

    Files in folders whose type is not an activity file are passed over; a file
    named explicitly that is not one is reported as failed.

    Parameters
    ----------
    paths : iterable of Path
        Files, folders and zip archives named by the user.

    Returns
    -------
    Collected
        Sources in a stable order, and the paths that failed with their reason.
    """
    out = Collected()
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() == ".zip":
                    _zip_refs(child, out)
                elif (fmt := _format_of(child.name))[0] is not None:
                    out.refs.append(SourceRef(child, fmt[0], gzipped=fmt[1]))
        elif not path.exists():
            out.failed.append((str(path), "no such file or folder"))
        elif path.suffix.lower() == ".zip":
            _zip_refs(path, out)
        elif (fmt := _format_of(path.name))[0] is not None:
            out.refs.append(SourceRef(path, fmt[0], gzipped=fmt[1]))
        else:
            out.failed.append((str(path), "not an activity file (expected .fit, .gpx, .tcx, "
                                          "optionally .gz, or a .zip export)"))
    return out


def _bounded(stream: io.BufferedIOBase | gzip.GzipFile, what: str) -> bytes:
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileFormatError(f"{what} is larger than the {MAX_FILE_BYTES >> 20} MiB limit")
    return data


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_FILE_BYTES:
        raise FileFormatError(
            f"{info.filename} is larger than the {MAX_FILE_BYTES >> 20} MiB limit"
        )
    with zf.open(info) as fh:
        return _bounded(fh, info.filename)


def read_source(ref: SourceRef) -> bytes:
    """Read the content of one source, decompressed, bounded by `MAX_FILE_BYTES`.

    Parameters
    ----------
    ref : SourceRef
        A file or zip member found by `collect`.

    Returns
    -------
    bytes
        The (decompressed) content.

    Raises
    ------
    FileFormatError
        Unreadable, too large, or a broken gzip stream.
    """
    try:
        if ref.member is not None:
            with zipfile.ZipFile(ref.path) as zf:
                raw = _read_member(zf, zf.getinfo(ref.member))
        else:
            if ref.path.stat().st_size > MAX_FILE_BYTES:
                raise FileFormatError(f"larger than the {MAX_FILE_BYTES >> 20} MiB limit")
            raw = ref.path.read_bytes()
        if not ref.gzipped:
            return raw
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
            return _bounded(gz, "decompressed content")
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise FileFormatError(f"cannot read: {exc}") from exc


def parse_source(ref: SourceRef, data: bytes) -> list[Session]:
    """Parse the bytes of one source into sessions (one per leg of a multisport file).

    The sport and gear named by Strava's ``activities.csv`` fill in files that
    name none (many GPX files carry no activity type; no file names the shoe).

    Parameters
    ----------
    ref : SourceRef
        The source (its format and sport hint).
    data : bytes
        Its content as returned by `read_source`.

    Returns
    -------
    list of Session
        The sessions, in file order.
    """
    if ref.fmt == "strava_row":
        return list(ref.sessions)
    if ref.fmt == "fit":
        sessions = parse_fit(data)  # FIT files always name their sport
    else:
        parser = parse_gpx if ref.fmt == "gpx" else parse_tcx
        sessions = parser(data, sport_hint=ref.sport)
    if ref.shoe is None:
        return sessions
    return [replace(s, shoe=ref.shoe) if s.kind == "run" and s.shoe is None else s
            for s in sessions]
