/* SPDX-License-Identifier: MIT */
/* response.c - being written. */
#include "api.h"
