"""OPC UA tag mapping from the console (engineer role): browse the server one level at a time,
search it (bounded), and write the bridge's nodes file (docs/opcua.md) atomically with a header
saying it is managed from the console. The bridge follows a changed file by itself
(CONTRACTS.md, "OPC UA writes"). The connection uses the OPCUA_* settings (an OpcuaConnection)."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import yaml

from service_common import service_ids
from service_common.files import replace_atomically
from service_common.opcua import nodeid, security
from service_common.opcua.nodes_file import parse_nodes
from service_common.readings import name_problem

HEADER = ("# Managed from the console (Tag mapping page): edits made here by hand are kept only\n"
          "# until the next save there. The format is docs/opcua.md's.\n")
ROLES = ("reading", "pv", "sp", "out")
# Data types whose values the bridge turns into readings (opcua_bridge.readings.number).
NUMERIC = {"Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
           "Float", "Double"}
SEARCH_MAX_NODES = 5000
SEARCH_MAX_RESULTS = 100


class MappingError(ValueError):
    """A choice the console refuses; the message is shown to the engineer."""


@dataclass(frozen=True)
class Child:
    node_id: str
    name: str
    path: str
    folder: bool  # has children worth opening (objects, folders)
    variable: bool
    data_type: str | None = None

    @property
    def numeric(self):
        return self.data_type in NUMERIC


class Browser:
    """Short OPC UA sessions: one connect per page, so the console holds no session open."""

    def __init__(self, settings):
        self.settings = settings

    def _run(self, work):
        async def session():
            from asyncua import ua

            from service_common.opcua.client import make_client

            try:
                client = await make_client(self.settings, service_ids.CONSOLE)
                await client.connect()
            except security.UntrustedServer as error:
                raise MappingError(_untrusted(self.settings, error)) from None
            except (TimeoutError, OSError, ConnectionError, ua.UaError) as error:
                raise MappingError(f"cannot reach the OPC UA server {self.settings.endpoint}: "
                                   f"{error or type(error).__name__}") from None
            try:
                return await work(client, await client.get_namespace_array())
            finally:
                await client.disconnect()

        return asyncio.run(session())

    async def _children(self, client, namespaces, node, path, type_names):
        from asyncua import ua

        found = []
        for description in await node.get_children_descriptions():
            if description.NodeId.NamespaceIndex == 0:
                continue  # the server's own nodes
            child = client.get_node(description.NodeId)
            name = description.DisplayName.Text or description.BrowseName.Name
            variable = description.NodeClass == ua.NodeClass.Variable
            data_type = await self._type_name(client, child, type_names) if variable else None
            found.append(Child(nodeid.text_with_uri(description.NodeId, namespaces), name,
                               f"{path}/{name}", not variable, variable, data_type))
        return found

    async def _type_name(self, client, node, type_names):
        from asyncua import ua

        try:
            data_type = await node.read_data_type()
        except ua.UaError:
            return None
        if data_type not in type_names:
            try:
                type_names[data_type] = (await client.get_node(data_type)
                                         .read_browse_name()).Name
            except ua.UaError:
                type_names[data_type] = data_type.to_string()
        return type_names[data_type]

    def children(self, node_text=None, path="Objects"):
        async def work(client, namespaces):
            node = client.nodes.objects if not node_text else client.get_node(
                _resolve(node_text, namespaces))
            return await self._children(client, namespaces, node, path, {})
        return self._run(work)

    def search(self, text):
        """Variables whose path contains `text` (any case), breadth first, bounded."""
        needle = text.lower()

        async def work(client, namespaces):
            queue, seen, hits, type_names = [(client.nodes.objects, "Objects")], set(), [], {}
            while queue and len(seen) < SEARCH_MAX_NODES and len(hits) < SEARCH_MAX_RESULTS:
                node, path = queue.pop(0)
                for child in await self._children(client, namespaces, node, path, type_names):
                    if child.node_id in seen:
                        continue
                    seen.add(child.node_id)
                    if child.variable and needle in child.path.lower():
                        hits.append(child)
                    if child.folder:
                        queue.append((client.get_node(_resolve(child.node_id, namespaces)),
                                      child.path))
            return hits
        return self._run(work)

    def variable(self, node_text):
        """The Child of one variable; MappingError when it does not exist or is no variable."""
        async def work(client, namespaces):
            from asyncua import ua

            node = client.get_node(_resolve(node_text, namespaces))
            try:
                node_class = await node.read_node_class()
                name = (await node.read_display_name()).Text
            except ua.UaError as error:
                raise MappingError(f"{node_text}: the server has no such node ({error})"
                                   ) from None
            if node_class != ua.NodeClass.Variable:
                raise MappingError(f"{node_text} is not a variable")
            return Child(node_text, name, name, False, True,
                         await self._type_name(client, node, {}))
        return self._run(work)


def _untrusted(settings, error):
    """The server answered but offered a certificate the console does not trust (`error`, from
    security.check_trusted, names its thumbprint): say so, and where the console looks."""
    if settings.trust_dir:
        where = (f"the console's trust folder (OPCUA_TRUST_DIR) is {settings.trust_dir}, "
                 "read again at every browse")
    else:
        where = ("the console has no trust folder (OPCUA_TRUST_DIR is not set) and its "
                 "OPCUA_SERVER_THUMBPRINT is another certificate's")
    return f"the OPC UA server {settings.endpoint} answered, but {error}; {where}"


def _resolve(text, namespaces):
    try:
        return nodeid.parse(text).resolve(namespaces)
    except (nodeid.NodeIdError, nodeid.UnknownNamespace) as error:
        raise MappingError(f"{text[:100]!r}: {error}") from None


def read_document(path):
    """The nodes file as a mapping (an empty one when there is none yet)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return {}
    document = yaml.safe_load(text) or {}
    if not isinstance(document, dict):
        raise MappingError(f"{path} is not a mapping: fix it by hand first")
    return document


