from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loadmon.cli import cli


@pytest.mark.parametrize("args", [["scan", "--timeout", "0.5"],
                                  ["record", "--duration", "1", "AA:BB:CC:DD:EE:FF"]])
def test_no_bluetooth_is_a_one_line_error(args: list[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bus = f"unix:path={tmp_path / 'no-such-bus'}"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus)
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.sqlite"), *args])
    assert r.exit_code == 1, r.output
    assert f"Bluetooth is not available: cannot reach BlueZ on the system D-Bus ({bus}" \
        in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_a_rate_the_placement_cannot_be_read_at_is_refused_before_recording(
        tmp_path: Path) -> None:
    # a shank is read from 50 Hz (its swing outweighs its impact below): refused before the
    # scan, not after a run whose contacts would be the swing's
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.sqlite"), "record", "--rate", "26",
                                 "--placement", "shank", "AA:BB:CC:DD:EE:FF"])
    assert r.exit_code == 2, r.output
    assert "26 Hz: a shank sensor is read from 50 Hz" in r.output
    assert "Bluetooth" not in r.output  # refused before any scan
