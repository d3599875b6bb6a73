/*
 * The cleanup's two calls on a context: planning (one fresh detection with
 * every Flux custom resource listed, handed to the pure planner in
 * cleanup-plan.c) and carrying a plan out (guarded writes through
 * client.c: a dry run of every step, then each step for real, then a
 * probe). Data still flows one way: requests -> observations -> planner.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "cleanup.h"

FLUXSTATE_EXPORT int
fluxstate_ctx_plan_cleanup(fluxstate_ctx *ctx, const fluxstate_report *report, unsigned int flags,
			   fluxstate_cleanup_plan **ret)
{
	struct fluxstate__observations obs = { 0 };
	struct fluxstate_report *fresh = NULL;
	struct fluxstate_cleanup_plan *plan = NULL;
	char *why = NULL;
	int rc;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (!report || !ret)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: %s is NULL",
					!report ? "report" : "plan pointer");
	if (flags & ~(unsigned int)(FLUXSTATE_CLEANUP_FORCE | FLUXSTATE_CLEANUP_KEEP_NAMESPACE))
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: unknown plan flags 0x%x", flags);
	if (!ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"no kubeconfig loaded: call fluxstate_ctx_load_kubeconfig() first");
	/* refuse on the caller's report before reading anything */
	if (report->state != FLUXSTATE_INSTALL_NONE) {
		obs.namespace = report->namespace;
		rc = fluxstate__cleanup_plan(&obs, report, flags, &plan, &why);
		obs.namespace = NULL;
		fluxstate_cleanup_plan_free(plan);
		plan = NULL;
		if (rc == FLUXSTATE_EREFUSED) {
			rc = fluxstate__error(ctx, rc, "refusing to clean up: %s", why);
			free(why);
			return rc;
		}
		if (rc < 0)
			return fluxstate__error(ctx, rc, "out of memory");
	} else {
		rc = fluxstate__cleanup_plan(&obs, report, flags, &plan, &why);
		if (rc < 0)
			return fluxstate__error(ctx, rc, "out of memory");
		*ret = plan;
		return 0;
	}

	/* the facts the plan acts on: read now, with every custom resource and its resourceVersion */
	obs.list_all_crs = 1;
	rc = fluxstate__observe(ctx, &obs);
	if (rc == 0) {
		rc = fluxstate__classify(&obs, &fresh);
		if (rc < 0)
			rc = fluxstate__error(ctx, rc, "out of memory while classifying");
	}
	if (rc == 0 && (fresh->state != report->state || !fluxstate__streq(fresh->namespace, report->namespace)))
		rc = fluxstate__error(ctx, FLUXSTATE_ECONFLICT,
				      "the cluster changed since the report (it was %s in namespace %s, it is now %s in %s: %s); probe again",
				      fluxstate_state_to_string(report->state), report->namespace ? report->namespace : "?",
				      fluxstate_state_to_string(fresh->state), fresh->namespace ? fresh->namespace : "?",
				      fresh->summary);
	if (rc == 0) {
		rc = fluxstate__cleanup_plan(&obs, fresh, flags, &plan, &why);
		if (rc == FLUXSTATE_EREFUSED)
			rc = fluxstate__error(ctx, rc, "refusing to clean up: %s", why);
		else if (rc < 0)
			rc = fluxstate__error(ctx, rc, "out of memory");
	}
	free(why);
	fluxstate_report_free(fresh);
	fluxstate__observations_clear(&obs);
	if (rc < 0)
		return rc;
	*ret = plan;
	return 0;
}

/* ---- carrying it out ---- */

static int
gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok ? 0 : -1;
}

/*
 * The request body of a step: a JSON patch guarded by test operations, or
 * DeleteOptions with preconditions. @rv: the resourceVersion to guard with.
 */
