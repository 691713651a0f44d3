/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's log: one event a line on stderr, as text or JSON.
 *
 * Only the daemon logs (never model/ or api/).  Each failure is logged
 * once, by the code that decides what to do about it, at a level that
 * says whose fault it is: a client's bad request is debug, a bad model
 * file is warn, a server fault is error.  Thread-safe.
 */
#ifndef SIGMOE_SRV_LOG_H
#define SIGMOE_SRV_LOG_H

#include "../config/config.h"

/* srv_log_setup - choose format and level; call once at start. */
void srv_log_setup(enum cfg_log_format format, enum cfg_log_level level);

/* srv_log_enabled - whether a message at level would be written. */
int srv_log_enabled(enum cfg_log_level level);

/*
 * srv_log - write one event line with the time, the level and the
 * message (formatted only if the level is enabled).
 */
void srv_log(enum cfg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define srv_error(...) srv_log(CFG_LOG_ERROR, __VA_ARGS__)
#define srv_warn(...)  srv_log(CFG_LOG_WARN, __VA_ARGS__)
#define srv_info(...)  srv_log(CFG_LOG_INFO, __VA_ARGS__)
#define srv_debug(...) srv_log(CFG_LOG_DEBUG, __VA_ARGS__)

#endif
