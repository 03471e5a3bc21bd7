"""Errors of the storage layer."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The database cannot do what was asked: the message says why, in one line."""


class NotFound(StoreError):
    """A named athlete, shoe or session does not exist."""


class Conflict(StoreError):
    """The request clashes with what is stored (a duplicate name, for example)."""
