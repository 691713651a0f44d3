/* SPDX-License-Identifier: MIT */
/*
 * test_formats.c - the model file formats.
 *
 * Good files (written by tests/tools/formats_make_good.py, a writer that
 * shares no code with model/) load to exactly the values the script
 * listed, with the digest sha256sum printed and the expected storage
 * (mapped or copied).  Every file of tests/data/formats/broken is
 * rejected with the exact message its EXPECTED manifest gives, nothing
 * returned.  Writers round-trip byte for byte across the two formats, and
 * a model gives the same forward outputs from either format.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats.h"
#include "sigmoe.h"
#include "test_support.h"

static char path_buf[4096];

/* The path of a file under tests/data/formats. */
static const char *data_path(const char *name)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");

	snprintf(path_buf, sizeof(path_buf), "%s/formats/%s", dir ? dir : ".",
	         name);
	return path_buf;
}

static struct moe_model *load_path(const char *path)
{
	struct moe_model *model = NULL;
	struct moe_error err = {{0}};
	int rc = moe_model_load(path, &model, &err);

	ck_assert_msg(rc == 0, "%s: %d %s", path, rc, err.message);
	ck_assert_ptr_nonnull(model);
	return model;
}

static struct moe_model *load_ok(const char *name)
{
	return load_path(data_path(name));
}

/* ---- good files ---- */

/* The digest sha256sum recorded for name in good/SHA256SUMS. */
static void expected_digest(const char *name, char hex[65])
{
	char *sums = ts_read_file(data_path("good/SHA256SUMS"), NULL);
	char *line;

	for (line = strtok(sums, "\n"); line; line = strtok(NULL, "\n")) {
		if (strlen(line) > 66 && strcmp(line + 66, name) == 0) {
			memcpy(hex, line, 64);
			hex[64] = '\0';
			free(sums);
			return;
		}
	}
	free(sums);
	ck_abort_msg("%s is not in SHA256SUMS", name);
}

static const void *tensor(const struct moe_model *m, const char *name,
                          size_t *count)
{
	size_t e = m->n_experts, k = m->n_classes, d = m->n_features;

	if (strcmp(name, "gate.weight") == 0)
		return *count = e * d, m->params.gate_weight;
	if (strcmp(name, "gate.bias") == 0)
		return *count = e, m->params.gate_bias;
	if (strcmp(name, "experts.weight") == 0)
		return *count = e * k * d, m->params.expert_weight;
	if (strcmp(name, "experts.bias") == 0)
		return *count = e * k, m->params.expert_bias;
	if (strcmp(name, "standardize.mean") == 0)
		return *count = d, m->params.mean;
	if (strcmp(name, "standardize.scale") == 0)
		return *count = d, m->params.scale;
	ck_abort_msg("unknown tensor %s", name);
	return NULL;
}

/* Every value equals (bit for bit) the one in NAME.values. */
static void check_values(const struct moe_model *m, const char *values_file,
                         size_t n_tensors)
{
	char *text = ts_read_file(data_path(values_file), NULL), *save = NULL;
	char *line, *tok, *tsave;
	size_t lines = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		size_t count = 0, i = 0;
		const void *array;

		tok = strtok_r(line, " ", &tsave);
		array = tensor(m, tok, &count);
		ck_assert_msg(array != NULL, "%s missing", tok);
		while ((tok = strtok_r(NULL, " ", &tsave)) != NULL) {
			double want = strtod(tok, NULL);

			ck_assert_uint_lt(i, count);
			if (m->dtype == MOE_DTYPE_F32) {
				float got = ((const float *)array)[i];
				float wantf = (float)want;

				ck_assert_msg(memcmp(&got, &wantf, 4) == 0,
				              "%s[%zu]: %.9g != %.9g", line, i,
				              got, wantf);
			} else {
				double got = ((const double *)array)[i];

				ck_assert_msg(memcmp(&got, &want, 8) == 0,
				              "%s[%zu]: %.17g != %.17g", line,
				              i, got, want);
			}
			i++;
		}
		ck_assert_uint_eq(i, count);
	}
	ck_assert_uint_eq(lines, n_tensors);
	free(text);
}

