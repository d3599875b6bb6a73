/*
 * --timeout values: Go durations as kubectl and flux take them ("30s",
 * "2m", "1h30m", "1.5s", "500ms"), or plain seconds ("30").
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	double ms;
} units[] = {
	/* longest first, so "ms" is not read as "m" */
	{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "ms", 1.0 },
	{ "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
};

/* Reads digits with an optional fraction; returns characters consumed (0: none). */
static size_t
read_number(const char *s, double *ret)
{
	double v = 0, scale = 1;
	size_t i = 0, digits = 0;

	while (s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (s[i++] - '0');
		digits++;
	}
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9') {
			scale /= 10;
			v += (s[i++] - '0') * scale;
			digits++;
		}
	}
	if (!digits)
		return 0;
	*ret = v;
	return i;
}

/* Returns 0 and the duration in ms (rounded up, at least 1), or -1. */
int
cli_parse_duration_ms(const char *text, unsigned int *ret_ms)
{
	const char *p = text;
	double total = 0, v;
	size_t n, i, best;

	n = read_number(p, &v);
	if (!n)
		return -1;
	if (p[n] == '\0') {
		total = v * 1e3; /* plain seconds */
	} else {
		while (*p) {
			n = read_number(p, &v);
			if (!n)
				return -1;
			p += n;
			best = sizeof(units) / sizeof(units[0]);
			for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
				size_t len = strlen(units[i].name);

				if (strncmp(p, units[i].name, len) == 0 &&
				    (best == sizeof(units) / sizeof(units[0]) ||
				     len > strlen(units[best].name)))
					best = i;
			}
			if (best == sizeof(units) / sizeof(units[0]))
				return -1;
			p += strlen(units[best].name);
			total += v * units[best].ms;
		}
	}
	if (total <= 0 || total > (double)UINT_MAX)
		return -1;
	*ret_ms = (unsigned int)total;
	if ((double)*ret_ms < total)
		(*ret_ms)++;
	return 0;
}

/* "2m30s", "45s", "1.5s", "250ms": for messages. */
void
cli_format_duration(unsigned int ms, char *buf, size_t size)
{
	unsigned int h = ms / 3600000u, m = ms / 60000u % 60u, s = ms / 1000u % 60u, rest = ms % 1000u;
	size_t len = 0;

	buf[0] = '\0';
	if (ms < 1000u) {
		snprintf(buf, size, "%ums", ms);
		return;
	}
	if (h)
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%uh", h);
	if (m)
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%um", m);
	if (s || rest) {
		if (rest)
			snprintf(buf + len, len < size ? size - len : 0, "%u.%03us", s, rest);
		else
			snprintf(buf + len, len < size ? size - len : 0, "%us", s);
	}
}
