// Host stub (syntax check only): coralmicro libs/base/led.h.
#pragma once
namespace coralmicro {
enum class Led { kStatus, kUser, kTpu };
bool LedSet(Led led, bool enable);
}
