"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "athletes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_athletes")),
        sa.UniqueConstraint("name", name=op.f("uq_athletes_name")),
    )
    op.create_table(
        "pain_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("date_local", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("moment", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "moment IN ('morning', 'during', 'after')", name=op.f("ck_pain_entries_moment")
        ),
        sa.CheckConstraint("score >= 0 AND score <= 10", name=op.f("ck_pain_entries_score_range")),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_pain_entries_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pain_entries")),
    )
    with op.batch_alter_table("pain_entries", schema=None) as batch_op:
        batch_op.create_index("ix_pain_athlete_date", ["athlete_id", "date_local"], unique=False)

    op.create_table(
        "shoes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("start_km", sa.Float(), nullable=False),
        sa.Column("retire_km", sa.Float(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.CheckConstraint("retire_km > 0", name=op.f("ck_shoes_retire_km_pos")),
        sa.CheckConstraint("start_km >= 0", name=op.f("ck_shoes_start_km_nonneg")),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_shoes_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shoes")),
        sa.UniqueConstraint("athlete_id", "name", name="uq_shoes_athlete_name"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_known", sa.Boolean(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("distance_estimated", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sport", sa.String(length=64), nullable=True),
        sa.Column("shoe_id", sa.Integer(), nullable=True),
        sa.Column("surface", sa.String(length=16), nullable=True),
        sa.Column("rpe", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_checksum", sa.String(length=64), nullable=True),
        sa.Column("source_part", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=True),
        sa.Column("device", sa.String(length=120), nullable=True),
        sa.Column("cadence_spm", sa.Float(), nullable=True),
        sa.Column("stance_time_ms", sa.Float(), nullable=True),
        sa.Column("vertical_oscillation_mm", sa.Float(), nullable=True),
        sa.Column("step_length_m", sa.Float(), nullable=True),
        sa.Column("avg_hr_bpm", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recording", sa.String(length=200), nullable=True),
        sa.Column("imported_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('run', 'cross', 'strength')", name=op.f("ck_sessions_kind")),
        sa.CheckConstraint(
            "surface IS NULL OR surface IN ('road', 'trail', 'track', 'treadmill', 'grass', 'other')",
            name=op.f("ck_sessions_surface"),
        ),
        sa.CheckConstraint(
            "distance_m IS NULL OR distance_m >= 0", name=op.f("ck_sessions_distance_nonneg")
        ),
        sa.CheckConstraint("duration_s >= 0", name=op.f("ck_sessions_duration_nonneg")),
        sa.CheckConstraint(
            "rpe IS NULL OR (rpe >= 0 AND rpe <= 10)", name=op.f("ck_sessions_rpe_range")
        ),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_sessions_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shoe_id"], ["shoes.id"], name=op.f("fk_sessions_shoe_id_shoes"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint(
            "athlete_id", "source_checksum", "source_part", name="uq_sessions_source"
        ),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_athlete_start", ["athlete_id", "start_utc"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_athlete_start")

    op.drop_table("sessions")
    op.drop_table("shoes")
    with op.batch_alter_table("pain_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_pain_athlete_date")

    op.drop_table("pain_entries")
    op.drop_table("athletes")
