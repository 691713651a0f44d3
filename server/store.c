/* SPDX-License-Identifier: MIT */
/*
 * store.c - the model store: one slot per model name, versions swapped
 * under running requests, and the directory scan that decides what to
 * load, swap or remove (SPEC 3).
 *
 * How a request gets a version without a lock
 * --------------------------------------------
 * Each slot publishes its version in service through an atomic pointer,
 * `current`.  A version is reference counted: the slot holds one
 * reference, each request one more, and whoever drops the last one frees
 * it.  The hard part is the moment between a request loading `current`
 * and incrementing the count: a swap could drop the slot's reference in
 * between and free the version under the request.  A grace period closes
 * that window, in the manner of sleepable RCU:
 *
 *   reader (srv_store_acquire)          writer (a swap, under scan_lock)
 *   R1 i = epoch & 1                    W1 old = exchange(current, new)
 *   R2 readers[i] += 1                  W2 for each parity p, in turn:
 *   R3 v = load(current)                     flip epoch so that new readers
 *   R4 v->refs += 1                          count under the other parity,
 *   R5 readers[i] -= 1                       then wait until readers[p]==0
 *                                       W3 drop the slot's reference to old
 *
 * All of R2, R3, R5, W1 and the loads of W2 are sequentially consistent.
 * After W1 the writer sees each of the two counters at zero at least
 * once.  Take a reader and the counter it used.  If its increment R2
 * comes before that zero in the counter's modification order, so does
 * its decrement R5 (a count can only read zero once every earlier
 * increment has been matched), and the writer's load of zero
 * synchronizes with R5: the reader's R4 happens before W3, so the count
 * was raised before the slot's reference is dropped and the version lives
 * until the reader releases it.  If R2 comes after that zero, then in the
 * single total order of seq_cst operations W1 < (load of zero) < R2 < R3,
 * so R3 reads `new` (or something newer) and never `old`.  Either way no
 * reader can reach a freed version.  The epoch flips do not matter for
 * that argument; they make the waits end: after a flip only readers that
 * read the epoch before it can still enter the counter being drained, and
 * a reader's section is a handful of instructions.  A reader never waits
 * and never takes a lock; a writer waits only for such sections.
 *
 * Locks: scan_lock serializes scans (the watcher, srv_store_rescan,
 * srv_store_close) and guards the scan state of every slot; meta_lock
 * guards the strings status pages copy (file, last_error); free_lock
 * guards the counts of versions in memory and pairs with the condition
 * `freed`.  Order: scan_lock, then meta_lock or free_lock, never both of
 * the last two.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/limits.h> /* PATH_MAX (model/ has a limits.h) */
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

/* A changed file older than this counts as complete even if not seen twice. */
#define SETTLE_NS (100 * 1000 * 1000LL)

/* A file name: a model name and the longer of the two extensions. */
#define SLOT_FILE_BYTES (MOE_MODEL_NAME_MAX + sizeof(".safetensors"))

/* Name index: open addressing, at most half full. */
#define INDEX_SIZE (2U * SRV_MAX_MODELS)

/* Files a scan considers: at most two per model name. */
#define MAX_ENTRIES (2U * SRV_MAX_MODELS)

/* Whatever identifies a file's content without reading it. */
struct file_id {
	int valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	uint64_t link_hash; /* hash of the symlink's target, 0 if none */
};

enum slot_presence {
	SLOT_ABSENT = 0,  /* no file: 404 */
	SLOT_LOADING,     /* a first file is being loaded or settling */
	SLOT_UNAVAILABLE, /* a file, but no version in service */
	SLOT_SERVING,     /* current is set */
};

struct version;

struct srv_slot {
	char name[MOE_MODEL_NAME_MAX + 1]; /* immutable once published */
	_Atomic(struct version *) current; /* grace period, see the top */
	atomic_int presence;               /* enum slot_presence */
	atomic_uint_fast64_t loads_ok;
	atomic_uint_fast64_t loads_failed;
	atomic_uint_fast64_t instances;

	/* scan_lock */
	struct file_id seen; /* file last loaded or tried */
	char seen_file[SLOT_FILE_BYTES];
	struct file_id pending; /* changed, waiting to settle */
	int64_t pending_since;  /* when pending was first seen, Unix ns */
	uint64_t next_number;   /* version numbers given so far */
	int marked;             /* found by the scan running */
	int duplicate;          /* two files name this model */

	/* meta_lock */
	char *file; /* newest file seen */
	char *last_error;
	double last_error_at;

	/* free_lock */
	unsigned alive; /* versions in memory */
	unsigned max_alive;
	uint64_t created;
	uint64_t freed;
};

struct version {
	struct srv_version pub;    /* first: the public part */
	atomic_uint_fast64_t refs; /* slot's + one per acquire */
	struct srv_slot *slot;
	struct srv_store *store;
	_Atomic uint64_t *weight_bits; /* [E] sums, as double bits */
};

