"""Shared pieces of the command line: context, options, errors, output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from loadmon.io.errors import FileFormatError
from loadmon.store import Store, StoreError
from loadmon.types import InvalidValue

F = TypeVar("F", bound=Callable[..., Any])

#: Errors of the layers below that the command line reports as one line and exit 1.
USER_ERRORS = (InvalidValue, FileFormatError, StoreError)


class AppContext:
    """What every command shares: the database URL and the store, opened on first use."""

    def __init__(self, db: str | None) -> None:
        self.db = db
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The opened store."""
        if self._store is None:
            self._store = Store.open(self.db)
        return self._store

    def close(self) -> None:
        """Close the store when it was opened."""
        if self._store is not None:
            self._store.close()


class ErrorReportingGroup(click.Group):
    """A group that turns the layers' errors into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting user errors as ``Error: ...``."""
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; nothing half-written was kept") from None


def app(ctx: click.Context) -> AppContext:
    """Return the command's `AppContext`."""
    return ctx.find_object(AppContext)  # type: ignore[return-value]


def athlete_option(f: F) -> F:
    """Add ``--athlete NAME`` (default: the default athlete)."""
    return click.option(
        "--athlete", "-a", default=None, envvar="LOADMON_ATHLETE",
        help="Athlete name (default: the default athlete, 'me').",
    )(f)


def json_option(f: F) -> F:
    """Add ``--json``: print the result as JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def today_local(tz: str) -> date:
    """Return today's date in time zone `tz`."""
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo(tz)).date()


def print_json(data: Any) -> None:
    """Print `data` as JSON on stdout (dates as ISO strings, NaN as null)."""
    click.echo(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def console(stderr: bool = False) -> Console:
    """Return a rich console on stdout (or stderr), plain when not a terminal."""
    con = Console(stderr=stderr, highlight=False)
    if not con.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
        con = Console(stderr=stderr, highlight=False, width=200)
    return con


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a table of rows on stdout."""
    table = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        table.add_column(col, justify="left" if col in {"name", "athlete", "model", "file",
                                                         "reason", "notes", "week"} else "right")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)

