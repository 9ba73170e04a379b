# MailPass: `make run` starts the whole stack, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHECKOV_VENV := $(VENV)/checkov

.PHONY: run test fuzz lint format lock install bench chaos upgrade chart image screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml sdks/python/pyproject.toml requirements.lock requirements-checkov.lock \
		scripts/bootstrap-venv.sh
	PYTHON=$(PYTHON) scripts/bootstrap-venv.sh $(VENV)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	# The Python client SDK (its one dependency, httpx, is in the lock already).
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e sdks/python
	[ -x $(CHECKOV_VENV)/bin/python ] || $(BIN)/uv venv --quiet --python $(BIN)/python $(CHECKOV_VENV)
	$(BIN)/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.lock
	touch $@

run: $(STAMP)
	scripts/dev-run.sh

# Debian packages the tests run for real: `scripts/debian-packages.sh command:package ...`.
TEST_PACKAGES := unbound:unbound unbound-control:unbound promtool:prometheus \
	podman:podman debootstrap:debootstrap runc:runc swaks:swaks

test: $(STAMP)
	scripts/rabbitmq.sh ensure-running
	scripts/debian-packages.sh $(TEST_PACKAGES)
	# The client SDKs' tests (tests/sdks): php-cli, phpunit, node and npm from apt when
	# missing, then npm ci and tsc in sdks/typescript.
	scripts/sdk-tools.sh ensure
	ENVIRONMENT=development $(BIN)/pytest -q

# Schemathesis against /openapi.json with many more examples per operation than the
# CI-sized run in `make test` (MAILPASS_FUZZ_EXAMPLES, default 300; a fixed seed).
fuzz: $(STAMP)
	scripts/rabbitmq.sh ensure-running
	MAILPASS_FUZZ_EXAMPLES=$${MAILPASS_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/common cli services tools tests sdks/python
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The real stack against Postfix's smtp-sink/smtp-source: throughput, latency, MongoDB round
# trips and memory, checked against the targets (BENCH_ARGS="--quick" for a smoke run;
# `$(BIN)/python -m mailpass_dev.bench --help` lists the options). Not part of `make test`.
BENCH_ARGS ?=
bench: $(STAMP)
	scripts/rabbitmq.sh ensure-running
	# The MTA phase resolves its MX through a local unbound (Postfix and wrk: the bench's own).
	scripts/debian-packages.sh unbound:unbound unbound-control:unbound
	$(BIN)/python -m mailpass_dev.bench $(BENCH_ARGS)

# The real stack under failure (senders killed, its own RabbitMQ node and MongoDB restarted,
# a provider failing 20% of transactions, requests cut off): nothing accepted may be lost.
# CHAOS_ARGS="--quick" for the 1,000-message version `make test` runs. The same run is then
# made on a three-node RabbitMQ cluster of its own (--cluster: one node killed under load and
# brought back while the clients fail over), and `make chaos` ends with the rolling upgrade
# below, in its quick form. See `$(BIN)/python -m mailpass_dev.chaos --help`. Not part of
# `make test`.
CHAOS_ARGS ?=
chaos: $(STAMP)
	scripts/rabbitmq.sh install
	$(BIN)/python -m mailpass_dev.chaos $(filter-out --cluster,$(CHAOS_ARGS))
	$(BIN)/python -m mailpass_dev.chaos --cluster $(filter-out --cluster,$(CHAOS_ARGS))
	$(MAKE) --no-print-directory upgrade UPGRADE_ARGS="--quick $(UPGRADE_ARGS)"

# A rolling upgrade under load: the previous release (the last tag, else HEAD~10;
# UPGRADE_ARGS="--from REF") started on the shared RabbitMQ, its services replaced one at a
# time by this checkout's while messages flow; nothing may be lost, failed or dead-lettered,
# and each release must be seen handling the other's jobs and documents. ~2 minutes with
# --quick; `$(BIN)/python -m mailpass_dev.upgrade --help` lists the options.
UPGRADE_ARGS ?=
upgrade: $(STAMP)
	scripts/rabbitmq.sh ensure-running
	$(BIN)/python -m mailpass_dev.upgrade $(UPGRADE_ARGS)

# The pictures in docs/, taken again by the console's browser tests (tests/console/browser.py
# names which screenshot becomes which picture).
screenshots: $(STAMP)
	scripts/rabbitmq.sh ensure-running
	MAILPASS_DOCS_SCREENSHOTS=1 ENVIRONMENT=development $(BIN)/pytest -q -p no:cacheprovider \
		tests/console/test_console_browser.py tests/console/test_templates_browser.py \
		tests/console/test_domains_page.py

# The image from the Dockerfile: docker where an engine answers, else podman on a base made
# with debootstrap (scripts/image.sh; IMAGE=name:tag). tests/image builds and runs it.
image:
	scripts/image.sh

# The chart as a release publishes it: packaged into dist/chart with the image pinned by
# digest, and its repository index. CHART_ARGS="--digest sha256:..." (or --image NAME of a
# local image podman has); `$(BIN)/python -m mailpass_dev.chart --help` lists the options.
CHART_ARGS ?=
chart: $(STAMP)
	$(BIN)/python -m mailpass_dev.chart $(CHART_ARGS)

# Regenerate the pinned dependency sets: everything (dev included) for .venv, the runtime
# subset at the same versions for the image, and checkov's own set.
lock:
	PYTHON=$(PYTHON) scripts/bootstrap-venv.sh $(VENV)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.11 pyproject.toml -c requirements.lock \
		-o requirements-runtime.lock
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements-checkov.in \
		-o requirements-checkov.lock

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