struct srcu {
	atomic_uint epoch;
	struct {
		alignas(64) atomic_long n;
	} readers[2];
};

struct srv_store {
	char *dir;
	struct srcu srcu;

	/* Slots [0, nslots) are published: filled before the release
	 * store of nslots, never changed after but for their atomics and
	 * their locked fields.  Written under scan_lock only. */
	struct srv_slot *slots[SRV_MAX_MODELS];
	atomic_size_t nslots;
	_Atomic(struct srv_slot *) index[INDEX_SIZE];

	pthread_mutex_t scan_lock;
	pthread_mutex_t meta_lock;
	pthread_mutex_t free_lock;
	pthread_cond_t freed; /* with free_lock: a version freed */
	long alive;           /* free_lock: versions in memory */
	atomic_int closing;
	atomic_uint_fast64_t scans;

	/* scan_lock */
	struct srv_watcher *watcher;
	int opened;      /* the first scan is done */
	int dir_failed;  /* the last scan could not read dir */
	int full_logged; /* "too many models" was logged */
	uint64_t ignored[SRV_MAX_IGNORED_LOGGED]; /* name hashes, 0 free */
	size_t n_ignored;
};

/* Versions in memory in the whole process, for the tests. */
static atomic_long versions_alive_total;

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* FNV-1a; never 0, so that 0 can mean "empty". */
static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
}

static uint64_t hash_string(const char *s)
{
	return hash_bytes(s, strlen(s));
}

/* ---- grace periods ---------------------------------------------------- */

static unsigned srcu_enter(struct srcu *srcu)
{
	unsigned i = atomic_load(&srcu->epoch) & 1U;

	atomic_fetch_add(&srcu->readers[i].n, 1);
	return i;
}

static void srcu_leave(struct srcu *srcu, unsigned i)
{
	atomic_fetch_sub(&srcu->readers[i].n, 1);
}

