/*
 * The reads of one detection and the facts recorded from them, in rounds of
 * concurrent requests. Round 1 is cluster-wide (version, CRDs, namespaces,
 * Flux-labelled objects everywhere) and decides the Flux namespace; round 2
 * reads that namespace and the custom resources whose presence can change
 * the answer. Round 1 also sends, speculatively, round 2's reads of the
 * likely namespace (the option, else $FLUX_SYSTEM_NAMESPACE, else
 * flux-system: its Deployments, Secrets, ConfigMaps and bootstrap
 * Kustomization). A round-2 read that one of them already made with the same
 * parameters takes its answer and is not sent, so a healthy install there and
 * a cluster without Flux need one round; the others are dropped unseen (no
 * facts, blind spots or watches). A failed read becomes a blind spot, never
 * an empty list.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "detect.h"

#define SEL_PART_OF "app.kubernetes.io/part-of=flux"
#define SEL_OPERATOR "app.kubernetes.io/name=flux-operator"
/*
 * Metadata-only items are small (~0.3 KB): 100k custom resources in 20
 * pages, not 200, so round trips do not dominate a large cluster. Items are
 * streamed one at a time, so the page size does not change memory; a server
 * that caps pages still answers with a continue token.
 */
#define METADATA_PAGE_SIZE 5000u
#define KUSTOMIZATIONS "kustomizations.kustomize.toolkit.fluxcd.io"
/*
 * The version round 2 lists Kustomizations with (crd_list_version(): the
 * storage version) on every Flux 2.x release: v1 (tests/fluxgen/crd-versions.tsv).
 * Round 1 reads the bootstrap Kustomization at it speculatively.
 */
#define SPEC_SYNC_VERSION "v1"

/* ---- JSON -> facts ---- */

static char *
dup_str(const struct fluxstate__json *node, int *oom)
{
	const char *s = fluxstate__json_str(node);
	char *d;

	if (!s)
		return NULL;
	d = fluxstate__strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

static long long
get_int(const struct fluxstate__json *node, long long dflt)
{
	long long v;

	return fluxstate__json_int(node, &v) == 0 ? v : dflt;
}

static int
parse_meta(const struct fluxstate__json *item, struct fluxstate__meta *m)
{
	const struct fluxstate__json *md = fluxstate__json_get(item, "metadata"), *n;
	int oom = 0;

	m->name = dup_str(fluxstate__json_get(md, "name"), &oom);
	m->namespace = dup_str(fluxstate__json_get(md, "namespace"), &oom);
	m->deletion_timestamp = dup_str(fluxstate__json_get(md, "deletionTimestamp"), &oom);
	m->uid = dup_str(fluxstate__json_get(md, "uid"), &oom);
	m->resource_version = dup_str(fluxstate__json_get(md, "resourceVersion"), &oom);
	m->generation = get_int(fluxstate__json_get(md, "generation"), 0);
	n = fluxstate__json_get(md, "labels");
	if (n && n->type == FLUXSTATE__JSON_OBJECT)
		for (n = n->first; n; n = n->next)
			if (n->key && fluxstate__json_str(n) &&
			    fluxstate__meta_set_label(m, n->key, fluxstate__json_str(n)) < 0)
				oom = 1;
	n = fluxstate__json_get(md, "finalizers");
	if (n && n->type == FLUXSTATE__JSON_ARRAY)
		for (n = n->first; n; n = n->next)
			if (fluxstate__json_str(n) && fluxstate__meta_add_finalizer(m, fluxstate__json_str(n)) < 0)
				oom = 1;
	if (!m->name)
		m->name = fluxstate__strdup("");
	return oom || !m->name ? FLUXSTATE_ENOMEM : 0;
}

/* Condition @type of status.conditions, or NULL. */
static const struct fluxstate__json *
condition(const struct fluxstate__json *item, const char *type)
{
	const struct fluxstate__json *c = fluxstate__json_path(item, "status", "conditions", NULL);

	if (!c || c->type != FLUXSTATE__JSON_ARRAY)
		return NULL;
	for (c = c->first; c; c = c->next)
		if (fluxstate__streq(fluxstate__json_str(fluxstate__json_get(c, "type")), type))
			return c;
	return NULL;
}

static int
is_flux_labelled_json(const struct fluxstate__json *item)
{
	return fluxstate__streq(fluxstate__json_str(fluxstate__json_path(item, "metadata", "labels",
									 FLUXSTATE__LABEL_PART_OF, NULL)),
				"flux");
}

/* ---- one detection ---- */

struct observe;

/* One queued read and what its items become. */
struct read {
	struct observe *o;
	struct fluxstate__observations *obs; /* where its items go: o->obs, or o->spec while speculative */
	struct fluxstate__query q;
	struct fluxstate__result res;
	const char *kind;               /* for blind spots */
	const char *api_version;
	unsigned int sight;
	int (*item)(struct read *rd, const struct fluxstate__json *item);
	const struct fluxstate__crd_info *crd;  /* custom-resource reads */
	char *cr_api_version;
	char *field_selector;
	int watch;                      /* record as a wait_for_change target */
	int replayed;                   /* its list restarted and earlier items were dropped */
	const char *incomplete;         /* answered, but without what it was read for: why */
	int speculative;                /* round 1's guess at a round-2 read */
	int taken;                      /* speculative: a round-2 read took its answer */
	int answered;                   /* round 2: a speculative read answered it; not sent */
};

struct observe {
	fluxstate_ctx *ctx;
	struct fluxstate__observations *obs;
	/* what the speculative reads saw: moved into obs only when round 2 would make the same read */
	struct fluxstate__observations spec;
	const char *env;                /* a valid $FLUX_SYSTEM_NAMESPACE, or NULL */
	struct read reads[64];
	size_t n_reads;
	int oom;
};

/* 1 + the read's index: what meta.read_id holds for the elements it added. */
static unsigned int
read_id(const struct read *rd)
{
	return (unsigned int)(rd - rd->o->reads) + 1;
}

#define TAG_NEW(v, n, from, id) do {						\
	size_t i_;								\
	for (i_ = (from); i_ < (n); i_++)					\
		(v)[i_].meta.read_id = (id);					\
} while (0)

