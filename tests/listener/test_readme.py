"""listener/README.md names every setting the listener reads and every listener_stats field
(.env.example holds the defaults, listener/stats.py the fields)."""

import re

from devstack.paths import ROOT
from listener.broker_stats import BROKER_COUNTERS
from listener.config import read_settings
from listener.stats import KINDS, Stats
from service_common.config import EnvReader

README = (ROOT / "listener" / "README.md").read_text()


def test_every_listener_setting_is_named(monkeypatch):
    names = []
    raw = EnvReader.raw
    monkeypatch.setattr(EnvReader, "raw", lambda self, name: names.append(name) or raw(self, name))
    read_settings({})
    names = [name for name in names if re.match(r"(LISTENER|INFLUXDB|MQTT)_", name)]
    assert "LISTENER_QOS" in names
    missing = [name for name in names if f"`{name}`" not in README]
    assert not missing, f"not in listener/README.md: {missing}"


def test_every_listener_stats_field_is_named():
    fields = [f for f in Stats().fields() if not f.startswith("rejected_")]
    fields += list(BROKER_COUNTERS.values())
    missing = [field for field in fields if f"`{field}`" not in README]
    assert not missing, f"listener_stats fields not in listener/README.md: {missing}"
    for topic in BROKER_COUNTERS:
        assert topic.rsplit("/", 2)[-1] in README


def test_every_rejection_kind_is_in_the_reference():
    reference = (ROOT / "docs" / "listener.md").read_text()
    missing = [kind for kind in KINDS if f"| `{kind}` |" not in reference]
    assert not missing, f"rejection kinds not in docs/listener.md: {missing}"
