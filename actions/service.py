"""The actions service: one MQTT connection, one worker thread that owns the rule state.

Paho's network thread only queues what arrives; the worker turns messages into rule events,
runs `rules.step`, and carries out the effects: commands to the devices, journal entries,
`actions/<id>/state` (retained), readings of the outputs' history, and the modes on disk.
"""

import json
import logging
import queue
import socket
import threading
import time
from pathlib import Path

from actions import rules
from actions.kinds import make_kind
from actions.store import Store
from service_common import events
from service_common import mqtt as common_mqtt
from service_common.status import HEARTBEAT_S, Liveness

log = logging.getLogger(__name__)

MODE_NUMBERS = {rules.AUTO: 0, rules.HAND: 1, rules.OFF_MODE: 2, rules.FAILSAFE: 3}
UNKNOWN_NUMBER = -1  # reported unknown, as a reading
READINGS = ("output_commanded", "output_reported", "output_mode", "output_mismatch",
            "output_available", "output_refusals")
_SUBSCRIBED = object()
COUNTERS = ("override_refused", "device_unreadable")


def _no_delay(client):
    """Commands go out at once: without TCP_NODELAY (paho does not set it) a command written
    right after the PUBACK of the alert that caused it waits for the broker's delayed ACK
    (about 40 ms, Nagle's algorithm)."""
    sock = client.socket()
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as error:
            log.warning("cannot set TCP_NODELAY: %s", error)


def state_topic(output_id):
    return f"actions/{output_id}/state"


MODE_SET_FILTER = "actions/+/mode/set"


def _as_number(value):
    if value == rules.ON:
        return 1.0
    if value == rules.OFF:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


def readings(document):
    """{measurement: number} of one output's state document (InfluxDB stores them)."""
    values = {
        "output_commanded": _as_number(document["commanded"]),
        "output_reported": _as_number(document["reported"]),
        "output_mode": float(MODE_NUMBERS[document["mode"]]),
        "output_mismatch": float(document["mismatch"]),
        "output_available": float(document["available"]),
        "output_refusals": float(document["refusals"]),
    }
    if values["output_reported"] is None:
        values["output_reported"] = float(UNKNOWN_NUMBER)
    return {name: value for name, value in values.items() if value is not None}


