# Two entry points, each working from a fresh clone with nothing installed:
#   make demo   install backfire into .venv (what the demo needs, no test tools), then run the main job
#   make test   install it with the test tools (the dev extra), then run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install install-dev clean

$(BIN)/.backfire-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.backfire-dev-installed: $(BIN)/.backfire-installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.backfire-installed

install-dev: $(BIN)/.backfire-dev-installed

demo: install
	$(BIN)/python examples/backfiring.py --ns 1 5 20 --n-max 20 --n-images 2000 --v-d 0.5 --preset tiny --lr 0.05 --figure backfiring.png
	$(BIN)/backfire fill examples/games/demo.toml
	$(BIN)/backfire solve examples/games/demo.toml --bootstrap 200

test: install-dev
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
