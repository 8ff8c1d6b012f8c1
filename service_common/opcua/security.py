"""The secure channel: the client's own certificate, and the server's certificate trusted
explicitly (a copy in the trust folder, or a pinned thumbprint), never on first sight."""

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def default_application_uri(hostname=None, service="opcua-bridge"):
    """A service's application URI when its certificate does not name one."""
    import socket

    return f"urn:{hostname or socket.gethostname()}:alertloop:{service}"


class UntrustedServer(Exception):
    """The server offered a certificate that neither the trust folder nor the pin names."""


def thumbprints(der):
    """(SHA-1, SHA-256) hex thumbprints of a DER certificate (UaExpert and Kepware show SHA-1)."""
    return hashlib.sha1(der).hexdigest(), hashlib.sha256(der).hexdigest()  # noqa: S324


def trusted_ders(trust_dir):
    """The DER bytes of every certificate (.der, .cer, .crt, .pem) in the trust folder."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    found = []
    for path in sorted(Path(trust_dir).iterdir()) if trust_dir else []:
        if path.suffix.lower() not in (".der", ".cer", ".crt", ".pem"):
            continue
        try:
            data = path.read_bytes()
            if b"-----BEGIN CERTIFICATE-----" in data:
                found.extend(c.public_bytes(Encoding.DER)
                             for c in x509.load_pem_x509_certificates(data))
            else:
                found.append(x509.load_der_x509_certificate(data).public_bytes(Encoding.DER))
        except (OSError, ValueError) as error:
            log.warning("trust folder: skipping %s: %s", path, error)
    return found


def check_trusted(der, settings):
    """Raise UntrustedServer unless `der` is pinned or in the trust folder."""
    sha1, sha256 = thumbprints(der)
    if settings.server_thumbprint in (sha1, sha256):
        return
    if settings.trust_dir and der in trusted_ders(settings.trust_dir):
        return
    raise UntrustedServer(
        f"the server's certificate (SHA-1 thumbprint {sha1}) is not trusted: check it is the "
        f"PLC's, then copy it into OPCUA_TRUST_DIR or set OPCUA_SERVER_THUMBPRINT={sha1}")


def application_uri(cert_path):
    """The URI in the certificate's subjectAltName: the client must announce exactly it."""
    from cryptography import x509

    data = Path(cert_path).read_bytes()
    cert = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data))
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


async def server_certificate(endpoint, policy_uri, mode, timeout):
    """The certificate the server offers for (policy, mode), read over an unsecured channel
    (GetEndpoints, as every OPC UA client does before opening a secure one)."""
    from asyncua import Client

    probe = Client(endpoint, timeout=timeout)
    endpoints = await probe.connect_and_get_server_endpoints()
    chosen = Client.find_endpoint(endpoints, mode, policy_uri)
    return first_certificate(chosen.ServerCertificate)


def first_certificate(chain):
    """The leaf of a DER certificate chain (a server may send its chain concatenated)."""
    from asyncua.crypto import uacrypto
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = uacrypto.x509_from_der(chain)
    if cert is None:
        raise UntrustedServer("the server offers no certificate for this security mode")
    return cert.public_bytes(Encoding.DER)


async def secure(client, settings):
    """Configure `client` for settings.security, trusting only the configured server cert."""
    from asyncua import ua
    from asyncua.crypto import security_policies

    policy_name, mode_name = settings.security.split(",")
    policy = getattr(security_policies, f"SecurityPolicy{policy_name}")
    mode = getattr(ua.MessageSecurityMode, mode_name)
    der = await server_certificate(settings.endpoint, policy.URI, mode, settings.timeout)
    check_trusted(der, settings)
    client.application_uri = application_uri(settings.cert) or client.application_uri
    await client.set_security(policy, str(settings.cert), str(settings.key),
                              server_certificate=der, mode=mode)
