/* SPDX-License-Identifier: MIT */
/* request.c - being written. */
#include "api.h"
