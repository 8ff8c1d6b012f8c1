"""`python -m opcua_bridge browse [--yaml]`: walk the server's address space from Objects and
print every variable: node id (in the `nsu=` form, which survives index changes), browse path,
data type and value; or a nodes-file skeleton to trim."""

import json
import logging
import re
import sys
from dataclasses import dataclass

from opcua_bridge import readings
from service_common.opcua import nodes_file
from service_common.opcua.nodeid import text_with_uri

log = logging.getLogger(__name__)

MAX_DEPTH = 32


@dataclass(frozen=True)
class Variable:
    node_id: str
    path: str
    data_type: str
    value: object

    @property
    def numeric(self):
        return readings.number(self.value) is not None


async def browse_main(settings, as_yaml=False, stream=None):
    from asyncua import ua

    from service_common.opcua.client import make_client

    stream = stream or sys.stdout
    try:
        client = await make_client(settings, settings.mqtt.client_id)
        await client.connect()
    except (TimeoutError, OSError, ConnectionError, ua.UaError) as error:
        print(f"opcua_bridge browse: cannot connect to {settings.endpoint}: "
              f"{error or type(error).__name__}", file=sys.stderr)
        return 1
    try:
        variables = await walk(client)
    finally:
        await client.disconnect()
    stream.write(skeleton(variables, settings.endpoint) if as_yaml else table(variables))
    return 0


async def walk(client):
    from asyncua import ua

    namespaces = await client.get_namespace_array()
    type_names = {}
    found, seen = [], set()

    async def visit(node, path, depth):
        if node.nodeid in seen or depth > MAX_DEPTH:
            return
        seen.add(node.nodeid)
        for description in await node.get_children_descriptions():
            child = client.get_node(description.NodeId)
            if child.nodeid.NamespaceIndex == 0 or child.nodeid in seen:
                continue
            child_path = f"{path}/{description.BrowseName.Name}"
            node_class = description.NodeClass
            if node_class == ua.NodeClass.Variable:
                found.append(await _variable(client, child, child_path, namespaces, type_names))
            if node_class in (ua.NodeClass.Object, ua.NodeClass.Variable):
                await visit(child, child_path, depth + 1)

    await visit(client.nodes.objects, "Objects", 0)
    return found


async def _variable(client, node, path, namespaces, type_names):
    from asyncua import ua

    try:
        data_value = await node.read_data_value(raise_on_bad_status=False)
        value = data_value.Value.Value if data_value.Value is not None else None
    except ua.UaError as error:
        value = f"<unreadable: {error}>"
    data_type = await node.read_data_type()
    if data_type not in type_names:
        try:
            type_names[data_type] = (await client.get_node(data_type).read_browse_name()).Name
        except ua.UaError:
            type_names[data_type] = data_type.to_string()
    return Variable(text_with_uri(node.nodeid, namespaces), path, type_names[data_type], value)


def table(variables):
    lines = ["node id\tbrowse path\tdata type\tvalue"]
    lines += [f"{v.node_id}\t{v.path}\t{v.data_type}\t{_short(v.value)}" for v in variables]
    return "\n".join(lines) + "\n"


def _short(value, limit=60):
    text = repr(value) if isinstance(value, (bytes, list, tuple)) else str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def slug(text):
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "x"


def skeleton(variables, endpoint):
    """A nodes file: every numeric or boolean variable as an entry, the others commented out.
    Nodes in namespace 0 (the server's own objects) are left out by walk()."""
    lines = [
        f"# Nodes file skeleton from `python -m opcua_bridge browse --yaml` ({endpoint}).",
        "# Keep the nodes you want; device and measurement make the topic",
        "# sensors/<device>/<measurement>. See docs/opcua.md.",
        f"publishing_interval_ms: {nodes_file.PUBLISHING_INTERVAL_MS:g}",
        f"sampling_interval_ms: {nodes_file.SAMPLING_INTERVAL_MS:g}",
        "nodes:",
    ]
    for variable in variables:
        parts = variable.path.split("/")
        device = slug(parts[-2]) if len(parts) > 2 else "plc"
        entry = [f"  - node: {json.dumps(variable.node_id)}",
                 f"    device: {device}",
                 f"    measurement: {slug(parts[-1])}"]
        if variable.numeric:
            lines.append(f"  # {variable.path} ({variable.data_type})")
        else:
            lines.append(f"  # {variable.path} is a {variable.data_type}, not a number: "
                         "the bridge would skip it")
            entry = ["  #" + line[1:] for line in entry]
        lines.extend(entry)
    return "\n".join(lines) + "\n"
