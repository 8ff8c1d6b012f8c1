"""One OPC UA session at a time: connect, resolve `nsu=` ids against this session's namespace
array, subscribe, forward data changes; when the session dies, reconnect with capped back-off and
do it all again. Only a stop request ends `run()`."""

import asyncio
import logging
import math
import time

from opcua_bridge import config, readings
from opcua_bridge.loop_health import MARK, LoopHealth
from service_common.opcua import security
from service_common.opcua.client import make_client
from service_common.opcua.nodeid import UnknownNamespace
from service_common.opcua.nodes_file import LOOP_MEASUREMENTS, read_nodes_file

log = logging.getLogger(__name__)

FIRST_RETRY = 1.0          # seconds; doubles up to settings.reconnect_max
NODES_POLL_S = 1.0         # how often the nodes file's mtime is checked


class Forwarder:
    """asyncua's subscription handler: each data change becomes a reading, or is counted.

    A node with `republish_interval_ms` has its last good value sent again, stamped with the
    current time, whenever no change came within that interval (`republish()`): a server sends
    only changes, and a setpoint unchanged for a day, or a value frozen far from it, would
    otherwise vanish from the alert rules' windows. Not after a bad or non-numeric value."""

    def __init__(self, nodes, out, stats, health=None):
        self.nodes = nodes        # client handle -> nodes_file.Node
        self.out = out
        self.stats = stats
        self.health = health or {}   # loop id -> loop_health.LoopHealth
        self.topics = {handle: f"{out.settings.sensors_root}/{node.device}/{node.measurement}"
                       for handle, node in nodes.items()}
        self.last_good = {}       # handle -> [value, monotonic time it was last sent]

    def datachange_notification(self, node, val, data):
        item = data.monitored_item
        config_node = self.nodes.get(item.ClientHandle)
        if config_node is None:
            return
        kind, value, ts = readings.classify(item.Value)
        health = self.health.get(config_node.device)
        if health is not None and config_node.measurement in LOOP_MEASUREMENTS:
            health.update(config_node.measurement, value, time.time())
        if kind != readings.GOOD:
            self.last_good.pop(item.ClientHandle, None)
        elif config_node.republish_interval_ms is not None:
            self.last_good[item.ClientHandle] = [value, time.monotonic()]
        if kind == readings.BAD_QUALITY:
            self.stats.bad(config_node, item.Value.StatusCode)
        elif kind == readings.NON_NUMERIC:
            self.stats.non_number(config_node, val)
        elif self.out.publish(self.topics[item.ClientHandle], readings.payload(value, ts),
                              replayable=True):
            self.stats.good(config_node)
        else:
            self.stats.drop(self.out.buffer_size)

    def republish(self, now=None):
        """Send again each last good value older than its node's republish interval."""
        now = time.monotonic() if now is None else now
        now_ms = None
        for handle, last in self.last_good.items():
            if (now - last[1]) * 1000 < self.nodes[handle].republish_interval_ms:
                continue
            now_ms = now_ms or time.time_ns() // 1_000_000
            last[1] = now
            if self.out.publish(self.topics[handle], readings.payload(last[0], now_ms),
                                replayable=True):
                self.stats.republished += 1
            else:
                self.stats.drop(self.out.buffer_size)

    async def every(self, seconds, action):
        """Call `action()` every `seconds` until cancelled; a failure is logged, not fatal."""
        while True:
            await asyncio.sleep(seconds)
            try:
                action()
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("%s failed", action.__name__)

    def publish_health(self, now=None):
        """Each loop's health figures as readings `sensors/<loop>/<figure>`, stamped now."""
        now = time.time() if now is None else now
        now_ms = int(now * 1000)
        root = self.out.settings.sensors_root
        for loop_id, health in self.health.items():
            sent = [(name, value, now_ms) for name, value in health.figures(now).items()]
            sent += [(MARK, severity, int(t * 1000)) for t, severity in health.take_marks()]
            for name, value, ts in sent:
                if not self.out.publish(f"{root}/{loop_id}/{name}", readings.payload(value, ts),
                                        replayable=True):
                    self.stats.drop(self.out.buffer_size)

    def status_change_notification(self, status):
        log.warning("subscription status changed: %s", getattr(status.Status, "name",
                                                                status.Status))