static void check_tiny(const struct moe_model *m)
{
	ck_assert_str_eq(m->name, "tiny");
	ck_assert_str_eq(m->description,
	                 "three features, two experts, three classes");
	ck_assert_int_eq(m->dtype, MOE_DTYPE_F64);
	ck_assert_uint_eq(m->n_features, 3);
	ck_assert_uint_eq(m->n_experts, 2);
	ck_assert_uint_eq(m->n_classes, 3);
	ck_assert_int_eq(m->gate.kind, MOE_GATE_SIGMOID);
	ck_assert_int_eq(m->gate.score, MOE_SCORE_EUCLIDEAN);
	ck_assert(m->gate.temperature == 0.75);
	ck_assert_uint_eq(m->gate.top_k, 1);
	ck_assert_ptr_nonnull(m->features);
	ck_assert_str_eq(m->features[0], "x0");
	ck_assert_str_eq(m->features[2], "x2");
	ck_assert_str_eq(m->classes[0], "a");
	ck_assert_str_eq(m->classes[2], "c");
	check_values(m, "good/tiny.values", 6);
}

static void check_small(const struct moe_model *m)
{
	ck_assert_str_eq(m->name, "small_f32");
	ck_assert_str_eq(m->description, "");
	ck_assert_int_eq(m->dtype, MOE_DTYPE_F32);
	ck_assert_uint_eq(m->n_features, 2);
	ck_assert_uint_eq(m->n_experts, 3);
	ck_assert_uint_eq(m->n_classes, 2);
	ck_assert_int_eq(m->gate.kind, MOE_GATE_SOFTMAX);
	ck_assert_int_eq(m->gate.score, MOE_SCORE_INNER);
	ck_assert(m->gate.temperature == 2.0);
	ck_assert_uint_eq(m->gate.top_k, 0);
	ck_assert_ptr_null(m->features);
	ck_assert_ptr_null(m->params.mean);
	ck_assert_ptr_null(m->params.scale);
	ck_assert_str_eq(m->classes[1], "yes");
	check_values(m, "good/small_f32.values", 4);
}

static const struct good {
	const char *file;
	int tiny;   /* else small_f32 */
	int mapped; /* expected model->mapped */
} goods[] = {
    {"tiny.json", 1, 0},
    {"tiny.safetensors", 1, 1},
    {"tiny_unaligned.safetensors", 1, 0},
    {"tiny_mixed.safetensors", 1, 1},
    {"small_f32.json", 0, 0},
    {"small_f32.safetensors", 0, 0},
};

#define N_GOODS (sizeof(goods) / sizeof(goods[0]))

START_TEST(test_good_file)
{
	const struct good *g = &goods[_i];
	char name[256], hex[65];
	struct moe_model *m;
	size_t len;
	char *bytes;

	snprintf(name, sizeof(name), "good/%s", g->file);
	m = load_ok(name);
	if (g->tiny)
		check_tiny(m);
	else
		check_small(m);

	ck_assert_int_eq(m->mapped, g->mapped);
	ck_assert_int_eq(m->format, strstr(g->file, ".json")
	                                ? MOE_FORMAT_JSON
	                                : MOE_FORMAT_SAFETENSORS);
	expected_digest(g->file, hex);
	ck_assert_str_eq(m->digest, hex);
	bytes = ts_read_file(data_path(name), &len);
	ck_assert_uint_eq(m->file_bytes, len);
	moe_model_free(m);
	free(bytes);
}
END_TEST

/* From memory: never mapped, same values and digest. */
START_TEST(test_good_buffer)
{
	const struct good *g = &goods[_i];
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};
	enum moe_format fmt;
	char name[256], hex[65];
	size_t len;
	char *bytes;
	int rc;

	snprintf(name, sizeof(name), "good/%s", g->file);
	bytes = ts_read_file(data_path(name), &len);
	ck_assert_int_eq(moe_format_from_path(g->file, &fmt), 0);
	rc = moe_model_load_buffer(bytes, len, fmt, g->file, &m, &err);
	ck_assert_msg(rc == 0, "%s: %s", g->file, err.message);
	free(bytes); /* the model must not point into it */

	if (g->tiny)
		check_tiny(m);
	else
		check_small(m);
	ck_assert_int_eq(m->mapped, 0);
	expected_digest(g->file, hex);
	ck_assert_str_eq(m->digest, hex);
	moe_model_free(m);
}
END_TEST

/* ---- broken files ---- */

