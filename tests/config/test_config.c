/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - the daemon's settings: sources, precedence, every bad
 * value of tests/data/config/bad_values.tsv from each source, file line
 * numbers, actions, IPv6 addresses, token files, and the --help text and
 * the example file against the keys of SPEC 5.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test_support.h"

#define MAX_ARGS 32

static const char *const spec_keys[] = {
    "listen",
    "models",
    "default_model",
    "threads",
    "poll_interval",
    "max_body_bytes",
    "max_instances",
    "connection_timeout",
    "max_connections",
    "admin_token_file",
    "api_token_file",
    "tls_cert",
    "tls_key",
    "log_format",
    "log_level",
    "access_log",
    NULL,
};

static char data_dir[4096];
static char tmp_dir[4096];

static const char *data(const char *name)
{
	static char path[8][4200];
	static int next;
	char *p = path[next++ % 8];

	snprintf(p, sizeof(path[0]), "%s/config/%s", data_dir, name);
	return p;
}

/* Run cfg_load on a NULL-terminated argv (without argv[0]) and envp. */
static int load(const char *const *args, const char *const *env,
                struct cfg_settings *s, enum cfg_action *action,
                struct cfg_error *err)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	argv[argc++] = (char *)"sigmoed";
	while (args && *args && argc <= MAX_ARGS)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	memset(err, 0, sizeof(*err));
	return cfg_load(argc, argv, (char **)env, "/bundled/models", s, action,
	                err);
}

/* Load and expect failure with exactly message. */
static void expect_error(const char *const *args, const char *const *env,
                         const char *message)
{
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;
	int r;

	r = load(args, env, &s, &action, &err);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_str_eq(err.message, message);
}

START_TEST(defaults)
{
	const char *const env[] = {"HOME=/root", "SIGMOE_OTHER=1", NULL};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert_int_eq(load(NULL, env, &s, &action, &err), 0);
	ck_assert_int_eq(action, CFG_RUN);
	ck_assert_str_eq(s.listen_host, "127.0.0.1");
	ck_assert_uint_eq(s.listen_port, 8080);
	ck_assert_str_eq(s.models, "/bundled/models");
	ck_assert_ptr_null(s.default_model);
	ck_assert_uint_eq(s.threads, (unsigned)cpus);
	ck_assert_uint_eq(s.poll_interval, 5);
	ck_assert_uint_eq(s.max_body_bytes, 8388608);
	ck_assert_uint_eq(s.max_instances, 65536);
	ck_assert_uint_eq(s.connection_timeout, 30);
	ck_assert_uint_eq(s.max_connections, 1024);
	ck_assert_ptr_null(s.admin_token_file);
	ck_assert_ptr_null(s.api_token_file);
	ck_assert_ptr_null(s.tls_cert);
	ck_assert_ptr_null(s.tls_key);
	ck_assert_int_eq(s.log_format, CFG_LOG_TEXT);
	ck_assert_int_eq(s.log_level, CFG_LOG_INFO);
	ck_assert_int_eq(s.access_log, 0);
	ck_assert_ptr_null(s.config_file);
	cfg_free(&s);
}
END_TEST

START_TEST(precedence)
{
	const char *const args[] = {
	    "--config", data("precedence.conf"), "--log-level",
	    "error",    "--poll-interval=7",     NULL};
	const char *const env[] = {
	    "SIGMOED_MAX_BODY_BYTES=200", "SIGMOED_LOG_LEVEL=warn",
	    "SIGMOED_POLL_INTERVAL=9", "SIGMOED_LISTEN=0.0.0.0:9000", NULL};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;

	ck_assert_int_eq(load(args, env, &s, &action, &err), 0);
	ck_assert_uint_eq(s.threads, 3);              /* file > default */
	ck_assert_int_eq(s.access_log, 1);            /* file: yes */
	ck_assert_uint_eq(s.max_body_bytes, 200);     /* env > file */
	ck_assert_int_eq(s.log_level, CFG_LOG_ERROR); /* flag > env > file */
	ck_assert_uint_eq(s.poll_interval, 7);        /* flag > env */
	ck_assert_str_eq(s.listen_host, "0.0.0.0");   /* env > default */
	ck_assert_uint_eq(s.listen_port, 9000);
	ck_assert_uint_eq(s.max_instances, 65536); /* default */
	ck_assert_str_eq(s.config_file, data("precedence.conf"));
	cfg_free(&s);
}
END_TEST