class Session:
    def __init__(self, settings, out, stats):
        self.settings = settings
        self.out = out
        self.stats = stats
        self.sessions = 0
        # Kept across sessions: a reconnect does not empty a loop's window.
        self.health = {loop.id: LoopHealth(loop.health) for loop in settings.loops} \
            if settings.health_interval_ms else {}
        self.reload = asyncio.Event()   # set by follow_nodes_file(): subscribe anew
        self.loop = None          # the asyncio loop, for writes coming from paho's thread
        self.client = None        # the asyncua client while a session is open
        self.writable = {}        # (device, measurement) -> (resolved NodeId, nodes_file.Node)
        self._variant_types = {}  # NodeId -> the node's VariantType, read at its first write

    def use_nodes(self, nodes_file):
        """Follow a changed (valid) nodes file: the open session subscribes anew; a loop whose
        health settings did not change keeps its window."""
        self.settings = config.with_nodes_file(self.settings, nodes_file)
        kept = {loop.id: self.health.get(loop.id) for loop in self.settings.loops}
        self.health = {
            loop.id: kept[loop.id] if kept[loop.id] is not None
            and kept[loop.id].settings == loop.health else LoopHealth(loop.health)
            for loop in self.settings.loops} if self.settings.health_interval_ms else {}
        self.reload.set()

    async def follow_nodes_file(self, stopping, every=NODES_POLL_S):
        """Poll the nodes file (mtime, size, inode) every `every` s; a valid new file is
        followed, an invalid one refused with a logged error (the old nodes stay)."""
        path = self.settings.nodes_path
        seen = _file_id(path)
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), every)
            except TimeoutError:
                pass
            current = _file_id(path)
            if current == seen:
                continue
            seen = current
            problems = []
            parsed = read_nodes_file(path, problems)
            if problems:
                log.error("the nodes file %s changed but is invalid; keeping the %d nodes in "
                          "use:\n%s", path, len(self.settings.nodes),
                          "\n".join(f"  - {p}" for p in problems))
                continue
            log.info("the nodes file %s changed: now %d nodes and %d loops", path,
                     len(parsed.nodes), len(parsed.loops))
            self.use_nodes(parsed)

    def request_write(self, device, measurement, payload, retained=False):
        """From paho's thread: one write request off opcua/<id>/write/<device>/<measurement>."""
        if retained:
            self._refuse(device, measurement, "a retained message (never re-applied)")
            return
        if self.loop is None:
            self._refuse(device, measurement, "the bridge is starting")
            return
        asyncio.run_coroutine_threadsafe(
            self.write(device, measurement, payload), self.loop)

    async def write(self, device, measurement, payload):
        """Write a number to a node declared writable, clamped to its limits; anything else is
        refused (counted, logged). The value comes back as the node's normal reading."""
        from asyncua import ua

        entry = self.writable.get((device, measurement))
        declared = any(n.writable and (n.device, n.measurement) == (device, measurement)
                       for n in self.settings.nodes)
        if not declared:
            return self._refuse(device, measurement, "not declared writable in the nodes file")
        value = _number(payload)
        if value is None:
            return self._refuse(device, measurement, f"{payload[:40]!r} is not a number")
        if entry is None or self.client is None:
            return self._refuse(device, measurement, "no OPC UA session with that node now")
        node_id, node = entry
        clamped = min(max(value, node.min), node.max)
        if clamped != value:
            log.warning("%s: write %g clamped to %g (limits %g..%g)", node.name, value, clamped,
                        node.min, node.max)
        try:
            opc_node = self.client.get_node(node_id)
            kind = self._variant_types.get(node_id)
            if kind is None:
                kind = await opc_node.read_data_type_as_variant_type()
                self._variant_types[node_id] = kind
            await opc_node.write_value(ua.DataValue(ua.Variant(_as(kind, clamped), kind)))
        except Exception as error:  # noqa: BLE001 - the server's refusal, or a lost session
            return self._refuse(device, measurement, f"the server refused it: {error}")
        self.stats.writes += 1
        log.info("%s: wrote %g", node.name, clamped)
        return True

    def _refuse(self, device, measurement, reason):
        self.stats.write_refused += 1
        log.warning("write to %s/%s refused: %s", device, measurement, reason)
        return False

    async def run(self, stopping):
        """Keep a session with live subscriptions until `stopping` (an asyncio.Event) is set."""
        from asyncua import ua

        delay = FIRST_RETRY
        self.loop = asyncio.get_running_loop()
        while not stopping.is_set():
            started = time.monotonic()
            try:
                await self._one_session(stopping)
            except security.UntrustedServer as error:
                log.error("%s", error)
            except (TimeoutError, OSError, ConnectionError, ua.UaError) as error:
                log.warning("OPC UA session with %s failed: %s", self.settings.endpoint,
                            error or type(error).__name__)
            except Exception:  # noqa: BLE001 - a library surprise must not end the bridge
                log.exception("OPC UA session with %s failed", self.settings.endpoint)
            self.stats.session_state = 0
            if time.monotonic() - started > 2 * self.settings.reconnect_max:
                delay = FIRST_RETRY   # the session lived a while: this is a fresh failure
            if stopping.is_set():
                break
            log.info("reconnecting in %.1f s", delay)
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, self.settings.reconnect_max)

    async def _one_session(self, stopping):
        client = await make_client(self.settings, self.settings.mqtt.client_id)
        lost = asyncio.Event()

        async def on_lost(error):
            log.warning("OPC UA connection lost: %s", error or type(error).__name__)
            lost.set()

        client.connection_lost_callback = on_lost
        await client.connect()
        try:
            subscription = None
            while True:
                self.reload.clear()
                if subscription is not None:   # the nodes file changed: subscribe anew
                    self.writable, self._variant_types = {}, {}
                    await subscription.delete()
                forwarder, subscription = await self._subscribe(client)
                self.client = client
                if self.stats.session_state == 0:
                    self.stats.session_state = 1
                    if self.sessions:
                        self.stats.reconnects += 1
                    self.sessions += 1
                    log.info("session open with %s", self.settings.endpoint)
                waiters = [asyncio.ensure_future(lost.wait()),
                           asyncio.ensure_future(stopping.wait()),
                           asyncio.ensure_future(self.reload.wait())]
                tasks = list(waiters)
                tick = _republish_tick(self.settings.nodes)
                if tick is not None:
                    tasks.append(asyncio.ensure_future(forwarder.every(tick, forwarder.republish)))
                if self.health:
                    tasks.append(asyncio.ensure_future(forwarder.every(
                        self.settings.health_interval_ms / 1000, forwarder.publish_health)))
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:
                    task.cancel()
                if lost.is_set() or stopping.is_set():
                    break
        finally:
            self.stats.session_state = 0
            self.client = None
            self.writable, self._variant_types = {}, {}
            for health in self.health.values():
                health.forget(time.time())
            try:
                await asyncio.wait_for(client.disconnect(), self.settings.timeout)
            except Exception:  # noqa: BLE001 - the session is gone either way
                log.debug("disconnect after a lost session failed", exc_info=True)

    async def _subscribe(self, client):
        """Monitored items for every node this server knows; the others are reported by name."""
        from asyncua import ua

        namespaces = await client.get_namespace_array()
        nodes, requests, unknown = {}, [], []
        for handle, node in enumerate(self.settings.nodes, start=1):
            try:
                node_id = node.ref.resolve(namespaces)
            except UnknownNamespace as error:
                unknown.append((node, str(error)))
                continue
            nodes[handle] = node
            requests.append(_request(ua, handle, node_id, node))
            if node.writable:
                self.writable[(node.device, node.measurement)] = (node_id, node)
        forwarder = Forwarder(nodes, self.out, self.stats, self.health)
        subscription = await client.create_subscription(self.settings.publishing_interval_ms,
                                                        forwarder)
        results = await subscription.create_monitored_items(requests) if requests else []
        for request, result in zip(requests, results):
            if isinstance(result, ua.StatusCode):
                handle = request.RequestedParameters.ClientHandle
                unknown.append((nodes.pop(handle), result.name))
        for node, reason in unknown:
            log.error("%s: not subscribed: %s", node.name, reason)
        self.stats.unknown_nodes = len(unknown)
        log.info("subscribed to %d of %d nodes (publishing every %g ms)", len(nodes),
                 len(self.settings.nodes), self.settings.publishing_interval_ms)
        return forwarder, subscription


