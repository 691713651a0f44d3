/* SPDX-License-Identifier: MIT */
/*
 * csv.c - labelled numeric tables from CSV, on top of libcsv.
 *
 * libcsv splits the bytes into fields and records and calls us back; the
 * reader below keeps the state between callbacks: where it is (line,
 * record, field), the header, what each column is for (a feature, the
 * label, or nothing), the rows read so far and the distinct labels.
 *
 * Lines are counted from libcsv's own reports: with CSV_REPALL_NL every
 * line feed outside a field ends a (possibly empty) record, and a line
 * feed inside a quoted field is part of that field's bytes.  A record is
 * named by the line it starts on.
 *
 * The first error wins: it is written into the caller's struct moe_error,
 * and every later callback returns at once.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "csv.h"
#include "internal.h"

#define CSV_CHUNK_BYTES 65536U
#define CSV_GROW_BYTES 128U
#define SHOWN_FIELD_MAX 40 /* bytes of a bad field quoted in messages */

#define ROLE_IGNORED ((size_t)-1)
#define ROLE_LABEL ((size_t)-2)

/*
 * A set of distinct strings, by index into a caller's array: open
 * addressing over slots holding index + 1 (0 = empty).
 */
struct strset {
	size_t *slots;
	size_t cap; /* a power of two, or 0 */
};

struct reader {
	const char *source; /* file name used in messages */
	const struct moe_csv_options *opts;
	struct moe_error *err;
	int status; /* 0, or the first error */

	size_t line;        /* line being read, from 1 */
	size_t record_line; /* line the current record started on */
	size_t n_fields;    /* fields seen in the current record */
	int header_done;

	/* The header. */
	char **names; /* [n_columns] */
	size_t n_columns;
	size_t names_cap;
	struct strset name_set;
	size_t *role; /* [n_columns]: feature index or ROLE_* */
	size_t n_features;
	int has_label;

	/* The rows. */
	double *x; /* [rows_cap][n_features] */
	size_t *y; /* [rows_cap] when has_label */
	size_t n_rows;
	size_t rows_cap;

	/* The distinct labels, in order of first appearance. */
	char **labels;
	size_t n_labels;
	size_t labels_cap;
	struct strset label_set;
};

/*
 * libcsv grows a field's buffer through this, by CSV_GROW_BYTES at a
 * time: refuse a buffer much larger than the longest field allowed, whose
 * exact length on_field() checks.
 */
