"""The `--healthcheck` of a service that touches a heartbeat file while it works."""

import time


def heartbeat_problem(path, max_age):
    """Why the heartbeat at `path` says the service is unhealthy, or None when it is fresh."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return "no heartbeat file"
    if age > max_age:
        return f"heartbeat is {age:.0f} s old"
    return None
