"""``loadmon import``: activity files, folders and Strava exports into the log."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from loadmon.cli.common import app, athlete_option, console, json_option, print_json, print_table
from loadmon.importer import import_paths


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@athlete_option
@json_option
@click.pass_context
def import_cmd(ctx: click.Context, paths: tuple[Path, ...], athlete: str | None,
               as_json: bool) -> None:
    """Import FIT, GPX and TCX files, folders of them, and Strava bulk-export zips.

    Each file is one transaction: a broken file is reported and skipped, and
    importing the same file again (under any name) adds nothing. Exits with 1
    when any file failed.
    """
    store = app(ctx).store
    err = console(stderr=True)
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("import", total=None)
        summary = import_paths(
            store, paths, athlete,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        print_json(summary.as_dict())
    else:
        failed = [f for f in summary.files if f.status == "failed"]
        if failed:
            print_table("failed", ["file", "reason"], [(f.file, f.reason) for f in failed])
        click.echo(
            f"imported {summary.count('imported')} files ({summary.sessions_added} sessions), "
            f"{summary.count('duplicate')} duplicates, {summary.count('failed')} failed"
        )
    if summary.count("failed"):
        ctx.exit(1)


def register(cli: click.Group) -> None:
    """Add this command to the ``loadmon`` group."""
    cli.add_command(import_cmd)
