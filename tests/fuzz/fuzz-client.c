/*
 * libFuzzer harness: whole requests through client.c without a network
 * (fluxstate__client_set_fake_transport): a paged list with continue
 * tokens, retries, 406 fallback and one 410 restart, a GET of /version,
 * then a watch stream that may break and be re-established. Every answer
 * goes through the client's header, body, JSON stream and status code paths.
 *
 * Input: byte 0 = options (bit 0: metadata-only list; bits 1-3: page size
 * 1-8), then answers, one per request in order:
 *   kind (bits 0-3 status from the table below; 0x10 connection drops after
 *   the body; 0x20 "Retry-After: 0"; 0x40 Content-Type text/html),
 *   chunk size (0 = whole body), body length (2 bytes, little endian), body.
 * When the input runs out, the request fails (ENETWORK) and its query ends.
 * tests/fuzz/make-client-seeds.py writes the seed corpus.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fluxstate-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[16] = { 200, 200, 200, 200, 410, 500, 429, 404, 403, 401, 0, 406, 302, 200, 201, 200 };

struct feed {
	const uint8_t *data;
	size_t size, off;
	size_t answers;
};

static int
fake(void *userdata, const char *path, struct fluxstate__fake_response *ret)
{
	struct feed *f = userdata;
	uint8_t kind, chunk;
	size_t len;

	(void)path;
	if (f->size - f->off < 4 || f->answers >= 64)
		return -1;
	kind = f->data[f->off];
	chunk = f->data[f->off + 1];
	len = (size_t)f->data[f->off + 2] | (size_t)f->data[f->off + 3] << 8;
	f->off += 4;
	if (len > f->size - f->off)
		len = f->size - f->off;
	ret->status = statuses[kind & 15];
	ret->truncated = !!(kind & 0x10);
	ret->headers = (kind & 0x20) ? ((kind & 0x40) ? "Retry-After: 0\r\nContent-Type: text/html\r\n" : "Retry-After: 0\r\n")
				     : (kind & 0x40) ? "Content-Type: text/html\r\n" : "Content-Type: application/json\r\n";
	ret->body = f->data + f->off;
	ret->body_len = len;
	ret->chunk = chunk;
	f->off += len;
	f->answers++;
	return 0;
}

static int
count_item(const struct fluxstate__json *item, void *userdata)
{
	size_t *n = userdata;

	(void)fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL));
	(*n)++;
	return 0;
}

/* FUZZ_CLIENT_TRACE=1: print each request and its outcome (checking what a seed drives). */
static void
trace(const char *line, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "%s\n", line);
}

static fluxstate_ctx *
fuzz_ctx(void)
{
	static fluxstate_ctx *ctx;

	if (!ctx) {
		struct fluxstate__conn *conn = calloc(1, sizeof(*conn));

		if (fluxstate_ctx_new(&ctx) < 0 || !conn)
			abort();
		conn->server = strdup("http://fuzz.invalid"); /* plain http: no credentials, no TLS */
		if (!conn->server)
			abort();
		ctx->conn = conn;
		if (getenv("FUZZ_CLIENT_TRACE"))
			fluxstate_ctx_set_log_fn(ctx, trace, NULL);
	}
	return ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fluxstate_ctx *ctx = fuzz_ctx();
	struct fluxstate__client *client;
	struct fluxstate__query list = { .version = "v1", .resource = "configmaps", .namespace = "flux-system" };
	struct fluxstate__query version = { .raw_path = "/version" };
	struct fluxstate__result res_list, res_version;
	struct feed f = { .data = data, .size = size, .off = 1 };
	size_t n_list = 0, n_version = 0;
	const char *rvs[1];
	int rc;

	if (size < 1 || fluxstate__ctx_client(ctx, &client) < 0)
		return 0;
	fluxstate__client_set_fake_transport(client, fake, &f);
	list.metadata_only = data[0] & 1;
	list.page_size = 1u + ((data[0] >> 1) & 7u);
	if (fluxstate__client_add(client, &list, count_item, &n_list, &res_list) < 0 ||
	    fluxstate__client_add(client, &version, count_item, &n_version, &res_version) < 0)
		abort();
	rc = fluxstate__client_run(client, fluxstate__now_ms() + 60000);
	/* every failure says why; a list never counts more items than it handed out */
	if (rc < 0 || (res_list.code && !res_list.message) || (res_version.code && !res_version.message) ||
	    res_list.n_items > n_list || (res_version.code == 0 && !res_version.not_found && n_version != 1))
		abort();
	/* then watch from the list's version (or an arbitrary one) over what is left */
	rvs[0] = res_list.resource_version ? res_list.resource_version : "1";
	rc = fluxstate__client_watch(client, &list, rvs, 1, fluxstate__now_ms() + 60000);
	if (rc > 0 || (rc < 0 && !fluxstate_ctx_get_error(ctx)[0]))
		abort();
	fluxstate__result_clear(&res_list);
	fluxstate__result_clear(&res_version);
	fluxstate__client_set_fake_transport(client, NULL, NULL);
	return 0;
}
