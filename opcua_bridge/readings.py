"""From an OPC UA data change to a reading: pure functions, no I/O."""

import json
import math
from datetime import UTC, datetime

GOOD, BAD_QUALITY, NON_NUMERIC = "good", "bad_quality", "non_numeric"


def number(value):
    """The value as a float (booleans 1.0/0.0), or None when it is not a finite number."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        result = float(value)
        return result if math.isfinite(result) else None
    return None


def epoch_ms(timestamp):
    """Milliseconds since the epoch of an OPC UA timestamp (a naive datetime is UTC)."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return int(round(timestamp.timestamp() * 1000))


def classify(data_value, now=None):
    """(kind, value, ts_ms) of a DataValue: kind is GOOD, BAD_QUALITY or NON_NUMERIC.

    ts is the source timestamp, the server timestamp when the source gives none, and the
    bridge's clock when the server gives neither."""
    status = data_value.StatusCode
    if status is not None and not status.is_good():
        return BAD_QUALITY, None, None
    variant = data_value.Value
    value = number(variant.Value if variant is not None else None)
    if value is None:
        return NON_NUMERIC, None, None
    stamp = data_value.SourceTimestamp or data_value.ServerTimestamp
    ts = epoch_ms(stamp) if stamp is not None else int((now or datetime.now(UTC))
                                                         .timestamp() * 1000)
    return GOOD, value, ts


def payload(value, ts_ms):
    return json.dumps({"value": value, "ts": ts_ms}, separators=(",", ":")).encode()
