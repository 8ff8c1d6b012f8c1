"""Fakes behind the listener's seams: an InfluxDB that takes or refuses writes, a paho client that
records its acknowledgements, and MQTT messages as paho hands them over."""

import paho.mqtt.client as mqtt

from listener.store import MemoryStore
from service_common.mqtt import make_client


class FakeInflux(MemoryStore):
    """The listener's in-memory store (listener.store.MemoryStore) with faults on demand: each
    write fails with `failure`, or has `refuse` points refused; set-up fails with
    `setup_failure`; `database_there` is what exists() says."""

    def __init__(self):
        super().__init__()
        self.failure = None
        self.refuse = 0
        self.attempts = 0
        self.setup_failure = None
        self.database_there = True

    def prepare(self, retention, downsample_retention, downsample_interval):
        if self.setup_failure:
            raise self.setup_failure
        super().prepare(retention, downsample_retention, downsample_interval)

    def exists(self):
        return self.database_there

    def write(self, data, points):
        self.attempts += 1
        if self.failure:
            raise self.failure
        super().write(data, points)
        return self.refuse


class RecordingClient(mqtt.Client):
    """A real paho client, never connected, that records its acknowledgements."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.acked = []

    def ack(self, mid, qos):
        self.acked.append(mid)

    def _packet_queue(self, command, packet, mid, qos, info=None):
        """PUBACKs queued as one packet (listener.acks): record their message ids."""
        assert command == 0x40 and len(packet) % 4 == 0
        self.acked += [int.from_bytes(packet[i + 2:i + 4], "big") for i in range(0, len(packet), 4)
                       if packet[i:i + 2] == b"\x40\x02"]


def recording_client(settings, clean_session, manual_ack=False):
    client = make_client(settings, clean_session=clean_session, manual_ack=manual_ack)
    client.__class__ = RecordingClient
    client.acked = []
    return client


def message(topic, payload, mid, qos=1, retain=False):
    msg = mqtt.MQTTMessage(mid, topic.encode())
    msg.payload, msg.qos, msg.retain = payload, qos, retain
    return msg
