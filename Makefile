# podbay: `make run` opens the TUI on the local Docker engine; `make test` passes the suite.
# Both set up everything they need on a fresh Debian machine (as root) first.

VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup docker images refcli lint unit bench clean

$(VENV)/.installed: pyproject.toml scripts/bootstrap-python.sh
	bash scripts/bootstrap-python.sh

setup: $(VENV)/.installed

docker:
	bash scripts/setup-docker.sh

images: docker
	bash scripts/test-images.sh
	bash scripts/compose-v2.sh

refcli:
	bash scripts/reference-cli.sh

run: setup docker
	$(BIN)/podbay

lint: setup
	bash scripts/lint-tools.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	shellcheck assets/*.sh assets/aws/*.sh scripts/*.sh bench/run.sh .ci/run

unit: setup
	$(BIN)/pytest tests/unit -q

test: setup images refcli lint
	PODBAY_REQUIRE_DOCKER=1 $(BIN)/pytest -q

bench: setup images refcli
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
