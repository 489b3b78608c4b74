# RetailStream — the user's interface. Every target calls the `retailstream` package.
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

.PHONY: help setup setup-apt setup-python setup-jvm setup-go lock lint test unit data up down status clean bench demo walkthrough compose-build compose-up compose-demo compose-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: setup-apt setup-python setup-jvm setup-go $(LAB)/.secrets ## install everything (idempotent): apt, venv, jars, Go tools, secrets

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
	uv pip sync -q --python $(PY) requirements.lock
	uv pip install -q --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name retailstream --display-name "RetailStream (Python 3.11)" >/dev/null
	@touch $@

setup-jvm: $(LAB)/jars/.resolved $(LAB)/jars/.sqoop-resolved $(LAB)/jars/classes/LoopbackMetaStore.class

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

setup-go: $(LAB)/bin/.built

# Go programs (statsd_exporter) built from the Go module proxy at the versions pinned in go-tools.txt.
$(LAB)/bin/.built: pipeline/setup/go-tools.txt
	@mkdir -p $(LAB)/bin
	for tool in $(GO_TOOLS); do GOBIN=$(abspath $(LAB))/bin $(GO) install "$$tool" || exit 1; done
	@touch $@

$(LAB)/.secrets: setup-python
	@mkdir -p $(LAB)
	@$(RS) secrets
	@touch $@

up: setup ## start the native lab (returns when every service is healthy)
	$(RS) lab up

status: ## one row per lab service: state, pid, port, health, memory, UI
	@$(RS) lab status

down: ## stop the lab (data kept)
	$(RS) lab down

clean: ## stop the lab and wipe its state
	$(RS) lab clean

demo: up ## run the whole pipeline on the bundled synthetic data through Airflow, execute the notebooks; prints the summary
	$(RS) pipeline demo

walkthrough: up ## run the demo, then record its narrated walkthrough video: reports/walkthrough/{walkthrough.mp4,index.html}
	$(RS) walkthrough record

bench: up ## benchmarks, measured side by side (ratios); results in bench-results/
	$(RS) bench

lock: ## re-resolve requirements.lock from pyproject.toml
	uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

lint: setup-python ## ruff
	$(VENV)/bin/ruff check pipeline tests
	$(VENV)/bin/ruff format --check pipeline tests

data: setup-python ## generate the 1x synthetic datasets into datasets/
	$(RS) data generate --scale 1 --seed 42

unit: setup ## fast tests of pure logic (no lab)
	$(PYTEST) -m "not lab" $(PYTEST_ARGS)

# Starts the lab when it is not running (idempotent), then runs everything against it.
# pytest exits 5 when no test ran: that fails the target on purpose.
test: up ## the whole test suite against the running lab
	$(PYTEST) $(PYTEST_ARGS)

# --- the compose stack (compose/, images/): the same lab in containers; needs a Docker engine -----------
COMPOSE ?= docker-compose
# Project name: container, network and volume names start with it (retailstream_mariadb-data, …).
STACK   := $(COMPOSE) -p retailstream -f compose/docker-compose.yml
RUNTIME_IMAGE := retailstream/runtime:latest

compose-build: $(LAB)/.secrets ## build the compose stack's image (its Debian base too where no registry serves it)
	@docker image inspect debian:bookworm-slim >/dev/null 2>&1 || docker pull -q debian:bookworm-slim 2>/dev/null \
	  || images/base/debootstrap-base.sh
	@cp /usr/local/share/ca-certificates/*.crt images/runtime/extra-ca/ 2>/dev/null || true
	DOCKER_BUILDKIT=0 docker build --network host -f images/runtime/Dockerfile -t $(RUNTIME_IMAGE) .

compose-up: compose-build ## start the compose stack; returns when its bootstrap has checked every service
	$(STACK) up -d
	@code=$$(docker wait "$$($(STACK) ps -q bootstrap)"); \
	  $(STACK) logs --no-color --tail 30 bootstrap; exit $$code

compose-demo: compose-up ## the demo inside the compose stack: the DAG through the stack's Airflow REST API
	$(STACK) exec -T airflow-scheduler retailstream pipeline demo

compose-down: ## stop the compose stack (its volumes are kept)
	$(STACK) down
