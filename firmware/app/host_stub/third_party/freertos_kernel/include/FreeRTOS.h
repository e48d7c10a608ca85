// Host stub (syntax check only): the FreeRTOS declarations app/main.cc uses.
#pragma once
#include "stub_common.h"
typedef uint32_t TickType_t;  // portmacro.h (ARM_CM7, configUSE_16_BIT_TICKS 0)
typedef long BaseType_t;
typedef unsigned long UBaseType_t;
typedef struct QueueDefinition* QueueHandle_t;       // queue.h
typedef QueueHandle_t SemaphoreHandle_t;             // semphr.h
typedef struct tskTaskControlBlock* TaskHandle_t;    // task.h
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define pdTRUE ((BaseType_t)1)
#define pdMS_TO_TICKS(ms) ((TickType_t)(ms))
