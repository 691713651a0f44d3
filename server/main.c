/* SPDX-License-Identifier: MIT */
/*
 * main.c - sigmoed: read the settings, open the model store, serve HTTP
 * until SIGTERM or SIGINT, rescan on SIGHUP.
 *
 * A signal handler only writes the signal's number into a pipe; the main
 * thread reads it and does all the work the signal asks for.
 *
 * Exit status: 0 after a clean shutdown or --help/--version/--check-config,
 * 2 for bad settings (including unreadable token and TLS files and a
 * listen address that does not resolve), 1 when the daemon cannot start
 * otherwise (model directory missing, port in use).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "log.h"
#include "server.h"

#ifndef SIGMOE_BUNDLED_MODELS
#define SIGMOE_BUNDLED_MODELS "models"
#endif

extern char **environ;

/* Print the effective settings, one "key = value" line each. */
static char *settings_text(const struct cfg_settings *cfg)
{
	size_t need = cfg_print(cfg, NULL, 0) + 1;
	char *buf = malloc(need);

	if (buf)
		cfg_print(cfg, buf, need);
	return buf;
}

static void log_settings(const struct cfg_settings *cfg)
{
	char *text = settings_text(cfg), *line, *save = NULL;

	if (!text)
		return;
	srv_info("sigmoed %s starting%s%s", SIGMOE_VERSION,
	         cfg->config_file ? " with config file " : "",
	         cfg->config_file ? cfg->config_file : "");
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		srv_info("setting %s", line);
	free(text);
}

/* Read both token files; a configured file that is bad stops the start. */
static int load_tokens(struct srv_context *ctx, const struct cfg_settings *cfg,
                       char *msg, size_t len)
{
	char why[512];
	int rc;

	if (cfg->api_token_file) {
		rc = srv_token_read(cfg->api_token_file, &ctx->api_token, why,
		                    sizeof(why));
		if (rc < 0) {
			snprintf(msg, len, "api_token_file: %s", why);
			return rc;
		}
	}
	if (cfg->admin_token_file) {
		rc = srv_token_read(cfg->admin_token_file, &ctx->admin_token,
		                    why, sizeof(why));
		if (rc < 0) {
			snprintf(msg, len, "admin_token_file: %s", why);
			return rc;
		}
	}
	return 0;
}

/*
 * The write end of the self-pipe.  A handler only writes the signal's
 * number there; the main thread reads it and does the work.  A handler
 * (rather than a signalfd) is needed because threads started before
 * main (OpenBLAS starts its pool in a constructor) do not block signals.
 */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int signo)
{
	unsigned char b = (unsigned char)signo;
	int saved = errno;
	ssize_t n = write(signal_pipe[1], &b, 1);

	(void)n;
	errno = saved;
}

/* Route SIGTERM, SIGINT and SIGHUP to the pipe; ignore SIGPIPE. */
static int signals_setup(void)
{
	static const int handled[] = {SIGTERM, SIGINT, SIGHUP};
	struct sigaction sa;
	size_t i;

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (sigaction(handled[i], &sa, NULL) < 0)
			return -1;
	return signal_pipe[0];
}

