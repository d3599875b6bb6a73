/*
 * Small helpers shared by every module: buffers, strings, secrets, errors.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fluxstate-private.h"

FLUXSTATE_EXPORT void
fluxstate_free(void *p)
{
	free(p);
}

int
fluxstate__buf_append(struct fluxstate__buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *n;

		while (cap < b->len + len + 1) {
			if (cap > SIZE_MAX / 2)
				return FLUXSTATE_ENOMEM;
			cap *= 2;
		}
		n = realloc(b->data, cap);
		if (!n)
			return FLUXSTATE_ENOMEM;
		b->data = n;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
fluxstate__buf_appendf(struct fluxstate__buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return FLUXSTATE_ENOMEM;
	r = fluxstate__buf_append(b, s, (size_t)r);
	free(s);
	return r;
}

char *
fluxstate__buf_steal(struct fluxstate__buf *b)
{
	char *s = b->data;

	if (!s)
		s = strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
fluxstate__buf_clear(struct fluxstate__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
fluxstate__buf_wipe(struct fluxstate__buf *b)
{
	if (b->data)
		fluxstate__wipe(b->data, b->cap);
	fluxstate__buf_clear(b);
}

char *
fluxstate__strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *
fluxstate__strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

char *
fluxstate__asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

int
fluxstate__streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int
fluxstate__has_prefix(const char *s, const char *prefix)
{
	return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

int
fluxstate__has_suffix(const char *s, const char *suffix)
{
	size_t ls, lx;

	if (!s || !suffix)
		return 0;
	ls = strlen(s);
	lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

void
fluxstate__wipe(void *p, size_t len)
{
	/* volatile stores: the compiler may not drop them as dead */
	volatile unsigned char *v = p;

	while (p && len--)
		*v++ = 0;
}

void
fluxstate__free_secret(char *s)
{
	if (!s)
		return;
	fluxstate__wipe(s, strlen(s));
	free(s);
}

void
fluxstate__free_secret_n(void *p, size_t len)
{
	if (!p)
		return;
	fluxstate__wipe(p, len);
	free(p);
}

int
fluxstate__read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct fluxstate__buf b = { 0 };
	char chunk[8192];
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			r = -EFBIG;
			break;
		}
		if (fluxstate__buf_append(&b, chunk, (size_t)n) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	fluxstate__wipe(chunk, sizeof(chunk));
	close(fd);
	if (r < 0) {
		fluxstate__buf_wipe(&b);
		return r;
	}
	*ret_len = b.len;
	*ret = fluxstate__buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

uint64_t
fluxstate__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

char *
fluxstate__fingerprint(const void *secret, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(secret, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 4)
		return NULL;
	return fluxstate__asprintf("sha256:%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

int
fluxstate__verror(fluxstate_ctx *ctx, int code, const char *fmt, va_list ap)
{
	if (ctx)
		vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	return code;
}

int
fluxstate__error(fluxstate_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fluxstate__verror(ctx, code, fmt, ap);
	va_end(ap);
	return code;
}

void
fluxstate__log(fluxstate_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	if (!ctx || !ctx->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx->log_fn(line, ctx->log_userdata);
}

/*
 * Go spells errno text in lower case ("permission denied"). strerror() is
 * not thread-safe; the per-thread buffer keeps contexts on different
 * threads independent.
 */
const char *
fluxstate__errno_text(int e)
{
	static __thread char buf[128];
	char tmp[128];
	const char *s = strerror_r(e, tmp, sizeof(tmp));

	snprintf(buf, sizeof(buf), "%s", s);
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] + 32);
	return buf;
}

/*
 * An encrypted PEM private key (PKCS#8 "ENCRYPTED PRIVATE KEY" or the
 * legacy "Proc-Type: 4,ENCRYPTED" header). client-go cannot use one, and
 * libcurl 7.88 crashes on one given as a blob without a passphrase.
 */
int
fluxstate__pem_key_is_encrypted(const void *pem, size_t len)
{
	return pem && (memmem(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) ||
		       memmem(pem, len, "Proc-Type: 4,ENCRYPTED", 22));
}

/*
 * Where the password of scheme://user:password@host sits: between the
 * first ':' after "://" and the last '@' before any '?' or '#'. The last
 * '@', not the authority's: a password holding '/' or '@' unescaped is
 * still a password, whatever a URL parser makes of it. 0 if none.
 */
int
fluxstate__url_password_span(const char *u, size_t *ret_start, size_t *ret_len)
{
	const char *sep = u ? strstr(u, "://") : NULL, *end, *at = NULL, *p, *colon;

	if (!sep)
		return 0;
	end = sep + 3 + strcspn(sep + 3, "?#");
	for (p = sep + 3; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return 0;
	colon = memchr(sep + 3, ':', (size_t)(at - sep - 3));
	if (!colon || colon + 1 == at)
		return 0;
	*ret_start = (size_t)(colon + 1 - u);
	*ret_len = (size_t)(at - colon - 1);
	return 1;
}

/* @u with its password shown as xxxxx (Go's URL.Redacted()); NULL on ENOMEM. */
char *
fluxstate__url_redacted(const char *u)
{
	size_t start, len;

	if (!u)
		return NULL;
	if (!fluxstate__url_password_span(u, &start, &len))
		return fluxstate__strdup(u);
	return fluxstate__asprintf("%.*sxxxxx%s", (int)start, u, u + start + len);
}
