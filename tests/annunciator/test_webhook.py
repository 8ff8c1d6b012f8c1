"""The annunciator inside the webhook, on the in-memory link: retained states next to the
unchanged `1`/`0` topics, acknowledgements from `.../ack` and POST /ack, the journal, and the
states across a restart."""

import json

import pytest

from devstack.wait import wait_until
from service_common.config import ConfigError
from tests.support.annunciator import (
    ACK_AUTH,
    JOURNAL,
    STATE,
    env,
    journal_entries,
    notification,
    transitions,
)
from tests.support.webhook import instance, unified
from webhook import journal_out
from webhook.config import read_config
from webhook.notification import parse
from webhook.publisher import BrokerUnavailable

FIRE_A = notification(("firing", "fa", "esp32-a"))
FIRE_AB = notification(("firing", "fa", "esp32-a"), ("firing", "fb", "esp32-b"))
CLEAR_A = notification(("resolved", "fa", "esp32-a"))


def retained(link, topic):
    value = link.retained.get(topic)
    return value.decode() if value is not None else None


def states(link):
    return {t: v.decode() for t, v in link.retained.items() if t.endswith("/annunciator")}


def handled(publisher):
    counts = publisher.counts_snapshot()
    return sum(counts.get(name, 0) for name in ("acks", "ack_unknown", "ack_unpublished"))


def press(publisher, link, topic, payload=b"esp8266-b2"):
    before = handled(publisher)
    link.deliver(topic, payload)
    wait_until(lambda: handled(publisher) > before, 5,
               message="the acknowledgement was never handled")


def test_the_one_zero_topics_are_the_same_with_and_without_annunciator(started):
    sequence = [FIRE_AB, CLEAR_A, notification(("firing", "fc", None))]
    results = []
    for mode in ("off", "isa"):
        _, publisher, link = started(WEBHOOK_ANNUNCIATOR=mode)
        for body in sequence:
            publisher.apply(parse(body))
        results.append({t: v for t, v in link.retained.items()
                        if not t.endswith(("/annunciator", "/info")) and t != STATE})
    assert results[0] == results[1]


def test_each_annunciator_topic_goes_out_before_its_one_zero_topic(started):
    """The broker passes one client's messages on in order: an indicator that follows both
    then never shows steady red for an instant before red flashing (or green before green
    flashing)."""
    _, publisher, link = started()
    for body in (FIRE_AB, CLEAR_A):
        first = len(link.published)
        publisher.apply(parse(body))
        order = [topic for topic, _, _ in link.published[first:]]
        for topic in order:
            if topic.endswith("/annunciator"):
                plain = topic.removesuffix("/annunciator")
                assert plain not in order or order.index(topic) < order.index(plain), order


def test_off_publishes_no_annunciator_topic_and_no_journal(started):
    app, publisher, link = started(WEBHOOK_ANNUNCIATOR="off")
    publisher.apply(parse(FIRE_A))
    assert states(link) == {} and journal_entries(link) == []
    assert link.handlers == {}
    answer = app.test_client().post("/ack/pot-high", auth=ACK_AUTH)
    assert answer.status_code == 404


