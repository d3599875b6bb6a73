/*
 * libFuzzer harness: the streaming list/watch parser fed in random chunk
 * sizes, the whole-document parser, and the error-body (Status/text)
 * decoding. The first input byte picks the mode and the chunking seed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fluxstate-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t items;
	size_t chars;
};

/* Touch what observe.c reads, so the trees are walked. */
static void
walk(const struct fluxstate__json *n, struct seen *s)
{
	long long v;

	for (; n; n = n->next) {
		if (n->key)
			s->chars += strlen(n->key);
		if (n->text)
			s->chars += strlen(n->text);
		if (n->type == FLUXSTATE__JSON_NUMBER)
			(void)fluxstate__json_int(n, &v);
		walk(n->first, s);
	}
}

static int
item_fn(const struct fluxstate__json *item, void *userdata)
{
	struct seen *s = userdata;

	s->items++;
	(void)fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL));
	(void)fluxstate__json_path(item, "status", "conditions", NULL);
	walk(item, s);
	/* stop now and then, like a caller out of memory */
	return s->items > 1000 ? 1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fluxstate__json_stream *st;
	struct fluxstate__json *top = NULL, *doc = NULL;
	struct seen seen = { 0 };
	char *err = NULL, *reason = NULL, *message = NULL;
	unsigned int seed;
	size_t off = 0;
	int multiple, r = 0;

	if (size < 1)
		return 0;
	multiple = data[0] & 1;
	seed = data[0] | 1u;
	data++;
	size--;

	if (fluxstate__json_stream_new(multiple, item_fn, &seen, &st) < 0)
		return 0;
	while (off < size && r == 0) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 64;
		if (n > size - off)
			n = size - off;
		r = fluxstate__json_stream_feed(st, data + off, n);
		off += n;
	}
	if (r == 0)
		r = fluxstate__json_stream_finish(st, multiple ? NULL : &top);
	if (r < 0 && !fluxstate__json_stream_error(st))
		abort();
	if (r == 0 && !multiple) {
		const char *kind = fluxstate__json_str(fluxstate__json_get(top, "kind"));

		if (!top)
			abort();
		(void)fluxstate__json_str(fluxstate__json_path(top, "metadata", "continue", NULL));
		(void)fluxstate__json_str(fluxstate__json_path(top, "metadata", "resourceVersion", NULL));
		(void)(kind && fluxstate__has_suffix(kind, "List"));
	}
	fluxstate__json_free(top);
	fluxstate__json_stream_free(st);

	/* the same bytes as one document, and as an error body */
	if (fluxstate__json_parse((const char *)data, size, &doc, &err) == 0) {
		if (!doc || err)
			abort();
		walk(doc, &seen);
	} else if (doc || !err) {
		abort();
	}
	fluxstate__json_free(doc);
	free(err);
	if (fluxstate__client_decode_error(400 + (long)(seed % 200), (const char *)data, size, &reason, &message) == 0) {
		if (!message || strchr(message, '\n'))
			abort();
	}
	free(reason);
	free(message);
	return 0;
}
