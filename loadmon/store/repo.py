"""The training-log repository: athletes, shoes, sessions and pain entries.

Thin over SQLAlchemy: validation of values lives in `loadmon.types`, the rules
in `loadmon.models`. Every write is one transaction: it stores all of a
request or nothing.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import adbc_driver_sqlite.dbapi as adbc_sqlite
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from adbc_driver_manager import Error as AdbcError
from adbc_driver_sqlite import StatementOptions
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Engine,
    Float,
    Select,
    String,
    func,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from loadmon.store.engine import BUSY_TIMEOUT_MS, create_store_engine
from loadmon.store.errors import Conflict, NotFound, StoreError
from loadmon.store.schema import (
    Athlete,
    PainRecord,
    RuleOverride,
    Shoe,
    TrainingSession,
    UTCDateTime,
)
from loadmon.types import InvalidValue, PainEntry, Session

DEFAULT_ATHLETE = "me"
#: Sources measured by a device clock: two of them starting this close are one activity.
DEVICE_SOURCES = frozenset({"fit", "gpx", "tcx", "replay", "ble"})
SAME_ACTIVITY_S = 60.0
#: Device clocks drift: a start this far past now is still accepted.
CLOCK_SLACK = timedelta(minutes=10)

SESSION_COLUMNS = (
    "start_utc", "time_known", "duration_s", "distance_m", "distance_estimated", "kind",
    "sport", "surface", "rpe", "source", "device", "cadence_spm", "stance_time_ms",
    "vertical_oscillation_mm", "step_length_m", "avg_hr_bpm", "impact_g", "notes", "recording",
)

#: The `Session` fields the load model reads (`loadmon.models`).
MODEL_COLUMNS: tuple[str, ...] = (
    "start_utc", "time_known", "duration_s", "distance_m", "kind", "surface", "rpe",
    "cadence_spm", "impact_g",
)


#: The ADBC SQLite driver's statement option: rows per Arrow batch.
ADBC_BATCH_ROWS = StatementOptions.BATCH_ROWS.value
#: A SQLite file's sessions are read in this many ranges of ids at once (threads).
READ_PARTS = max(1, min(4, os.cpu_count() or 1))

#: Heights (cm) an athlete may have.
HEIGHT_RANGE_CM = (50.0, 260.0)


@dataclass(frozen=True, slots=True)
class AthleteInfo:
    """An athlete as stored: id, unique name, IANA time zone and height (cm, when known)."""

    id: int
    name: str
    tz: str
    height_cm: float | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The athlete's time zone."""
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True)
class ShoeInfo:
    """A shoe with its total distance (start km plus logged runs), in km."""

    name: str
    model: str | None
    start_km: float
    retire_km: float
    retired: bool
    distance_km: float
    runs: int


@dataclass(frozen=True, slots=True)
class AddOutcome:
    """What `Store.add_sessions` did: sessions added, and sessions already in the log.

    ``duplicate_of`` names the stored source of each duplicate (its file name,
    or its kind of source when it had none).
    """

    added: int
    duplicates: int
    duplicate_of: tuple[str, ...] = ()


