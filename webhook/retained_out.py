"""The alert state's retained topics as the broker holds them: the values it acknowledged, the
alerts whose topics may differ from those, the annunciator topics to delete; `publish` brings
the broker in line, the state document first."""

from webhook.mqtt_link import BrokerUnavailable
from webhook.state import changed


class RetainedTopics:
    def __init__(self, link, state_topic, count):
        """`count(name, amount)` counts published and publish_unacknowledged."""
        self.link = link
        self.state_topic = state_topic
        self._count = count
        self.published = {}  # topic -> value the broker acknowledged (str or bytes)
        self.dirty = set()  # alerts whose topics may differ from what the broker holds
        self.to_delete = {}  # annunciator topic -> b"": retained states to delete

    @property
    def pending(self):
        return bool(self.dirty or self.to_delete)

    def publish(self, desired, document, timeout):
        """Publish what differs from what the broker acknowledged: of `desired` ({topic: value}
        of the dirty alerts) and the state `document`. Returns the changed state topics (what
        the answer to Grafana lists); raises BrokerUnavailable when the broker did not
        acknowledge them all within `timeout` (those are then published again)."""
        changes = changed(desired, self.published)
        if self.published.get(self.state_topic) != document:
            # The document goes first: after a crash between the two, the restore finds the
            # new document and republishes the topics that lag behind it. Annunciator states
            # to delete go before it: the document that no longer holds them is their record.
            changes = {**self.to_delete, self.state_topic: document, **changes}
        self._publish(changes, timeout)
        self.dirty.clear()
        self.to_delete.clear()
        # The state topics, not the document or the details.
        return {t: v for t, v in changes.items()
                if t != self.state_topic and isinstance(v, str)}

    def _publish(self, changes, timeout):
        missing = set(self.link.publish_and_wait(list(changes.items()), timeout, retain=True))
        for topic, value in changes.items():
            if topic in missing:
                self.published.pop(topic, None)  # the broker's value is unknown
            else:
                self.published[topic] = value
        self._count("published", len(changes) - len(missing))
        if missing:
            self._count("publish_unacknowledged", len(missing))
            raise BrokerUnavailable(
                f"the broker did not acknowledge {len(missing)} of {len(changes)} publishes "
                f"within {timeout:g} s")
