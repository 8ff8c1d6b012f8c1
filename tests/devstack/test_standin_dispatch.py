"""The stand-in's model of Grafana's Alertmanager timing: group_wait, group_interval and
repeat_interval per group, read from the provisioned policy. Pure logic, no servers."""

import pytest
import yaml

from devstack.grafana_standin.__main__ import DEFAULT_FOLDER as PROVISIONED
from devstack.grafana_standin.dispatch import Dispatcher, Policy, load_policy
from devstack.grafana_standin.evaluate import ALERTING, NORMAL, Instance
from devstack.grafana_standin.rules import UnsupportedRule

POLICY = Policy(group_by=("alertname",), group_wait=1, group_interval=10, repeat_interval=60)


def alert(name, device, firing=True):
    return Instance(labels={"alertname": name, "device": device},
                    state=ALERTING if firing else NORMAL)


class Recorder:
    def __init__(self):
        self.sent, self.ok = [], True

    def __call__(self, group_labels, alerts):
        if self.ok:
            self.sent.append((group_labels["alertname"],
                              {i.labels["device"]: i.firing for _, i in alerts}))
        return self.ok


@pytest.fixture
def dispatcher():
    recorder = Recorder()
    return Dispatcher(POLICY, recorder), recorder


def test_a_new_group_waits_group_wait(dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=100)
    assert dispatcher.next_due() == 101
    dispatcher.flush_due(100.9)
    assert sent.sent == []
    dispatcher.flush_due(101)
    assert sent.sent == [("Pot high", {"a": True})]


