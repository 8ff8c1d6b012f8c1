"""Pieces shared by the listener and the webhook: typed settings from the environment and the
MQTT client setup (credentials, TLS, retained online/offline status, capped reconnect back-off)."""
