"""A broker whose ACL refuses $SYS to the listener: readings flow as usual and no broker_* field
is written. (mosquitto 2.0 grants the subscription and sends nothing; a broker that refuses it
in its SUBACK gets one INFO line.)"""

import pytest

from devstack.wait import wait_until
from tests.listener.conftest import latest_stats, points, wait_count

# Lines before any `user` line apply to anonymous clients, as the harness's clients are.
ACL = """\
topic readwrite sensors/#
topic read status/#
pattern write status/%c
"""


@pytest.fixture
def mosquitto(mosquitto_factory, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    return mosquitto_factory(config=f"acl_file {acl}\nsys_interval 1\n")


def test_without_sys_rights_readings_are_stored_and_broker_fields_left_out(listener, publisher,
                                                                          db):
    publisher.publish("sensors/acl/pot", b"1")
    wait_count(db, 1, service=listener)
    def stats_span_ns():
        rows = points(db, "SELECT stored FROM listener_stats")
        return rows[-1]["time"] - rows[0]["time"] if rows else 0
    # Past several of the broker's 1 s $SYS intervals: the counters would have arrived by now.
    wait_until(lambda: stats_span_ns() > 3e9, 15, interval=0.2)
    stats = latest_stats(db)
    assert stats["stored"] == 1
    assert not [field for field in stats if field.startswith("broker_")]
    assert "ERROR" not in listener.log()