static char *
step_body(const struct fluxstate_cleanup_step *s, const char *rv, int dry_run)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len, i;
	char *out = NULL;
	int r = 0;

	if (!g)
		return NULL;
	if (strcmp(s->verb, "remove-finalizers") == 0) {
		r |= yajl_gen_array_open(g) != yajl_gen_status_ok;
		if (rv) {
			r |= yajl_gen_map_open(g) != yajl_gen_status_ok;
			r |= gen_str(g, "op") | gen_str(g, "test") | gen_str(g, "path") |
			     gen_str(g, "/metadata/resourceVersion") | gen_str(g, "value") | gen_str(g, rv);
			r |= yajl_gen_map_close(g) != yajl_gen_status_ok;
		}
		r |= yajl_gen_map_open(g) != yajl_gen_status_ok;
		r |= gen_str(g, "op") | gen_str(g, "test") | gen_str(g, "path") | gen_str(g, "/metadata/finalizers") |
		     gen_str(g, "value");
		r |= yajl_gen_array_open(g) != yajl_gen_status_ok;
		for (i = 0; i < s->n_finalizers; i++)
			r |= gen_str(g, s->finalizers[i]);
		r |= yajl_gen_array_close(g) != yajl_gen_status_ok;
		r |= yajl_gen_map_close(g) != yajl_gen_status_ok;
		r |= yajl_gen_map_open(g) != yajl_gen_status_ok;
		r |= gen_str(g, "op") | gen_str(g, "remove") | gen_str(g, "path") | gen_str(g, "/metadata/finalizers");
		r |= yajl_gen_map_close(g) != yajl_gen_status_ok;
		r |= yajl_gen_array_close(g) != yajl_gen_status_ok;
	} else {
		r |= yajl_gen_map_open(g) != yajl_gen_status_ok;
		r |= gen_str(g, "kind") | gen_str(g, "DeleteOptions") | gen_str(g, "apiVersion") | gen_str(g, "v1");
		/* like kubectl delete: dependents (ReplicaSets, Pods) go in the background */
		r |= gen_str(g, "propagationPolicy") | gen_str(g, "Background");
		/*
		 * dryRun goes in the body: with a body, kube-apiserver reads the
		 * DeleteOptions from it alone and ignores ?dryRun=All (a dry run
		 * that deletes for real; seen on the real control plane).
		 */
		if (dry_run) {
			r |= gen_str(g, "dryRun");
			r |= yajl_gen_array_open(g) != yajl_gen_status_ok;
			r |= gen_str(g, "All");
			r |= yajl_gen_array_close(g) != yajl_gen_status_ok;
		}
		if (s->uid || (s->guard_rv && rv)) {
			r |= gen_str(g, "preconditions");
			r |= yajl_gen_map_open(g) != yajl_gen_status_ok;
			if (s->uid)
				r |= gen_str(g, "uid") | gen_str(g, s->uid);
			if (s->guard_rv && rv)
				r |= gen_str(g, "resourceVersion") | gen_str(g, rv);
			r |= yajl_gen_map_close(g) != yajl_gen_status_ok;
		}
		r |= yajl_gen_map_close(g) != yajl_gen_status_ok;
	}
	if (!r && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		out = fluxstate__strndup((const char *)buf, len);
	yajl_gen_free(g);
	return out;
}

struct answer {
	char *resource_version;         /* of the object the write returned */
	int gone;                       /* the answer is a Status (the object no longer exists) */
};

static int
on_answer(const struct fluxstate__json *doc, void *userdata)
{
	struct answer *a = userdata;
	const char *rv = fluxstate__json_str(fluxstate__json_path(doc, "metadata", "resourceVersion", NULL));

	/* a Status, or the object without deletionTimestamp: it is gone, not waiting for finalizers */
	a->gone = fluxstate__streq(fluxstate__json_str(fluxstate__json_get(doc, "kind")), "Status") ||
		  !fluxstate__json_path(doc, "metadata", "deletionTimestamp", NULL);
	free(a->resource_version);
	a->resource_version = rv ? fluxstate__strdup(rv) : NULL;
	return rv && !a->resource_version ? -1 : 0;
}

/*
 * One step, one request. Returns 0 or the step's FLUXSTATE_E* code; *msg
 * says what happened. @rv is the resourceVersion to guard with; on a real
 * finalizer removal it becomes the object's new one.
 */
