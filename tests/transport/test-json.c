/*
 * Unit tests for json.c: the DOM parser and the streaming list/watch parser.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fluxstate-private.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static const char list_doc[] =
	"{\"kind\":\"DeploymentList\",\"apiVersion\":\"apps/v1\","
	"\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"tok\\u002d1\"},"
	"\"items\":["
	"{\"metadata\":{\"name\":\"a\",\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:x\":{}}}],"
	"\"labels\":{\"k\":\"v\\\"q\"}},\"spec\":{\"items\":[1,2,3],\"replicas\":12345678901234567890123}},"
	"{\"metadata\":{\"name\":\"b\\u00e9\\n\"},\"spec\":{\"versions\":[{\"schema\":{\"openAPIV3Schema\":"
	"{\"type\":\"object\",\"properties\":{\"a\":[{\"b\":null}]}}},\"name\":\"v1\"}]},\"ok\":true,\"no\":false,\"nil\":null},"
	"{\"metadata\":{\"name\":\"c\"},\"n\":-7,\"f\":1.5e3}"
	"],\"trailer\":{\"x\":[]}}";

struct collect {
	int n;
	char names[8][32];
	int abort_at;
	int saw_managed, saw_schema;
	int inner_items;
	long long replicas_rc;
};

static int
collect_fn(const struct fluxstate__json *item, void *userdata)
{
	struct collect *c = userdata;
	const char *name = fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL));
	const struct fluxstate__json *v;

	if (c->n < 8)
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", name ? name : "(null)");
	if (fluxstate__json_path(item, "metadata", "managedFields", NULL))
		c->saw_managed = 1;
	v = fluxstate__json_path(item, "spec", "versions", NULL);
	if (v && v->first && fluxstate__json_path(v->first, "schema", "openAPIV3Schema", NULL))
		c->saw_schema = 1;
	v = fluxstate__json_path(item, "spec", "items", NULL);
	if (v)
		c->inner_items = (int)v->n;
	c->n++;
	return c->abort_at && c->n == c->abort_at ? 1 : 0;
}

static void
check_list_result(struct collect *c, struct fluxstate__json *top)
{
	const struct fluxstate__json *items;

	assert_int_equal(c->n, 3);
	assert_string_equal(c->names[0], "a");
	assert_string_equal(c->names[1], "b\xc3\xa9\n");
	assert_string_equal(c->names[2], "c");
	assert_false(c->saw_managed);
	assert_false(c->saw_schema);
	assert_int_equal(c->inner_items, 3); /* nested "items" are not list items */
	assert_non_null(top);
	assert_string_equal(fluxstate__json_str(fluxstate__json_get(top, "kind")), "DeploymentList");
	assert_string_equal(fluxstate__json_str(fluxstate__json_path(top, "metadata", "continue", NULL)), "tok-1");
	assert_string_equal(fluxstate__json_str(fluxstate__json_path(top, "metadata", "resourceVersion", NULL)), "42");
	items = fluxstate__json_get(top, "items");
	assert_non_null(items);
	assert_int_equal(items->n, 0); /* the items were handed out, not kept */
	assert_non_null(fluxstate__json_path(top, "trailer", "x", NULL));
}

static void
test_stream_every_split(void **state)
{
	size_t len = strlen(list_doc), cut;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		struct fluxstate__json_stream *s;
		struct fluxstate__json *top = NULL;
		struct collect c = { 0 };

		assert_int_equal(fluxstate__json_stream_new(0, collect_fn, &c, &s), 0);
		assert_int_equal(fluxstate__json_stream_feed(s, list_doc, cut), 0);
		assert_int_equal(fluxstate__json_stream_feed(s, list_doc + cut, len - cut), 0);
		assert_int_equal(fluxstate__json_stream_finish(s, &top), 0);
		check_list_result(&c, top);
		fluxstate__json_free(top);
		fluxstate__json_stream_free(s);
	}
}

