"""Polling with a deadline, instead of sleeping and hoping."""

import time


def wait_until(condition, timeout=10.0, interval=0.01, message=None):
    """Return the first truthy value of `condition()`, or raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(message or f"condition not met within {timeout} s: {condition!r}")
        time.sleep(interval)
