"""What Grafana's webhook contact point sends: the unified notification body, posted with basic
auth and Grafana's HMAC signature (signed by the webhook's own `sign`, so the two cannot drift)."""

import json
import logging
import time
from datetime import UTC, datetime

import requests

from devstack.grafana_standin.evaluate import ALERTING, NORMAL, Instance
from webhook.auth import SIGNATURE_HEADER, sign

log = logging.getLogger("grafana-standin")
ZERO_TIME = "0001-01-01T00:00:00Z"
EXTERNAL_URL = "http://localhost:3000/"


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def notification(group_labels, alerts, receiver="webhook", external_url=EXTERNAL_URL):
    """Grafana's unified-alerting webhook body for one group: `alerts` is [(rule, instance)]."""
    entries = [_alert_entry(rule, instance, external_url) for rule, instance in alerts]
    firing = [e for e in entries if e["status"] == "firing"]
    common = dict(set.intersection(*(set(e["labels"].items()) for e in entries))) \
        if entries else {}
    status = "firing" if firing else "resolved"
    title = " ".join(str(v) for v in group_labels.values())
    return {
        "receiver": receiver,
        "status": status,
        "orgId": 1,
        "alerts": entries,
        "groupLabels": dict(group_labels),
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": external_url,
        "version": "1",
        "groupKey": "{}:{" + ",".join(f'{k}="{v}"' for k, v in group_labels.items()) + "}",
        "truncatedAlerts": 0,
        "title": f"[{status.upper()}:{len(firing)}] {title}",
        "state": "alerting" if firing else "ok",
        "message": f"{len(firing)} firing, {len(entries) - len(firing)} resolved",
    }


def _alert_entry(rule, instance, external_url):
    firing = instance.state == ALERTING
    values = dict(instance.values)
    return {
        "status": "firing" if firing else "resolved",
        "labels": dict(instance.labels),
        "annotations": dict(rule.annotations),
        "startsAt": rfc3339(instance.starts_at or 0),
        "endsAt": ZERO_TIME if firing else rfc3339(instance.ends_at or 0),
        "generatorURL": f"{external_url}alerting/grafana/{rule.uid}/view",
        "fingerprint": instance.fingerprint,
        "silenceURL": "",
        "dashboardURL": "",
        "panelURL": "",
        "values": values,
        "valueString": ", ".join(
            f"[ var='{ref}' labels={{{_label_text(instance.series_labels)}}} value={value} ]"
            for ref, value in values.items()),
    }


def _label_text(labels):
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def example_notifications(rule, device="bench01"):
    """(firing, resolved) bodies of one instance of `rule`, as Grafana sends them."""
    labels = {**rule.labels, "alertname": rule.title, "grafana_folder": rule.folder,
              "device": device}
    group = {"alertname": rule.title}
    firing = Instance(labels=labels, series_labels={"device": device}, state=ALERTING,
                      starts_at=1.0)
    resolved = Instance(labels=labels, series_labels={"device": device}, state=NORMAL,
                        starts_at=1.0, ends_at=2.0)
    return notification(group, [(rule, firing)]), notification(group, [(rule, resolved)])


class WebhookPoster:
    """Posts a notification the way Grafana's webhook contact point does."""

    def __init__(self, url, username=None, password=None, hmac_secret=None,
                 timestamp_header=None, timeout=5.0):
        self.url, self.timeout = url, timeout
        self.auth = (username, password) if username else None
        self.hmac_secret, self.timestamp_header = hmac_secret, timestamp_header
        self.session = requests.Session()

    def post(self, body):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.hmac_secret:
            stamp = None
            if self.timestamp_header:
                stamp = str(int(time.time()))
                headers[self.timestamp_header] = stamp
            headers[SIGNATURE_HEADER] = sign(self.hmac_secret, data, stamp)
        try:
            answer = self.session.post(self.url, data=data, headers=headers, auth=self.auth,
                                       timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("webhook unreachable: %s", error)
            return False
        if not answer.ok:
            log.warning("webhook answered %s: %s", answer.status_code, answer.text[:200])
        return answer.ok