START_TEST(config_from_env_and_flag_wins)
{
	const char *const env[] = {"SIGMOED_CONFIG=/nonexistent.conf", NULL};
	const char *const args[] = {"--config", data("ipv6.conf"), NULL};
	const char *const env2[] = {"SIGMOED_CONFIG=", NULL};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;

	expect_error(
	    NULL, env,
	    "config file '/nonexistent.conf' (from SIGMOED_CONFIG): No such file or directory");

	/* --config wins over SIGMOED_CONFIG: the missing file is not read. */
	ck_assert_int_eq(load(args, env, &s, &action, &err), 0);
	ck_assert_str_eq(s.listen_host, "::1");
	ck_assert_uint_eq(s.listen_port, 9443);
	ck_assert_str_eq(s.default_model, "iris");
	ck_assert_int_eq(s.log_format, CFG_LOG_JSON);
	cfg_free(&s);

	/* An empty SIGMOED_CONFIG means no file. */
	ck_assert_int_eq(load(NULL, env2, &s, &action, &err), 0);
	ck_assert_ptr_null(s.config_file);
	cfg_free(&s);
}
END_TEST

START_TEST(flag_forms)
{
	const char *const args[] = {"--max-body-bytes",
	                            "100",
	                            "--max-instances=5",
	                            "--access-log",
	                            "--threads",
	                            "2",
	                            NULL};
	const char *const args2[] = {"--access-log", "no",    "--access-log=1",
	                             "--access-log", "false", NULL};
	const char *const args3[] = {"--default-model", "iris",
	                             "--default-model=", NULL};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;

	ck_assert_int_eq(load(args, NULL, &s, &action, &err), 0);
	ck_assert_uint_eq(s.max_body_bytes, 100);
	ck_assert_uint_eq(s.max_instances, 5);
	ck_assert_int_eq(s.access_log, 1);
	ck_assert_uint_eq(s.threads, 2);
	cfg_free(&s);

	/* The last flag wins; a boolean flag takes a following word. */
	ck_assert_int_eq(load(args2, NULL, &s, &action, &err), 0);
	ck_assert_int_eq(s.access_log, 0);
	cfg_free(&s);

	/* An empty value means none. */
	ck_assert_int_eq(load(args3, NULL, &s, &action, &err), 0);
	ck_assert_ptr_null(s.default_model);
	cfg_free(&s);
}
END_TEST

START_TEST(bad_flags)
{
	const char *const a1[] = {"--bogus", "1", NULL};
	const char *const a2[] = {"--threads", NULL};
	const char *const a3[] = {"serve", NULL};
	const char *const a4[] = {"--max_body_bytes=5", "--config", NULL};
	const char *const a5[] = {"--", NULL};
	const char *const a6[] = {"-t", "4", NULL};

	expect_error(a1, NULL, "unknown option '--bogus' (see sigmoed --help)");
	expect_error(a2, NULL, "option '--threads' needs a value");
	expect_error(a3, NULL,
	             "unexpected argument 'serve' (see sigmoed --help)");
	expect_error(a4, NULL, "option '--config' needs a value");
	expect_error(a5, NULL, "unknown option '--' (see sigmoed --help)");
	expect_error(a6, NULL, "unknown option '-t' (see sigmoed --help)");
}
END_TEST

START_TEST(unknown_env)
{
	const char *const env[] = {"PATH=/bin", "SIGMOED_THREADS=2",
	                           "SIGMOED_MAX_BODY=5", NULL};
	const char *const env2[] = {"SIGMOED_threads=2", NULL};

	expect_error(NULL, env,
	             "SIGMOED_MAX_BODY: unknown setting (see sigmoed --help)");
	expect_error(NULL, env2,
	             "SIGMOED_threads: unknown setting (see sigmoed --help)");
}
END_TEST

