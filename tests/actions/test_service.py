"""`python -m actions` on the real broker, each kind against its simulator (devstack/), with
the webhook's retained output published by AlarmSource (tests/e2e_actions has the real webhook).
"""

import json
import shutil
import time

import pytest

from devstack.setpoint_sim import SetpointSim
from devstack.shelly_sim import ShellySim
from devstack.tasmota_sim import TasmotaSim
from devstack.wait import wait_until

POT = "alerts/pot-high/esp32-shed"


def tasmota_yaml(**extra):
    lines = "".join(f"    {key}: {value}\n" for key, value in extra.items())
    return ("grace_s: 5\noutputs:\n  - id: fan\n    kind: tasmota\n    topic: plug\n"
            f"    follows: [{POT}]\n    confirm_timeout_s: 1\n{lines}")


@pytest.fixture
def tasmota(mosquitto):
    with TasmotaSim(mosquitto.host, mosquitto.port, "plug") as sim:
        yield sim


def follow_the_pot(alarm_source, observer, output_id, is_on, is_off):
    observer.wait_state(output_id, reported="off", confirmed=True, mode="auto")
    assert is_off()
    alarm_source.set(POT, b"1")
    observer.wait_state(output_id, commanded="on", reported="on", confirmed=True)
    assert is_on()
    alarm_source.set(POT, b"0")
    observer.wait_state(output_id, commanded="off", reported="off", confirmed=True)
    assert is_off()


def test_tasmota_follows_the_alarm_confirmed(alarm_source, observer, actions_service, tasmota):
    alarm_source.set(POT, b"0")
    actions_service(tasmota_yaml())
    follow_the_pot(alarm_source, observer, "fan", lambda: tasmota.relays[0],
                   lambda: not tasmota.relays[0])
    assert observer.commands("cmnd/plug/POWER1")[-2:] == [b"ON", b"OFF"]
    commands = [e["text"] for e in observer.journal("command")]
    assert commands == ["on (auto)", "off (auto)"]
    # output history as readings for InfluxDB
    assert observer.wait_for("sensors/fan/output_reported", b"1")
    assert observer.wait_for("sensors/fan/output_mode", b"0")


def test_shelly_follows_the_alarm_confirmed(mosquitto, alarm_source, observer, actions_service):
    alarm_source.set(POT, b"0")
    with ShellySim(mosquitto.host, mosquitto.port, "shellyplus1-a8") as sim:
        actions_service("outputs:\n  - id: horn\n    kind: shelly\n    prefix: shellyplus1-a8\n"
                        f"    follows: [{POT}]\n")
        follow_the_pot(alarm_source, observer, "horn", lambda: sim.relays[0],
                       lambda: not sim.relays[0])
        frames = [json.loads(p) for p in observer.payloads("shellyplus1-a8/rpc")]
        assert [f["params"].get("on") for f in frames if f["method"] == "Switch.Set"] == \
            [True, False]


def test_generic_setpoint_is_clamped_and_confirmed(mosquitto, alarm_source, observer,
                                                   actions_service):
    alarm_source.set(POT, b"1")
    with SetpointSim(mosquitto.host, mosquitto.port, "/hv", 3) as sim:
        actions_service("outputs:\n  - id: hv-ch3\n    kind: mqtt\n"
                        "    command_topic: /hv/cmd/setv/3\n    state_topic: /hv/state/3\n"
                        "    value_path: vset\n    on_value: 0\n    off_value: 1500\n"
                        f"    min: 0\n    max: 2000\n    tolerance: 0.5\n    follows: [{POT}]\n")
        observer.wait_state("hv-ch3", reported="on", confirmed=True)
        alarm_source.set(POT, b"0")
        observer.wait_state("hv-ch3", commanded="off", reported="off", confirmed=True)
        assert sim.vset == 1500
        observer.publish("actions/hv-ch3/mode/set",
                         json.dumps({"mode": "hand", "value": 9000, "by": "alice"}))
        observer.wait_state("hv-ch3", mode="hand", commanded=2000.0, reported=2000.0,
                            confirmed=True)
        assert sim.vset == 2000