/* 0 if file fails to load (from disk and from memory) with expected. */
static int check_broken(const char *file, const char *expected)
{
	struct moe_model *sentinel = (struct moe_model *)&path_buf;
	struct moe_model *m = sentinel;
	struct moe_error err = {{0}};
	enum moe_format fmt;
	char name[512];
	size_t len;
	char *bytes;
	int rc;

	snprintf(name, sizeof(name), "broken/%s", file);
	rc = moe_model_load(data_path(name), &m, &err);
	ck_assert_msg(rc == -EINVAL || rc == -E2BIG, "%s: rc %d", file, rc);
	ck_assert_msg(m == sentinel, "%s: *out was written", file);
	if (strcmp(err.message, expected) != 0) {
		fprintf(stderr, "%s:\n  got:      %s\n  expected: %s\n", file,
		        err.message, expected);
		return 1;
	}

	/* the same bytes from memory fail the same way */
	ck_assert_int_eq(moe_format_from_path(file, &fmt), 0);
	bytes = ts_read_file(data_path(name), &len);
	memset(&err, 0, sizeof(err));
	rc = moe_model_load_buffer(bytes, len, fmt, file, &m, &err);
	free(bytes);
	ck_assert_msg(rc < 0 && m == sentinel, "%s: buffer load", file);
	if (strcmp(err.message, expected) != 0) {
		fprintf(stderr,
		        "%s (buffer):\n  got:      %s\n  expected: %s\n", file,
		        err.message, expected);
		return 1;
	}
	return 0;
}

START_TEST(test_broken_catalog)
{
	char *text = ts_read_file(data_path("broken/EXPECTED"), NULL);
	char *line, *tab, *save = NULL;
	size_t n = 0, wrong = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		ck_assert_msg(tab != NULL, "EXPECTED: no tab in '%s'", line);
		*tab = '\0';
		wrong += (size_t)check_broken(line, tab + 1);
		n++;
	}
	free(text);
	ck_assert_msg(wrong == 0, "%zu of %zu messages differ (see above)",
	              wrong, n);
	ck_assert_uint_ge(n, 40);
}
END_TEST

/* Every file in broken/ is listed in EXPECTED (none goes untested). */
START_TEST(test_broken_all_listed)
{
	char *text = ts_read_file(data_path("broken/EXPECTED"), NULL);
	char key[512];
	struct dirent *ent;
	DIR *dir;

	dir = opendir(data_path("broken"));
	ck_assert_ptr_nonnull(dir);
	while ((ent = readdir(dir)) != NULL) {
		if (ent->d_name[0] == '.' ||
		    strcmp(ent->d_name, "EXPECTED") == 0)
			continue;
		snprintf(key, sizeof(key), "\n%s\t", ent->d_name);
		ck_assert_msg(strstr(text, key) != NULL ||
		                  strncmp(text, key + 1, strlen(key + 1)) == 0,
		              "%s is not in EXPECTED", ent->d_name);
	}
	closedir(dir);
	free(text);
}
END_TEST

START_TEST(test_missing_file)
{
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};

	ck_assert_int_eq(
	    moe_model_load(data_path("good/nothere.json"), &m, &err), -ENOENT);
	ck_assert_str_eq(
	    err.message,
	    "nothere.json: cannot open: No such file or directory");
	ck_assert_int_eq(moe_model_load(data_path("good/SHA256SUMS"), &m, &err),
	                 -EINVAL);
	ck_assert_str_eq(err.message, "SHA256SUMS: unknown extension "
	                              "(expected .json or .safetensors)");
	ck_assert_int_eq(moe_model_load(data_path("good"), &m, &err), -EINVAL);
	ck_assert_ptr_null(m);
}
END_TEST

/* ---- writers ---- */

static void serialize(const struct moe_model *m, enum moe_format fmt,
                      char **bytes, size_t *len)
{
	struct moe_error err = {{0}};
	void *out = NULL;
	int rc = moe_model_serialize(m, fmt, &out, len, &err);

	ck_assert_msg(rc == 0, "serialize: %s", err.message);
	*bytes = out;
}