static int
run_step(fluxstate_ctx *ctx, struct fluxstate__client *client, const struct fluxstate_cleanup_step *s, int dry_run,
	 char **rv, char **msg)
{
	struct fluxstate__query q = { 0 };
	struct fluxstate__result res = { 0 };
	struct answer a = { 0 };
	int patch = strcmp(s->verb, "remove-finalizers") == 0;
	char *body = step_body(s, *rv, dry_run);
	int rc;

	if (!body)
		return FLUXSTATE_ENOMEM;
	q.group = s->group;
	q.version = s->version;
	q.resource = s->resource;
	q.namespace = s->namespace;
	q.name = s->name;
	q.method = patch ? "PATCH" : "DELETE";
	q.body = body;
	q.content_type = patch ? "application/json-patch+json" : "application/json";
	q.dry_run = dry_run && patch; /* a DELETE carries it in its DeleteOptions body */
	rc = fluxstate__client_add(client, &q, on_answer, &a, &res);
	if (rc == 0)
		rc = fluxstate__client_run(client, fluxstate__now_ms() + ctx->timeout_ms);
	if (rc == 0)
		rc = res.code;
	if (rc == 0 && res.not_found) {
		*msg = fluxstate__strdup("already gone");
	} else if (rc == 0) {
		*msg = fluxstate__strdup(dry_run ? (patch ? "finalizers would be removed" : "would be deleted")
					 : patch ? "finalizers removed"
					 : a.gone ? "deleted" : "deletion started (waits for its finalizers or content)");
		if (patch && !dry_run && a.resource_version) {
			free(*rv);
			*rv = a.resource_version;
			a.resource_version = NULL;
		}
	} else if (rc == FLUXSTATE_ECONFLICT) {
		*msg = fluxstate__asprintf("changed since the plan (%s), not overwritten: %s",
					   patch ? "its resourceVersion or finalizers differ" : "its uid or resourceVersion differs",
					   res.message ? res.message : "conflict");
	} else if (rc == FLUXSTATE_EAUTH && res.http_status == 403) {
		*msg = fluxstate__asprintf("refused by the API server (RBAC): %s", res.message ? res.message : "forbidden");
	} else {
		*msg = fluxstate__asprintf("%s", res.message ? res.message : fluxstate_strerror(rc));
	}
	free(a.resource_version);
	free(body);
	fluxstate__result_clear(&res);
	if (!*msg)
		return FLUXSTATE_ENOMEM;
	return rc;
}

static const char *
step_label(const struct fluxstate_cleanup_step *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s%s%s", s->kind, s->namespace ? s->namespace : "", s->namespace ? "/" : "", s->name);
	return buf;
}

/* Wait until a probe says none, or the deadline. Returns the last state or a code. */
static int
probe_until_none(fluxstate_ctx *ctx, int wait)
{
	uint64_t deadline = fluxstate__now_ms() + ctx->timeout_ms;
	fluxstate_report *r = NULL;
	int rc, state;

	for (;;) {
		uint64_t now;

		rc = fluxstate_ctx_probe(ctx, &r);
		if (rc < 0)
			return rc;
		state = r->state;
		now = fluxstate__now_ms();
		if (state == FLUXSTATE_INSTALL_NONE || !wait) {
			fluxstate_report_free(r);
			return state;
		}
		if (now >= deadline) {
			rc = fluxstate__error(ctx, FLUXSTATE_ETIMEDOUT,
					      "every step was carried out, but the state is still %s: %s",
					      fluxstate_state_to_string(state), r->summary);
			fluxstate_report_free(r);
			return rc;
		}
		/* a namespace or CRD finishes terminating on the server's schedule: watch, then look again */
		rc = fluxstate_ctx_wait_for_change(ctx, r, (unsigned int)(deadline - now < 2000 ? deadline - now : 2000));
		fluxstate_report_free(r);
		r = NULL;
		if (rc < 0 && rc != FLUXSTATE_ETIMEDOUT && rc != FLUXSTATE_EINVAL)
			return rc;
		if (rc == FLUXSTATE_EINVAL) {
			/* nothing to watch (every read failed): look again in a second, not in a hot loop */
			struct timespec ts = { 1, 0 };

			nanosleep(&ts, NULL);
		}
	}
}