static void srcu_drain(atomic_long *count)
{
	const struct timespec nap = {0, 20 * 1000};
	unsigned spins = 0;

	while (atomic_load(count) != 0) {
		if (++spins < 64)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

/* Wait until no reader can still be about to use what W1 replaced. */
static void srcu_synchronize(struct srcu *srcu)
{
	for (int phase = 0; phase < 2; phase++) {
		unsigned p = atomic_fetch_add(&srcu->epoch, 1U) & 1U;

		srcu_drain(&srcu->readers[p].n);
	}
}

/* ---- versions --------------------------------------------------------- */

static struct version *version_of(struct srv_version *pub)
{
	_Static_assert(offsetof(struct version, pub) == 0,
	               "pub must come first");
	return (struct version *)(void *)pub;
}

static void version_free(struct version *v)
{
	struct srv_store *store = v->store;
	struct srv_slot *slot = v->slot;

	moe_model_free(v->pub.model);
	free(v->pub.file);
	free((void *)v->weight_bits);
	free(v);

	pthread_mutex_lock(&store->free_lock);
	slot->alive--;
	slot->freed++;
	store->alive--;
	atomic_fetch_sub(&versions_alive_total, 1);
	pthread_cond_broadcast(&store->freed);
	pthread_mutex_unlock(&store->free_lock);
}

/* acq_rel rather than release and a fence on the last drop: the same
 * cost on x86 and arm64, and ThreadSanitizer understands it. */
static void version_unref(struct version *v)
{
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
		version_free(v);
}

/* A new version of slot owning model; NULL when out of memory. */
static struct version *version_new(struct srv_store *store,
                                   struct srv_slot *slot,
                                   struct moe_model *model, const char *file)
{
	struct version *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->pub.file = strdup(file);
	v->weight_bits = calloc(model->n_experts ? model->n_experts : 1,
	                        sizeof(*v->weight_bits));
	if (!v->pub.file || !v->weight_bits)
		goto fail_free;
	v->pub.model = model;
	v->pub.name = slot->name;
	v->pub.number = ++slot->next_number;
	v->pub.loaded_at = now_unix();
	atomic_init(&v->refs, 1);
	v->slot = slot;
	v->store = store;

	pthread_mutex_lock(&store->free_lock);
	slot->alive++;
	slot->created++;
	if (slot->alive > slot->max_alive)
		slot->max_alive = slot->alive;
	store->alive++;
	atomic_fetch_add(&versions_alive_total, 1);
	pthread_mutex_unlock(&store->free_lock);
	return v;

fail_free:
	free(v->pub.file);
	free((void *)v->weight_bits);
	free(v);
	return NULL;
}

/* A reference to slot's version in service, or NULL.  Lock-free. */
static struct version *slot_acquire(struct srv_store *store,
                                    struct srv_slot *slot)
{
	unsigned i = srcu_enter(&store->srcu);
	struct version *v = atomic_load(&slot->current);

	if (v)
		atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
	srcu_leave(&store->srcu, i);
	return v;
}

/* Take old out of service for good: after the grace period, drop the
 * slot's reference.  old has already been replaced in slot->current. */
static void version_retire(struct srv_store *store, struct version *old)
{
	srcu_synchronize(&store->srcu);
	version_unref(old);
}

/* ---- slots ------------------------------------------------------------ */

static struct srv_slot *slot_find(struct srv_store *store, const char *name)
{
	uint64_t h = hash_string(name);

	for (unsigned n = 0; n < INDEX_SIZE; n++) {
		unsigned i = (unsigned)(h + n) & (INDEX_SIZE - 1);
		struct srv_slot *slot = atomic_load_explicit(
		    &store->index[i], memory_order_acquire);

		if (!slot)
			return NULL;
		if (strcmp(slot->name, name) == 0)
			return slot;
	}
	return NULL;
}

/* The slot named name, made and published if new.  NULL when the store
 * is full or out of memory.  Under scan_lock. */
static struct srv_slot *slot_get(struct srv_store *store, const char *name)
{
	struct srv_slot *slot = slot_find(store, name);
	size_t n = atomic_load_explicit(&store->nslots, memory_order_relaxed);
	uint64_t h;

	if (slot || n == SRV_MAX_MODELS)
		return slot;
	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	snprintf(slot->name, sizeof(slot->name), "%s", name);

	h = hash_string(name);
	for (unsigned k = 0;; k++) {
		unsigned i = (unsigned)(h + k) & (INDEX_SIZE - 1);

		if (!atomic_load_explicit(&store->index[i],
		                          memory_order_relaxed)) {
			atomic_store_explicit(&store->index[i], slot,
			                      memory_order_release);
			break;
		}
	}
	store->slots[n] = slot;
	atomic_store_explicit(&store->nslots, n + 1, memory_order_release);
	return slot;
}

/* Replace *field with a copy of value (NULL clears).  Under meta_lock. */
static void meta_set(char **field, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy)
		return; /* keep the old text rather than none */
	free(*field);
	*field = copy;
}

static void slot_set_file(struct srv_store *store, struct srv_slot *slot,
                          const char *file)
{
	pthread_mutex_lock(&store->meta_lock);
	if (!slot->file || !file || strcmp(slot->file, file) != 0)
		meta_set(&slot->file, file);
	pthread_mutex_unlock(&store->meta_lock);
}

static void slot_set_error(struct srv_store *store, struct srv_slot *slot,
                           const char *message)
{
	pthread_mutex_lock(&store->meta_lock);
	meta_set(&slot->last_error, message);
	slot->last_error_at = message ? now_unix() : 0;
	pthread_mutex_unlock(&store->meta_lock);
}

/* Why slot has no version to give, into reason. */
static void slot_reason(struct srv_store *store, struct srv_slot *slot,
                        char *reason, size_t reason_len)
{
	if (!reason || reason_len == 0)
		return;
	pthread_mutex_lock(&store->meta_lock);
	if (slot->last_error)
		snprintf(reason, reason_len, "%s", slot->last_error);
	else if (atomic_load(&slot->presence) == SLOT_LOADING)
		snprintf(reason, reason_len, "model %s is loading", slot->name);
	else
		snprintf(reason, reason_len, "model %s is not available",
		         slot->name);
	pthread_mutex_unlock(&store->meta_lock);
}

/* ---- request path ----------------------------------------------------- */

int srv_store_acquire(struct srv_store *store, const char *name,
                      struct srv_version **out, char *reason, size_t reason_len)
{
	struct srv_slot *slot;
	struct version *v;

	if (reason && reason_len)
		reason[0] = '\0';
	if (!name || strlen(name) > MOE_MODEL_NAME_MAX)
		return -ENOENT;
	slot = slot_find(store, name);
	if (!slot)
		return -ENOENT;

	v = slot_acquire(store, slot);
	if (v) {
		*out = &v->pub;
		return 0;
	}

	if (atomic_load(&slot->presence) == SLOT_ABSENT)
		return -ENOENT;
	slot_reason(store, slot, reason, reason_len);
	return -EAGAIN;
}

void srv_version_release(struct srv_version *version)
{
	if (version)
		version_unref(version_of(version));
}

static void atomic_add_double(_Atomic uint64_t *cell, double add)
{
	uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
	uint64_t sum;
	double d;

	do {
		memcpy(&d, &old, sizeof(d));
		d += add;
		memcpy(&sum, &d, sizeof(sum));
	} while (!atomic_compare_exchange_weak_explicit(
	    cell, &old, sum, memory_order_relaxed, memory_order_relaxed));
}

void srv_store_account(struct srv_store *store, struct srv_version *version,
                       size_t n, const double *weights)
{
	enum { CHUNK = 64 };
	struct version *v = version_of(version);
	size_t e_count = version->model->n_experts;

	atomic_fetch_add_explicit(&v->slot->instances, n, memory_order_relaxed);
	if (!weights || n == 0)
		return;

	/* Sum the rows locally, then one atomic add per expert. */
	for (size_t e0 = 0; e0 < e_count; e0 += CHUNK) {
		size_t width = e_count - e0 < CHUNK ? e_count - e0 : CHUNK;
		double sum[CHUNK] = {0};

		for (size_t r = 0; r < n; r++)
			for (size_t e = 0; e < width; e++)
				sum[e] += weights[r * e_count + e0 + e];
		for (size_t e = 0; e < width; e++)
			atomic_add_double(&v->weight_bits[e0 + e], sum[e]);
	}
}

/* ---- status ----------------------------------------------------------- */

static int status_fill(struct srv_store *store, struct srv_slot *slot,
                       struct srv_model_status *st)
{
	struct version *v = slot_acquire(store, slot);
	int presence = atomic_load(&slot->presence);
	int short_of_memory;

	snprintf(st->name, sizeof(st->name), "%s", slot->name);
	st->version = v ? &v->pub : NULL;
	if (v)
		st->state = SRV_MODEL_AVAILABLE;
	else if (presence == SLOT_LOADING)
		st->state = SRV_MODEL_LOADING;
	else
		st->state = SRV_MODEL_UNAVAILABLE;
	st->loads_ok = atomic_load(&slot->loads_ok);
	st->loads_failed = atomic_load(&slot->loads_failed);
	st->instances = atomic_load(&slot->instances);

	pthread_mutex_lock(&store->meta_lock);
	st->file = slot->file ? strdup(slot->file) : NULL;
	st->last_error = slot->last_error ? strdup(slot->last_error) : NULL;
	st->last_error_at = slot->last_error_at;
	short_of_memory =
	    (slot->file && !st->file) || (slot->last_error && !st->last_error);
	pthread_mutex_unlock(&store->meta_lock);
	if (short_of_memory)
		return -ENOMEM;

	if (v) {
		size_t e_count = v->pub.model->n_experts;

		st->expert_weight_sum =
		    calloc(e_count ? e_count : 1, sizeof(double));
		if (!st->expert_weight_sum)
			return -ENOMEM;
		for (size_t e = 0; e < e_count; e++) {
			uint64_t bits = atomic_load_explicit(
			    &v->weight_bits[e], memory_order_relaxed);

			memcpy(&st->expert_weight_sum[e], &bits,
			       sizeof(double));
		}
	}
	return 0;
}

static int status_cmp(const void *a, const void *b)
{
	const struct srv_model_status *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int srv_store_status(struct srv_store *store, struct srv_model_status **out)
{
	size_t n = atomic_load_explicit(&store->nslots, memory_order_acquire);
	struct srv_model_status *st = calloc(n ? n : 1, sizeof(*st));
	size_t count = 0;

	if (!st)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct srv_slot *slot = store->slots[i];

		if (atomic_load(&slot->presence) == SLOT_ABSENT)
			continue;
		if (status_fill(store, slot, &st[count++]) < 0)
			goto fail_free;
	}
	if (count > 1)
		qsort(st, count, sizeof(*st), status_cmp);
	*out = st;
	return (int)count;

fail_free:
	srv_store_status_free(st, count);
	return -ENOMEM;
}

void srv_store_status_free(struct srv_model_status *status, size_t count)
{
	if (!status)
		return;
	for (size_t i = 0; i < count; i++) {
		srv_version_release(status[i].version);
		free(status[i].file);
		free(status[i].last_error);
		free(status[i].expert_weight_sum);
	}
	free(status);
}

const char *srv_store_dir(const struct srv_store *store)
{
	return store->dir;
}

const char *srv_model_state_name(enum srv_model_state state)
{
	switch (state) {
	case SRV_MODEL_AVAILABLE:
		return "AVAILABLE";
	case SRV_MODEL_LOADING:
		return "LOADING";
	case SRV_MODEL_UNAVAILABLE:
		return "UNAVAILABLE";
	}
	return "UNKNOWN";
}

/* ---- the directory ---------------------------------------------------- */

/* One file of the directory that names a model. */
struct dir_entry {
	char file[SLOT_FILE_BYTES];
	char stem[MOE_MODEL_NAME_MAX + 1];
	struct file_id id;
};

struct dir_list {
	struct dir_entry *v;
	size_t count;
	size_t cap;
	int truncated; /* more than MAX_ENTRIES files named models */
};

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int is_name_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '_' || c == '.' || c == '-');
}

