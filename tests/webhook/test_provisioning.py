"""The contact point, the notification policy and `.env.example` say what the webhook does."""

import re
from pathlib import Path

import yaml

from tests.test_env_example import documented
from webhook.auth import SIGNATURE_HEADER
from webhook.config import read_config

REPO = Path(__file__).resolve().parents[2]
ALERTING = REPO / "grafana" / "provisioning" / "alerting"
CONTACT_POINTS = (ALERTING / "contact-points.yaml").read_text()
POLICIES = (ALERTING / "policies.yaml").read_text()


def example_env():
    return {name: value for name, (value, _) in documented().items()}


def test_the_contact_point_names_only_headers_the_webhook_reads():
    named = set(re.findall(r"X-Grafana-[A-Za-z-]+", CONTACT_POINTS))
    timestamp_header = example_env()["WEBHOOK_HMAC_TIMESTAMP_HEADER"]
    assert named <= {SIGNATURE_HEADER, timestamp_header}, named


def test_the_timestamp_header_ships_on_and_bounds_replays():
    env = {**example_env(), "WEBHOOK_PASSWORD": "p", "WEBHOOK_HMAC_SECRET": "s"}
    config = read_config(env)
    assert config.hmac_timestamp_header == "X-Grafana-Alerting-Timestamp"
    assert config.hmac_max_skew == 300
    settings = yaml.safe_load(CONTACT_POINTS)["contactPoints"][0]["receivers"][0]["settings"]
    assert settings["hmacConfig"]["timestampHeader"] == "$WEBHOOK_HMAC_TIMESTAMP_HEADER"


def test_the_policy_describes_grafanas_retry():
    comments = " ".join(line.strip("# ") for line in POLICIES.splitlines()
                        if line.strip().startswith("#"))
    assert "again at the group's next group_interval" in comments
    assert "resolved notifications included" in comments