def test_ignored_command_is_resent_once_then_a_mismatch(alarm_source, observer,
                                                        actions_service, tasmota):
    alarm_source.set(POT, b"0")
    actions_service(tasmota_yaml())
    observer.wait_state("fan", reported="off", confirmed=True)
    tasmota.stdin_command("ignore")
    alarm_source.set(POT, b"1")
    observer.wait_state("fan", commanded="on", mismatch=True, confirmed=False)
    assert observer.commands("cmnd/plug/POWER1").count(b"ON") == 2
    (mismatch,) = observer.journal("mismatch")
    assert "after 1 s and one resend" in mismatch["text"]
    assert observer.wait_for("sensors/fan/output_mismatch", b"1")
    tasmota.stdin_command("obey")
    tasmota.stdin_command("switch 1 on")
    observer.wait_state("fan", reported="on", mismatch=False, confirmed=True)


def test_webhook_gone_drives_the_safe_state(alarm_source, observer, actions_service, tasmota):
    alarm_source.set(POT, b"0")
    actions_service(tasmota_yaml(safe_state='"on"'))
    observer.wait_state("fan", reported="off", confirmed=True, mode="auto")
    alarm_source.die()
    observer.wait_state("fan", mode="failsafe", commanded="on", reported="on")
    (entry,) = observer.journal("failsafe")
    assert "webhook not live" in entry["text"] and entry["source"] == "actions"


def test_a_deleted_alert_topic_drives_the_safe_state(alarm_source, observer, actions_service,
                                                     tasmota):
    alarm_source.set(POT, b"1")
    actions_service(tasmota_yaml())
    observer.wait_state("fan", reported="on", confirmed=True)
    alarm_source.set(POT, b"")
    observer.wait_state("fan", mode="failsafe", commanded="off", reported="off")
    assert "no retained state on alerts/pot-high/esp32-shed" in \
        observer.journal("failsafe")[0]["text"]


def test_kill_and_restart_toggles_nothing(alarm_source, observer, actions_service, tasmota):
    alarm_source.set(POT, b"1")
    service = actions_service(tasmota_yaml())
    observer.wait_state("fan", reported="on", confirmed=True)
    changes, commands = tasmota.changes, len(observer.commands("cmnd/plug/POWER1"))
    for _ in range(2):
        service.kill()
        service.heartbeat.unlink()
        published = len(observer.payloads("actions/fan/state"))
        service.start()
        wait_until(lambda n=published: len(observer.payloads("actions/fan/state")) > n, 20,
                   message="no state after the restart")
        observer.wait_state("fan", reported="on", confirmed=True, mode="auto")
    assert tasmota.changes == changes
    sent = observer.commands("cmnd/plug/POWER1")[commands:]
    assert sent == [b"", b""], sent  # the start-up queries (an empty payload asks), no command
    reconciled = [e["text"] for e in observer.journal("reconcile")]
    assert reconciled[-2:] == ["device reports on: adopted"] * 2


def test_override_with_expiry_is_kept_on_disk(alarm_source, observer, actions_service, tasmota):
    alarm_source.set(POT, b"0")
    service = actions_service(tasmota_yaml())
    observer.wait_state("fan", reported="off", confirmed=True)
    until = int(time.time() * 1000) + 8000
    observer.publish("actions/fan/mode/set", json.dumps(
        {"mode": "hand", "value": "on", "until": until, "by": "alice", "reason": "pump test"}))
    state = observer.wait_state("fan", mode="hand", reported="on", confirmed=True)
    assert state["override"]["by"] == "alice" and state["override"]["until"] == until
    saved = json.loads((service.state_dir / "outputs.json").read_text())
    assert saved["fan"]["mode"] == "hand"
    assert "commanded" not in saved["fan"]  # confirmed outputs: reconciled from the device
    service.stop()
    service.heartbeat.unlink()
    service.start()
    observer.wait_state("fan", mode="hand", reported="on")
    observer.wait_state("fan", mode="auto", override=None, commanded="off", reported="off",
                        timeout=30)
    texts = [(e["text"], e["by"]) for e in observer.journal("override")]
    assert texts[0] == (f"hand on until {until} ms: pump test", "alice")
    assert texts[-1] == ("hand expired: back to auto", "alice")


