/*
 * Base64 as Go's encoding/json decodes []byte: standard alphabet, padding
 * required, CR and LF ignored anywhere, anything else an error.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "fluxstate-private.h"

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * One quantum, exactly as Go's (*Encoding).decodeQuantum (non-strict):
 * the error offsets below are the ones encoding/base64 reports.
 */
static int
decode_quantum(const unsigned char *src, size_t len, size_t *psi, unsigned char *dst, size_t *ret_n,
	       size_t *ret_bad, int *ret_done)
{
	unsigned char dbuf[4] = { 0 };
	size_t si = *psi, dlen = 4;
	int j, err = 0;

	*ret_done = 0;
	for (j = 0; j < 4; j++) {
		unsigned char in;
		int v;

		if (si == len) {
			if (j == 0) {
				*ret_n = 0;
				*psi = si;
				*ret_done = 1;
				return 0;
			}
			*ret_bad = si - (size_t)j;
			return -1;
		}
		in = src[si++];
		v = b64_value(in);
		if (v >= 0) {
			dbuf[j] = (unsigned char)v;
			continue;
		}
		if (in == '\n' || in == '\r') {
			j--;
			continue;
		}
		if (in != '=' || j < 2) {
			*ret_bad = si - 1;
			return -1;
		}
		if (j == 2) {
			/* "==" expected, the first '=' already consumed */
			while (si < len && (src[si] == '\n' || src[si] == '\r'))
				si++;
			if (si == len) {
				*ret_bad = len;
				return -1;
			}
			if (src[si] != '=') {
				*ret_bad = si - 1;
				return -1;
			}
			si++;
		}
		while (si < len && (src[si] == '\n' || src[si] == '\r'))
			si++;
		if (si < len) {
			*ret_bad = si; /* trailing garbage */
			err = 1;
		}
		dlen = (size_t)j;
		*ret_done = 1;
		break;
	}
	{
		unsigned int val = (unsigned int)dbuf[0] << 18 | (unsigned int)dbuf[1] << 12 |
				   (unsigned int)dbuf[2] << 6 | dbuf[3];

		dst[0] = (unsigned char)(val >> 16);
		dst[1] = (unsigned char)(val >> 8);
		dst[2] = (unsigned char)val;
	}
	*ret_n = dlen - 1;
	*psi = si;
	return err ? -1 : 0;
}

int
fluxstate__base64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len,
			 size_t *ret_bad_offset)
{
	const unsigned char *src = (const unsigned char *)in;
	size_t cap = len / 4 * 3 + 3, o = 0, si = 0, bad = 0;
	unsigned char *out;

	out = malloc(cap);
	if (!out)
		return FLUXSTATE_ENOMEM;
	while (si < len) {
		size_t n = 0;
		int done = 0;

		if (decode_quantum(src, len, &si, out + o, &n, &bad, &done) < 0) {
			fluxstate__free_secret_n(out, cap);
			if (ret_bad_offset)
				*ret_bad_offset = bad;
			return FLUXSTATE_EINVAL;
		}
		o += n;
		if (done)
			break;
	}
	*ret = out;
	*ret_len = o;
	return 0;
}

char *
fluxstate__base64_encode(const void *in, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = tbl[p[i] >> 2];
		*o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tbl[p[i + 2] & 63];
	}
	if (i < len) {
		*o++ = tbl[p[i] >> 2];
		if (i + 1 < len) {
			*o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = tbl[(p[i + 1] & 15) << 2];
		} else {
			*o++ = tbl[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
