"""The ``loadmon`` command."""

from __future__ import annotations

import click

from loadmon import __version__
from loadmon.cli import ble, entries, flags, imports, log, replay, report, weekly
from loadmon.cli.common import AppContext, ErrorReportingGroup


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", envvar="LOADMON_DB", default=None, metavar="URL",
    help="Database: an SQLAlchemy URL (postgresql://user@host/db) or a SQLite file path. "
         "Default: loadmon.sqlite in the user data folder. Env: LOADMON_DB.",
)
@click.version_option(__version__, prog_name="loadmon")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Loadmon: your training log and the load rules that keep you running."""
    ctx.obj = AppContext(db)
    ctx.call_on_close(ctx.obj.close)


for module in (ble, entries, flags, imports, log, replay, report, weekly):
    module.register(cli)


def main() -> None:
    """Run the ``loadmon`` command line."""
    cli()
