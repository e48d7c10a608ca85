# edgeser firmware targets for the top-level Makefile. Add, after OUT is defined:
#     include firmware/firmware.mk
# Targets: firmware, flash, firmware-test, firmware-size, firmware-check (generated
# files + app/main.cc syntax against SDK stubs), firmware-clean.
# Variables (command line or environment):
#   CORALMICRO_DIR       coralmicro SDK checkout (board build and flash only)
#   FIRMWARE_GENERATED   folder with the generated headers/models; default
#                        $(OUT)/firmware when it holds frontend_config.h, else
#                        firmware/generated_example (placeholders)
#   EDGESER_MODELS       linked (default: model_*.cc arrays) | lfs (.tflite files on the board)
#   BENCHMARK            N > 0: benchmark build that prints BENCH lines after N decisions
#   EDGESER_DEFINES      extra -D settings, e.g. "EDGESER_SMOOTHING_MODE=1"
#   FLASH_ARGS           extra flashtool.py arguments, e.g. "--serial 1234abcd"

FIRMWARE_GENERATED ?= $(if $(wildcard $(OUT)/firmware/frontend_config.h),$(OUT)/firmware,firmware/generated_example)
FIRMWARE_MAKE = $(MAKE) --no-print-directory -C firmware GENERATED="$(abspath $(FIRMWARE_GENERATED))"

.PHONY: firmware flash firmware-test firmware-size firmware-check firmware-clean

firmware:
	@$(FIRMWARE_MAKE) app

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
