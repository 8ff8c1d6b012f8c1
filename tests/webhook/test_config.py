"""Settings from the environment: defaults, and one clear error naming every problem."""

import subprocess
import sys
from pathlib import Path

import pytest

from service_common.config import ConfigError
from webhook.config import read_config

REPO = Path(__file__).resolve().parents[2]
VALID = {"WEBHOOK_USERNAME": "grafana", "WEBHOOK_PASSWORD": "s3cret"}


def test_defaults():
    config = read_config(VALID)
    assert (config.port, config.max_body_bytes, config.publish_timeout) == (5000, 1048576, 5.0)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.client_id) == ("localhost", 1883,
                                                                            "webhook")
    assert config.mqtt.status_topic == "status/webhook"
    assert config.hmac_secret is None
    assert config.known_alerts == ()


def test_known_alerts_are_topic_names():
    config = read_config({**VALID, "WEBHOOK_KNOWN_ALERTS": "Pot high, pot-high,Temp LOW"})
    assert config.known_alerts == ("pot-high", "temp-low")


BAD = [
    ("no-credentials", {}, ["WEBHOOK_USERNAME is required", "WEBHOOK_PASSWORD is required"]),
    ("blank-password", {**VALID, "WEBHOOK_PASSWORD": "  "}, ["WEBHOOK_PASSWORD is required"]),
    ("port-not-a-number", {**VALID, "WEBHOOK_PORT": "http"}, ["WEBHOOK_PORT='http'"]),
    ("port-out-of-range", {**VALID, "WEBHOOK_PORT": "70000"}, ["WEBHOOK_PORT='70000'"]),
    ("tiny-body-limit", {**VALID, "WEBHOOK_MAX_BODY_BYTES": "10"}, ["WEBHOOK_MAX_BODY_BYTES"]),
    ("zero-timeout", {**VALID, "WEBHOOK_PUBLISH_TIMEOUT": "0"}, ["WEBHOOK_PUBLISH_TIMEOUT"]),
    ("timestamp-without-secret", {**VALID, "WEBHOOK_HMAC_TIMESTAMP_HEADER": "X-Ts"},
     ["WEBHOOK_HMAC_SECRET is not"]),
    ("bad-log-level", {**VALID, "WEBHOOK_LOG_LEVEL": "LOUD"}, ["WEBHOOK_LOG_LEVEL"]),
    ("client-id-with-wildcard", {**VALID, "WEBHOOK_CLIENT_ID": "web#hook"},
     ["WEBHOOK_CLIENT_ID"]),
    ("known-alert-without-letters", {**VALID, "WEBHOOK_KNOWN_ALERTS": "pot,!!"},
     ["WEBHOOK_KNOWN_ALERTS: '!!'"]),
    ("wildcard-alerts-root", {**VALID, "MQTT_ALERTS_ROOT": "alerts/#"}, ["MQTT_ALERTS_ROOT"]),
    ("everything-at-once", {"WEBHOOK_PORT": "x", "MQTT_PORT": "0"},
     ["WEBHOOK_USERNAME", "WEBHOOK_PASSWORD", "WEBHOOK_PORT", "MQTT_PORT"]),
]


@pytest.mark.parametrize("environ, problems", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_settings_are_all_named_in_one_error(environ, problems):
    with pytest.raises(ConfigError) as error:
        read_config(environ)
    for problem in problems:
        assert problem in str(error.value)


def test_the_service_refuses_to_start_without_credentials():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "MQTT_HOST": "127.0.0.1"}
    result = subprocess.run([sys.executable, "-m", "webhook"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "WEBHOOK_USERNAME is required" in result.stderr
    assert "WEBHOOK_PASSWORD is required" in result.stderr



def test_new_defaults():
    config = read_config(VALID)
    assert config.host == "127.0.0.1"
    assert (config.connection_limit, config.channel_timeout) == (500, 10)
    assert (config.state_max_entries, config.state_forget_after) == (1000, 7 * 86400)
    assert config.hmac_max_skew == 300
