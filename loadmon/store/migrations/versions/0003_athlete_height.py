"""athlete height: the default step length of distances estimated from steps

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("athletes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("height_cm", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("athletes", schema=None) as batch_op:
        batch_op.drop_column("height_cm")
