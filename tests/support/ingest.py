"""The webhook's `POST /ingest` user as the tests configure it."""

INGEST_AUTH = ("plc-sender", "ingest-password-not-secret")


def ingest_env(**extra):
    env = {"INGEST_USERNAME": INGEST_AUTH[0], "INGEST_PASSWORD": INGEST_AUTH[1],
           "INGEST_DEVICES": "plc-*,gw-1"}
    env.update(extra)
    return env
