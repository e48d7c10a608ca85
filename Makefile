# edgeser — every target a user needs; `make test` and `make demo` set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.edgeser-installed
RECIPE ?= configs/demo.yaml
DATA   ?=
OUT    ?= runs/$(basename $(notdir $(RECIPE)))

include firmware/firmware.mk

.PHONY: setup test demo bench features-bench compile-edgetpu clean help

help:
	@echo "make setup   create .venv and install edgeser with pinned dependencies"
	@echo "make test    run the test suite (sets up .venv first when needed)"
	@echo "make demo    run the pipeline on the built-in demo corpus (RECIPE=, DATA=, OUT=)"
	@echo "make compile-edgetpu  co-compile a run's models with Coral's edgetpu_compiler (RUN=runs/demo)"
	@echo "make firmware       build the Dev Board Micro app (CORALMICRO_DIR=, FIRMWARE_GENERATED=, BENCHMARK=N, EDGESER_MODELS=lfs)"
	@echo "make flash          build and flash with the SDK's flashtool (FLASH_ARGS=)"
	@echo "make firmware-test  host build + unit tests of the firmware core"
	@echo "make firmware-size  Cortex-M7 code size of the core (needs arm-none-eabi-g++)"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt requirements-onnx.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,board,onnx]"
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-onnx.txt
	@touch $(STAMP)

test: setup firmware-test
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/edgeser demo --recipe $(RECIPE) --out $(OUT) $(if $(DATA),--data $(DATA),)

RUN ?= runs/demo

compile-edgetpu: setup
	$(BIN)/edgeser compile --run $(RUN)

features-bench: setup
	$(BIN)/edgeser benchmark frontend

clean: firmware-clean
	rm -rf runs .pytest_cache

bench: setup
	$(BIN)/edgeser benchmark run $(OUT)
