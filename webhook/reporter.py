"""Every stats interval: the alert publishes the broker has not taken tried again, the webhook's
counters published as ordinary readings, QoS 1, on `sensors/<client id>/<counter>` (so the
listener stores them: measurement = counter, tag device = client id), and the refusal log line."""

import logging
import threading

from webhook.mqtt_link import BrokerUnavailable
from webhook.topics import counter_topic

log = logging.getLogger(__name__)

EXTENSION = "reporter"

# The webhook's own counters, published from 0 so the dashboard has a series before the first.
COUNTERS = (
    "requests",  # POST /alert requests that passed basic auth
    "notifications",  # notifications applied and published
    "unauthorized",  # 401: missing or wrong credentials
    "bad_signature",  # 401: missing, wrong or stale HMAC signature
    "malformed_json",  # 400
    "too_large",  # 413
    "not_a_notification",  # 422
    "broker_unavailable",  # 503
    "ignored_alerts",  # test and DatasourceNoData/Error alerts, acknowledged only
    "rejected_alerts",  # malformed alerts inside a valid notification
    "warnings",  # e.g. a device label that cannot be a topic level
    "published",  # retained alert publishes the broker acknowledged
    "publish_unacknowledged",  # retained alert publishes it did not acknowledge in time
    "state_forgotten",  # devices and alerts forgotten (resolved long ago, or over the cap)
    "state_full",  # new firing instances not kept: WEBHOOK_STATE_MAX_ENTRIES reached
    "state_unsaved",  # the state file could not be written (answered 503)
    "resolved_by_omission",  # firing instances a whole-state notification left out (silenced?)
    "stale_updates",  # updates older than the state held (replayed or late), ignored
    # The annunciator (docs/annunciator.md):
    "acks",  # acknowledgements applied, from a board's button or POST /ack
    "ack_unknown",  # for an alert or device never seen (or the annunciator off)
    "ack_bad_topic",  # on a topic that names no alert
    "ack_retained",  # retained on an ack topic (old, never a press): ignored
    "ack_dropped",  # button presses beyond the ones waiting (ACK_QUEUE)
    "ack_unpublished",  # applied, but the broker did not take the new state in time
    "ack_requests",  # POST /ack requests
    "ack_refused_disabled",  # 404: ACK_USERNAME / ACK_PASSWORD not set
    "ack_refused_unauthorized",  # 401
    "ack_refused_unknown",  # 404: an alert or device never seen, or the annunciator off
    "ack_refused_broker_unavailable",  # 503
    "journal_dropped",  # journal entries the broker did not take, beyond JOURNAL_LIMIT
    "annunciator_forgotten",  # unacknowledged instances of forgotten devices, over the cap
    "shelve_commands",  # the console's shelve / out-of-service commands applied
    "shelve_refused",  # shelve commands refused (bad JSON, unknown alarm, retained, wrong sender)
    "ack_rate_limited",  # a sender's acknowledgements beyond its rate (webhook/ack_guard.py)
    "ack_flood_paused",  # floods that paused the boards' ack topics
    "ack_flood_dropped",  # acknowledgements arriving in a flood or during its pause
)


class Reporter:
    def __init__(self, config, publisher, refusals):
        self.config, self.publisher, self.refusals = config, publisher, refusals
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-reporter", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.config.publish_timeout + 1)

    def _run(self):
        while not self._stop.wait(self.config.stats_interval):
            self.report_once()

    def report_once(self):
        self.publisher.sync()  # retries a publish that timed out while connected
        self.refusals.flush()
        counts = {**dict.fromkeys(COUNTERS, 0), **self.publisher.counts_snapshot()}
        mqtt = self.config.mqtt
        messages = [(counter_topic(mqtt.sensors_root, mqtt.client_id, name), str(value).encode())
                    for name, value in sorted(counts.items())]
        try:
            self.publisher.publish_messages(messages)
        except BrokerUnavailable as error:
            log.debug("counters not published: %s", error)