static int
item_cb(const struct fluxstate__json *item, void *userdata)
{
	struct read *rd = userdata;
	struct fluxstate__observations *obs = rd->obs;
	size_t crds = obs->n_crds, deployments = obs->n_deployments, namespaces = obs->n_namespaces;
	size_t objects = obs->n_objects, crs = obs->n_crs, flux_v1 = obs->n_flux_v1;
	int rc;

	if (rd->res.restarted && !rd->replayed) {
		/* a 410 restart replays the list from its first item: never count one object twice */
		fluxstate__obs_forget_read(obs, read_id(rd));
		rd->replayed = 1;
		crds = obs->n_crds;
		deployments = obs->n_deployments;
		namespaces = obs->n_namespaces;
		objects = obs->n_objects;
		crs = obs->n_crs;
		flux_v1 = obs->n_flux_v1;
	}
	rc = rd->item(rd, item);
	/* tag even after a failure: a half-filled element is still freed by its read's forget */
	TAG_NEW(obs->crds, obs->n_crds, crds, read_id(rd));
	TAG_NEW(obs->deployments, obs->n_deployments, deployments, read_id(rd));
	TAG_NEW(obs->namespaces, obs->n_namespaces, namespaces, read_id(rd));
	TAG_NEW(obs->objects, obs->n_objects, objects, read_id(rd));
	TAG_NEW(obs->crs, obs->n_crs, crs, read_id(rd));
	TAG_NEW(obs->flux_v1, obs->n_flux_v1, flux_v1, read_id(rd));
	if (rc < 0) {
		rd->o->oom = 1;
		return 1;
	}
	return 0;
}

static int
on_version(struct read *rd, const struct fluxstate__json *doc)
{
	int oom = 0, major, minor, patch;

	free(rd->obs->server_version);
	rd->obs->server_version = dup_str(fluxstate__json_get(doc, "gitVersion"), &oom);
	if (oom)
		return -1;
	/* a 200 without a usable version hides the server check as much as a 403 does */
	if (!rd->obs->server_version)
		rd->incomplete = "the answer has no gitVersion";
	else if (fluxstate__parse_semver(rd->obs->server_version, &major, &minor, &patch) < 0)
		rd->incomplete = "the answer's gitVersion is not a version";
	return 0;
}

/* Flux v1 (helm-operator, fluxd): recorded apart, so it is never taken for Flux v2 evidence. */
static int
add_flux_v1(struct read *rd, const struct fluxstate__json *item, const char *kind, const char *api_version)
{
	struct fluxstate__observations *obs = rd->obs;
	const char *name = fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL));
	const char *ns = fluxstate__json_str(fluxstate__json_path(item, "metadata", "namespace", NULL));
	struct fluxstate__obs_object *o;
	size_t i;

	for (i = 0; i < obs->n_flux_v1; i++)
		if (fluxstate__streq(obs->flux_v1[i].kind, kind) && fluxstate__streq(obs->flux_v1[i].meta.name, name) &&
		    fluxstate__streq(obs->flux_v1[i].meta.namespace, ns))
			return 0;
	o = fluxstate__obs_add_flux_v1(obs);
	if (!o || parse_meta(item, &o->meta) < 0)
		return -1;
	o->kind = fluxstate__strdup(kind);
	o->api_version = fluxstate__strdup(api_version);
	return o->kind && o->api_version ? 0 : -1;
}

static int
on_crd(struct read *rd, const struct fluxstate__json *item)
{
	const struct fluxstate__json *spec = fluxstate__json_get(item, "spec"), *v, *cond;
	const char *name = fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL));
	const char *group = fluxstate__json_str(fluxstate__json_get(spec, "group"));
	struct fluxstate__obs_crd *c;
	int oom = 0;

	if (fluxstate__is_flux_v1_group(group))
		return add_flux_v1(rd, item, "CustomResourceDefinition", "apiextensions.k8s.io/v1");
	if (!is_flux_labelled_json(item) && !fluxstate__is_flux_group(group) && !fluxstate__crd_lookup(name))
		return 0;
	c = fluxstate__obs_add_crd(rd->obs);
	if (!c || parse_meta(item, &c->meta) < 0)
		return -1;
	c->group = dup_str(fluxstate__json_get(spec, "group"), &oom);
	c->kind = dup_str(fluxstate__json_path(spec, "names", "kind", NULL), &oom);
	c->plural = dup_str(fluxstate__json_path(spec, "names", "plural", NULL), &oom);
	v = fluxstate__json_get(spec, "versions");
	if (v && v->type == FLUXSTATE__JSON_ARRAY) {
		for (v = v->first; v; v = v->next) {
			const char *vn = fluxstate__json_str(fluxstate__json_get(v, "name"));
			const struct fluxstate__json *served = fluxstate__json_get(v, "served");
			const struct fluxstate__json *storage = fluxstate__json_get(v, "storage");

			if (!vn)
				continue;
			if (served && served->type == FLUXSTATE__JSON_BOOL && served->boolean &&
			    fluxstate__strv_add(&c->served, &c->n_served, vn) < 0)
				return -1;
			if (storage && storage->type == FLUXSTATE__JSON_BOOL && storage->boolean && !c->storage_version)
				c->storage_version = dup_str(fluxstate__json_get(v, "name"), &oom);
		}
	}
	v = fluxstate__json_path(item, "status", "storedVersions", NULL);
	if (v && v->type == FLUXSTATE__JSON_ARRAY)
		for (v = v->first; v; v = v->next)
			if (fluxstate__json_str(v) && fluxstate__strv_add(&c->stored_versions, &c->n_stored,
									  fluxstate__json_str(v)) < 0)
				return -1;
	cond = condition(item, "Established");
	c->established = fluxstate__streq(fluxstate__json_str(fluxstate__json_get(cond, "status")), "True");
	cond = condition(item, "Terminating");
	if (fluxstate__streq(fluxstate__json_str(fluxstate__json_get(cond, "status")), "True")) {
		c->terminating = 1;
		c->terminating_reason = dup_str(fluxstate__json_get(cond, "reason"), &oom);
		c->terminating_message = dup_str(fluxstate__json_get(cond, "message"), &oom);
	}
	return oom ? -1 : 0;
}

static int
on_namespace(struct read *rd, const struct fluxstate__json *item)
{
	struct fluxstate__obs_namespace *n = fluxstate__obs_add_namespace(rd->obs);
	const struct fluxstate__json *cond;
	int oom = 0;

	if (!n || parse_meta(item, &n->meta) < 0)
		return -1;
	n->phase = dup_str(fluxstate__json_path(item, "status", "phase", NULL), &oom);
	cond = condition(item, "NamespaceFinalizersRemaining");
	if (!fluxstate__streq(fluxstate__json_str(fluxstate__json_get(cond, "status")), "True"))
		cond = condition(item, "NamespaceContentRemaining");
	if (fluxstate__streq(fluxstate__json_str(fluxstate__json_get(cond, "status")), "True"))
		n->remaining = dup_str(fluxstate__json_get(cond, "message"), &oom);
	return oom ? -1 : 0;
}

