"""The alarm performance figures on journals made by hand (pure)."""

import pytest

from console.alarms import Alarm
from console.performance import busiest_window, chattering, flood_ms, report

MIN = 60_000


def fire(t, alert="a", device="d"):
    return {"t": t, "alert": alert, "device": device, "from": "normal", "to": "unacked"}


def test_rate_per_operator_per_10_minutes_and_peak():
    entries = [fire(i * MIN) for i in range(6)] + [
        {"t": 7 * MIN, "alert": "a", "device": "d", "from": "unacked", "to": "acked"}]
    figures = report(entries, 0, 60 * MIN, 2, [], 60 * MIN)
    assert figures["alarms"] == 6
    assert figures["per_operator_per_10min"] == pytest.approx(6 / 6 / 2)
    assert figures["peak_per_operator_per_10min"] == 3.0


def test_flood_is_more_than_ten_in_ten_minutes():
    times = [i * 1000 for i in range(11)]  # 11 alarms in 10 s: a flood from the 11th
    # From the 11th (10 s) until the first leaves the window (10 min).
    assert flood_ms(times, 0, 60 * MIN) == 10 * MIN - 10_000
    assert flood_ms(times[:10], 0, 60 * MIN) == 0
    figures = report([fire(t) for t in times], 0, 100 * MIN, 1, [], 100 * MIN)
    assert figures["flood_percent"] == pytest.approx(100 * (10 * MIN - 10_000) / (100 * MIN))


def test_bad_actors_and_chattering():
    entries = ([fire(i * 10_000, "chatty") for i in range(5)]
               + [fire(i * 5 * MIN, "slow") for i in range(4)] + [fire(0, "once")])
    figures = report(entries, 0, 60 * MIN, 1, [], 60 * MIN)
    assert [b["alert"] for b in figures["bad_actors"]] == ["chatty", "slow", "once"]
    assert figures["chattering"] == [{"alert": "chatty", "device": "d", "most_in_a_minute": 5}]
    assert chattering({("x", None): [0, 30_000, 61_000]}) == {}
    assert busiest_window([0, 1, 2, WINDOW_MS_PLUS]) == 3


WINDOW_MS_PLUS = 10 * MIN + 5


def test_stale_shelved_and_out_of_service_from_the_current_states():
    now = 100 * 3600_000
    alarms = [Alarm("old", "d", "acked", active=True, fired_at=now - 25 * 3600_000),
              Alarm("new", "d", "unacked", active=True, fired_at=now - 3600_000),
              Alarm("s", "d", "shelved", shelved={"kind": "shelved"}),
              Alarm("o", "d", "out-of-service", shelved={"kind": "out-of-service"})]
    figures = report([], now - 3600_000, now, 1, alarms, now)
    assert [s["alert"] for s in figures["stale"]] == ["old"]
    assert (figures["shelved"], figures["out_of_service"]) == (1, 1)
