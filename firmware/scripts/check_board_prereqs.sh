#!/bin/sh
# Checks what `make firmware` / `make flash` need and, when something is
# missing, prints ONE paragraph saying exactly what and how to get it, then
# exits 1. Usage: check_board_prereqs.sh build|flash
#
# The SDK's toolchain file (cmake/toolchain-arm-none-eabi-gcc.cmake) ignores PATH:
# it runs $CORALMICRO_DIR/third_party/toolchain-linux/<gcc-9>/bin/arm-none-eabi-*,
# and downloads GCC 9 there on the first configure when that folder does not
# exist. So the compiler that counts is the one in that folder (in the shared,
# pruned SDK copy: forwarding scripts that run the arm-none-eabi-gcc on PATH).
mode="${1:-build}"
missing=""
add() { if [ -z "$missing" ]; then missing="$1"; else missing="$missing; $1"; fi; }
DEBIAN_TOOLCHAIN="apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib"

sdk_gcc=""
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
    [ -x "$d/arm-none-eabi-gcc" ] && sdk_gcc="$d/arm-none-eabi-gcc"
  done
fi

if [ "$mode" = build ]; then
  if ! command -v cmake >/dev/null 2>&1; then
    add "cmake (>= 3.18, the SDK's minimum) is not on PATH"
  else
    v=$(cmake --version | sed -n '1s/[^0-9]*\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')
    set -- $v
    if [ -n "$1" ] && { [ "$1" -lt 3 ] || { [ "$1" -eq 3 ] && [ "$2" -lt 18 ]; }; }; then
      add "cmake $1.$2 is too old (the SDK needs >= 3.18)"
    fi
  fi
  if [ -n "$CORALMICRO_DIR" ] && [ -d "$CORALMICRO_DIR" ]; then
    if [ -z "$sdk_gcc" ]; then
      if [ -d "$CORALMICRO_DIR/third_party/toolchain-linux" ]; then
        add "\$CORALMICRO_DIR/third_party/toolchain-linux holds no */bin/arm-none-eabi-gcc (the SDK's toolchain file looks only there; delete the folder so that configure downloads GCC 9, network needed)"
      else
        add "\$CORALMICRO_DIR/third_party/toolchain-linux does not exist: the SDK's first configure downloads GCC 9 there (network needed); it does not use an arm-none-eabi-gcc on PATH"
      fi
    elif ! "$sdk_gcc" --version >/dev/null 2>&1; then
      add "the SDK's compiler $sdk_gcc does not run (with the shared SDK copy it forwards to arm-none-eabi-gcc on PATH or in \$ARM_NONE_EABI_BIN; Debian: $DEBIAN_TOOLCHAIN)"
    else
      for lib in libc_nano.a libstdc++_nano.a; do
        found=$("$sdk_gcc" -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16 -print-file-name=$lib 2>/dev/null)
        [ -f "$found" ] || add "$sdk_gcc has no $lib for the Cortex-M7 (newlib-nano; Debian: $DEBIAN_TOOLCHAIN)"
      done
    fi
  fi
else
  py="${FLASH_PYTHON:-python3}"
  if ! command -v "$py" >/dev/null 2>&1; then
    add "$py (the Python that runs flashtool) is not there"
  else
    "$py" -c "import hid, serial, usb, progress, hexformat" >/dev/null 2>&1 ||
      add "flashtool's Python modules are missing from $py (make setup installs them into .venv; or: $py -m pip install -r \$CORALMICRO_DIR/scripts/requirements.txt)"
  fi
  if [ -n "$CORALMICRO_DIR" ] && [ ! -x "$CORALMICRO_DIR/third_party/nxp/blhost/bin/linux/amd64/blhost" ]; then
    add "\$CORALMICRO_DIR/third_party/nxp/blhost/bin/linux/amd64/blhost is missing (a full coralmicro checkout has it as a submodule: git -C \$CORALMICRO_DIR submodule update --init third_party/nxp/blhost)"
  fi
fi

if [ -n "$missing" ]; then
  if [ "$mode" = build ]; then what="build the board app"; else what="flash the board"; fi
  echo "make: cannot $what. Missing: $missing. To set up a machine: git clone --recurse-submodules -j8 https://github.com/google-coral/coralmicro ~/coralmicro && (cd ~/coralmicro && bash setup.sh), then export CORALMICRO_DIR=~/coralmicro and run the command again (firmware/README.md, 'Building for the board'). The host-side checks need none of this: make firmware-test." >&2
  exit 1
fi
exit 0