class ActionsService:
    def __init__(self, settings, clock=time.time, monotonic=time.monotonic):
        self.settings = settings
        self.outputs = settings.outputs
        self.kinds = {output.id: make_kind(output, settings.mqtt) for output in self.outputs}
        self.store = Store(settings.state_dir)
        self._clock, self._monotonic = clock, monotonic
        self.liveness = Liveness(clock=monotonic)
        self.events = events.EventClock()
        self.queue = queue.Queue()
        self.world = None
        self._routes = {}
        for topic in {t for output in self.outputs for t in output.alarm_topics}:
            self._routes.setdefault(topic, []).append(("alarm", None))
            summary = rules.summary_topic(topic)
            if summary and ("alarm", None) not in self._routes.get(summary, []):
                self._routes.setdefault(summary, []).append(("alarm", None))
        for output_id, kind in self.kinds.items():
            for topic in kind.subscriptions():
                self._routes.setdefault(topic, []).append(("device", output_id))
        self._published = {}
        self._readings_at = {}
        # Bad inputs, counted and published as readings sensors/<client id>/<name>.
        self.counters = dict.fromkeys(COUNTERS, 0)
        self._warned = set()
        self._connected_at = None
        self._last_heartbeat = 0.0
        self._stop = threading.Event()
        self._thread = None
        self.client = common_mqtt.make_client(settings.mqtt, clean_session=True)
        self.client.max_queued_messages_set(10_000)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    # paho callbacks (network thread): queue and return

    def subscriptions(self):
        topics = set(self._routes) | {MODE_SET_FILTER, self.settings.webhook_status_topic}
        return sorted(topics)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        _no_delay(client)
        common_mqtt.publish_online(client, self.settings.mqtt)
        client.subscribe([(topic, 1) for topic in self.subscriptions()])
        log.info("connected to %s:%s as %s", self.settings.mqtt.host, self.settings.mqtt.port,
                 self.settings.mqtt.client_id)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.queue.put(_SUBSCRIBED)

    def _on_message(self, client, userdata, message):
        self.queue.put((message.topic, message.payload, bool(message.retain)))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting", reason_code)

    # life cycle

    def start(self):
        self.world = rules.initial_world(self.outputs, self.store.load())
        self.client.connect_async(self.settings.mqtt.host, self.settings.mqtt.port,
                                  keepalive=self.settings.mqtt.keepalive)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="actions", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self.client.is_connected():
            common_mqtt.publish_offline(self.client, self.settings.mqtt)
        self.client.disconnect()
        self.client.loop_stop()

    def _run(self):
        while not self._stop.is_set():
            try:
                item = self.queue.get(timeout=self.settings.tick_s)
            except queue.Empty:
                item = None
            try:
                self._handle(item)
                self._tick()
            except Exception:  # noqa: BLE001 - one bad message must not stop the outputs
                log.exception("error while handling %r", item if item is not _SUBSCRIBED else
                              "subscribed")

    # the worker

    def _apply(self, event):
        self.world, effects = rules.step(self.outputs, self.world, event, self._clock())
        if not isinstance(event, rules.Tick) or effects:
            self._persist()  # an override is on disk before it acts (writes only on a change)
        for effect in effects:
            if isinstance(effect, rules.Command):
                for message in self.kinds[effect.output_id].command(effect.value):
                    self.client.publish(message.topic, message.payload, message.qos,
                                        message.retain)
            else:
                self._journal(effect)
        if effects or not isinstance(event, rules.Tick):
            self._publish_states()

    def _journal(self, entry):
        by = entry.by[:events.MAX_NAME] if entry.by else None
        event = self.events.event(self.settings.mqtt.client_id, entry.kind,
                                  entry.subject[:events.MAX_NAME], entry.text[:events.MAX_TEXT], by)
        self.client.publish(events.topic(self.settings.mqtt.client_id), events.encode(event), 1)
        log.info("%s %s: %s%s", entry.kind, entry.subject, entry.text,
                 f" (by {entry.by})" if entry.by else "")

    def _handle(self, item):
        if item is None:
            return
        if item is _SUBSCRIBED:
            if self._connected_at is not None:  # a reconnection: the retained state follows
                self._apply(rules.Resync())
            self._connected_at = self._monotonic()
            for kind in self.kinds.values():
                for message in kind.query():
                    self.client.publish(message.topic, message.payload, message.qos)
            return
        topic, payload, retained = item
        if topic == self.settings.webhook_status_topic:
            self.liveness.seen(payload, retained)
        parts = topic.split("/")
        if len(parts) == 4 and parts[0] == "actions" and parts[2:] == ["mode", "set"]:
            self._mode_request(parts[1], payload, retained)
        for route, output_id in self._routes.get(topic, ()):
            if route == "alarm":
                text = payload.decode("utf-8", "replace").strip()
                self._apply(rules.Alarm(topic, text or None))
                continue
            kind = self.kinds[output_id]
            available = kind.available(topic, payload)
            if available is not None:
                self._apply(rules.Available(output_id, available))
            value = kind.reported(topic, payload)
            if value == rules.UNKNOWN and payload:
                self._count("device_unreadable", f"{topic}: {payload[:40]!r} is no state of "
                                                  f"output {output_id}")
            if value is not None:
                self._apply(rules.Reported(output_id, value))

    def _mode_request(self, output_id, payload, retained):
        if retained:
            self._count("override_refused", f"a retained override on actions/{output_id}/"
                                            "mode/set: overrides are never retained")
            return
        request = rules.parse_mode_request(payload, self._clock())
        if isinstance(request, str):
            self._count("override_refused", f"actions/{output_id}/mode/set: {request}")
            self._journal(rules.Journal("refusal", output_id, f"bad override: {request}"))
            return
        if output_id not in self.kinds:
            self._count("override_refused", f"actions/{output_id}/mode/set: no such output")
        self._apply(rules.ModeRequest(output_id, request))

    def _count(self, name, reason):
        """Count a bad input; log the first of each kind and topic."""
        self.counters[name] += 1
        key = (name, reason.split(":", 1)[0])
        if key not in self._warned and len(self._warned) < 1000:
            self._warned.add(key)
            log.warning("%s (counted in %s; further ones are only counted)", reason, name)

    def _tick(self):
        now = self._monotonic()
        if self.client.is_connected() and now - self._last_heartbeat >= HEARTBEAT_S:
            common_mqtt.publish_online(self.client, self.settings.mqtt)
            self._last_heartbeat = now
            self._touch_heartbeat()
        live = self.liveness.live()
        if live != self.world.webhook_live:
            self._apply(rules.Webhook(live))
        if not self.world.started and self._grace_over(now):
            restored = {key: value.get("commanded") for key, value in self.store.load().items()}
            self._apply(rules.Started(restored))
        self._apply(rules.Tick())
        self._publish_readings(force=False)

    def _grace_over(self, now):
        """Start-up: wait for the webhook's liveness, the retained alarm topics and every
        confirmed output's state (or its absence), at most grace_s after subscribing."""
        if self._connected_at is None:
            return False
        if now - self._connected_at >= self.settings.grace_s:
            return True
        world = self.world
        topics = all(rules.alarm_value(world, t) is not None
                     for o in self.outputs for t in o.alarm_topics)
        devices = all(o.optimistic or world.outputs[o.id].reported != rules.UNKNOWN
                      for o in self.outputs)
        return world.webhook_live and topics and devices

    def _touch_heartbeat(self):
        path = Path(self.settings.heartbeat)
        try:
            path.touch()
        except OSError as error:
            log.warning("cannot touch the heartbeat file %s: %s", path, error)

    def _persist(self):
        """Modes and overrides on disk (fsynced) when they change. The last command only for
        optimistic outputs: a confirmed output is reconciled from its device after a restart,
        so a switch costs no fsync."""
        saved = {}
        for output in self.outputs:
            state = self.world.outputs[output.id]
            saved[output.id] = {"mode": state.mode, "override": state.override}
            if output.optimistic:
                saved[output.id]["commanded"] = state.commanded
        self.store.save(saved)

    def documents(self):
        return {output.id: rules.state_document(output, self.world.outputs[output.id])
                for output in self.outputs}

    def _publish_states(self):
        if not self.world.started:
            return
        for output_id, document in self.documents().items():
            if self._published.get(output_id) != document:
                self.client.publish(state_topic(output_id), json.dumps(document).encode(), 1,
                                    retain=True)
                self._published[output_id] = document
                self._publish_readings_of(output_id, document)

    def _publish_readings(self, force):
        now = self._monotonic()
        if now - self._readings_at.get(None, 0.0) >= self.settings.readings_interval_s:
            self._readings_at[None] = now
            root, me = self.settings.mqtt.sensors_root, self.settings.mqtt.client_id
            for name, value in self.counters.items():
                self.client.publish(f"{root}/{me}/{name}", str(value).encode(), 1)
        if not self.world.started:
            return
        for output_id, document in self.documents().items():
            if force or now - self._readings_at.get(output_id, 0.0) >= \
                    self.settings.readings_interval_s:
                self._publish_readings_of(output_id, document)

    def _publish_readings_of(self, output_id, document):
        self._readings_at[output_id] = self._monotonic()
        root = self.settings.mqtt.sensors_root
        for name, value in readings(document).items():
            self.client.publish(f"{root}/{output_id}/{name}", f"{value:g}".encode(), 1)
