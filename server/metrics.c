/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - request counters and the Prometheus text page (SPEC 6).
 *
 * Requests are counted per endpoint template and status code, and timed
 * in a histogram with fixed buckets, all with relaxed atomics: a scrape
 * may see one request counted in a counter and not yet in the histogram,
 * which Prometheus tolerates.  Model counters come from the store at
 * scrape time; process gauges from /proc/self.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

/* The status codes the daemon answers with; anything else is "other". */
static const int known_codes[] = {
    200, 400, 401, 403, 404, 405, 413, 415, 500, 503,
};
#define N_CODES (sizeof(known_codes) / sizeof(known_codes[0]) + 1)

/* Upper bounds of the duration buckets, in seconds (+Inf implied). */
static const double bucket_bounds[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10,
};
#define N_BUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

/* One endpoint's counters; every field is updated with atomics. */
struct ep_counters {
	atomic_ullong requests[N_CODES];
	atomic_ullong buckets[N_BUCKETS + 1]; /* non-cumulative; +Inf */
	atomic_ullong sum_ns;
};

struct srv_metrics {
	struct ep_counters ep[SRV_EP_COUNT];
	atomic_ullong connections_refused;
};

struct srv_metrics *srv_metrics_new(void)
{
	return calloc(1, sizeof(struct srv_metrics));
}

void srv_metrics_free(struct srv_metrics *m)
{
	free(m);
}

double srv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double srv_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t code_index(int status)
{
	size_t i;

	for (i = 0; i + 1 < N_CODES; i++)
		if (known_codes[i] == status)
			return i;
	return N_CODES - 1;
}

void srv_metrics_observe(struct srv_metrics *m, enum srv_endpoint ep,
                         int status, double seconds)
{
	struct ep_counters *c = &m->ep[ep];
	size_t b;

	if (!(seconds >= 0))
		seconds = 0;
	atomic_fetch_add_explicit(&c->requests[code_index(status)], 1,
	                          memory_order_relaxed);
	for (b = 0; b < N_BUCKETS; b++)
		if (seconds <= bucket_bounds[b])
			break;
	atomic_fetch_add_explicit(&c->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->sum_ns,
	                          (unsigned long long)(seconds * 1e9),
	                          memory_order_relaxed);
}

