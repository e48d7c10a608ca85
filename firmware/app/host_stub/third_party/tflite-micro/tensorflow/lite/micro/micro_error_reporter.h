// Host stub (syntax check only): TFLite-Micro's MicroErrorReporter, as pinned by the SDK.
#pragma once
#include <cstdarg>
#include "stub_common.h"
namespace tflite {
class ErrorReporter {
 public:
  virtual ~ErrorReporter() {}
  virtual int Report(const char* format, va_list args) = 0;
};
class MicroErrorReporter : public ErrorReporter {
 public:
  ~MicroErrorReporter() override {}
  int Report(const char* format, va_list args) override;
};
}  // namespace tflite
