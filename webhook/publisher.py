"""The alert state and its publication: notifications applied to the store, saved to the state
file (`state_file`, the truth) before the topics that changed are published retained at QoS 1
over the MQTT link (a cache of it), the state restored at start-up from that file. The alarm
journal (`journal_out`), the retained topics (`retained_out`), the store's bounds reported
(`store_bounds`) and the boards' acknowledgements (`ack_worker`) are its parts.

`init_app(app, publisher=None)` attaches one (a new one on the real broker when none is given);
the routes reach it through `get_publisher()`.
"""

import logging
import threading
import time

from flask import current_app

from service_common import journal
from service_common.journal import ACKED
from service_common.status import HEARTBEAT_S
from webhook.ack_worker import AckWorker
from webhook.annunciator import Transition, UnknownAlarm, active_instances
from webhook.counters import Counters
from webhook.info import info_values
from webhook.journal_out import Journal
from webhook.mqtt_link import BrokerUnavailable, MqttLink
from webhook.restore import restore, topics_to_read
from webhook.retained_out import RetainedTopics
from webhook.shelving import BadCommand, parse_command
from webhook.state import AlertStore
from webhook.state_file import StateFile, StateFileError
from webhook.store_bounds import BoundsReport
from webhook.topics import shelve_filters, state_topic

log = logging.getLogger(__name__)

EXTENSION = "alert_publisher"
# Seconds between attempts to publish the restored state before `online`: doubling up to the cap.
SYNC_RETRY_FIRST = 0.5
SYNC_RETRY_CAP = 30.0

__all__ = ["EXTENSION", "AlertPublisher", "BrokerUnavailable", "get_publisher",
           "get_publisher_of", "init_app"]


def init_app(app, publisher=None):
    """Attach `publisher`; without one, a new AlertPublisher on the configured broker, started."""
    if publisher is None:
        publisher = AlertPublisher(app.config["WEBHOOK"])
        publisher.start()
    app.extensions[EXTENSION] = publisher
    return publisher


def get_publisher():
    return get_publisher_of(current_app)


def get_publisher_of(app):
    return app.extensions[EXTENSION]


class StateNotSaved(BrokerUnavailable):
    """The state file could not be written: nothing is reported as done (answered 503)."""


