"""Development stand-in for Grafana alert evaluation (see __main__.py). Never deployed."""
