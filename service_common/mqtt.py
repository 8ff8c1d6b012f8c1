"""MQTT settings and a paho 2.x client with retained online/offline status and capped back-off."""

import logging
import ssl
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from service_common import service_ids
from service_common.config import defaults

log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"


@dataclass(frozen=True)
class MqttSettings:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = "client"
    keepalive: int = 30
    tls_ca: str | None = None
    sensors_root: str = "sensors"
    status_root: str = "status"
    alerts_root: str = "alerts"

    @property
    def status_topic(self):
        return f"{self.status_root}/{self.client_id}"


def read_mqtt_settings(env, prefix, default_client_id=None):
    """MQTT_* settings shared by all services, plus `<prefix>_CLIENT_ID`; defaults from
    MqttSettings, the client id's from service_common.service_ids (by `prefix`)."""
    default = defaults(MqttSettings)
    client_id = default_client_id or service_ids.BY_PREFIX[prefix]
    settings = MqttSettings(
        host=env.str("MQTT_HOST", default.host),
        port=env.int("MQTT_PORT", default.port, 1, 65535),
        username=env.str("MQTT_USERNAME", default.username),
        password=env.str("MQTT_PASSWORD", default.password),
        client_id=env.str(f"{prefix}_CLIENT_ID", client_id),
        keepalive=env.int("MQTT_KEEPALIVE", default.keepalive, 5, 3600),
        tls_ca=env.str("MQTT_TLS_CA", default.tls_ca),
        sensors_root=env.str("MQTT_SENSORS_ROOT", default.sensors_root).rstrip("/"),
        status_root=env.str("MQTT_STATUS_ROOT", default.status_root).rstrip("/"),
        alerts_root=env.str("MQTT_ALERTS_ROOT", default.alerts_root).rstrip("/"),
    )
    if settings.password and not settings.username:
        env.problems.append("MQTT_PASSWORD is set but MQTT_USERNAME is not")
    for name in ("sensors_root", "status_root", "alerts_root"):
        value = getattr(settings, name)
        if not value or any(c in value for c in "+#"):
            env.problems.append(f"MQTT_{name.upper()}={value!r} must be a topic without wildcards")
    return settings


def make_client(settings, clean_session=True, manual_ack=False, max_inflight=20,
                client_class=mqtt.Client):
    """A paho client (MQTT 3.1.1) with credentials, TLS, the offline Last Will and back-off 1-30 s.

    Call `publish_online(client, settings)` from `on_connect`.
    """
    client = client_class(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls_ca:
        client.tls_set(ca_certs=settings.tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.will_set(settings.status_topic, OFFLINE, qos=1, retain=True)
    client.reconnect_delay_set(1, 30)
    client.max_inflight_messages_set(max_inflight)
    return client


def publish_online(client, settings):
    client.publish(settings.status_topic, ONLINE, qos=1, retain=True)


def publish_offline(client, settings, timeout=2.0):
    """Say `offline` before a clean disconnect (a clean disconnect does not fire the Will)."""
    try:
        client.publish(settings.status_topic, OFFLINE, qos=1, retain=True).wait_for_publish(timeout)
    except (RuntimeError, ValueError) as error:
        log.warning("could not publish offline status: %s", error)
