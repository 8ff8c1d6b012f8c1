"""webhook/README.md names every setting the webhook reads and every counter it publishes, and
its example request gets the answer it shows."""

import json
import re
from pathlib import Path

from service_common.config import EnvReader
from tests.webhook.conftest import AUTH
from webhook.config import read_config
from webhook.reporter import COUNTERS

README = (Path(__file__).resolve().parents[2] / "webhook" / "README.md").read_text()


def test_every_setting_is_named(monkeypatch):
    names = []
    raw = EnvReader.raw
    monkeypatch.setattr(EnvReader, "raw", lambda self, name: names.append(name) or raw(self, name))
    read_config({"WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p"})
    names = [name for name in names if name.startswith(("WEBHOOK_", "MQTT_"))]  # not INGEST_
    missing = [name for name in names if f"`{name}`" not in README]
    assert not missing, f"not in webhook/README.md: {missing}"


def test_every_counter_is_named():
    missing = [name for name in COUNTERS if f"`{name}`" not in README]
    assert not missing, f"counters not in webhook/README.md: {missing}"


def test_the_example_answers_as_shown(client):
    body = re.search(r"-d '(.*?)' \\", README, re.S).group(1)
    shown = json.loads(re.search(r"```json\n(.*?)```", README, re.S).group(1))
    answer = client.post("/alert", data=body, auth=AUTH, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json == shown