def mapped(document):
    """[(role, device, measurement, node id, deadband)] of every mapping in the file."""
    rows = []
    for entry in document.get("nodes") or []:
        rows.append(("reading", entry.get("device"), entry.get("measurement"),
                     entry.get("node"), entry.get("deadband")))
    for entry in document.get("loops") or []:
        for member in ("pv", "sp", "out"):
            if member in entry:
                rows.append((member, entry.get("id"), member, entry[member],
                             entry.get("deadband")))
    return rows


def add(document, variable, role, device, measurement, deadband):
    """The document with one more mapping; MappingError for a wrong choice."""
    if role not in ROLES:
        raise MappingError(f"the role must be one of {', '.join(ROLES)}")
    if not variable.numeric:
        raise MappingError(f"{variable.node_id} holds {variable.data_type or 'an unknown type'}"
                           ", not a number: the bridge could not make readings of it")
    if role != "reading":
        measurement = role
    for label, value in (("device" if role == "reading" else "loop id", device),
                         ("measurement", measurement)):
        problem = name_problem(value or "")
        if problem:
            raise MappingError(f"the {label} must be {problem}")
    rows = mapped(document)
    for _, row_device, row_measurement, row_node, _ in rows:
        if row_node == variable.node_id:
            raise MappingError(f"{variable.node_id} is already mapped to "
                               f"{row_device}/{row_measurement}")
        if (row_device, row_measurement) == (device, measurement):
            what = (f"loop {device} already has its {role.upper()}" if role != "reading"
                    else f"{device}/{measurement} is already fed by {row_node}")
            raise MappingError(what)
    document = dict(document)
    if role == "reading":
        entry = {"node": variable.node_id, "device": device, "measurement": measurement}
        if deadband is not None:
            entry["deadband"] = deadband
        document["nodes"] = [*(document.get("nodes") or []), entry]
    else:
        loops = [dict(loop) for loop in document.get("loops") or []]
        loop = next((loop for loop in loops if loop.get("id") == device), None)
        if role != "pv" and (loop is None or "pv" not in loop):
            raise MappingError(f"map loop {device}'s PV first: the bridge needs a loop's PV")
        if loop is None:
            loop = {"id": device}
            loops.append(loop)
        loop[role] = variable.node_id
        if deadband is not None:
            loop["deadband"] = deadband
        document["loops"] = loops
    return document


def remove(document, device, measurement):
    document = dict(document)
    nodes = [n for n in document.get("nodes") or []
             if (n.get("device"), n.get("measurement")) != (device, measurement)]
    loops = []
    for loop in document.get("loops") or []:
        loop = dict(loop)
        if loop.get("id") == device:
            if measurement == "pv" and ("sp" in loop or "out" in loop):
                raise MappingError(f"remove loop {device}'s SP and OUT first: the bridge "
                                   "needs a loop's PV")
            loop.pop(measurement, None)
        if any(member in loop for member in ("pv", "sp", "out")):
            loops.append(loop)
    document["nodes"], document["loops"] = nodes, loops
    return document


def save(path, document):
    """Check the document as the bridge will, then replace the file atomically."""
    problems = []
    parse_nodes(document, problems)
    if problems:
        raise MappingError("the bridge would refuse this file: " + "; ".join(problems))
    text = HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    try:
        replace_atomically(path, text, mode=0o644)  # the bridge reads it as another user
    except OSError as error:
        raise MappingError(f"cannot write {path}: {error.strerror or error} (the console "
                           "writes the file in its folder: docs/console.md, \"OPC UA tag "
                           "mapping\")") from None
