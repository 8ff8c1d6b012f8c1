"""The console's broker identity under the shipped ACL (mosquitto/config/acl): what it may read
and write, and that nobody else may send its acknowledgements, shelve or Hand/Off/Auto requests."""

import pytest

from tests.deploy.test_broker import (  # noqa: F401 - the fixture is used by name
    SENSOR,
    broker,
    delivered,
    readable,
)


@pytest.fixture
def console_broker(broker, generated):  # noqa: F811
    """The shipped broker, with the console's password from `make secrets` known to the test."""
    broker.passwords["console"] = generated["env"]["MQTT_CONSOLE_PASSWORD"]
    return broker


@pytest.mark.parametrize("topic, allowed", [
    ("alerts/pot-high/ack/console", True),
    ("alerts/pot-high/esp32-a1/ack/console", True),
    ("alerts/pot-high/shelve/console", True),
    ("alerts/pot-high/esp32-a1/shelve/console", True),
    ("actions/shed-fan/mode/set", True),
    ("journal/console", True),
    ("status/console", True),
    ("alerts/pot-high/ack/webhook", False),  # no one else's id
    ("alerts/pot-high", False),  # the alarm state is the webhook's
    ("alerts/pot-high/info", False),
    ("actuators/relay-1/1/set", False),  # outputs go through the actions service
    ("sensors/esp32-a1/pot", False),
    ("journal/actions", False),
])
def test_what_the_console_may_write(console_broker, topic, allowed):
    assert delivered(console_broker, "console", topic) == allowed


# The webhook, which owns alerts/#, is the one other writer there (its rule is readwrite).
@pytest.mark.parametrize("publisher, topic", [
    (SENSOR, "alerts/pot-high/shelve/console"),
    ("listener", "actions/shed-fan/mode/set"),
    (SENSOR, "alerts/pot-high/ack/console"),
])
def test_nobody_else_speaks_for_the_console(console_broker, publisher, topic):
    assert not delivered(console_broker, publisher, topic)


@pytest.mark.parametrize("topic_filter, topic", [
    ("alerts/#", "alerts/pot-high/esp32-a1/info"),
    ("actions/+/state", "actions/shed-fan/state"),
    ("sensors/+/+", "sensors/esp32-a1/pot"),
    ("status/+", "status/esp32-a1"),
])
def test_what_the_console_reads(console_broker, topic_filter, topic):
    assert readable(console_broker, "console", topic_filter, topic)