static unsigned long long load(atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void srv_metrics_refused(struct srv_metrics *m)
{
	atomic_fetch_add_explicit(&m->connections_refused, 1,
	                          memory_order_relaxed);
}

static void render_requests(FILE *f, struct srv_metrics *m)
{
	size_t e, i;

	fputs("# HELP sigmoe_requests_total HTTP requests answered, by "
	      "endpoint template and status code.\n"
	      "# TYPE sigmoe_requests_total counter\n",
	      f);
	for (e = 0; e < SRV_EP_COUNT; e++) {
		for (i = 0; i < N_CODES; i++) {
			unsigned long long n = load(&m->ep[e].requests[i]);
			char code[16];

			if (n == 0)
				continue;
			if (i + 1 < N_CODES)
				snprintf(code, sizeof(code), "%d",
				         known_codes[i]);
			else
				snprintf(code, sizeof(code), "other");
			fprintf(f,
			        "sigmoe_requests_total{endpoint=\"%s\","
			        "code=\"%s\"} %llu\n",
			        srv_endpoint_name((enum srv_endpoint)e), code,
			        n);
		}
	}
}

static void render_histogram(FILE *f, struct srv_metrics *m)
{
	size_t e, b;

	fputs("# HELP sigmoe_request_duration_seconds Time from a request's "
	      "headers to its response being ready to send.\n"
	      "# TYPE sigmoe_request_duration_seconds histogram\n",
	      f);
	for (e = 0; e < SRV_EP_COUNT; e++) {
		struct ep_counters *c = &m->ep[e];
		const char *name = srv_endpoint_name((enum srv_endpoint)e);
		unsigned long long snap[N_BUCKETS + 1], count = 0, cum = 0;

		for (b = 0; b <= N_BUCKETS; b++) {
			snap[b] = load(&c->buckets[b]);
			count += snap[b];
		}
		if (count == 0)
			continue;
		for (b = 0; b < N_BUCKETS; b++) {
			cum += snap[b];
			fprintf(f,
			        "sigmoe_request_duration_seconds_bucket"
			        "{endpoint=\"%s\",le=\"%g\"} %llu\n",
			        name, bucket_bounds[b], cum);
		}
		fprintf(f,
		        "sigmoe_request_duration_seconds_bucket"
		        "{endpoint=\"%s\",le=\"+Inf\"} %llu\n"
		        "sigmoe_request_duration_seconds_sum"
		        "{endpoint=\"%s\"} %.9f\n"
		        "sigmoe_request_duration_seconds_count"
		        "{endpoint=\"%s\"} %llu\n",
		        name, count, name, (double)load(&c->sum_ns) * 1e-9,
		        name, count);
	}
}

/* Write s as a label value: backslash, quote and newline escaped. */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample "name{model="..."<extra>} value". */
static void model_sample(FILE *f, const char *metric, const char *model,
                         const char *extra, double value)
{
	fprintf(f, "%s{model=\"", metric);
	put_label(f, model);
	fprintf(f, "\"%s} %.17g\n", extra ? extra : "", value);
}

static void render_model_counters(FILE *f, struct srv_model_status *st,
                                  size_t n)
{
	size_t i;

	family(f, "sigmoe_instances_total", "counter",
	       "Rows computed, by model.");
	for (i = 0; i < n; i++)
		model_sample(f, "sigmoe_instances_total", st[i].name, NULL,
		             (double)st[i].instances);

	family(f, "sigmoe_model_loads_total", "counter",
	       "Model file loads, by model and result.");
	for (i = 0; i < n; i++) {
		model_sample(f, "sigmoe_model_loads_total", st[i].name,
		             ",result=\"success\"", (double)st[i].loads_ok);
		model_sample(f, "sigmoe_model_loads_total", st[i].name,
		             ",result=\"failure\"", (double)st[i].loads_failed);
	}
}

static void render_model_versions(FILE *f, struct srv_model_status *st,
                                  size_t n)
{
	size_t i;

	family(f, "sigmoe_model_version", "gauge",
	       "Version in service (0: none).");
	for (i = 0; i < n; i++)
		model_sample(f, "sigmoe_model_version", st[i].name, NULL,
		             st[i].version ? (double)st[i].version->number : 0);

	family(f, "sigmoe_model_available", "gauge",
	       "1 when a version of the model is in service, else 0.");
	for (i = 0; i < n; i++)
		model_sample(f, "sigmoe_model_available", st[i].name, NULL,
		             st[i].version ? 1 : 0);

	family(f, "sigmoe_model_info", "gauge",
	       "The version in service: file digest and gate (always 1).");
	for (i = 0; i < n; i++) {
		const struct moe_model *mo;
		char extra[160];

		if (!st[i].version)
			continue;
		mo = st[i].version->model;
		snprintf(extra, sizeof(extra),
		         ",digest=\"%s\",gate=\"%s\",score=\"%s\"", mo->digest,
		         moe_gate_kind_name(mo->gate.kind),
		         moe_score_name(mo->gate.score));
		model_sample(f, "sigmoe_model_info", st[i].name, extra, 1);
	}

	family(f, "sigmoe_model_last_load_timestamp_seconds", "gauge",
	       "When the version in service was loaded (Unix time).");
	for (i = 0; i < n; i++)
		if (st[i].version)
			model_sample(
			    f, "sigmoe_model_last_load_timestamp_seconds",
			    st[i].name, NULL, st[i].version->loaded_at);
}

static void render_expert_weights(FILE *f, struct srv_model_status *st,
                                  size_t n)
{
	size_t i, e;

	family(f, "sigmoe_expert_weight_total", "counter",
	       "Sum of the mixture weights each expert received.");
	for (i = 0; i < n; i++) {
		if (!st[i].version || !st[i].expert_weight_sum)
			continue;
		for (e = 0; e < st[i].version->model->n_experts; e++) {
			char extra[48];

			snprintf(extra, sizeof(extra), ",expert=\"%zu\"", e);
			model_sample(f, "sigmoe_expert_weight_total",
			             st[i].name, extra,
			             st[i].expert_weight_sum[e]);
		}
	}
}

static int render_models(FILE *f, struct srv_store *store)
{
	struct srv_model_status *st;
	int n = srv_store_status(store, &st);

	if (n < 0)
		return n;
	render_model_counters(f, st, (size_t)n);
	render_model_versions(f, st, (size_t)n);
	render_expert_weights(f, st, (size_t)n);
	srv_store_status_free(st, (size_t)n);
	return 0;
}

/* Fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss). */
static int read_proc_stat(double *cpu, double *start, double *vsize,
                          double *rss)
{
	char buf[1024], *p;
	unsigned long long ut, st, startt, vs;
	long long rs;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
	                 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	                 "%llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
	                 &ut, &st, &startt, &vs, &rs) != 5)
		return -EINVAL;
	*cpu = (double)(ut + st) / (double)tck;
	*start = (double)startt / (double)tck;
	*vsize = (double)vs;
	*rss = (double)rs * (double)page;
	return 0;
}