/* Why file is not a model file, or NULL when it names model
 * file[0, *stem_len). */
static const char *name_problem(const char *file, size_t *stem_len)
{
	size_t len = strlen(file);
	size_t ext;

	if (file[0] == '.')
		return "a hidden file";
	if (ends_with(file, len, ".tmp") || ends_with(file, len, ".part") ||
	    ends_with(file, len, "~"))
		return "a temporary file";
	if (ends_with(file, len, ".json"))
		ext = strlen(".json");
	else if (ends_with(file, len, ".safetensors"))
		ext = strlen(".safetensors");
	else
		return "not a .json or .safetensors file";

	*stem_len = len - ext;
	if (*stem_len == 0 || *stem_len > MOE_MODEL_NAME_MAX)
		return "not a valid model name";
	for (size_t i = 0; i < *stem_len; i++)
		if (!is_name_char(file[i], i == 0))
			return "not a valid model name";
	return NULL;
}

/* Log at debug, once per name for the life of the store. */
static void log_ignored(struct srv_store *store, const char *file,
                        const char *why)
{
	uint64_t h = hash_string(file);
	size_t mask = SRV_MAX_IGNORED_LOGGED - 1;

	_Static_assert(
	    (SRV_MAX_IGNORED_LOGGED & (SRV_MAX_IGNORED_LOGGED - 1)) == 0,
	    "a power of two");
	if (store->n_ignored >= SRV_MAX_IGNORED_LOGGED / 2)
		return;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (store->ignored[i] == h)
			return;
		if (store->ignored[i] == 0) {
			store->ignored[i] = h;
			break;
		}
	}
	store->n_ignored++;
	srv_debug("ignoring %s in %s: %s", file, store->dir, why);
}

