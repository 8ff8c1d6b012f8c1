"""Boards never trust a stale `online` (issue 19, item 2; CONTRACTS.md, "Liveness"). After a
power cut the broker reloads `status/webhook` = `online` from its snapshot although the webhook
is not back; the indicator must show unknown until the webhook's first live heartbeat, and again
when heartbeats stop without an `offline`. The figures printed here are in docs/firmware.md."""

import time
import uuid

from devstack.mqtt_probe import Probe, read_retained
from devstack.servers import port_open
from devstack.wait import wait_until

NOT_TRUSTED = "first online after subscribing not trusted"


def since(sim, index):
    return sim.leds()[index:]


def test_after_a_power_cut_the_restored_online_is_not_trusted(mosquitto, start_sim, heartbeat):
    topic = f"alerts/pot-high-{uuid.uuid4().hex[:6]}"
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(f"{topic}/annunciator", "acked", retain=True)
    beat = heartbeat(mosquitto)
    sim = start_sim("indicator-sim", "--topic", topic, webhook=False)
    sim.wait_for_led("red")
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, "status/webhook")
               == b"online", 10)
    # The broker saves every second (autosave_interval 1): wait for a save that has `online`.
    saved = mosquitto.workdir / "data" / "mosquitto.db"
    published = time.time()
    wait_until(lambda: saved.exists() and saved.stat().st_mtime > published, 10)

    # The cut: the broker's host stops answering (as when it loses power), the webhook is gone.
    cut = time.monotonic()
    mosquitto.freeze()
    beat.stop()
    sim.wait_for_led("unknown", timeout=30)
    unknown_after = time.monotonic() - cut
    mosquitto.kill()
    wait_until(lambda: not port_open(mosquitto.port), 10)
    mosquitto.start()  # from the same data folder: `online` and `acked` come back retained
    assert read_retained(mosquitto.host, mosquitto.port, "status/webhook") == b"online"
    shown = len(sim.leds())
    wait_until(lambda: any(NOT_TRUSTED in line for line in sim.output_lines()), 30,
               message=f"the restored online was not seen: {sim.output_lines()[-10:]}")
    assert since(sim, shown) == [], "a colour was shown while the webhook was not back"
    assert any("no live webhook status yet" in line for line in sim.output_lines())

    back = time.monotonic()
    heartbeat(mosquitto, period_s=5.0)  # the webhook's own period
    sim.wait_for_led("red", timeout=30)
    truth_after = time.monotonic() - back
    print(f"\nafter the cut: unknown after {unknown_after:.1f} s; the webhook back: the truth "
          f"after {truth_after:.1f} s (heartbeat every 5 s)")


def test_a_webhook_whose_heartbeat_stops_turns_unknown_within_the_live_window(
        mosquitto, start_sim, heartbeat):
    """The webhook froze or lost its power: no `offline` (the broker's keepalive for it may not
    have fired yet), just no more heartbeats."""
    topic = f"alerts/pot-high-{uuid.uuid4().hex[:6]}"
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(f"{topic}/annunciator", "normal", retain=True)
    beat = heartbeat(mosquitto, period_s=5.0)
    sim = start_sim("indicator-sim", "--topic", topic, webhook=False)
    sim.wait_for_led("green", timeout=30)
    beat.stop()
    stopped = time.monotonic()
    sim.wait_for_led("unknown", timeout=40)
    print(f"\nheartbeat stopped: unknown after {time.monotonic() - stopped:.1f} s "
          "(live window 15 s after the last heartbeat)")
    assert any("webhook silent" in line for line in sim.output_lines())
    heartbeat(mosquitto, period_s=5.0)
    sim.wait_for_led("green", timeout=30)
