"""Acknowledgements from the boards' buttons: messages on `.../ack` queued by the network thread
and applied one at a time by a worker thread, each outcome counted (acks, ack_retained,
ack_bad_topic, ack_dropped, ack_unknown, ack_unpublished)."""

import logging
import queue
import threading

from webhook.annunciator import UnknownAlarm
from webhook.mqtt_link import BrokerUnavailable
from webhook.topics import device_problem, parse_ack_topic

log = logging.getLogger(__name__)

# Button presses waiting for the worker; beyond, they are dropped (counted).
ACK_QUEUE = 1000


class AckWorker:
    def __init__(self, root, acknowledge, count, wait_restored):
        """`acknowledge(alert, device, by)` applies a press (raising UnknownAlarm or
        BrokerUnavailable); `count(name)` counts; `wait_restored()` blocks until the state is
        restored (or gives up), called before each press is applied."""
        self.root = root
        self._acknowledge = acknowledge
        self._count = count
        self._wait_restored = wait_restored
        self._presses = queue.Queue(ACK_QUEUE)
        self._thread = threading.Thread(target=self._work, name="webhook-acks", daemon=True)

    def start(self):
        self._thread.start()

    def close(self, timeout):
        if self._thread.is_alive():
            self._presses.put(None)
            self._thread.join(timeout)

    def on_message(self, topic, payload, retain):
        """A message on `.../ack` (network thread: only queues it). Its payload names the
        board that sent it (`by`); anything else, or nothing, leaves `by` empty. A retained
        one is old (a press is never retained) and would come back at every connect."""
        if retain:
            self._count("ack_retained")
            return
        target = parse_ack_topic(topic, self.root)
        if target is None:
            self._count("ack_bad_topic")
            return
        try:
            by = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            by = ""
        by = by if by and device_problem(by) is None else None
        try:
            self._presses.put_nowait((*target, by))
        except queue.Full:
            self._count("ack_dropped")

    def _work(self):
        while True:
            press = self._presses.get()
            if press is None:
                return
            self._wait_restored()
            alert, device, by = press
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
