"""MQTT readings into InfluxDB 1.x: batched, spooled to disk while InfluxDB is away, and
acknowledged to the broker only once stored (`python -m listener`)."""
