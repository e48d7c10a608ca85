// Host stub (syntax check only): coralmicro libs/base/timer.h.
#pragma once
#include "stub_common.h"
namespace coralmicro {
uint64_t TimerMicros();
inline uint64_t TimerMillis() { return TimerMicros() / 1000; }
}