def test_later_changes_wait_for_the_next_group_interval(dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    dispatcher.flush_due(1)
    dispatcher.receive(None, [alert("Pot high", "a"), alert("Pot high", "b")], now=2)
    dispatcher.flush_due(10.9)
    assert len(sent.sent) == 1
    dispatcher.flush_due(11)
    assert sent.sent[-1] == ("Pot high", {"a": True, "b": True})


def test_the_resolved_notification_waits_for_the_group_interval_then_the_group_empties(
        dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    dispatcher.flush_due(1)
    dispatcher.receive(None, [alert("Pot high", "a", firing=False)], now=3)
    dispatcher.flush_due(10)
    assert len(sent.sent) == 1
    dispatcher.flush_due(11)
    assert sent.sent[-1] == ("Pot high", {"a": False})
    assert [g.alerts for g in dispatcher.groups.values()] == [{}]
    dispatcher.receive(None, [alert("Pot high", "a")], now=12)
    assert dispatcher.next_due() == 21, "the empty group is kept until the maintenance at 30"


def test_a_flicker_within_one_interval_sends_nothing(dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    dispatcher.flush_due(1)
    dispatcher.receive(None, [alert("Pot high", "a", firing=False)], now=3)
    dispatcher.receive(None, [alert("Pot high", "a")], now=6)
    dispatcher.flush_due(11)
    assert len(sent.sent) == 1


def test_a_group_resolved_before_its_first_notification_sends_nothing(dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    dispatcher.receive(None, [alert("Pot high", "a", firing=False)], now=0.5)
    dispatcher.flush_due(1)
    assert sent.sent == [] and [g.alerts for g in dispatcher.groups.values()] == [{}]


def test_firing_alerts_repeat_every_repeat_interval(dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    for now in range(1, 62, 10):
        dispatcher.flush_due(now)
    assert len(sent.sent) == 2, "at 1 s and again at 61 s"


def test_a_failed_notification_is_sent_again_at_the_next_flush(dispatcher):
    dispatcher, sent = dispatcher
    sent.ok = False
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    dispatcher.flush_due(1)
    sent.ok = True
    dispatcher.flush_due(5)
    assert sent.sent == []
    dispatcher.flush_due(11)
    assert sent.sent == [("Pot high", {"a": True})]


def test_groups_are_separate_per_alertname(dispatcher):
    dispatcher, sent = dispatcher
    dispatcher.receive(None, [alert("Pot high", "a")], now=0)
    dispatcher.receive(None, [alert("Loop deviation", "tic101")], now=5)
    dispatcher.flush_due(1)
    dispatcher.flush_due(6)
    assert [name for name, _ in sent.sent] == ["Pot high", "Loop deviation"]


def test_the_provisioned_policy_is_read():
    policy = load_policy(PROVISIONED)
    assert policy.group_by == ("alertname",)
    assert (policy.group_wait, policy.group_interval) == (1, 10)
    assert policy.repeat_interval == 300


@pytest.mark.parametrize("extra,problem", [
    ({"routes": [{"receiver": "x"}]}, "routes"), ({"mute_time_intervals": ["night"]}, "mute"),
    ({"group_by": ["..."]}, r"\.\.\."),
])
def test_policies_it_does_not_implement_are_refused(tmp_path, extra, problem):
    policy = {"orgId": 1, "receiver": "r", **extra}
    (tmp_path / "policies.yaml").write_text(yaml.safe_dump({"apiVersion": 1,
                                                            "policies": [policy]}))
    with pytest.raises(UnsupportedRule, match=problem):
        load_policy(tmp_path)


def test_grafanas_defaults_apply_to_unset_timings(tmp_path):
    (tmp_path / "policies.yaml").write_text("policies: [{receiver: r}]")
    policy = load_policy(tmp_path)
    assert (policy.group_wait, policy.group_interval, policy.repeat_interval) == (
        30, 300, 4 * 3600)
    assert policy.group_by == ("grafana_folder", "alertname")


def fired(name, device, starts_at):
    instance = alert(name, device)
    instance.starts_at = starts_at
    return instance


def test_an_empty_group_is_kept_until_the_maintenance_and_a_refire_waits_for_its_tick():
    """Alertmanager removes empty groups every 30 s: a re-fire before that joins the old group
    and goes out at its next group_interval tick, not group_wait after it (issue 20 C)."""
    recorder = Recorder()
    dispatcher = Dispatcher(POLICY, recorder, started=0.0)  # maintenance at 30, 60, 90, 120 ...
    dispatcher.receive(None, [fired("Pot high", "a", 100)], now=100)
    assert dispatcher.flush_due(101) == 1  # group_wait; ticks at 111, 121 ...
    dispatcher.receive(None, [alert("Pot high", "a", firing=False)], now=110)
    assert dispatcher.flush_due(111) == 1  # resolved: the group is now empty
    assert dispatcher.next_due() is None
    dispatcher.receive(None, [fired("Pot high", "a", 115)], now=115)
    assert dispatcher.next_due() == 121  # the old group's tick, not 116
    assert dispatcher.flush_due(116) == 0
    assert dispatcher.flush_due(121) == 1
    assert recorder.sent[-1] == ("Pot high", {"a": True})


def test_after_the_maintenance_a_refire_starts_a_new_group():
    recorder = Recorder()
    dispatcher = Dispatcher(POLICY, recorder, started=0.0)
    dispatcher.receive(None, [fired("Pot high", "a", 100)], now=100)
    dispatcher.flush_due(101)
    dispatcher.receive(None, [alert("Pot high", "a", firing=False)], now=110)
    dispatcher.flush_due(111)  # empty at 111, removed by the maintenance at 120
    dispatcher.receive(None, [fired("Pot high", "a", 125)], now=125)
    assert dispatcher.next_due() == 126  # a new group: group_wait


def test_a_new_group_of_an_alert_older_than_group_wait_flushes_at_once():
    """Alertmanager's insert: a group that has not flushed yet and gets an alert that started
    more than group_wait ago flushes now (e.g. after a restart of Grafana)."""
    recorder = Recorder()
    dispatcher = Dispatcher(Policy(group_by=("alertname",), group_wait=30, group_interval=60,
                                   repeat_interval=600), recorder)
    dispatcher.receive(None, [fired("Pot high", "a", 50)], now=100)
    assert dispatcher.next_due() == 100
    assert dispatcher.flush_due(100) == 1
