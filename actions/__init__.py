"""The actions service: alarm state -> outputs (relays, Tasmota, Shelly, generic MQTT devices,
OPC UA setpoints), confirmed, fail-safe and overridable (docs/actions.md)."""
