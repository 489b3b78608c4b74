# RetailStream — the user's interface. Every target calls the `retailstream` package, on one of two labs:
#   compose  the docker-compose stack (compose/, images/): the laptop's lab; needs only Docker and make
#   native   the same engines as local processes under supervisord: where no Docker engine runs (CI)
# RETAILSTREAM_LAB=compose|native (the environment, then .env) chooses; unset: compose where a Docker
# engine answers, else native.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
RS      := $(VENV)/bin/retailstream
PYTEST  := $(VENV)/bin/pytest
LAB     := .lab
SUDO    := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_PACKAGES := $(shell grep -v '^\#' pipeline/setup/apt-packages.txt)
GO_TOOLS := $(shell grep -v '^\#' pipeline/setup/go-tools.txt)
GO      ?= $(shell command -v go || echo /usr/local/go/bin/go)
PYTEST_ARGS ?=

# --- which lab --------------------------------------------------------------------------------------
ENV_LAB := $(shell sed -n 's/^RETAILSTREAM_LAB=//p' .env 2>/dev/null | tail -n 1)
DOCKER_ANSWERS := $(shell docker info >/dev/null 2>&1 && echo yes)
ifneq ($(RETAILSTREAM_LAB),)
  LAB_BACKEND := $(RETAILSTREAM_LAB)
  LAB_WHY := RETAILSTREAM_LAB is set in the environment
else ifneq ($(ENV_LAB),)
  LAB_BACKEND := $(ENV_LAB)
  LAB_WHY := RETAILSTREAM_LAB is set in .env
else ifeq ($(DOCKER_ANSWERS),yes)
  LAB_BACKEND := compose
  LAB_WHY := a Docker engine answers
else
  LAB_BACKEND := native
  LAB_WHY := no Docker engine answers
endif
ifeq ($(filter $(LAB_BACKEND),compose native),)
  $(error RETAILSTREAM_LAB=$(LAB_BACKEND): expected compose or native)
endif
export RETAILSTREAM_LAB := $(LAB_BACKEND)
OTHER_LAB := $(if $(filter compose,$(LAB_BACKEND)),native,compose)

# --- the compose stack ------------------------------------------------------------------------------
# Compose v2 (`docker compose`, what Docker Desktop and Engine ship); Debian 12's docker-compose v1 only
# when there is no v2.
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" \
             || (command -v docker-compose >/dev/null 2>&1 && echo docker-compose))
STACK   := $(COMPOSE) -p retailstream -f compose/docker-compose.yml
TOOLS   := $(STACK) --profile tools run --rm tools
RUNTIME_IMAGE := retailstream/runtime:latest
TOOLS_IMAGE := retailstream/tools:latest
GRAFANA_IMAGE := $(shell sed -n 's/^ *image: \(grafana\/.*\)/\1/p' compose/docker-compose.yml)
# What the stack needs from the host: who owns the project's folders (Linux; Docker Desktop maps ownership
# itself), the Docker socket's group (the tools container inspects the stack through it), the project path.
IS_LINUX := $(filter Linux,$(shell uname -s))
export HOST_UID := $(if $(IS_LINUX),$(shell id -u),0)
export HOST_GID := $(if $(IS_LINUX),$(shell id -g),0)
export DOCKER_GID := $(if $(IS_LINUX),$(shell stat -c %g /var/run/docker.sock 2>/dev/null || echo 0),0)
export HOST_PROJECT_DIR := $(CURDIR)

.PHONY: help setup setup-apt setup-python setup-jvm setup-go setup-docker lock lint test unit data lab-banner \
	up down status clean bench demo walkthrough sql \
	up-native up-compose status-native status-compose demo-native demo-compose test-native test-compose \
	walkthrough-native walkthrough-compose sql-native sql-compose down-native down-compose clean-native clean-compose \
	compose-ready compose-image

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "  lab: $(LAB_BACKEND) ($(LAB_WHY)); RETAILSTREAM_LAB=$(OTHER_LAB) switches"

# --- one interface, two labs --------------------------------------------------------------------------
lab-banner:
	@echo "lab: $(LAB_BACKEND) ($(LAB_WHY)) — RETAILSTREAM_LAB=$(OTHER_LAB) make … (or a line in .env) switches"

up: lab-banner up-$(LAB_BACKEND) ## start the lab; returns when every service is healthy
status: status-$(LAB_BACKEND) ## one row per lab service: state, health, ports, memory, UI
demo: lab-banner demo-$(LAB_BACKEND) ## run the pipeline on the bundled synthetic data through Airflow, execute the notebooks; prints the summary
test: test-$(LAB_BACKEND) ## the whole test suite against the running lab
walkthrough: walkthrough-$(LAB_BACKEND) ## run the demo and record a narrated walkthrough: reports/walkthrough/
sql: sql-$(LAB_BACKEND) ## a MariaDB client on the results database (user analyst, read-only; password in .env)
down: down-$(LAB_BACKEND) ## stop the lab (data kept)
clean: clean-$(LAB_BACKEND) ## stop the lab and wipe its state