static void
test_stream_byte_by_byte(void **state)
{
	size_t len = strlen(list_doc), i;
	struct fluxstate__json_stream *s;
	struct fluxstate__json *top = NULL;
	struct collect c = { 0 };

	(void)state;
	assert_int_equal(fluxstate__json_stream_new(0, collect_fn, &c, &s), 0);
	for (i = 0; i < len; i++)
		assert_int_equal(fluxstate__json_stream_feed(s, list_doc + i, 1), 0);
	assert_int_equal(fluxstate__json_stream_finish(s, &top), 0);
	check_list_result(&c, top);
	fluxstate__json_free(top);
	fluxstate__json_stream_free(s);
}

static void
test_stream_truncated_everywhere(void **state)
{
	size_t len = strlen(list_doc), cut;

	(void)state;
	/* every proper prefix is an error, never a silently short list */
	for (cut = 0; cut < len; cut++) {
		struct fluxstate__json_stream *s;
		struct fluxstate__json *top = NULL;
		struct collect c = { 0 };
		int r;

		assert_int_equal(fluxstate__json_stream_new(0, collect_fn, &c, &s), 0);
		r = fluxstate__json_stream_feed(s, list_doc, cut);
		if (r == 0)
			r = fluxstate__json_stream_finish(s, &top);
		assert_int_equal(r, FLUXSTATE_EPROTOCOL);
		assert_null(top);
		assert_non_null(fluxstate__json_stream_error(s));
		fluxstate__json_stream_free(s);
	}
}

static void
test_stream_abort(void **state)
{
	struct fluxstate__json_stream *s;
	struct collect c = { .abort_at = 2 };
	int r;

	(void)state;
	assert_int_equal(fluxstate__json_stream_new(0, collect_fn, &c, &s), 0);
	r = fluxstate__json_stream_feed(s, list_doc, strlen(list_doc));
	assert_true(r < 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(fluxstate__json_stream_error(s), "stopped by the item callback");
	/* feeding after a failure keeps failing */
	assert_true(fluxstate__json_stream_feed(s, "{}", 2) < 0);
	fluxstate__json_stream_free(s);
}

static const char watch_doc[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\",\"managedFields\":[]}}}\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\r\n"
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":\"too old\"}}\n";

static int
watch_fn(const struct fluxstate__json *ev, void *userdata)
{
	struct collect *c = userdata;
	const char *t = fluxstate__json_str(fluxstate__json_get(ev, "type"));

	if (c->n < 8)
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", t ? t : "(null)");
	c->n++;
	return 0;
}

static void
test_stream_multiple_every_split(void **state)
{
	size_t len = strlen(watch_doc), cut;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		struct fluxstate__json_stream *s;
		struct collect c = { 0 };

		assert_int_equal(fluxstate__json_stream_new(1, watch_fn, &c, &s), 0);
		assert_int_equal(fluxstate__json_stream_feed(s, watch_doc, cut), 0);
		assert_int_equal(fluxstate__json_stream_feed(s, watch_doc + cut, len - cut), 0);
		assert_int_equal(fluxstate__json_stream_finish(s, NULL), 0);
		assert_int_equal(c.n, 3);
		assert_string_equal(c.names[0], "ADDED");
		assert_string_equal(c.names[1], "BOOKMARK");
		assert_string_equal(c.names[2], "ERROR");
		fluxstate__json_stream_free(s);
	}
}

static void
test_stream_multiple_truncated(void **state)
{
	struct fluxstate__json_stream *s;
	struct collect c = { 0 };

	(void)state;
	assert_int_equal(fluxstate__json_stream_new(1, watch_fn, &c, &s), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, watch_doc, 100), 0);
	assert_int_equal(fluxstate__json_stream_finish(s, NULL), FLUXSTATE_EPROTOCOL);
	assert_int_equal(c.n, 1);
	fluxstate__json_stream_free(s);
}

