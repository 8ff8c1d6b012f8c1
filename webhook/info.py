"""`alerts/<alert>[/<device>]/info`: the alarm's details for the console's summary, retained
JSON (docs/annunciator.md). Pure: built from the alert store."""

import json

from webhook.topics import info_topic


def info_values(store, alerts, root):
    """{`.../info` topic: JSON bytes} of `alerts`' summary and device instances."""
    values = {}
    shelves = store.shelves
    for alert in sorted(alerts):
        firing_devices = set(store.firing.get(alert, {}).values())
        for device in [None, *sorted(d for d in store.annunciator.instances.get(alert, ())
                                     if d is not None)]:
            info = store.info.get(alert, {}).get(device or "", {})
            shelf = shelves.get(alert, device)
            active = bool(firing_devices) if device is None else device in firing_devices
            values[info_topic(root, alert, device)] = json.dumps({
                "alert": alert, "device": device, "active": active,
                "state": store.annunciator.shown(alert, device, shelves),
                "since": info.get("since"), "fired_at": info.get("fired_at"),
                "value": info.get("value"), "threshold": info.get("threshold"),
                "summary": info.get("summary"), "acked_by": info.get("acked_by"),
                "shelved": None if shelf is None else shelf.as_info(),
            }, separators=(",", ":"), ensure_ascii=False).encode()
    return values