# --- native -------------------------------------------------------------------------------------------
setup: setup-apt setup-python setup-jvm setup-go $(LAB)/.secrets ## install everything for the native lab (idempotent): apt, venv, jars, Go tools, secrets

setup-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

setup-python: $(VENV)/.synced

$(VENV)/.synced: requirements.lock pyproject.toml
	@command -v uv >/dev/null || python3 -m pip install -q 'uv==0.13.8'
	@[ -x $(PY) ] || uv venv -q $(VENV) --python 3.11
	uv pip sync -q --compile-bytecode --python $(PY) requirements.lock
	uv pip install -q --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name retailstream --display-name "RetailStream (Python 3.11)" >/dev/null
	@touch $@

setup-jvm: $(LAB)/jars/.resolved $(LAB)/jars/.sqoop-resolved $(LAB)/jars/classes/LoopbackMetaStore.class \
	$(LAB)/jars/classes/MapOnlyShuffle.class $(LAB)/jars/cds/.built

# The Spark drivers' class-data archive: a Spark JVM starts ≈ 5 s sooner with it (see spark.class_archive).
# Idempotent: it returns at once when the archive for this JDK and these jars exists.
$(LAB)/jars/cds/.built: $(VENV)/.synced pipeline/retailstream/spark.py
	$(RS) lab class-archive
	@touch $@

$(LAB)/jars/.resolved: pipeline/setup/pom.xml
	@mkdir -p $(LAB)/jars
	rm -rf $(LAB)/jars/lib
	mvn -q -B -f pipeline/setup/pom.xml dependency:copy-dependencies -DoutputDirectory=$(abspath $(LAB))/jars/lib
	@touch $@

# Sqoop's own runtime libraries (see the comment in sqoop-pom.xml), kept apart from the daemons' jars.
$(LAB)/jars/.sqoop-resolved: pipeline/setup/sqoop-pom.xml
	@mkdir -p $(LAB)/jars
	rm -rf $(LAB)/jars/sqoop
	mvn -q -B -f pipeline/setup/sqoop-pom.xml dependency:copy-dependencies -DoutputDirectory=$(abspath $(LAB))/jars/sqoop
	@touch $@

# The lab's one Java source: a loopback-bound launcher for the Hive 2.3 metastore (see its comment).
$(LAB)/jars/classes/LoopbackMetaStore.class: pipeline/setup/java/LoopbackMetaStore.java $(VENV)/.synced
	@mkdir -p $(dir $@)
	javac -nowarn -d $(dir $@) -cp "$$($(PY) -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))')/jars/*" $<

# The NodeManager's shuffle service without a port of its own (see the comment in its source).
$(LAB)/jars/classes/MapOnlyShuffle.class: pipeline/setup/java/MapOnlyShuffle.java $(LAB)/jars/.resolved
	@mkdir -p $(dir $@)
	javac -nowarn -d $(dir $@) -cp "$(LAB)/jars/lib/*" $<

setup-go: $(LAB)/bin/.built

# Go programs (statsd_exporter) built from the Go module proxy at the versions pinned in go-tools.txt.
$(LAB)/bin/.built: pipeline/setup/go-tools.txt
	@mkdir -p $(LAB)/bin
	for tool in $(GO_TOOLS); do GOBIN=$(abspath $(LAB))/bin $(GO) install "$$tool" || exit 1; done
	@touch $@

# Again when settings.py changes: a release may add a generated secret.
$(LAB)/.secrets: setup-python pipeline/retailstream/settings.py
	@mkdir -p $(LAB)
	@$(RS) secrets
	@touch $@

up-native: setup
	$(RS) lab up

status-native:
	@$(RS) lab status

demo-native: up-native
	$(RS) pipeline demo

# Starts the lab when it is not running (idempotent), then runs everything against it.
# pytest exits 5 when no test ran: that fails the target on purpose.
test-native: up-native
	$(PYTEST) $(PYTEST_ARGS)

walkthrough-native: up-native
	$(RS) walkthrough record

sql-native:
	mariadb -h 127.0.0.1 -P $(or $(RETAILSTREAM_RDS_PORT),3307) -u analyst -p retail_reports

down-native:
	$(RS) lab down

clean-native:
	$(RS) lab clean

