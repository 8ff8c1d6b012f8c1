"""sensor-sim against a real broker: readings, bad input, Last Will, reconnects."""

import json
import subprocess
import time

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.servers import port_open
from devstack.wait import wait_until


def readings(probe, device_id):
    return [json.loads(p) for p in probe.payloads(f"sensors/{device_id}/pot")]


def wait_for_value(probe, device_id, low, high, timeout=10):
    return wait_until(
        lambda: any(low <= r["value"] <= high for r in readings(probe, device_id)),
        timeout, message=f"no reading in [{low}, {high}]: {readings(probe, device_id)[-5:]}")


@pytest.mark.parametrize(
    ("line", "low", "high"),
    [("0", 0, 0), ("4095", 100, 100), ("2048", 49, 51)],
    ids=["adc-zero-gives-0", "adc-full-scale-gives-100", "adc-mid-scale-gives-about-50"],
)
def test_adc_readings_are_published_on_the_0_to_100_scale(mosquitto, start_sim, line, low, high):
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        sim = start_sim("sensor-sim")
        sim.send(line)
        wait_for_value(probe, sim.device_id, low, high)


def test_a_step_is_followed_through_the_whole_range(mosquitto, start_sim):
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        sim = start_sim("sensor-sim")
        for line, low, high in [("0", 0, 0), ("4095", 100, 100), ("2048", 49, 51)]:
            probe.messages.clear()
            sim.send(line)
            wait_for_value(probe, sim.device_id, low, high)


def test_payload_is_json_with_value_seq_and_ts(mosquitto, start_sim):
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        sim = start_sim("sensor-sim", "--interval-ms", "50")
        sim.send("1000")
        wait_until(lambda: len(readings(probe, sim.device_id)) >= 3, 10)
        got = readings(probe, sim.device_id)
        assert all(set(r) == {"value", "seq", "ts"} for r in got)
        seqs = [r["seq"] for r in got]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert abs(got[-1]["ts"] - time.time() * 1000) < 60_000
        assert all(not retain for _, _, retain in probe.received(f"sensors/{sim.device_id}/pot"))


BAD_LINES = ["abc", "-5", "5000", "12.5", "0x10", "4095 4095", "9" * 200]


def test_bad_stdin_lines_are_ignored_with_a_message(mosquitto, start_sim):
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        sim = start_sim("sensor-sim")
        sim.send(*BAD_LINES, "4095")
        wait_for_value(probe, sim.device_id, 100, 100)
        assert {r["value"] for r in readings(probe, sim.device_id)} == {100}
        ignored = [line for line in sim.output_lines() if "ignored" in line]
        assert len(ignored) == len(BAD_LINES), sim.output_lines()
        assert sim.service.running


def test_status_is_online_while_running(mosquitto, start_sim):
    sim = start_sim("sensor-sim")
    topic = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, topic) == b"online", 10)


@pytest.mark.parametrize("stop", ["kill", "stop"], ids=["sigkill-leaves-last-will",
                                                        "sigterm-says-offline"])
def test_status_is_offline_after_the_sensor_dies(mosquitto, start_sim, stop):
    sim = start_sim("sensor-sim")
    topic = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, topic) == b"online", 10)
    getattr(sim.service, stop)()
    # After SIGKILL the broker publishes the Last Will when it notices the closed socket.
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, topic) == b"offline", 10)


def test_sensor_reconnects_after_the_broker_restarts(mosquitto, start_sim):
    sim = start_sim("sensor-sim")
    sim.send("2048")
    topic = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, topic) == b"online", 10)
    mosquitto.stop()
    wait_until(lambda: not port_open(mosquitto.port), 10)
    mosquitto.start()
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        wait_for_value(probe, sim.device_id, 49, 51, timeout=15)
    assert read_retained(mosquitto.host, mosquitto.port, topic) == b"online"
    assert sim.service.running


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "missing: --host --port --device-id"),
        (["--host", "h", "--port", "0", "--device-id", "d"], "--port must be 1-65535"),
        (["--host", "h", "--port", "1", "--device-id", "d", "--interval-ms", "x"],
         "--interval-ms must be"),
        (["--host", "h", "--port", "1", "--device-id", "d", "--password", "p"],
         "--password needs --username"),
        (["--bogus", "1"], "unknown option --bogus"),
    ],
    ids=["nothing", "port-zero", "bad-interval", "password-without-user", "unknown-option"],
)
def test_bad_command_lines_exit_2_with_one_clear_message(firmware_build, args, message):
    result = subprocess.run([str(firmware_build / "sensor-sim"), *args], capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: sensor-sim" in result.stderr



@pytest.fixture
def auth_broker(mosquitto_factory, tmp_path):
    """A broker that only lets in user `sensor` with password `s3cret-for-tests`."""
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "sensor", "s3cret-for-tests"],
                   check=True, capture_output=True)
    return mosquitto_factory(config=f"allow_anonymous false\npassword_file {passwords}\n")


def test_sensor_logs_in_with_username_and_password(auth_broker, start_sim):
    sim = start_sim("sensor-sim", "--username", "sensor", "--password", "s3cret-for-tests",
                    broker=auth_broker)
    with Probe(auth_broker.host, auth_broker.port, ["sensors/#"], "sensor",
               "s3cret-for-tests") as probe:
        sim.send("4095")
        wait_for_value(probe, sim.device_id, 100, 100)


def test_sensor_with_a_wrong_password_says_why_and_keeps_retrying(auth_broker, start_sim):
    sim = start_sim("sensor-sim", "--username", "sensor", "--password", "wrong",
                    broker=auth_broker)
    wait_until(lambda: sum("refused" in line for line in sim.output_lines()) >= 2, 15,
               message=f"no repeated refusal in the log: {sim.output_lines()}")
    assert sim.service.running
