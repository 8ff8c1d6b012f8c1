"""OPC UA node ids in their standard text forms (OPC 10000-6, 5.3.1.10), parsed without I/O.

    ns=2;s=Simulation Examples.Functions.Ramp1    i=2258    ns=1;g=<guid>    ns=3;b=<base64>
    nsu=urn:example:plant;s=Plant.TIC101.PV

A `nsu=` id names its namespace by URI; `resolve()` turns it into an index with the server's
namespace array of the current session, so the wire only ever carries a plain node id.
"""

import base64
import binascii
import re
import uuid
from dataclasses import dataclass

_FORM = re.compile(r"^(?:ns=(?P<ns>\d+);|nsu=(?P<nsu>.+?);(?=[isgb]=))?"
                   r"(?P<kind>[isgb])=(?P<id>.+)$", re.DOTALL)
KINDS = {"i": "Numeric", "s": "String", "g": "Guid", "b": "ByteString"}


class NodeIdError(ValueError):
    pass


class UnknownNamespace(LookupError):
    """A `nsu=` URI that the server's namespace array does not hold."""


@dataclass(frozen=True)
class NodeRef:
    text: str
    namespace: int | str   # an index, or a namespace URI to look up at every connect
    kind: str                    # one of KINDS
    identifier: int | str | bytes | uuid.UUID

    def index(self, namespace_array):
        if isinstance(self.namespace, int):
            return self.namespace
        try:
            return list(namespace_array).index(self.namespace)
        except ValueError:
            raise UnknownNamespace(f"namespace {self.namespace!r} is not on the server") from None

    def resolve(self, namespace_array):
        """The asyncua NodeId for this session's namespace array."""
        from asyncua import ua

        kind = getattr(ua.NodeIdType, KINDS[self.kind])
        return ua.NodeId(self.identifier, self.index(namespace_array), kind)


def parse(text):
    """A NodeRef from `text`; NodeIdError says what is wrong with it."""
    if not isinstance(text, str):
        raise NodeIdError("a node id must be a string such as 'ns=2;s=Tag'")
    match = _FORM.match(text.strip())
    if not match:
        raise NodeIdError("not a node id: use ns=<index>;{i,s,g,b}=<id> or "
                          "nsu=<uri>;{i,s,g,b}=<id>")
    namespace = match["nsu"] if match["nsu"] is not None else int(match["ns"] or 0)
    kind, raw = match["kind"], match["id"]
    try:
        identifier = _identifier(kind, raw)
    except (ValueError, binascii.Error) as error:
        raise NodeIdError(f"bad {KINDS[kind].lower()} identifier {raw!r}: {error}") from None
    if isinstance(namespace, int) and namespace > 65535:
        raise NodeIdError("namespace index must be at most 65535")
    return NodeRef(text.strip(), namespace, kind, identifier)


def _identifier(kind, raw):
    if kind == "i":
        number = int(raw)
        if not 0 <= number <= 0xFFFFFFFF:
            raise ValueError("must be between 0 and 4294967295")
        return number
    if kind == "g":
        return uuid.UUID(raw)
    if kind == "b":
        return base64.b64decode(raw, validate=True)
    return raw


def text_with_uri(nodeid, namespace_array):
    """`nsu=<uri>;...` text of an asyncua NodeId (plain `i=`/`ns=0` ids stay as they are)."""
    plain = nodeid.to_string()
    if nodeid.NamespaceIndex == 0 or nodeid.NamespaceIndex >= len(namespace_array):
        return plain
    return f"nsu={namespace_array[nodeid.NamespaceIndex]};{plain.split(';', 1)[1]}"
