/* SPDX-License-Identifier: MIT */
/* config.c - being written. */
#include "config.h"
