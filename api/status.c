/* SPDX-License-Identifier: MIT */
/* status.c - being written. */
#include "api.h"