static void
test_dom_values(void **state)
{
	static const char doc[] = "{\"s\":\"a\\\\b\\/c\\t\\ud83d\\ude00\",\"big\":123456789012345678901234567890,"
				  "\"i\":-42,\"f\":2.5,\"e\":1e3,\"max\":9223372036854775807,\"t\":true,"
				  "\"n\":null,\"a\":[1,[2,[3]]],\"managedFields\":[1],\"o\":{}}";
	struct fluxstate__json *root = NULL;
	const struct fluxstate__json *a;
	long long v = 0;
	char *err = NULL;

	(void)state;
	assert_int_equal(fluxstate__json_parse(doc, strlen(doc), &root, &err), 0);
	assert_null(err);
	assert_int_equal(root->type, FLUXSTATE__JSON_OBJECT);
	assert_string_equal(fluxstate__json_str(fluxstate__json_get(root, "s")), "a\\b/c\t\xf0\x9f\x98\x80");
	assert_string_equal(fluxstate__json_get(root, "big")->text, "123456789012345678901234567890");
	assert_int_equal(fluxstate__json_int(fluxstate__json_get(root, "big"), &v), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate__json_int(fluxstate__json_get(root, "i"), &v), 0);
	assert_true(v == -42);
	assert_int_equal(fluxstate__json_int(fluxstate__json_get(root, "max"), &v), 0);
	assert_true(v == 9223372036854775807LL);
	assert_int_equal(fluxstate__json_int(fluxstate__json_get(root, "f"), &v), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate__json_int(fluxstate__json_get(root, "e"), &v), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate__json_int(fluxstate__json_get(root, "s"), &v), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate__json_int(NULL, &v), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate__json_get(root, "t")->type, FLUXSTATE__JSON_BOOL);
	assert_true(fluxstate__json_get(root, "t")->boolean);
	assert_int_equal(fluxstate__json_get(root, "n")->type, FLUXSTATE__JSON_NULL);
	assert_null(fluxstate__json_str(fluxstate__json_get(root, "n")));
	a = fluxstate__json_get(root, "a");
	assert_int_equal(a->n, 2);
	assert_int_equal(a->last->n, 2);
	assert_string_equal(a->last->last->first->text, "3");
	assert_null(a->first->key);
	/* the whole-document parser keeps everything */
	assert_non_null(fluxstate__json_get(root, "managedFields"));
	assert_int_equal(fluxstate__json_get(root, "o")->n, 0);
	assert_null(fluxstate__json_get(root, "missing"));
	assert_null(fluxstate__json_get(a, "x")); /* not an object */
	assert_null(fluxstate__json_get(NULL, "x"));
	assert_null(fluxstate__json_path(root, "o", "x", "y", NULL));
	fluxstate__json_free(root);
}

static void
test_dom_malformed(void **state)
{
	static const char *bad[] = {
		"", "   ", "{", "{\"a\":}", "{\"a\":1", "[1,2]]", "{\"a\":1} x", "{\"a\":1}{}", "nul", "\"\\x\"",
		"{'a':1}", "[1,]", "{\"a\" 1}", "\"\xff\xfe\"", "01", "{\"a\":1,}", "\"unterminated",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fluxstate__json *root = (void *)1;
		char *err = NULL;
		int r = fluxstate__json_parse(bad[i], strlen(bad[i]), &root, &err);

		if (r != FLUXSTATE_EPROTOCOL)
			fail_msg("input %zu (%s) gave %d", i, bad[i], r);
		assert_null(root);
		assert_non_null(err);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
		free(err);
	}
}

static void
test_dom_too_deep(void **state)
{
	char *doc = malloc(20001);
	struct fluxstate__json *root = NULL;
	char *err = NULL;

	(void)state;
	memset(doc, '[', 10000);
	memset(doc + 10000, ']', 10000);
	doc[20000] = '\0';
	assert_int_equal(fluxstate__json_parse(doc, 20000, &root, &err), FLUXSTATE_EPROTOCOL);
	assert_string_equal(err, "JSON nested too deeply");
	free(err);
	free(doc);
}

static long
vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int
count_fn(const struct fluxstate__json *item, void *userdata)
{
	size_t *n = userdata;

	if (!fluxstate__json_path(item, "metadata", "name", NULL))
		return 1;
	(*n)++;
	return 0;
}