def test_unknown_output_and_bad_override_are_journaled(alarm_source, observer, actions_service,
                                                       tasmota):
    alarm_source.set(POT, b"0")
    actions_service(tasmota_yaml(), ACTIONS_READINGS_INTERVAL_S=1)
    observer.wait_state("fan", reported="off", confirmed=True)
    observer.publish("actions/nope/mode/set", json.dumps({"mode": "off", "by": "bob"}))
    observer.publish("actions/fan/mode/set", b"{not json")
    wait_until(lambda: len(observer.journal("refusal")) == 2, 10)
    texts = [(e["subject"], e["by"]) for e in observer.journal("refusal")]
    assert texts == [("nope", "bob"), ("fan", None)]
    observer.wait_for("sensors/actions/override_refused", b"2", timeout=20)
    observer.publish("stat/plug/POWER1", b"MAYBE")  # not a Tasmota state: counted
    observer.wait_for("sensors/actions/device_unreadable", b"1", timeout=20)


def test_interlock_holds_off(alarm_source, observer, actions_service, tasmota):
    alarm_source.set(POT, b"0")
    alarm_source.set("alerts/door-open", b"1")
    actions_service(tasmota_yaml(interlock="{alerts: [alerts/door-open]}"))
    observer.wait_state("fan", reported="off", confirmed=True)
    alarm_source.set(POT, b"1")
    wait_until(lambda: observer.journal("refusal"), 10)
    assert "held off while alerts/door-open is on" in observer.journal("refusal")[0]["text"]
    assert not tasmota.relays[0]
    alarm_source.set("alerts/door-open", b"0")
    observer.wait_state("fan", reported="on", confirmed=True)


def test_flapping_alarm_is_limited_and_refusals_counted(alarm_source, observer,
                                                        actions_service, tasmota):
    alarm_source.set(POT, b"0")
    actions_service(tasmota_yaml(min_on_s=3, min_off_s=3))
    observer.wait_state("fan", reported="off", confirmed=True)
    switched_at = []
    last = tasmota.relays[0]
    start = time.monotonic()
    for second in range(12):
        alarm_source.set(POT, b"1" if second % 2 == 0 else b"0")
        deadline = start + second + 1
        while time.monotonic() < deadline:  # flap every second, watching the relay meanwhile
            if tasmota.relays[0] != last:
                last = tasmota.relays[0]
                switched_at.append(time.monotonic())
            time.sleep(0.01)
    gaps = [b - a for a, b in zip(switched_at, switched_at[1:])]
    assert switched_at and all(gap >= 2.9 for gap in gaps), gaps
    state = observer.state("fan")
    assert state["refusals"] >= 3
    assert len(observer.journal("refusal")) == state["refusals"]


def test_broker_restart_toggles_nothing_and_lost_retained_state_is_fail_safe(
        mosquitto, alarm_source, observer, actions_service, tasmota):
    alarm_source.set(POT, b"1")
    actions_service(tasmota_yaml(), ACTIONS_READINGS_INTERVAL_S=1)
    observer.wait_state("fan", reported="on", confirmed=True)
    changes, commands = tasmota.changes, len(observer.commands("cmnd/plug/POWER1"))
    modes = len(observer.payloads("sensors/fan/output_mode"))
    mosquitto.restart()  # persistence on: the retained alarm state comes back
    # readings go out again only once the service is past its resync
    wait_until(lambda: len(observer.payloads("sensors/fan/output_mode")) >= modes + 2, 30,
               message="the service never resumed after the broker restart")
    assert tasmota.changes == changes
    assert set(observer.commands("cmnd/plug/POWER1")[commands:]) <= {b""}  # queries only
    assert observer.state("fan")["mode"] == "auto"
    mosquitto.stop()
    shutil.rmtree(mosquitto.workdir / "data")  # a broker that lost every retained message
    mosquitto.start()
    state = observer.wait_state("fan", mode="failsafe", commanded="off", reported="off")
    assert state["confirmed"]
    assert "no retained state on alerts/pot-high/esp32-shed" in \
        observer.journal("failsafe")[-1]["text"]
