"""What a service's `main()` shares: its settings read or the process ended with status 2 and
one line on stderr, and a waitress server served until SIGTERM or Ctrl-C."""

import signal
import sys

from service_common.config import ConfigError

BAD_SETTINGS = 2  # the exit status of a process refused by its settings


def settings_or_exit(name, read, *args, **kwargs):
    """`read(*args, **kwargs)`; a ConfigError is printed as `<name>: <what is wrong>` and ends
    the process with status 2 (SystemExit)."""
    try:
        return read(*args, **kwargs)
    except ConfigError as error:
        print(f"{name}: {error}", file=sys.stderr)
        raise SystemExit(BAD_SETTINGS) from None


def stop_on_sigterm():
    """From now on SIGTERM raises SystemExit(0) in the main thread, as Ctrl-C raises
    KeyboardInterrupt: serve() returns and the caller's `finally` closes what it opened."""
    signal.signal(signal.SIGTERM, _exit_cleanly)


def serve(server):
    """Run the waitress `server` until SIGTERM (after stop_on_sigterm()) or Ctrl-C; close it."""
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()


def _exit_cleanly(signum, frame):
    raise SystemExit(0)