# --- compose ------------------------------------------------------------------------------------------
# Nothing on the host but Docker and make: the secrets come from a dependency-free script, everything
# else runs in the stack's image.
compose-ready:
	@docker info >/dev/null 2>&1 || { echo "compose: no Docker engine answers — install Docker Desktop (macOS, Windows) or Docker Engine (Linux), or run 'make setup-docker' on Debian; RETAILSTREAM_LAB=native runs the lab without Docker"; exit 1; }
	@[ -n "$(COMPOSE)" ] || { echo "compose: neither 'docker compose' (v2) nor docker-compose is installed — install the Docker Compose plugin, or run 'make setup-docker' on Debian"; exit 1; }
	@sh images/secrets.sh .env

# The image is rebuilt only when what it holds changes (the lock, the poms, the Go tools, the Dockerfile):
# the build is layer-cached (BuildKit), the code is mounted. Its Debian base comes from a registry, or where
# none is reachable from this machine's Debian mirror. The build uses the host's network: an engine without
# a default bridge (as on the build machines) gives a build step no other.
compose-image: compose-ready
	@docker image inspect debian:bookworm-slim >/dev/null 2>&1 || docker pull -q debian:bookworm-slim >/dev/null 2>&1 \
	  || images/base/debootstrap-base.sh
	@mkdir -p images/runtime/extra-ca && cp /usr/local/share/ca-certificates/*.crt images/runtime/extra-ca/ 2>/dev/null || true
	docker buildx build --load --network host --target runtime -t $(RUNTIME_IMAGE) -f images/runtime/Dockerfile .
	docker buildx build --load --network host --target tools -t $(TOOLS_IMAGE) -f images/runtime/Dockerfile .

up-compose: compose-image
	@mkdir -p datasets reports
	@if docker image inspect $(GRAFANA_IMAGE) >/dev/null 2>&1 || docker pull -q $(GRAFANA_IMAGE) >/dev/null 2>&1; then \
	  profile="--profile grafana"; \
	else \
	  echo "grafana: its image $(GRAFANA_IMAGE) cannot be pulled from here: starting the lab without Grafana"; \
	fi; \
	$(STACK) $$profile up -d --remove-orphans || { images/why-down.sh retailstream; exit 1; }
	@code=$$(docker wait "$$($(STACK) ps -aq bootstrap)"); \
	  [ "$$code" = 0 ] || { $(STACK) logs --no-color --tail 40 bootstrap; exit $$code; }
	@$(TOOLS) retailstream lab status

status-compose: compose-ready
	@$(TOOLS) retailstream lab status

demo-compose: up-compose
	$(TOOLS) retailstream pipeline demo

test-compose: up-compose
	$(TOOLS) pytest -p no:cacheprovider $(PYTEST_ARGS)

walkthrough-compose: up-compose
	$(TOOLS) retailstream walkthrough record

# The client runs in the service's own container, on its in-container port.
sql-compose: compose-ready
	$(STACK) exec mariadb mariadb -h 127.0.0.1 -P 3307 -u analyst -p retail_reports

down-compose: compose-ready
	$(STACK) --profile grafana --profile tools down

# What the stack made: its containers, network and volumes (the images stay, like the native lab's jars:
# `docker image rm retailstream/runtime retailstream/tools` removes them).
clean-compose: compose-ready
	$(STACK) --profile grafana --profile tools down --volumes --remove-orphans

# A Docker engine and Compose v2 on a Debian machine without them, from the reachable registries only:
# Debian's engine, Compose v2 and buildx built from the Go module proxy (pipeline/setup/docker-plugins.txt).
setup-docker: ## install a Docker engine with Compose v2 and buildx on Debian (root or sudo), and start it
	$(SUDO) images/setup-docker.sh

# --- everything else -------------------------------------------------------------------------------------
bench: up ## benchmarks, measured side by side (ratios); results in bench-results/
	$(RS) bench

# rfc3987-syntax (jsonschema's optional IRI format check, wanted by Jupyter's event schemas) is left out:
# it builds a Lark grammar on import, 1.3-2.3 s in every Airflow process and task, and nothing here
# validates IRIs.
lock: ## re-resolve requirements.lock from pyproject.toml
	uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --no-emit-package rfc3987-syntax \
		-o requirements.lock

lint: setup-python ## ruff
	$(VENV)/bin/ruff check pipeline tests compose
	$(VENV)/bin/ruff format --check pipeline tests compose

data: setup-python ## generate the 1x synthetic datasets into datasets/
	$(RS) data generate --scale 1 --seed 42

unit: setup-python ## fast tests of pure logic (no lab)
	$(PYTEST) -m "not lab" $(PYTEST_ARGS)