/* The next signal number from the pipe, or -1 on an error. */
static int next_signal(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	unsigned char b;

	while (1) {
		ssize_t n = read(fd, &b, 1);

		if (n == 1)
			return b;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

/* Serve until SIGTERM or SIGINT; SIGHUP rescans the model directory. */
static void wait_for_signals(struct srv_context *ctx, int fd)
{
	int signo, rc;

	while ((signo = next_signal(fd)) >= 0) {
		if (signo != SIGHUP) {
			srv_info("%s received: shutting down",
			         signo == SIGINT ? "SIGINT" : "SIGTERM");
			return;
		}
		rc = srv_store_rescan(ctx->store);
		if (rc < 0)
			srv_error("SIGHUP: rescan of %s failed: %s",
			          srv_store_dir(ctx->store), strerror(-rc));
		else
			srv_info("SIGHUP: rescan done, %d model(s) changed",
			         rc);
	}
	srv_error("signal pipe: %s", strerror(errno));
}

/* Stop accepting, let requests in flight finish, then stop. */
static void drain(struct srv_context *ctx, struct srv_http *http)
{
	double deadline = srv_monotonic() + SRV_SHUTDOWN_DRAIN_SECONDS;
	struct timespec tick = {0, 10 * 1000 * 1000};
	long left;

	atomic_store(&ctx->draining, 1);
	srv_http_quiesce(http);
	while ((left = atomic_load(&ctx->in_flight)) > 0 &&
	       srv_monotonic() < deadline)
		nanosleep(&tick, NULL);
	if (left > 0)
		srv_warn(
		    "shutdown: %ld request(s) still running after %d s, closing them",
		    left, SRV_SHUTDOWN_DRAIN_SECONDS);
	srv_http_stop(http);
}

static int serve(const struct cfg_settings *cfg, int sfd)
{
	struct srv_context ctx;
	struct srv_http *http = NULL;
	char msg[1024];
	int rc, status = 1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.start_time = srv_now();
	if (load_tokens(&ctx, cfg, msg, sizeof(msg)) < 0) {
		srv_error("%s", msg);
		status = 2;
		goto free_ctx;
	}
	ctx.metrics = srv_metrics_new();
	if (!ctx.metrics)
		goto free_ctx;
	rc = srv_store_open(cfg->models, &ctx.store);
	if (rc < 0) {
		srv_error("models: %s: %s", cfg->models, strerror(-rc));
		goto free_ctx;
	}
	rc = srv_store_watch(ctx.store, cfg->poll_interval);
	if (rc < 0)
		srv_warn(
		    "models: cannot watch %s (%s); SIGHUP and the reload endpoints still rescan",
		    cfg->models, strerror(-rc));
	rc = srv_http_start(&ctx, &http, msg, sizeof(msg));
	if (rc < 0) {
		/* a bad listen address or TLS file is a bad setting */
		srv_error("%s", msg);
		status = rc == -EADDRNOTAVAIL ? 1 : 2;
		goto close_store;
	}
	wait_for_signals(&ctx, sfd);
	drain(&ctx, http);
	srv_info("stopped");
	status = 0;
close_store:
	srv_store_close(ctx.store);
free_ctx:
	srv_metrics_free(ctx.metrics);
	free(ctx.api_token);
	free(ctx.admin_token);
	srv_worker_release();
	return status;
}

/* --help, --version, --check-config: print and exit. */
static int run_action(enum cfg_action action, const struct cfg_settings *cfg)
{
	char *text;

	switch (action) {
	case CFG_HELP:
		fputs(cfg_usage(), stdout);
		return 0;
	case CFG_VERSION:
		printf("sigmoed %s\n", SIGMOE_VERSION);
		return 0;
	default:
		text = settings_text(cfg);
		if (!text)
			return 1;
		fputs(text, stdout);
		free(text);
		return 0;
	}
}

int main(int argc, char **argv)
{
	struct cfg_settings cfg;
	struct cfg_error err;
	enum cfg_action action;
	int sfd, status;

	memset(&cfg, 0, sizeof(cfg));
	if (cfg_load(argc, argv, environ, SIGMOE_BUNDLED_MODELS, &cfg, &action,
	             &err) < 0) {
		fprintf(stderr, "sigmoed: %s\n", err.message);
		fprintf(stderr, "Try 'sigmoed --help'.\n");
		return 2;
	}
	if (action != CFG_RUN) {
		status = run_action(action, &cfg);
		cfg_free(&cfg);
		return status;
	}
	srv_log_setup(cfg.log_format, cfg.log_level);
	log_settings(&cfg);
	openblas_set_num_threads(1);
	sfd = signals_setup();
	if (sfd < 0) {
		srv_error("signals: %s", strerror(errno));
		cfg_free(&cfg);
		return 1;
	}
	status = serve(&cfg, sfd);
	cfg_free(&cfg);
	return status;
}
