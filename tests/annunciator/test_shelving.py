"""Shelving and out of service (issue 23 part 1, the webhook's side): the console's commands on
`.../shelve/console`, the annunciator topics showing `shelved` / `out-of-service` while the `1`/`0`
topics tell the truth, the journal, the expiry (also across a restart), the cap and `.../info`.
On the in-memory link."""

import json

import pytest

from devstack.wait import wait_until
from tests.support.annunciator import notification, transitions
from webhook.notification import parse

FIRE_A = notification(("firing", "fa", "esp32-a"))
FIRE_AB = notification(("firing", "fa", "esp32-a"), ("firing", "fb", "esp32-b"))
NOW = 1_800_000_000.0


def command(action, until=None, by="alice", reason="maintenance"):
    body = {"action": action, "by": by, "reason": reason}
    if until is not None:
        body["until"] = until
    return json.dumps(body).encode()


def send(publisher, link, topic, payload):
    before = sum(publisher.counts_snapshot().get(n, 0)
                 for n in ("shelve_commands", "shelve_refused"))
    link.deliver(topic, payload)
    wait_until(lambda: sum(publisher.counts_snapshot().get(n, 0) for n in
                           ("shelve_commands", "shelve_refused")) > before, 5,
               message="the shelve command was never handled")


def shown(link, topic):
    return link.retained[topic].decode()


@pytest.fixture
def clocked(started):
    def start(**env):
        app, publisher, link = started(**env)
        publisher.clock = lambda: clock[0]
        return publisher, link
    clock = [NOW]
    start.clock = clock
    return start


def test_a_shelved_device_shows_shelved_and_the_summary_follows_the_others(clocked):
    publisher, link = clocked()
    publisher.apply(parse(FIRE_AB))
    until = int(NOW * 1000) + 3600_000
    send(publisher, link, "alerts/pot-high/esp32-a/shelve/console", command("shelve", until))
    assert shown(link, "alerts/pot-high/esp32-a/annunciator") == "shelved"
    assert shown(link, "alerts/pot-high/esp32-b/annunciator") == "unacked"
    assert shown(link, "alerts/pot-high/annunciator") == "unacked"
    assert link.retained["alerts/pot-high/esp32-a"] == b"1"  # the truth stays
    assert ("esp32-a", "unacked", "shelved", "console:alice") in transitions(link)
    info = json.loads(link.retained["alerts/pot-high/esp32-a/info"])
    assert info["state"] == "shelved" and info["active"] is True
    assert info["shelved"] == {"kind": "shelved", "by": "console:alice",
                               "reason": "maintenance", "until": until}


def test_shelving_the_alert_quiets_the_summary_and_every_device(clocked):
    publisher, link = clocked()
    publisher.apply(parse(FIRE_AB))
    send(publisher, link, "alerts/pot-high/shelve/console",
         command("shelve", int(NOW * 1000) + 60_000))
    assert {shown(link, t) for t in ("alerts/pot-high/annunciator",
                                     "alerts/pot-high/esp32-a/annunciator",
                                     "alerts/pot-high/esp32-b/annunciator")} == {"shelved"}
    send(publisher, link, "alerts/pot-high/shelve/console", command("unshelve"))
    assert shown(link, "alerts/pot-high/annunciator") == "unacked"


def test_a_shelve_expires_by_itself_even_across_a_restart(clocked, tmp_path):
    publisher, link = clocked(WEBHOOK_STATE_DIR=tmp_path)
    publisher.apply(parse(FIRE_A))
    send(publisher, link, "alerts/pot-high/esp32-a/shelve/console",
         command("shelve", int(NOW * 1000) + 60_000))
    publisher.close()
    publisher, link = clocked(WEBHOOK_STATE_DIR=tmp_path)
    assert shown(link, "alerts/pot-high/esp32-a/annunciator") == "shelved"
    clocked.clock[0] = NOW + 61
    publisher.sync()
    assert shown(link, "alerts/pot-high/esp32-a/annunciator") == "unacked"
    # The summary showed the other instances (none active) while esp32-a was shelved.
    assert transitions(link)[-2:] == [("esp32-a", "shelved", "unacked", None),
                                      (None, "normal", "unacked", None)]


def test_a_shelve_longer_than_the_maximum_is_cut(clocked):
    publisher, link = clocked(WEBHOOK_SHELVE_MAX_S=3600)
    publisher.apply(parse(FIRE_A))
    send(publisher, link, "alerts/pot-high/shelve/console",
         command("shelve", int(NOW * 1000) + 86400_000))
    info = json.loads(link.retained["alerts/pot-high/info"])
    assert info["shelved"]["until"] == int(NOW * 1000) + 3600_000


def test_out_of_service_lasts_until_in_service(clocked):
    publisher, link = clocked()
    publisher.apply(parse(FIRE_A))
    send(publisher, link, "alerts/pot-high/esp32-a/shelve/console", command("out-of-service"))
    clocked.clock[0] = NOW + 30 * 86400
    publisher.sync()
    assert shown(link, "alerts/pot-high/esp32-a/annunciator") == "out-of-service"
    send(publisher, link, "alerts/pot-high/esp32-a/shelve/console", command("in-service"))
    assert shown(link, "alerts/pot-high/esp32-a/annunciator") == "unacked"


@pytest.mark.parametrize("topic, payload", [
    ("alerts/pot-high/shelve/console", b"not json"),
    ("alerts/pot-high/shelve/console", command("shelve")),  # no until
    ("alerts/pot-high/shelve/console", command("shelve", until=1)),  # in the past
    ("alerts/pot-high/shelve/console", command("snooze")),
    ("alerts/pot-high/shelve/console", command("shelve", 2**62, by="")),
    ("alerts/never-seen/shelve/console", command("out-of-service")),
], ids=["not-json", "no-until", "past", "unknown-action", "no-user", "unknown-alarm"])
def test_bad_commands_are_refused_and_counted(clocked, topic, payload):
    publisher, link = clocked()
    publisher.apply(parse(FIRE_A))
    send(publisher, link, topic, payload)
    assert publisher.counts_snapshot()["shelve_refused"] == 1
    assert shown(link, "alerts/pot-high/annunciator") == "unacked"


def test_only_the_console_may_shelve(clocked):
    publisher, link = clocked()
    publisher.apply(parse(FIRE_A))
    link.deliver("alerts/pot-high/shelve/esp8266-b2", command("out-of-service"))
    assert shown(link, "alerts/pot-high/annunciator") == "unacked"


def test_info_of_a_firing_alarm(clocked):
    publisher, link = clocked()
    publisher.apply(parse(FIRE_A))
    publisher.acknowledge("pot-high", "esp32-a", by="esp8266-b2")
    info = json.loads(link.retained["alerts/pot-high/esp32-a/info"])
    assert info["alert"] == "pot-high" and info["device"] == "esp32-a"
    assert info["active"] is True and info["state"] == "acked"
    assert info["acked_by"] == "esp8266-b2" and info["shelved"] is None
    assert info["fired_at"] is not None and info["since"] >= info["fired_at"] - 10**9


def test_alert_answers_with_the_state_topics_only(started):
    app, _, _ = started()
    answer = app.test_client().post("/alert", json=FIRE_A, auth=("grafana",
                                                                 "test-password-not-secret"))
    assert answer.status_code == 200, answer.json
    assert "alerts/pot-high/annunciator" in answer.json["published"]
    assert not any(topic.endswith("/info") for topic in answer.json["published"])
