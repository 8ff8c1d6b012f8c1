"""The operator console: alarm summary, acknowledgement and shelving in one web page
(`python -m console`, docs/console.md)."""