def test_fire_press_clear_with_the_journal(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    assert states(link) == {"alerts/pot-high/annunciator": "unacked",
                            "alerts/pot-high/esp32-a/annunciator": "unacked"}
    assert all(not retain for t, _, retain in link.published if t == JOURNAL)
    press(publisher, link, "alerts/pot-high/ack")
    assert states(link) == {"alerts/pot-high/annunciator": "acked",
                            "alerts/pot-high/esp32-a/annunciator": "acked"}
    publisher.apply(parse(CLEAR_A))
    assert states(link)["alerts/pot-high/annunciator"] == "normal"
    assert transitions(link) == [
        ("esp32-a", "normal", "unacked", None), (None, "normal", "unacked", None),
        ("esp32-a", "unacked", "acked", "esp8266-b2"), (None, "unacked", "acked", "esp8266-b2"),
        ("esp32-a", "acked", "normal", None), (None, "acked", "normal", None),
    ]
    times = [e["ts"] for e in journal_entries(link)]
    assert times == sorted(set(times)), "each entry has its own, increasing time"
    assert link.retained["alerts/pot-high"] == b"0"


def test_ringback_asks_for_an_ack_after_an_acknowledged_alarm_clears(started):
    _, publisher, link = started(WEBHOOK_ANNUNCIATOR="ringback")
    publisher.apply(parse(FIRE_A))
    press(publisher, link, "alerts/pot-high/ack")
    publisher.apply(parse(CLEAR_A))
    assert retained(link, "alerts/pot-high/annunciator") == "cleared-unacked"
    press(publisher, link, "alerts/pot-high/esp32-a/ack")
    assert retained(link, "alerts/pot-high/annunciator") == "normal"


def test_a_device_press_acknowledges_its_instance_and_the_summary_follows(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_AB))
    press(publisher, link, "alerts/pot-high/esp32-a/ack")
    assert states(link) == {"alerts/pot-high/annunciator": "unacked",
                            "alerts/pot-high/esp32-a/annunciator": "acked",
                            "alerts/pot-high/esp32-b/annunciator": "unacked"}
    press(publisher, link, "alerts/pot-high/esp32-b/ack")
    assert retained(link, "alerts/pot-high/annunciator") == "acked"


@pytest.mark.parametrize("payload, by", [
    (b"esp8266-b2", "esp8266-b2"), (b"", None), (b"ack", None), (b"a/b", None), (b"\xff", None),
], ids=["board-id", "empty", "ack", "not-a-device-id", "not-utf8"])
def test_the_ack_payload_names_the_board(started, payload, by):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    press(publisher, link, "alerts/pot-high/ack", payload)
    assert transitions(link)[-1] == (None, "unacked", "acked", by)


