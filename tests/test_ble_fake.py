"""Scenarios through bleak's real BlueZ backend against a fake BlueZ on a private D-Bus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loadmon.ble import codecs as c
from loadmon.ble.rawlog import SUFFIX, read_log
from loadmon.ble.recorder import decode_log
from loadmon.cli import cli
from loadmon.signal import detect_contacts
from loadmon.signal.synthetic import synthesize
from loadmon.signal.types import Recording
from tests.conftest import SHARED_DATA
from tests.fakebluez.bluez import FakeBus, start_daemon
from tests.fakebluez.devices import FakeDevice, HrStrap, PolarSense, RscPod, shared_foot_mg

pytestmark = pytest.mark.skipif(
    shutil.which("dbus-daemon") is None,
    reason="dbus-daemon is absent (Debian package dbus; .ci/dbus.sh installs it)",
)
ROOT = Path(__file__).resolve().parents[1]
#: A real foot-worn IMU (gaitmap example data, 204.8 Hz, two 20 m walks; MIT).
FOOT = SHARED_DATA / "recordings" / "gaitmap-healthy1-2x20mwalk-leftfoot"


@pytest.fixture(scope="module")
def bus_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, address = start_daemon(str(tmp_path_factory.mktemp("dbus")))
    yield address
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def env(bus_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"DBUS_SYSTEM_BUS_ADDRESS": bus_address, "LOADMON_DATA_DIR": str(tmp_path / "data"),
              "LOADMON_DB": f"sqlite:///{tmp_path / 'log.sqlite'}",
              "LOADMON_CONFIG_DIR": str(tmp_path / "config")}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def serve(devices: list[FakeDevice], address: str) -> FakeBus:
    return FakeBus(devices, address).start()


def invoke(*args: str) -> dict:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout[res.stdout.index("{") if "{" in res.stdout else 0:]) \
        if "--json" in args else {"output": res.output}


def recordings(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["LOADMON_DATA_DIR"]) / "ble").glob(f"*{SUFFIX}"))


def foot_mg(seconds: float, fs: int) -> tuple[np.ndarray, int]:
    rec, truth = synthesize("foot", duration_s=seconds, fs_hz=fs, seed=7, rest_s=1.0,
                            clip_range_g=16.0)
    return np.clip(np.round(rec.acc_g * 1000), -16000, 16000).astype(np.int64), len(truth)


def test_scan_recognises_each_profile(env: dict[str, str]) -> None:
    devs: list[FakeDevice] = [
        RscPod("C0:00:00:00:00:01", "Stryd"), HrStrap("C0:00:00:00:00:02", "H10"),
        PolarSense("C0:00:00:00:00:03", "Polar Sense", samples_mg=np.zeros((36, 3))),
    ]
    fb = serve(devs, env["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        res = CliRunner().invoke(cli, ["scan", "--timeout", "0.5", "--json"])
    finally:
        fb.stop()
    assert res.exit_code == 0, res.output
    found = {d["name"]: d for d in json.loads(res.stdout)}
    assert found["Stryd"]["profiles"] == ["rsc"]
    assert found["H10"]["profiles"] == ["hr"]
    assert found["Polar Sense"]["profiles"] == ["polar-acc"]
    assert found["Stryd"]["address"] == "C0:00:00:00:00:01" and found["Stryd"]["rssi"] == -60


@pytest.mark.parametrize("notify", ["start", "acquire"])
def test_rsc_pod_link_dropped_twice_keeps_every_sample(env: dict[str, str], notify: str) -> None:
    # 60 s of pod time (one measurement a second) played 40x faster; the total distance
    # wraps round the uint32 on the way, and the link drops after 20 and 40 measurements
    pod = RscPod("C0:00:00:00:00:11", "Stryd", count=60, period_s=1.0, speedup=40,
                 drop_after=(20, 40), malformed=(30,), start_dm=2**32 - 500)
    fb = serve([pod], env["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        out = invoke("record", "--scan-timeout", "0.3", "--duration", "4.5", "--notify", notify,
                     "--json")
    finally:
        fb.stop()
    assert len(pod.delivered) == 60 and pod.connections == 3
    assert out["link_losses"] == 2 and out["malformed"] == 1 and out["status"] == "saved"
    run = decode_log(Path(out["recording"]))
    assert len(run.rsc) == 59  # every delivered measurement but the garbage one
    sent = [c.decode_rsc_measurement(b) for b in pod.delivered if b != b"\x03\x00"]
    assert run.rsc["total_dm"].tolist() == [m.total_distance_dm for m in sent]
    assert out["distance_m"] == pytest.approx(59 * 3.0, abs=0.05)  # 30 dm a second, wrapped
    assert all(end is not None and end > start for start, end in run.gaps)
    calls = {m for _p, m in fb.bluez.calls} if fb.bluez else set()
    assert ("AcquireNotify" if notify == "acquire" else "StartNotify") in calls
    from loadmon.store import Store

    store = Store.open(env["LOADMON_DB"])
    try:
        (session,) = store.sessions()
    finally:
        store.close()
    assert session.source == "ble" and session.kind == "run"
    assert session.distance_m == pytest.approx(177.0, abs=0.05)
    assert session.recording == Path(out["recording"]).name


def test_three_sensors_at_once_and_contacts_equal_replay(env: dict[str, str]) -> None:
    fs = 52
    mg, truth_contacts = foot_mg(40.0, fs)
    polar = PolarSense("C0:00:00:00:00:21", "Polar Sense", samples_mg=mg, rate_hz=fs,
                       speedup=20, startup_s=2.0, malformed=(5,))
    pod = RscPod("C0:00:00:00:00:22", "Stryd", count=40, period_s=1.0, speedup=20)
    strap = HrStrap("C0:00:00:00:00:23", "H10", count=40, period_s=1.0, speedup=20,
                    malformed=(3, 4))
    fb = serve([polar, pod, strap], env["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        out = invoke("record", "--scan-timeout", "0.3", "--duration", "4.0", "--json")
    finally:
        fb.stop()
    assert polar.requests[0].op == c.PMD_GET_SETTINGS
    assert polar.requests[1].op == c.PMD_START
    assert polar.requests[1].settings.first(c.SET_SAMPLE_RATE) == fs
    assert polar.index == polar.count and pod.index == 40 and strap.index == 40
    assert out["malformed"] == 3 and out["link_losses"] == 0
    run = decode_log(Path(out["recording"]))
    (acc,) = run.recordings.values()
    # every sample of every delivered frame, less the frame replaced by garbage
    assert len(acc.t_s) == len(mg) - 36
    assert len(run.hr) == 38 and len(run.rsc) == 40
    # the contacts found while recording are those of the detector run over the same samples
    replayed = detect_contacts(acc)
    np.testing.assert_allclose(run.contacts["t_s"], replayed["t_s"], atol=1e-9)
    assert out["contacts"] == len(replayed) > 0.8 * truth_contacts / 2
    assert out["avg_hr_bpm"] is not None and out["cadence_spm"] is not None


def test_sigkill_mid_run_then_sync_recovers(env: dict[str, str]) -> None:
    pod = RscPod("C0:00:00:00:00:31", "Stryd", count=100_000, period_s=0.05, speedup=1)
    fb = serve([pod], env["DBUS_SYSTEM_BUS_ADDRESS"])
    proc = subprocess.Popen(
        [sys.executable, "-c", "from loadmon.cli import main; main()", "record",
         "--scan-timeout", "0.3"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            files = recordings(env)
            if files and len(read_log(files[0]).records) > 40:
                break
            time.sleep(0.1)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        delivered_at_kill = len(pod.delivered)
    finally:
        if proc.poll() is None:
            proc.kill()
        fb.stop()
    assert proc.returncode == -signal.SIGKILL
    (path,) = recordings(env)
    run = decode_log(path)
    assert not run.complete
    # everything up to the last flush is there, in order: the recorder flushes every second
    # (20 notifications here); the bound adds 2 s of slack for a busy CI machine, where
    # notifications wait in the bus socket before the recorder even receives them
    assert max(1, delivered_at_kill - 60) <= len(run.rsc) <= delivered_at_kill
    sent = [c.decode_rsc_measurement(b).total_distance_dm for b in pod.delivered]
    assert run.rsc["total_dm"].tolist() == sent[: len(run.rsc)]
    first = invoke("sync", "--json")["recordings"]
    assert first["imported"] == 1 and first["recovered"] == 1
    again = invoke("sync", "--json")["recordings"]
    assert again["imported"] == 0 and again["duplicates"] == 1


@pytest.mark.skipif(not FOOT.is_dir(), reason=f"real recording {FOOT} is absent (a user's "
                    "clone); CI always has ../shared/data")
def test_real_foot_recording_streamed_contacts_equal_replay(env: dict[str, str],
                                                            tmp_path: Path) -> None:
    # the real recording resampled to the H10's 200 Hz and quantised to int16 mG, as streamed
    fs = 200
    mg = shared_foot_mg(FOOT, fs)
    polar = PolarSense("C0:00:00:00:00:41", "Polar H10", samples_mg=mg, rate_hz=fs,
                       speedup=40, startup_s=2.0)
    fb = serve([polar], env["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        out = invoke("record", "--scan-timeout", "0.3", "--duration", "3.0", "--rate", "200",
                     "--rpe", "4", "--json")
    finally:
        fb.stop()
    assert polar.index == polar.count and out["malformed"] == 0 and out["link_losses"] == 0
    # no foot pod: the distance is estimated from the steps (population step length, 1 m)
    assert out["distance_from"] == "steps (estimated)" and out["steps"] > 0
    assert out["distance_m"] == pytest.approx(out["steps"] * 1.0)
    from loadmon.store import Store

    store = Store.open(env["LOADMON_DB"])
    try:
        (session,) = store.sessions()
    finally:
        store.close()
    assert session.rpe == 4 and session.distance_estimated
    run = decode_log(Path(out["recording"]))
    (acc,) = run.recordings.values()
    np.testing.assert_array_equal(np.round(acc.acc_g * 1000).astype(np.int64), mg)
    np.testing.assert_allclose(acc.t_s - acc.t_s[0], np.arange(len(mg)) / fs, atol=1e-6)
    # the same samples, detected at once on their own clock ...
    alone = detect_contacts(Recording(t_s=np.arange(len(mg)) / fs, acc_g=mg / 1000.0,
                                      fs_hz=fs, placement="foot"))
    recorded = run.contacts
    assert len(recorded) == len(alone) == out["contacts"]
    np.testing.assert_allclose(recorded["t_s"] - acc.t_s[0], alone["t_s"], atol=1e-6)
    np.testing.assert_allclose(recorded["impact_g"], alone["impact_g"], atol=1e-9)
    np.testing.assert_allclose(recorded["contact_ms"], alone["contact_ms"], atol=1e-9)
    # ... and by `loadmon replay` of a samples.csv holding them
    folder = tmp_path / "streamed"
    folder.mkdir()
    lines = ["t_s,ax_g,ay_g,az_g"] + [f"{i / fs:.6f},{x / 1000:.3f},{y / 1000:.3f},{z / 1000:.3f}"
                                      for i, (x, y, z) in enumerate(mg.tolist())]
    (folder / "samples.csv").write_text("\n".join(lines) + "\n")
    replayed = invoke("replay", str(folder / "samples.csv"), "-p", "foot", "--fs", str(fs),
                      "--json")["contacts"]
    assert [r["t_s"] for r in replayed] == pytest.approx(alone["t_s"].tolist(), abs=1e-6)
    assert [r["impact_g"] for r in replayed] == pytest.approx(alone["impact_g"].tolist(),
                                                              abs=1e-4)
    # and they are the walk's left-foot contacts: within 60 ms of every labelled one
    rows = [r.split(",") for r in (FOOT / "events.csv").read_text().split()[1:]]
    labelled = np.array([float(t) for t, kind, side in rows if (kind, side) == ("ic", "left")])
    t0 = float(np.loadtxt(FOOT / "samples.csv.gz", delimiter=",", skiprows=1, max_rows=1)[0])
    found = alone["t_s"].to_numpy() + t0
    assert np.abs(found[:, None] - labelled[None, :]).min(axis=0).max() < 0.06


def _frames_mg(frames: list[bytes], rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples (mG) and their indices on the sensor's clock, of delivered PMD frames."""
    mg, index = [], []
    for f in frames:
        frame = c.decode_pmd_frame(f)
        values = c.decode_acc_mg(frame, 1.0)
        last = round((frame.timestamp_ns - PolarSense.EPOCH_NS) * rate_hz / 1e9)
        mg.append(values)
        index.append(np.arange(last - len(values) + 1, last + 1))
    return np.vstack(mg), np.concatenate(index)


