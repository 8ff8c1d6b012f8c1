"""Refused requests logged once per interval, and the counters published as readings. No
server: a fake clock and the in-memory link."""

import logging

from tests.webhook.conftest import AUTH, USER, webhook_env
from tests.webhook.fakes import FakeLink
from webhook.config import read_config
from webhook.publisher import AlertPublisher
from webhook.refusals import RefusalLog
from webhook.reporter import COUNTERS, Reporter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_first_refusal_is_logged_at_once_then_one_line_per_interval(caplog):
    clock = Clock()
    refusals = RefusalLog(60, clock)
    with caplog.at_level(logging.WARNING, logger="webhook.refusals"):
        refusals.note(401, "unauthorized", "10.0.0.5")
        for _ in range(12):
            refusals.note(401, "unauthorized", "10.0.0.5")
        refusals.note(413, "too_large", "10.0.0.7")
        clock.now += 30
        assert refusals.flush() is not None
        assert refusals.flush() is None
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused 1 requests in 0 s: 401 unauthorized x1; from 10.0.0.5 x1",
        "refused 13 requests in 30 s: 401 unauthorized x12, 413 too_large x1; "
        "from 10.0.0.5 x12, 10.0.0.7 x1",
    ]


def test_many_addresses_are_summed_up():
    refusals = RefusalLog(60, Clock())
    refusals.flush()
    for n in range(8):
        refusals.note(401, "unauthorized", f"10.0.0.{n}")
    assert refusals.flush().endswith("and 3 other addresses")


def test_the_app_logs_each_refusal_kind_with_the_client_address(app_factory, caplog):
    client = app_factory().test_client()
    with caplog.at_level(logging.WARNING, logger="webhook.refusals"):
        client.post("/alert", json={}, auth=(USER, "wrong"))
        client.post("/alert", data=b"{", auth=AUTH, content_type="application/json")
        client.application.extensions["refusal_log"].flush()
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "401 unauthorized x1" in text
    assert "400 malformed_json x1" in text
    assert "from 127.0.0.1" in text


def test_counters_are_readings_on_sensors_client_id():
    config = read_config(webhook_env())
    link = FakeLink()
    publisher = AlertPublisher(config, link=link)
    publisher.start()
    publisher.count("unauthorized", 3)
    Reporter(config, publisher, RefusalLog(60)).report_once()
    sent = {t: (p, retain) for t, p, retain in link.published if t.startswith("sensors/")}
    assert sent["sensors/webhook/unauthorized"] == (b"3", False)
    assert sent["sensors/webhook/state_full"] == (b"0", False)
    assert set(sent) == {f"sensors/webhook/{name}" for name in COUNTERS}


def test_counters_wait_for_the_broker():
    config = read_config(webhook_env())
    link = FakeLink()
    publisher = AlertPublisher(config, link=link)
    publisher.start()
    link.connected = False
    Reporter(config, publisher, RefusalLog(60)).report_once()  # no exception
    assert not [t for t, _, _ in link.published if t.startswith("sensors/")]
