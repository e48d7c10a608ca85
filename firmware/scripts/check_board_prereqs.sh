#!/bin/sh
# Checks what `make firmware` / `make flash` need and, when something is
# missing, prints ONE paragraph saying exactly what and how to get it, then
# exits 1. Usage: check_board_prereqs.sh build|flash
mode="${1:-build}"
missing=""
add() { if [ -z "$missing" ]; then missing="$1"; else missing="$missing; $1"; fi; }

sdk_toolchain=""
if [ -z "$CORALMICRO_DIR" ]; then
  add "CORALMICRO_DIR is not set (it must point at a coralmicro SDK checkout)"
elif [ ! -d "$CORALMICRO_DIR" ]; then
  add "CORALMICRO_DIR=$CORALMICRO_DIR does not exist"
else
  [ -f "$CORALMICRO_DIR/cmake/toolchain-arm-none-eabi-gcc.cmake" ] ||
    add "$CORALMICRO_DIR has no cmake/toolchain-arm-none-eabi-gcc.cmake (not a coralmicro checkout, or submodules missing)"
  [ -f "$CORALMICRO_DIR/scripts/flashtool.py" ] || add "$CORALMICRO_DIR has no scripts/flashtool.py"
  [ -d "$CORALMICRO_DIR/third_party/tflite-micro/tensorflow" ] ||
    add "$CORALMICRO_DIR/third_party/tflite-micro is empty (run: git -C \$CORALMICRO_DIR submodule update --init --recursive)"
  for d in "$CORALMICRO_DIR"/third_party/toolchain-linux/*/bin "$CORALMICRO_DIR"/third_party/toolchain-mac/*/bin; do
    [ -x "$d/arm-none-eabi-gcc" ] && sdk_toolchain="$d/arm-none-eabi-gcc"
  done
fi

if [ "$mode" = build ]; then
  command -v cmake >/dev/null 2>&1 || add "cmake (>= 3.13) is not on PATH"
  if [ -z "$sdk_toolchain" ] && ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
    add "arm-none-eabi-gcc was found neither on PATH nor in \$CORALMICRO_DIR/third_party/toolchain-linux (the SDK's toolchain file fetches its pinned gcc-arm-none-eabi-9-2020-q2 there on the first configure when the network is reachable)"
  fi
else
  command -v python3 >/dev/null 2>&1 || add "python3 is not on PATH"
  if command -v python3 >/dev/null 2>&1; then
    python3 -c "import hid, serial, usb, progress, hexformat" >/dev/null 2>&1 ||
      add "flashtool's Python modules are missing (run: python3 -m pip install -r \$CORALMICRO_DIR/scripts/requirements.txt)"
  fi
fi

if [ -n "$missing" ]; then
  if [ "$mode" = build ]; then what="build the board app"; else what="flash the board"; fi
  echo "make: cannot $what. Missing: $missing. To set up a machine: git clone --recurse-submodules -j8 https://github.com/google-coral/coralmicro ~/coralmicro && (cd ~/coralmicro && bash setup.sh), then export CORALMICRO_DIR=~/coralmicro and run the command again (firmware/README.md, 'Building for the board'). The host-side checks need none of this: make firmware-test." >&2
  exit 1
fi
exit 0