static struct moe_model *from_bytes(const char *bytes, size_t len,
                                    enum moe_format fmt)
{
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};
	int rc = moe_model_load_buffer(
	    bytes, len, fmt,
	    fmt == MOE_FORMAT_JSON ? "rt.json" : "rt.safetensors", &m, &err);

	ck_assert_msg(rc == 0, "reload: %s", err.message);
	return m;
}

/* JSON -> safetensors -> JSON and safetensors -> JSON -> safetensors. */
START_TEST(test_round_trip)
{
	const struct good *g = &goods[_i];
	struct moe_model *m0, *m1, *m2, *m3;
	char name[256], *a, *b, *c, *b2;
	size_t la, lb, lc, lb2;

	snprintf(name, sizeof(name), "good/%s", g->file);
	m0 = load_ok(name);
	serialize(m0, MOE_FORMAT_JSON, &a, &la);
	m1 = from_bytes(a, la, MOE_FORMAT_JSON);
	serialize(m1, MOE_FORMAT_SAFETENSORS, &b, &lb);
	m2 = from_bytes(b, lb, MOE_FORMAT_SAFETENSORS);
	serialize(m2, MOE_FORMAT_JSON, &c, &lc);
	m3 = from_bytes(c, lc, MOE_FORMAT_JSON);
	serialize(m3, MOE_FORMAT_SAFETENSORS, &b2, &lb2);

	ck_assert_uint_eq(la, lc);
	ck_assert_msg(memcmp(a, c, la) == 0, "%s: JSON differs", g->file);
	ck_assert_uint_eq(lb, lb2);
	ck_assert_msg(memcmp(b, b2, lb) == 0, "%s: safetensors differs",
	              g->file);
	ck_assert_uint_eq((8 + (size_t)(unsigned char)b[0] +
	                   256 * (size_t)(unsigned char)b[1]) %
	                      8,
	                  0);

	/* the values survive both trips */
	if (g->tiny) {
		check_tiny(m2);
		check_tiny(m3);
	} else {
		check_small(m2);
		check_small(m3);
	}
	moe_model_free(m0);
	moe_model_free(m1);
	moe_model_free(m2);
	moe_model_free(m3);
	free(a);
	free(b);
	free(c);
	free(b2);
}
END_TEST

