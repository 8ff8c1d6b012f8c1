"""The shared contracts in service_common: the event journal, status liveness, service ids, files
replaced atomically, a service's start-up."""

import os

import pytest

from service_common import events, service_ids
from service_common.status import Liveness


def test_an_event_round_trips():
    event = events.Event(1_700_000_000_000, 3, "actions", "override", "shed-fan", "alice", "hand")
    assert events.decode(events.encode(event)) == event


@pytest.mark.parametrize("payload, kind", [
    (b"\xff", "not_utf8"),
    (b"{", "bad_json"),
    (b"[]", "wrong_shape"),
    (b'{"ts": "1", "source": "a", "kind": "k", "subject": "s"}', "wrong_shape"),
    (b'{"ts": 1, "n": 1000000, "source": "a", "kind": "k", "subject": "s"}', "wrong_shape"),
    (b'{"ts": 1, "source": "", "kind": "k", "subject": "s"}', "wrong_shape"),
    (b'{"ts": 1, "source": "a", "kind": "k", "subject": "s", "by": 3}', "wrong_shape"),
    (b'{"ts": 1, "source": "a", "kind": "k", "subject": "s", "text": 3}', "wrong_shape"),
], ids=["not-utf8", "not-json", "not-object", "ts-string", "n-too-big", "empty-source",
        "by-number", "text-number"])
def test_a_bad_event_is_refused_saying_how(payload, kind):
    with pytest.raises(events.BadEvent) as refused:
        events.decode(payload)
    assert refused.value.kind == kind


def test_the_clock_never_stamps_twice_the_same():
    clock = events.EventClock(now_ms=lambda: 5)
    assert [clock.stamp() for _ in range(3)] == [(5, 0), (5, 1), (5, 2)]


def test_the_clock_never_goes_back():
    times = iter([10, 9, 11])
    clock = events.EventClock(now_ms=lambda: next(times))
    assert [clock.stamp() for _ in range(3)] == [(10, 0), (10, 1), (11, 0)]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_retained_online_is_not_trusted():
    liveness = Liveness(window_s=15, clock=Clock())
    liveness.seen(b"online", retained=True)
    assert not liveness.live()


def test_a_live_online_holds_for_the_window_then_lapses():
    clock = Clock()
    liveness = Liveness(window_s=15, clock=clock)
    liveness.seen(b"online", retained=False)
    clock.now += 15
    assert liveness.live()
    clock.now += 0.1
    assert not liveness.live()


def test_offline_ends_liveness_at_once():
    liveness = Liveness(window_s=15, clock=Clock())
    liveness.seen(b"online", retained=False)
    liveness.seen(b"offline", retained=False)
    assert not liveness.live()


def test_every_service_has_one_default_id():
    assert len(service_ids.ALL) == len(service_ids.BY_PREFIX)
    assert service_ids.BY_PREFIX["OPCUA"] == "opcua-bridge"


def test_a_replaced_file_is_whole_with_its_mode_and_no_temporary_left(tmp_path):
    from service_common.files import replace_atomically
    target = tmp_path / "sub" / "users.json"
    replace_atomically(target, "old")
    replace_atomically(target, "new", mode=0o644)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [path.name for path in target.parent.iterdir()] == ["users.json"]


def test_a_replaced_file_and_then_its_folder_are_fsynced(tmp_path, monkeypatch):
    from service_common.files import replace_atomically
    from tests.support.fsyncs import record_fsyncs
    synced = record_fsyncs(monkeypatch)
    replace_atomically(tmp_path / "outputs.json", "{}")
    assert synced == [(False, (tmp_path / "outputs.json").stat().st_ino),
                      (True, tmp_path.stat().st_ino)]


def test_a_replaced_file_can_keep_its_mode_and_the_owner_this_user_may_give(tmp_path,
                                                                           monkeypatch, caplog):
    from service_common.files import replace_atomically
    target = tmp_path / "ingest-users"
    replace_atomically(target, b"first\n", mode=0o640, keep_owner_and_mode=True)  # a new file
    assert target.stat().st_mode & 0o777 == 0o640
    old = target.stat()
    given = []

    def chown(path, uid, gid):
        given.append((uid, gid))
        if uid != -1:  # not root: only the group may be passed on, or nothing
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", chown)
    replace_atomically(target, "second\n", mode=0o600, keep_owner_and_mode=True)
    assert target.read_bytes() == b"second\n" and target.stat().st_mode & 0o777 == 0o640
    assert given == [(old.st_uid, old.st_gid), (-1, old.st_gid)]
    assert "now belongs to this user" not in caplog.text


def test_leftovers_of_an_interrupted_replace_are_removed_and_nothing_else(tmp_path):
    from service_common.files import remove_leftovers, replace_atomically
    target = tmp_path / "state.json"
    replace_atomically(target, "{}")
    for name in (".state.json-abc123.tmp", ".other.json-abc123.tmp", "state.json.bak"):
        (tmp_path / name).write_text("half")
    remove_leftovers(target)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".other.json-abc123.tmp", "state.json", "state.json.bak"]


def test_bad_settings_end_the_process_with_status_2_and_one_message(capsys):
    from service_common.config import ConfigError
    from service_common.startup import settings_or_exit

    def read(environ, with_outputs):
        if not with_outputs:
            raise ConfigError(["X is required"])
        return environ

    assert settings_or_exit("svc", read, {"X": "1"}, with_outputs=True) == {"X": "1"}
    with pytest.raises(SystemExit) as ended:
        settings_or_exit("svc", read, {}, with_outputs=False)
    assert ended.value.code == 2
    assert capsys.readouterr().err == "svc: invalid configuration:\n  - X is required\n"


class StoppedServer:
    def __init__(self, stop_by):
        self.stop_by, self.closed = stop_by, False

    def run(self):
        raise self.stop_by

    def close(self):
        self.closed = True


@pytest.mark.parametrize("stop_by", [SystemExit(0), KeyboardInterrupt()], ids=["sigterm", "ctrl-c"])
def test_a_served_server_is_closed_when_stopped(stop_by):
    from service_common.startup import serve
    server = StoppedServer(stop_by)
    serve(server)
    assert server.closed


def test_a_server_that_fails_is_closed_and_the_failure_raised():
    from service_common.startup import serve
    server = StoppedServer(OSError("socket gone"))
    with pytest.raises(OSError):
        serve(server)
    assert server.closed


def test_sigterm_raises_system_exit_0(monkeypatch):
    import signal

    from service_common.startup import stop_on_sigterm
    installed = {}
    monkeypatch.setattr(signal, "signal", lambda number, handler: installed.update({
        number: handler}))
    stop_on_sigterm()
    with pytest.raises(SystemExit) as ended:
        installed[signal.SIGTERM](signal.SIGTERM, None)
    assert ended.value.code == 0
