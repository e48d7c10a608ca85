// Host stub (syntax check only): coralmicro libs/base/filesystem.h.
#pragma once
#include <vector>
#include "stub_common.h"
namespace coralmicro {
bool LfsReadFile(const char* path, std::vector<uint8_t>* buf);
}