static int count_entries(const char *dir)
{
	struct dirent *ent;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((ent = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

START_TEST(test_save)
{
	char dir[] = "/tmp/sigmoe-formats-XXXXXX", path[128], *saved, *want;
	struct moe_error err = {{0}};
	struct moe_model *m = load_ok("good/tiny.json"), *back;
	size_t ls, lw;
	enum moe_format fmt;
	static const char *const names[] = {"t.json", "t.safetensors"};
	int i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ck_assert_int_eq(moe_model_save(m, path, &err), 0);
		/* saving again replaces the file */
		ck_assert_int_eq(moe_model_save(m, path, &err), 0);
		moe_format_from_path(path, &fmt);
		saved = ts_read_file(path, &ls);
		serialize(m, fmt, &want, &lw);
		ck_assert_uint_eq(ls, lw);
		ck_assert(memcmp(saved, want, ls) == 0);
		back = load_path(path);
		check_tiny(back);
		moe_model_free(back);
		free(saved);
		free(want);
	}
	/* no temporary file left behind: ".", "..", and the two files */
	ck_assert_int_eq(count_entries(dir), 4);

	snprintf(path, sizeof(path), "%s/t.txt", dir);
	ck_assert_int_eq(moe_model_save(m, path, &err), -EINVAL);
	snprintf(path, sizeof(path), "%s/no/such/dir/t.json", dir);
	ck_assert_int_eq(moe_model_save(m, path, &err), -EIO);
	ck_assert_ptr_nonnull(strstr(err.message, "No such file or directory"));

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	moe_model_free(m);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_too_many_classes)
{
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};
	size_t n = MOE_MAX_CLASSES + 1, i, len = 0;
	char *text = malloc(n * 12 + 512);

	ck_assert_ptr_nonnull(text);
	len += (size_t)sprintf(text, "{\"format\": \"sigmoe-model\", "
	                             "\"format_version\": 1, \"classes\": [");
	for (i = 0; i < n; i++)
		len +=
		    (size_t)sprintf(text + len, "%s\"c%zu\"", i ? "," : "", i);
	len += (size_t)sprintf(text + len,
	                       "], \"gate\": {\"weight\": [[1]], "
	                       "\"bias\": [0]}, \"experts\": {\"weight\": "
	                       "[], \"bias\": []}}");
	ck_assert_int_eq(moe_model_load_buffer(text, len, MOE_FORMAT_JSON,
	                                       "big.json", &m, &err),
	                 -E2BIG);
	ck_assert_str_eq(err.message, "big.json: classes: 65537 names, over "
	                              "the limit of 65536");
	ck_assert_ptr_null(m);
	free(text);
}
END_TEST

START_TEST(test_write_limit)
{
	struct moe_model *m = load_ok("good/tiny.json");
	struct moe_buf small = {.limit = 90}, fits = {.limit = 1315};
	struct moe_error err = {{0}};

	/* 32 numbers outside standardization take 96 bytes or more: the
	 * writer knows before it starts */
	ck_assert_int_eq(moe_json_write(m, &small, &err), -E2BIG);
	ck_assert_str_eq(err.message, "the model takes more than 90 bytes "
	                              "as JSON, the limit of the reader");
	ck_assert_uint_eq(small.len, 0);
	free(small.data);

	/* over the limit on the way */
	small = (struct moe_buf){.limit = 100};
	ck_assert_int_eq(moe_json_write(m, &small, &err), -E2BIG);
	ck_assert_uint_le(small.len, 100);
	free(small.data);

	small = (struct moe_buf){.limit = 100};
	ck_assert_int_eq(moe_st_write(m, &small, &err), -E2BIG);
	free(small.data);

	/* the JSON text of tiny is 821 bytes */
	ck_assert_int_eq(moe_json_write(m, &fits, &err), 0);
	ck_assert_uint_eq(fits.len, 821);
	free(fits.data);
	moe_model_free(m);
}
END_TEST

/* ---- damaged files: every truncation and many byte flips ---- */

/*
 * Load len bytes from an exact-size copy (so that the sanitizers see any
 * read past the end): it either loads or fails with a message that names
 * the file.
 */
static void load_damaged(const char *bytes, size_t len, enum moe_format fmt,
                         const char *label)
{
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};
	char *copy = malloc(len ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, bytes, len);
	rc = moe_model_load_buffer(copy, len, fmt, label, &m, &err);
	free(copy);
	if (rc == 0) {
		ck_assert_ptr_nonnull(m);
		moe_model_free(m);
		return;
	}
	ck_assert_ptr_null(m);
	ck_assert_msg(strncmp(err.message, label, strlen(label)) == 0 &&
	                  strlen(err.message) > strlen(label) + 2,
	              "%s: bad message '%s'", label, err.message);
}

START_TEST(test_damaged)
{
	const struct good *g = &goods[_i];
	uint64_t state = 0x9e3779b97f4a7c15u + (uint64_t)_i;
	char name[256], *bytes, *flipped;
	enum moe_format fmt;
	size_t len, cut, k;

	snprintf(name, sizeof(name), "good/%s", g->file);
	bytes = ts_read_file(data_path(name), &len);
	moe_format_from_path(g->file, &fmt);

	for (cut = 0; cut < len; cut++)
		load_damaged(bytes, cut, fmt, g->file);

	flipped = malloc(len);
	ck_assert_ptr_nonnull(flipped);
	for (k = 0; k < 3000; k++) {
		/* xorshift64: a byte at a random place gets a random value */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		memcpy(flipped, bytes, len);
		flipped[state % len] = (char)(state >> 56);
		load_damaged(flipped, len, fmt, g->file);
	}
	free(flipped);
	free(bytes);
}
END_TEST

/* ---- forward pass: the same model from either file, the same bits ---- */

static void forward_all(const struct moe_model *m, const double *x, size_t n,
                        double *probs, double *weights)
{
	struct moe_scratch *scratch = moe_scratch_new();
	struct moe_error err = {{0}};
	struct moe_output out = {.probabilities = probs, .weights = weights};
	int rc;

	ck_assert_ptr_nonnull(scratch);
	rc = moe_forward(m, x, n, scratch, &out, &err);
	ck_assert_msg(rc == 0, "forward: %s", err.message);
	moe_scratch_free(scratch);
}

