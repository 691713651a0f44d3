/* SPDX-License-Identifier: MIT */
/*
 * config.h - the daemon's settings (SPEC 5).
 *
 * Each setting has one key, spelled three ways: a flag (--max-body-bytes),
 * an environment variable (SIGMOED_MAX_BODY_BYTES) and a config file key
 * (max_body_bytes).  Flags win over the environment, which wins over the
 * file, which wins over the defaults of model/moe_limits.h.  cfg_load() does
 * all of that and validates the result; the rest of the daemon only reads
 * a finished struct cfg_settings.
 */
#ifndef SIGMOE_CONFIG_H
#define SIGMOE_CONFIG_H

#include <stddef.h>

#include "../model/moe_limits.h"

enum cfg_log_format { CFG_LOG_TEXT = 0, CFG_LOG_JSON };
enum cfg_log_level {
	CFG_LOG_ERROR = 0, CFG_LOG_WARN, CFG_LOG_INFO, CFG_LOG_DEBUG,
};

/* The effective settings.  Strings are owned; NULL means "none". */
struct cfg_settings {
	char *listen_host;          /* "127.0.0.1", "::1", "0.0.0.0" ... */
	unsigned listen_port;
	char *models;               /* model directory */
	char *default_model;
	unsigned threads;
	unsigned poll_interval;     /* seconds; 0 disables polling */
	size_t max_body_bytes;
	size_t max_instances;
	unsigned connection_timeout;
	unsigned max_connections;
	char *admin_token_file;
	char *api_token_file;
	char *tls_cert;
	char *tls_key;
	enum cfg_log_format log_format;
	enum cfg_log_level log_level;
	int access_log;

	char *config_file;          /* the file read, if any */
};

/* What cfg_load decided the program should do. */
enum cfg_action {
	CFG_RUN = 0,        /* serve */
	CFG_HELP,           /* --help was given: print cfg_usage(), exit 0 */
	CFG_VERSION,        /* --version */
	CFG_CHECK,          /* --check-config: print cfg_print(), exit 0 */
};

struct cfg_error {
	char message[512];
};

/*
 * cfg_load - build the effective settings from argv, the environment
 * (envp, NULL-terminated "KEY=VALUE" strings) and the config file named
 * by --config or SIGMOED_CONFIG.  default_models is the bundled model
 * directory used when no setting names one.  On success fills *out (free
 * with cfg_free) and *action and returns 0.  On a bad flag, variable, file
 * line or value returns -EINVAL and err names the setting and where it
 * came from: "max_body_bytes (from /etc/sigmoed.conf line 4): expected a
 * positive integer, got 'big'".  Never prints, never exits.
 */
int cfg_load(int argc, char **argv, char **envp,
	     const char *default_models, struct cfg_settings *out,
	     enum cfg_action *action, struct cfg_error *err);

/* cfg_free - release what cfg_load allocated in s; s itself is not freed. */
void cfg_free(struct cfg_settings *s);

/* cfg_usage - the --help text, a static string. */
const char *cfg_usage(void);

/*
 * cfg_print - write the effective settings as "key = value" lines, in the
 * config file syntax, to buf (NUL-terminated, truncated to len).  Token
 * files are shown by path, never by content.  Returns the length needed.
 */
size_t cfg_print(const struct cfg_settings *s, char *buf, size_t len);

#endif