static double boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

static void render_process(FILE *f)
{
	double cpu, start, vsize, rss;
	struct rlimit rl;
	long fds = open_fds();

	if (read_proc_stat(&cpu, &start, &vsize, &rss) == 0) {
		family(f, "process_cpu_seconds_total", "counter",
		       "User and system CPU time spent in seconds.");
		fprintf(f, "process_cpu_seconds_total %.2f\n", cpu);
		family(f, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.");
		fprintf(f, "process_resident_memory_bytes %.0f\n", rss);
		family(f, "process_virtual_memory_bytes", "gauge",
		       "Virtual memory size in bytes.");
		fprintf(f, "process_virtual_memory_bytes %.0f\n", vsize);
		family(
		    f, "process_start_time_seconds", "gauge",
		    "Start time of the process since the Unix epoch in seconds.");
		fprintf(f, "process_start_time_seconds %.2f\n",
		        boot_time() + start);
	}
	if (fds >= 0) {
		family(f, "process_open_fds", "gauge",
		       "Number of open file descriptors.");
		fprintf(f, "process_open_fds %ld\n", fds);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		family(f, "process_max_fds", "gauge",
		       "Maximum number of open file descriptors.");
		fprintf(f, "process_max_fds %.0f\n",
		        rl.rlim_cur == RLIM_INFINITY ? -1.0
		                                     : (double)rl.rlim_cur);
	}
}

int srv_metrics_render(struct srv_context *ctx, char **out, size_t *len)
{
	char *data = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&data, &size);
	int rc;

	if (!f)
		return -ENOMEM;
	render_requests(f, ctx->metrics);
	render_histogram(f, ctx->metrics);
	family(f, "sigmoe_connections_refused_total", "counter",
	       "Connections closed unanswered because every thread held "
	       "its share of max_connections.");
	fprintf(f, "sigmoe_connections_refused_total %llu\n",
	        load(&ctx->metrics->connections_refused));
	rc = render_models(f, ctx->store);
	family(f, "sigmoe_build_info", "gauge",
	       "The running build (always 1).");
	fprintf(f, "sigmoe_build_info{version=\"%s\"} 1\n", SIGMOE_VERSION);
	render_process(f);
	if (fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0 && size > SRV_MAX_METRICS_BYTES)
		rc = -E2BIG;
	if (rc < 0) {
		free(data);
		return rc;
	}
	*out = data;
	*len = size;
	return 0;
}