def check_tz(tz: str) -> str:
    """Return `tz` when it names an IANA time zone, else raise `InvalidValue`.

    Parameters
    ----------
    tz : str
        A time-zone name such as ``Europe/Berlin``.

    Returns
    -------
    str
        The same name.
    """
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue("tz", f"{tz!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
    return tz


def local_zone_name() -> str:
    """Return this machine's IANA time-zone name, or ``UTC`` when it cannot be told."""
    try:
        import tzlocal

        return check_tz(tzlocal.get_localzone_name() or "UTC")
    except Exception:  # tzlocal raises several types on odd systems
        return "UTC"


class Store:
    """The training log in a database (SQLite file by default, PostgreSQL by URL).

    Parameters
    ----------
    engine : Engine
        An engine whose schema is migrated (see `create_store_engine`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (and migrate) the database at `url`; see `loadmon.store.engine.resolve_url`.

        Parameters
        ----------
        url : str or None
            SQLAlchemy URL or SQLite path; None uses ``LOADMON_DB`` or the default file.

        Returns
        -------
        Store
            The opened store.
        """
        return cls(create_store_engine(url))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[OrmSession]:
        try:
            with self._sessions.begin() as orm:
                yield orm
        except SQLAlchemyError as exc:
            msg = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(f"database error: {msg}") from exc

    # --- athletes -------------------------------------------------------------------------

    def add_athlete(
        self, name: str, tz: str | None = None, height_cm: float | None = None
    ) -> AthleteInfo:
        """Add an athlete with a unique name.

        Parameters
        ----------
        name : str
            Unique, non-empty name.
        tz : str or None
            IANA time zone; this machine's zone when None.
        height_cm : float or None
            Body height, cm (the default step length of distances estimated
            from steps); see `set_athlete_height`.

        Returns
        -------
        AthleteInfo
            The new athlete.

        Raises
        ------
        Conflict
            When the name is taken.
        """
        name = name.strip()
        if not name:
            raise InvalidValue("name", "athlete name must not be empty")
        tz = check_tz(tz or local_zone_name())
        if height_cm is not None:
            check_height(height_cm)
        try:
            with self._tx() as orm:
                row = Athlete(name=name, tz=tz, created_utc=datetime.now(UTC), height_cm=height_cm)
                orm.add(row)
                orm.flush()
                return _athlete_info(row)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise Conflict(f"athlete {name!r} already exists") from exc
            raise

    def athletes(self) -> list[AthleteInfo]:
        """Return all athletes, by name."""
        with self._tx() as orm:
            rows = orm.scalars(select(Athlete).order_by(Athlete.name)).all()
            return [_athlete_info(r) for r in rows]

    def athlete(self, name: str | AthleteInfo | None = None) -> AthleteInfo:
        """Return the athlete called `name`; None means the default athlete.

        The default athlete (``me``, in this machine's time zone) is created on
        first use, so a single runner never has to think about athletes.

        Parameters
        ----------
        name : str, AthleteInfo or None
            Athlete name (an `AthleteInfo` is returned as it is).

        Returns
        -------
        AthleteInfo
            The athlete.

        Raises
        ------
        NotFound
            When a named athlete does not exist.
        """
        if isinstance(name, AthleteInfo):
            return name
        wanted = DEFAULT_ATHLETE if name is None else name.strip()
        with self._tx() as orm:
            row = orm.scalar(select(Athlete).where(Athlete.name == wanted))
            if row is not None:
                return _athlete_info(row)
        if name is not None and wanted != DEFAULT_ATHLETE:
            raise NotFound(f"unknown athlete {wanted!r} (add it with: loadmon athlete add NAME)")
        try:
            return self.add_athlete(DEFAULT_ATHLETE)
        except Conflict:  # created meanwhile by another process
            return self.athlete(DEFAULT_ATHLETE)

    def set_athlete_height(
        self, athlete: str | AthleteInfo | None, height_cm: float | None
    ) -> AthleteInfo:
        """Set (or with None, forget) an athlete's body height.

        The height gives the default step length of distances estimated from
        steps until the athlete's own runs calibrate it (`loadmon.distance`).

        Parameters
        ----------
        athlete : str, AthleteInfo or None
            Athlete name (None: the default athlete).
        height_cm : float or None
            Height in cm, 50-260.

        Returns
        -------
        AthleteInfo
            The athlete with the new height.

        Raises
        ------
        InvalidValue
            A height outside 50-260 cm.
        """
        if height_cm is not None:
            check_height(height_cm)
        who = self.athlete(athlete)
        with self._tx() as orm:
            row = orm.get(Athlete, who.id)
            if row is None:
                raise NotFound(f"unknown athlete {who.name!r}")
            row.height_cm = height_cm
            return _athlete_info(row)

    # --- shoes ----------------------------------------------------------------------------

    def add_shoe(
        self,
        athlete: str | AthleteInfo | None,
        name: str,
        model: str | None = None,
        start_km: float = 0.0,
        retire_km: float = 650.0,
    ) -> ShoeInfo:
        """Add a pair of shoes to an athlete's rotation.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        name : str
            Name unique among this athlete's shoes.
        model : str or None
            Make and model.
        start_km : float
            Distance already on the shoe when it enters the log, km.
        retire_km : float
            Distance at which the shoe is due to be retired, km.

        Returns
        -------
        ShoeInfo
            The new shoe.
        """
        name = name.strip()
        if not name:
            raise InvalidValue("name", "shoe name must not be empty")
        if not start_km >= 0:
            raise InvalidValue("start_km", f"must not be negative (got {start_km:g})")
        if not retire_km > 0:
            raise InvalidValue("retire_km", f"must be positive (got {retire_km:g})")
        who = self.athlete(athlete)
        try:
            with self._tx() as orm:
                orm.add(Shoe(athlete_id=who.id, name=name, model=model, start_km=start_km,
                             retire_km=retire_km, retired=False))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise Conflict(f"{who.name} already has a shoe called {name!r}") from exc
            raise
        return self.shoe(who, name)

    def shoes(self, athlete: str | AthleteInfo | None = None) -> list[ShoeInfo]:
        """Return an athlete's shoes with their distance, by name.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).

        Returns
        -------
        list of ShoeInfo
            Active and retired shoes.
        """
        who = self.athlete(athlete)
        runs = (
            select(
                TrainingSession.shoe_id,
                func.coalesce(func.sum(TrainingSession.distance_m), 0.0).label("m"),
                func.count(TrainingSession.id).label("n"),
            )
            .where(TrainingSession.kind == "run")
            .group_by(TrainingSession.shoe_id)
            .subquery()
        )
        with self._tx() as orm:
            rows = orm.execute(
                select(Shoe, runs.c.m, runs.c.n)
                .outerjoin(runs, runs.c.shoe_id == Shoe.id)
                .where(Shoe.athlete_id == who.id)
                .order_by(Shoe.name)
            ).all()
            return [
                ShoeInfo(s.name, s.model, s.start_km, s.retire_km, s.retired,
                         s.start_km + (m or 0.0) / 1000.0, n or 0)
                for s, m, n in rows
            ]

    def shoe(self, athlete: str | AthleteInfo | None, name: str) -> ShoeInfo:
        """Return one of an athlete's shoes.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        name : str
            The shoe's name.

        Returns
        -------
        ShoeInfo
            The shoe with its distance.

        Raises
        ------
        NotFound
            The athlete has no shoe of that name.
        """
        who = self.athlete(athlete)
        for shoe in self.shoes(who.name):
            if shoe.name == name:
                return shoe
        raise NotFound(f"{who.name} has no shoe called {name!r} (add it with: loadmon shoes add)")

    def retire_shoe(self, athlete: str | AthleteInfo | None, name: str) -> ShoeInfo:
        """Mark a shoe as retired (its runs stay in the log).

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        name : str
            The shoe's name.

        Returns
        -------
        ShoeInfo
            The retired shoe.
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            row = orm.scalar(select(Shoe).where(Shoe.athlete_id == who.id, Shoe.name == name))
            if row is None:
                raise NotFound(f"{who.name} has no shoe called {name!r}")
            row.retired = True
        return self.shoe(who, name)

    # --- sessions -------------------------------------------------------------------------

    def add_sessions(
        self,
        athlete: str | AthleteInfo | None,
        sessions: Sequence[Session],
        *,
        checksum: str | Sequence[str] | None = None,
        source_name: str | None = None,
        add_shoes: Sequence[str] = (),
        now: datetime | None = None,
    ) -> AddOutcome:
        """Add the sessions of one source (a file, a row set, a manual entry) in one transaction.

        Idempotent: a source whose checksum is stored already adds nothing; a
        device-recorded session starting within 60 s of a stored device-recorded
        session of the same kind is the same activity (a FIT and a GPX of one
        run) and is counted as a duplicate.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        sessions : sequence of Session
            The sessions, in source order (their index is the source part).
        checksum : str, sequence of str, or None
            Identity for idempotent imports: the content checksum of a file whose
            sessions are its parts (legs, in order), or one checksum per session
            (rows of a spreadsheet, whose order may change).
        source_name : str or None
            The file name the sessions came from, kept for reference.
        add_shoes : sequence of str
            Shoes to create in the same transaction (named by the source).
        now : datetime or None
            The current time (UTC aware), for the future-date check.

        Returns
        -------
        AddOutcome
            Counts of added and duplicate sessions.

        Raises
        ------
        InvalidValue
            A session in the future or naming an unknown shoe: nothing is stored.
        """
        who = self.athlete(athlete)
        now = now or datetime.now(UTC)
        zone = who.zone
        for s in sessions:
            _check_not_future(s, now, zone)
        if isinstance(checksum, str) or checksum is None:
            keys = [(checksum, part) for part in range(len(sessions))]
        else:
            keys = [(c, 0) for c in checksum]
            if len(keys) != len(sessions):
                raise ValueError("one checksum per session is needed")
        added = 0
        dupes: list[str] = []
        with self._tx() as orm:
            for name in add_shoes:
                orm.add(Shoe(athlete_id=who.id, name=name, start_km=0.0, retire_km=650.0,
                             retired=False))
            orm.flush()
            shoes = {
                r.name: r.id for r in orm.scalars(select(Shoe).where(Shoe.athlete_id == who.id))
            }
            for s, (key, part) in zip(sessions, keys, strict=True):
                if s.shoe is not None and s.shoe not in shoes:
                    raise InvalidValue(
                        "shoe", f"unknown shoe {s.shoe!r} (add it with: loadmon shoes add NAME)"
                    )
                if (same := self._stored_twin(orm, who.id, s, key, part)) is not None:
                    dupes.append(same)
                    continue
                values = {c: getattr(s, c) for c in SESSION_COLUMNS}
                orm.add(TrainingSession(
                    athlete_id=who.id, shoe_id=shoes.get(s.shoe) if s.shoe else None,
                    source_checksum=key, source_part=part, source_name=source_name,
                    imported_utc=now, **values,
                ))
                added += 1
        return AddOutcome(added, len(dupes), tuple(dupes))

    def has_source(self, athlete: str | AthleteInfo | None, checksum: str) -> bool:
        """Return whether a source with this checksum is in the athlete's log already.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        checksum : str
            The source's content checksum.

        Returns
        -------
        bool
            True when any session came from that source.
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            return orm.scalar(
                select(TrainingSession.id).where(
                    TrainingSession.athlete_id == who.id,
                    TrainingSession.source_checksum == checksum,
                ).limit(1)
            ) is not None

    def recording_in_use(self, recording: str) -> bool:
        """Return whether any session (of any athlete) references the raw recording `recording`.

        Parameters
        ----------
        recording : str
            The reference as stored in `Session.recording`.

        Returns
        -------
        bool
            True when a session points to it.
        """
        with self._tx() as orm:
            return orm.scalar(
                select(TrainingSession.id).where(TrainingSession.recording == recording).limit(1)
            ) is not None

    @staticmethod
    def _stored_twin(
        orm: OrmSession, athlete_id: int, s: Session, checksum: str | None, part: int
    ) -> str | None:
        """Return the source name of the stored session `s` duplicates, else None."""
        of_athlete = select(TrainingSession.source_name, TrainingSession.source).where(
            TrainingSession.athlete_id == athlete_id
        ).limit(1)
        if checksum is not None:
            row = orm.execute(of_athlete.where(
                TrainingSession.source_checksum == checksum, TrainingSession.source_part == part
            )).first()
            if row is not None:
                return row[0] or row[1]
        if s.source not in DEVICE_SOURCES or not s.time_known:
            return None  # a date-only start (a file without a clock) cannot match a start time
        window = timedelta(seconds=SAME_ACTIVITY_S)
        row = orm.execute(of_athlete.where(
            TrainingSession.kind == s.kind,
            TrainingSession.source.in_(DEVICE_SOURCES),
            TrainingSession.time_known.is_(True),
            TrainingSession.start_utc.between(s.start_utc - window, s.start_utc + window),
        )).first()
        return None if row is None else row[0] or row[1]

    def sessions(self, athlete: str | AthleteInfo | None = None) -> list[Session]:
        """Return an athlete's sessions in start order.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).

        Returns
        -------
        list of Session
            The sessions as value objects.
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            rows = orm.execute(
                select(TrainingSession, Shoe.name)
                .outerjoin(Shoe, Shoe.id == TrainingSession.shoe_id)
                .where(TrainingSession.athlete_id == who.id)
                .order_by(TrainingSession.start_utc, TrainingSession.id)
            ).all()
            return [
                Session(shoe=shoe, **{c: getattr(row, c) for c in SESSION_COLUMNS})
                for row, shoe in rows
            ]

    def sessions_frame(
        self, athletes: Sequence[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return sessions as a DataFrame, one row a session, for the load model.

        Parameters
        ----------
        athletes : sequence of str or None
            Athlete names; None means every athlete.
        columns : sequence of str or None
            The `Session` fields to read (`MODEL_COLUMNS`: what the load model
            uses); None: every field.

        Returns
        -------
        pandas.DataFrame
            Columns ``athlete``, ``tz``, ``shoe`` and the `Session` fields, in
            athlete and start order; ``start_utc`` is a UTC-aware datetime column,
            text columns are categoricals (sorted categories), numbers float
            (NaN for none).
        """
        fields = list(SESSION_COLUMNS if columns is None else columns)
        unknown = sorted(set(fields) - set(SESSION_COLUMNS))
        if unknown:
            raise ValueError(f"unknown session columns: {', '.join(unknown)}")
        others = [getattr(TrainingSession, c) for c in fields if c != "start_utc"]
        # The athlete and the shoe as their ids, named after the query (a name per row
        # would be a string per row), and no ORDER BY: sorting in the database walks the
        # start index and looks up each row, which takes as long as reading them.
        stmt = select(TrainingSession.id, TrainingSession.athlete_id, TrainingSession.shoe_id,
                      _raw(TrainingSession.start_utc), *[_raw(c) for c in others])
        if athletes is not None:
            stmt = stmt.where(TrainingSession.athlete_id.in_(
                select(Athlete.id).where(Athlete.name.in_(list(athletes)))))
        try:
            session_id, athlete_id, shoe_id, start, *values = self._columns(stmt)
            # Read after the sessions: athletes and shoes are only ever added (never
            # renamed or removed), so these hold every id the sessions name.
            with self.engine.connect() as conn:
                who = conn.execute(select(Athlete.id, Athlete.name, Athlete.tz)).all()
                shoes = conn.execute(select(Shoe.id, Shoe.name)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}".splitlines()[0]) from exc
        except Exception as exc:  # the drivers' own errors, raised outside SQLAlchemy
            if not isinstance(exc, (self.engine.dialect.loaded_dbapi.Error, AdbcError)):
                raise
            raise StoreError(f"database error: {exc}".splitlines()[0]) from exc

        athlete = _positions([r[0] for r in who], athlete_id)
        start_utc = _timestamps(start)
        # athlete name (as Python orders text), start, then id: as stored
        name_rank = np.argsort(np.argsort(np.array([r[1] for r in who], dtype=object)))
        order = np.lexsort((_integers(session_id), start_utc.asi8,
                            np.append(name_rank, -1)[athlete]))
        athlete = athlete[order]
        frame = {
            "athlete": _named(athlete, [r[1] for r in who]),
            "tz": _named(athlete, [r[2] for r in who]),
            "shoe": _named(_positions([r[0] for r in shoes], shoe_id)[order],
                           [r[1] for r in shoes]),
        }
        typed = dict(zip([c.key for c in others], values, strict=True))
        for key in fields:
            frame[key] = (start_utc.take(order) if key == "start_utc"
                          else _typed(typed[key], getattr(TrainingSession, key), order))
        return pd.DataFrame(frame)

    def _columns(self, stmt: Select[Any]) -> list[pa.Array | pa.ChunkedArray]:
        """Run `stmt` (sessions) and return its result as one Arrow array per column.

        A SQLite file is read by the ADBC driver straight into Arrow, in
        `READ_PARTS` ranges of session ids at once (the driver releases the
        GIL, SQLite serves concurrent readers); any other database row by row
        through its DBAPI driver. Timestamps come as the driver gives them:
        naive UTC text from SQLite, aware datetimes from PostgreSQL.
        """
        path = _sqlite_file(self.engine)
        if path is None:
            with self.engine.connect() as conn:
                result = conn.execute(stmt)
                # The driver's own tuples: every selected column needs no result
                # processing (`_raw`), and wrapping 300,000 rows in Row objects costs
                # more than reading them.
                rows = result.cursor.fetchall()
                result.close()
            return [pa.array([r[j] for r in rows]) for j in range(len(stmt.selected_columns))]
        with self.engine.connect() as conn:
            lo, hi = conn.execute(select(func.min(TrainingSession.id),
                                         func.max(TrainingSession.id))).one()
        if lo is None:
            parts = [stmt]
        else:
            cuts = np.linspace(lo, hi + 1, READ_PARTS + 1).round().astype(np.int64).tolist()
            parts = [stmt.where(TrainingSession.id >= a, TrainingSession.id < b)
                     for a, b in itertools.pairwise(cuts) if b > a]
        with ThreadPoolExecutor(len(parts)) as pool:
            tables = list(pool.map(partial(_adbc_read, path, self.engine), parts))
        return [_concat([t.column(k) for t in tables]) for k in range(tables[0].num_columns)]

    # --- pain -----------------------------------------------------------------------------

    def add_pain(
        self, athlete: str | AthleteInfo | None, entry: PainEntry, now: datetime | None = None
    ) -> None:
        """Store a pain score.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        entry : PainEntry
            The score, its local date and moment.
        now : datetime or None
            The current time (UTC aware), for the future-date check.
        """
        who = self.athlete(athlete)
        today = (now or datetime.now(UTC)).astimezone(who.zone).date()
        if entry.date_local > today:
            raise InvalidValue("date", f"{entry.date_local.isoformat()} is in the future")
        with self._tx() as orm:
            orm.add(PainRecord(
                athlete_id=who.id, date_local=entry.date_local, score=entry.score,
                moment=entry.when, site=entry.site, notes=entry.notes,
                created_utc=now or datetime.now(UTC),
            ))

    def pain(self, athlete: str | AthleteInfo | None = None) -> list[PainEntry]:
        """Return an athlete's pain entries by date.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).

        Returns
        -------
        list of PainEntry
            Entries in date order.
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            rows = orm.scalars(
                select(PainRecord).where(PainRecord.athlete_id == who.id)
                .order_by(PainRecord.date_local, PainRecord.id)
            ).all()
            return [PainEntry(r.date_local, r.score, r.moment, r.site, r.notes)  # type: ignore[arg-type]
                    for r in rows]

    # --- rule overrides -------------------------------------------------------------------

    def set_rule_override(
        self, athlete: str | AthleteInfo | None, rule: str, key: str, value: str,
        now: datetime | None = None,
    ) -> None:
        """Store an athlete's own value of a rule threshold (replacing an earlier one).

        The caller validates it (`loadmon.models.rules.merge_overrides`): the
        store keeps what it is given.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        rule, key : str
            The rule id and the threshold's key (``spike``, ``caution_pct``).
        value : str
            The value as a TOML literal (``15``, ``12.5``).
        now : datetime or None
            The current time (UTC aware).
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            row = _override(orm, who, rule, key)
            if row is None:
                row = RuleOverride(athlete_id=who.id, rule=rule, key=key)
                orm.add(row)
            row.value = value
            row.updated_utc = now or datetime.now(UTC)

    def unset_rule_override(self, athlete: str | AthleteInfo | None, rule: str,
                            key: str) -> bool:
        """Remove an athlete's own value of a rule threshold.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).
        rule, key : str
            The rule id and the threshold's key.

        Returns
        -------
        bool
            Whether there was one.
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            row = _override(orm, who, rule, key)
            if row is None:
                return False
            orm.delete(row)
            return True

    def rule_overrides(self, athlete: str | AthleteInfo | None = None) -> dict[str, dict[str, str]]:
        """Return an athlete's own rule thresholds.

        Parameters
        ----------
        athlete : str or None
            Athlete name (None: the default athlete).

        Returns
        -------
        dict
            Rule id to key to the value's TOML literal.
        """
        who = self.athlete(athlete)
        with self._tx() as orm:
            rows = orm.execute(select(RuleOverride.rule, RuleOverride.key, RuleOverride.value)
                               .where(RuleOverride.athlete_id == who.id)
                               .order_by(RuleOverride.rule, RuleOverride.key)).all()
        out: dict[str, dict[str, str]] = {}
        for rule, key, value in rows:
            out.setdefault(rule, {})[key] = value
        return out


def check_height(height_cm: float) -> float:
    """Return `height_cm` when it is a plausible body height, else raise `InvalidValue`.

    Parameters
    ----------
    height_cm : float
        Height in cm.

    Returns
    -------
    float
        The same height.
    """
    lo, hi = HEIGHT_RANGE_CM
    if not (math.isfinite(height_cm) and lo <= height_cm <= hi):
        raise InvalidValue("height_cm", f"must be between {lo:g} and {hi:g} cm (got {height_cm:g})")
    return float(height_cm)


def _athlete_info(row: Athlete) -> AthleteInfo:
    return AthleteInfo(row.id, row.name, row.tz, row.height_cm)


def _override(orm: OrmSession, who: AthleteInfo, rule: str, key: str) -> RuleOverride | None:
    """Return the stored override of `rule`.`key` of an athlete, if any."""
    return orm.scalars(select(RuleOverride).where(
        RuleOverride.athlete_id == who.id, RuleOverride.rule == rule,
        RuleOverride.key == key)).one_or_none()


def _raw(column: ColumnElement[object]) -> ColumnElement[object]:
    """Select a timestamp column as the driver gives it (see `Store._columns`)."""
    if isinstance(column.type, UTCDateTime):
        return type_coerce(column, String).label(column.key)
    return column


def _adbc_read(path: str, engine: Engine, stmt: Select[Any]) -> pa.Table:
    """Read `stmt` from the SQLite file `path` with the ADBC driver (its own connection)."""
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with adbc_sqlite.connect(path) as conn, conn.cursor() as cur:
        # wait, as the store's own connections do, while another opens the file's log
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.fetchall()
        # The driver types a column from its first batch: one batch for every row,
        # or a column NULL in the first 1,024 rows (the default) and set later fails.
        # (2**31 - 2 is the largest it accepts).
        cur.adbc_statement.set_options(**{ADBC_BATCH_ROWS: str(2**31 - 2)})
        cur.execute(sql)
        return cur.fetch_arrow_table()


def _concat(parts: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    """Join one column read in parts (without copying).

    The driver types a part's column from its values: a part where the column
    is NULL throughout takes the type of the parts that hold values.
    """
    held = [p.type for p in parts if p.null_count < len(p)]
    kind = held[0] if held else parts[0].type
    return pa.chunked_array([c.cast(kind) if p.type != kind else c
                             for p in parts for c in p.chunks], type=kind)


def _sqlite_file(engine: Engine) -> str | None:
    """Return the path of `engine`'s SQLite database file (None: not a SQLite file)."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return None if url.query.get("uri") else url.database


def _integers(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return integer values as int64 (NULL: -1; ids are positive)."""
    return pc.fill_null(values.cast(pa.int64()), -1).to_numpy()


def _positions(ids: Sequence[int], values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return the position in `ids` of each id of `values` (-1 for NULL)."""
    return pd.Index(np.asarray(ids, dtype=np.int64)).get_indexer(_integers(values))


def _timestamps(values: pa.Array | pa.ChunkedArray) -> pd.arrays.DatetimeArray:
    """Return UTC-aware microsecond timestamps from naive UTC text or aware datetimes."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.timestamp("us"))  # ISO 8601, naive: UTC
    return values.cast(pa.timestamp("us", tz="UTC")).to_pandas().array


def _named(at: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    """Return ``names[at]`` (-1: missing) as a categorical, its categories in sorted order.

    Text columns repeat a few values (athletes, shoes, kinds, surfaces): codes
    into the distinct names cost no string per row, and sorted categories (the
    names that occur) make the column the same whatever order the rows were read in.
    """
    categories, code = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    codes = np.append(code, -1)[at]  # -1: the appended missing one
    # only the names that occur (an athlete's frame lists no other athlete)
    used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
    renumber = np.append(np.cumsum(used) - 1, -1)
    return pd.Categorical.from_codes(renumber[codes], categories=categories[used])


def _typed(values: pa.Array | pa.ChunkedArray, column: ColumnElement[object],
           order: np.ndarray) -> np.ndarray | pd.Categorical:
    """Return a session column's values in `order`, typed for the frame.

    Booleans, floats (NaN for NULL) and text as a categorical (`_named`); a column
    NULL throughout may come as any Arrow type.
    """
    kind = column.type
    if isinstance(kind, Boolean):
        return values.cast(pa.bool_()).to_numpy(zero_copy_only=False)[order]
    if isinstance(kind, Float):
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False)[order]
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()  # one dictionary for every part
    # text NULL throughout comes as another type (int64 from ADBC, null from Python values)
    codes = values.cast(pa.string()).dictionary_encode()
    return _named(_integers(codes.indices)[order], codes.dictionary.to_pylist())


def _check_not_future(s: Session, now: datetime, zone: ZoneInfo) -> None:
    if s.time_known:
        if s.start_utc > now + CLOCK_SLACK:
            raise InvalidValue("date", f"{s.start_utc.isoformat()} is in the future")
    elif s.start_utc.astimezone(zone).date() > now.astimezone(zone).date():
        raise InvalidValue("date", f"{s.start_utc.astimezone(zone).date()} is in the future")
