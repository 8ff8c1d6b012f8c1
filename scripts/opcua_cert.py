#!/usr/bin/env python3
"""Create the OPC UA bridge's client certificate, or the console's (--service console: its own
identity for browsing), self-signed, OPC UA application profile: RSA 2048, SHA-256, the
application URI in subjectAltName, clientAuth.

    .venv/bin/python scripts/opcua_cert.py [--service console] [--out DIR] [--days 730] [--force]

Writes <out>/<service>.der (the certificate, DER: what PLC servers import) and
<out>/<service>-key.pem (the private key, mode 0600) into secrets/opcua (the bridge) or
secrets/opcua-console (the console) by default, prints the certificate's thumbprint and the
OPCUA_CERT / OPCUA_KEY lines. Never overwrites them without --force: a new certificate must be
approved on the server again.
"""

import argparse
import hashlib
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The services with an OPC UA client identity, and the folder compose mounts for each.
SERVICES = {"opcua-bridge": "secrets/opcua", "console": "secrets/opcua-console"}


def create(out, uri, hostname, days, force=False, service="opcua-bridge"):
    """(cert path, key path, SHA-1 thumbprint); raises FileExistsError unless force."""
    from asyncua.crypto.cert_gen import (
        dump_private_key_as_pem,
        generate_private_key,
        generate_self_signed_app_certificate,
    )
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    out = Path(out)
    cert_path, key_path = out / f"{service}.der", out / f"{service}-key.pem"
    if not force and (cert_path.exists() or key_path.exists()):
        raise FileExistsError(f"{cert_path} or {key_path} exists (use --force to replace them; "
                              "the server must then approve the new certificate)")
    out.mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    cert = generate_self_signed_app_certificate(
        key, f"alertloop {service}", {"organizationName": "alertloop"},
        [x509.UniformResourceIdentifier(uri), x509.DNSName(hostname)],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH], days=days)
    der = cert.public_bytes(Encoding.DER)
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(dump_private_key_as_pem(key))
    cert_path.write_bytes(der)
    return cert_path, key_path, hashlib.sha1(der).hexdigest()  # noqa: S324 - a thumbprint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--service", choices=sorted(SERVICES), default="opcua-bridge",
                        help="whose certificate (default opcua-bridge)")
    parser.add_argument("--out", help="folder (default secrets/opcua, or secrets/opcua-console "
                                      "for the console)")
    parser.add_argument("--hostname", default=socket.gethostname(),
                        help="DNS name in the certificate (default: this host's name)")
    parser.add_argument("--uri", help="application URI (default urn:<hostname>:alertloop:"
                                      "<service>)")
    parser.add_argument("--days", type=int, default=730, help="validity (default 730)")
    parser.add_argument("--force", action="store_true", help="replace an existing certificate")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))   # run from a checkout: the bridge's package is beside us
    from service_common.opcua.security import default_application_uri

    uri = args.uri or default_application_uri(args.hostname, args.service)
    try:
        cert_path, key_path, thumbprint = create(args.out or SERVICES[args.service], uri,
                                                 args.hostname, args.days, args.force,
                                                 args.service)
    except FileExistsError as error:
        print(f"opcua_cert: {error}", file=sys.stderr)
        return 1
    print(f"certificate: {cert_path} (application URI {uri}, valid {args.days} days)")
    print(f"private key: {key_path} (keep it secret)")
    print(f"SHA-1 thumbprint: {thumbprint}")
    if args.service == "console":
        print("Compose gives it to the console as /config/pki/console.der and "
              "/config/pki/console-key.pem; natively, the console's environment needs:")
    else:
        print("Put in .env:")
    print(f"OPCUA_CERT={cert_path}")
    print(f"OPCUA_KEY={key_path}")
    print("Then approve this certificate on the OPC UA server (docs/opcua.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
