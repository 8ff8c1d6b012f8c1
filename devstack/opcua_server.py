"""An OPC UA test server for the bridge: `python -m devstack.opcua_server --port P --workdir W`.

Address space (string node ids, Kepware-like):
  Objects/Simulation Examples/Functions   ns=<sim>;s=Simulation Examples.Functions.<name>
      Ramp1 (Double, 0..100 step 1 per tick), Sine1 (Double, +-40, 10 s period),
      Random1 (Int32), Toggle1 (Boolean, flips every second), String1 (String),
      User1 (Double, writable, changes only when written), Quality1 (Double; status Bad
      after the stdin command `bad`, Good again after `good`)
  Objects/Plant/TIC101                    ns=<plant>;s=Plant.TIC101.<name>
      PV, SP (writable), OUT (%): a first-order process under a PI controller
  Objects/Plant/FIC102                    ns=<plant>;s=Plant.FIC102.<name>
      SP (writable, m3/h, starts at 12), PV: the feed flow, following SP (first order, 1 s)
  Objects/Plant/<mode>                    ns=<plant>;s=Plant.<mode>.<name>, mode one of
      Tuned, Oscillating, Sluggish, Saturated, Manual (HEALTH_LOOPS): PV, SP, OUT (%), MANUAL
      (Boolean, true in manual): the same process with dead time under five controllers, its
      setpoint stepping 45 <-> 55 every --loop-step-s (Saturated: SP 90 out of reach; Manual:
      OUT held at 40), for the loop health figures (docs/loops.md)
  Objects/Bench (with --bench-nodes N)    ns=<sim>;s=Bench.Value<i>, each changing every tick

Namespaces: SIM_URI is ns=2 (as Kepware's) and PLANT_URI ns=3, unless --namespace-offset N
registers N filler namespaces first (a restart with another offset moves every index).

Security: --security none,sign,encrypt (Basic256Sha256); the server's certificate is created in
the workdir on first start and kept. --user NAME:PASSWORD turns anonymous access off.
--trust-dir DIR accepts only client certificates found there (like Kepware's trust list).

Standard input, one command a line: `bad`, `good`, `set <name> <value>` (name: User1, SP,
FIC102.SP, ...).
"""

import argparse
import asyncio
import logging
import math
import random
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

SIM_URI = "urn:alertloop:devstack:simulation"
PLANT_URI = "urn:example:plant"
APPLICATION_URI = "urn:alertloop:devstack:opcua-server"
SIM_PREFIX = "Simulation Examples.Functions."
PLANT_PREFIX = "Plant.TIC101."
FLOW_PREFIX = "Plant.FIC102."
FLOW_SP = 12.0  # m3/h
FLOW_TAU_S = 1.0
POLICIES = {
    "none": ua.SecurityPolicyType.NoSecurity,
    "sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "encrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}

log = logging.getLogger("opcua_server")


class PasswordUsers:
    """One user, constant-time password check; no anonymous identity."""

    def __init__(self, username, password):
        self.username, self.password = username, password

    def get_user(self, iserver, username=None, password=None, certificate=None):
        import hmac

        if username is not None and hmac.compare_digest(username, self.username) \
                and hmac.compare_digest(password or "", self.password):
            return User(role=UserRole.User)
        return None


class Plant:
    """TIC101: first-order process PV' = (OUT - PV) / tau under a PI controller, OUT in 0..100 %."""

    def __init__(self, tau=5.0, kp=1.5, ti=3.0, sp=50.0):
        self.tau, self.kp, self.ti = tau, kp, ti
        self.sp, self.pv, self.integral = sp, sp, sp
        self.out = sp

    def step(self, dt):
        error = self.sp - self.pv
        self.integral = min(100.0, max(0.0, self.integral + self.kp * error * dt / self.ti))
        self.out = min(100.0, max(0.0, self.kp * error + self.integral))
        self.pv += (self.out - self.pv) * dt / self.tau
        return self.pv, self.sp, self.out


