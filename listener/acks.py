"""The PUBACKs of a stored batch, sent as one write.

paho's `Client.ack(mid, 1)` queues one packet per message and wakes the network thread through
its socket pair each time, and the network thread then sends each PUBACK with its own `send()`:
two system calls and a thread wake-up per reading, paid from the writer thread. A batch's
PUBACKs are only 4 bytes each, so they go out together: one queued packet, one wake-up and
one `send()` for the whole batch, in the order of `mids`.
"""

import struct

PUBACK = 0x40
_PUBACK = struct.Struct("!BBH")  # fixed header (PUBACK, remaining length 2), packet id


def puback_bytes(mids):
    pack = _PUBACK.pack
    return b"".join([pack(PUBACK, 2, mid) for mid in mids])


def send_pubacks(client, mids):
    """Acknowledge the QoS 1 messages `mids` of `client` (a paho 2.x Client with manual_ack)
    with one write. paho has no public call for several acknowledgements: this queues them as
    one packet through `_packet_queue`, which `Client.ack` itself ends in."""
    if mids:
        client._packet_queue(PUBACK, puback_bytes(mids), 0, 1)