def test_an_ack_for_an_unknown_alarm_is_counted_and_changes_nothing(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    published = len(link.published)
    press(publisher, link, "alerts/other/ack")
    press(publisher, link, "alerts/pot-high/esp32-z/ack")
    link.deliver("alerts/Pot/ack", b"x")
    assert publisher.counts_snapshot()["ack_unknown"] == 2
    assert publisher.counts_snapshot()["ack_bad_topic"] == 1
    assert len(link.published) == published


def test_http_ack_after_the_alarm_cleared_by_itself(started):
    app, publisher, link = started()
    client = app.test_client()
    publisher.apply(parse(FIRE_A))
    publisher.apply(parse(CLEAR_A))
    assert retained(link, "alerts/pot-high/annunciator") == "cleared-unacked"
    answer = client.post("/ack/pot-high", auth=ACK_AUTH)
    assert answer.status_code == 200
    assert answer.json["state"] == "normal" and answer.json["by"] == "operator"
    assert answer.json["transitions"] == [
        {"device": "esp32-a", "from": "cleared-unacked", "to": "normal"},
        {"device": None, "from": "cleared-unacked", "to": "normal"}]
    again = client.post("/ack/Pot high", auth=ACK_AUTH)
    assert again.status_code == 200 and again.json["transitions"] == []
    assert transitions(link)[-1] == (None, "cleared-unacked", "normal", "operator")


@pytest.mark.parametrize("path, auth, status", [
    ("/ack/pot-high", None, 401),
    ("/ack/pot-high", ("operator", "wrong"), 401),
    ("/ack/pot-high", ("grafana", "test-password-not-secret"), 401),
    ("/ack/nothing", ACK_AUTH, 404),
    ("/ack/pot-high/esp32-z", ACK_AUTH, 404),
    ("/ack/pot-high/esp32-a", ACK_AUTH, 200),
], ids=["no-auth", "wrong-password", "grafanas-credentials", "unknown-alert", "unknown-device",
        "device"])
def test_http_ack_answers(started, path, auth, status):
    app, publisher, _ = started()
    publisher.apply(parse(FIRE_A))
    answer = app.test_client().post(path, auth=auth)
    assert answer.status_code == status, answer.json
    if status == 401:
        assert "Basic" in answer.headers["WWW-Authenticate"]


def test_http_ack_is_off_without_credentials(started):
    app, publisher, _ = started(ACK_USERNAME="", ACK_PASSWORD="")
    publisher.apply(parse(FIRE_A))
    answer = app.test_client().post("/ack/pot-high", auth=ACK_AUTH)
    assert answer.status_code == 404 and "ACK_USERNAME" in answer.json["reason"]


def test_http_ack_answers_503_without_broker_and_the_ack_is_published_later(started):
    app, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    link.acknowledge = False
    assert app.test_client().post("/ack/pot-high", auth=ACK_AUTH).status_code == 503
    link.acknowledge = True
    publisher.sync()
    assert retained(link, "alerts/pot-high/annunciator") == "acked"
    assert transitions(link)[-1] == (None, "unacked", "acked", "operator")


STORIES = {
    "unacked": [FIRE_AB],
    "acked": [FIRE_AB, "ack"],
    "cleared-unacked": [FIRE_AB, notification(("resolved", "fa", "esp32-a"),
                                              ("resolved", "fb", "esp32-b"))],
    "normal": [FIRE_AB, "ack", notification(("resolved", "fa", "esp32-a"),
                                            ("resolved", "fb", "esp32-b"))],
    "mixed": [FIRE_AB, "ack-a"],
}


@pytest.mark.parametrize("story", STORIES)
def test_a_restart_keeps_every_state_and_journals_nothing_new(started, story):
    _, publisher, link = started()
    for step in STORIES[story]:
        if step == "ack":
            publisher.acknowledge("pot-high", by="op")
        elif step == "ack-a":
            publisher.acknowledge("pot-high", "esp32-a", by="op")
        else:
            publisher.apply(parse(step))
    before = states(link)
    publisher.close()
    _, _, restarted = started(retained=link.retained)
    assert states(restarted) == before
    # Entries of the last change may be sent again (a repeat overwrites itself), none is new.
    assert all(e in journal_entries(link) for e in journal_entries(restarted))


def test_an_older_webhooks_document_starts_firing_alerts_unacked(started):
    old = (b'{"alerts":{"pot-high":{"devices":["esp32-a"],"firing":{"fa":"esp32-a"}}},'
           b'"version":1}')
    _, _, link = started(retained={STATE: old})
    assert states(link) == {"alerts/pot-high/annunciator": "unacked",
                            "alerts/pot-high/esp32-a/annunciator": "unacked"}
    assert transitions(link) == [("esp32-a", "normal", "unacked", None),
                                 (None, "normal", "unacked", None)]


def test_journal_entries_the_broker_did_not_take_are_sent_by_the_next_sync(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    link.acknowledge = False
    with pytest.raises(BrokerUnavailable):
        publisher.apply(parse(CLEAR_A))
    link.acknowledge = True
    publisher.sync()
    assert retained(link, "alerts/pot-high/annunciator") == "cleared-unacked"
    assert [(d, to) for d, _, to, _ in transitions(link)][-2:] == [
        ("esp32-a", "cleared-unacked"), (None, "cleared-unacked")]
    assert publisher.store.journal == []


def test_journal_entries_unsent_at_a_crash_are_sent_after_the_restart(started):
    _, publisher, link = started()
    publish = link.publish_and_wait

    def lose_the_journal(messages, timeout, retain):
        if messages and messages[0][0] == JOURNAL:
            return [topic for topic, _ in messages]
        return publish(messages, timeout, retain)

    link.publish_and_wait = lose_the_journal
    with pytest.raises(BrokerUnavailable):
        publisher.apply(parse(FIRE_A))
    assert journal_entries(link) == []
    unsent = [e._asdict() for e in publisher.store.journal]
    publisher.close()  # as if it crashed: the state document holds the entries
    _, _, restarted = started(retained=link.retained)
    assert [(e["device"], e["from"], e["to"]) for e in journal_entries(restarted)] == [
        (e["device"], e["from_state"], e["to_state"]) for e in unsent]


def test_journal_entries_beyond_the_limit_are_dropped_oldest_first(started, monkeypatch):
    monkeypatch.setattr(journal_out, "JOURNAL_LIMIT", 3)
    _, publisher, link = started()
    publish = link.publish_and_wait
    link.publish_and_wait = lambda messages, timeout, retain: (
        [t for t, _ in messages] if messages[0][0] == JOURNAL else publish(messages, timeout,
                                                                          retain))
    for body in (FIRE_A, CLEAR_A):
        with pytest.raises(BrokerUnavailable):
            publisher.apply(parse(body))
    assert [(e.device, e.to_state) for e in publisher.store.journal] == [
        (None, "unacked"), ("esp32-a", "cleared-unacked"), (None, "cleared-unacked")]
    assert publisher.counts_snapshot()["journal_dropped"] == 1


@pytest.mark.parametrize("settings, problem", [
    ({"WEBHOOK_ANNUNCIATOR": "blink"}, "WEBHOOK_ANNUNCIATOR"),
    ({"ACK_USERNAME": "op", "ACK_PASSWORD": ""}, "set together"),
    ({"ACK_USERNAME": "o:p", "ACK_PASSWORD": "x"}, "':'"),
    ({"ACK_USERNAME": "op", "ACK_PASSWORD": "test-password-not-secret"}, "must differ"),
], ids=["unknown-mode", "user-without-password", "colon", "grafanas-password"])
def test_bad_settings_are_named(settings, problem):
    with pytest.raises(ConfigError, match=problem):
        read_config(env(**settings))


def test_the_documented_default_is_isa():
    assert read_config(env(WEBHOOK_ANNUNCIATOR="")).annunciator == "isa"


def test_a_repeated_press_publishes_what_the_first_one_could_not(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    link.acknowledge = False
    press(publisher, link, "alerts/pot-high/ack")
    assert publisher.counts_snapshot()["ack_unpublished"] == 1
    assert retained(link, "alerts/pot-high/annunciator") == "unacked"  # the LED keeps flashing
    link.acknowledge = True
    press(publisher, link, "alerts/pot-high/ack")
    assert retained(link, "alerts/pot-high/annunciator") == "acked"
    assert transitions(link)[-1] == (None, "unacked", "acked", "esp8266-b2")


def test_forgotten_devices_leave_the_annunciator_once_nothing_waits(started):
    _, publisher, link = started(WEBHOOK_STATE_FORGET_AFTER=60)
    now = [1_800_000_000.0]
    publisher.clock = lambda: now[0]
    publisher.apply(parse(FIRE_AB))
    publisher.acknowledge("pot-high", "esp32-a")
    publisher.apply(parse(notification(("resolved", "fa", "esp32-a"),
                                       ("resolved", "fb", "esp32-b"))))
    now[0] += 3600
    publisher.apply(parse(unified(instance("Temp high", "firing", "t1"))))
    instances = publisher.store.annunciator.instances["pot-high"]
    assert "esp32-a" not in instances  # normal and forgotten by the store
    assert instances["esp32-b"] == "cleared-unacked"  # still waits for its acknowledgement
    publisher.acknowledge("pot-high", by="op")
    publisher.apply(parse(unified(instance("Temp high", "firing", "t1"))))
    assert "esp32-b" not in publisher.store.annunciator.instances.get("pot-high", {})


def test_a_retained_ack_is_counted_as_retained_and_changes_nothing(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    published = len(link.published)
    link.deliver("alerts/pot-high/ack", b"esp8266-b2", retain=True)
    counts = publisher.counts_snapshot()
    assert (counts.get("ack_retained"), counts.get("ack_bad_topic", 0)) == (1, 0)
    assert len(link.published) == published


def test_switched_off_the_annunciator_deletes_its_retained_states_once(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    before = states(link)
    assert before
    _, publisher, off = started(link.retained, WEBHOOK_ANNUNCIATOR="off")
    emptied = [(t, retain) for t, p, retain in off.published if t.endswith("/annunciator")]
    assert emptied == [(t, True) for t in sorted(before)]
    assert all(p == b"" for t, p, _ in off.published if t.endswith("/annunciator"))
    assert json.loads(off.retained[STATE])["annunciator"] == {}
    assert off.retained["alerts/pot-high/esp32-a"] == b"1"
    _, _, again = started(off.retained, WEBHOOK_ANNUNCIATOR="off")
    assert not [t for t, _, _ in again.published if t.endswith("/annunciator")]
