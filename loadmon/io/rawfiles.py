"""Raw recordings on disk: content checksums and Parquet files named by them.

A saved recording is one Parquet file ``recordings/<sha256>.parquet`` under
the data directory (`loadmon.store.data_dir`), named by the SHA-256 of the
source file's bytes, so that saving the same file twice keeps one copy. The
file is written to a temporary name in the same folder and renamed into
place when complete (`os.replace`, atomic on one file system): a reader
never sees half a file, and a failed write leaves nothing behind.

Columns: ``t_s`` (s), ``ax_g``, ``ay_g``, ``az_g`` (g) and, when the
recording has a gyroscope, ``gx_dps``, ``gy_dps``, ``gz_dps`` (deg/s), all
float64, the samples exactly as the detector received them. The schema's
key-value metadata holds ``placement``, ``fs_hz``, ``format``, ``units``
(of the source file; the columns are always g), ``source_file`` (its name)
and, when known, ``start_utc`` (ISO 8601 time of ``t_s == 0``) and ``side``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "RECORDINGS_DIR",
    "ParquetRecordingWriter",
    "content_checksum",
    "read_parquet_recording",
    "recording_path",
]

#: Folder of the raw recordings, under the data directory.
RECORDINGS_DIR = "recordings"
ACC_NAMES = ("ax_g", "ay_g", "az_g")
GYRO_NAMES = ("gx_dps", "gy_dps", "gz_dps")
_BLOCK = 1 << 20


def content_checksum(path: Path) -> str:
    """Return the SHA-256 (hex) of a file's bytes, or of a folder's files.

    Read in blocks: memory stays small whatever the size. A folder (a plain
    recording, an unzipped export) is hashed over its top-level files in
    name order, each as its name, a NUL byte, its size and its bytes.

    Parameters
    ----------
    path : Path
        A file or a folder.

    Returns
    -------
    str
        64 hexadecimal digits.

    Raises
    ------
    OSError
        When a file cannot be read.
    """
    digest = hashlib.sha256()
    path = Path(path)
    if path.is_dir():
        for member in sorted(p for p in path.iterdir() if p.is_file()):
            digest.update(member.name.encode() + b"\0" + str(member.stat().st_size).encode())
            _feed(digest, member)
    else:
        _feed(digest, path)
    return digest.hexdigest()


def _feed(digest: Any, path: Path) -> None:
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)


def recording_path(data_dir: Path, checksum: str) -> Path:
    """Return where the raw recording of content `checksum` is kept.

    Parameters
    ----------
    data_dir : Path
        The data directory (`loadmon.store.data_dir`).
    checksum : str
        SHA-256 (hex) of the source file.

    Returns
    -------
    Path
        ``data_dir / "recordings" / f"{checksum}.parquet"``.
    """
    if len(checksum) != 64 or any(c not in "0123456789abcdef" for c in checksum):
        raise ValueError(f"not a SHA-256 hex digest: {checksum!r}")
    return Path(data_dir) / RECORDINGS_DIR / f"{checksum}.parquet"


class ParquetRecordingWriter:
    """Write samples chunk by chunk to a temporary Parquet file; rename it into place at the end.

    Use it as a context manager: leaving the block without `commit` (an
    error, an interrupt) deletes the temporary file. Memory is bounded by
    the chunks written (each is one row group).

    Parameters
    ----------
    folder : Path
        Folder of the final file (created when missing); the temporary file
        is made in it, so that the rename stays on one file system.
    metadata : dict of str to str
        Key-value metadata of the file (see the module docstring);
        `start` adds ``fs_hz`` and may add more.

    Attributes
    ----------
    rows : int
        Samples written so far.
    """

    def __init__(self, folder: Path, metadata: dict[str, str]) -> None:
        self.folder = Path(folder)
        self.metadata = dict(metadata)
        self.rows = 0
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> ParquetRecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def start(self, fs_hz: float, has_gyro: bool, **metadata: str | None) -> None:
        """Fix the file's columns and metadata; called once, before the first `write`.

        Parameters
        ----------
        fs_hz : float
            Nominal sampling rate, Hz.
        has_gyro : bool
            Whether the samples have angular rates (three more columns).
        **metadata : str or None
            More key-value metadata (None values are left out).
        """
        if self._schema is not None:
            raise RuntimeError("start() was called already")
        names = ["t_s", *ACC_NAMES, *(GYRO_NAMES if has_gyro else ())]
        meta = {**self.metadata, "fs_hz": repr(float(fs_hz))}
        meta.update({k: v for k, v in metadata.items() if v is not None})
        self._schema = pa.schema(
            [pa.field(n, pa.float64(), nullable=False) for n in names],
            metadata={k.encode(): str(v).encode() for k, v in meta.items()},
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=self.folder)
        os.close(fd)
        self._tmp = Path(name)
        self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")

    def write(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None) -> None:
        """Append samples (one row group).

        Parameters
        ----------
        t_s : numpy.ndarray
            Times, s, shape (n,).
        acc_g : numpy.ndarray
            Accelerations, g, shape (n, 3).
        gyro_dps : numpy.ndarray or None
            Angular rates, deg/s, shape (n, 3); required when started with a gyroscope.
        """
        if self._writer is None or self._schema is None:
            raise RuntimeError("call start() before write()")
        if not len(t_s):
            return
        cols = [np.asarray(t_s, dtype=np.float64), *np.asarray(acc_g, dtype=np.float64).T]
        if len(self._schema) == 7:
            if gyro_dps is None:
                raise ValueError("this recording has a gyroscope: pass gyro_dps")
            cols += list(np.asarray(gyro_dps, dtype=np.float64).T)
        self._writer.write_table(pa.Table.from_arrays(cols, schema=self._schema))
        self.rows += len(t_s)

    def commit(self, target: Path) -> bool:
        """Close the file and rename it to `target` (atomic); keep an identical existing one.

        Parameters
        ----------
        target : Path
            The final path (see `recording_path`), in `folder`.

        Returns
        -------
        bool
            True when `target` was created, False when it existed already
            (same content checksum: the new copy is dropped).
        """
        if self._writer is None or self._tmp is None:
            raise RuntimeError("nothing was written")
        self._writer.close()
        self._writer = None
        tmp, self._tmp = self._tmp, None
        if target.exists():
            tmp.unlink()
            return False
        with tmp.open("rb+") as fh:  # the data is on disk before the name points to it
            os.fsync(fh.fileno())
        mask = os.umask(0)  # mkstemp made it private: give it the usual permissions
        os.umask(mask)
        tmp.chmod(0o666 & ~mask)
        os.replace(tmp, target)
        return True

    def abort(self) -> None:
        """Delete the temporary file, when not committed (safe to call twice)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def read_parquet_recording(path: Path) -> tuple[pa.Table, dict[str, str]]:
    """Read a raw recording written by `ParquetRecordingWriter`.

    Parameters
    ----------
    path : Path
        The Parquet file.

    Returns
    -------
    table : pyarrow.Table
        The samples (``t_s``, ``ax_g``, ... columns).
    metadata : dict of str to str
        The file's key-value metadata.
    """
    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    return table, meta