START_TEST(file_errors)
{
	const char *const a1[] = {"--config", data("unknown_key.conf"), NULL};
	const char *const a2[] = {"--config", data("bad_value.conf"), NULL};
	const char *const a3[] = {"--config", data("section.conf"), NULL};
	const char *const a4[] = {"--config", data("duplicate.conf"), NULL};
	const char *const a5[] = {"--config", data("syntax.conf"), NULL};
	const char *const a6[] = {"--config", data("continuation.conf"), NULL};
	const char *const a7[] = {"--config", data("long_line.conf"), NULL};
	const char *const a8[] = {"--config", data(""), NULL};
	char msg[8192];

	snprintf(msg, sizeof(msg), "%s line 4: unknown setting 'max_body_byte'",
	         data("unknown_key.conf"));
	expect_error(a1, NULL, msg);
	snprintf(
	    msg, sizeof(msg),
	    "max_instances (from %s line 3): expected a positive integer, got 'lots'",
	    data("bad_value.conf"));
	expect_error(a2, NULL, msg);
	snprintf(msg, sizeof(msg),
	         "%s line 3: sections are not supported ([server])",
	         data("section.conf"));
	expect_error(a3, NULL, msg);
	snprintf(msg, sizeof(msg),
	         "%s line 3: threads is already set on line 1",
	         data("duplicate.conf"));
	expect_error(a4, NULL, msg);
	snprintf(msg, sizeof(msg), "%s line 2: expected 'key = value'",
	         data("syntax.conf"));
	expect_error(a5, NULL, msg);
	snprintf(msg, sizeof(msg), "%s line 2: models is already set on line 1",
	         data("continuation.conf"));
	expect_error(a6, NULL, msg);
	snprintf(msg, sizeof(msg), "%s line 1: line longer than 197 bytes",
	         data("long_line.conf"));
	expect_error(a7, NULL, msg);
	snprintf(msg, sizeof(msg),
	         "config file '%s' (from --config): not a regular file",
	         data(""));
	expect_error(a8, NULL, msg);
}
END_TEST

/* Write "key = value" into a temporary file; returns its path. */
static const char *temp_conf(const char *key, const char *value)
{
	static char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bad.conf", tmp_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "# generated\n\n%s = %s\n", key, value);
	fclose(f);
	return path;
}

static int has_edge_space(const char *v)
{
	size_t n = strlen(v);

	return n && (v[0] == ' ' || v[n - 1] == ' ');
}

/* Every line of bad_values.tsv, as a flag, a variable and a file line. */
START_TEST(bad_values_every_source)
{
	char line[1024], msg[8192], flag[256], var[1200], *key, *value, *want;
	FILE *f = fopen(data("bad_values.tsv"), "r");
	size_t i, cases = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		key = strtok(line, "\t");
		value = key + strlen(key) + 1;
		want = strchr(value, '\t');
		ck_assert_ptr_nonnull(want);
		*want++ = '\0';

		snprintf(flag, sizeof(flag), "--%s=%s", key, value);
		for (i = 2; flag[i] != '='; i++)
			flag[i] = flag[i] == '_' ? '-' : flag[i];
		{
			const char *const args[] = {flag, NULL};
			char fl[256];

			snprintf(fl, sizeof(fl), "%.*s",
			         (int)(strchr(flag, '=') - flag), flag);
			snprintf(msg, sizeof(msg), "%s (from %s): %s", key, fl,
			         want);
			expect_error(args, NULL, msg);
		}

		snprintf(var, sizeof(var), "SIGMOED_%s", key);
		for (i = 8; var[i]; i++)
			var[i] =
			    (char)(var[i] -
			           (var[i] >= 'a' && var[i] <= 'z' ? 32 : 0));
		{
			char assign[2400];
			const char *const env[] = {assign, NULL};

			snprintf(assign, sizeof(assign), "%s=%s", var, value);
			snprintf(msg, sizeof(msg), "%s (from %s): %s", key, var,
			         want);
			expect_error(NULL, env, msg);
		}

		if (!has_edge_space(value)) { /* the file trims spaces */
			const char *path = temp_conf(key, value);
			const char *const args[] = {"--config", path, NULL};

			snprintf(msg, sizeof(msg), "%s (from %s line 3): %s",
			         key, path, want);
			expect_error(args, NULL, msg);
		}
		cases++;
	}
	fclose(f);
	ck_assert_uint_ge(cases, 35);
}
END_TEST