/* Stat path (following a symlink) into *id.  Returns 0, or -errno when
 * the name itself is gone; *regular says whether it leads to a regular
 * file, and a dangling symlink gets an id that loads and fails. */
static int file_id_of(const char *path, struct file_id *id, int *regular)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	memset(id, 0, sizeof(*id));
	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target));
		id->link_hash = n > 0 ? hash_bytes(target, (size_t)n) : 1;
		if (stat(path, &st) < 0) {
			id->valid = 1;
			id->size = -1;
			*regular = 1; /* a model file that cannot be read */
			return 0;
		}
	}
	id->valid = 1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns =
	    (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	*regular = S_ISREG(st.st_mode);
	return 0;
}

static int file_id_same(const struct file_id *a, const struct file_id *b)
{
	return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->link_hash == b->link_hash;
}

static int path_join(const struct srv_store *store, const char *file,
                     char *path, size_t len)
{
	int n = snprintf(path, len, "%s/%s", store->dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int dir_list_add(struct dir_list *list, const struct dir_entry *e)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 16;
		struct dir_entry *v = realloc(list->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		list->v = v;
		list->cap = cap;
	}
	list->v[list->count++] = *e;
	return 0;
}

/* Consider one directory entry; add it to list if it names a model. */
static int dir_consider(struct srv_store *store, const char *file,
                        struct dir_list *list)
{
	struct dir_entry e;
	char path[PATH_MAX];
	const char *why;
	size_t stem_len = 0;
	int regular = 0;

	why = name_problem(file, &stem_len);
	if (why) {
		log_ignored(store, file, why);
		return 0;
	}
	if (path_join(store, file, path, sizeof(path)) < 0 ||
	    file_id_of(path, &e.id, &regular) < 0)
		return 0; /* gone already, or unreachable */
	if (!regular) {
		log_ignored(store, file, "not a regular file");
		return 0;
	}
	if (list->count == MAX_ENTRIES) {
		list->truncated = 1;
		return 0;
	}
	snprintf(e.file, sizeof(e.file), "%s", file);
	memcpy(e.stem, file, stem_len);
	e.stem[stem_len] = '\0';
	return dir_list_add(list, &e);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct dir_entry *x = a, *y = b;
	int c = strcmp(x->stem, y->stem);

	return c ? c : strcmp(x->file, y->file);
}

/* The files of the directory that name models, sorted by name. */
static int dir_read(struct srv_store *store, struct dir_list *list)
{
	DIR *d = opendir(store->dir);
	struct dirent *de;
	int rc = 0;

	memset(list, 0, sizeof(*list));
	if (!d)
		return -errno;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			rc = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rc = dir_consider(store, de->d_name, list);
		if (rc < 0)
			break;
	}
	closedir(d);
	if (rc < 0) {
		free(list->v);
		memset(list, 0, sizeof(*list));
		return rc;
	}
	if (list->count > 1)
		qsort(list->v, list->count, sizeof(*list->v), entry_cmp);
	return 0;
}

/* ---- what a scan does to one slot ------------------------------------ */

static int hints_name(const struct srv_scan_hints *hints, const char *file)
{
	if (!hints)
		return 0;
	for (size_t i = 0; i < hints->count; i++)
		if (strcmp(hints->names[i], file) == 0)
			return 1;
	return 0;
}

/* Whether a changed file may be loaded now rather than looked at again:
 * always on an explicit rescan or when inotify said it is complete;
 * otherwise when it was last written SETTLE_NS ago, or looked the same
 * for that long (for a clock that puts mtime in the future).  Else it
 * becomes slot->pending. */
