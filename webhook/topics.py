"""The webhook's topic rules: alert names and device ids as MQTT topic levels, and the topics
built from them. Shared by the config (known alerts, client id), the notification parser and the
alert state."""

import re

MAX_DEVICE_CHARS = 128
MAX_ALERT_CHARS = 128
_NOT_TOPIC_SAFE = re.compile(r"[^a-z0-9]+")
_BAD_TOPIC_LEVEL = re.compile(r"[/+#]")
# What mosquitto refuses in a topic (it drops the connection of a client that sends one):
# control characters, UTF-16 surrogates (not encodable) and Unicode noncharacters.
_NOT_MQTT_UTF8 = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef]")
# Topic levels under an alert or device of its own: no device may be called so.
ANNUNCIATOR_LEVEL, ACK_LEVEL, SHELVE_LEVEL, INFO_LEVEL = "annunciator", "ack", "shelve", "info"
RESERVED_LEVELS = (ANNUNCIATOR_LEVEL, ACK_LEVEL, SHELVE_LEVEL, INFO_LEVEL)


def topic_safe(name):
    """`Pot high!` -> `pot-high`: lower case, each run of other chars than a-z0-9 -> `-`."""
    return _NOT_TOPIC_SAFE.sub("-", name.lower()).strip("-")


def device_problem(device):
    """Why `device` cannot be one MQTT topic level, or None when it can."""
    if not isinstance(device, str) or not device:
        return "must be a non-empty string"
    if len(device) > MAX_DEVICE_CHARS:
        return f"is longer than {MAX_DEVICE_CHARS} characters"
    if _BAD_TOPIC_LEVEL.search(device):
        return "contains '/', '+' or '#'"
    if _NOT_MQTT_UTF8.search(device) or any(ord(c) & 0xFFFE == 0xFFFE for c in device):
        return "contains a control character or no valid MQTT UTF-8"
    if device in RESERVED_LEVELS:
        return f"is {device!r}, a topic level the annunciator uses"
    return None


def alert_name_problem(name):
    """Why `name` (an alertname or rule title) gives no alert topic, or None when it does."""
    if not isinstance(name, str) or not topic_safe(name):
        return "has no letter or digit"
    if len(topic_safe(name)) > MAX_ALERT_CHARS:
        return f"is longer than {MAX_ALERT_CHARS} characters"
    return None


def alert_topic(root, alert, device=None):
    """`alerts/<alert>` or `alerts/<alert>/<device>`."""
    return f"{root}/{alert}" if device is None else f"{root}/{alert}/{device}"


def state_topic(root, client_id):
    """The retained document from which the webhook restores its state at start-up."""
    return f"{root}/_webhook/{client_id}/state"


def sync_topic(root, client_id):
    """Where the webhook's restore sends itself a marker (not retained)."""
    return f"{root}/_webhook/{client_id}/sync"


def counter_topic(sensors_root, client_id, counter):
    """A service counter published as an ordinary reading (`sensors/webhook/requests`)."""
    return f"{sensors_root}/{client_id}/{counter}"


def parse_alert_topic(topic, root):
    """`alerts/pot-high` -> ("pot-high", None); `alerts/pot-high/esp32-1` -> ("pot-high",
    "esp32-1"); None for any other topic (e.g. the state document)."""
    prefix = root + "/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix):].split("/")
    if not parts[0] or topic_safe(parts[0]) != parts[0] or len(parts) > 2:
        return None
    if len(parts) == 2:
        return (parts[0], parts[1]) if device_problem(parts[1]) is None else None
    return parts[0], None


def annunciator_topic(root, alert, device=None):
    """`alerts/<alert>[/<device>]/annunciator`: the retained ISA-18.2 state."""
    return f"{alert_topic(root, alert, device)}/{ANNUNCIATOR_LEVEL}"


def ack_topic(root, alert, device=None, sender=None):
    """`alerts/<alert>[/<device>]/ack/<sender>`: an acknowledgement, under the id of the client
    that sent it (the broker's ACL lets each client write only its own). Without a sender, the
    old topic `alerts/<alert>[/<device>]/ack` (read for one more release)."""
    topic = f"{alert_topic(root, alert, device)}/{ACK_LEVEL}"
    return topic if sender is None else f"{topic}/{sender}"


def ack_filters(root, sender="+"):
    """The subscriptions that receive every acknowledgement from `sender` (any: `+`)."""
    return [ack_topic(root, "+", sender=sender), ack_topic(root, "+", "+", sender)]


def old_ack_filters(root):
    return [ack_topic(root, "+"), ack_topic(root, "+", "+")]


def parse_ack_topic(topic, root):
    """(alert, device or None, sender or None) of an acknowledgement topic (sender None: the old
    topic without one), None for any other topic."""
    return _parse_command_topic(topic, root, ACK_LEVEL)


def shelve_topic(root, alert, device=None, sender="console"):
    """`alerts/<alert>[/<device>]/shelve/<sender>`: a shelve command (only the console's)."""
    return f"{alert_topic(root, alert, device)}/{SHELVE_LEVEL}/{sender}"


def shelve_filters(root, sender):
    return [shelve_topic(root, "+", sender=sender), shelve_topic(root, "+", "+", sender)]


def parse_shelve_topic(topic, root):
    """(alert, device or None, sender) of a shelve topic, None for any other topic."""
    parsed = _parse_command_topic(topic, root, SHELVE_LEVEL)
    return parsed if parsed and parsed[2] is not None else None


def info_topic(root, alert, device=None):
    """`alerts/<alert>[/<device>]/info`: the alarm's details, JSON, for the console."""
    return f"{alert_topic(root, alert, device)}/{INFO_LEVEL}"


def _parse_command_topic(topic, root, level):
    prefix = root + "/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix):].split("/")
    sender = None
    if len(parts) >= 3 and parts[-2] == level:
        sender = parts.pop()
        if device_problem(sender):
            return None
    if len(parts) < 2 or parts[-1] != level:
        return None
    parsed = parse_alert_topic("/".join([root, *parts[:-1]]), root)
    return None if parsed is None else (*parsed, sender)
