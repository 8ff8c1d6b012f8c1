"""AlertPublisher on an in-memory link: restore at start-up, birth after the restore, 503 and
republish, republish after a reconnect, publish_messages. No server."""

import pytest

from devstack.wait import wait_until
from tests.support.fakes import FakeLink
from tests.support.webhook import instance, unified, webhook_env
from webhook.config import read_config
from webhook.notification import parse
from webhook.publisher import AlertPublisher, BrokerUnavailable
from webhook.refusals import RefusalLog
from webhook.reporter import Reporter

STATE = "alerts/_webhook/webhook/state"
FIRING = parse(unified(instance("Pot high", "firing", "f1", device="esp32-a")))


def started(retained=None, **env):
    link = FakeLink(retained)
    publisher = AlertPublisher(read_config(webhook_env(**env)), link=link)
    publisher.start()
    wait_until(lambda: link.online, 5, message="never said online")
    return publisher, link


def test_online_only_after_the_restored_state_is_published():
    link = FakeLink({STATE: b'{"alerts":{"pot-high":{"devices":[],"firing":{"f":null}}},'
                            b'"version":1}'})
    publisher = AlertPublisher(read_config(webhook_env()), link=link)
    order = []
    link.publish_online = lambda: order.append("online")
    original = link.publish_and_wait
    link.publish_and_wait = lambda *a, **k: order.append("state") or original(*a, **k)
    publisher.start()
    wait_until(lambda: "online" in order, 5)
    assert order == ["state", "online"]
    assert link.retained["alerts/pot-high"] == b"1"


def test_apply_publishes_the_document_first_then_the_topics():
    publisher, link = started()
    link.published.clear()  # the first start saved and published its empty document
    assert publisher.apply(FIRING) == {"alerts/pot-high": "1", "alerts/pot-high/esp32-a": "1"}
    assert [t for t, _, _ in link.published] == [STATE, "alerts/pot-high",
                                                 "alerts/pot-high/esp32-a"]
    assert all(retain for _, _, retain in link.published)


def test_unacknowledged_is_503_then_republished():
    publisher, link = started()
    link.acknowledge = False
    with pytest.raises(BrokerUnavailable, match="did not acknowledge 3 of 3"):
        publisher.apply(FIRING)
    link.acknowledge = True
    assert publisher.apply(FIRING)["alerts/pot-high"] == "1"
    assert publisher.counts_snapshot()["publish_unacknowledged"] == 3


def test_not_connected_is_503():
    publisher, link = started()
    link.connected = False
    with pytest.raises(BrokerUnavailable, match="not connected"):
        publisher.apply(FIRING)
    assert not publisher.ready


def test_a_reconnect_publishes_every_topic_again_then_online():
    publisher, link = started()
    publisher.apply(FIRING)
    link.retained.clear()  # a broker that restarted without its retained messages
    link.reconnect()
    wait_until(lambda: link.online, 5)
    assert link.retained["alerts/pot-high/esp32-a"] == b"1"
    assert STATE in link.retained
    assert len(link.reads) == 1, "the state is restored once, not at every connect"


def test_publish_messages_is_qos1_not_retained_and_raises_when_unacknowledged():
    publisher, link = started()
    publisher.publish_messages([("sensors/plc-1/temp", b"21.5")])
    assert link.published[-1] == ("sensors/plc-1/temp", b"21.5", False)
    assert "sensors/plc-1/temp" not in link.retained
    link.acknowledge = False
    with pytest.raises(BrokerUnavailable):
        publisher.publish_messages([("sensors/plc-1/temp", b"22")])


def test_online_waits_until_the_broker_took_the_restored_state():
    link = FakeLink({STATE: b'{"alerts":{"pot-high":{"devices":[],"firing":{"f":null}}},'
                            b'"version":1}'})
    link.acknowledge = False
    publisher = AlertPublisher(read_config(webhook_env()), link=link)
    publisher.start()
    try:
        wait_until(lambda: len(link.payloads("alerts/pot-high")) >= 2, 10,
                   message="the unacknowledged state was not retried")
        assert not link.online
        link.acknowledge = True
        wait_until(lambda: link.online, 10, message="never said online")
        assert link.retained["alerts/pot-high"] == b"1"
    finally:
        publisher.close()


def test_the_stats_loop_retries_a_publish_that_timed_out():
    publisher, link = started()
    link.acknowledge = False
    with pytest.raises(BrokerUnavailable):
        publisher.apply(FIRING)
    link.acknowledge = True
    Reporter(publisher.config, publisher, RefusalLog(60)).report_once()
    assert link.retained["alerts/pot-high/esp32-a"] == b"1"
