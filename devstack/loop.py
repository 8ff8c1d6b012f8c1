"""The whole closed loop on one machine: real mosquitto and InfluxDB, the real listener and
webhook commands, the firmware simulators and the Grafana stand-in. Used by `make demo`, the
end-to-end tests and the loop benchmarks.
"""

import base64
import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import InfluxDB, Mosquitto, Service, free_port
from devstack.wait import wait_until

FIRMWARE_BUILD = ROOT / "build" / "firmware"
ALERT = "pot-high"
LED_PREFIX = "LED "
BROKER_CONFIG = ROOT / "mosquitto" / "config" / "mosquitto.conf"


def broker_settings():
    """The queueing settings of the shipped broker config, so the loop behaves as deployed."""
    wanted = ("max_inflight_messages", "max_queued_messages", "max_queued_bytes",
              "queue_qos0_messages", "set_tcp_nodelay")
    try:
        lines = BROKER_CONFIG.read_text().splitlines()
    except OSError:
        return ""
    return "\n".join(line for line in lines if line.split(" ", 1)[0] in wanted)


def led_states(log_path):
    """Every LED state an indicator simulator printed to its log, e.g. ['unknown', 'green']."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        return []
    return [line[len(LED_PREFIX):].strip() for line in text.splitlines()
            if line.startswith(LED_PREFIX)]


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=0.5) as answer:  # noqa: S310
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


class Loop:
    """Start with `with Loop() as loop:`; every part can be stopped, killed and restarted."""

    PARTS = ("listener", "webhook", "indicator", "sensor", "standin")

    def __init__(self, evaluation_interval=1.0, window=3.0, sensor_interval_ms=200,
                 device="esp32-demo01", indicator="esp8266-demo01", parts=PARTS,
                 deployed_timings=False, rules=(ALERT,), more_indicators=(), annunciator="isa"):
        """`deployed_timings`: the stand-in keeps every provisioned timing (rule interval and
        window, group_wait, group_interval) instead of the fast ones given here. `rules`: the
        uids of the provisioned rules the stand-in evaluates."""
        self.wanted = set(parts)
        self.deployed_timings, self.rules = deployed_timings, tuple(rules)
        self.device, self.indicator_id = device, indicator
        self.more_indicator_ids = tuple(more_indicators)  # more boards on the same alert
        self.annunciator = annunciator
        self.ack_auth = ("operator", secrets.token_urlsafe(16))
        self.indicators = {}
        self.evaluation_interval, self.window = evaluation_interval, window
        self.sensor_interval_ms = sensor_interval_ms
        self.webhook_auth = ("grafana", secrets.token_urlsafe(16))
        self.parts = []
        self.broker = self.influx = self.listener = self.webhook = None
        self.indicator = self.sensor = self.standin = self.probe = None

    # -- parts ---------------------------------------------------------------------------------

    def start(self):
        for binary in ("sensor-sim", "indicator-sim"):
            if not (FIRMWARE_BUILD / binary).exists():
                raise FileNotFoundError(f"{FIRMWARE_BUILD / binary} missing: run `make firmware`")
        self.broker = self._add(Mosquitto(config=broker_settings()))
        self.influx = self._add(InfluxDB())
        self.probe = Probe(self.broker.host, self.broker.port,
                           ["status/#", "alerts/#", "sensors/#"]).start()
        self.webhook_port = free_port()
        if "listener" in self.wanted:
            self._add(attribute="listener", part=Service(
                "listener", [sys.executable, "-m", "listener"], env=self.listener_env(),
                ready=lambda: self.probe.last("status/listener") == b"online"))
        if "webhook" in self.wanted:
            self._add(attribute="webhook", part=Service(
                "webhook", [sys.executable, "-m", "webhook"], env=self.webhook_env(),
                port=self.webhook_port, ready=lambda: http_ok(f"{self.webhook_url}/healthz")))
        if "indicator" in self.wanted:
            for board in (self.indicator_id, *self.more_indicator_ids):
                self.indicators[board] = self._add(self._indicator(board))
            self.indicator = self.indicators[self.indicator_id]
        if "sensor" in self.wanted:
            self._add(attribute="sensor", part=Service(
                "sensor-sim", [str(FIRMWARE_BUILD / "sensor-sim"), *self._broker_args(),
                               "--device-id", self.device,
                               "--interval-ms", str(self.sensor_interval_ms)],
                stdin=subprocess.PIPE,
                ready=lambda: self.probe.last(f"status/{self.device}") == b"online"))
        if "standin" in self.wanted:
            self._add(attribute="standin", part=Service(
                "grafana-standin",
                [sys.executable, "-m", "devstack.grafana_standin",
                 "--influxdb-url", self.influx.url, "--database", "iot",
                 "--webhook-url", f"{self.webhook_url}/alert",
                 *(arg for uid in self.rules for arg in ("--rule", uid)),
                 *self._standin_timings()],
                env={"WEBHOOK_USERNAME": self.webhook_auth[0],
                     "WEBHOOK_PASSWORD": self.webhook_auth[1]}))
        return self

    def _standin_timings(self):
        if self.deployed_timings:
            return []
        return ["--interval", str(self.evaluation_interval), "--window", str(self.window),
                "--group-wait", "0", "--group-interval", str(self.evaluation_interval)]

    def _indicator(self, board):
        service = Service(
            "indicator-sim", [str(FIRMWARE_BUILD / "indicator-sim"), *self._broker_args(),
                              "--device-id", board, "--topic", f"alerts/{ALERT}"],
            stdin=subprocess.PIPE, ready=lambda: led_states(service.log_path))
        return service

    def _add(self, part, attribute=None):
        if attribute:
            setattr(self, attribute, part)
        self.parts.append(part)
        part.start()
        return part

    def _broker_args(self):
        return ["--host", self.broker.host, "--port", str(self.broker.port)]

    @property
    def webhook_url(self):
        return f"http://127.0.0.1:{self.webhook_port}"

    def listener_env(self):
        return {
            "MQTT_HOST": self.broker.host, "MQTT_PORT": str(self.broker.port),
            "INFLUXDB_URL": self.influx.url, "INFLUXDB_DATABASE": "iot",
            "LISTENER_SPOOL_DIR": str(self.influx.workdir / "listener-spool"),
            "LISTENER_STATS_INTERVAL": "2",
            "LISTENER_LOG_LEVEL": "WARNING",
        }

    def webhook_env(self):
        return {
            "MQTT_HOST": self.broker.host, "MQTT_PORT": str(self.broker.port),
            "WEBHOOK_USERNAME": self.webhook_auth[0], "WEBHOOK_PASSWORD": self.webhook_auth[1],
            "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(self.webhook_port),
            "WEBHOOK_KNOWN_ALERTS": ALERT, "WEBHOOK_LOG_LEVEL": "WARNING",
            "WEBHOOK_ANNUNCIATOR": self.annunciator,
            "ACK_USERNAME": self.ack_auth[0], "ACK_PASSWORD": self.ack_auth[1],
            "WEBHOOK_STATE_DIR": str(self.influx.workdir / "webhook-state"),
        }

    def close(self):
        if self.probe:
            self.probe.close()
        for part in reversed(self.parts):
            part.close()
        self.parts.clear()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    # -- inputs and observations ----------------------------------------------------------------

    def set_pot(self, raw_adc):
        """Feed one raw 12-bit ADC reading to the sensor simulator, as if the knob moved."""
        self.sensor.process.stdin.write(f"{int(raw_adc)}\n".encode())
        self.sensor.process.stdin.flush()

    def leds(self, board=None):
        return led_states(self.indicators[board or self.indicator_id].log_path)

    def led(self, board=None):
        shown = self.leds(board)
        return shown[-1] if shown else None

    def wait_for_led(self, colour, timeout=30, board=None):
        """Wait until the indicator's latest state is `colour`."""
        return wait_until(lambda: self.led(board) == colour, timeout,
                          message=f"indicator never showed {colour}; it showed "
                                  f"{self.leds(board)}")

    def wait_for_colour(self, colour, timeout=30, board=None):
        """Wait until the indicator shows `colour` ("red", "green"), steady or flashing (the
        annunciator's states)."""
        return wait_until(lambda: (self.led(board) or "").startswith(colour), timeout,
                          message=f"indicator never showed {colour}; it showed "
                                  f"{self.leds(board)}")

    def press(self, board=None):
        """Press an indicator's acknowledge button (its FLASH button on the board)."""
        process = self.indicators[board or self.indicator_id].process
        process.stdin.write(b"press\n")
        process.stdin.flush()

    def http_ack(self, device=None):
        """POST /ack/<alert>[/<device>] as the operator: (status, decoded JSON answer)."""
        path = f"/ack/{ALERT}" + (f"/{device}" if device else "")
        request = urllib.request.Request(  # noqa: S310 - our own http:// URL
            self.webhook_url + path, data=b"", method="POST")
        token = base64.b64encode(":".join(self.ack_auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def journal(self):
        """(device, from, to, by) of every alarm journal row in InfluxDB, oldest first."""
        rows = self._query('SELECT "device", "from", "to", "by" FROM "alarm_journal"')
        return [(p["device"], p["from"], p["to"], p["by"]) for p in rows]

    def _query(self, query, **bind_params):
        """The rows of an InfluxQL query on database iot; none while InfluxDB is unavailable."""
        import influxdb

        client = influxdb.InfluxDBClient(self.influx.host, self.influx.port, database="iot")
        try:
            return list(client.query(query, bind_params=bind_params or None).get_points())
        except (OSError, influxdb.exceptions.InfluxDBClientError):
            return []
        finally:
            client.close()

    def stored_readings(self):
        """seq -> value of the sensor's readings stored in InfluxDB (one entry per point)."""
        rows = self._query('SELECT "seq", "value" FROM "pot" WHERE "device" = $device',
                           device=self.device)
        return [(p["seq"], p["value"]) for p in rows]

