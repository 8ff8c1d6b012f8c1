"""The firmware simulators as the tests drive them."""

import uuid

from devstack.loop import led_states
from devstack.wait import wait_until


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class Sim:
    """A running simulator: its Service, its device id, and what it printed."""

    def __init__(self, service, device_id):
        self.service = service
        self.device_id = device_id

    def output_lines(self):
        try:
            return self.service.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def leds(self):
        return led_states(self.service.log_path)

    def wait_for_led(self, state, count=None, timeout=10):
        """Wait until the last LED state is `state` (and there are `count` of them, if given)."""
        def shown():
            states = self.leds()
            return states and states[-1] == state and (count is None or len(states) == count)
        wait_until(shown, timeout, message=f"indicator never showed {state}: {self.leds()}")

    def send(self, *lines):
        self.service.process.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.service.process.stdin.flush()
