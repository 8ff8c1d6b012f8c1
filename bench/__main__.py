"""`make bench`: every benchmark in turn, each printing its figures."""

import importlib
import sys
import traceback

BENCHMARKS = [
    "listener_ingest",
    "listener_own_work",
    "listener_window",
    "webhook_latency",
    "loop_latency",
    "sensor_to_stored",
    "resources",
    "ingest",
    "sensor_step_latency",
    "indicator_stale_window",
    "ack_latency",
    "opcua_bridge",
    "webhook_guard",
    "actions_latency",
    "loop_health",
    "opcua_reload",
    "opcua_write",
    "console",
]


def main(names=None):
    failed = []
    for name in names or BENCHMARKS:
        print(f"\n== {name}", flush=True)
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