def _file_id(path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


_INTEGERS = {"SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"}


def _number(payload):
    """The finite number a write request's payload holds (plain text, e.g. `42.5`), or None."""
    try:
        value = float(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _as(kind, value):
    """The value in the node's own type (integers rounded; a Boolean is value != 0)."""
    if kind.name in _INTEGERS:
        return int(round(value))
    if kind.name == "Boolean":
        return value != 0
    return value


def _republish_tick(nodes):
    """Seconds between checks for values to republish (a tenth of the shortest interval, at
    most 1 s), or None when no node republishes."""
    intervals = [node.republish_interval_ms for node in nodes
                 if node.republish_interval_ms is not None]
    return min(1.0, min(intervals) / 10_000) if intervals else None


def _request(ua, handle, node_id, node):
    parameters = ua.MonitoringParameters()
    parameters.ClientHandle = handle
    parameters.SamplingInterval = node.sampling_interval_ms
    parameters.QueueSize = node.queue_size
    parameters.DiscardOldest = True
    if node.deadband is not None:
        band = ua.DataChangeFilter()
        band.Trigger = ua.DataChangeTrigger.StatusValue
        band.DeadbandType = ua.DeadbandType.Absolute
        band.DeadbandValue = node.deadband
        parameters.Filter = band
    item = ua.ReadValueId()
    item.NodeId = node_id
    item.AttributeId = ua.AttributeIds.Value
    request = ua.MonitoredItemCreateRequest()
    request.ItemToMonitor = item
    request.MonitoringMode = ua.MonitoringMode.Reporting
    request.RequestedParameters = parameters
    return request