/* 100 000 items, ~25 MB of JSON, fed in 64 KiB chunks: peak memory must stay small. */
static void
test_stream_big_list_memory(void **state)
{
	enum { N = 100000 };
	struct fluxstate__json_stream *s;
	struct fluxstate__json *top = NULL;
	char chunk[65536 + 512];
	size_t len = 0, n = 0, i, total = 0;
	long before, after;

	(void)state;
	before = vm_hwm_kb();
	assert_int_equal(fluxstate__json_stream_new(0, count_fn, &n, &s), 0);
	len = (size_t)snprintf(chunk, sizeof(chunk), "{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":[");
	for (i = 0; i < N; i++) {
		len += (size_t)snprintf(chunk + len, sizeof(chunk) - len,
					"%s{\"metadata\":{\"name\":\"cm-%06zu\",\"namespace\":\"default\","
					"\"managedFields\":[{\"manager\":\"m\",\"operation\":\"Apply\"}],"
					"\"labels\":{\"app\":\"x\"}},\"data\":{\"k\":\"%0120zu\"}}",
					i ? "," : "", i, i);
		if (len > 65536) {
			assert_int_equal(fluxstate__json_stream_feed(s, chunk, len), 0);
			total += len;
			len = 0;
		}
	}
	len += (size_t)snprintf(chunk + len, sizeof(chunk) - len, "]}");
	assert_int_equal(fluxstate__json_stream_feed(s, chunk, len), 0);
	total += len;
	assert_int_equal(fluxstate__json_stream_finish(s, &top), 0);
	fluxstate__json_free(top);
	fluxstate__json_stream_free(s);
	after = vm_hwm_kb();
	assert_int_equal(n, N);
	assert_true(total > 20u * 1024 * 1024);
	print_message("# %zu bytes streamed, VmHWM %ld -> %ld kB\n", total, before, after);
	/* valgrind and ASan keep freed memory around (quarantine): peak RSS says nothing there */
	if (before > 0 && after > 0 && !SANITIZED && !(getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")))
		assert_true(after - before < 4 * 1024); /* far below the 25 MB body */
}

/* Feed @n bytes of @fill in 64 KiB chunks; the first failure code, or 0. */
static int
feed_fill(struct fluxstate__json_stream *s, char fill, size_t n)
{
	static char chunk[65536];
	int r = 0;

	memset(chunk, fill, sizeof(chunk));
	while (n && !r) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		r = fluxstate__json_stream_feed(s, chunk, k);
		n -= k;
	}
	return r;
}

/* Feed @n_strings members "sNNNNNNN":"xxx…" of 1 KiB each (an object's inside). */
static int
feed_members(struct fluxstate__json_stream *s, size_t n_strings)
{
	char m[1100], value[1024];
	size_t i;
	int r = 0;

	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (i = 0; i < n_strings && !r; i++) {
		int len = snprintf(m, sizeof(m), "%s\"s%07zu\":\"%s\"", i ? "," : "", i, value);

		r = fluxstate__json_stream_feed(s, m, (size_t)len);
	}
	return r;
}

/*
 * A hostile server streaming one endless value must not exhaust memory or
 * keep the parser busy: input one value spans (whitespace here, a long
 * string in real life) and what one item builds are bounded. Items each
 * below the bound still stream whatever the list's total size.
 */
static void
test_stream_value_size_bounded(void **state)
{
	static const char head[] = "{\"kind\":\"ConfigMapList\",\"items\":[";
	struct fluxstate__json_stream *s;
	struct fluxstate__json *top = NULL;
	size_t n = 0, i;

	(void)state;
	/* 20 MiB of input inside one item */
	assert_int_equal(fluxstate__json_stream_new(0, count_fn, &n, &s), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, head, strlen(head)), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, "{\"metadata\":", 12), 0);
	assert_int_equal(feed_fill(s, ' ', 20u << 20), FLUXSTATE_EPROTOCOL);
	assert_string_equal(fluxstate__json_stream_error(s), "a JSON value longer than 16 MiB");
	fluxstate__json_stream_free(s);

	/* "[0,0,0,...": 2 input bytes per node, far more memory per node */
	assert_int_equal(fluxstate__json_stream_new(0, count_fn, &n, &s), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, head, strlen(head)), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, "{\"data\":[0", 10), 0);
	{
		static char zeros[65536];
		int r = 0;

		for (i = 0; i < sizeof(zeros); i += 2)
			memcpy(zeros + i, ",0", 2);
		for (i = 0; i < 256 && !r; i++)
			r = fluxstate__json_stream_feed(s, zeros, sizeof(zeros));
		assert_int_equal(r, FLUXSTATE_EPROTOCOL);
		assert_string_equal(fluxstate__json_stream_error(s), "a list item larger than 16 MiB");
		assert_true(i < 100); /* long before 16 MiB of input */
	}
	fluxstate__json_stream_free(s);

	/* a single document (no items) is bounded as a whole */
	assert_int_equal(fluxstate__json_stream_new(0, NULL, NULL, &s), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, "{", 1), 0);
	assert_int_equal(feed_members(s, 17 * 1024), FLUXSTATE_EPROTOCOL);
	assert_string_equal(fluxstate__json_stream_error(s), "a JSON document larger than 16 MiB");
	fluxstate__json_stream_free(s);

	/* three items of 6 MiB each: 18 MiB in all, each one fine */
	n = 0;
	assert_int_equal(fluxstate__json_stream_new(0, count_fn, &n, &s), 0);
	assert_int_equal(fluxstate__json_stream_feed(s, head, strlen(head)), 0);
	for (i = 0; i < 3; i++) {
		const char *open_item = i ? ",{\"metadata\":{\"name\":\"x\"}," : "{\"metadata\":{\"name\":\"x\"},";

		assert_int_equal(fluxstate__json_stream_feed(s, open_item, strlen(open_item)), 0);
		assert_int_equal(feed_members(s, 6 * 1024), 0);
		assert_int_equal(fluxstate__json_stream_feed(s, "}", 1), 0);
	}
	assert_int_equal(fluxstate__json_stream_feed(s, "]}", 2), 0);
	assert_int_equal(fluxstate__json_stream_finish(s, &top), 0);
	assert_int_equal(n, 3);
	fluxstate__json_free(top);
	fluxstate__json_stream_free(s);
}