class HealthLoop:
    """A first-order process with dead time, PV' = (gain * OUT(t - dead) - PV) / tau, under a PI
    controller (OUT in 0..100 %), or held in manual. Every health loop shares the process
    (tau 5 s, dead time 1 s: ultimate period about 4 s) and differs in its controller."""

    def __init__(self, dt, kp, ti, gain=1.0, manual=False, fixed_sp=None, tau=5.0, dead=1.0):
        from collections import deque

        self.kp, self.ti, self.gain, self.tau, self.manual = kp, ti, gain, tau, manual
        self.fixed_sp = fixed_sp
        self.sp = fixed_sp or 45.0
        self.out = self.integral = MANUAL_OUT if manual else min(100.0, self.sp / gain)
        self.pv = gain * self.out
        self.delay = deque([self.out] * max(1, round(dead / dt)))

    def step(self, dt, stepped_sp):
        self.sp = self.fixed_sp or stepped_sp
        error = self.sp - self.pv
        if not self.manual:
            self.integral = min(100.0, max(0.0, self.integral + self.kp * error * dt / self.ti))
            self.out = min(100.0, max(0.0, self.kp * error + self.integral))
        self.delay.append(self.out)
        self.pv += (self.gain * self.delay.popleft() - self.pv) * dt / self.tau


MANUAL_OUT = 40.0
# name -> HealthLoop arguments after dt: well tuned (SIMC), gain too high (a limit cycle), too
# timid, a setpoint the process cannot reach (OUT pinned at 100), an operator holding OUT.
HEALTH_LOOPS = {
    "Tuned": {"kp": 2.5, "ti": 5.0},
    "Oscillating": {"kp": 8.0, "ti": 5.0},
    "Sluggish": {"kp": 0.2, "ti": 30.0},
    "Saturated": {"kp": 2.5, "ti": 5.0, "gain": 0.8, "fixed_sp": 90.0},
    "Manual": {"kp": 2.5, "ti": 5.0, "manual": True},
}


