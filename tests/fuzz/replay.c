/* SPDX-License-Identifier: MIT */
/*
 * replay.c - a main() for a fuzz target without libFuzzer: runs the
 * target once on every file of the directories (or files) named on the
 * command line.  Every build runs the kept inputs of tests/fuzz/corpus
 * this way, so that a crash once found stays fixed under gcc, ASan, TSan
 * and valgrind too.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run the target on one file; returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	long len;
	int r = -1;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		goto close_file;
	data = malloc((size_t)len + 1);
	if (data && fread(data, 1, (size_t)len, f) == (size_t)len) {
		LLVMFuzzerTestOneInput(data, (size_t)len);
		r = 0;
	}
	free(data);
close_file:
	fclose(f);
	return r;
}

/* Every regular file of dir, in name order; returns how many or -1. */
static int replay_dir(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int i, n, count = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path))
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	int i, n, total = 0;
	struct stat st;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? replay_dir(argv[i])
		                        : (replay_file(argv[i]) ? -1 : 1);
		if (n < 0) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 1;
		}
		total += n;
	}
	printf("replay: %d inputs\n", total);
	return 0;
}
