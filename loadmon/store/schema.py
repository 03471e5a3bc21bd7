"""The SQLAlchemy 2.0 schema of the training log.

Every row belongs to an athlete (a club server will enforce access per athlete
with PostgreSQL row-level security). The schema changes only through the
Alembic migrations in `loadmon.store.migrations`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from loadmon.types import KINDS, PAIN_WHEN, SURFACES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (UTC).

    SQLite keeps no offset, so values are stored there as naive UTC; PostgreSQL
    uses ``timestamptz``. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, choices: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{c}'" for c in choices)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING)


class Athlete(Base):
    """A runner: every other row belongs to one."""

    __tablename__ = "athletes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    height_cm: Mapped[float | None] = mapped_column(Float)

    shoes: Mapped[list[Shoe]] = relationship(back_populates="athlete")


class Shoe(Base):
    """A pair of running shoes and its mileage limits."""

    __tablename__ = "shoes"
    __table_args__ = (
        UniqueConstraint("athlete_id", "name", name="uq_shoes_athlete_name"),
        CheckConstraint("start_km >= 0", name="start_km_nonneg"),
        CheckConstraint("retire_km > 0", name="retire_km_pos"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(200))
    start_km: Mapped[float] = mapped_column(Float, default=0.0)
    retire_km: Mapped[float] = mapped_column(Float, default=650.0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    athlete: Mapped[Athlete] = relationship(back_populates="shoes")


class TrainingSession(Base):
    """One session of the log: a run, cross-training or strength work."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint(
            "athlete_id", "source_checksum", "source_part", name="uq_sessions_source"
        ),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(f"surface IS NULL OR {_in('surface', SURFACES)}", name="surface"),
        CheckConstraint("rpe IS NULL OR (rpe >= 0 AND rpe <= 10)", name="rpe_range"),
        CheckConstraint("duration_s >= 0", name="duration_nonneg"),
        CheckConstraint("distance_m IS NULL OR distance_m >= 0", name="distance_nonneg"),
        Index("ix_sessions_athlete_start", "athlete_id", "start_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    time_known: Mapped[bool] = mapped_column(Boolean, default=True)
    duration_s: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    distance_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16))
    sport: Mapped[str | None] = mapped_column(String(64))
    shoe_id: Mapped[int | None] = mapped_column(ForeignKey("shoes.id", ondelete="SET NULL"))
    surface: Mapped[str | None] = mapped_column(String(16))
    rpe: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))
    source_checksum: Mapped[str | None] = mapped_column(String(64))
    source_part: Mapped[int] = mapped_column(Integer, default=0)
    source_name: Mapped[str | None] = mapped_column(String(500))
    device: Mapped[str | None] = mapped_column(String(120))
    cadence_spm: Mapped[float | None] = mapped_column(Float)
    stance_time_ms: Mapped[float | None] = mapped_column(Float)
    vertical_oscillation_mm: Mapped[float | None] = mapped_column(Float)
    step_length_m: Mapped[float | None] = mapped_column(Float)
    avg_hr_bpm: Mapped[float | None] = mapped_column(Float)
    impact_g: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    recording: Mapped[str | None] = mapped_column(String(200))
    imported_utc: Mapped[datetime] = mapped_column(UTCDateTime)

    shoe: Mapped[Shoe | None] = relationship()


class PainRecord(Base):
    """A pain score (0-10) on one local date, at one moment, at one body site."""

    __tablename__ = "pain_entries"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 10", name="score_range"),
        CheckConstraint(_in("moment", PAIN_WHEN), name="moment"),
        Index("ix_pain_athlete_date", "athlete_id", "date_local"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    date_local: Mapped[date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    moment: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(64), default="heel")
    notes: Mapped[str | None] = mapped_column(Text)
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleOverride(Base):
    """An athlete's own value of one rule threshold or window (``spike.caution_pct = 15``).

    The value is kept as its TOML literal (``15``, ``12.5``) so that whole numbers
    stay whole (windows in days) and fractions stay fractions; the rules module
    validates it like a ``--rules`` file.
    """

    __tablename__ = "rule_overrides"
    __table_args__ = (
        UniqueConstraint("athlete_id", "rule", "key", name="uq_rule_overrides_athlete_rule_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(64))
    updated_utc: Mapped[datetime] = mapped_column(UTCDateTime)