static int entry_settled(struct srv_slot *slot, const struct dir_entry *e,
                         const struct srv_scan_hints *hints)
{
	int64_t now = now_unix_ns();

	if (!hints || hints->all || hints_name(hints, e->file))
		return 1;
	if (now - e->id.mtime_ns >= SETTLE_NS)
		return 1;
	if (file_id_same(&e->id, &slot->pending))
		return now - slot->pending_since >= SETTLE_NS;
	slot->pending = e->id;
	slot->pending_since = now;
	return 0;
}

/* Wait until slot has at most one version in memory, so that loading
 * another keeps it at two.  Returns 0 when the store is closing. */
static int slot_wait_retired(struct srv_store *store, struct srv_slot *slot)
{
	int closing;

	pthread_mutex_lock(&store->free_lock);
	if (slot->alive >= 2)
		srv_debug(
		    "model %s: waiting for requests on the previous version to finish before loading another",
		    slot->name);
	while (slot->alive >= 2 && !atomic_load(&store->closing))
		pthread_cond_wait(&store->freed, &store->free_lock);
	closing = atomic_load(&store->closing);
	pthread_mutex_unlock(&store->free_lock);
	return !closing;
}

static void slot_failed(struct srv_store *store, struct srv_slot *slot,
                        const char *message)
{
	struct version *v = atomic_load(&slot->current);

	atomic_fetch_add(&slot->loads_failed, 1);
	slot_set_error(store, slot, message);
	if (v) {
		srv_warn("model %s: %s; version %" PRIu64 " stays in service",
		         slot->name, message, v->pub.number);
		return;
	}
	atomic_store(&slot->presence, SLOT_UNAVAILABLE);
	srv_warn("model %s is unavailable: %s", slot->name, message);
}

/* Put model in service in slot, and retire the version it replaces. */
static int slot_swap(struct srv_store *store, struct srv_slot *slot,
                     struct moe_model *model, const char *file)
{
	struct version *v = version_new(store, slot, model, file);
	struct version *old;

	if (!v) {
		moe_model_free(model);
		slot_failed(store, slot, "out of memory");
		return 0;
	}

	old = atomic_exchange(&slot->current, v);
	atomic_store(&slot->presence, SLOT_SERVING);
	atomic_fetch_add(&slot->loads_ok, 1);
	slot_set_error(store, slot, NULL);
	srv_info("loaded model %s version %" PRIu64 " from %s (sha256 %s)",
	         slot->name, v->pub.number, file, model->digest);

	if (old)
		version_retire(store, old);
	return 1;
}

/* Remember what was loaded or tried: the id it had before the load,
 * unless it changed during the load (then the next look loads again). */
static void slot_remember(struct srv_slot *slot, const struct dir_entry *e,
                          const char *path)
{
	struct file_id after;
	int regular;

	slot->seen = e->id;
	if (file_id_of(path, &after, &regular) < 0 ||
	    !file_id_same(&after, &e->id))
		slot->seen.valid = 0;
	snprintf(slot->seen_file, sizeof(slot->seen_file), "%s", e->file);
	slot->pending.valid = 0;
}

/* Load e for slot and swap it in.  Returns 1 if a new version serves. */
static int slot_load(struct srv_store *store, struct srv_slot *slot,
                     const struct dir_entry *e)
{
	struct moe_model *model = NULL;
	struct moe_error err = {{0}};
	struct version *cur;
	char path[PATH_MAX];
	int rc;

	if (!slot_wait_retired(store, slot))
		return 0;
	if (!atomic_load(&slot->current))
		atomic_store(&slot->presence, SLOT_LOADING);

	rc = path_join(store, e->file, path, sizeof(path));
	if (rc == 0)
		rc = moe_model_load(path, &model, &err);
	slot_remember(slot, e, path);
	if (rc < 0) {
		if (!err.message[0])
			snprintf(err.message, sizeof(err.message), "%s: %s",
			         e->file, strerror(-rc));
		slot_failed(store, slot, err.message);
		return 0;
	}

	cur = atomic_load(&slot->current);
	if (cur && strcmp(cur->pub.model->digest, model->digest) == 0 &&
	    strcmp(cur->pub.file, e->file) == 0) {
		srv_debug(
		    "model %s: %s has the same content as version %" PRIu64
		    "; nothing to swap",
		    slot->name, e->file, cur->pub.number);
		moe_model_free(model);
		slot_set_error(store, slot, NULL);
		return 0;
	}
	return slot_swap(store, slot, model, e->file);
}

