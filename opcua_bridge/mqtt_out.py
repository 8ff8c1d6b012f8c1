"""Readings into the broker, QoS 1, in order, through outages.

paho keeps every QoS 1 message until its PUBACK and sends the queued ones in order after a
reconnect; `max_queued_messages_set` bounds that queue, which is the bridge's buffer. A publish
that finds it full is a dropped reading (counted).
"""

import logging
import threading
import time

import paho.mqtt.client as mqtt

from opcua_bridge.replay import ReplayBuffer, lost_state, parse_marker, replay_from
from service_common.mqtt import ONLINE, make_client, publish_offline

MARKER_WAIT_S = 2.0   # after subscribing: no retained marker by then means the broker has none

log = logging.getLogger(__name__)


class MqttOut:
    def __init__(self, settings, buffer_size, max_inflight=100, replay_size=0,
                 replay_delay=0.0):
        self.settings = settings
        self.buffer_size = buffer_size
        self.client = make_client(settings, max_inflight=max_inflight)
        # The buffer holds readings plus the few status and counter messages.
        self.client.max_queued_messages_set(buffer_size)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self.submitted = 0
        self.acked = 0
        self.on_write = None   # (device, measurement, payload, retained), in paho's thread
        self.write_topic = f"opcua/{settings.client_id}/write/+/+"
        self.client.on_message = self._on_message
        self.marker_topic = f"opcua/{settings.client_id}/marker"
        self.replay = ReplayBuffer(replay_size) if replay_size else None
        self.replay_delay = replay_delay
        self.replayed = 0
        self.marker_sent = None    # the newest marker published (epoch ms)
        self._marker_timer = None

    def start(self):
        self.client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive)
        self.client.loop_start()
        return self

    def stop(self, drain_timeout=5.0):
        """Wait a little for what is buffered to be acknowledged, say offline, disconnect."""
        if self.client.is_connected():
            deadline = threading.Event()
            for _ in range(int(drain_timeout * 20)):
                if self.buffered == 0:
                    break
                deadline.wait(0.05)
            publish_offline(self.client, self.settings)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self):
        return self.client.is_connected()

    @property
    def buffered(self):
        """Messages handed to paho and not acknowledged yet."""
        with self._lock:
            return max(0, self.submitted - self.acked)

    def publish(self, topic, payload, retain=False, replayable=False):
        """Queue one QoS 1 message; False when the buffer is full (nothing was queued).
        A replayable one (a reading) is kept in the replay buffer."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            return False
        with self._lock:
            self.submitted += 1
        if replayable and self.replay is not None:
            self.replay.add(time.time_ns() // 1_000_000, topic, payload)
        return True

    def refresh_marker(self):
        """Publish the retained marker (epoch ms) while connected and not checking it."""
        if self.replay is None or not self.connected or self._marker_timer is not None:
            return
        now = time.time_ns() // 1_000_000
        # QoS 0: paho never re-sends it after a reconnect, where it would overwrite the older
        # marker a restarted broker gives back, before the bridge reads it.
        info = self.client.publish(self.marker_topic, str(now).encode(), qos=0, retain=True)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.marker_sent = now

    def _check_marker(self, retained):
        """At (re)connect: the broker's marker against ours; replay what it may have lost."""
        with self._lock:
            timer, self._marker_timer = self._marker_timer, None
        if timer is None:
            return   # already decided for this connection
        timer.cancel()
        since = replay_from(self.marker_sent, retained)
        if since is not None:
            lost = lost_state(self.marker_sent, retained)
            log.log(logging.WARNING if lost else logging.INFO,
                    "%s (marker %s, ours %s): replaying the readings sent since then in %.0f s",
                    "the broker lost its state" if lost else "reconnected", retained,
                    self.marker_sent, self.replay_delay)
            replay = threading.Timer(self.replay_delay, self._replay, args=(since,))
            replay.daemon = True
            replay.start()
        self.refresh_marker()

    def _replay(self, since):
        entries = self.replay.since(since)
        for topic, payload in entries:
            if self.publish(topic, payload):
                self.replayed += 1
        log.info("replayed %d readings", len(entries))

    def publish_counters(self, values, ts_ms):
        """The service counters as readings; skipped while the broker is away (they are not
        worth buffer room, and the next interval carries the totals)."""
        if not self.connected:
            return
        root = f"{self.settings.sensors_root}/{self.settings.client_id}"
        for name, value in values.items():
            self.publish(f"{root}/{name}", b'{"value":%d,"ts":%d}' % (value, ts_ms))

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        log.info("connected to the broker at %s:%d", self.settings.host, self.settings.port)
        self.publish(self.settings.status_topic, ONLINE, retain=True)
        if self.on_write is not None:
            client.subscribe(self.write_topic, qos=1)
        if self.replay is not None:
            if self._marker_timer is not None:
                self._marker_timer.cancel()
            self._marker_timer = threading.Timer(MARKER_WAIT_S, self._check_marker, args=(None,))
            self._marker_timer.daemon = True
            client.subscribe(self.marker_topic, qos=1)
            self._marker_timer.start()

    def _on_message(self, client, userdata, message):
        if message.topic == self.marker_topic:
            if message.retain:
                self._check_marker(parse_marker(message.payload))
            return
        levels = message.topic.split("/")
        if self.on_write is not None and len(levels) == 5:
            self.on_write(levels[3], levels[4], message.payload, bool(message.retain))
    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("broker connection lost (%s); buffering readings", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._lock:
            self.acked += 1
