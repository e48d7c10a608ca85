// Host stub (syntax check only): the FreeRTOS declarations app/main.cc uses.
#pragma once
#include "stub_common.h"
typedef uint32_t TickType_t;
typedef long BaseType_t;
typedef void* SemaphoreHandle_t;
typedef void* TaskHandle_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define pdTRUE ((BaseType_t)1)
#define pdMS_TO_TICKS(ms) ((TickType_t)(ms))
