/* SPDX-License-Identifier: MIT */
/*
 * config.c - the daemon's settings from flags, environment and a file.
 *
 * One table describes every setting: its key, its type and its bounds
 * (the defaults come from model/moe_limits.h, the --help text repeats them
 * for people; tests check that it names every key).  The flag
 * (--max-body-bytes) and the variable (SIGMOED_MAX_BODY_BYTES) are spelled from
 * the key, so the three stay in step.  cfg_load applies the sources from the
 * weakest to the strongest (defaults, file, environment, flags); every value
 * given is validated, even one a stronger source overrides, so a bad line never
 * hides. Checks that look at files (token files, TLS files) run once at the end
 * on the effective values.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"

#define ENV_PREFIX "SIGMOED_"
#define ORIGIN_BYTES 1200

enum cfg_type {
	T_LISTEN, /* host:port or [v6]:port */
	T_PATH,   /* non-empty string */
	T_NAME,   /* a model name, empty = none */
	T_UINT,   /* unsigned in [min, max] */
	T_SIZE,   /* size_t in [min, max] */
	T_FILE,   /* readable regular file, empty = none */
	T_TOKEN,  /* as T_FILE, at most SRV_MAX_TOKEN_BYTES */
	T_LOG_FORMAT,
	T_LOG_LEVEL,
	T_BOOL,
};

struct cfg_key {
	const char *key;
	enum cfg_type type;
	size_t offset; /* of the field in struct cfg_settings */
	unsigned long min, max;
};

#define FIELD(f) offsetof(struct cfg_settings, f)

