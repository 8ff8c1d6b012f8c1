"""The webhook's `POST /ingest` user as the tests configure it."""

import atexit
import shutil
import tempfile

INGEST_AUTH = ("plc-sender", "ingest-password-not-secret")


def outbox_dir():
    """A fresh folder for the ingest outbox (webhook/ingest_outbox.py), removed at exit."""
    folder = tempfile.mkdtemp(prefix="alertloop-ingest-outbox-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def ingest_env(**extra):
    env = {"INGEST_USERNAME": INGEST_AUTH[0], "INGEST_PASSWORD": INGEST_AUTH[1],
           "INGEST_DEVICES": "plc-*,gw-1", "INGEST_OUTBOX_DIR": outbox_dir()}
    env.update(extra)
    return env
