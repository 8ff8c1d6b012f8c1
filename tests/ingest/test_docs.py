"""docs/ingest.md's curl examples, run as written against the real webhook, broker, listener and
InfluxDB: the answer is the one the page shows and the readings are stored."""

import json
import re
import subprocess

from devstack.paths import ROOT
from devstack.wait import wait_until
from tests.support.influx import points, wait_count

DOC = ROOT / "docs" / "ingest.md"
PASSWORD = "docs-example-password"


def shell_blocks(text):
    return [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "curl" in b]


def test_the_curl_examples_store_their_readings(listener_factory, webhook_service, db):
    listener_factory()
    webhook = webhook_service(INGEST_USERNAME="plc-line-1", INGEST_PASSWORD=PASSWORD,
                              INGEST_DEVICES="plc-*")
    text = DOC.read_text()
    expected = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    single, array = shell_blocks(text)[:2]
    for block in (single, array):
        done = subprocess.run(["bash", "-euc", block.replace("http://localhost:5000",
                                                             webhook.url)],
                              env={"INGEST_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=30, check=True)
        answer = json.loads(done.stdout)
        assert answer["status"] == expected["status"]
    assert answer == {"status": "accepted", "readings": 2}
    wait_count(db, 2, measurement="temp")
    wait_count(db, 1, measurement="pressure")
    # The whole row: a query can meet InfluxDB while it applies a write's fields (seq after value).
    wait_until(lambda: [row["seq"] for row in points(db, 'SELECT "value", "seq" FROM "pressure"')]
               == [42], 10)
