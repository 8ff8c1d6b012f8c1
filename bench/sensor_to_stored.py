"""Sensor to stored: from sensor-sim reading a new ADC value to that value being queryable in
InfluxDB (through the broker and the listener). Target <= 1.5 s."""

import time

import influxdb

from bench.figures import report
from devstack.loop import Loop
from devstack.wait import wait_until

STEPS = 10


def latest_value(client, device):
    try:
        points = list(client.query('SELECT last("value") FROM "pot" WHERE "device" = $device',
                                   bind_params={"device": device}).get_points())
    except (OSError, influxdb.exceptions.InfluxDBClientError):
        return None
    return points[0]["last"] if points else None


def shows_move(value, final):
    return value is not None and abs(value - final) < 50


def main():
    print(f"sensor to stored: sensor-sim gets a new ADC value -> queryable in InfluxDB ({STEPS} "
          "steps between 0 and 4095)")
    moved, settled = [], []
    with Loop(parts={"listener", "sensor"}, sensor_interval_ms=500) as loop:  # board defaults
        client = influxdb.InfluxDBClient(loop.influx.host, loop.influx.port, database="iot")
        loop.set_pot(0)
        wait_until(lambda: latest_value(client, loop.device) == 0, 30)
        for step in range(STEPS):
            raw, final = (4095, 100) if step % 2 == 0 else (0, 0)
            start = time.perf_counter()
            loop.set_pot(raw)
            # The first stored reading that shows the move: past half-way to the new position.
            wait_until(lambda f=final: shows_move(latest_value(client, loop.device), f), 30,
                       interval=0.005)
            moved.append(time.perf_counter() - start)
            wait_until(lambda f=final: latest_value(client, loop.device) == f, 30, interval=0.005)
            settled.append(time.perf_counter() - start)
        client.close()
    report("first reading showing the move stored, median", sorted(moved)[STEPS // 2], "s")
    report("first reading showing the move stored, worst", max(moved), "s", "<= 1.5 s")
    report("settled value (0 or 100) stored, worst", max(settled), "s")


if __name__ == "__main__":
    main()
