/* SPDX-License-Identifier: MIT */
/*
 * auth.c - bearer tokens: read from a file at start, checked per request.
 *
 * A presented token is compared through SHA-256 digests of both sides,
 * with a loop that always touches every byte, so the time taken does not
 * depend on where the first difference is or on the token's length.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "server.h"

static int read_limited(int fd, char *buf, size_t cap, size_t *len)
{
	size_t used = 0;

	while (used < cap) {
		ssize_t n = read(fd, buf + used, cap - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*len = used;
	return 0;
}

/* Strip trailing CR/LF and reject anything else that is not printable. */
static int token_clean(char *buf, size_t *len)
{
	size_t i;

	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		(*len)--;
	buf[*len] = '\0';
	for (i = 0; i < *len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c <= 0x20 || c == 0x7f)
			return -EINVAL;
	}
	return *len > 0 ? 0 : -EINVAL;
}

int srv_token_read(const char *path, char **out, char *msg, size_t len)
{
	char *buf;
	size_t n = 0;
	int fd, rc;

	buf = malloc(SRV_MAX_TOKEN_BYTES + 2);
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, len, "%s: %s", path, strerror(-rc));
		goto fail_buf;
	}
	rc = read_limited(fd, buf, SRV_MAX_TOKEN_BYTES + 1, &n);
	close(fd);
	if (rc < 0) {
		snprintf(msg, len, "%s: %s", path, strerror(-rc));
		goto fail_buf;
	}
	if (n > SRV_MAX_TOKEN_BYTES) {
		rc = -E2BIG;
		snprintf(msg, len, "%s: token longer than %u bytes", path,
		         SRV_MAX_TOKEN_BYTES);
		goto fail_buf;
	}
	rc = token_clean(buf, &n);
	if (rc < 0) {
		snprintf(
		    msg, len,
		    "%s: expected one token of printable characters without spaces on one line",
		    path);
		goto fail_buf;
	}
	*out = buf;
	return 0;

fail_buf:
	free(buf);
	return rc;
}

static void digest_of(const char *s, size_t n, uint8_t *out)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, n, (const uint8_t *)s);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

int srv_token_check(const char *token, const char *authorization)
{
	uint8_t want[SHA256_DIGEST_SIZE], got[SHA256_DIGEST_SIZE];
	const char *presented;
	unsigned diff = 0;
	size_t i;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	presented = authorization + 7;
	while (*presented == ' ')
		presented++;

	digest_of(token, strlen(token), want);
	digest_of(presented, strlen(presented), got);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		diff |= (unsigned)(want[i] ^ got[i]);
	return diff == 0;
}
