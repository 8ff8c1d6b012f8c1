"""The state file is the webhook's truth: saved before any success is reported, restored at
start-up instead of the broker's retained copy. On an in-memory link (no server); the power cut
with real processes is tests/powercut/test_alarms.py."""

import json
import shutil

import pytest

from devstack.wait import wait_until
from tests.support.fakes import FakeLink
from tests.support.webhook import instance, unified, webhook_env
from webhook.config import read_config
from webhook.notification import parse
from webhook.publisher import AlertPublisher, StateNotSaved
from webhook.state_file import FILE_NAME, StateFile, StateFileError

STATE = "alerts/_webhook/webhook/state"
FIRING = parse(unified(instance("Pot high", "firing", "f1", device="esp32-a")))
RESOLVED = parse(unified(instance("Pot high", "resolved", "f1", device="esp32-a")))


def started(folder, retained=None, **env):
    link = FakeLink(retained)
    publisher = AlertPublisher(read_config(webhook_env(WEBHOOK_STATE_DIR=folder, **env)),
                               link=link)
    publisher.start()
    wait_until(lambda: link.online, 5, message="never said online")
    return publisher, link


def saved_firing(folder):
    document = json.loads((folder / FILE_NAME).read_bytes())
    return document["alerts"].get("pot-high", {}).get("firing", {})


def test_the_file_holds_the_new_state_before_anything_is_published(tmp_path):
    publisher, link = started(tmp_path)
    on_disk = []
    original = link.publish_and_wait
    link.publish_and_wait = lambda *a, **k: on_disk.append(saved_firing(tmp_path)) or \
        original(*a, **k)
    publisher.apply(FIRING)
    assert on_disk and all(firing == {"f1": "esp32-a"} for firing in on_disk)


def test_restart_restores_from_the_file_not_from_a_stale_broker(tmp_path):
    publisher, link = started(tmp_path)
    publisher.apply(FIRING)
    stale = dict(link.retained)  # the broker's snapshot while the alarm fired
    publisher.apply(RESOLVED)
    publisher.close()
    # The broker comes back from the older snapshot: the resolve is missing from it.
    publisher, link = started(tmp_path, retained=stale)
    assert link.reads == []  # nothing read back from the broker
    assert link.retained["alerts/pot-high"] == b"0"
    assert link.retained["alerts/pot-high/esp32-a"] == b"0"


def test_restart_republishes_what_the_broker_lost(tmp_path):
    publisher, link = started(tmp_path)
    publisher.apply(FIRING)
    publisher.close()
    publisher, link = started(tmp_path, retained={})  # the broker lost everything
    assert link.retained["alerts/pot-high"] == b"1"
    assert link.retained["alerts/pot-high/esp32-a"] == b"1"


def test_annunciator_and_acknowledgement_survive_from_the_file(tmp_path):
    publisher, link = started(tmp_path, WEBHOOK_ANNUNCIATOR="isa")
    publisher.apply(FIRING)
    publisher.acknowledge("pot-high", "esp32-a", by="esp32-a")
    stale = dict(link.retained)
    publisher.close()
    stale["alerts/pot-high/esp32-a/annunciator"] = b"unacked"
    publisher, link = started(tmp_path, retained=stale, WEBHOOK_ANNUNCIATOR="isa")
    assert link.retained["alerts/pot-high/esp32-a/annunciator"] == b"acked"


def test_without_a_file_the_broker_is_read_once_and_the_file_written(tmp_path):
    publisher, link = started(tmp_path / "new")
    publisher.apply(FIRING)
    retained = dict(link.retained)
    publisher.close()
    publisher, link = started(tmp_path / "other", retained=retained)  # an older webhook's data
    assert link.reads  # read back from the broker
    wait_until(lambda: (tmp_path / "other" / FILE_NAME).exists(), 5)
    assert saved_firing(tmp_path / "other") == {"f1": "esp32-a"}


def test_an_unreadable_state_folder_stops_the_start(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    publisher = AlertPublisher(read_config(webhook_env(WEBHOOK_STATE_DIR=blocker / "state")),
                               link=FakeLink())
    with pytest.raises(StateFileError, match="WEBHOOK_STATE_DIR"):
        publisher.start()


def test_a_state_that_cannot_be_saved_is_503_and_nothing_is_published(tmp_path):
    folder = tmp_path / "state"
    publisher, link = started(folder)
    shutil.rmtree(folder)
    folder.write_text("the disk went read-only")  # no folder to save in any more
    link.published.clear()
    with pytest.raises(StateNotSaved, match="WEBHOOK_STATE_DIR"):
        publisher.apply(FIRING)
    assert link.published == []
    assert publisher.counts_snapshot()["state_unsaved"] == 1


def test_a_half_written_temporary_file_is_ignored(tmp_path):
    state = StateFile(tmp_path)
    state.save(b'{"old": true}')
    (tmp_path / f".{FILE_NAME}-x1y2.tmp").write_bytes(b'{"new": tr')  # the power went mid-write
    assert state.load() == b'{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]
    state.save(b'{"new": true}')
    assert state.load() == b'{"new": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]


def test_nothing_saved_yet_is_none(tmp_path):
    assert StateFile(tmp_path / "missing").load() is None


def test_online_is_repeated_as_a_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr("webhook.publisher.HEARTBEAT_S", 0.05)
    link = FakeLink()
    said = []
    link.publish_online = lambda: said.append("online")
    publisher = AlertPublisher(read_config(webhook_env(WEBHOOK_STATE_DIR=tmp_path)), link=link)
    publisher.start()
    try:
        wait_until(lambda: len(said) >= 3, 5, message="online said once, never repeated")
    finally:
        publisher.close()
