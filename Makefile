# The README's commands. `make test` installs what it needs (system packages included) and runs
# every test; a second run skips the installs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
FIRMWARE_BUILD := $(BUILD)/firmware
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mosquitto mosquitto-clients influxdb influxdb-client libmosquitto-dev g++ make cmake pkg-config \
	mosquitto-dev \
	doctest-dev docker-compose chromium chromium-driver caddy
PYTEST_ARGS ?=
# Under CI=true the tests see only what the project installs: the venv's tools and the folders
# Debian's packages install into. A tool installed by hand (/usr/local/bin, pyenv, ~/.local)
# is then not found, as on a fresh machine (docs/development.md).
SYSTEM_PATH := /usr/sbin:/usr/bin:/sbin:/bin
ifneq ($(filter 1 true yes TRUE True,$(CI)),)
TEST_ENV := env PATH=$(abspath $(VENV))/bin:$(SYSTEM_PATH)
endif

.PHONY: help deps venv test unit lint firmware demo play bench secrets device device-remove clean

help:
	@echo "make demo      the whole loop on this machine: pot high, button, pot low -> LED red flashing, red, green"
	@echo "make play      the same, then keep running: type a pot position (0-100) or press per line"
	@echo "make demo-plant the OPC UA PID loop TIC101: setpoint step -> deviation alarm red -> green"
	@echo "make test      install what the tests need, then run every test (Python + firmware)"
	@echo "make bench     the benchmarks, each printing its figures"
	@echo "make secrets   generate .env and the broker's password file (never overwrites secrets)"
	@echo "make device NAME=<device id> ROLE=sensor|indicator|actuator|http   register a board (its own"
	@echo "               broker user and PlatformIO env) or an HTTP sender; prints its password"
	@echo "make device-remove NAME=<device id> [ROLE=http]   remove one"
	@echo "make user NAME=<name> ROLE=viewer|operator|engineer   a console user; prints its password"
	@echo "make token NAME=<name>   a read-API token for the console; prints it"
	@echo "make unit      only the tests that need no server"
	@echo "make lint      ruff"
	@echo "make firmware  build the firmware host tests and simulators into $(FIRMWARE_BUILD)/"
	@echo "make deps      install the system packages (Debian/apt; sudo when not root)"
	@echo "make venv      create $(VENV) with the project and its test tools"

deps:
	@command -v apt-get >/dev/null || { echo "make deps: apt-get not found. Install these yourself:" \
		"$(APT_PACKAGES), and Python's venv module." >&2; exit 1; }
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	touch $@

firmware: deps
	cmake -S firmware -B $(FIRMWARE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FIRMWARE_BUILD) -j 2

test: deps venv firmware
	$(FIRMWARE_BUILD)/firmware-tests
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

demo: deps venv firmware
	$(PY) -m devstack.demo

play: deps venv firmware
	$(PY) -m devstack.demo --interactive

.PHONY: demo-plant
demo-plant: deps venv firmware
	$(PY) -m devstack.plant_demo

bench: deps venv firmware
	$(PY) -m bench

secrets:
	$(PYTHON) scripts/make_secrets.py

# Boards and listener replicas are broker users (scripts/devices.py, standard library only);
# HTTP senders are the webhook's /ingest users, in the file INGEST_USERS_FILE (docs/ingest.md).
INGEST_USERS := $(if $(INGEST_USERS_FILE),--file "$(INGEST_USERS_FILE)")
device:
ifeq ($(ROLE),http)
	@$(MAKE) -s venv
	@$(PY) -m webhook.ingest_users $(INGEST_USERS) add "$(NAME)" --devices "$(NAME)"
else
	@$(PYTHON) scripts/devices.py add "$(NAME)" --role "$(ROLE)"
endif

device-remove:
ifeq ($(ROLE),http)
	@$(MAKE) -s venv
	@$(PY) -m webhook.ingest_users $(INGEST_USERS) remove "$(NAME)"
else
	@$(PYTHON) scripts/devices.py remove "$(NAME)"
endif

# The console's users (console/users.py): hashed, in CONSOLE_USERS_FILE; prints the password.
CONSOLE_USERS := $(if $(CONSOLE_USERS_FILE),--file "$(CONSOLE_USERS_FILE)")
.PHONY: user user-remove
user:
	@$(MAKE) -s venv
	@$(PY) -m console.users $(CONSOLE_USERS) add "$(NAME)" "$(ROLE)"

user-remove:
	@$(MAKE) -s venv
	@$(PY) -m console.users $(CONSOLE_USERS) remove "$(NAME)"

# The console's read-API tokens (console/tokens.py), in CONSOLE_TOKENS_FILE; prints the token.
CONSOLE_TOKENS := $(if $(CONSOLE_TOKENS_FILE),--file "$(CONSOLE_TOKENS_FILE)")
.PHONY: token
token:
	@$(MAKE) -s venv
	@$(PY) -m console.tokens $(CONSOLE_TOKENS) add "$(NAME)"

unit: venv
	$(TEST_ENV) $(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(BUILD) $(VENV)