FLUXSTATE_EXPORT int
fluxstate_ctx_apply_cleanup(fluxstate_ctx *ctx, const fluxstate_cleanup_plan *plan, unsigned int flags,
			    fluxstate_cleanup_progress_fn progress_fn, void *userdata)
{
	struct fluxstate__client *client;
	char **rvs = NULL;
	size_t i, j, n_failed = 0;
	int rc = 0, first = 0, pass;
	char label[512];

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (!plan)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: plan is NULL");
	if (flags & ~(unsigned int)(FLUXSTATE_CLEANUP_DRY_RUN | FLUXSTATE_CLEANUP_WAIT))
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: unknown apply flags 0x%x", flags);
	if (!ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"no kubeconfig loaded: call fluxstate_ctx_load_kubeconfig() first");
	rc = fluxstate__ctx_client(ctx, &client);
	if (rc < 0)
		return rc;
	rvs = calloc(plan->n_steps + 1, sizeof(*rvs));
	if (!rvs)
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	for (i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].resource_version && !(rvs[i] = fluxstate__strdup(plan->steps[i].resource_version))) {
			rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
			goto out;
		}

	for (pass = 0; pass < 2; pass++) {
		int dry = pass == 0;

		if (!dry && (flags & FLUXSTATE_CLEANUP_DRY_RUN))
			break;
		for (i = 0; i < plan->n_steps; i++) {
			const struct fluxstate_cleanup_step *s = &plan->steps[i];
			char *msg = NULL;
			int r = run_step(ctx, client, s, dry, &rvs[i], &msg);

			if (r == FLUXSTATE_ENOMEM || r == FLUXSTATE_EINVAL) {
				free(msg);
				rc = fluxstate__error(ctx, r, "%s while cleaning up %s", fluxstate_strerror(r),
						      step_label(s, label, sizeof(label)));
				goto out;
			}
			if (progress_fn)
				progress_fn(s, i, dry, r, msg, userdata);
			if (r < 0 && !n_failed++) {
				first = r;
				fluxstate__error(ctx, r, "%s step %zu of %zu (%s %s): %s", dry ? "server-side dry run:" : "stopped at",
						 i + 1, plan->n_steps, s->verb, step_label(s, label, sizeof(label)), msg);
			}
			/* the finalizer patch gave the object a new resourceVersion: its later delete guards with that */
			if (!dry && r == 0 && strcmp(s->verb, "remove-finalizers") == 0)
				for (j = i + 1; j < plan->n_steps; j++)
					if (strcmp(plan->steps[j].verb, "delete") == 0 &&
					    s->uid && fluxstate__streq(plan->steps[j].uid, s->uid) && rvs[i]) {
						char *copy = fluxstate__strdup(rvs[i]);

						if (!copy) {
							free(msg);
							rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
							goto out;
						}
						free(rvs[j]);
						rvs[j] = copy;
					}
			free(msg);
			/* for real, stop at the first failure: the order matters (no CRD before its finalizers) */
			if (r < 0 && !dry)
				break;
		}
		if (n_failed) {
			/* the dry run reports every refusal at once, and nothing was changed */
			if (dry && n_failed > 1) {
				char keep[sizeof(ctx->error)];

				memcpy(keep, ctx->error, sizeof(keep));
				keep[sizeof(keep) - 1] = '\0';
				fluxstate__error(ctx, first, "%s (and %zu more steps failed; nothing was changed)", keep,
						 n_failed - 1);
			}
			rc = first;
			goto out;
		}
	}
	if (flags & FLUXSTATE_CLEANUP_DRY_RUN)
		rc = plan->state;
	else
		rc = probe_until_none(ctx, !!(flags & FLUXSTATE_CLEANUP_WAIT));
out:
	for (i = 0; i < plan->n_steps; i++)
		free(rvs[i]);
	free(rvs);
	return rc;
}