static void *capped_realloc(void *ptr, size_t size)
{
	if (size > MOE_MAX_CSV_FIELD_BYTES + 2 * CSV_GROW_BYTES)
		return NULL;
	return realloc(ptr, size);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int fail(struct reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error, prefixed with "source:line: ". */
static int fail(struct reader *r, int code, const char *fmt, ...)
{
	char text[MOE_ERROR_BYTES];
	va_list ap;

	if (r->status)
		return r->status;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	r->status = moe_fail(r->err, code, "%s:%zu: %s", r->source,
	                     r->record_line, text);
	return r->status;
}

/* A field for a message: quoted, cut at SHOWN_FIELD_MAX bytes. */
static void show_field(char *out, size_t size, const char *s, size_t len)
{
	if (len > SHOWN_FIELD_MAX)
		snprintf(out, size, "'%.*s...'", SHOWN_FIELD_MAX, s);
	else
		snprintf(out, size, "'%.*s'", (int)len, s);
}

static uint64_t hash_bytes(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * strset_find - the slot where key is, or the empty slot where it would
 * go.  The set must have room (cap > 0).
 */
static size_t *strset_find(const struct strset *set, char *const *strings,
                           const char *key)
{
	size_t mask = set->cap - 1;
	size_t i = (size_t)hash_bytes(key) & mask;

	while (set->slots[i] && strcmp(strings[set->slots[i] - 1], key))
		i = (i + 1) & mask;
	return &set->slots[i];
}

/* strset_grow - double the slots (rehashing count strings) if half full. */
static int strset_grow(struct strset *set, char *const *strings, size_t count)
{
	struct strset bigger;
	size_t i;

	if (set->cap && count < set->cap / 2)
		return 0;

	bigger.cap = set->cap ? set->cap * 2 : 16;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;

	for (i = 0; i < count; i++)
		*strset_find(&bigger, strings, strings[i]) = i + 1;

	free(set->slots);
	*set = bigger;
	return 0;
}

/*
 * strset_intern - the index of key in strings[0..*count), appending a
 * copy of it (growing *strings up to limit entries) when it is new.
 * Returns the index, or a negative errno (-E2BIG at the limit).
 */
static long strset_intern(struct strset *set, char ***strings, size_t *count,
                          size_t *cap, const char *key, size_t limit)
{
	size_t *slot;
	char *copy;

	if (strset_grow(set, *strings, *count))
		return -ENOMEM;

	slot = strset_find(set, *strings, key);
	if (*slot)
		return (long)(*slot - 1);
	if (*count >= limit)
		return -E2BIG;

	if (*count == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*strings, new_cap * sizeof(**strings));

		if (!grown)
			return -ENOMEM;
		*strings = grown;
		*cap = new_cap;
	}

	copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	(*strings)[*count] = copy;
	*slot = *count + 1;
	return (long)(*count)++;
}

/* The name of column c for messages. */
static const char *column_name(const struct reader *r, size_t c)
{
	return c < r->n_columns ? r->names[c] : "?";
}

/* parse_number - the whole of s as a finite double, else -1. */
static int parse_number(const char *s, size_t len, double *value)
{
	char *end;

	if (len == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' ||
	    s[0] == '\r' || s[0] == '\f' || s[0] == '\v')
		return -1;

	errno = 0;
	*value = strtod(s, &end);
	if (end != s + len || !isfinite(*value))
		return -1;
	return 0;
}

/*
 * A header field: keep its name.  Header fields beyond the limit are
 * counted but not kept.
 */
static void header_field(struct reader *r, const char *s, size_t len)
{
	long index;

	if (memchr(s, '\0', len)) {
		fail(r, -EINVAL, "column %zu: name contains a NUL byte",
		     r->n_fields + 1);
		return;
	}

	index = strset_intern(&r->name_set, &r->names, &r->n_columns,
	                      &r->names_cap, s, MOE_MAX_CSV_COLUMNS);
	if (index == -E2BIG) {
		fail(r, -E2BIG, "more than %u columns", MOE_MAX_CSV_COLUMNS);
		return;
	}
	if (index < 0) {
		fail(r, (int)index, "out of memory");
		return;
	}
	if ((size_t)index != r->n_fields)
		fail(r, -EINVAL, "duplicate column name '%s'", s);
}

/* Find the column named name, or fail. */
static int find_column(struct reader *r, const char *name, size_t *column)
{
	size_t *slot;

	if (r->n_columns) {
		slot = strset_find(&r->name_set, r->names, name);
		if (*slot) {
			*column = *slot - 1;
			return 0;
		}
	}
	return fail(r, -EINVAL, "no column named '%s'", name);
}

/* The label column, if there is one; sets r->has_label. */
static int choose_label(struct reader *r, size_t *label)
{
	const struct moe_csv_options *o = r->opts;
	size_t *slot;

	switch (o->label) {
	case MOE_CSV_NO_LABEL:
		return 0;
	case MOE_CSV_LABEL_LAST:
		*label = r->n_columns - 1;
		r->has_label = 1;
		return 0;
	case MOE_CSV_LABEL_NAMED:
		if (!o->label_name)
			return fail(r, -EINVAL, "no label column named");
		slot = strset_find(&r->name_set, r->names, o->label_name);
		if (!*slot && o->label_optional)
			return 0;
		if (!*slot)
			return fail(r, -EINVAL, "no column named '%s'",
			            o->label_name);
		*label = *slot - 1;
		r->has_label = 1;
		return 0;
	}
	return fail(r, -EINVAL, "unknown label option");
}

/* Features named by the caller: exactly those, in the caller's order. */
static int assign_named_features(struct reader *r)
{
	const struct moe_csv_options *o = r->opts;
	size_t j, c = 0;

	for (j = 0; j < o->n_features; j++) {
		if (find_column(r, o->features[j], &c))
			return r->status;
		if (r->role[c] == ROLE_LABEL)
			return fail(
			    r, -EINVAL,
			    "column '%s' cannot be both the label and a feature",
			    o->features[j]);
		if (r->role[c] != ROLE_IGNORED)
			return fail(r, -EINVAL, "feature '%s' is named twice",
			            o->features[j]);
		r->role[c] = j;
	}
	r->n_features = o->n_features;
	return 0;
}

/* Every column but the label is a feature, in file order. */
static int assign_all_features(struct reader *r)
{
	size_t expect = r->opts->expect_features;
	size_t c;

	for (c = 0; c < r->n_columns; c++)
		if (r->role[c] != ROLE_LABEL)
			r->role[c] = r->n_features++;

	if (expect && r->n_features != expect)
		return fail(
		    r, -EINVAL, "expected %zu feature column%s%s, found %zu",
		    expect, expect == 1 ? "" : "s",
		    r->has_label ? " besides the label" : "", r->n_features);
	return 0;
}

/*
 * looks_like_data - a header name that is a number with a fraction or an
 * exponent ("5.1"): the file most likely has no header row.  Integer
 * names ("0", "1") are kept, as pandas writes them for unnamed columns.
 */
static int looks_like_data(const char *name)
{
	double value;

	if (parse_number(name, strlen(name), &value))
		return 0;
	return strpbrk(name, ".eE") != NULL;
}

/* The header is complete: decide what each column is for. */
static void header_done(struct reader *r)
{
	size_t label = 0, c;

	r->header_done = 1;
	for (c = 0; c < r->n_columns; c++)
		if (looks_like_data(r->names[c])) {
			fail(r, -EINVAL,
			     "no header row: the first row holds data ('%s')",
			     r->names[c]);
			return;
		}

	r->role = malloc(r->n_columns * sizeof(*r->role));
	if (!r->role) {
		fail(r, -ENOMEM, "out of memory");
		return;
	}
	for (c = 0; c < r->n_columns; c++)
		r->role[c] = ROLE_IGNORED;

	if (choose_label(r, &label))
		return;
	if (r->has_label)
		r->role[label] = ROLE_LABEL;

	if (r->opts->features ? assign_named_features(r)
	                      : assign_all_features(r))
		return;
	if (r->n_features == 0)
		fail(r, -EINVAL, "no feature columns");
}

/* Make room for one more row. */
static int grow_rows(struct reader *r)
{
	size_t cap, d = r->n_features ? r->n_features : 1;
	double *x;
	size_t *y;

	if (r->n_rows < r->rows_cap)
		return 0;
	if (r->n_rows >= MOE_MAX_CSV_ROWS)
		return fail(r, -E2BIG, "more than %lu rows", MOE_MAX_CSV_ROWS);

	cap = r->rows_cap ? r->rows_cap * 2 : 256;
	if (cap > MOE_MAX_CSV_ROWS)
		cap = MOE_MAX_CSV_ROWS;
	if (cap > SIZE_MAX / sizeof(double) / d)
		return fail(r, -E2BIG, "table too large");

	x = realloc(r->x, cap * d * sizeof(*x));
	if (!x)
		return fail(r, -ENOMEM, "out of memory");
	r->x = x;

	if (r->has_label) {
		y = realloc(r->y, cap * sizeof(*y));
		if (!y)
			return fail(r, -ENOMEM, "out of memory");
		r->y = y;
	}
	r->rows_cap = cap;
	return 0;
}

static void label_field(struct reader *r, const char *s, size_t len)
{
	long index;

	if (len == 0) {
		fail(r, -EINVAL, "column %s: empty label",
		     column_name(r, r->n_fields));
		return;
	}
	if (memchr(s, '\0', len)) {
		fail(r, -EINVAL, "column %s: label contains a NUL byte",
		     column_name(r, r->n_fields));
		return;
	}

	index = strset_intern(&r->label_set, &r->labels, &r->n_labels,
	                      &r->labels_cap, s, MOE_MAX_CLASSES);
	if (index == -E2BIG)
		fail(r, -E2BIG, "column %s: more than %u distinct labels",
		     column_name(r, r->n_fields), MOE_MAX_CLASSES);
	else if (index < 0)
		fail(r, (int)index, "out of memory");
	else
		r->y[r->n_rows] = (size_t)index;
}

static void data_field(struct reader *r, const char *s, size_t len)
{
	char shown[SHOWN_FIELD_MAX + 8];
	size_t role;
	double value;

	if (r->n_fields == 0 && grow_rows(r))
		return;
	if (r->n_fields >= r->n_columns)
		return; /* counted; reported at the end of the record */

	role = r->role[r->n_fields];
	if (role == ROLE_IGNORED)
		return;
	if (role == ROLE_LABEL) {
		label_field(r, s, len);
		return;
	}

	if (parse_number(s, len, &value)) {
		show_field(shown, sizeof(shown), s, len);
		fail(r, -EINVAL, "column %s: %s is not a number",
		     r->names[r->n_fields], shown);
		return;
	}
	r->x[r->n_rows * r->n_features + role] = value;
}

static size_t count_newlines(const char *s, size_t len)
{
	const char *end = s + len;
	size_t n = 0;

	while ((s = memchr(s, '\n', (size_t)(end - s)))) {
		n++;
		s++;
	}
	return n;
}

/* libcsv: a field ended. */
static void on_field(void *data, size_t len, void *user)
{
	struct reader *r = user;
	const char *s = data;

	if (r->status)
		return;
	if (r->n_fields == 0)
		r->record_line = r->line;

	if (len > MOE_MAX_CSV_FIELD_BYTES)
		fail(r, -E2BIG, "a field is longer than %u bytes",
		     MOE_MAX_CSV_FIELD_BYTES);
	else if (!r->header_done)
		header_field(r, s, len);
	else
		data_field(r, s, len);

	r->line += count_newlines(s, len);
	r->n_fields++;
}

/* libcsv: a record ended (c is the terminator, or -1 at end of input). */
static void on_record(int c, void *user)
{
	struct reader *r = user;
	size_t n = r->n_fields;

	if (c == '\n')
		r->line++;
	r->n_fields = 0;
	if (r->status || n == 0)
		return;

	if (!r->header_done) {
		header_done(r);
		return;
	}
	if (n != r->n_columns) {
		fail(r, -EINVAL, "expected %zu fields, found %zu", r->n_columns,
		     n);
		return;
	}
	r->n_rows++;
}

static int feed_error(struct reader *r, struct csv_parser *p)
{
	int code = csv_error(p);

	r->record_line = r->line;
	if (code == CSV_ENOMEM &&
	    csv_get_buffer_size(p) >= MOE_MAX_CSV_FIELD_BYTES)
		return fail(r, -E2BIG, "a field is longer than %u bytes",
		            MOE_MAX_CSV_FIELD_BYTES);
	if (code == CSV_EPARSE)
		return fail(
		    r, -EINVAL,
		    "misplaced quote (quote a whole field, double a quote inside)");
	return fail(r, -ENOMEM, "out of memory");
}

/*
 * feed - parse len more bytes.  The line of a parse error is counted
 * from the bytes themselves: libcsv stops exactly at the bad byte.
 */
static int feed(struct reader *r, struct csv_parser *p, const char *data,
                size_t len, size_t *lines_before)
{
	size_t done = csv_parse(p, data, len, on_field, on_record, r);

	if (r->status)
		return r->status;
	if (done < len) {
		r->line = *lines_before + 1 + count_newlines(data, done);
		return feed_error(r, p);
	}
	*lines_before += count_newlines(data, len);
	return 0;
}

static int finish_input(struct reader *r, struct csv_parser *p)
{
	if (csv_fini(p, on_field, on_record, r) && !r->status) {
		if (r->n_fields == 0)
			r->record_line = r->line;
		return fail(
		    r, -EINVAL,
		    "a quoted field is not closed at the end of the file");
	}
	if (r->status)
		return r->status;
	if (!r->header_done) {
		moe_fail(r->err, -EINVAL,
		         "%s: empty file, expected a header row", r->source);
		r->status = -EINVAL;
	}
	return r->status;
}

static int open_parser(struct csv_parser *p)
{
	if (csv_init(p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL |
	                    CSV_REPALL_NL))
		return -ENOMEM;
	csv_set_realloc_func(p, capped_realloc);
	csv_set_blk_size(p, CSV_GROW_BYTES);
	return 0;
}

/*
 * Integer labels sort by value: a sign, then magnitude by digit count and
 * digits, leading zeros aside.  Labels equal in value ("1", "01") fall
 * back to strcmp.
 */
static int is_integer(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static const char *magnitude(const char *s, int *negative)
{
	*negative = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	while (s[0] == '0' && s[1])
		s++;
	if (s[0] == '0')
		*negative = 0; /* -0 is 0 */
	return s;
}

static int compare_integers(const char *a, const char *b)
{
	int neg_a, neg_b, sign, c;
	const char *ma = magnitude(a, &neg_a);
	const char *mb = magnitude(b, &neg_b);
	size_t la = strlen(ma), lb = strlen(mb);

	if (neg_a != neg_b)
		return neg_a ? -1 : 1;

	sign = neg_a ? -1 : 1;
	if (la != lb)
		return la < lb ? -sign : sign;
	c = strcmp(ma, mb);
	if (c)
		return c < 0 ? -sign : sign;
	return strcmp(a, b);
}

/* A label and its index in order of first appearance, for sorting. */
struct ranked {
	char *label;
	size_t first;
};

static int compare_integer_labels(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;

	return compare_integers(a->label, b->label);
}

static int compare_string_labels(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;

	return strcmp(a->label, b->label);
}

/* Sort the classes (csv.h's rule) and renumber y to match. */
static int order_classes(struct reader *r)
{
	size_t *rank, i, n = r->n_labels;
	struct ranked *sorted;
	int all_integers = 1;

	if (n == 0)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	rank = malloc(n * sizeof(*rank));
	if (!sorted || !rank) {
		free(sorted);
		free(rank);
		return moe_fail(r->err, -ENOMEM, "%s: out of memory",
		                r->source);
	}

	for (i = 0; i < n; i++) {
		sorted[i].label = r->labels[i];
		sorted[i].first = i;
		all_integers = all_integers && is_integer(r->labels[i]);
	}
	qsort(sorted, n, sizeof(*sorted),
	      all_integers ? compare_integer_labels : compare_string_labels);

	for (i = 0; i < n; i++) {
		r->labels[i] = sorted[i].label;
		rank[sorted[i].first] = i;
	}
	for (i = 0; i < r->n_rows; i++)
		r->y[i] = rank[r->y[i]];

	free(sorted);
	free(rank);
	return 0;
}

static void reader_release(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->n_columns; i++)
		free(r->names[i]);
	free(r->names);
	free(r->name_set.slots);
	free(r->role);
	free(r->x);
	free(r->y);
	for (i = 0; i < r->n_labels; i++)
		free(r->labels[i]);
	free(r->labels);
	free(r->label_set.slots);
}

/* Move what was read into a new dataset; r keeps nothing it handed on. */
static int build_dataset(struct reader *r, struct moe_dataset **out)
{
	struct moe_dataset *set = calloc(1, sizeof(*set));
	size_t c;

	if (!set)
		goto fail_memory;
	set->feature_names = calloc(r->n_features ? r->n_features : 1,
	                            sizeof(*set->feature_names));
	if (!set->feature_names)
		goto fail_memory;
	set->n_features = r->n_features;
	for (c = 0; c < r->n_columns; c++) {
		size_t role = r->role[c];

		if (role == ROLE_IGNORED || role == ROLE_LABEL)
			continue;
		set->feature_names[role] = strdup(r->names[c]);
		if (!set->feature_names[role])
			goto fail_memory;
	}

	set->n_rows = r->n_rows;
	set->x = r->x;
	r->x = NULL;
	if (r->has_label) {
		set->n_classes = r->n_labels;
		set->classes = r->labels;
		set->y = r->y;
		r->labels = NULL;
		r->n_labels = 0;
		r->y = NULL;
	}
	*out = set;
	return 0;

fail_memory:
	moe_dataset_free(set);
	return moe_fail(r->err, -ENOMEM, "%s: out of memory", r->source);
}

static void reader_init(struct reader *r, const char *source,
                        const struct moe_csv_options *opts,
                        struct moe_error *err)
{
	memset(r, 0, sizeof(*r));
	r->source = source;
	r->opts = opts;
	r->err = err;
	r->line = 1;
	r->record_line = 1;
}

static int finish_dataset(struct reader *r, struct moe_dataset **out)
{
	if (!r->has_label)
		return build_dataset(r, out);
	if (order_classes(r))
		return -ENOMEM;
	return build_dataset(r, out);
}

int moe_csv_read_buffer(const char *data, size_t len, const char *label,
                        const struct moe_csv_options *opts,
                        struct moe_dataset **out, struct moe_error *err)
{
	struct csv_parser parser;
	struct reader r;
	size_t lines = 0;
	int rc;

	reader_init(&r, base_name(label), opts, err);
	if (open_parser(&parser))
		return moe_fail(err, -ENOMEM, "%s: out of memory", r.source);

	rc = feed(&r, &parser, data, len, &lines);
	if (!rc)
		rc = finish_input(&r, &parser);
	if (!rc)
		rc = finish_dataset(&r, out);

	csv_free(&parser);
	reader_release(&r);
	return rc;
}

static int read_stream(struct reader *r, struct csv_parser *p, FILE *f)
{
	char *chunk = malloc(CSV_CHUNK_BYTES);
	size_t n, lines = 0;
	int rc = 0;

	if (!chunk)
		return moe_fail(r->err, -ENOMEM, "%s: out of memory",
		                r->source);

	while (!rc && (n = fread(chunk, 1, CSV_CHUNK_BYTES, f)) > 0)
		rc = feed(r, p, chunk, n, &lines);
	if (!rc && ferror(f))
		rc = moe_fail(r->err, -EIO, "%s: read error", r->source);
	if (!rc)
		rc = finish_input(r, p);

	free(chunk);
	return rc;
}

int moe_csv_read(const char *path, const struct moe_csv_options *opts,
                 struct moe_dataset **out, struct moe_error *err)
{
	struct csv_parser parser;
	struct reader r;
	FILE *f;
	int rc;

	reader_init(&r, base_name(path), opts, err);
	f = fopen(path, "rb");
	if (!f) {
		rc = errno == ENOENT ? -ENOENT : -EIO;
		return moe_fail(err, rc, "%s: %s", r.source, strerror(errno));
	}
	if (open_parser(&parser)) {
		fclose(f);
		return moe_fail(err, -ENOMEM, "%s: out of memory", r.source);
	}

	rc = read_stream(&r, &parser, f);
	if (!rc)
		rc = finish_dataset(&r, out);

	csv_free(&parser);
	fclose(f);
	reader_release(&r);
	return rc;
}

void moe_dataset_free(struct moe_dataset *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; set->feature_names && i < set->n_features; i++)
		free(set->feature_names[i]);
	free(set->feature_names);
	free(set->x);
	for (i = 0; set->classes && i < set->n_classes; i++)
		free(set->classes[i]);
	free(set->classes);
	free(set->y);
	free(set);
}