class Simulation:
    def __init__(self, server, sim, plant_ns, args):
        self.server, self.args = server, args
        self.sim, self.plant_ns = sim, plant_ns
        self.variables = {}
        self.writable = {}
        self.bench = []
        self.quality_bad = False
        self.plant = Plant(tau=args.tau)
        self.flow_pv = FLOW_SP
        self.health = {name: HealthLoop(args.rate_ms / 1000.0, **options)
                       for name, options in HEALTH_LOOPS.items()}
        self.tick = 0

    async def build(self):
        objects = self.server.nodes.objects
        examples = await objects.add_folder(ua.NodeId("Simulation Examples", self.sim),
                                            ua.QualifiedName("Simulation Examples", self.sim))
        functions = await examples.add_folder(ua.NodeId("Simulation Examples.Functions", self.sim),
                                              ua.QualifiedName("Functions", self.sim))
        for name, value, kind in (("Ramp1", 0.0, ua.VariantType.Double),
                                  ("Sine1", 0.0, ua.VariantType.Double),
                                  ("Random1", 0, ua.VariantType.Int32),
                                  ("Toggle1", False, ua.VariantType.Boolean),
                                  ("String1", "Text 0", ua.VariantType.String),
                                  ("User1", 0.0, ua.VariantType.Double),
                                  ("Quality1", 0.0, ua.VariantType.Double)):
            await self._variable(functions, self.sim, SIM_PREFIX + name, name, value, kind,
                                 writable=name == "User1")
        plant = await objects.add_folder(ua.NodeId("Plant", self.plant_ns),
                                         ua.QualifiedName("Plant", self.plant_ns))
        loop = await plant.add_object(ua.NodeId("Plant.TIC101", self.plant_ns),
                                      ua.QualifiedName("TIC101", self.plant_ns))
        for name in ("PV", "SP", "OUT"):
            await self._variable(loop, self.plant_ns, PLANT_PREFIX + name, name,
                                 getattr(self.plant, name.lower()), ua.VariantType.Double,
                                 writable=name == "SP")
        flow = await plant.add_object(ua.NodeId("Plant.FIC102", self.plant_ns),
                                      ua.QualifiedName("FIC102", self.plant_ns))
        for name in ("SP", "PV"):
            await self._variable(flow, self.plant_ns, FLOW_PREFIX + name, name, FLOW_SP,
                                 ua.VariantType.Double, writable=name == "SP",
                                 key=f"FIC102.{name}")
        for name, health in self.health.items():
            folder = await plant.add_object(ua.NodeId(f"Plant.{name}", self.plant_ns),
                                            ua.QualifiedName(name, self.plant_ns))
            for role in ("PV", "SP", "OUT"):
                await self._variable(folder, self.plant_ns, f"Plant.{name}.{role}",
                                     role, getattr(health, role.lower()),
                                     ua.VariantType.Double, key=f"{name}.{role}")
            await self._variable(folder, self.plant_ns, f"Plant.{name}.MANUAL", "MANUAL",
                                 health.manual, ua.VariantType.Boolean, key=f"{name}.MANUAL")
        if self.args.bench_nodes:
            bench = await objects.add_folder(ua.NodeId("Bench", self.sim),
                                             ua.QualifiedName("Bench", self.sim))
            for i in range(self.args.bench_nodes):
                self.bench.append(await self._variable(
                    bench, self.sim, f"Bench.Value{i}", f"Value{i}", 0.0, ua.VariantType.Double))

    async def _variable(self, parent, ns, node_id, name, value, kind, writable=False, key=None):
        node = await parent.add_variable(ua.NodeId(node_id, ns), ua.QualifiedName(name, ns),
                                         ua.Variant(value, kind))
        if writable:
            await node.set_writable()
            self.writable[key or name] = node
        self.variables[key or name] = (node, kind)
        return node

    async def write(self, name, value, status=ua.StatusCodes.Good):
        node, kind = self.variables[name]
        stamp = datetime.now(UTC)
        await node.write_value(ua.DataValue(ua.Variant(value, kind), ua.StatusCode(status),
                                            SourceTimestamp=stamp, ServerTimestamp=stamp))

    async def run(self):
        interval = self.args.rate_ms / 1000.0
        next_tick = time.monotonic()
        while True:
            next_tick += interval
            await self.step(interval)
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))

    async def step(self, dt):
        self.tick += 1
        ticks_per_second = max(1, round(1000 / self.args.rate_ms))
        t = self.tick * dt
        await self.write("Ramp1", float(self.tick % 101))
        await self.write("Sine1", 40.0 * math.sin(2 * math.pi * t / 10.0))
        await self.write("Random1", random.randint(0, 100))
        if self.tick % ticks_per_second == 0:
            await self.write("Toggle1", (self.tick // ticks_per_second) % 2 == 1)
            await self.write("String1", f"Text {self.tick // ticks_per_second}")
            status = ua.StatusCodes.BadSensorFailure if self.quality_bad else ua.StatusCodes.Good
            await self.write("Quality1", float(self.tick // ticks_per_second), status)
        self.plant.sp = float(await self.writable["SP"].read_value())
        pv, _, out = self.plant.step(dt)
        await self.write("PV", pv)
        await self.write("OUT", out)
        flow_sp = float(await self.writable["FIC102.SP"].read_value())
        flow_pv = self.flow_pv + (flow_sp - self.flow_pv) * min(1.0, dt / FLOW_TAU_S)
        if flow_pv != self.flow_pv:
            self.flow_pv = flow_pv
            await self.write("FIC102.PV", flow_pv)
        stepped_sp = 55.0 if int(t // self.args.loop_step_s) % 2 else 45.0
        for name, health in self.health.items():
            before = (health.pv, health.sp, health.out)
            health.step(dt, stepped_sp)
            for role, old, new in zip(("PV", "SP", "OUT"), before,
                                      (health.pv, health.sp, health.out)):
                if new != old:
                    await self.write(f"{name}.{role}", new)
        for i in range(len(self.bench)):
            await self.write(f"Value{i}", float(self.tick + i))

    async def command(self, line):
        words = line.split()
        if words == ["bad"]:
            self.quality_bad = True
        elif words == ["good"]:
            self.quality_bad = False
        elif len(words) == 3 and words[0] == "set" and words[1] in self.writable:
            await self.write(words[1], float(words[2]))
        elif words:
            log.warning("unknown command %r", line)
            return
        if words and words[0] in ("bad", "good"):
            await self.write("Quality1", float(self.tick),
                             ua.StatusCodes.BadSensorFailure if self.quality_bad
                             else ua.StatusCodes.Good)
        print(f"ok {line.strip()}", flush=True)


def read_commands(loop, queue):
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)


async def serve(args):
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    users = PasswordUsers(*args.user.split(":", 1)) if args.user else None
    server = Server(user_manager=users) if users else Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{args.port}/")
    server.set_server_name("alertloop devstack OPC UA server")
    await server.set_application_uri(APPLICATION_URI)
    modes = [m.strip() for m in args.security.split(",") if m.strip()]
    server.set_security_policy([POLICIES[m] for m in modes])
    server.set_identity_tokens([ua.UserNameIdentityToken] if users else [ua.AnonymousIdentityToken])
    if any(m != "none" for m in modes):
        cert, key = workdir / "server-cert.der", workdir / "server-key.pem"
        await setup_self_signed_certificate(key, cert, APPLICATION_URI, socket.gethostname(),
                                            [ExtendedKeyUsageOID.SERVER_AUTH],
                                            {"commonName": "alertloop devstack OPC UA server"})
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
    if args.trust_dir:
        from asyncua.crypto.truststore import TrustStore
        from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

        store = TrustStore([Path(args.trust_dir)], [])
        await store.load()
        options = (CertificateValidatorOptions.TRUSTED_VALIDATION
                   | CertificateValidatorOptions.PEER_CLIENT)
        server.set_certificate_validator(CertificateValidator(options, store))
    for i in range(args.namespace_offset):
        await server.register_namespace(f"urn:alertloop:devstack:filler:{i}")
    sim_ns = await server.register_namespace(SIM_URI)
    plant_ns = await server.register_namespace(PLANT_URI)
    simulation = Simulation(server, sim_ns, plant_ns, args)
    await simulation.build()
    commands = asyncio.Queue()
    threading.Thread(target=read_commands, args=(asyncio.get_running_loop(), commands),
                     daemon=True).start()
    async with server:
        print(f"listening on opc.tcp://127.0.0.1:{args.port}/ (sim ns={sim_ns}, "
              f"plant ns={plant_ns})", flush=True)
        runner = asyncio.ensure_future(simulation.run())
        while True:
            await simulation.command(await commands.get())
            if runner.done():
                runner.result()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devstack.opcua_server",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", required=True, help="keeps the server certificate")
    parser.add_argument("--security", default="none,sign,encrypt")
    parser.add_argument("--user", help="NAME:PASSWORD; anonymous access is off when given")
    parser.add_argument("--trust-dir", help="accept only the client certificates in it")
    parser.add_argument("--namespace-offset", type=int, default=0)
    parser.add_argument("--rate-ms", type=float, default=100.0, help="simulation tick")
    parser.add_argument("--bench-nodes", type=int, default=0)
    parser.add_argument("--tau", type=float, default=5.0, help="process time constant, s")
    parser.add_argument("--loop-step-s", type=float, default=10.0,
                        help="the health loops' setpoint steps 45 <-> 55 this often, s")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
