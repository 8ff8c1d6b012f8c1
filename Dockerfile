# syntax=docker/dockerfile:1
# alertloop's images: one target per service over a shared build stage. Build from the
# repository root, which holds pyproject.toml:
#   docker build --target listener     -t alertloop-listener .
#   docker build --target webhook      -t alertloop-webhook .
#   docker build --target opcua-bridge -t alertloop-opcua-bridge .
#   docker build --target actions      -t alertloop-actions .
#   docker build --target console      -t alertloop-console .
# docker-compose.yml builds the same targets; multi-arch: arm/docker-bake.hcl.
#
# A new service (actions, console) adds, in this order: its package to the COPY lines of
# `build` (and to .dockerignore and pyproject.toml's package list); when it needs dependencies
# the others must not carry, an extra in pyproject.toml and a `build-<name>` stage like
# `build-opcua`; then its target `FROM runtime AS <name>` with its venv, user, healthcheck and
# entrypoint. docs/development.md, "Images".

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- build: the project and its core dependencies in a virtualenv (shared) ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
# Only what the packages need: never devstack/, tests/ or bench/ (.dockerignore agrees).
COPY pyproject.toml README.md ./
COPY service_common/ service_common/
COPY listener/ listener/
COPY webhook/ webhook/
COPY opcua_bridge/ opcua_bridge/
COPY actions/ actions/
COPY console/ console/
# Without extras: nothing for tests or benchmarks, and no OPC UA stack (asyncua, cryptography).
RUN /opt/venv/bin/pip install --no-cache-dir .

# --- build-opcua: the same virtualenv plus the bridge's OPC UA stack (extra `opcua`) -------------
FROM build AS build-opcua
RUN /opt/venv/bin/pip install --no-cache-dir ".[opcua]"

# --- runtime: a clean slim image with the non-root user every service runs as (shared) ----------
FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin alertloop
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# --- listener: MQTT readings into InfluxDB (`python -m listener`) --------------------------------
FROM runtime AS listener
RUN mkdir -p /data/spool \
    && chown alertloop:alertloop /data/spool
COPY --from=build /opt/venv /opt/venv
ENV LISTENER_SPOOL_DIR=/data/spool
# The spool (batches kept while InfluxDB is away) and the heartbeat file live here.
VOLUME ["/data/spool"]
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "listener", "--healthcheck"]
ENTRYPOINT ["python", "-m", "listener"]

# --- webhook: Grafana alerts into retained MQTT states (`python -m webhook`, waitress) ----------
FROM runtime AS webhook
# /data: the volume of the /ingest outbox (docs/ingest.md, "Power cuts").
RUN mkdir -p /data \
    && chown alertloop:alertloop /data
COPY --from=build /opt/venv /opt/venv
ENV WEBHOOK_HOST=0.0.0.0 \
    WEBHOOK_PORT=5000 \
    INGEST_OUTBOX_DIR=/data/ingest-outbox
EXPOSE 5000
VOLUME ["/data"]
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=5)"]
ENTRYPOINT ["python", "-m", "webhook"]

# --- opcua-bridge: PLC tags into MQTT readings (`python -m opcua_bridge`) -----------------------
# The nodes file and the certificates are mounted at run time (docker-compose.yml, profile
# `opcua`); see docs/opcua.md.
FROM runtime AS opcua-bridge
COPY --from=build-opcua /opt/venv /opt/venv
ENV OPCUA_NODES=/config/opcua/opcua-nodes.yaml
USER 10001:10001
# Healthy while the bridge runs and holds an OPC UA session (a heartbeat file in /tmp).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "opcua_bridge", "--healthcheck"]
ENTRYPOINT ["python", "-m", "opcua_bridge"]

# --- actions: alarm state -> outputs (`python -m actions`) --------------------------------------
# The actions file is mounted at run time (docker-compose.yml, profile `actions`); each output's
# mode, override and last command (the service's truth, fsynced) live in /data/actions-state.
FROM runtime AS actions
RUN mkdir -p /data/actions-state \
    && chown alertloop:alertloop /data/actions-state
COPY --from=build /opt/venv /opt/venv
ENV ACTIONS_FILE=/config/actions.yaml \
    ACTIONS_STATE_DIR=/data/actions-state
VOLUME ["/data/actions-state"]
USER 10001:10001
# Healthy while the service runs and is connected to the broker (a heartbeat file in /tmp).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "actions", "--healthcheck"]
ENTRYPOINT ["python", "-m", "actions"]

# --- console: the operator's web page behind Caddy (`python -m console`, waitress) -------------
# With the OPC UA stack: the tag mapping browses the PLC's server.
FROM runtime AS console
RUN mkdir -p /data/console \
    && chown alertloop:alertloop /data/console
COPY --from=build-opcua /opt/venv /opt/venv
# Its users and tokens files are set in docker-compose.yml, in the volume below.
ENV CONSOLE_HOST=0.0.0.0 \
    CONSOLE_PORT=5080
EXPOSE 5080
# Users and API tokens: the console's own disk.
VOLUME ["/data/console"]
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5080/healthz', timeout=5)"]
ENTRYPOINT ["python", "-m", "console"]
