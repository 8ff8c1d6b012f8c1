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


def main():
    print(f"sensor to stored: sensor-sim gets a new ADC value -> queryable in InfluxDB ({STEPS} "
          "steps between 0 and 4095)")
    samples = []
    with Loop(parts={"listener", "sensor"}, sensor_interval_ms=500) as loop:
        client = influxdb.InfluxDBClient(loop.influx.host, loop.influx.port, database="iot")
        loop.set_pot(0)
        wait_until(lambda: latest_value(client, loop.device) == 0, 30)
        for step in range(STEPS):
            raw, expected = (4095, 100) if step % 2 == 0 else (0, 0)
            start = time.perf_counter()
            loop.set_pot(raw)
            wait_until(lambda e=expected: latest_value(client, loop.device) == e, 30,
                       interval=0.005)
            samples.append(time.perf_counter() - start)
        client.close()
    report("new reading -> stored, median", sorted(samples)[len(samples) // 2], "s")
    report("new reading -> stored, worst", max(samples), "s", "<= 1.5 s")


if __name__ == "__main__":
    main()
