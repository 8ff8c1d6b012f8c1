"""`make demo`: the whole loop on this machine, no boards and no Docker.

Turns the simulated potentiometer low, then high: a new alarm, the LED flashes red. The demo then
presses the indicator's acknowledge button: steady red. The pot goes low again: the alarm clears,
green. Prints each stage and every indicator LED change with the time since the last action; exits
0 once the LED went green, red flashing, red, green. Meanwhile a relay (actuator-sim, or the Tasmota
simulator before the board's is built) follows the pot alarm through `python -m actions`, and
each change of its output is printed (commanded, reported, confirmed). A last stage tells the
relay to ignore commands: the pot goes high, the command is not confirmed, and the provisioned
"Actuator mismatch" rule raises an alarm of its own. `--interactive` then keeps the loop running:
each line on stdin (0-100) sets the pot, `press` presses the button.

For speed the Grafana stand-in evaluates the provisioned rule every second over a 3 s window
(the deployed rule: every 10 s over 10 s).
"""

import argparse
import signal
import sys
import threading
import time

from devstack.actions_loop import OUTPUT, ActionsLoop
from devstack.loop import Loop

ADC_MAX = 4095
PRESS = "press"
# (what happens, an ADC reading for the pot or PRESS for the button, the LED it should show)
STAGES = [("pot low", 0, "green"), ("pot high: a new alarm", ADC_MAX, "red-flashing"),
          ("the operator presses the button: acknowledged", PRESS, "red"),
          ("pot low: the alarm clears", 0, "green")]


class LedReporter(threading.Thread):
    """Prints every new LED line with the time since the pot last moved."""

    def __init__(self, loop):
        super().__init__(daemon=True)
        self.loop, self.moved_at, self.stop = loop, None, threading.Event()
        self.seen, self.lock = 0, threading.Lock()
        self.output_shown = None

    def moved(self):
        """Print what the last move caused, then restart the clock for the next one."""
        with self.lock:
            self.flush()
            self.moved_at = time.monotonic()

    def flush(self):
        shown = self.loop.leds()
        for colour in shown[self.seen:]:
            say(f"  LED {colour:<14} {self.when()}")
        self.seen = len(shown)
        output = self.loop.output()
        if output:
            shown = output_line(output)
            if shown != self.output_shown:
                say(f"  {shown:<18} {self.when()}")
                self.output_shown = shown

    def when(self):
        if self.moved_at is None:
            return "at start-up"
        return f"{time.monotonic() - self.moved_at:6.2f} s after the last action"

    def run(self):
        while not self.stop.wait(0.005):
            with self.lock:
                self.flush()


def output_line(state):
    """How the demo prints the relay's output: `RELAY on confirmed`, `RELAY on MISMATCH`..."""
    if state["mismatch"]:
        status = "MISMATCH"
    elif state["confirmed"]:
        status = "confirmed"
    else:
        status = f"reported {state['reported']}"
    return f"RELAY {state['commanded']} {status}"


def say(text):
    print(text, flush=True)


def percent_to_adc(text):
    value = float(text)
    if not 0 <= value <= 100:
        raise ValueError("the pot goes from 0 to 100")
    return round(value / 100 * ADC_MAX)


def mismatch_stage(loop, reporter, timeout):
    """The relay ignores commands: the pot goes high, the command is sent twice, then the
    output is a mismatch and the Actuator mismatch alarm goes unacked."""
    loop.wait_output(timeout, commanded="off", confirmed=True)
    with reporter.lock:  # print the confirmation before the next stage, whatever the thread did
        reporter.flush()
    say(f"stage: the relay ({loop.kind}) ignores commands; pot high, expecting a mismatch alarm")
    reporter.moved()
    loop.relay_ignores()
    loop.set_pot(ADC_MAX)
    loop.wait_output(timeout, commanded="on", mismatch=True)
    from devstack.wait import wait_until

    wait_until(lambda: loop.alarm_state("actuator-mismatch", OUTPUT) == "unacked", timeout,
               message="the Actuator mismatch alarm never came")
    with reporter.lock:
        reporter.flush()
        say(f"  alarm alerts/actuator-mismatch/{OUTPUT}: unacked {reporter.when()}")


def interactive(loop, reporter):
    say("interactive: type a pot position 0-100 and Enter, or `press` for the indicator's "
        "button; Ctrl-D or Ctrl-C ends the demo")
    for line in sys.stdin:
        if line.strip() == PRESS:
            reporter.moved()
            loop.press()
            continue
        try:
            raw = percent_to_adc(line.strip())
        except ValueError as error:
            say(f"  ignored {line.strip()!r}: {error}")
            continue
        reporter.moved()
        loop.set_pot(raw)


def run(args):
    say("starting mosquitto, InfluxDB, listener, webhook, indicator-sim, sensor-sim, actions, a "
        "relay and the Grafana stand-in (evaluating every 1 s over 3 s; deployed: 10 s over "
        "10 s)...")
    if args.deployed_timings:
        say("  the stand-in keeps the provisioned timings: expect 5-20 s per stage")
    with ActionsLoop(evaluation_interval=1.0, window=3.0, parts=Loop.PARTS,
                     deployed_timings=args.deployed_timings) as loop:
        say(f"  broker 127.0.0.1:{loop.broker.port}, InfluxDB {loop.influx.url}, "
            f"webhook {loop.webhook_url}")
        reporter = LedReporter(loop)
        reporter.start()
        try:
            for name, action, colour in STAGES:
                reporter.moved()
                if action == PRESS:
                    say(f"stage: {name}, expecting {colour}")
                    loop.press()
                else:
                    say(f"stage: {name} (ADC {action}), expecting {colour}")
                    loop.set_pot(action)
                loop.wait_for_led(colour, timeout=args.timeout)
            with reporter.lock:
                reporter.flush()
            say("the loop went " + " -> ".join(colour for _, _, colour in STAGES))
            mismatch_stage(loop, reporter, args.timeout)
            if args.interactive:
                interactive(loop, reporter)
        finally:
            # Silence the reporter before the parts stop (the LED then shows "unknown").
            reporter.stop.set()
            reporter.join()
    say("stopped every process")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the closed loop without boards or Docker.")
    parser.add_argument("--interactive", action="store_true",
                        help="keep running afterwards; each stdin line (0-100) sets the pot, "
                             "`press` presses the indicator's button")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per stage")
    parser.add_argument("--deployed-timings", action="store_true",
                        help="evaluate and notify with the provisioned timings, not 1 s / 3 s")
    return run_to_the_end(run, parser.parse_args(argv))


def run_to_the_end(run, args):
    """`run(args)` as a command: SIGTERM and Ctrl-C stop every process it started (exit 143,
    130), a stage that times out says so (exit 1)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(args)
    except KeyboardInterrupt:
        say("interrupted: stopped every process")
        return 130
    except TimeoutError as error:
        say(f"demo failed: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
