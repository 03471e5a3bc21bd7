"""The demo squad: shipped sample data loaded into a store.

The sample data (``data/demo`` in the repository, ``loadmon/_demo_data`` in an
installed wheel) is made by `make_demo_log` and `make_demo_pain`, seeded
generators, so it can be rebuilt and extended; `load_demo` puts it into a store
through the same import path a runner's own spreadsheet takes.

The squad, 16 weeks each, a coach's usual mix:

- Alex: builds well, then one long run far past the month's longest (a spike);
- Sam: every run in one pair of shoes on the road, no strength work;
- Maya: heel pain in the morning that keeps rising;
- Kenji: steady, two pairs, varied surfaces, strength twice a week.
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
from loadmon.types import PainEntry, Session

DEMO_ATHLETE = "Alex"
DEMO_TZ = "Europe/Berlin"


@dataclass(frozen=True, slots=True)
class DemoRunner:
    """One athlete of the demo squad and the habits the generator gives them."""

    name: str
    tz: str
    seed: int
    spike_week: int | None = 10
    rotates_shoes: bool = True
    varies_surfaces: bool = True
    strength_per_week: tuple[int, int] = (0, 3)
    heel_pain: bool = False
    base_km: float = 26.0
    build_km: float = 1.5
    recovery_weeks: bool = True
    shoe_start_km: float | None = None
    easy_runs: int | None = None


#: The demo squad (the first one is the demo athlete of ``loadmon demo``'s table).
DEMO_SQUAD: tuple[DemoRunner, ...] = (
    DemoRunner("Alex", DEMO_TZ, seed=7),
    DemoRunner("Sam", "America/New_York", seed=11, spike_week=None, rotates_shoes=False,
               varies_surfaces=False, strength_per_week=(0, 1), base_km=32.0, build_km=1.0),
    DemoRunner("Maya", "Europe/London", seed=13, spike_week=None, heel_pain=True,
               base_km=22.0, build_km=1.8),
    DemoRunner("Kenji", "Asia/Tokyo", seed=17, spike_week=None, strength_per_week=(2, 3),
               base_km=36.0, build_km=0.3, recovery_weeks=False, shoe_start_km=20.0,
               easy_runs=3),
)


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
    first_monday: date, weeks: int, seed: int = 7, tz: str = DEMO_TZ,
    runner: DemoRunner | None = None,
) -> list[Session]:
    """Generate a plausible recreational runner's log (runs, cycling, strength).

    Three to five runs a week on road, trail and track, a long run at the
    weekend, a load that builds with a recovery week every fourth week, one
    long-run jump in the runner's spike week and occasional cycling and
    strength sessions.

    Parameters
    ----------
    first_monday : date
        Monday of the first week.
    weeks : int
        Number of weeks.
    seed : int
        Random seed (the shipped data uses 7); `runner`'s seed wins.
    tz : str
        The athlete's time zone; `runner`'s wins.
    runner : DemoRunner or None
        The runner's habits; None: Alex's.

    Returns
    -------
    list of Session
        Sessions in time order.
    """
    runner = runner or DemoRunner(DEMO_ATHLETE, tz, seed)
    seed, tz = runner.seed, runner.tz
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(tz)
    out: list[Session] = []

    def add(day: date, hour: float, **kw: object) -> None:
        local = datetime.combine(day, time(int(hour), int(hour % 1 * 60)), tzinfo=zone)
        out.append(Session(start_utc=local.astimezone(UTC), source="log_csv", **kw))  # type: ignore[arg-type]

    for w in range(weeks):
        monday = first_monday + timedelta(weeks=w)
        base_km = runner.base_km + runner.build_km * w
        if w % 4 == 3 and runner.recovery_weeks:
            base_km *= 0.7  # recovery week
        long_km = 0.36 * base_km * (1.6 if w == runner.spike_week else 1.0)
        n_easy = 2 + int(rng.random() < 0.6)
        easy = [(1, "road"), (3, "road"), (4, "track" if runner.varies_surfaces else "road")][
            : runner.easy_runs or n_easy]
        for dow, surface in easy:
            km = round(float(rng.normal((base_km - long_km) / len(easy), 0.8)), 1)
            pace = rng.normal(5.6 if surface != "track" else 5.0, 0.15)
            shoe = ("Pegasus" if rng.random() < 0.85 or not runner.rotates_shoes
                    else "Speedgoat")
            add(monday + timedelta(days=dow), 7 + rng.random(), kind="run",
                distance_m=km * 1000, duration_s=round(km * pace * 60),
                shoe=shoe, surface=surface, rpe=float(rng.integers(3, 6)))
        long_surface = "trail" if w % 3 == 1 and runner.varies_surfaces else "road"
        add(monday + timedelta(days=6), 8.5, kind="run", distance_m=round(long_km, 1) * 1000,
            duration_s=round(long_km * 6.1 * 60),
            shoe="Speedgoat" if long_surface == "trail" and runner.rotates_shoes else "Pegasus",
            surface=long_surface, rpe=float(rng.integers(5, 8)))
        if rng.random() < 0.55:
            add(monday + timedelta(days=2), 18.0, kind="cross", sport="cycling",
                distance_m=round(float(rng.normal(22, 4)), 1) * 1000,
                duration_s=round(float(rng.normal(55, 8))) * 60, rpe=4.0)
        low, high = runner.strength_per_week
        for dow in rng.choice([0, 2, 5], size=int(rng.integers(low, high)), replace=False):
            add(monday + timedelta(days=int(dow)), 19.0, kind="strength", duration_s=1800.0,
                rpe=6.0,
                notes="calf raises, single-leg squats")
    out.sort(key=lambda s: s.start_utc)
    return out


DEMO_SHOES = (
    DemoShoe("Pegasus", "Nike Pegasus 40", 310.0, 650.0),
    DemoShoe("Speedgoat", "Hoka Speedgoat 5", 40.0, 650.0),
)


def make_demo_pain(first_monday: date, weeks: int, runner: DemoRunner) -> list[PainEntry]:
    """Generate the runner's morning heel-pain scores (none unless `runner.heel_pain`).

    Heel pain from week 6: a morning score every other day, creeping up from 1
    to 6 over the following weeks (a load the tissue does not tolerate).

    Parameters
    ----------
    first_monday : date
        Monday of the first week.
    weeks : int
        Number of weeks.
    runner : DemoRunner
        The runner.

    Returns
    -------
    list of PainEntry
        Entries in date order.
    """
    if not runner.heel_pain:
        return []
    start = first_monday + timedelta(weeks=6)
    days = (weeks - 6) * 7
    return [PainEntry(start + timedelta(days=d), float(min(6, 1 + d // 12)), "morning", "heel",
                      "first steps out of bed" if d == 0 else None)
            for d in range(0, days, 2)]


def load_demo(store: Store) -> list[str]:
    """Load the shipped demo squad into `store` (idempotent) and return the athletes' names.

    Parameters
    ----------
    store : Store
        The target log.

    Returns
    -------
    list of str
        The demo athletes, `DEMO_ATHLETE` first.
    """
    for runner in DEMO_SQUAD:
        folder = demo_dir() / runner.name.lower()
        with contextlib.suppress(Conflict):
            store.add_athlete(runner.name, runner.tz)
        have = {s.name for s in store.shoes(runner.name)}
        with (folder / "shoes.csv").open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["name"] not in have:
                    store.add_shoe(runner.name, row["name"], row["model"],
                                   float(row["start_km"]), float(row["retire_km"]))
        import_log_csv(store, folder / "log.csv", runner.name)
        pain = folder / "pain.csv"
        if pain.exists() and not store.pain(runner.name):
            with pain.open(newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    store.add_pain(runner.name, PainEntry(
                        date.fromisoformat(row["date"]), float(row["score"]), row["when"],
                        row["site"], row["notes"] or None))
    return [r.name for r in DEMO_SQUAD]
