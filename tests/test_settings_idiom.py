"""One idiom for the services' settings (service_common/config.py): each default is written once,
on its settings dataclass's field, and the readers take it from there; the services' client ids
come from one table (service_common/service_ids.py), to which `scripts/` is tied."""

import ast
import inspect

import pytest

from devstack.paths import ROOT
from listener.config import ListenerSettings, read_settings
from opcua_bridge.config import read_settings as read_bridge_settings
from service_common import service_ids
from service_common.config import EnvReader, defaults
from service_common.mqtt import MqttSettings, read_mqtt_settings
from service_common.opcua.connection import read_connection
from tests.support.tools import load_script
from webhook.config import WebhookConfig, read_config
from webhook.ingest_settings import read_ingest_settings

# Readers that follow the idiom: every service's, and the MQTT settings they share.
IDIOMATIC_READERS = [read_settings, read_config, read_mqtt_settings, read_bridge_settings,
                     read_ingest_settings, read_connection]
ENV_METHODS = {name for name, _ in inspect.getmembers(EnvReader, inspect.isfunction)} - {
    "raw", "check", "__init__"}
WEBHOOK_BASE = {"WEBHOOK_USERNAME": "grafana", "WEBHOOK_PASSWORD": "grafana-password"}


def literal_defaults(function):
    """`env.<type>(NAME, <literal>)` calls in `function`: a default written a second time."""
    tree = ast.parse(inspect.getsource(function).lstrip())
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ENV_METHODS and len(node.args) >= 2):
            if _literal(node.args[1]):
                found.append(ast.unparse(node))
    return found


def _literal(default):
    """A constant other than None (no default), or a tuple or list of constants: a computed
    default such as the listener's `<MQTT_SENSORS_ROOT>/+/+` is no second copy."""
    if isinstance(default, (ast.Tuple, ast.List)):
        return all(isinstance(item, ast.Constant) for item in default.elts)
    return isinstance(default, ast.Constant) and default.value is not None


@pytest.mark.parametrize("reader", IDIOMATIC_READERS, ids=lambda r: r.__module__)
def test_readers_pass_no_literal_default(reader):
    assert literal_defaults(reader) == []


def test_the_literal_check_finds_a_literal_default():
    def reader(env):
        return (env.int("X_PORT", 5000, 1, 65535), env.str("X_HOST", default.host),  # noqa: F821
                env.list("X_TOPICS", ("a", "b")), env.str("X_USER", None))
    assert literal_defaults(reader) == ["env.int('X_PORT', 5000, 1, 65535)",
                                        "env.list('X_TOPICS', ('a', 'b'))"]


def unchanged(settings, settings_class, computed=()):
    """Fields of `settings` that differ from their dataclass default."""
    return {name: (getattr(settings, name), value)
            for name, value in vars(defaults(settings_class)).items()
            if name not in computed and getattr(settings, name) != value}


def test_an_empty_environment_gives_the_listeners_dataclass_defaults():
    settings = read_settings({})
    # broker_stats_mqtt: the second connection's settings are made from the first's.
    assert unchanged(settings, ListenerSettings, computed=("broker_stats_mqtt",)) == {}
    assert unchanged(settings.mqtt, MqttSettings, computed=("client_id",)) == {}


def test_an_empty_environment_gives_the_webhooks_dataclass_defaults():
    # ingest: its settings depend on the webhook's (tests/ingest/test_settings.py)
    assert unchanged(read_config(WEBHOOK_BASE), WebhookConfig, computed=("ingest",)) == {}


def test_defaults_of_a_dataclass_with_required_fields_and_factories():
    assert vars(defaults(WebhookConfig))["port"] == 5000
    assert "username" not in vars(defaults(WebhookConfig))
    assert defaults(ListenerSettings).reading_rules == ListenerSettings.reading_rules


def _bridge_reader(environ):
    from opcua_bridge.config import read_settings as read_bridge
    return read_bridge(environ, with_nodes=False)


READERS = {
    "LISTENER": (read_settings, {}),
    "WEBHOOK": (read_config, WEBHOOK_BASE),
    "OPCUA": (_bridge_reader, {"OPCUA_ENDPOINT": "opc.tcp://plc:4840/"}),
}


@pytest.mark.parametrize("prefix", READERS)
def test_each_reader_defaults_to_its_id_in_the_table(prefix):
    if prefix == "OPCUA":
        pytest.importorskip("asyncua")
    reader, environ = READERS[prefix]
    assert reader(dict(environ)).mqtt.client_id == service_ids.BY_PREFIX[prefix]


def test_a_prefix_outside_the_table_is_a_mistake():
    with pytest.raises(KeyError):
        read_mqtt_settings(EnvReader({}), "NOSUCH")


# --- scripts/ (standard library only, run before any venv) against the table ------------------

def present_services():
    """The ids of the services whose package is in this checkout (actions/ and console/ join
    as they are added)."""
    return {sid for sid in service_ids.ALL if (ROOT / sid.replace("-", "_")).is_dir()}


def test_every_present_service_has_a_broker_user_made_by_make_secrets():
    users = load_script("make_secrets").MQTT_USERS
    # listener-stats: the listener's second connection, for the broker's $SYS counters.
    assert set(users) - {"listener-stats"} <= service_ids.ALL, "a broker user that is no service id"
    assert present_services() <= set(users), "a service without its broker user"
    for user, setting in users.items():
        assert setting == f"MQTT_{user.upper().replace('-', '_')}_PASSWORD"


def test_no_board_may_take_a_service_id():
    reserved = load_script("devices").RESERVED
    assert present_services() <= reserved
