// Shared bits of the host stubs (see README.md in this folder). NOT the SDK.
#ifndef EDGESER_HOST_STUB_COMMON_H_
#define EDGESER_HOST_STUB_COMMON_H_
#include <cstddef>
#include <cstdint>
#endif