static int
on_deployment(struct read *rd, const struct fluxstate__json *item)
{
	struct fluxstate__observations *obs = rd->obs;
	const char *name = fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL));
	const char *ns = fluxstate__json_str(fluxstate__json_path(item, "metadata", "namespace", NULL));
	const struct fluxstate__json *status = fluxstate__json_get(item, "status"), *c, *cond;
	struct fluxstate__obs_deployment *d;
	size_t i;
	int oom = 0;

	c = fluxstate__json_path(item, "spec", "template", "spec", "containers", NULL);
	if (!is_flux_labelled_json(item) &&
	    fluxstate__is_flux_v1_deployment(name, c && c->type == FLUXSTATE__JSON_ARRAY ?
					     fluxstate__json_str(fluxstate__json_get(c->first, "image")) : NULL))
		return add_flux_v1(rd, item, "Deployment", "apps/v1");
	/* the same Deployment comes from several reads */
	for (i = 0; i < obs->n_deployments; i++)
		if (fluxstate__streq(obs->deployments[i].meta.name, name) &&
		    fluxstate__streq(obs->deployments[i].meta.namespace, ns))
			return 0;
	/* a namespace read returns everything: keep Flux controllers and the operator */
	if (!is_flux_labelled_json(item) && !fluxstate__controller_lookup(name) &&
	    !fluxstate__streq(name, "flux-operator") &&
	    !fluxstate__streq(fluxstate__json_str(fluxstate__json_path(item, "metadata", "labels",
									FLUXSTATE__LABEL_NAME, NULL)), "flux-operator"))
		return 0;
	d = fluxstate__obs_add_deployment(obs);
	if (!d || parse_meta(item, &d->meta) < 0)
		return -1;
	d->replicas = get_int(fluxstate__json_path(item, "spec", "replicas", NULL), 1);
	d->has_status = status && status->type == FLUXSTATE__JSON_OBJECT;
	d->observed_generation = get_int(fluxstate__json_get(status, "observedGeneration"), 0);
	d->status_replicas = get_int(fluxstate__json_get(status, "replicas"), 0);
	d->updated_replicas = get_int(fluxstate__json_get(status, "updatedReplicas"), 0);
	d->ready_replicas = get_int(fluxstate__json_get(status, "readyReplicas"), 0);
	d->available_replicas = get_int(fluxstate__json_get(status, "availableReplicas"), 0);
	d->unavailable_replicas = get_int(fluxstate__json_get(status, "unavailableReplicas"), 0);
	cond = condition(item, "Available");
	d->available_status = dup_str(fluxstate__json_get(cond, "status"), &oom);
	d->available_message = dup_str(fluxstate__json_get(cond, "message"), &oom);
	cond = condition(item, "Progressing");
	d->progressing_status = dup_str(fluxstate__json_get(cond, "status"), &oom);
	d->progressing_reason = dup_str(fluxstate__json_get(cond, "reason"), &oom);
	d->progressing_message = dup_str(fluxstate__json_get(cond, "message"), &oom);
	c = fluxstate__json_path(item, "spec", "template", "spec", "containers", NULL);
	if (c && c->type == FLUXSTATE__JSON_ARRAY)
		for (c = c->first; c; c = c->next)
			if (fluxstate__json_str(fluxstate__json_get(c, "image")) &&
			    fluxstate__strv_add(&d->images, &d->n_images,
						fluxstate__json_str(fluxstate__json_get(c, "image"))) < 0)
				return -1;
	return oom ? -1 : 0;
}

/* ClusterRoles, ServiceAccounts, Secrets, …: kept whole, filtered later. */
static int
on_object(struct read *rd, const struct fluxstate__json *item)
{
	struct fluxstate__obs_object *o = fluxstate__obs_add_object(rd->obs);

	if (!o || parse_meta(item, &o->meta) < 0)
		return -1;
	o->kind = fluxstate__strdup(rd->kind);
	o->api_version = fluxstate__strdup(rd->api_version);
	return o->kind && o->api_version ? 0 : -1;
}

/* Counted always; kept only when the report may name it (fluxstate__obs_count_cr). */
static int
on_cr(struct read *rd, const struct fluxstate__json *item)
{
	struct fluxstate__obs_cr c;
	const struct fluxstate__json *cond;
	int oom = 0;

	memset(&c, 0, sizeof(c));
	if (parse_meta(item, &c.meta) < 0)
		goto oom;
	c.info = rd->crd;
	c.kind = fluxstate__strdup(rd->crd->kind);
	c.api_version = fluxstate__strdup(rd->cr_api_version);
	if (!c.kind || !c.api_version)
		goto oom;
	cond = condition(item, "Ready");
	c.ready_status = dup_str(fluxstate__json_get(cond, "status"), &oom);
	c.ready_reason = dup_str(fluxstate__json_get(cond, "reason"), &oom);
	c.ready_message = dup_str(fluxstate__json_get(cond, "message"), &oom);
	c.ready_observed_generation = get_int(fluxstate__json_get(cond, "observedGeneration"), 0);
	cond = condition(item, "Stalled");
	c.stalled_status = dup_str(fluxstate__json_get(cond, "status"), &oom);
	c.stalled_reason = dup_str(fluxstate__json_get(cond, "reason"), &oom);
	c.stalled_message = dup_str(fluxstate__json_get(cond, "message"), &oom);
	c.last_applied_revision = dup_str(fluxstate__json_path(item, "status", "lastAppliedRevision", NULL), &oom);
	if (oom || fluxstate__obs_count_cr(rd->obs, &c, read_id(rd)) < 0)
		goto oom;
	fluxstate__obs_cr_clear(&c);
	return 0;
oom:
	fluxstate__obs_cr_clear(&c);
	return -1;
}

static struct read *
add_read(struct observe *o, const char *group, const char *version, const char *resource, const char *ns,
	 const char *selector, int metadata_only, const char *kind, unsigned int sight,
	 int (*item)(struct read *, const struct fluxstate__json *))
{
	struct read *rd;

	if (o->n_reads == sizeof(o->reads) / sizeof(o->reads[0]))
		return NULL;
	rd = &o->reads[o->n_reads++];
	memset(rd, 0, sizeof(*rd));
	rd->o = o;
	rd->obs = o->obs;
	rd->q.group = group;
	rd->q.version = version;
	rd->q.resource = resource;
	rd->q.namespace = ns;
	rd->q.label_selector = selector;
	rd->q.metadata_only = metadata_only;
	rd->q.page_size = metadata_only ? METADATA_PAGE_SIZE : 0;
	rd->kind = kind;
	/* every page must be a <kind>List: another answer is a blind spot, never the end of the list */
	rd->q.list_kind = resource && kind && *kind ? kind : NULL;
	rd->sight = sight;
	rd->item = item;
	rd->api_version = !group || !*group ? "v1" : strcmp(group, "apps") == 0 ? "apps/v1" :
			  strcmp(group, "apiextensions.k8s.io") == 0 ? "apiextensions.k8s.io/v1" :
			  strcmp(group, "rbac.authorization.k8s.io") == 0 ? "rbac.authorization.k8s.io/v1" :
			  strcmp(group, "networking.k8s.io") == 0 ? "networking.k8s.io/v1" : NULL;
	return rd;
}