START_TEST(test_forward_same)
{
	static const double x[] = {
	    0.0, 0.0, 0.0,  1.5, -2.0, 4.0,  -3.0, 0.25,
	    9.0, 1e3, -1e3, 7.0, 0.5,  -1.0, 2.0,
	};
	const size_t n = sizeof(x) / sizeof(x[0]) / 3;
	double p0[5 * 3], w0[5 * 2], p1[5 * 3], w1[5 * 2];
	static const char *const files[] = {"good/tiny.safetensors",
	                                    "good/tiny_unaligned.safetensors",
	                                    "good/tiny_mixed.safetensors"};
	struct moe_model *json = load_ok("good/tiny.json"), *st;
	size_t i;

	forward_all(json, x, n, p0, w0);
	for (i = 0; i < 3; i++) {
		st = load_ok(files[i]);
		memset(p1, 0, sizeof(p1));
		memset(w1, 0, sizeof(w1));
		forward_all(st, x, n, p1, w1);
		ck_assert_msg(memcmp(p0, p1, sizeof(p0)) == 0, "%s", files[i]);
		ck_assert_msg(memcmp(w0, w1, sizeof(w0)) == 0, "%s", files[i]);
		moe_model_free(st);
	}
	moe_model_free(json);
}
END_TEST

/* ---- helpers ---- */

START_TEST(test_digest_vectors)
{
	char hex[65];

	/* FIPS 180-2 test vectors */
	moe_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
	                      "b00361a396177a9cb410ff61f20015ad");
	moe_sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	                      "27ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_number_text)
{
	char s[40];

	moe_format_number(s, sizeof(s), 0.1, MOE_DTYPE_F64);
	ck_assert_str_eq(s, "0.1");
	moe_format_number(s, sizeof(s), 1.0 / 3.0, MOE_DTYPE_F64);
	ck_assert_str_eq(s, "0.3333333333333333");
	moe_format_number(s, sizeof(s), -0.0, MOE_DTYPE_F64);
	ck_assert_str_eq(s, "-0");
	moe_format_number(s, sizeof(s), 5e-324, MOE_DTYPE_F64);
	ck_assert_str_eq(s, "4.94065645841247e-324");
	moe_format_number(s, sizeof(s), (float)0.1, MOE_DTYPE_F32);
	ck_assert_str_eq(s, "0.1");
	moe_format_number(s, sizeof(s), (float)(1.0 / 3.0), MOE_DTYPE_F32);
	ck_assert_str_eq(s, "0.33333334");
	moe_format_number(s, sizeof(s), 3.4028234663852886e38, MOE_DTYPE_F32);
	ck_assert_str_eq(s, "3.4028235e+38");
}
END_TEST

START_TEST(test_format_from_path)
{
	enum moe_format f;

	ck_assert_int_eq(moe_format_from_path("a/iris.json", &f), 0);
	ck_assert_int_eq(f, MOE_FORMAT_JSON);
	ck_assert_int_eq(moe_format_from_path("m.safetensors", &f), 0);
	ck_assert_int_eq(f, MOE_FORMAT_SAFETENSORS);
	ck_assert_int_eq(moe_format_from_path(".json", &f), -EINVAL);
	ck_assert_int_eq(moe_format_from_path("iris.json.tmp", &f), -EINVAL);
	ck_assert_int_eq(moe_format_from_path("iris.JSON", &f), -EINVAL);
	ck_assert_int_eq(moe_format_from_path("iris", &f), -EINVAL);
}
END_TEST

static Suite *formats_suite(void)
{
	Suite *s = suite_create("formats");
	TCase *tc = tcase_create("formats");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_good_file, 0, (int)N_GOODS);
	tcase_add_loop_test(tc, test_good_buffer, 0, (int)N_GOODS);
	tcase_add_test(tc, test_broken_catalog);
	tcase_add_test(tc, test_broken_all_listed);
	tcase_add_test(tc, test_missing_file);
	tcase_add_loop_test(tc, test_round_trip, 0, (int)N_GOODS);
	tcase_add_test(tc, test_save);
	tcase_add_test(tc, test_too_many_classes);
	tcase_add_test(tc, test_write_limit);
	tcase_add_loop_test(tc, test_damaged, 0, (int)N_GOODS);
	tcase_add_test(tc, test_forward_same);
	tcase_add_test(tc, test_digest_vectors);
	tcase_add_test(tc, test_number_text);
	tcase_add_test(tc, test_format_from_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run(formats_suite());
}