/* A value a stronger source overrides is still checked. */
START_TEST(overridden_bad_value_still_fails)
{
	const char *const args[] = {"--config", data("bad_value.conf"),
	                            "--max-instances", "10", NULL};
	char msg[8192];

	snprintf(
	    msg, sizeof(msg),
	    "max_instances (from %s line 3): expected a positive integer, got 'lots'",
	    data("bad_value.conf"));
	expect_error(args, NULL, msg);
}
END_TEST

START_TEST(listen_forms)
{
	static const struct {
		const char *value, *host;
		unsigned port;
	} ok[] = {
	    {"[::1]:9000", "::1", 9000},
	    {"[::]:80", "::", 80},
	    {"[fe80::1:2]:65535", "fe80::1:2", 65535},
	    {"[2001:db8::8a2e:370:7334]:443", "2001:db8::8a2e:370:7334", 443},
	    {"0.0.0.0:0", "0.0.0.0", 0},
	    {"localhost:8081", "localhost", 8081},
	    {"sigmoe.example.com:1", "sigmoe.example.com", 1},
	};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;
	char flag[128], printed[4096], want[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *const args[] = {flag, NULL};

		snprintf(flag, sizeof(flag), "--listen=%s", ok[i].value);
		ck_assert_int_eq(load(args, NULL, &s, &action, &err), 0);
		ck_assert_str_eq(s.listen_host, ok[i].host);
		ck_assert_uint_eq(s.listen_port, ok[i].port);
		cfg_print(&s, printed, sizeof(printed));
		snprintf(want, sizeof(want), "listen = %s\n", ok[i].value);
		ck_assert_ptr_nonnull(strstr(printed, want));
		cfg_free(&s);
	}
}
END_TEST

START_TEST(token_and_tls_files)
{
	const char *const ok[] = {
	    "--api-token-file", data("token.txt"), "--admin-token-file",
	    data("token.txt"),  "--tls-cert",      data("token.txt"),
	    "--tls-key",        data("token.txt"), NULL};
	const char *const missing[] = {"--api-token-file", "/nonexistent/t",
	                               NULL};
	const char *const empty[] = {"--admin-token-file",
	                             data("empty_token.txt"), NULL};
	const char *const big[] = {"--admin-token-file", data("big_token.txt"),
	                           NULL};
	const char *const dir[] = {"--tls-cert", data("."), "--tls-key",
	                           data("token.txt"), NULL};
	const char *const cert_only[] = {"--tls-cert", data("token.txt"), NULL};
	const char *const key_env[] = {"SIGMOED_TLS_KEY=/x", NULL};
	const char *const overridden[] = {"--api-token-file", "", NULL};
	const char *const bad_env[] = {"SIGMOED_API_TOKEN_FILE=/nonexistent/t",
	                               NULL};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;
	char msg[8192];

	ck_assert_int_eq(load(ok, NULL, &s, &action, &err), 0);
	ck_assert_str_eq(s.api_token_file, data("token.txt"));
	cfg_free(&s);

	expect_error(
	    missing, NULL,
	    "api_token_file (from --api-token-file): cannot read '/nonexistent/t': No such file or directory");
	snprintf(
	    msg, sizeof(msg),
	    "admin_token_file (from --admin-token-file): '%s' is empty or unreadable",
	    data("empty_token.txt"));
	expect_error(empty, NULL, msg);
	snprintf(
	    msg, sizeof(msg),
	    "admin_token_file (from --admin-token-file): '%s' is larger than 4096 bytes",
	    data("big_token.txt"));
	expect_error(big, NULL, msg);
	snprintf(msg, sizeof(msg),
	         "tls_cert (from --tls-cert): '%s' is not a regular file",
	         data("."));
	expect_error(dir, NULL, msg);
	expect_error(cert_only, NULL,
	             "tls_cert is set but tls_key is not: HTTPS needs both");
	expect_error(NULL, key_env,
	             "tls_key is set but tls_cert is not: HTTPS needs both");

	/* The file check runs on the effective value only. */
	ck_assert_int_eq(load(overridden, bad_env, &s, &action, &err), 0);
	ck_assert_ptr_null(s.api_token_file);
	cfg_free(&s);
}
END_TEST