def test_polar_and_hr_links_dropped_twice_keep_every_delivered_sample(
        env: dict[str, str]) -> None:
    # the sensors keep sampling while their link is down: the samples of each gap are lost,
    # every sample delivered before and after it is kept, on the sensor's own clock
    fs = 52
    mg, _truth = foot_mg(150.0, fs)
    polar = PolarSense("C0:00:00:00:00:51", "Polar Sense", samples_mg=mg, rate_hz=fs,
                       speedup=40, startup_s=1.0, drop_after=(50, 90))
    strap = HrStrap("C0:00:00:00:00:52", "H10", count=110, period_s=1.0, speedup=40,
                    drop_after=(30, 70))
    fb = serve([polar, strap], env["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        out = invoke("record", "--scan-timeout", "0.3", "--duration", "5.5", "--json")
    finally:
        fb.stop()
    assert polar.connections == 3 and strap.connections == 3
    assert polar.index >= polar.count and strap.index == strap.count
    assert len(polar.skipped) == 2 and min(polar.skipped) > 0
    assert out["link_losses"] == 4 and out["malformed"] == 0
    run = decode_log(Path(out["recording"]))
    assert len(run.gaps) == 4 and all(end is not None and end > start
                                      for start, end in run.gaps)
    # every delivered heart rate, in order
    assert run.hr["bpm"].tolist() == [c.decode_heart_rate(b).bpm for b in strap.delivered]
    # every delivered accelerometer sample, at its time on the sensor's clock
    (acc,) = run.recordings.values()
    sent, index = _frames_mg(polar.delivered, fs)
    assert len(sent) == len(acc.t_s) == len(mg) - 36 * sum(polar.skipped) > len(mg) // 3
    np.testing.assert_array_equal(np.round(acc.acc_g * 1000).astype(np.int64), sent)
    np.testing.assert_array_equal(sent, mg[index])
    np.testing.assert_allclose((acc.t_s - acc.t_s[0]) * fs, index - index[0], atol=1e-6)
    holes = np.flatnonzero(np.diff(index) > 1)
    assert len(holes) == 2
    assert (np.diff(index)[holes] - 1).tolist() == [k * 36 for k in polar.skipped]
    # the contacts found online are those of the detector over the samples kept
    np.testing.assert_allclose(run.contacts["t_s"], detect_contacts(acc)["t_s"], atol=1e-9)
