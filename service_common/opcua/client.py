"""The OPC UA client, as the bridge and the console's tag mapping open it: the configured
security (security.py) and user, a name that says who is connecting."""

from service_common.opcua import security

SESSION_TIMEOUT_MS = 60_000  # the server drops a vanished client's session after this


async def make_client(connection, name):
    """An asyncua Client for `connection` (an OpcuaConnection), not connected yet; `name` is the
    service's id (the session's name on the server, and its default application URI)."""
    from asyncua import Client

    client = Client(connection.endpoint, timeout=connection.timeout)
    client.name = client.description = f"alertloop {name}"
    client.session_timeout = SESSION_TIMEOUT_MS
    client.application_uri = security.default_application_uri(service=name)
    if connection.secure:
        await security.secure(client, connection)
    if connection.username:
        client.set_user(connection.username)
        client.set_password(connection.password)
    return client