START_TEST(actions)
{
	const char *const help[] = {"--threads", "0", "--help", NULL};
	const char *const h[] = {"-h", NULL};
	const char *const version[] = {"--version", NULL};
	const char *const check[] = {"--check-config", "--threads", "3", NULL};
	const char *const check_bad[] = {"--check-config", "--threads", "x",
	                                 NULL};
	const char *const bad_env[] = {"SIGMOED_NOPE=1", NULL};
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;

	/* --help wins over everything, even bad settings: nothing to free. */
	ck_assert_int_eq(load(help, bad_env, &s, &action, &err), 0);
	ck_assert_int_eq(action, CFG_HELP);
	cfg_free(&s);
	ck_assert_int_eq(load(h, NULL, &s, &action, &err), 0);
	ck_assert_int_eq(action, CFG_HELP);
	cfg_free(&s);
	ck_assert_int_eq(load(version, NULL, &s, &action, &err), 0);
	ck_assert_int_eq(action, CFG_VERSION);
	cfg_free(&s);

	ck_assert_int_eq(load(check, NULL, &s, &action, &err), 0);
	ck_assert_int_eq(action, CFG_CHECK);
	ck_assert_uint_eq(s.threads, 3);
	cfg_free(&s);
	expect_error(
	    check_bad, NULL,
	    "threads (from --threads): expected a positive integer, got 'x'");
}
END_TEST

/* --help names every key as a flag, a variable and a file key. */
START_TEST(usage_lists_every_setting)
{
	const char *u = cfg_usage();
	char name[128];
	size_t i, j;

	for (i = 0; spec_keys[i]; i++) {
		snprintf(name, sizeof(name), "--%s", spec_keys[i]);
		for (j = 2; name[j]; j++)
			name[j] = name[j] == '_' ? '-' : name[j];
		ck_assert_msg(strstr(u, name), "no %s in --help", name);
		snprintf(name, sizeof(name), "SIGMOED_%s", spec_keys[i]);
		for (j = 8; name[j]; j++)
			name[j] = (char)(name[j] >= 'a' && name[j] <= 'z'
			                     ? name[j] - 32
			                     : name[j]);
		ck_assert_msg(strstr(u, name), "no %s in --help", name);
		snprintf(name, sizeof(name), "%s = ", spec_keys[i]);
		ck_assert_msg(strstr(u, name), "no '%s' in --help", name);
	}
	ck_assert_ptr_nonnull(strstr(u, "--check-config"));
	ck_assert_ptr_nonnull(strstr(u, "--config FILE"));
	ck_assert_ptr_nonnull(strstr(u, "max_body_bytes = 8388608"));
}
END_TEST