static const struct cfg_key keys[] = {
    {"listen", T_LISTEN, 0, 0, 0},
    {"models", T_PATH, FIELD(models), 0, 0},
    {"default_model", T_NAME, FIELD(default_model), 0, 0},
    {"threads", T_UINT, FIELD(threads), 1, SRV_MAX_THREADS},
    {"poll_interval", T_UINT, FIELD(poll_interval), 0, 86400},
    {"max_body_bytes", T_SIZE, FIELD(max_body_bytes), 1, SRV_MAX_BODY_CEILING},
    {"max_instances", T_SIZE, FIELD(max_instances), 1,
     SRV_MAX_INSTANCES_CEILING},
    {"connection_timeout", T_UINT, FIELD(connection_timeout), 1, 86400},
    {"max_connections", T_UINT, FIELD(max_connections), 1, 65536},
    {"admin_token_file", T_TOKEN, FIELD(admin_token_file), 0, 0},
    {"api_token_file", T_TOKEN, FIELD(api_token_file), 0, 0},
    {"tls_cert", T_FILE, FIELD(tls_cert), 0, 0},
    {"tls_key", T_FILE, FIELD(tls_key), 0, 0},
    {"log_format", T_LOG_FORMAT, FIELD(log_format), 0, 0},
    {"log_level", T_LOG_LEVEL, FIELD(log_level), 0, 0},
    {"access_log", T_BOOL, FIELD(access_log), 0, 0},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Everything one cfg_load call needs while it runs. */
struct cfg_loader {
	struct cfg_settings *s;
	struct cfg_error *err;
	char origin[N_KEYS][ORIGIN_BYTES]; /* where each value came from */
	int file_line[N_KEYS];             /* line in the file, 0 if none */

	/* The config file while it is read. */
	const char *file;
	char *text;
	size_t text_len, pos;
	int line;
	int failed; /* err is already written */
};

static int fail(struct cfg_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct cfg_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "max_body_bytes (from SIGMOED_MAX_BODY_BYTES): <what>, got 'value'". */
static int bad_value(struct cfg_loader *ld, size_t k, const char *what,
                     const char *value)
{
	return fail(ld->err, "%s (from %s): %s, got '%.200s'", keys[k].key,
	            ld->origin[k], what, value);
}

/* The flag of a key: "--max-body-bytes". */
static void flag_name(size_t k, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "--%s", keys[k].key);
	for (i = 2; buf[i]; i++)
		if (buf[i] == '_')
			buf[i] = '-';
}

/* The variable of a key: "SIGMOED_MAX_BODY_BYTES". */
static void env_name(size_t k, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, ENV_PREFIX "%s", keys[k].key);
	for (i = 0; buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

static int find_key(const char *key, size_t len, size_t *k)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (strlen(keys[i].key) == len &&
		    strncmp(keys[i].key, key, len) == 0) {
			*k = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* Parse a decimal integer made of digits only; -ERANGE past max. */
static int parse_ulong(const char *v, unsigned long *out)
{
	unsigned long x = 0;
	const char *p;

	if (!*v)
		return -EINVAL;
	for (p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (x > (~0UL - (unsigned long)(*p - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (unsigned long)(*p - '0');
	}
	*out = x;
	return 0;
}

static int set_number(struct cfg_loader *ld, size_t k, const char *v)
{
	const struct cfg_key *key = &keys[k];
	char what[128];
	unsigned long x;
	int r;

	r = parse_ulong(v, &x);
	if (r == 0 && x >= key->min && x <= key->max) {
		if (key->type == T_UINT)
			*(unsigned *)((char *)ld->s + key->offset) =
			    (unsigned)x;
		else
			*(size_t *)((char *)ld->s + key->offset) = x;
		return 0;
	}

	if (r == -EINVAL)
		snprintf(what, sizeof(what), "expected %s integer",
		         key->min > 0 ? "a positive" : "a non-negative");
	else
		snprintf(what, sizeof(what),
		         "expected an integer from %lu to %lu", key->min,
		         key->max);
	return bad_value(ld, k, what, v);
}

static int set_string(struct cfg_loader *ld, size_t k, const char *v)
{
	char **field = (char **)((char *)ld->s + keys[k].offset);
	char *copy = NULL;

	if (*v) {
		copy = strdup(v);
		if (!copy)
			return fail(ld->err, "out of memory");
	}
	free(*field);
	*field = copy;
	return 0;
}

/* A model name as SPEC 3 allows it: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
static int valid_model_name(const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > MOE_MODEL_NAME_MAX ||
	    !isalnum((unsigned char)v[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("_.-", v[i]))
			return 0;
	return 1;
}

static int valid_host_name(const char *h)
{
	size_t i, len = strlen(h);

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return 0;
	return h[0] != '-' && h[0] != '.';
}

/* Split "host:port" or "[v6]:port"; host is written to host (len). */
static int split_listen(const char *v, char *host, size_t len,
                        unsigned long *port)
{
	const char *colon, *end;
	size_t hlen;

	if (v[0] == '[') {
		end = strchr(v, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
		v++;
		hlen = (size_t)(end - v);
	} else {
		colon = strrchr(v, ':');
		if (!colon || strchr(v, ':') != colon)
			return -EINVAL;
		hlen = (size_t)(colon - v);
	}
	if (hlen == 0 || hlen >= len)
		return -EINVAL;
	memcpy(host, v, hlen);
	host[hlen] = '\0';

	if (parse_ulong(colon + 1, port) || *port > 65535)
		return -ERANGE;
	return 0;
}

static int set_listen(struct cfg_loader *ld, size_t k, const char *v)
{
	unsigned char addr[16];
	unsigned long port;
	char host[256], *copy;
	int r;

	r = split_listen(v, host, sizeof(host), &port);
	if (r == -ERANGE)
		return bad_value(ld, k, "expected a port from 0 to 65535", v);
	if (r)
		return bad_value(ld, k, "expected host:port or [IPv6]:port", v);
	if (v[0] == '[' ? inet_pton(AF_INET6, host, addr) != 1
	                : !valid_host_name(host))
		return bad_value(
		    ld, k, "expected an IPv4 address, a host name or [IPv6]",
		    v);

	copy = strdup(host);
	if (!copy)
		return fail(ld->err, "out of memory");
	free(ld->s->listen_host);
	ld->s->listen_host = copy;
	ld->s->listen_port = (unsigned)port;
	return 0;
}

/* Index of v in the NULL-terminated list words, or -1. */
static int word_index(const char *v, const char *const *words)
{
	int i;

	for (i = 0; words[i]; i++)
		if (strcasecmp(v, words[i]) == 0)
			return i;
	return -1;
}

static int set_enum(struct cfg_loader *ld, size_t k, const char *v)
{
	static const char *const formats[] = {"text", "json", NULL};
	static const char *const levels[] = {"error", "warn", "info", "debug",
	                                     NULL};
	static const char *const bools[] = {"false", "true", "no", "yes",
	                                    "0",     "1",    NULL};
	int *field = (int *)((char *)ld->s + keys[k].offset);
	int i;

	switch (keys[k].type) {
	case T_LOG_FORMAT:
		i = word_index(v, formats);
		if (i < 0)
			return bad_value(ld, k, "expected text or json", v);
		*field = i;
		return 0;
	case T_LOG_LEVEL:
		i = word_index(v, levels);
		if (i < 0)
			return bad_value(
			    ld, k, "expected error, warn, info or debug", v);
		*field = i;
		return 0;
	default:
		i = word_index(v, bools);
		if (i < 0)
			return bad_value(
			    ld, k, "expected true, false, yes, no, 1 or 0", v);
		*field = i % 2;
		return 0;
	}
}

/* Validate v for key k and store it; ld->origin[k] must be set. */
static int set_value(struct cfg_loader *ld, size_t k, const char *v)
{
	if (strlen(v) > CFG_MAX_VALUE_BYTES)
		return fail(ld->err, "%s (from %s): value longer than %u bytes",
		            keys[k].key, ld->origin[k], CFG_MAX_VALUE_BYTES);

	switch (keys[k].type) {
	case T_LISTEN:
		return set_listen(ld, k, v);
	case T_PATH:
		if (!*v)
			return bad_value(ld, k, "expected a directory", v);
		return set_string(ld, k, v);
	case T_NAME:
		if (*v && !valid_model_name(v))
			return bad_value(
			    ld, k,
			    "expected a model name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})",
			    v);
		return set_string(ld, k, v);
	case T_FILE:
	case T_TOKEN:
		return set_string(ld, k, v);
	case T_UINT:
	case T_SIZE:
		return set_number(ld, k, v);
	default:
		return set_enum(ld, k, v);
	}
}

static int set_defaults(struct cfg_settings *s, const char *default_models,
                        struct cfg_error *err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(s, 0, sizeof(*s));
	s->listen_host = strdup("127.0.0.1");
	s->models = strdup(default_models ? default_models : "models");
	if (!s->listen_host || !s->models)
		return fail(err, "out of memory");
	s->listen_port = SRV_DEFAULT_PORT;
	s->threads = cpus < 1                       ? 1
	             : cpus > (long)SRV_MAX_THREADS ? SRV_MAX_THREADS
	                                            : (unsigned)cpus;
	s->poll_interval = SRV_DEFAULT_POLL_SECONDS;
	s->max_body_bytes = SRV_DEFAULT_MAX_BODY_BYTES;
	s->max_instances = SRV_DEFAULT_MAX_INSTANCES;
	s->connection_timeout = SRV_DEFAULT_CONN_TIMEOUT;
	s->max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
	s->log_format = CFG_LOG_TEXT;
	s->log_level = CFG_LOG_INFO;
	s->access_log = 0;
	return 0;
}

/*
 * The config file.  inih reads it through file_reader so that the line
 * number is known in the handler and over-long lines are refused instead
 * of being split.
 */
static char *file_reader(char *str, int num, void *stream)
{
	struct cfg_loader *ld = stream;
	const char *start, *nl;
	size_t len;

	if (ld->failed || ld->pos >= ld->text_len)
		return NULL;
	start = ld->text + ld->pos;
	nl = memchr(start, '\n', ld->text_len - ld->pos);
	len = nl ? (size_t)(nl - start) + 1 : ld->text_len - ld->pos;
	ld->line++;
	if (len + 1 > (size_t)num) {
		fail(ld->err, "%s line %d: line longer than %d bytes", ld->file,
		     ld->line, num - 3);
		ld->failed = 1;
		return NULL;
	}
	memcpy(str, start, len);
	str[len] = '\0';
	ld->pos += len;
	return str;
}

static int file_entry(struct cfg_loader *ld, const char *section,
                      const char *name, const char *value)
{
	size_t k;

	if (section[0])
		return fail(ld->err,
		            "%s line %d: sections are not supported ([%.100s])",
		            ld->file, ld->line, section);
	if (find_key(name, strlen(name), &k))
		return fail(ld->err, "%s line %d: unknown setting '%.100s'",
		            ld->file, ld->line, name);
	if (ld->file_line[k])
		return fail(ld->err, "%s line %d: %s is already set on line %d",
		            ld->file, ld->line, name, ld->file_line[k]);

	ld->file_line[k] = ld->line;
	snprintf(ld->origin[k], ORIGIN_BYTES, "%s line %d", ld->file, ld->line);
	return set_value(ld, k, value);
}

/* inih's callback: nonzero to go on. */
static int file_handler(void *user, const char *section, const char *name,
                        const char *value)
{
	struct cfg_loader *ld = user;

	if (!ld->failed && file_entry(ld, section, name, value))
		ld->failed = 1;
	return !ld->failed;
}

/* Read the whole file (at most CFG_MAX_FILE_BYTES) into ld->text. */
static int file_slurp(struct cfg_loader *ld, const char *origin)
{
	struct stat st;
	ssize_t got;
	int fd, r = 0;

	fd = open(ld->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(ld->err, "config file '%s' (from %s): %s", ld->file,
		            origin, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		r = fail(ld->err,
		         "config file '%s' (from %s): not a regular file",
		         ld->file, origin);
		goto close_fd;
	}
	if ((unsigned long)st.st_size > CFG_MAX_FILE_BYTES) {
		r = fail(ld->err,
		         "config file '%s' (from %s): larger than %lu bytes",
		         ld->file, origin, CFG_MAX_FILE_BYTES);
		goto close_fd;
	}

	ld->text = malloc((size_t)st.st_size + 1);
	if (!ld->text) {
		r = fail(ld->err, "out of memory");
		goto close_fd;
	}
	got = read(fd, ld->text, (size_t)st.st_size + 1);
	if (got < 0 || (size_t)got > (size_t)st.st_size)
		r = fail(ld->err, "config file '%s': %s", ld->file,
		         got < 0 ? strerror(errno) : "changed while read");
	else
		ld->text_len = (size_t)got;
close_fd:
	close(fd);
	return r;
}

static int load_file(struct cfg_loader *ld, const char *path,
                     const char *origin)
{
	int r;

	ld->file = path;
	r = file_slurp(ld, origin);
	if (r)
		goto free_text;
	if (memchr(ld->text, '\0', ld->text_len)) {
		r = fail(ld->err, "config file '%s': contains a NUL byte",
		         path);
		goto free_text;
	}

	r = ini_parse_stream(file_reader, ld, file_handler, ld);
	if (ld->failed)
		r = -EINVAL;
	else if (r > 0)
		r = fail(ld->err, "%s line %d: expected 'key = value'", path,
		         r);
	else if (r < 0)
		r = fail(ld->err, "config file '%s': cannot be parsed", path);
free_text:
	free(ld->text);
	ld->text = NULL;
	return r;
}

/* SIGMOED_* variables: check the names, find SIGMOED_CONFIG. */
static int scan_env(struct cfg_loader *ld, char **envp, const char **file)
{
	const size_t plen = strlen(ENV_PREFIX);
	const char *name, *eq;
	size_t i, k;
	char var[128];

	for (i = 0; envp && envp[i]; i++) {
		name = envp[i];
		eq = strchr(name, '=');
		if (strncmp(name, ENV_PREFIX, plen) != 0 || !eq)
			continue;
		if ((size_t)(eq - name) == plen + 6 &&
		    strncmp(name + plen, "CONFIG", 6) == 0) {
			*file = eq + 1;
			continue;
		}
		for (k = 0; k < N_KEYS; k++) {
			env_name(k, var, sizeof(var));
			if (strlen(var) == (size_t)(eq - name) &&
			    strncmp(var, name, (size_t)(eq - name)) == 0)
				break;
		}
		if (k == N_KEYS)
			return fail(
			    ld->err,
			    "%.*s: unknown setting (see sigmoed --help)",
			    (int)(eq - name > 100 ? 100 : eq - name), name);
	}
	return 0;
}

static int apply_env(struct cfg_loader *ld, char **envp)
{
	char var[128];
	size_t i, k, len;
	int r;

	for (i = 0; envp && envp[i]; i++) {
		for (k = 0; k < N_KEYS; k++) {
			env_name(k, var, sizeof(var));
			len = strlen(var);
			if (strncmp(envp[i], var, len) != 0 ||
			    envp[i][len] != '=')
				continue;
			snprintf(ld->origin[k], ORIGIN_BYTES, "%s", var);
			r = set_value(ld, k, envp[i] + len + 1);
			if (r)
				return r;
		}
	}
	return 0;
}

/* The flags, once parsed: the key index and value of each, in order. */
struct cfg_flags {
	size_t count;
	size_t *key;
	const char **value;
	const char *config; /* --config FILE, or NULL */
	int check;          /* --check-config */
};

static int is_bool_word(const char *v)
{
	static const char *const bools[] = {"false", "true", "no", "yes",
	                                    "0",     "1",    NULL};

	return v && word_index(v, bools) >= 0;
}

/* One "--name[=value]" argument at argv[*i]; may consume argv[*i + 1]. */
static int parse_flag(struct cfg_flags *f, int argc, char **argv, int *i,
                      struct cfg_error *err)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *value;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg), j, k;
	char key[64];

	if (len == 0 || len >= sizeof(key))
		return fail(err, "unknown option '%.100s' (see sigmoed --help)",
		            argv[*i]);
	for (j = 0; j < len; j++)
		key[j] = arg[j] == '-' ? '_' : arg[j];
	key[len] = '\0';

	if (strcmp(key, "config") != 0 && find_key(key, len, &k))
		return fail(err, "unknown option '%.100s' (see sigmoed --help)",
		            argv[*i]);
	if (eq) {
		value = eq + 1;
	} else if (strcmp(key, "config") && keys[k].type == T_BOOL &&
	           !is_bool_word(*i + 1 < argc ? argv[*i + 1] : NULL)) {
		value = "true";
	} else if (*i + 1 < argc) {
		value = argv[++*i];
	} else {
		return fail(err, "option '--%.*s' needs a value", (int)len,
		            arg);
	}

	if (strcmp(key, "config") == 0) {
		f->config = value;
		return 0;
	}
	f->key[f->count] = k;
	f->value[f->count++] = value;
	return 0;
}

static int parse_argv(struct cfg_flags *f, int argc, char **argv,
                      enum cfg_action *action, struct cfg_error *err)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*action = CFG_HELP;
			return 0;
		}
		if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
			*action = CFG_VERSION;
			return 0;
		}
		if (!strcmp(a, "--check-config")) {
			f->check = 1;
			continue;
		}
		if (a[0] == '-' && a[1] != '-')
			return fail(
			    err, "unknown option '%.100s' (see sigmoed --help)",
			    a);
		if (a[0] != '-')
			return fail(
			    err,
			    "unexpected argument '%.100s' (see sigmoed --help)",
			    a);
		r = parse_flag(f, argc, argv, &i, err);
		if (r)
			return r;
	}
	return 0;
}

static int apply_flags(struct cfg_loader *ld, const struct cfg_flags *f)
{
	size_t i;
	int r;

	for (i = 0; i < f->count; i++) {
		flag_name(f->key[i], ld->origin[f->key[i]], ORIGIN_BYTES);
		r = set_value(ld, f->key[i], f->value[i]);
		if (r)
			return r;
	}
	return 0;
}

/* A token or TLS file must be a readable regular file, not empty. */
static int check_file(struct cfg_loader *ld, size_t k)
{
	const char *path = *(char **)((char *)ld->s + keys[k].offset);
	struct stat st;
	char byte;
	int fd, r = 0;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(ld->err, "%s (from %s): cannot read '%.200s': %s",
		            keys[k].key, ld->origin[k], path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		r = fail(ld->err,
		         "%s (from %s): '%.200s' is not a regular file",
		         keys[k].key, ld->origin[k], path);
	else if (read(fd, &byte, 1) != 1)
		r = fail(ld->err,
		         "%s (from %s): '%.200s' is empty or unreadable",
		         keys[k].key, ld->origin[k], path);
	else if (keys[k].type == T_TOKEN &&
	         (unsigned long)st.st_size > SRV_MAX_TOKEN_BYTES)
		r = fail(ld->err,
		         "%s (from %s): '%.200s' is larger than %u bytes",
		         keys[k].key, ld->origin[k], path, SRV_MAX_TOKEN_BYTES);
	close(fd);
	return r;
}

static int check_final(struct cfg_loader *ld)
{
	const struct cfg_settings *s = ld->s;
	size_t k;
	int r;

	if (!!s->tls_cert != !!s->tls_key)
		return fail(ld->err,
		            "%s is set but %s is not: HTTPS needs both",
		            s->tls_cert ? "tls_cert" : "tls_key",
		            s->tls_cert ? "tls_key" : "tls_cert");
	for (k = 0; k < N_KEYS; k++) {
		if (keys[k].type != T_FILE && keys[k].type != T_TOKEN)
			continue;
		r = check_file(ld, k);
		if (r)
			return r;
	}
	return 0;
}

static int load_all(struct cfg_loader *ld, int argc, char **argv, char **envp,
                    enum cfg_action *action)
{
	struct cfg_flags f = {0};
	const char *file = NULL, *origin = ENV_PREFIX "CONFIG";
	int r;

	f.key = calloc((size_t)argc + 1, sizeof(*f.key));
	f.value = calloc((size_t)argc + 1, sizeof(*f.value));
	if (!f.key || !f.value) {
		r = fail(ld->err, "out of memory");
		goto free_flags;
	}
	r = parse_argv(&f, argc, argv, action, ld->err);
	if (r || *action != CFG_RUN)
		goto free_flags;
	r = scan_env(ld, envp, &file);
	if (r)
		goto free_flags;

	if (f.config) {
		file = f.config;
		origin = "--config";
	}
	if (file && *file) {
		r = load_file(ld, file, origin);
		if (r)
			goto free_flags;
		ld->s->config_file = strdup(file);
		if (!ld->s->config_file) {
			r = fail(ld->err, "out of memory");
			goto free_flags;
		}
	}

	r = apply_env(ld, envp);
	if (!r)
		r = apply_flags(ld, &f);
	if (!r)
		r = check_final(ld);
	if (!r && f.check)
		*action = CFG_CHECK;
free_flags:
	free(f.key);
	free(f.value);
	return r;
}

int cfg_load(int argc, char **argv, char **envp, const char *default_models,
             struct cfg_settings *out, enum cfg_action *action,
             struct cfg_error *err)
{
	struct cfg_loader *ld;
	struct cfg_settings s;
	int r;

	*action = CFG_RUN;
	err->message[0] = '\0';
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return fail(err, "out of memory");
	ld->s = &s;
	ld->err = err;

	r = set_defaults(&s, default_models, err);
	if (!r)
		r = load_all(ld, argc, argv, envp, action);
	if (r) {
		cfg_free(&s);
		*action = CFG_RUN;
	} else {
		*out = s;
	}
	free(ld);
	return r;
}

void cfg_free(struct cfg_settings *s)
{
	if (!s)
		return;
	free(s->listen_host);
	free(s->models);
	free(s->default_model);
	free(s->admin_token_file);
	free(s->api_token_file);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->config_file);
	memset(s, 0, sizeof(*s));
}

const char *cfg_usage(void)
{
	return "Usage: sigmoed [OPTION]...\n"
	       "Serve the mixture-of-experts models of a directory over HTTP.\n"
	       "\n"
	       "  -h, --help           show this help and exit\n"
	       "  -V, --version        show the version and exit\n"
	       "      --check-config   validate the settings, print them, exit\n"
	       "      --config FILE    read settings from FILE (SIGMOED_CONFIG)\n"
	       "\n"
	       "Settings: flag, environment variable, config file key, default.\n"
	       "Flags win over variables, variables over the file, the file over\n"
	       "defaults.  Write --flag VALUE or --flag=VALUE.  An empty value\n"
	       "means none for settings whose default is none.\n"
	       "\n"
	       "  --listen HOST:PORT          SIGMOED_LISTEN\n"
	       "      listen = 127.0.0.1:8080\n"
	       "      address and port: IPv4 or host name, or [IPv6]; port 0 = any\n"
	       "  --models DIR                SIGMOED_MODELS\n"
	       "      models = the bundled models/ folder\n"
	       "      model directory\n"
	       "  --default-model NAME        SIGMOED_DEFAULT_MODEL\n"
	       "      default_model = none\n"
	       "      model behind /predict and /gates (default: the only model)\n"
	       "  --threads N                 SIGMOED_THREADS\n"
	       "      threads = number of CPUs (1 to 1024)\n"
	       "      request threads\n"
	       "  --poll-interval SECONDS     SIGMOED_POLL_INTERVAL\n"
	       "      poll_interval = 5\n"
	       "      seconds between directory polls; 0 = inotify only\n"
	       "  --max-body-bytes N          SIGMOED_MAX_BODY_BYTES\n"
	       "      max_body_bytes = 8388608\n"
	       "      larger request bodies get 413\n"
	       "  --max-instances N           SIGMOED_MAX_INSTANCES\n"
	       "      max_instances = 65536\n"
	       "      rows per request; larger batches get 413\n"
	       "  --connection-timeout SECONDS  SIGMOED_CONNECTION_TIMEOUT\n"
	       "      connection_timeout = 30\n"
	       "      idle seconds before a connection closes\n"
	       "  --max-connections N         SIGMOED_MAX_CONNECTIONS\n"
	       "      max_connections = 1024\n"
	       "      open connections\n"
	       "  --admin-token-file FILE     SIGMOED_ADMIN_TOKEN_FILE\n"
	       "      admin_token_file = none\n"
	       "      bearer token of the reload endpoints (none: they answer 403)\n"
	       "  --api-token-file FILE       SIGMOED_API_TOKEN_FILE\n"
	       "      api_token_file = none\n"
	       "      bearer token of every endpoint but health (none: open)\n"
	       "  --tls-cert FILE             SIGMOED_TLS_CERT\n"
	       "      tls_cert = none\n"
	       "      PEM certificate chain: serve HTTPS (needs tls_key)\n"
	       "  --tls-key FILE              SIGMOED_TLS_KEY\n"
	       "      tls_key = none\n"
	       "      PEM private key of tls_cert\n"
	       "  --log-format FORMAT         SIGMOED_LOG_FORMAT\n"
	       "      log_format = text\n"
	       "      text, or json (one object a line)\n"
	       "  --log-level LEVEL           SIGMOED_LOG_LEVEL\n"
	       "      log_level = info\n"
	       "      error, warn, info or debug\n"
	       "  --access-log[=BOOL]         SIGMOED_ACCESS_LOG\n"
	       "      access_log = false\n"
	       "      one log line per request (true/false/yes/no/1/0)\n"
	       "\n"
	       "Config file: 'key = value' lines; lines starting with # are\n"
	       "comments; no sections.\n";
}

/* Append "key = value\n" to buf at *pos, counting what does not fit. */
static void print_line(char *buf, size_t len, size_t *pos, const char *key,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void print_line(char *buf, size_t len, size_t *pos, const char *key,
                       const char *fmt, ...)
{
	char value[CFG_MAX_VALUE_BYTES + 512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	n = snprintf(*pos < len ? buf + *pos : NULL,
	             *pos < len ? len - *pos : 0, "%s =%s%s\n", key,
	             value[0] ? " " : "", value);
	if (n > 0)
		*pos += (size_t)n;
}

size_t cfg_print(const struct cfg_settings *s, char *buf, size_t len)
{
	static const char *const formats[] = {"text", "json"};
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	const char *h = s->listen_host ? s->listen_host : "";
	size_t pos = 0;

	if (len)
		buf[0] = '\0';
	print_line(buf, len, &pos, "listen",
	           strchr(h, ':') ? "[%s]:%u" : "%s:%u", h, s->listen_port);
	print_line(buf, len, &pos, "models", "%s", s->models ? s->models : "");
	print_line(buf, len, &pos, "default_model", "%s",
	           s->default_model ? s->default_model : "");
	print_line(buf, len, &pos, "threads", "%u", s->threads);
	print_line(buf, len, &pos, "poll_interval", "%u", s->poll_interval);
	print_line(buf, len, &pos, "max_body_bytes", "%zu", s->max_body_bytes);
	print_line(buf, len, &pos, "max_instances", "%zu", s->max_instances);
	print_line(buf, len, &pos, "connection_timeout", "%u",
	           s->connection_timeout);
	print_line(buf, len, &pos, "max_connections", "%u", s->max_connections);
	print_line(buf, len, &pos, "admin_token_file", "%s",
	           s->admin_token_file ? s->admin_token_file : "");
	print_line(buf, len, &pos, "api_token_file", "%s",
	           s->api_token_file ? s->api_token_file : "");
	print_line(buf, len, &pos, "tls_cert", "%s",
	           s->tls_cert ? s->tls_cert : "");
	print_line(buf, len, &pos, "tls_key", "%s",
	           s->tls_key ? s->tls_key : "");
	print_line(buf, len, &pos, "log_format", "%s",
	           formats[s->log_format == CFG_LOG_JSON]);
	print_line(buf, len, &pos, "log_level", "%s",
	           levels[s->log_level <= CFG_LOG_DEBUG ? s->log_level : 2]);
	print_line(buf, len, &pos, "access_log", "%s",
	           s->access_log ? "true" : "false");
	return pos;
}
