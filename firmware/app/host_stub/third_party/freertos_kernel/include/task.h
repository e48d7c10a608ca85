// Host stub (syntax check only): FreeRTOS task.h as pinned by the SDK (FreeRTOS-Kernel
// 375b085): the notification calls are macros over the indexed functions.
#pragma once
#include "FreeRTOS.h"
typedef enum { eNoAction = 0, eSetBits, eIncrement, eSetValueWithOverwrite, eSetValueWithoutOverwrite } eNotifyAction;
#define tskDEFAULT_INDEX_TO_NOTIFY (0)
void vTaskDelay(const TickType_t xTicksToDelay);
void vTaskSuspend(TaskHandle_t xTaskToSuspend);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
BaseType_t xTaskGenericNotify(TaskHandle_t xTaskToNotify, UBaseType_t uxIndexToNotify, uint32_t ulValue,
                              eNotifyAction eAction, uint32_t* pulPreviousNotificationValue);
uint32_t ulTaskGenericNotifyTake(UBaseType_t uxIndexToWaitOn, BaseType_t xClearCountOnExit, TickType_t xTicksToWait);
#define xTaskNotifyGive(xTaskToNotify) \
  xTaskGenericNotify((xTaskToNotify), (tskDEFAULT_INDEX_TO_NOTIFY), (0), eIncrement, NULL)
#define ulTaskNotifyTake(xClearCountOnExit, xTicksToWait) \
  ulTaskGenericNotifyTake((tskDEFAULT_INDEX_TO_NOTIFY), (xClearCountOnExit), (xTicksToWait))