/* cfg_print output is a config file that loads to the same settings. */
START_TEST(print_round_trip)
{
	const char *const args[] = {"--listen",         "[::1]:1234",
	                            "--threads",        "7",
	                            "--default-model",  "iris",
	                            "--api-token-file", data("token.txt"),
	                            "--log-format",     "json",
	                            "--access-log",     "--models",
	                            "/srv/m",           NULL};
	char first[8192], second[8192], path[4200];
	struct cfg_settings s;
	enum cfg_action action;
	struct cfg_error err;
	size_t need;
	FILE *f;

	ck_assert_int_eq(load(args, NULL, &s, &action, &err), 0);
	need = cfg_print(&s, first, sizeof(first));
	ck_assert_uint_eq(need, strlen(first));
	ck_assert_uint_eq(cfg_print(&s, second, 10), need); /* truncated */
	ck_assert_uint_eq(strlen(second), 9);
	cfg_free(&s);

	snprintf(path, sizeof(path), "%s/printed.conf", tmp_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(first, f);
	fclose(f);
	{
		const char *const again[] = {"--config", path, NULL};

		ck_assert_int_eq(load(again, NULL, &s, &action, &err), 0);
	}
	cfg_print(&s, second, sizeof(second));
	cfg_free(&s);
	ck_assert_str_eq(first, second);
	ck_assert_ptr_nonnull(strstr(first, "default_model = iris\n"));
	ck_assert_ptr_nonnull(strstr(first, "tls_cert =\n"));
	ck_assert_ptr_nonnull(strstr(first, "access_log = true\n"));
}
END_TEST

/* The example file loads, names every key, and its defaults are right. */
START_TEST(example_file)
{
	char path[4200], line[1024], tmp[4200];
	const char *src = getenv("SIGMOE_SOURCE_ROOT");
	struct cfg_settings s, d;
	enum cfg_action action;
	struct cfg_error err;
	char have[16] = {0};
	FILE *in, *out;
	size_t i;

	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof(path), "%s/config/sigmoed.conf.example", src);
	{
		const char *const args[] = {"--config", path, NULL};

		ck_assert_int_eq(load(args, NULL, &s, &action, &err), 0);
		cfg_free(&s);
	}

	/* Uncomment every "# key = value" line: the defaults again. */
	snprintf(tmp, sizeof(tmp), "%s/example.conf", tmp_dir);
	in = fopen(path, "r");
	out = fopen(tmp, "w");
	ck_assert(in && out);
	while (fgets(line, sizeof(line), in)) {
		for (i = 0; spec_keys[i]; i++) {
			size_t n = strlen(spec_keys[i]);

			if (strncmp(line, "# ", 2) ||
			    strncmp(line + 2, spec_keys[i], n) ||
			    strncmp(line + 2 + n, " =", 2))
				continue;
			have[i] = 1;
			/* models and threads depend on the machine */
			if (strcmp(spec_keys[i], "models") &&
			    strcmp(spec_keys[i], "threads"))
				fputs(line + 2, out);
		}
	}
	fclose(in);
	fclose(out);
	for (i = 0; spec_keys[i]; i++)
		ck_assert_msg(have[i], "%s missing from the example",
		              spec_keys[i]);
	{
		const char *const args[] = {"--config", tmp, NULL};
		char a[8192], b[8192];

		ck_assert_int_eq(load(args, NULL, &s, &action, &err), 0);
		ck_assert_int_eq(load(NULL, NULL, &d, &action, &err), 0);
		cfg_print(&s, a, sizeof(a));
		cfg_print(&d, b, sizeof(b));
		ck_assert_str_eq(a, b);
		cfg_free(&s);
		cfg_free(&d);
	}
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, precedence);
	tcase_add_test(tc, config_from_env_and_flag_wins);
	tcase_add_test(tc, flag_forms);
	tcase_add_test(tc, bad_flags);
	tcase_add_test(tc, unknown_env);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, bad_values_every_source);
	tcase_add_test(tc, overridden_bad_value_still_fails);
	tcase_add_test(tc, listen_forms);
	tcase_add_test(tc, token_and_tls_files);
	tcase_add_test(tc, actions);
	tcase_add_test(tc, usage_lists_every_setting);
	tcase_add_test(tc, print_round_trip);
	tcase_add_test(tc, example_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");
	int result;

	if (!dir) {
		fprintf(stderr, "SIGMOE_TEST_DATA is not set\n");
		return 1;
	}
	snprintf(data_dir, sizeof(data_dir), "%s", dir);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/sigmoe-config-XXXXXX");
	if (!mkdtemp(tmp_dir))
		return 1;

	result = ts_run(config_suite());

	{
		char p[4300];

		snprintf(p, sizeof(p), "%s/bad.conf", tmp_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/printed.conf", tmp_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/example.conf", tmp_dir);
		unlink(p);
		rmdir(tmp_dir);
	}
	return result;
}