/* CPU seconds to parse {"data":"xxx…"} of @size bytes fed in 4 KiB pieces (best of 3). */
static double
string_parse_seconds(size_t size)
{
	static char piece[4096];
	double best = 1e9;
	int run;

	memset(piece, 'x', sizeof(piece));
	for (run = 0; run < 3; run++) {
		struct fluxstate__json_stream *s;
		struct fluxstate__json *top = NULL;
		struct timespec t0, t1;
		size_t done;
		double t;

		assert_int_equal(fluxstate__json_stream_new(0, NULL, NULL, &s), 0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		assert_int_equal(fluxstate__json_stream_feed(s, "{\"data\":\"", 9), 0);
		for (done = 0; done < size; done += sizeof(piece))
			assert_int_equal(fluxstate__json_stream_feed(s, piece, sizeof(piece)), 0);
		assert_int_equal(fluxstate__json_stream_feed(s, "\"}", 2), 0);
		assert_int_equal(fluxstate__json_stream_finish(s, &top), 0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		assert_int_equal(strlen(fluxstate__json_str(fluxstate__json_get(top, "data"))), size);
		fluxstate__json_free(top);
		fluxstate__json_stream_free(s);
		t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * One long string arriving in pieces parses in linear time: 8 times the
 * input takes about 8 times the CPU, not 64 (yajl re-scans a token that
 * spans pieces from its start; the stream holds such a token back). A
 * scaling check with a wide margin either way, not a timing goal.
 */
static void
test_stream_long_string_linear(void **state)
{
	double small, big;

	(void)state;
	small = string_parse_seconds(1u << 20);
	big = string_parse_seconds(8u << 20);
	print_message("# 1 MiB string: %.4f s CPU, 8 MiB: %.4f s CPU (ratio %.1f)\n", small, big,
		      big / (small > 1e-6 ? small : 1e-6));
	/* linear: ~8; quadratic: ~64 and more; small is at least 1 ms (8 MiB ≥ 8 ms) */
	assert_true(big < 24 * (small > 0.001 ? small : 0.001));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_every_split),
		cmocka_unit_test(test_stream_byte_by_byte),
		cmocka_unit_test(test_stream_truncated_everywhere),
		cmocka_unit_test(test_stream_abort),
		cmocka_unit_test(test_stream_multiple_every_split),
		cmocka_unit_test(test_stream_multiple_truncated),
		cmocka_unit_test(test_dom_values),
		cmocka_unit_test(test_dom_malformed),
		cmocka_unit_test(test_dom_too_deep),
		cmocka_unit_test(test_stream_big_list_memory),
		cmocka_unit_test(test_stream_value_size_bounded),
		cmocka_unit_test(test_stream_long_string_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
