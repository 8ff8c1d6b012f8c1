"""The shipped mosquitto.conf's options for a harness broker that allows anonymous clients: its
persistence and queue limits as deployed, without its users, ACL, port and folders."""

from devstack.paths import ROOT

# Options the harness sets itself (its port, folders and log) or that need the deployed users
# (the retain plugin tells users apart: tests/deploy/test_broker.py runs it).
HARNESS_OWNED = ("listener", "protocol", "persistence_location", "log_dest", "password_file",
                 "acl_file", "user", "allow_anonymous", "use_username_as_clientid", "plugin")


def deployed_options():
    """Config lines for `mosquitto_factory(config=...)`."""
    lines = []
    for line in (ROOT / "mosquitto" / "config" / "mosquitto.conf").read_text().splitlines():
        words = line.split()
        if (words and not line.startswith("#") and words[0] not in HARNESS_OWNED
                and not words[0].startswith("plugin_opt")):
            lines.append(line)
    return "\n".join(lines)