/* One file names slot's model: load it if it changed and has settled. */
static int slot_update(struct srv_store *store, struct srv_slot *slot,
                       const struct dir_entry *e,
                       const struct srv_scan_hints *hints, int *recheck)
{
	int forced = hints_name(hints, e->file);
	int changed = !file_id_same(&e->id, &slot->seen) ||
	              strcmp(e->file, slot->seen_file) != 0;

	slot_set_file(store, slot, e->file);
	if (slot->duplicate) {
		/* The other file went: look at this one afresh. */
		slot->duplicate = 0;
		slot_set_error(store, slot, NULL);
		changed = 1;
	}
	if (!changed && !forced)
		return 0;

	if (!entry_settled(slot, e, hints)) {
		*recheck = 1;
		if (atomic_load(&slot->presence) == SLOT_ABSENT)
			atomic_store(&slot->presence, SLOT_LOADING);
		return 0;
	}
	return slot_load(store, slot, e);
}

/* Two files name slot's model: an error until one goes. */
static void slot_duplicate(struct srv_store *store, struct srv_slot *slot,
                           const struct dir_entry *a, const struct dir_entry *b)
{
	char message[MOE_ERROR_BYTES];

	slot_set_file(store, slot, a->file);
	slot->pending.valid = 0;
	if (slot->duplicate)
		return;

	slot->duplicate = 1;
	snprintf(message, sizeof(message),
	         "two files name model %s: %s and %s; remove one", slot->name,
	         a->file, b->file);
	slot_set_error(store, slot, message);
	if (atomic_load(&slot->current)) {
		srv_warn("%s; the version in service stays", message);
		return;
	}
	atomic_store(&slot->presence, SLOT_UNAVAILABLE);
	srv_warn("%s", message);
}

/* slot's file is gone: out of service; freed after its last request. */
static int slot_remove(struct srv_store *store, struct srv_slot *slot)
{
	struct version *old;
	char *file;

	atomic_store(&slot->presence, SLOT_ABSENT);
	old = atomic_exchange(&slot->current, NULL);
	memset(&slot->seen, 0, sizeof(slot->seen));
	memset(&slot->pending, 0, sizeof(slot->pending));
	slot->seen_file[0] = '\0';
	slot->duplicate = 0;

	pthread_mutex_lock(&store->meta_lock);
	file = slot->file;
	slot->file = NULL;
	meta_set(&slot->last_error, NULL);
	slot->last_error_at = 0;
	pthread_mutex_unlock(&store->meta_lock);

	if (old) {
		srv_info("removed model %s (%s is gone); version %" PRIu64
		         " is freed when its last request ends",
		         slot->name, file ? file : "its file", old->pub.number);
		version_retire(store, old);
	} else {
		srv_info("removed model %s (%s is gone)", slot->name,
		         file ? file : "its file");
	}
	free(file);
	return 1;
}

/* ---- the scan --------------------------------------------------------- */

/* Entries [i, j) name one model. */
static int scan_model(struct srv_store *store, const struct dir_list *list,
                      size_t i, size_t j, const struct srv_scan_hints *hints,
                      int *recheck)
{
	const struct dir_entry *e = &list->v[i];
	struct srv_slot *slot = slot_get(store, e->stem);

	if (!slot) {
		if (!store->full_logged)
			srv_warn(
			    "%s holds more than %u models; ignoring %s and any other new name",
			    store->dir, SRV_MAX_MODELS, e->file);
		store->full_logged = 1;
		return 0;
	}
	slot->marked = 1;
	if (j - i > 1) {
		slot_duplicate(store, slot, e, &list->v[i + 1]);
		return 0;
	}
	return slot_update(store, slot, e, hints, recheck);
}

static int scan_locked(struct srv_store *store,
                       const struct srv_scan_hints *hints, int *recheck)
{
	size_t nslots = atomic_load(&store->nslots);
	struct dir_list list;
	int changed = 0;
	int rc;

	atomic_fetch_add(&store->scans, 1);
	rc = dir_read(store, &list);
	if (rc < 0) {
		if (store->opened && !store->dir_failed)
			srv_warn(
			    "cannot read model directory %s: %s; the models loaded stay in service",
			    store->dir, strerror(-rc));
		store->dir_failed = 1;
		return rc;
	}
	if (store->dir_failed)
		srv_info("model directory %s is readable again", store->dir);
	store->dir_failed = 0;
	if (list.truncated)
		srv_warn("%s holds more than %u model files; some are ignored",
		         store->dir, MAX_ENTRIES);

	for (size_t i = 0; i < nslots; i++)
		store->slots[i]->marked = 0;
	for (size_t i = 0, j; i < list.count; i = j) {
		for (j = i + 1; j < list.count; j++)
			if (strcmp(list.v[i].stem, list.v[j].stem) != 0)
				break;
		changed += scan_model(store, &list, i, j, hints, recheck);
	}

	nslots = atomic_load(&store->nslots);
	for (size_t i = 0; i < nslots; i++) {
		struct srv_slot *slot = store->slots[i];

		if (!slot->marked &&
		    atomic_load(&slot->presence) != SLOT_ABSENT)
			changed += slot_remove(store, slot);
	}
	free(list.v);
	return changed;
}

