"""Acknowledgements over MQTT: messages on the ack topics checked and queued by the network thread
and applied one at a time by a worker thread, each outcome counted (acks, ack_retained,
ack_bad_topic, ack_dropped, ack_rate_limited, ack_flood_paused, ack_flood_dropped, ack_unknown,
ack_unpublished).

A board acknowledges on `alerts/<alert>[/<device>]/ack/<its id>`: the broker's ACL lets it write
only under its own id, so that id is who acknowledged. The console sends `.../ack/<console id>`
with `{"by": "<operator>"}`, journaled as `console:<operator>`. The old `.../ack` (the payload
names the board, unchecked) is still read for one release. The boards' acks are rate-limited
and a flood pauses them (`ack_guard`); the console's never are.
"""

import json
import logging
import queue
import threading
import time

from service_common import service_ids
from webhook.ack_guard import FLOOD_PAUSE_S, AckGuard
from webhook.annunciator import UnknownAlarm
from webhook.mqtt_link import BrokerUnavailable
from webhook.shelving import BadCommand
from webhook.topics import (
    ack_filters,
    device_problem,
    old_ack_filters,
    parse_ack_topic,
    parse_shelve_topic,
)

log = logging.getLogger(__name__)

# Acknowledgements waiting for the worker; beyond, they are dropped (counted).
ACK_QUEUE = 1000
OLD_TOPIC = "(old ack topic)"  # the rate bucket shared by every ack on the old topics
MAX_OPERATOR_CHARS = 64


class AckWorker:
    def __init__(self, root, acknowledge, count, wait_restored, console_id=service_ids.CONSOLE,
                 clock=time.monotonic, shelve=None):
        """`acknowledge(alert, device, by)` applies a press (raising UnknownAlarm or
        BrokerUnavailable); `count(name)` counts; `wait_restored()` blocks until the state is
        restored (or gives up), called before each press is applied."""
        self.root = root
        self.console_id = console_id
        self._acknowledge = acknowledge
        self._shelve = shelve
        self._count = count
        self._wait_restored = wait_restored
        self._clock = clock
        self._guard = AckGuard()
        self._paused = False
        self._resume_timer = None
        self._link = None
        self._presses = queue.Queue(ACK_QUEUE)
        self._thread = threading.Thread(target=self._work, name="webhook-acks", daemon=True)

    @property
    def board_filters(self):
        return [*ack_filters(self.root), *old_ack_filters(self.root)]

    def subscribe(self, link):
        """Subscribe `link` to the ack topics: the boards' (paused in a flood), the console's."""
        self._link = link
        for topic_filter in self.board_filters:
            link.subscribe(topic_filter, self.on_message)
        for topic_filter in ack_filters(self.root, self.console_id):
            link.subscribe(topic_filter, self.on_console_message)

    def start(self):
        self._thread.start()

    def close(self, timeout):
        if self._resume_timer is not None:
            self._resume_timer.cancel()
        if self._thread.is_alive():
            self._presses.put(None)
            self._thread.join(timeout)

    def on_message(self, topic, payload, retain):
        """A message on a board's ack topic (network thread: only checks and queues it). A
        retained one is old (a press is never retained) and would come back at every connect."""
        if retain:
            self._count("ack_retained")
            return
        target = parse_ack_topic(topic, self.root)
        if target is not None and target[2] == self.console_id:
            return  # on_console_message has it
        now = self._clock()
        if self._paused:
            self._count("ack_flood_dropped")
            return
        if self._guard.flooded(now):
            self._count("ack_flood_dropped")
            self._pause(topic)
            return
        if target is None:
            self._count("ack_bad_topic")
            return
        alert, device, sender = target
        if sender is None:
            by, bucket = _old_by(payload), OLD_TOPIC
        else:
            by = bucket = sender
        if not self._guard.allow(bucket, now):
            self._count("ack_rate_limited")
            return
        self._queue(alert, device, by)

    def on_console_message(self, topic, payload, retain):
        """The console's acknowledgement: its payload's `by` names the operator."""
        if retain:
            self._count("ack_retained")
            return
        target = parse_ack_topic(topic, self.root)
        if target is None or target[2] != self.console_id:
            self._count("ack_bad_topic")
            return
        alert, device, _ = target
        self._queue(alert, device, _console_by(self.console_id, payload))

    def on_shelve_message(self, topic, payload, retain):
        """The console's shelve command (network thread: only queues it)."""
        if retain:
            self._count("shelve_refused")
            return
        target = parse_shelve_topic(topic, self.root)
        if target is None or target[2] != self.console_id:
            self._count("shelve_refused")
            return
        try:
            self._presses.put_nowait(("shelve", target[0], target[1], payload))
        except queue.Full:
            self._count("ack_dropped")

    def _queue(self, alert, device, by):
        try:
            self._presses.put_nowait(("ack", alert, device, by))
        except queue.Full:
            self._count("ack_dropped")

    def _pause(self, topic):
        """A flood: stop the broker sending the boards' acks for FLOOD_PAUSE_S."""
        self._paused = True
        self._count("ack_flood_paused")
        log.warning("acknowledgement flood (more than %d a second, e.g. on %s): the boards' "
                    "ack topics are unsubscribed for %g s", self._guard.flood_per_s, topic,
                    FLOOD_PAUSE_S)
        if self._link is not None:
            self._link.unsubscribe(self.board_filters)
        self._resume_timer = threading.Timer(FLOOD_PAUSE_S, self._resume)
        self._resume_timer.daemon = True
        self._resume_timer.start()

    def _resume(self):
        self._guard.reset_flood()
        self._paused = False
        if self._link is not None:
            self._link.resubscribe(self.board_filters)

    def _work(self):
        while True:
            press = self._presses.get()
            if press is None:
                return
            self._wait_restored()
            kind, alert, device, detail = press
            if kind == "shelve":
                self._apply_shelve(alert, device, detail)
                continue
            by = detail
            try:
                self._acknowledge(alert, device, by)
                self._count("acks")
            except UnknownAlarm as error:
                self._count("ack_unknown")
                log.debug("ignoring an acknowledgement: %s", error)
            except BrokerUnavailable as error:
                self._count("ack_unpublished")
                log.warning("acknowledgement of %s%s not yet published: %s", alert,
                            f"/{device}" if device else "", error)
            except Exception:  # noqa: BLE001 - the worker must outlive a bug
                log.exception("could not handle an acknowledgement")


    def _apply_shelve(self, alert, device, payload):
        try:
            self._shelve(alert, device, payload, self.console_id)
            self._count("shelve_commands")
        except BadCommand as error:
            self._count("shelve_refused")
            log.warning("shelve command for %s%s refused: %s", alert,
                        f"/{device}" if device else "", error)
        except BrokerUnavailable as error:
            self._count("ack_unpublished")
            log.warning("shelve command for %s not yet published: %s", alert, error)
        except Exception:  # noqa: BLE001 - the worker must outlive a bug
            log.exception("could not handle a shelve command")


def _old_by(payload):
    """The board an old-topic press names in its payload (unchecked), or None."""
    try:
        by = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return by if by and device_problem(by) is None else None


def _console_by(console_id, payload):
    """`console:<operator>` from the console's JSON payload, or the console's id alone."""
    try:
        user = json.loads(payload).get("by")
    except (ValueError, AttributeError, RecursionError):
        user = None
    if isinstance(user, str) and 0 < len(user) <= MAX_OPERATOR_CHARS and user.isprintable():
        return f"{console_id}:{user}"
    return console_id
