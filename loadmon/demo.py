"""The demo training log: shipped sample data loaded into a store.

The sample data (``data/demo`` in the repository, ``loadmon/_demo_data`` in an
installed wheel) is made by `make_demo_log`, a seeded generator, so it can be
rebuilt and extended; `load_demo` puts it into a store through the same import
path a runner's own spreadsheet takes.
"""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from loadmon.importer import import_log_csv
from loadmon.store import Conflict, Store
from loadmon.types import Session

DEMO_ATHLETE = "Alex"
DEMO_TZ = "Europe/Berlin"


def demo_dir() -> Path:
    """Return the folder of the shipped demo data (installed wheel or source checkout)."""
    packaged = Path(__file__).parent / "_demo_data"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "data" / "demo"


@dataclass(frozen=True, slots=True)
class DemoShoe:
    """A shoe of the demo athlete."""

    name: str
    model: str
    start_km: float
    retire_km: float


def make_demo_log(
    first_monday: date, weeks: int, seed: int = 7, tz: str = DEMO_TZ
) -> list[Session]:
    """Generate a plausible recreational runner's log (runs, cycling, strength).

    Three to five runs a week on road, trail and track, a long run at the
    weekend, a load that builds with a recovery week every fourth week, one
    long-run jump in week 11 and occasional cycling and strength sessions.

    Parameters
    ----------
    first_monday : date
        Monday of the first week.
    weeks : int
        Number of weeks.
    seed : int
        Random seed (the shipped data uses 7).
    tz : str
        The athlete's time zone.

    Returns
    -------
    list of Session
        Sessions in time order.
    """
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(tz)
    out: list[Session] = []

    def add(day: date, hour: float, **kw: object) -> None:
        local = datetime.combine(day, time(int(hour), int(hour % 1 * 60)), tzinfo=zone)
        out.append(Session(start_utc=local.astimezone(UTC), source="log_csv", **kw))  # type: ignore[arg-type]

    for w in range(weeks):
        monday = first_monday + timedelta(weeks=w)
        base_km = 26.0 + 1.5 * w
        if w % 4 == 3:
            base_km *= 0.7  # recovery week
        long_km = 0.36 * base_km * (1.6 if w == 10 else 1.0)
        easy = [(1, "road"), (3, "road"), (4, "track")][: 2 + int(rng.random() < 0.6)]
        for dow, surface in easy:
            km = round(float(rng.normal((base_km - long_km) / len(easy), 0.8)), 1)
            pace = rng.normal(5.6 if surface != "track" else 5.0, 0.15)
            shoe = "Pegasus" if rng.random() < 0.85 else "Speedgoat"
            add(monday + timedelta(days=dow), 7 + rng.random(), kind="run",
                distance_m=km * 1000, duration_s=round(km * pace * 60),
                shoe=shoe, surface=surface, rpe=float(rng.integers(3, 6)))
        long_surface = "trail" if w % 3 == 1 else "road"
        add(monday + timedelta(days=6), 8.5, kind="run", distance_m=round(long_km, 1) * 1000,
            duration_s=round(long_km * 6.1 * 60),
            shoe="Speedgoat" if long_surface == "trail" else "Pegasus",
            surface=long_surface, rpe=float(rng.integers(5, 8)))
        if rng.random() < 0.55:
            add(monday + timedelta(days=2), 18.0, kind="cross", sport="cycling",
                distance_m=round(float(rng.normal(22, 4)), 1) * 1000,
                duration_s=round(float(rng.normal(55, 8))) * 60, rpe=4.0)
        for dow in rng.choice([0, 2, 5], size=int(rng.integers(0, 3)), replace=False):
            add(monday + timedelta(days=int(dow)), 19.0, kind="strength", duration_s=1800.0,
                rpe=6.0,
                notes="calf raises, single-leg squats")
    out.sort(key=lambda s: s.start_utc)
    return out


DEMO_SHOES = (
    DemoShoe("Pegasus", "Nike Pegasus 40", 310.0, 650.0),
    DemoShoe("Speedgoat", "Hoka Speedgoat 5", 40.0, 650.0),
)


def load_demo(store: Store) -> str:
    """Load the shipped demo log into `store` (idempotent) and return the athlete's name.

    Parameters
    ----------
    store : Store
        The target log.

    Returns
    -------
    str
        The demo athlete's name.
    """
    with contextlib.suppress(Conflict):
        store.add_athlete(DEMO_ATHLETE, DEMO_TZ)
    have = {s.name for s in store.shoes(DEMO_ATHLETE)}
    with (demo_dir() / "shoes.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["name"] not in have:
                store.add_shoe(DEMO_ATHLETE, row["name"], row["model"],
                               float(row["start_km"]), float(row["retire_km"]))
    import_log_csv(store, demo_dir() / "log.csv", DEMO_ATHLETE)
    return DEMO_ATHLETE
