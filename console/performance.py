"""Alarm system performance (EEMUA 191, ISA-18.2 / IEC 62682) from the alarm journal: each
transition into `unacked` is one annunciated alarm. Pure: the entries and the range are given.

- rate: alarms per operator per 10 minutes, on average and in the busiest 10 minutes
  (EEMUA 191: about 1 is manageable, more than 2 is demanding);
- flood: the share of the range in which more than FLOOD_ALARMS alarms came within the last
  10 minutes (ISA-18.2 recommends under 1 %);
- bad actors: the ten instances that alarmed most;
- chattering: instances that alarmed CHATTER_ALARMS times or more within CHATTER_WINDOW_S;
- stale: instances active for more than STALE_S (from the current states);
- shelved and out of service: how many are now (from the current states).
"""

from collections import Counter, defaultdict

WINDOW_MS = 10 * 60_000
FLOOD_ALARMS = 10
CHATTER_ALARMS = 3
CHATTER_WINDOW_S = 60
STALE_S = 24 * 3600
TOP = 10


def alarm_times(entries):
    """{(alert, device): [ms, ...]} of the transitions into unacked, sorted."""
    times = defaultdict(list)
    for entry in entries:
        if entry.get("to") == "unacked":
            times[(entry.get("alert"), entry.get("device"))].append(entry["t"])
    return {key: sorted(value) for key, value in times.items()}


def flood_ms(all_times, start_ms, end_ms, limit=FLOOD_ALARMS, window_ms=WINDOW_MS):
    """Milliseconds of [start, end) in which more than `limit` alarms came within window_ms."""
    edges = sorted([(t, 1) for t in all_times] + [(t + window_ms, -1) for t in all_times])
    total, count, last = 0, 0, start_ms
    for at, step in edges:
        at = min(max(at, start_ms), end_ms)
        if count > limit:
            total += at - last
        last = at
        count += step
    if count > limit:
        total += end_ms - last
    return total


def busiest_window(all_times, window_ms=WINDOW_MS):
    """The most alarms within any window_ms."""
    best, first = 0, 0
    for last, t in enumerate(all_times):
        while t - all_times[first] >= window_ms:
            first += 1
        best = max(best, last - first + 1)
    return best


def chattering(times, count=CHATTER_ALARMS, window_ms=CHATTER_WINDOW_S * 1000):
    """The instances that alarmed `count` times or more within window_ms, with their worst."""
    found = {}
    for key, series in times.items():
        worst = busiest_window(series, window_ms)
        if worst >= count:
            found[key] = worst
    return found


def report(entries, start_ms, end_ms, operators, alarms, now_ms):
    """The figures of the range; `alarms` are the console's current instances."""
    times = alarm_times(entries)
    all_times = sorted(t for series in times.values() for t in series if start_ms <= t < end_ms)
    windows = max((end_ms - start_ms) / WINDOW_MS, 1e-9)
    counts = Counter({key: len(series) for key, series in times.items()})
    stale = [a for a in alarms if a.active and a.fired_at and now_ms - a.fired_at > STALE_S * 1000]
    return {
        "from": start_ms, "to": end_ms, "operators": operators, "alarms": len(all_times),
        "per_operator_per_10min": len(all_times) / windows / operators,
        "peak_per_operator_per_10min": busiest_window(all_times) / operators,
        "flood_percent": 100.0 * flood_ms(all_times, start_ms, end_ms) / (end_ms - start_ms),
        "bad_actors": [{"alert": a, "device": d, "alarms": n}
                       for (a, d), n in counts.most_common(TOP)],
        "chattering": [{"alert": a, "device": d, "most_in_a_minute": n}
                       for (a, d), n in sorted(chattering(times).items(),
                                               key=lambda item: -item[1])],
        "stale": [{"alert": a.alert, "device": a.device, "fired_at": a.fired_at}
                  for a in stale],
        "shelved": sum(1 for a in alarms if (a.shelved or {}).get("kind", a.state) == "shelved"
                       and a.suppressed),
        "out_of_service": sum(1 for a in alarms if a.suppressed and (
            (a.shelved or {}).get("kind") == "out-of-service" or a.state == "out-of-service")),
    }
