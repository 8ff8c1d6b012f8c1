"""docs/firmware.md states the firmware's timings; their one home is the C++ constants. Tie
them together so a change to one fails here until the other follows."""

import re

import pytest

from devstack.paths import ROOT

LOGIC = ROOT / "firmware" / "lib" / "alertloop" / "src" / "alertloop"
DOC = ROOT / "docs" / "firmware.md"


def constant(header, name):
    match = re.search(rf"static const \w+ {name} = (\d+);", (LOGIC / header).read_text())
    assert match, f"{name} not found in {header}"
    return int(match.group(1))


def doc():
    return " ".join(DOC.read_text().split())  # one line, so phrases may wrap


@pytest.mark.parametrize(
    ("header", "name", "unit", "phrase"),
    [
        ("connection.h", "kKeepaliveS", 1, "a **{} s MQTT keepalive**"),
        ("resolve_policy.h", "kReresolveAfterFailures", 1, "after **{} failed connect attempts"),
        ("resolve_policy.h", "kDnsTimeoutMs", 1000, "up to **{} s** on the ESP8266"),
        ("led_pattern.h", "kFlashOnMs", 1, "the one LED on {} ms"),
        ("led_pattern.h", "kUnknownHalfPeriodMs", 1000, "red {} s, then green"),
        ("led_pattern.h", "kBeepOnMs", 1, "beeps {} ms every second"),
        ("led_pattern.h", "kSilencedBlinkMs", 1, "both lit for {} ms every 2 s"),
        ("led_pattern.h", "kSilencedPeriodMs", 1000, "lit too for 150 ms every {} s"),
    ],
    ids=["keepalive", "re-resolve", "dns-timeout", "flash", "unknown", "beep", "silenced-blink",
         "silenced-period"],
)
def test_the_docs_state_the_constant(header, name, unit, phrase):
    value = constant(header, name)
    assert value % unit == 0
    assert phrase.format(value // unit) in doc()


def test_flashing_is_on_and_off_for_equal_halves_as_the_docs_say():
    on = constant("led_pattern.h", "kFlashOnMs")
    assert constant("led_pattern.h", "kFlashPeriodMs") == 2 * on
    assert f"off {on} ms" in doc()


def test_the_buzzer_beeps_every_second_as_the_docs_say():
    assert constant("led_pattern.h", "kBeepPeriodMs") == 1000
    assert "ms every second" in doc()


def member_default(header, name):
    match = re.search(rf"\b{name} = (\d+);", (LOGIC / header).read_text())
    assert match, f"{name} not found in {header}"
    return int(match.group(1))


def test_firmware_readme_states_the_publish_schedule_and_back_off():
    """firmware/README.md, "What each board does": the sensor's schedule and the reconnect
    back-off, whose one home is the logic's defaults."""
    page = " ".join((ROOT / "firmware" / "README.md").read_text().split())
    assert f"every {member_default('publish_schedule.h', 'interval_ms')} ms" in page
    assert f"at most every {member_default('publish_schedule.h', 'min_gap_ms')} ms" in page
    assert f"moved by {member_default('publish_schedule.h', 'change_tenths') // 10} or more" in page
    initial = member_default("connection.h", "backoff_initial_ms") / 1000
    maximum = member_default("connection.h", "backoff_max_ms") // 1000
    assert f"back-off from {initial:g} s doubling up to {maximum} s" in page


def test_the_boards_live_window_is_the_services_one():
    from service_common.status import HEARTBEAT_S, LIVE_WINDOW_S

    assert constant("liveness.h", "kLiveWindowMs") == LIVE_WINDOW_S * 1000
    assert f"**{LIVE_WINDOW_S:g} s** without a live `online`" in doc()
    assert f"heartbeat every **{HEARTBEAT_S:g} s**" in doc()
