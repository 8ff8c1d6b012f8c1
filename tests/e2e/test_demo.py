"""`make demo` as a user runs it: the whole loop, the operator's button press included, every
process stopped at the end."""

import pytest

from tests.support.demos import run_demo

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_the_demo_shows_the_annunciator_sequence():
    stdout, leds = run_demo("devstack.demo")
    assert leds[-3:] == ["red-flashing", "red", "green"], stdout