class AlertPublisher:
    def __init__(self, config, link=None, counters=None):
        self.config = config
        self.root = config.mqtt.alerts_root
        self.state_topic = state_topic(self.root, config.mqtt.client_id)
        self.link = MqttLink(config.mqtt) if link is None else link
        self.counters = Counters() if counters is None else counters
        self.store = AlertStore(config.limits, config.known_alerts)
        self.clock = time.time
        self._bounds = BoundsReport(self.count, config)
        self._retained = RetainedTopics(self.link, self.state_topic, self.count)
        self._lock = threading.Lock()
        self._restored = threading.Event()
        self._closed = threading.Event()
        self._state_file = StateFile(config.state_dir)
        self._saved = None  # the document bytes last saved
        self._online = False  # `online` said since the last connect: the heartbeat repeats it
        self._heartbeat = threading.Thread(target=self._beat, name="webhook-heartbeat",
                                           daemon=True)
        self.annunciating = config.annunciator != "off"
        self._journal = Journal(journal.topic(self.root, config.mqtt.client_id),
                                self.publish_messages, self.count)
        self._ack_worker = AckWorker(self.root, self.acknowledge, self.count,
                                     lambda: self._restored.wait(config.publish_timeout),
                                     shelve=self.shelve)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self):
        """Restore from the state file (when there is one), then connect; raises StateFileError
        when the state folder cannot be read."""
        self._restore_from_file()
        if self.annunciating:
            self._ack_worker.start()
            self._ack_worker.subscribe(self.link)
            for topic_filter in shelve_filters(self.root, self._ack_worker.console_id):
                self.link.subscribe(topic_filter, self._ack_worker.on_shelve_message)
        self.link.start(self._on_connected)
        self._heartbeat.start()

    def close(self, timeout=2.0):
        self._closed.set()
        self.link.close(timeout)
        self._ack_worker.close(timeout)

    @property
    def connected(self):
        return self.link.connected

    @property
    def restored(self):
        return self._restored.is_set()

    @property
    def ready(self):
        return self.connected and self._restored.is_set()

    def count(self, name, amount=1):
        self.counters.count(name, amount)

    def counts_snapshot(self):
        return self.counters.snapshot()

    # --- requests --------------------------------------------------------------------------

    def apply(self, notification, timeout=None):
        """Apply a Notification and publish what changed; returns {topic: value} published.

        Raises BrokerUnavailable when the publishes were not all acknowledged within `timeout`;
        the topics concerned are then republished by the next request or sync.
        """
        timeout = self.config.publish_timeout if timeout is None else timeout
        with self._lock:
            self._require_ready()
            forgotten = self.store.forgotten
            alerts = self.store.apply(notification, self.clock())
            self._retained.dirty |= alerts
            self._bounds.report(self.store, forgotten)
            self._annunciate(alerts)
            self._save()
            published = self._publish_dirty(timeout)
            self._journal.publish(self.store.journal, timeout)
            return published

    def acknowledge(self, alert, device=None, by=None, timeout=None):
        """Acknowledge an alert (device None: all its instances) or one device's instance and
        publish what changed; returns the annunciator's transitions (none when there was
        nothing to acknowledge). Raises UnknownAlarm, or BrokerUnavailable like apply()."""
        timeout = self.config.publish_timeout if timeout is None else timeout
        with self._lock:
            if not self.annunciating:
                raise UnknownAlarm("the annunciator is off (WEBHOOK_ANNUNCIATOR=off)")
            self._require_ready()
            transitions = self.store.annunciator.acknowledge(alert, device, by)
            if transitions:
                self._record(transitions)
                self._retained.dirty.add(alert)
            self._save()
            # Also when nothing changed: a press repeated because the LED kept flashing
            # publishes what an earlier one could not.
            self._publish_dirty(timeout)
            self._journal.publish(self.store.journal, timeout)
            return transitions

    def shelve(self, alert, device, payload, by_prefix, timeout=None):
        """Apply the console's shelve command `payload` (JSON) to an alert (device None) or one
        device's instance, journal what the annunciator topics show differently, save, publish.
        Raises BadCommand (nothing changes) or BrokerUnavailable like apply()."""
        timeout = self.config.publish_timeout if timeout is None else timeout
        with self._lock:
            if not self.annunciating:
                raise BadCommand("the annunciator is off (WEBHOOK_ANNUNCIATOR=off)")
            self._require_ready()
            if not self.store.annunciator.known(alert, device):
                raise BadCommand(f"no alarm {alert}{'/' + device if device else ''} is known")
            now_ms = int(self.clock() * 1000)
            command = parse_command(payload, now_ms, self.config.shelve_max_s)
            by = f"{by_prefix}:{command.by}"
            before = self._shown(alert)
            if self.store.shelves.apply(alert, device, command, by):
                self._record(self._shown_changes(alert, before, by))
                self._retained.dirty.add(alert)
            self._save()
            self._publish_dirty(timeout)
            self._journal.publish(self.store.journal, timeout)

    def _expire_shelves(self):
        """Unshelve what expired (call with the lock held); returns the alerts concerned."""
        now_ms = int(self.clock() * 1000)
        alerts = {alert for (alert, _), shelf in self.store.shelves.shelves.items()
                  if shelf.until is not None and shelf.until <= now_ms}
        before = {alert: self._shown(alert) for alert in alerts}
        self.store.shelves.expired(now_ms)
        for alert in sorted(alerts):
            self._record(self._shown_changes(alert, before[alert], None))
            self._retained.dirty.add(alert)
        return alerts

    def _shown(self, alert):
        """{device or None: what its annunciator topic shows} for `alert`."""
        annunciator = self.store.annunciator
        return {device: annunciator.shown(alert, device, self.store.shelves)
                for device in annunciator.instances.get(alert, {None: None})}

    def _shown_changes(self, alert, before, by):
        after = self._shown(alert)
        return [Transition(alert, device, before[device], after[device], by)
                for device in sorted(after, key=lambda d: (d is None, d or ""))
                if device in before and before[device] != after[device]]

    def _record(self, transitions):
        """Journal `transitions` and note, for `.../info`, when each instance last changed and
        who acknowledged it."""
        self._journal.record(self.store.journal, transitions, self.clock())
        for transition in transitions:
            values = {"since": self._journal.last_ms}
            if transition.to_state == ACKED:
                values["acked_by"] = transition.by
            self.store.info.setdefault(transition.alert, {}).setdefault(
                transition.device or "", {}).update(values)

    def _require_ready(self):
        if not self.ready:
            raise BrokerUnavailable("not connected to the MQTT broker"
                                    if not self.connected else "state not restored yet")

    def publish_messages(self, messages, timeout=None):
        """Publish [(topic, payload bytes)] at QoS 1, not retained; return once the broker
        acknowledged all of them, else raise BrokerUnavailable."""
        timeout = self.config.publish_timeout if timeout is None else timeout
        missing = self.link.publish_and_wait(messages, timeout, retain=False)
        if missing:
            raise BrokerUnavailable(f"the broker did not acknowledge {len(missing)} of "
                                    f"{len(messages)} publishes within {timeout:g} s")

    def sync(self, timeout=None):
        """Publish whatever the broker may be missing (after a restore or a failed request);
        returns True when the broker has it all (nothing dirty, the journal empty)."""
        timeout = self.config.publish_timeout if timeout is None else timeout
        with self._lock:
            if self.ready and self.annunciating:
                self._expire_shelves()
            if self.ready and self._pending():
                try:
                    self._save()
                    self._publish_dirty(timeout)
                    self._journal.publish(self.store.journal, timeout)
                except BrokerUnavailable as error:
                    log.warning("could not republish the alert state: %s", error)
                    return False
            return not self._pending()

    def _pending(self):
        return bool(self._retained.pending or self.store.journal or self._saved is None)

    def _save(self):
        """Write the state document to the state file unless it holds it already (call with
        the lock held); raises StateNotSaved."""
        document = self.store.document_bytes(full=True)
        if document == self._saved:
            return
        try:
            self._state_file.save(document)
        except StateFileError as error:
            self.count("state_unsaved")
            log.error("%s", error)
            raise StateNotSaved(str(error)) from None
        self._saved = document

    def _restore_from_file(self):
        """The state as the file holds it: every topic is published again at the first connect
        (the broker's retained copies may be older). Without a file (a first start, or a
        webhook that kept its state only in the broker) the connect reads the broker's."""
        raw = self._state_file.load()
        if raw is None:
            log.info("no state file in %s: restoring from the broker's retained state",
                     self.config.state_dir)
            return
        retained = {self.state_topic: raw}
        restored = restore(retained, self.root, self.config.mqtt.client_id,
                           self.config.known_alerts, self.config.limits, self.clock())
        if restored.problems:
            for problem in restored.problems:
                log.error("state file %s: %s; restoring from the broker instead",
                          self._state_file.path, problem)
            return
        restored.published = {}
        restored.dirty = restored.store.known_alerts()
        self._adopt(restored, "the state file")
        self._saved = raw

    def _desired(self, alerts):
        """{topic: value} of `alerts`, annunciator topics first: the broker passes one client's
        messages on in order, so an indicator that follows both never shows the plain colour
        for an instant before the alarm state."""
        values = {}
        if self.annunciating:
            values.update(self.store.annunciator.topic_values(alerts, self.root,
                                                              self.store.shelves))
        values.update(self.store.topic_values(alerts, self.root))
        if self.annunciating:
            values.update(info_values(self.store, alerts, self.root))
        return values

    def _annunciate(self, alerts):
        """Fire or clear the annunciator's instances of `alerts` after a state change, and
        forget those the store forgot."""
        if not self.annunciating:
            return
        for alert in sorted(alerts):
            active = active_instances(self.store.firing.get(alert, {}),
                                      self.store.devices.get(alert, ()))
            self._record(self.store.annunciator.update(alert, active))
        dropped = self.store.annunciator.forget(
            {alert: set(self.store.devices.get(alert, ())) for alert in self.store.known_alerts()},
            self.config.state_max_entries)
        if dropped:
            self.count("annunciator_forgotten", dropped)

    def _publish_dirty(self, timeout):
        return self._retained.publish(self._desired(self._retained.dirty),
                                      self.store.document_bytes(), timeout)

    # --- connection events -------------------------------------------------------------------

    def _on_connected(self):
        """At every connect (network thread): restore first; after a reconnect publish every
        topic again (the broker may have restarted without its latest retained values)."""
        self._online = False
        if not self._restored.is_set():
            self.link.read_retained(
                topics_to_read(self.root, self.config.mqtt.client_id, self.config.known_alerts),
                self._finish_restore)
        else:
            self._in_background(self._republish_everything)

    def _finish_restore(self, retained):
        restored = restore(retained, self.root, self.config.mqtt.client_id,
                           self.config.known_alerts, self.config.limits, self.clock())
        for problem in restored.problems:
            log.warning("%s", problem)
        self._adopt(restored, "the broker")
        self._in_background(self._sync_then_online)

    def _adopt(self, restored, source):
        with self._lock:
            self.store = restored.store
            self._retained.published, self._retained.dirty = restored.published, restored.dirty
            if self.annunciating:
                # The annunciator topics are not read back: publish them all again, and bring
                # the annunciator in line with the restored alerts (an older webhook's document
                # has no annunciator states: its firing alerts become unacked).
                self.store.annunciator.sequence = self.config.annunciator
                self._annunciate(self.store.known_alerts())
                self._retained.dirty |= self.store.known_alerts()
            elif self.store.annunciator.instances:
                self._drop_annunciator_states()
        firing = sum(len(i) for i in restored.store.firing.values())
        log.info("alert state restored from %s: %d alerts, %d firing instances", source,
                 len(restored.store.known_alerts()), firing)
        self._restored.set()

    def _drop_annunciator_states(self):
        """The annunciator is off but an earlier run left its states: delete their retained
        topics (an empty retained payload), which indicators would keep obeying, and forget
        them."""
        annunciator = self.store.annunciator
        self._retained.to_delete = dict.fromkeys(
            annunciator.topic_values(annunciator.instances, self.root), b"")
        annunciator.instances = {}
        log.info("annunciator off: deleting %d retained annunciator topics",
                 len(self._retained.to_delete))

    def _republish_everything(self):
        with self._lock:
            self._retained.published = {}
            self._retained.dirty |= self.store.known_alerts()
        self._sync_then_online()

    def _sync_then_online(self):
        """`online` on status/<client id> only once the state is restored and the broker took
        all of it: until then, retry with a growing pause. A disconnect ends the attempts (the
        reconnect starts new ones)."""
        delay = SYNC_RETRY_FIRST
        while self.connected and not self._closed.is_set():
            if self.sync():
                if self.connected:
                    self.link.publish_online()
                    self._online = True
                return
            if self._closed.wait(delay):
                return
            delay = min(delay * 2, SYNC_RETRY_CAP)

    def _beat(self):
        """`online` again every HEARTBEAT_S while it holds: followers trust only a live one
        (service_common.status), never the copy a broker reloads after a power cut."""
        while not self._closed.wait(HEARTBEAT_S):
            if self._online and self.connected:
                self.link.publish_online()

    @staticmethod
    def _in_background(work):
        threading.Thread(target=work, name="webhook-sync", daemon=True).start()
