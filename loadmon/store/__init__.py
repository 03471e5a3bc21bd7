"""Persistence: the SQLAlchemy schema, Alembic migrations and the training-log repository."""

from loadmon.store.engine import data_dir, resolve_url
from loadmon.store.errors import Conflict, NotFound, StoreError
from loadmon.store.repo import (
    DEFAULT_ATHLETE,
    MODEL_COLUMNS,
    AddOutcome,
    AthleteInfo,
    ShoeInfo,
    Store,
)

__all__ = [
    "DEFAULT_ATHLETE",
    "MODEL_COLUMNS",
    "AddOutcome",
    "AthleteInfo",
    "Conflict",
    "NotFound",
    "ShoeInfo",
    "Store",
    "StoreError",
    "data_dir",
    "resolve_url",
]
