"""InfluxDB line protocol, built by hand: the influxdb client's point serialisation costs more
than everything else the listener does per reading."""


def escape_measurement(name):
    return name.replace(",", r"\,").replace(" ", r"\ ")


def escape_tag(text):
    return text.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def string_field(value):
    """A string field value: quoted, with backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def series_key(measurement, device):
    return f"{escape_measurement(measurement)},device={escape_tag(device)}"


def encode(point, key=None):
    """One line for a parse.Point; `key` is its series_key when the caller has it cached."""
    return encode_reading(key or series_key(point.measurement, point.device), point.value,
                          point.seq, point.time_ns)


def encode_reading(key, value, seq, time_ns):
    """One reading's line: its series_key, its float value, its seq (or None) and its time."""
    if seq is None:
        return f"{key} value={value!r} {time_ns}"
    return f"{key} value={value!r},seq={seq}i {time_ns}"


def encode_fields(measurement, tags, fields, time_ns):
    """A line from dicts: int fields get the `i` suffix, floats stay floats."""
    head = escape_measurement(measurement) + "".join(
        f",{escape_tag(k)}={escape_tag(str(v))}" for k, v in sorted(tags.items()))
    body = ",".join(
        f"{escape_tag(k)}={v}i" if isinstance(v, int) and not isinstance(v, bool)
        else f"{escape_tag(k)}={float(v)!r}"
        for k, v in fields.items())
    return f"{head} {body} {time_ns}"


def encode_text(measurement, tags, fields, time_ns):
    """A line of string tags and string fields (the journals'); the caller has checked that
    the values hold nothing line protocol cannot carry."""
    head = escape_measurement(measurement) + "".join(
        f",{key}={escape_tag(value)}" for key, value in sorted(tags.items()))
    body = ",".join(f"{key}={string_field(value)}" for key, value in fields.items())
    return f"{head} {body} {time_ns}"


class Encoder:
    """A store's encoder (listener.store): readings with the series keys of the devices seen
    so far cached, and the listener's own lines: its stats (`fields`) and journals (`text`)."""

    reading = staticmethod(encode_reading)
    fields = staticmethod(encode_fields)
    text = staticmethod(encode_text)

    _CACHE_LIMIT = 10_000

    def __init__(self):
        self._keys = {}

    def encode(self, point):
        return encode(point, self.series_key(point.measurement, point.device))

    def series_key(self, measurement, device):
        key = self._keys.get((measurement, device))
        if key is None:
            if len(self._keys) >= self._CACHE_LIMIT:
                self._keys.clear()
            key = self._keys[measurement, device] = series_key(measurement, device)
        return key
