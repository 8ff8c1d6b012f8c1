"""The services' default client ids: their broker usernames, `status/<id>` topics and the device
names of their own counters (`sensors/<id>/<counter>`). Each is its `<PREFIX>_CLIENT_ID`'s
default; `scripts/` (which runs before any virtualenv) keeps a copy tied to this table by a test.
"""

LISTENER = "listener"
WEBHOOK = "webhook"
OPCUA_BRIDGE = "opcua-bridge"
ACTIONS = "actions"
CONSOLE = "console"

# The environment prefix of each service's settings (`<PREFIX>_CLIENT_ID`) and its default id.
BY_PREFIX = {
    "LISTENER": LISTENER,
    "WEBHOOK": WEBHOOK,
    "OPCUA": OPCUA_BRIDGE,
    "ACTIONS": ACTIONS,
    "CONSOLE": CONSOLE,
}
ALL = frozenset(BY_PREFIX.values())
