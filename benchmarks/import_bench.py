"""Import benchmark: total import time / bare parse time of the same files, same run.

Generates N distinct GPX tracks (gpxpy, 1 Hz, 20-60 min each), adds the real FIT
files of ../shared/data/activities, then measures

* parse: read + decompress + parse every file (what any importer must do), and
* import: `loadmon import` on a fresh database (checksums, duplicate checks,
  one transaction per file).

Goal: import / parse <= 1.3. Usage::

    python benchmarks/import_bench.py [--files 1000] [--db URL]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy.gpx
import numpy as np

from loadmon.importer import import_paths
from loadmon.io.sources import collect, parse_source, read_source
from loadmon.store import Store

ROOT = Path(__file__).resolve().parents[1]
FIT_DIR = ROOT.parent / "shared" / "data" / "activities"


def make_gpx_files(folder: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    start0 = datetime(2024, 1, 1, 6, tzinfo=UTC)
    for i in range(n):
        gpx = gpxpy.gpx.GPX()
        track = gpxpy.gpx.GPXTrack(name=f"Run {i}")
        track.type = "running"
        seg = gpxpy.gpx.GPXTrackSegment()
        n_pts = int(rng.integers(1200, 3600))
        heading = np.cumsum(rng.normal(0, 0.05, n_pts))
        speed = rng.normal(3.0, 0.2)  # m/s
        lat = 52.52 + np.cumsum(np.cos(heading) * speed) / 111_320
        lon = 13.40 + np.cumsum(np.sin(heading) * speed) / (111_320 * math.cos(math.radians(52.5)))
        t0 = start0 + timedelta(hours=13 * i)
        for k in range(n_pts):
            seg.points.append(gpxpy.gpx.GPXTrackPoint(
                float(lat[k]), float(lon[k]), elevation=34.0 + k * 0.001,
                time=t0 + timedelta(seconds=k)))
        track.segments.append(seg)
        gpx.tracks.append(track)
        (folder / f"run_{i:05d}.gpx").write_text(gpx.to_xml(), encoding="utf-8")


def bare_parse(paths: list[Path]) -> tuple[float, int]:
    t = time.perf_counter()
    sessions = 0
    for ref in collect(paths).refs:
        try:
            sessions += len(parse_source(ref, read_source(ref)))
        except ValueError:  # the deliberately broken FIT files
            continue
    return time.perf_counter() - t, sessions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000, help="generated GPX files")
    ap.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "activities"
        folder.mkdir()
        make_gpx_files(folder, args.files)
        paths = [folder] + ([FIT_DIR] if FIT_DIR.is_dir() else [])
        n_files = len(collect(paths).refs)
        bare_parse(paths)  # warm the page cache and the imports
        parse_s, n_sessions = bare_parse(paths)
        store = Store.open(args.db or f"sqlite:///{tmp}/bench.sqlite")
        t = time.perf_counter()
        summary = import_paths(store, paths)
        import_s = time.perf_counter() - t
        store.close()
    print(f"files                 {n_files}")
    print(f"sessions parsed       {n_sessions}")
    print(f"imported / dup / fail {summary.count('imported')} / {summary.count('duplicate')} / "
          f"{summary.count('failed')}")
    print(f"bare parse            {parse_s:8.2f} s   {n_files / parse_s:8.1f} files/s")
    print(f"import                {import_s:8.2f} s   {n_files / import_s:8.1f} files/s")
    print(f"import / parse        {import_s / parse_s:8.2f}   (goal <= 1.3)")


if __name__ == "__main__":
    main()
