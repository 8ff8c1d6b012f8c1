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


def reading(device="plc-1", measurement="temp", value=21.5, **extra):
    return {"device": device, "measurement": measurement, "value": value, **extra}


def post_client(client, body, auth=INGEST_AUTH, raw=None, headers=None):
    """(status, JSON answer) of POST /ingest through a Flask test client."""
    import json

    from tests.support.webhook import basic

    data = raw if raw is not None else json.dumps(body).encode()
    answer = client.post("/ingest", data=data, headers={**(basic(auth) if auth else {}),
                                                         "Content-Type": "application/json",
                                                         **(headers or {})})
    return answer.status_code, answer.get_json()


def post_url(url, readings, auth=INGEST_AUTH):
    """The status of POST /ingest to a running webhook at `url`."""
    import json
    import urllib.error
    import urllib.request

    from tests.support.webhook import basic

    request = urllib.request.Request(url + "/ingest", data=json.dumps(readings).encode(),  # noqa: S310
                                     method="POST",
                                     headers={**basic(auth), "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
