# FAKE coralmicro toolchain file for the host CMake test of firmware/CMakeLists.txt
# (tests/test_firmware_core.py). Host compiler; add_executable_m7 keeps the SDK's
# signature (sources, DATA files -> <target>.data) and links with unresolved SDK
# symbols ignored, because the SDK here is only app/host_stub declarations.
function(add_executable_m7)
    set(multiValueArgs DATA)
    cmake_parse_arguments(ADD_EXECUTABLE_M7 "" "LINKER_SCRIPT;M4_EXECUTABLE" "${multiValueArgs}" ${ARGN})
    add_executable(${ADD_EXECUTABLE_M7_UNPARSED_ARGUMENTS})
    target_link_options(${ARGV0} PRIVATE "-Wl,--unresolved-symbols=ignore-all")
    file(GENERATE OUTPUT ${ARGV0}.data CONTENT "${ADD_EXECUTABLE_M7_DATA}")
endfunction()