int srv_store_scan(struct srv_store *store, const struct srv_scan_hints *hints,
                   int *recheck)
{
	int rc;

	*recheck = 0;
	pthread_mutex_lock(&store->scan_lock);
	rc = scan_locked(store, hints, recheck);
	pthread_mutex_unlock(&store->scan_lock);
	return rc;
}

int srv_store_rescan(struct srv_store *store)
{
	int recheck;

	return srv_store_scan(store, NULL, &recheck);
}

/* ---- life cycle ------------------------------------------------------- */

static void store_free(struct srv_store *store)
{
	size_t n = atomic_load(&store->nslots);

	for (size_t i = 0; i < n; i++) {
		free(store->slots[i]->file);
		free(store->slots[i]->last_error);
		free(store->slots[i]);
	}
	pthread_mutex_destroy(&store->scan_lock);
	pthread_mutex_destroy(&store->meta_lock);
	pthread_mutex_destroy(&store->free_lock);
	pthread_cond_destroy(&store->freed);
	free(store->dir);
	free(store);
}

static struct srv_store *store_new(const char *dir)
{
	struct srv_store *store = calloc(1, sizeof(*store));

	if (!store)
		return NULL;
	store->dir = strdup(dir);
	if (!store->dir) {
		free(store);
		return NULL;
	}
	pthread_mutex_init(&store->scan_lock, NULL);
	pthread_mutex_init(&store->meta_lock, NULL);
	pthread_mutex_init(&store->free_lock, NULL);
	pthread_cond_init(&store->freed, NULL);
	return store;
}

int srv_store_open(const char *dir, struct srv_store **out)
{
	struct srv_store *store;
	struct stat st;
	int recheck;
	int rc;

	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	store = store_new(dir);
	if (!store)
		return -ENOMEM;

	rc = srv_store_scan(store, NULL, &recheck);
	if (rc < 0) {
		store_free(store);
		return rc;
	}
	store->opened = 1;
	*out = store;
	return 0;
}

int srv_store_watch_ms(struct srv_store *store, unsigned poll_ms,
                       int use_inotify)
{
	struct srv_watcher *w = NULL;
	int rc = -EALREADY;

	pthread_mutex_lock(&store->scan_lock);
	if (!store->watcher) {
		rc = srv_watcher_start(store, store->dir, poll_ms, use_inotify,
		                       &w);
		store->watcher = w;
	}
	pthread_mutex_unlock(&store->scan_lock);
	return rc;
}

int srv_store_watch(struct srv_store *store, unsigned poll_interval)
{
	unsigned most = ~0U / 1000U; /* seconds that fit in ms */

	if (poll_interval > most)
		poll_interval = most;
	return srv_store_watch_ms(store, poll_interval * 1000U, 1);
}

void srv_store_close(struct srv_store *store)
{
	struct version *old[SRV_MAX_MODELS];
	struct srv_watcher *w;
	size_t n;

	if (!store)
		return;
	pthread_mutex_lock(&store->free_lock);
	atomic_store(&store->closing, 1);
	pthread_cond_broadcast(&store->freed);
	pthread_mutex_unlock(&store->free_lock);

	pthread_mutex_lock(&store->scan_lock);
	w = store->watcher;
	store->watcher = NULL;
	pthread_mutex_unlock(&store->scan_lock);
	srv_watcher_stop(w);

	/* Take every version out of service, then wait for the last
	 * requests on them. */
	pthread_mutex_lock(&store->scan_lock);
	n = atomic_load(&store->nslots);
	for (size_t i = 0; i < n; i++)
		old[i] = atomic_exchange(&store->slots[i]->current, NULL);
	srcu_synchronize(&store->srcu);
	for (size_t i = 0; i < n; i++)
		if (old[i])
			version_unref(old[i]);
	pthread_mutex_unlock(&store->scan_lock);

	pthread_mutex_lock(&store->free_lock);
	while (store->alive > 0)
		pthread_cond_wait(&store->freed, &store->free_lock);
	pthread_mutex_unlock(&store->free_lock);
	store_free(store);
}

/* ---- test hooks ------------------------------------------------------- */

int srv_store_counts(struct srv_store *store, const char *name,
                     struct srv_store_counts *out)
{
	struct srv_slot *slot = name ? slot_find(store, name) : NULL;

	if (!slot)
		return -ENOENT;
	pthread_mutex_lock(&store->free_lock);
	out->created = slot->created;
	out->freed = slot->freed;
	out->alive = slot->alive;
	out->max_alive = slot->max_alive;
	pthread_mutex_unlock(&store->free_lock);
	out->scans = atomic_load(&store->scans);
	return 0;
}

long srv_store_versions_alive(void)
{
	return atomic_load(&versions_alive_total);
}
