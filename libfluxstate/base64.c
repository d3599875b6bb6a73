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

int
fluxstate__base64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len,
			 size_t *ret_bad_offset)
{
	unsigned char *out;
	size_t o = 0, i, quad_start = 0;
	unsigned int acc = 0;
	int nq = 0, pad = 0;

	out = malloc(len / 4 * 3 + 3);
	if (!out)
		return FLUXSTATE_ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == '\r' || c == '\n')
			continue;
		if (nq == 0)
			quad_start = i;
		if (c == '=') {
			/* padding only in the last two places of a quad */
			if (nq < 2)
				goto bad;
			pad++;
			nq++;
			if (nq == 4) {
				nq = 0;
				/* nothing but CR/LF may follow */
				for (i++; i < len; i++)
					if (in[i] != '\r' && in[i] != '\n')
						goto bad;
				break;
			}
			continue;
		}
		if (pad)
			goto bad;
		v = b64_value(c);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		nq++;
		if (nq == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
			nq = 0;
		}
	}
	if (nq != 0) {
		/* Go reports the offset where the incomplete quad starts */
		i = quad_start;
		goto bad;
	}
	if (pad) {
		acc <<= 6 * pad;
		out[o++] = (unsigned char)(acc >> 16);
		if (pad == 1)
			out[o++] = (unsigned char)(acc >> 8);
	}
	*ret = out;
	*ret_len = o;
	return 0;
bad:
	fluxstate__free_secret_n(out, len / 4 * 3 + 3);
	if (ret_bad_offset)
		*ret_bad_offset = i;
	return FLUXSTATE_EINVAL;
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
