/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - the daemon's config file (cfg_load).  cfg_load reads a
 * file by name, so each input is written to a memfd that is named as
 * --config /proc/self/fd/N.  Settings that load are printed in the
 * config file syntax by cfg_print, and that text must load back to the
 * same settings, when the file syntax can express them: inih takes a ';'
 * after a space for a comment and has no quoting, so a value such as
 * "; s" (read from "models=; s") cannot be written back, nor a line
 * that the spaces around '=' take over INI_MAX_LINE (see
 * docs/RELIABILITY.md).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "fuzz.h"

/* Whether every line of cfg_print's text reads back as written. */
static int expressible(const char *text)
{
	const char *p, *line = text;

	for (p = text; *p; p++) {
		if (*p == ';' && p > text && (p[-1] == ' ' || p[-1] == '\t'))
			return 0;
		if (*p != '\n')
			continue;
		if ((size_t)(p - line) + 2 > INI_MAX_LINE)
			return 0;
		line = p + 1;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PRINT_BYTES 65536

/* Load the settings from a memfd holding size bytes of data. */
static int load(int fd, const uint8_t *data, size_t size,
                struct cfg_settings *s, struct cfg_error *err)
{
	char path[64];
	char *argv[] = {"sigmoed", "--config", path, NULL};
	char *envp[] = {NULL};
	enum cfg_action action;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (ftruncate(fd, 0) ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		fuzz_die("cannot write to the memfd");
	return cfg_load(3, argv, envp, "/models", s, &action, err);
}

static int memfd(void)
{
	int fd = memfd_create("fuzz.conf", MFD_CLOEXEC);

	if (fd < 0)
		fuzz_die("memfd_create failed");
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char first[PRINT_BYTES], second[PRINT_BYTES];
	static int in_fd = -1, back_fd = -1;
	struct cfg_settings s, again;
	struct cfg_error err;
	size_t len;

	if (in_fd < 0) {
		in_fd = memfd();
		back_fd = memfd();
	}
	if (load(in_fd, data, size, &s, &err))
		return 0;
	len = cfg_print(&s, first, sizeof(first));
	cfg_free(&s);
	if (len == 0 || len >= sizeof(first))
		fuzz_die("cfg_print needs %zu bytes", len);
	if (!expressible(first))
		return 0;

	if (load(back_fd, (const uint8_t *)first, len, &again, &err))
		fuzz_die("printed settings do not load: %s\n%s", err.message,
		         first);
	cfg_print(&again, second, sizeof(second));
	cfg_free(&again);
	if (strcmp(first, second))
		fuzz_die("settings changed on the way back:\n%s\n--\n%s", first,
		         second);
	return 0;
}