/* Keep the client's message, if it left one. */
static int
run_failed(fluxstate_ctx *ctx, int rc)
{
	char msg[sizeof(ctx->error)];

	memcpy(msg, ctx->error, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	return fluxstate__error(ctx, rc, "%s", msg[0] ? msg : fluxstate_strerror(rc));
}

/* Send the reads from @from on (not those a speculative read answered) and wait for them. */
static int
run_reads(struct observe *o, struct fluxstate__client *client, size_t from, uint64_t deadline)
{
	size_t i, n = 0;
	int rc;

	for (i = from; i < o->n_reads; i++) {
		struct read *rd = &o->reads[i];

		if (rd->answered)
			continue;
		rc = fluxstate__client_add(client, &rd->q, item_cb, rd, &rd->res);
		if (rc < 0)
			return run_failed(o->ctx, rc);
		n++;
	}
	rc = n ? fluxstate__client_run(client, deadline) : 0;
	if (rc < 0)
		return run_failed(o->ctx, rc);
	return o->oom ? fluxstate__error(o->ctx, FLUXSTATE_ENOMEM, "out of memory") : 0;
}

static int
fatal_code(int code)
{
	return code == FLUXSTATE_ENOMEM || code == FLUXSTATE_EINVAL;
}

static struct fluxstate__blind_spot *
same_blind_spot(struct fluxstate__observations *obs, const char *kind, const char *ns, const char *message)
{
	size_t i;

	for (i = 0; i < obs->n_blind; i++) {
		struct fluxstate__blind_spot *b = &obs->blind[i];

		if (fluxstate__streq(b->kind, kind) && fluxstate__streq(b->namespace, ns) &&
		    fluxstate__streq(b->message, message))
			return b;
	}
	return NULL;
}

/*
 * A probe cut short by the deadline, or whose requests all went unanswered,
 * knows nothing: say so (ETIMEDOUT/ENETWORK: "cannot complete", exit 4)
 * rather than report blind spots as if access had been denied.
 */
static int
unanswered(struct observe *o, size_t from, size_t to, size_t n_answered)
{
	const struct read *cut = NULL, *first = NULL;
	size_t i, n_cut = 0;
	int tcp = 0, tls = 0, all_timeouts = 1;

	for (i = from; i < to; i++) {
		const struct read *rd = &o->reads[i];

		if (rd->res.code == FLUXSTATE_ETIMEDOUT && !n_cut++)
			cut = rd;
		if (rd->res.code && !first)
			first = rd;
		if (rd->res.code && !rd->res.timed_out)
			all_timeouts = 0;
		tcp |= rd->res.reached >= 1;
		tls |= rd->res.reached >= 2;
	}
	if (n_answered && n_cut)
		return fluxstate__error(o->ctx, FLUXSTATE_ETIMEDOUT,
					"the %u ms deadline passed before %zu of %zu reads finished (%s %s: %s); "
					"a partial view decides nothing: allow more time",
					o->ctx->timeout_ms, n_cut, to - from, cut->q.resource ? "list" : "get",
					cut->q.resource ? cut->q.resource : cut->q.raw_path,
					cut->res.message ? cut->res.message : "timed out");
	if (n_answered || !first)
		return 0;
	/* no HTTP answer at all */
	if (tcp && !tls && all_timeouts)
		return fluxstate__error(o->ctx, n_cut ? FLUXSTATE_ETIMEDOUT : FLUXSTATE_ENETWORK,
					"no request got an answer%s: the server accepted TCP connections but the TLS "
					"handshake never completed (is this the API server's address and port?): %s",
					n_cut ? " before the deadline" : "", first->res.message ? first->res.message : "");
	if (n_cut)
		return fluxstate__error(o->ctx, FLUXSTATE_ETIMEDOUT,
					"no request got an answer before the %u ms deadline%s: %s", o->ctx->timeout_ms,
					tls ? " (the API server accepted connections)" : "",
					cut->res.message ? cut->res.message : "timed out");
	return 0; /* the caller: every read failed, "cannot reach" or "reached, but" */
}

/*
 * Turn failed reads [@from, @to) into blind spots. Whole-probe failures are
 * returned instead: 401 or unobtainable credentials anywhere, the deadline
 * cutting reads off, no request answered, or every read failing the same way.
 */
static int
collect(struct observe *o, size_t from, size_t to, int *ret_all_failed_code)
{
	struct fluxstate__observations *obs = o->obs;
	size_t i, n_failed = 0, n_answered = 0;
	int common = 0, code;

	for (i = from; i < to; i++) {
		struct read *rd = &o->reads[i];
		struct fluxstate__blind_spot *b;
		const char *what = rd->q.resource ? "list" : "get";
		const char *target = rd->q.resource ? rd->q.resource : rd->q.raw_path;
		const char *in = rd->q.namespace ? " in namespace " : "";
		const char *ns = rd->q.namespace ? rd->q.namespace : "";
		char *message;

		obs->n_requests += rd->res.n_requests;
		n_answered += rd->res.http_status != 0;
		if (fatal_code(rd->res.code))
			return fluxstate__error(o->ctx, rd->res.code, "%s while reading %s",
						fluxstate_strerror(rd->res.code), target);
		if (rd->res.code == 0 && !rd->res.not_found && !rd->incomplete)
			continue;
		if (rd->res.http_status == 401)
			return fluxstate__error(o->ctx, FLUXSTATE_EAUTH, "the API server rejected the credentials: %s",
						rd->res.message ? rd->res.message : "401 Unauthorized");
		if (rd->res.code == FLUXSTATE_EAUTH && rd->res.http_status != 403)
			/* nothing was sent: the token file or exec plugin gave no usable credentials */
			return fluxstate__error(o->ctx, FLUXSTATE_EAUTH, "cannot get credentials: %s",
						rd->res.message ? rd->res.message : "no usable credentials");
		/*
		 * The client reports a 404 as "not found", not as an error. A list
		 * never answers 404 for a namespace that does not exist (that is an
		 * empty list), so here it means the server does not serve the
		 * resource at all: nothing was seen, which is not "there is none".
		 */
		code = rd->res.code ? rd->res.code : FLUXSTATE_EPROTOCOL;
		n_failed++;
		common = n_failed == 1 ? code : (common == code ? common : FLUXSTATE_ERROR);
		if (rd->res.code == 0 && rd->res.not_found)
			message = fluxstate__asprintf("%s %s%s%s: the server does not serve it (HTTP 404%s%s)", what, target,
						      in, ns, rd->res.message ? ": " : "",
						      rd->res.message ? rd->res.message : "");
		else if (rd->res.code == 0)
			message = fluxstate__asprintf("%s %s%s%s: %s", what, target, in, ns, rd->incomplete);
		else if (rd->res.message)
			message = fluxstate__asprintf("%s %s%s%s: %s", what, target, in, ns, rd->res.message);
		else
			message = fluxstate__asprintf("%s %s%s%s failed: %s (HTTP %ld)", what, target, in, ns,
						      fluxstate_strerror(rd->res.code), rd->res.http_status);
		if (!message)
			return FLUXSTATE_ENOMEM;
		b = same_blind_spot(obs, rd->kind, rd->q.namespace, message);
		if (b) {
			/* two reads of one list (by label and by name) hide one thing: say it once */
			b->sight |= rd->sight;
			free(message);
			continue;
		}
		b = fluxstate__obs_add_blind(obs);
		if (!b) {
			free(message);
			return FLUXSTATE_ENOMEM;
		}
		b->message = message;
		b->kind = fluxstate__strdup(rd->kind);
		b->api_version = fluxstate__strdup(rd->crd ? rd->cr_api_version : rd->api_version ? rd->api_version : "");
		b->namespace = fluxstate__strdup(rd->q.namespace);
		b->http_status = rd->res.http_status;
		b->sight = rd->sight;
		if (!b->kind || !b->api_version || (rd->q.namespace && !b->namespace))
			return FLUXSTATE_ENOMEM;
	}
	code = unanswered(o, from, to, n_answered);
	if (code < 0)
		return code;
	if (n_failed && n_failed == to - from && !n_answered)
		*ret_all_failed_code = FLUXSTATE_ENETWORK; /* never connected */
	else
		*ret_all_failed_code = (n_failed && n_failed == to - from &&
					(common == FLUXSTATE_ENETWORK || common == FLUXSTATE_ETIMEDOUT ||
					 common == FLUXSTATE_EPROTOCOL)) ? common : 0;
	return 0;
}

static int
add_watch(struct observe *o, struct read *rd)
{
	struct fluxstate__watch_target *w;

	if (!rd->watch || rd->res.code != 0 || !rd->res.resource_version)
		return 0;
	w = fluxstate__obs_add_watch(o->obs);
	if (!w)
		return FLUXSTATE_ENOMEM;
	w->group = fluxstate__strdup(rd->q.group);
	w->version = fluxstate__strdup(rd->q.version);
	w->resource = fluxstate__strdup(rd->q.resource);
	w->namespace = fluxstate__strdup(rd->q.namespace);
	w->label_selector = fluxstate__strdup(rd->q.label_selector);
	w->resource_version = fluxstate__strdup(rd->res.resource_version);
	if ((rd->q.group && !w->group) || !w->version || !w->resource || (rd->q.namespace && !w->namespace) ||
	    (rd->q.label_selector && !w->label_selector) || !w->resource_version)
		return FLUXSTATE_ENOMEM;
	return 0;
}

/*
 * option > controllers' namespace > operator's > Flux-labelled namespace >
 * an existing namespace the CRDs name as their instance > $FLUX_SYSTEM_NAMESPACE > default
 */
static int
choose_namespace(struct observe *o)
{
	struct fluxstate__observations *obs = o->obs;
	const char *env = o->env;
	const char *best = NULL;
	size_t i, j, best_n = 0;

	if (o->ctx->flux_namespace) {
		obs->namespace = fluxstate__strdup(o->ctx->flux_namespace);
		obs->namespace_source = FLUXSTATE__NS_OPTION;
		return obs->namespace ? 0 : FLUXSTATE_ENOMEM;
	}
	for (i = 0; i < obs->n_deployments; i++) {
		const struct fluxstate__meta *m = &obs->deployments[i].meta;
		size_t n = 0;

		if (!fluxstate__streq(fluxstate__meta_label(m, FLUXSTATE__LABEL_PART_OF), "flux"))
			continue;
		for (j = 0; j < obs->n_deployments; j++)
			n += fluxstate__streq(obs->deployments[j].meta.namespace, m->namespace) &&
			     fluxstate__streq(fluxstate__meta_label(&obs->deployments[j].meta,
								     FLUXSTATE__LABEL_PART_OF), "flux");
		/* ties: $FLUX_SYSTEM_NAMESPACE, then flux-system, then the first seen */
		if (fluxstate__streq(m->namespace, env))
			n += 1000;
		else if (fluxstate__streq(m->namespace, FLUXSTATE_DEFAULT_FLUX_NAMESPACE))
			n += 500;
		if (n > best_n) {
			best_n = n;
			best = m->namespace;
		}
	}
	for (i = 0; !best && i < obs->n_deployments; i++)
		if (fluxstate__streq(obs->deployments[i].meta.name, "flux-operator") ||
		    fluxstate__streq(fluxstate__meta_label(&obs->deployments[i].meta, FLUXSTATE__LABEL_NAME),
				     "flux-operator"))
			best = obs->deployments[i].meta.namespace;
	for (i = 0; !best && i < obs->n_namespaces; i++)
		if (fluxstate__streq(fluxstate__meta_label(&obs->namespaces[i].meta, FLUXSTATE__LABEL_PART_OF), "flux") &&
		    (!best || fluxstate__streq(obs->namespaces[i].meta.name, env) ||
		     fluxstate__streq(obs->namespaces[i].meta.name, FLUXSTATE_DEFAULT_FLUX_NAMESPACE)))
			best = obs->namespaces[i].meta.name;
	/*
	 * No labelled controller anywhere: Flux's CRDs name their install's
	 * namespace (app.kubernetes.io/instance, docs/states.md). Reading
	 * that namespace finds controllers that lost their part-of label
	 * there, which a residual answer would otherwise miss.
	 */
	for (i = 0; !best && i < obs->n_crds; i++) {
		const char *instance = fluxstate__meta_label(&obs->crds[i].meta, FLUXSTATE__LABEL_INSTANCE);

		for (j = 0; instance && !best && j < obs->n_namespaces; j++)
			if (fluxstate__streq(obs->namespaces[j].meta.name, instance))
				best = obs->namespaces[j].meta.name;
	}
	if (best) {
		obs->namespace_source = FLUXSTATE__NS_DETECTED;
	} else if (env) {
		best = env;
		obs->namespace_source = FLUXSTATE__NS_ENVIRONMENT;
	} else {
		best = FLUXSTATE_DEFAULT_FLUX_NAMESPACE;
		obs->namespace_source = FLUXSTATE__NS_DEFAULT;
	}
	obs->namespace = fluxstate__strdup(best);
	return obs->namespace ? 0 : FLUXSTATE_ENOMEM;
}

/* $FLUX_SYSTEM_NAMESPACE when flux would use it. */
static const char *
flux_env(fluxstate_ctx *ctx)
{
	const char *env = getenv("FLUX_SYSTEM_NAMESPACE");

	if (env && *env && !fluxstate__is_dns_label(env))
		/* flux ignores an invalid value (with a warning: the CLI prints it) */
		fluxstate__log(ctx, "ignoring $FLUX_SYSTEM_NAMESPACE \"%s\": not a valid namespace name", env);
	return env && *env && fluxstate__is_dns_label(env) ? env : NULL;
}

/* What choose_namespace() picks when round 1 shows no Flux anywhere. */
static const char *
likely_namespace(const struct observe *o)
{
	return o->ctx->flux_namespace ? o->ctx->flux_namespace : o->env ? o->env : FLUXSTATE_DEFAULT_FLUX_NAMESPACE;
}

/* Keep only the objects that are Flux's: labelled, known names, Helm releases of Flux charts. */
static void
filter_objects(struct fluxstate__observations *obs)
{
	size_t i, keep = 0;

	for (i = 0; i < obs->n_objects; i++) {
		struct fluxstate__obs_object *x = &obs->objects[i];
		int labelled = fluxstate__streq(fluxstate__meta_label(&x->meta, FLUXSTATE__LABEL_PART_OF), "flux");
		int ok;

		if (strcmp(x->kind, "ClusterRole") == 0 || strcmp(x->kind, "ClusterRoleBinding") == 0)
			ok = labelled || fluxstate__is_flux_rbac_name(x->kind, x->meta.name, obs->namespace, NULL);
		else if (strcmp(x->kind, "Secret") == 0 || strcmp(x->kind, "ConfigMap") == 0)
			ok = fluxstate__streq(x->meta.namespace, obs->namespace);
		else
			ok = labelled;
		if (ok) {
			obs->objects[keep++] = *x;
		} else {
			fluxstate__meta_clear(&x->meta);
			free(x->kind);
			free(x->api_version);
		}
	}
	obs->n_objects = keep;
}

/*
 * Reads finish in any order and several feed the same arrays: sort them so
 * two probes of an unchanged cluster give the same report, in the same order.
 */
static int
cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
cmp_meta(const struct fluxstate__meta *a, const struct fluxstate__meta *b)
{
	int r = cmp_str(a->namespace, b->namespace);

	return r ? r : cmp_str(a->name, b->name);
}

static int
cmp_crd(const void *a, const void *b)
{
	return cmp_meta(&((const struct fluxstate__obs_crd *)a)->meta, &((const struct fluxstate__obs_crd *)b)->meta);
}

static int
cmp_deployment(const void *a, const void *b)
{
	return cmp_meta(&((const struct fluxstate__obs_deployment *)a)->meta,
			&((const struct fluxstate__obs_deployment *)b)->meta);
}

static int
cmp_namespace(const void *a, const void *b)
{
	return cmp_meta(&((const struct fluxstate__obs_namespace *)a)->meta,
			&((const struct fluxstate__obs_namespace *)b)->meta);
}

static int
cmp_object(const void *a, const void *b)
{
	const struct fluxstate__obs_object *x = a, *y = b;
	int r = cmp_str(x->kind, y->kind);

	return r ? r : cmp_meta(&x->meta, &y->meta);
}

static int
cmp_cr(const void *a, const void *b)
{
	const struct fluxstate__obs_cr *x = a, *y = b;
	int r = cmp_str(x->kind, y->kind);

	return r ? r : cmp_meta(&x->meta, &y->meta);
}

static int
cmp_blind(const void *a, const void *b)
{
	const struct fluxstate__blind_spot *x = a, *y = b;
	int r = cmp_str(x->kind, y->kind);

	if (!r)
		r = cmp_str(x->namespace, y->namespace);
	return r ? r : cmp_str(x->message, y->message);
}

#define SORT(v, n, cmp) do { if ((n) > 1) qsort((v), (n), sizeof(*(v)), (cmp)); } while (0)

static void
sort_observations(struct fluxstate__observations *obs)
{
	SORT(obs->crds, obs->n_crds, cmp_crd);
	SORT(obs->deployments, obs->n_deployments, cmp_deployment);
	SORT(obs->namespaces, obs->n_namespaces, cmp_namespace);
	SORT(obs->objects, obs->n_objects, cmp_object);
	SORT(obs->crs, obs->n_crs, cmp_cr);
	SORT(obs->flux_v1, obs->n_flux_v1, cmp_object);
	SORT(obs->blind, obs->n_blind, cmp_blind);
}

/* Pick the version to list custom resources with: storage, else the first served. */
static const char *
crd_list_version(const struct fluxstate__obs_crd *c)
{
	size_t i;

	for (i = 0; i < c->n_served; i++)
		if (fluxstate__streq(c->served[i], c->storage_version))
			return c->storage_version;
	return c->n_served ? c->served[0] : NULL;
}

/* Does a labelled controller owning this CRD already run in the namespace? Then its CRs cannot change the answer. */
static int
owner_runs(const struct fluxstate__observations *obs, const char *owner)
{
	size_t i;

	for (i = 0; i < obs->n_deployments; i++) {
		const struct fluxstate__meta *m = &obs->deployments[i].meta;
		const char *comp = fluxstate__meta_label(m, FLUXSTATE__LABEL_COMPONENT);

		if (strcmp(owner, "flux-operator") == 0)
			continue; /* FluxInstance is always read */
		if (fluxstate__streq(m->namespace, obs->namespace) &&
		    (fluxstate__streq(m->name, owner) || fluxstate__streq(comp, owner)))
			return 1;
	}
	return 0;
}

/* A Flux CRD whose objects cannot be listed at all: a blind spot without a read. */
static int
add_unlistable(struct fluxstate__observations *obs, const struct fluxstate__crd_info *info, const char *why)
{
	struct fluxstate__blind_spot *b = fluxstate__obs_add_blind(obs);

	if (!b)
		return FLUXSTATE_ENOMEM;
	b->kind = fluxstate__strdup(info->kind);
	b->api_version = fluxstate__strdup("");
	b->message = fluxstate__asprintf("list %s: CustomResourceDefinition %s %s", info->plural, info->name, why);
	b->sight = strcmp(info->kind, "FluxInstance") == 0 ? FLUXSTATE__SEE_FLUX_INSTANCE : FLUXSTATE__SEE_CRS;
	return b->kind && b->api_version && b->message ? 0 : FLUXSTATE_ENOMEM;
}

/* The Flux namespace's own reads: its Deployments (every one, labelled or not), Secrets and ConfigMaps. */
static void
add_namespace_reads(struct observe *o, const char *ns)
{
	struct read *rd = add_read(o, "apps", "v1", "deployments", ns, NULL, 0, "Deployment",
				   FLUXSTATE__SEE_CONTROLLERS, on_deployment);

	if (rd)
		rd->watch = 1;
	add_read(o, "", "v1", "secrets", ns, NULL, 1, "Secret", FLUXSTATE__SEE_SECRETS, on_object);
	add_read(o, "", "v1", "configmaps", ns, NULL, 1, "ConfigMap", FLUXSTATE__SEE_CONFIGMAPS, on_object);
}

/* The bootstrap sync object (the Kustomization named like its namespace), for the installer. */
static int
add_sync_read(struct observe *o, const struct fluxstate__crd_info *info, const char *group, const char *version,
	      const char *plural, const char *ns)
{
	struct read *rd = add_read(o, group, version, plural, ns, NULL, 1, info->kind, 0, on_cr);

	if (!rd)
		return 0;
	rd->crd = info;
	rd->field_selector = fluxstate__asprintf("metadata.name=%s", ns);
	rd->q.field_selector = rd->field_selector;
	rd->cr_api_version = fluxstate__asprintf("%s/%s", group, version);
	return rd->field_selector && rd->cr_api_version ? 0 : FLUXSTATE_ENOMEM;
}

/* Would @a send the request @b sent, and record its answer the same way? */
static int
same_read(const struct read *a, const struct read *b)
{
	const struct fluxstate__query *x = &a->q, *y = &b->q;

	return fluxstate__streq(x->raw_path, y->raw_path) && fluxstate__streq(x->group, y->group) &&
	       fluxstate__streq(x->version, y->version) && fluxstate__streq(x->resource, y->resource) &&
	       fluxstate__streq(x->namespace, y->namespace) && fluxstate__streq(x->name, y->name) &&
	       fluxstate__streq(x->label_selector, y->label_selector) &&
	       fluxstate__streq(x->field_selector, y->field_selector) && x->metadata_only == y->metadata_only &&
	       x->page_size == y->page_size && fluxstate__streq(x->list_kind, y->list_kind) &&
	       a->item == b->item && a->sight == b->sight && a->crd == b->crd && a->watch == b->watch &&
	       fluxstate__streq(a->kind, b->kind) && fluxstate__streq(a->api_version, b->api_version) &&
	       fluxstate__streq(a->cr_api_version, b->cr_api_version);
}

/*
 * A round-2 read that a speculative read already made, with the same
 * parameters, takes that read's answer and items as if it had just been
 * sent (the same facts, the same blind spot if it failed) and is not sent.
 * Speculative reads that no round-2 read takes leave no trace.
 */
static int
take_speculative(struct observe *o, size_t spec_from, size_t spec_to)
{
	size_t i, j;

	for (i = spec_to; i < o->n_reads; i++) {
		struct read *rd = &o->reads[i];

		for (j = spec_from; j < spec_to; j++) {
			struct read *sp = &o->reads[j];

			if (sp->taken || !same_read(rd, sp))
				continue;
			if (fluxstate__obs_move_read(o->obs, &o->spec, read_id(sp), read_id(rd)) < 0)
				return fluxstate__error(o->ctx, FLUXSTATE_ENOMEM, "out of memory");
			rd->res = sp->res;
			memset(&sp->res, 0, sizeof(sp->res));
			rd->incomplete = sp->incomplete;
			rd->replayed = sp->replayed;
			rd->answered = 1;
			sp->taken = 1;
			break;
		}
	}
	return 0;
}

int
fluxstate__observe(fluxstate_ctx *ctx, struct fluxstate__observations *obs)
{
	struct observe *o;
	struct fluxstate__client *client;
	const struct fluxstate__crd_info *ks = fluxstate__crd_lookup(KUSTOMIZATIONS);
	unsigned int before;
	uint64_t deadline = fluxstate__now_ms() + ctx->timeout_ms;
	size_t i, spec_from, phase2;
	int rc, all_failed = 0;
	struct read *rd;

	rc = fluxstate__ctx_client(ctx, &client);
	if (rc < 0)
		return rc;
	o = calloc(1, sizeof(*o));
	if (!o)
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	o->ctx = ctx;
	o->obs = obs;
	o->env = flux_env(ctx);
	before = fluxstate__client_n_requests(client);

	/* round 1: cluster-wide */
	rd = add_read(o, NULL, NULL, NULL, NULL, NULL, 0, "", FLUXSTATE__SEE_SERVER, on_version);
	rd->q.raw_path = "/version";
	rd = add_read(o, "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL, NULL, 0,
		      "CustomResourceDefinition", FLUXSTATE__SEE_CRDS, on_crd);
	rd->watch = 1;
	rd = add_read(o, "", "v1", "namespaces", NULL, NULL, 0, "Namespace", FLUXSTATE__SEE_NAMESPACES, on_namespace);
	rd->watch = 1;
	rd = add_read(o, "apps", "v1", "deployments", NULL, SEL_PART_OF, 0, "Deployment",
		      FLUXSTATE__SEE_CONTROLLERS, on_deployment);
	rd->watch = 1;
	rd = add_read(o, "apps", "v1", "deployments", NULL, SEL_OPERATOR, 0, "Deployment",
		      FLUXSTATE__SEE_OPERATOR, on_deployment);
	rd->watch = 1;
	add_read(o, "rbac.authorization.k8s.io", "v1", "clusterroles", NULL, NULL, 1, "ClusterRole",
		 FLUXSTATE__SEE_RBAC, on_object);
	add_read(o, "rbac.authorization.k8s.io", "v1", "clusterrolebindings", NULL, NULL, 1, "ClusterRoleBinding",
		 FLUXSTATE__SEE_RBAC, on_object);
	add_read(o, "", "v1", "serviceaccounts", NULL, SEL_PART_OF, 1, "ServiceAccount",
		 FLUXSTATE__SEE_NS_OBJECTS, on_object);
	add_read(o, "", "v1", "services", NULL, SEL_PART_OF, 1, "Service", FLUXSTATE__SEE_NS_OBJECTS, on_object);
	add_read(o, "networking.k8s.io", "v1", "networkpolicies", NULL, SEL_PART_OF, 1, "NetworkPolicy",
		 FLUXSTATE__SEE_NS_OBJECTS, on_object);
	add_read(o, "", "v1", "resourcequotas", NULL, SEL_PART_OF, 1, "ResourceQuota",
		 FLUXSTATE__SEE_NS_OBJECTS, on_object);
	/*
	 * ... and, speculatively, what round 2 reads when Flux is healthy in
	 * the likely namespace or absent: that namespace and its bootstrap
	 * Kustomization. Their items wait in o->spec until round 2 takes them.
	 */
	spec_from = o->n_reads;
	o->spec.namespace = fluxstate__strdup(likely_namespace(o));
	o->spec.list_all_crs = obs->list_all_crs;
	if (!o->spec.namespace) {
		rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		goto out;
	}
	add_namespace_reads(o, o->spec.namespace);
	/* a cleanup plan lists every Kustomization: the sync object alone is never its read */
	if (ks && !obs->list_all_crs &&
	    add_sync_read(o, ks, ks->group, SPEC_SYNC_VERSION, ks->plural, o->spec.namespace) < 0) {
		rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = spec_from; i < o->n_reads; i++) {
		o->reads[i].speculative = 1;
		o->reads[i].obs = &o->spec;
	}

	rc = run_reads(o, client, 0, deadline);
	if (rc < 0)
		goto out;
	rc = collect(o, 0, spec_from, &all_failed);
	if (rc < 0)
		goto out;
	if (all_failed) {
		const struct fluxstate__result *res = &o->reads[1].res;

		if (res->code == 0 && res->not_found)
			rc = fluxstate__error(ctx, all_failed, "%s: every request was answered 404 Not Found; "
					      "this address does not serve the Kubernetes API", fluxstate_strerror(all_failed));
		else if (res->code == 0 && o->reads[1].incomplete)
			rc = fluxstate__error(ctx, all_failed, "%s: %s", fluxstate_strerror(all_failed),
					      o->reads[1].incomplete);
		else if (all_failed == FLUXSTATE_ENETWORK && (res->reached >= 2 || res->http_status))
			rc = fluxstate__error(ctx, all_failed, "the API server was reached, but every request failed: %s",
					      res->message ? res->message : "no request succeeded");
		else if (all_failed == FLUXSTATE_ENETWORK)
			rc = fluxstate__error(ctx, all_failed, "%s: %s", fluxstate_strerror(all_failed),
					      res->message ? res->message : "no request succeeded");
		else /* the message says what was wrong with the answers: no "malformed reply: malformed JSON" */
			rc = fluxstate__error(ctx, all_failed, "no request got a usable answer: %s",
					      res->message ? res->message : fluxstate_strerror(all_failed));
		goto out;
	}
	rc = choose_namespace(o);
	if (rc < 0)
		goto out;

	/* round 2: the Flux namespace, and custom resources that can change the answer */
	phase2 = o->n_reads;
	add_namespace_reads(o, obs->namespace);
	/* Flux v1 ran in namespace flux: report it (never as Flux v2), so no cleanup touches it */
	if (!fluxstate__streq(obs->namespace, FLUXSTATE__FLUX_V1_NAMESPACE))
		for (i = 0; i < obs->n_namespaces; i++)
			if (fluxstate__streq(obs->namespaces[i].meta.name, FLUXSTATE__FLUX_V1_NAMESPACE)) {
				add_read(o, "apps", "v1", "deployments", FLUXSTATE__FLUX_V1_NAMESPACE, NULL, 0,
					 "Deployment", FLUXSTATE__SEE_FLUX_V1, on_deployment);
				break;
			}
	for (i = 0; i < obs->n_crds; i++) {
		const struct fluxstate__obs_crd *c = &obs->crds[i];
		const struct fluxstate__crd_info *info = fluxstate__crd_lookup(c->meta.name);
		const char *version = crd_list_version(c);
		int full;

		if (!info)
			continue;
		if (!version || !c->group || !c->plural) {
			/* its objects cannot be listed: unseen, not absent (a running owner makes them moot) */
			if ((!owner_runs(obs, info->owner) || obs->list_all_crs) &&
			    add_unlistable(obs, info, c->n_served ? "is malformed (no group or plural)"
								  : "serves no version") < 0) {
				rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		if (owner_runs(obs, info->owner) && !obs->list_all_crs) {
			/* only the bootstrap sync object, for the installer */
			if (strcmp(info->kind, "Kustomization") == 0 &&
			    add_sync_read(o, info, c->group, version, c->plural, obs->namespace) < 0) {
				rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		full = strcmp(info->kind, "FluxInstance") == 0;
		rd = add_read(o, c->group, version, c->plural, NULL, NULL, !full, info->kind,
			      full ? FLUXSTATE__SEE_FLUX_INSTANCE : FLUXSTATE__SEE_CRS, on_cr);
		if (!rd)
			break;
		rd->crd = info;
		/* the FluxInstance's conditions decide partial or healthy: a wait must see them change */
		rd->watch = full;
		rd->cr_api_version = fluxstate__asprintf("%s/%s", c->group, version);
		if (!rd->cr_api_version) {
			rc = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
			goto out;
		}
	}
	rc = take_speculative(o, spec_from, phase2);
	if (rc == 0)
		rc = run_reads(o, client, phase2, deadline);
	if (rc < 0)
		goto out;
	rc = collect(o, phase2, o->n_reads, &all_failed);
	if (rc < 0)
		goto out;
	filter_objects(obs);
	sort_observations(obs);
	for (i = 0; i < o->n_reads; i++) {
		if (o->reads[i].speculative)
			continue; /* taken: its round-2 read watches; not taken: unseen */
		rc = add_watch(o, &o->reads[i]);
		if (rc < 0)
			goto out;
	}
	obs->n_requests = fluxstate__client_n_requests(client) - before;
	rc = 0;
out:
	if (rc == FLUXSTATE_ENOMEM && !ctx->error[0])
		fluxstate__error(ctx, rc, "out of memory");
	for (i = 0; i < o->n_reads; i++) {
		free(o->reads[i].cr_api_version);
		free(o->reads[i].field_selector);
		fluxstate__result_clear(&o->reads[i].res);
	}
	fluxstate__observations_clear(&o->spec);
	free(o);
	return rc;
}

