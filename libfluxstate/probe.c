/*
 * One detection: observe (observe.c) -> classify (classify.c) -> report;
 * and waiting for a change of what decided it (Kubernetes watches).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

FLUXSTATE_EXPORT int
fluxstate_ctx_probe(fluxstate_ctx *ctx, fluxstate_report **ret)
{
	struct fluxstate__observations obs = { 0 };
	struct fluxstate_report *report = NULL;
	int rc;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (!ret)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: report pointer is NULL");
	if (!ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"no kubeconfig loaded: call fluxstate_ctx_load_kubeconfig() first");
	rc = fluxstate__ctx_begin_op(ctx);
	if (rc == 0)
		rc = fluxstate__observe(ctx, &obs);
	if (rc == 0) {
		rc = fluxstate__classify(&obs, &report);
		if (rc < 0)
			rc = fluxstate__error(ctx, rc, "out of memory while classifying");
	}
	fluxstate__observations_clear(&obs);
	if (rc < 0)
		return fluxstate__ctx_end_op(ctx, rc);
	*ret = report;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_wait_for_change(fluxstate_ctx *ctx, const fluxstate_report *since, unsigned int timeout_ms)
{
	struct fluxstate__client *client;
	struct fluxstate__query *queries;
	const char **rvs;
	size_t i;
	int rc;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (!since || timeout_ms == 0)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: %s",
					!since ? "report is NULL" : "timeout_ms is 0");
	if (!ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"no kubeconfig loaded: call fluxstate_ctx_load_kubeconfig() first");
	if (!since->n_watch)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"the report has nothing to watch (its reads failed); probe again instead");
	rc = fluxstate__ctx_begin_op(ctx);
	if (rc < 0)
		return rc;
	rc = fluxstate__ctx_client(ctx, &client);
	if (rc < 0)
		return rc;
	queries = calloc(since->n_watch, sizeof(*queries));
	rvs = calloc(since->n_watch, sizeof(*rvs));
	if (!queries || !rvs) {
		free(queries);
		free(rvs);
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	for (i = 0; i < since->n_watch; i++) {
		const struct fluxstate__watch_target *w = &since->watch[i];

		queries[i].group = w->group;
		queries[i].version = w->version;
		queries[i].resource = w->resource;
		queries[i].namespace = w->namespace;
		queries[i].label_selector = w->label_selector;
		queries[i].metadata_only = 1;
		rvs[i] = w->resource_version;
	}
	rc = fluxstate__client_watch(client, queries, rvs, since->n_watch, fluxstate__now_ms() + timeout_ms);
	free(queries);
	free(rvs);
	if (rc == FLUXSTATE_ETIMEDOUT) {
		/* keep why a watch kept breaking, if one did: "no change before the deadline (watching …)" */
		const char *why = strstr(ctx->error, " (watching ");
		char detail[256];

		snprintf(detail, sizeof(detail), "%s", why ? why : "");
		return fluxstate__error(ctx, rc, "nothing that decides the Flux state changed within %u ms%s",
					timeout_ms, detail);
	}
	return fluxstate__ctx_end_op(ctx, rc);
}
