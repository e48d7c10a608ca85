#pragma once
#include "FreeRTOS.h"
void vTaskDelay(TickType_t);
void vTaskSuspend(TaskHandle_t);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
BaseType_t xTaskNotifyGive(TaskHandle_t);
uint32_t ulTaskNotifyTake(BaseType_t clear_on_exit, TickType_t ticks);
