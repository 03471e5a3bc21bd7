"""Errors raised by the file adapters."""

from __future__ import annotations


class FileFormatError(ValueError):
    """A file that cannot be read: the message says what is wrong, in one line.

    The adapters raise it without the file name; the caller that knows the
    path prefixes it (``run.fit: CRC mismatch in the FIT footer``).
    """
