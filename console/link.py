"""The console's broker link (user and client id `console`): reads the retained alarm topics,
publishes acknowledgements, shelve requests and its journal, and its own liveness."""

import json
import logging
import threading
import time

from service_common import events
from service_common.mqtt import make_client, publish_offline, publish_online
from service_common.status import HEARTBEAT_S

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_S = 5.0


class NotSent(RuntimeError):
    """The broker did not take a message: the operator is told, nothing is pretended."""


class Link:
    def __init__(self, settings, alarms, outputs, values, counters):
        self.settings = settings
        self.alarms, self.outputs, self.values = alarms, outputs, values
        self.counters = counters
        self.actions_root = "actions"
        self.clock = events.EventClock()
        self.client = make_client(settings)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="console-heartbeat",
                                           daemon=True)

    def start(self):
        self.client.connect_async(self.settings.host, self.settings.port,
                                  self.settings.keepalive)
        self.client.loop_start()
        self._heartbeat.start()

    def close(self):
        self._stop.set()
        if self.client.is_connected():
            publish_offline(self.client, self.settings)
        self.client.disconnect()
        self.client.loop_stop()

    def connected(self):
        return self.client.is_connected()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%s as %s", self.settings.host, self.settings.port,
                 self.settings.client_id)
        # Subscribed at every connect: a reconnect with a clean session loses them.
        topics = [self.alarms.subscription(), self.outputs.subscription(),
                  *self.values.subscriptions()]
        client.subscribe([(topic, 1) for topic in topics])
        publish_online(client, self.settings)

    def _on_message(self, client, userdata, message):
        topic = message.topic
        try:
            if topic.startswith(self.alarms.root + "/"):
                self.alarms.message(topic, message.payload)
            elif topic.startswith(self.outputs.root + "/"):
                self.outputs.message(topic, message.payload)
            else:
                self.values.message(topic, message.payload, bool(message.retain),
                                    time.time_ns() // 1_000_000)
        except Exception:  # noqa: BLE001 - one bad message must not stop the link
            log.exception("message on %s", topic)

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_S):
            if self.client.is_connected():
                publish_online(self.client, self.settings)

    def _publish(self, topic, document):
        if not self.client.is_connected():
            raise NotSent("the broker is not reachable: nothing was sent, try again")
        info = self.client.publish(topic, json.dumps(document, separators=(",", ":")), qos=1)
        try:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as error:
            raise NotSent(f"the broker did not take it ({error}): try again") from None
        if not info.is_published():
            raise NotSent("the broker did not confirm it in time: check before trying again")

    def alarm_topic(self, alarm, level):
        base = f"{self.settings.alerts_root}/{alarm.alert}"
        if alarm.device is not None:
            base += f"/{alarm.device}"
        return f"{base}/{level}/{self.settings.client_id}"

    def acknowledge(self, alarm, user):
        self._publish(self.alarm_topic(alarm, "ack"), {"by": user})

    def shelve(self, alarm, action, user, reason, until_ms=None):
        document = {"action": action, "by": user, "reason": reason}
        if until_ms is not None:
            document["until"] = until_ms
        self._publish(self.alarm_topic(alarm, "shelve"), document)

    def set_mode(self, output, mode, user, reason, value=None, until_ms=None):
        document = {"mode": mode, "by": user, "reason": reason, "until": until_ms}
        if value is not None:
            document["value"] = value
        self._publish(f"{self.actions_root}/{output.id}/mode/set", document)

    def journal(self, kind, subject, text="", by=None):
        """Journal one event on `journal/<client id>`; also logged, so none is silent."""
        event = self.clock.event(self.settings.client_id, kind, subject[:events.MAX_NAME],
                                 text[:events.MAX_TEXT], by[:events.MAX_NAME] if by else None)
        log.info("journal %s %s by %s: %s", kind, event.subject, by, event.text)
        if not self.client.is_connected():
            self.counters.add("journal_unsent")
            return
        self.client.publish(events.topic(self.settings.client_id), events.encode(event), qos=1)
