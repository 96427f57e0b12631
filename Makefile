# Two entry points for a fresh machine; each sets up .venv/ itself.
#   make demo   install, then run the default job on the built-in default and write its page
#   make test   install, then run the whole test suite
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
SHARED  ?= ../shared
DATA    := $(SHARED)/data/imagenet-sample
MODEL   ?= $(SHARED)/models/squeezenet1.1-caffe2-fp16.onnx
PYTEST_ARGS ?=

.PHONY: demo test test-slow bench clean

$(BIN)/hwgen: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch is pinned to the CPU build; install it first so nothing pulls another build
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[test]'
	touch $@

OUT     ?= out/squeezenet1_1-pynq-z2

demo: $(BIN)/hwgen
	$(BIN)/hwgen generate $(MODEL) --board pynq-z2 --calib $(DATA)/calib -o $(OUT) --force
	$(BIN)/hwgen csim $(OUT) --images 5
	$(BIN)/hwgen report $(OUT)

test: $(BIN)/hwgen
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

test-slow: $(BIN)/hwgen
	$(BIN)/python -m pytest -n 2 -q -m slow $(PYTEST_ARGS)

bench: $(BIN)/hwgen
	$(BIN)/python scripts/bench_golden.py
	$(BIN)/python scripts/bench_csim.py

clean:
	rm -rf $(VENV) build *.egg-info
