"""actuator-sim against a real broker (CONTRACTS.md, "Actuator board"): commands obeyed and
the state reported retained, `ignore` / `feedback` on stdin, and the board's own fail-safe when
the broker freezes or the actions service goes offline. The figures printed here are in
docs/boards.md."""

import subprocess
import time

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.wait import wait_until


def lines_of(sim, prefix):
    return [line for line in sim.output_lines() if line.startswith(prefix)]


def wait_line(sim, line, count=1, timeout=15):
    wait_until(lambda: sim.output_lines().count(line) >= count, timeout,
               message=f"no {line!r}: {sim.output_lines()[-12:]}")


def state(broker, sim, relay):
    return read_retained(broker.host, broker.port, f"actuators/{sim.device_id}/{relay}/state")


def start_actuator(start_sim, heartbeat, broker, *args):
    """An actuator-sim with 2 relays (unless `args` say), with the actions service's heartbeat
    (unless `heartbeat` is None: the test runs it), once it says online."""
    if heartbeat is not None:
        heartbeat(broker, "status/actions")
    sim = start_sim("actuator-sim", "--relays", "2", *args, webhook=False)
    wait_until(lambda: read_retained(broker.host, broker.port, f"status/{sim.device_id}")
               == b"online", 15)
    return sim


def test_commands_are_obeyed_and_each_state_reported_retained(mosquitto, start_sim, heartbeat):
    sim = start_actuator(start_sim, heartbeat, mosquitto)
    assert state(mosquitto, sim, 1) == b"off" and state(mosquitto, sim, 2) == b"off"
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(f"actuators/{sim.device_id}/2/set", "on")
        wait_line(sim, "RELAY 2 on")
        wait_until(lambda: state(mosquitto, sim, 2) == b"on", 10)
        probe.publish(f"actuators/{sim.device_id}/2/set", "sideways")
        probe.publish(f"actuators/{sim.device_id}/2/set", "off")
        wait_line(sim, "RELAY 2 off", count=2)
        wait_until(lambda: state(mosquitto, sim, 2) == b"off", 10)
    assert lines_of(sim, "RELAY 1") == ["RELAY 1 off"]
    assert any("relay 2: command ignored, not on or off" in line for line in sim.output_lines())


def test_ignore_and_a_stuck_feedback_contact_show_in_the_state(mosquitto, start_sim, heartbeat):
    sim = start_actuator(start_sim, heartbeat, mosquitto)
    with Probe(mosquitto.host, mosquitto.port) as probe:
        sim.send("ignore")
        probe.publish(f"actuators/{sim.device_id}/1/set", "on")
        wait_until(lambda: any("told to ignore" in line for line in sim.output_lines()), 10)
        assert lines_of(sim, "RELAY 1") == ["RELAY 1 off"]
        assert state(mosquitto, sim, 1) == b"off"
        sim.send("obey", "feedback 1 off", "feedback 9 on")
        probe.publish(f"actuators/{sim.device_id}/1/set", "on")
        wait_line(sim, "RELAY 1 on")  # driven, but its contact stays open: a stuck relay
        wait_until(lambda: any("stdin line 4 ignored" in line for line in sim.output_lines()), 10)
        assert state(mosquitto, sim, 1) == b"off"
        sim.send("feedback 1 on")
        wait_until(lambda: state(mosquitto, sim, 1) == b"on", 10)


def test_a_frozen_broker_makes_the_board_safe_within_failsafe_s(mosquitto, start_sim, heartbeat):
    sim = start_actuator(start_sim, heartbeat, mosquitto, "--failsafe-s", "4",
                         "--safe-state", "off")
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(f"actuators/{sim.device_id}/1/set", "on")
        wait_line(sim, "RELAY 1 on")
    frozen = time.monotonic()
    mosquitto.freeze()
    try:
        wait_line(sim, "FAILSAFE on", timeout=30)
        safe_after = time.monotonic() - frozen
        assert lines_of(sim, "RELAY 1") == ["RELAY 1 off", "RELAY 1 on", "RELAY 1 off"]
    finally:
        mosquitto.thaw()
    print(f"\nbroker frozen: the board safe after {safe_after:.1f} s (failsafe_s 4, "
          "heartbeat every 1 s)")
    wait_line(sim, "FAILSAFE off", timeout=30)  # the broker and the actions service are back
    assert lines_of(sim, "RELAY 1")[-1] == "RELAY 1 off"  # nothing re-commanded by itself


@pytest.mark.parametrize("safe, relay_after, state_after", [
    ("hold", ["RELAY 1 off", "RELAY 1 on"], b"on"),
    ("off", ["RELAY 1 off", "RELAY 1 on", "RELAY 1 off"], b"off"),
    ("on", ["RELAY 1 on", "RELAY 1 off", "RELAY 1 on"], b"on"),
])
def test_actions_offline_makes_the_board_safe(mosquitto, start_sim, heartbeat, safe,
                                              relay_after, state_after):
    """The relay starts in its safe state, is commanded the other way, and goes back to its
    safe state (hold: stays) failsafe_s after the actions service's last heartbeat; commands
    wait meanwhile."""
    beat = heartbeat(mosquitto, "status/actions")
    sim = start_actuator(start_sim, None, mosquitto, "--relays", "1", "--failsafe-s", "3",
                         "--safe-state", safe)
    command = "off" if safe == "on" else "on"
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(f"actuators/{sim.device_id}/1/set", command)
        wait_line(sim, f"RELAY 1 {command}")
        beat.stop()
        gone = time.monotonic()
        probe.publish("status/actions", "offline", retain=True)
        wait_line(sim, "FAILSAFE on", timeout=30)
        print(f"\nactions offline: the board safe ({safe}) after "
              f"{time.monotonic() - gone:.1f} s (failsafe_s 3)")
        probe.publish(f"actuators/{sim.device_id}/1/set", command)
        wait_until(lambda: any("ignored while in failsafe" in line
                               for line in sim.output_lines()), 10)
    assert lines_of(sim, "RELAY 1") == relay_after
    wait_until(lambda: state(mosquitto, sim, 1) == state_after, 10)


def test_bad_command_lines_exit_2(firmware_build):
    for args, message in [(["--host", "h", "--port", "1", "--device-id", "d", "--relays", "9"],
                           "--relays must be 1-8"),
                          (["--host", "h", "--port", "1", "--device-id", "d", "--safe-state",
                            "maybe"], "--safe-state must be off, on or hold")]:
        result = subprocess.run([str(firmware_build / "actuator-sim"), *args],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 2 and message in result.stderr
