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
APT_PACKAGES := mosquitto mosquitto-clients influxdb libmosquitto-dev g++ make cmake pkg-config \
	doctest-dev docker-compose
PYTEST_ARGS ?=

.PHONY: help deps venv test unit lint firmware demo play bench secrets clean

help:
	@echo "make demo      the whole loop on this machine: pot low, high, low -> LED green, red, green"
	@echo "make play      the same, then keep running: type a pot position (0-100) per line"
	@echo "make demo-plant the OPC UA PID loop TIC101: setpoint step -> deviation alarm red -> green"
	@echo "make test      install what the tests need, then run every test (Python + firmware)"
	@echo "make bench     the benchmarks, each printing its figures"
	@echo "make secrets   generate .env and the broker's password file (never overwrites secrets)"
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
	$(PY) -m pip install -q --disable-pip-version-check -e '.[serve,test,bench]'
	touch $@

firmware: deps
	cmake -S firmware -B $(FIRMWARE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FIRMWARE_BUILD) -j 2

test: deps venv firmware
	$(FIRMWARE_BUILD)/firmware-tests
	$(PY) -m pytest $(PYTEST_ARGS)

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

unit: venv
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(BUILD) $(VENV)
