# edgeser firmware targets for the top-level Makefile. Add, after OUT is defined:
#     include firmware/firmware.mk
# Targets: firmware, flash, firmware-test, firmware-size, firmware-check (generated
# files + app/main.cc syntax against SDK stubs), firmware-clean.
# Variables (command line or environment):
#   CORALMICRO_DIR       coralmicro SDK checkout (board build and flash only); default
#                        ../shared/coralmicro-sdk when that exists
#   FIRMWARE_GENERATED   folder with the generated headers/models; default
#                        $(OUT)/firmware when it holds frontend_config.h, else
#                        firmware/generated_example (placeholders)
#   EDGESER_MODELS       lfs (.tflite files on the board; the default when the folder has
#                        them) | linked (model_*.cc arrays in ITCM: only placeholders fit)
#   JOBS                 parallel compile jobs (default: the number of cores)
#   BENCHMARK            N > 0: benchmark build that prints BENCH lines after N decisions
#   EDGESER_DEFINES      extra -D settings, e.g. "EDGESER_SMOOTHING_MODE=1"
#   FLASH_ARGS           extra flashtool.py arguments, e.g. "--serial 1234abcd"

FIRMWARE_GENERATED ?= $(if $(wildcard $(OUT)/firmware/frontend_config.h),$(OUT)/firmware,firmware/generated_example)
FIRMWARE_MAKE = $(MAKE) --no-print-directory -C firmware GENERATED="$(abspath $(FIRMWARE_GENERATED))"

.PHONY: firmware flash firmware-test firmware-size firmware-check firmware-clean

# A run's export (FIRMWARE_GENERATED = $(OUT)/firmware): the link's bytes per memory
# are recorded in the run (link_map.json) and shown in its report.
firmware:
	@$(FIRMWARE_MAKE) app
	@if [ "$(abspath $(FIRMWARE_GENERATED))" = "$(abspath $(OUT)/firmware)" ] && [ -x .venv/bin/edgeser ]; then \
	  .venv/bin/edgeser memory --link-map firmware/build/board/output.map --run $(OUT) >/dev/null && \
	  echo "link figures recorded in $(OUT)/link_map.json"; \
	fi

flash:
	@$(FIRMWARE_MAKE) flash

# The core's unit tests always build against the shipped examples, so `make test`
# never depends on what a user's run folder holds.
firmware-test:
	@$(MAKE) --no-print-directory -C firmware GENERATED="$(abspath firmware/generated_example)" test

firmware-size:
	@$(FIRMWARE_MAKE) size

firmware-check:
	@$(FIRMWARE_MAKE) check-generated app-check

firmware-clean:
	@$(FIRMWARE_MAKE) clean
