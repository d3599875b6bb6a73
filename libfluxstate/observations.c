/*
 * The observation container: the facts one detection recorded, built by
 * observe.c (or by hand in unit tests) and read by the classifier.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "detect.h"

static void *
obs_grow(void **v, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(*v, ncap * size);

		if (!p)
			return NULL;
		*v = p;
		*cap = ncap;
	}
	memset((char *)*v + *n * size, 0, size);
	return (char *)*v + (*n)++ * size;
}

#define OBS_ADD(name, field) \
	struct fluxstate__obs_##name *fluxstate__obs_add_##name(struct fluxstate__observations *obs) \
	{ return obs_grow((void **)&obs->field, &obs->n_##field, &obs->cap_##field, sizeof(*obs->field)); }

OBS_ADD(crd, crds)
OBS_ADD(deployment, deployments)
OBS_ADD(namespace, namespaces)
OBS_ADD(object, objects)
OBS_ADD(cr, crs)

struct fluxstate__obs_object *
fluxstate__obs_add_flux_v1(struct fluxstate__observations *obs)
{
	return obs_grow((void **)&obs->flux_v1, &obs->n_flux_v1, &obs->cap_flux_v1, sizeof(*obs->flux_v1));
}

struct fluxstate__blind_spot *
fluxstate__obs_add_blind(struct fluxstate__observations *obs)
{
	return obs_grow((void **)&obs->blind, &obs->n_blind, &obs->cap_blind, sizeof(*obs->blind));
}

struct fluxstate__watch_target *
fluxstate__obs_add_watch(struct fluxstate__observations *obs)
{
	return obs_grow((void **)&obs->watch, &obs->n_watch, &obs->cap_watch, sizeof(*obs->watch));
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
fluxstate__strv_add(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof(**v));

	if (!p)
		return FLUXSTATE_ENOMEM;
	*v = p;
	p[*n] = fluxstate__strdup(s);
	if (!p[*n])
		return FLUXSTATE_ENOMEM;
	(*n)++;
	return 0;
}

void
fluxstate__meta_clear(struct fluxstate__meta *m)
{
	size_t i;

	free(m->name);
	free(m->namespace);
	for (i = 0; i < m->n_labels; i++) {
		free(m->labels[i].key);
		free(m->labels[i].value);
	}
	free(m->labels);
	strv_free(m->finalizers, m->n_finalizers);
	free(m->deletion_timestamp);
	free(m->uid);
	free(m->resource_version);
	memset(m, 0, sizeof(*m));
}

const char *
fluxstate__meta_label(const struct fluxstate__meta *m, const char *key)
{
	size_t i;

	for (i = 0; m && i < m->n_labels; i++)
		if (strcmp(m->labels[i].key, key) == 0)
			return m->labels[i].value;
	return NULL;
}

int
fluxstate__meta_has_finalizer(const struct fluxstate__meta *m, const char *finalizer)
{
	size_t i;

	for (i = 0; m && i < m->n_finalizers; i++)
		if (strcmp(m->finalizers[i], finalizer) == 0)
			return 1;
	return 0;
}

int
fluxstate__meta_set_label(struct fluxstate__meta *m, const char *key, const char *value)
{
	struct fluxstate__kv *p = realloc(m->labels, (m->n_labels + 1) * sizeof(*p));

	if (!p)
		return FLUXSTATE_ENOMEM;
	m->labels = p;
	p[m->n_labels].key = fluxstate__strdup(key);
	p[m->n_labels].value = fluxstate__strdup(value ? value : "");
	if (!p[m->n_labels].key || !p[m->n_labels].value) {
		free(p[m->n_labels].key);
		free(p[m->n_labels].value);
		return FLUXSTATE_ENOMEM;
	}
	m->n_labels++;
	return 0;
}

int
fluxstate__meta_add_finalizer(struct fluxstate__meta *m, const char *finalizer)
{
	return fluxstate__strv_add(&m->finalizers, &m->n_finalizers, finalizer);
}

static void
crd_clear(struct fluxstate__obs_crd *c)
{
	fluxstate__meta_clear(&c->meta);
	free(c->group);
	free(c->kind);
	free(c->plural);
	strv_free(c->served, c->n_served);
	free(c->storage_version);
	strv_free(c->stored_versions, c->n_stored);
	free(c->terminating_reason);
	free(c->terminating_message);
}

static void
deployment_clear(struct fluxstate__obs_deployment *d)
{
	fluxstate__meta_clear(&d->meta);
	free(d->available_status);
	free(d->available_message);
	free(d->progressing_status);
	free(d->progressing_reason);
	free(d->progressing_message);
	strv_free(d->images, d->n_images);
}

static void
namespace_clear(struct fluxstate__obs_namespace *n)
{
	fluxstate__meta_clear(&n->meta);
	free(n->phase);
	free(n->remaining);
}

static void
object_clear(struct fluxstate__obs_object *o)
{
	fluxstate__meta_clear(&o->meta);
	free(o->kind);
	free(o->api_version);
}

void
fluxstate__obs_cr_clear(struct fluxstate__obs_cr *c)
{
	fluxstate__meta_clear(&c->meta);
	free(c->kind);
	free(c->api_version);
	free(c->ready_status);
	free(c->ready_reason);
	free(c->ready_message);
	free(c->stalled_status);
	free(c->stalled_reason);
	free(c->stalled_message);
	free(c->last_applied_revision);
	memset(c, 0, sizeof(*c));
}

/* Drop the elements of one array whose meta.read_id is @read_id, keeping order. */
#define FORGET(v, n, clear, read_id) do {					\
	size_t i_, kept_ = 0;							\
	for (i_ = 0; i_ < (n); i_++) {						\
		if ((v)[i_].meta.read_id == (read_id))				\
			clear(&(v)[i_]);					\
		else								\
			(v)[kept_++] = (v)[i_];					\
	}									\
	(n) = kept_;								\
} while (0)

void
fluxstate__obs_forget_read(struct fluxstate__observations *obs, unsigned int read_id)
{
	size_t i;

	FORGET(obs->crds, obs->n_crds, crd_clear, read_id);
	FORGET(obs->deployments, obs->n_deployments, deployment_clear, read_id);
	FORGET(obs->namespaces, obs->n_namespaces, namespace_clear, read_id);
	FORGET(obs->objects, obs->n_objects, object_clear, read_id);
	FORGET(obs->crs, obs->n_crs, fluxstate__obs_cr_clear, read_id);
	if (obs->cr_tally)
		for (i = 0; i < fluxstate__n_crds; i++)
			if (obs->cr_tally[i].read_id == read_id)
				memset(&obs->cr_tally[i], 0, sizeof(obs->cr_tally[i]));
	FORGET(obs->flux_v1, obs->n_flux_v1, object_clear, read_id);
}

/* Already holds one of its kind and namespace/name: the item callbacks keep the first one seen. */
static int
holds_deployment(const struct fluxstate__observations *obs, const struct fluxstate__obs_deployment *d)
{
	size_t i;

	for (i = 0; i < obs->n_deployments; i++)
		if (fluxstate__streq(obs->deployments[i].meta.name, d->meta.name) &&
		    fluxstate__streq(obs->deployments[i].meta.namespace, d->meta.namespace))
			return 1;
	return 0;
}

static int
holds_flux_v1(const struct fluxstate__observations *obs, const struct fluxstate__obs_object *x)
{
	size_t i;

	for (i = 0; i < obs->n_flux_v1; i++)
		if (fluxstate__streq(obs->flux_v1[i].kind, x->kind) &&
		    fluxstate__streq(obs->flux_v1[i].meta.name, x->meta.name) &&
		    fluxstate__streq(obs->flux_v1[i].meta.namespace, x->meta.namespace))
			return 1;
	return 0;
}

#define HOLDS_NONE(obs, x) 0

/*
 * Move the elements of one array that read @from_id added from @from to
 * @to as read @to_id, keeping order; a duplicate is dropped. After a
 * failure the rest stays in @from (freed with it).
 */
#define MOVE(to, from, field, type, clear, holds, from_id, to_id, rc) do {		\
	size_t i_, kept_ = 0;								\
	for (i_ = 0; i_ < (from)->n_##field; i_++) {					\
		type *x_ = &(from)->field[i_], *slot_;					\
		if (x_->meta.read_id != (from_id) || (rc) < 0) {			\
			(from)->field[kept_++] = *x_;					\
		} else if (holds((to), x_)) {						\
			clear(x_);							\
		} else if (!(slot_ = obs_grow((void **)&(to)->field, &(to)->n_##field,	\
					      &(to)->cap_##field, sizeof(type)))) {	\
			(rc) = FLUXSTATE_ENOMEM;					\
			(from)->field[kept_++] = *x_;					\
		} else {								\
			*slot_ = *x_;							\
			slot_->meta.read_id = (to_id);					\
		}									\
	}										\
	(from)->n_##field = kept_;							\
} while (0)

int
fluxstate__obs_move_read(struct fluxstate__observations *to, struct fluxstate__observations *from,
			 unsigned int from_id, unsigned int to_id)
{
	size_t i;
	int rc = 0;

	MOVE(to, from, crds, struct fluxstate__obs_crd, crd_clear, HOLDS_NONE, from_id, to_id, rc);
	MOVE(to, from, deployments, struct fluxstate__obs_deployment, deployment_clear, holds_deployment,
	     from_id, to_id, rc);
	MOVE(to, from, namespaces, struct fluxstate__obs_namespace, namespace_clear, HOLDS_NONE, from_id, to_id, rc);
	MOVE(to, from, objects, struct fluxstate__obs_object, object_clear, HOLDS_NONE, from_id, to_id, rc);
	MOVE(to, from, crs, struct fluxstate__obs_cr, fluxstate__obs_cr_clear, HOLDS_NONE, from_id, to_id, rc);
	MOVE(to, from, flux_v1, struct fluxstate__obs_object, object_clear, holds_flux_v1, from_id, to_id, rc);
	if (rc < 0 || !from->cr_tally)
		return rc;
	for (i = 0; i < fluxstate__n_crds; i++) {
		if (from->cr_tally[i].read_id != from_id)
			continue;
		if (!to->cr_tally && !(to->cr_tally = calloc(fluxstate__n_crds, sizeof(*to->cr_tally))))
			return FLUXSTATE_ENOMEM;
		/* the examples' strings moved with their CRs */
		to->cr_tally[i] = from->cr_tally[i];
		to->cr_tally[i].read_id = to_id;
		memset(&from->cr_tally[i], 0, sizeof(from->cr_tally[i]));
	}
	return 0;
}

void
fluxstate__observations_clear(struct fluxstate__observations *obs)
{
	size_t i;

	if (!obs)
		return;
	free(obs->namespace);
	free(obs->server_version);
	for (i = 0; i < obs->n_crds; i++)
		crd_clear(&obs->crds[i]);
	free(obs->crds);
	for (i = 0; i < obs->n_deployments; i++)
		deployment_clear(&obs->deployments[i]);
	free(obs->deployments);
	for (i = 0; i < obs->n_namespaces; i++)
		namespace_clear(&obs->namespaces[i]);
	free(obs->namespaces);
	for (i = 0; i < obs->n_objects; i++)
		object_clear(&obs->objects[i]);
	free(obs->objects);
	for (i = 0; i < obs->n_crs; i++)
		fluxstate__obs_cr_clear(&obs->crs[i]);
	free(obs->crs);
	free(obs->cr_tally);
	for (i = 0; i < obs->n_flux_v1; i++)
		object_clear(&obs->flux_v1[i]);
	free(obs->flux_v1);
	for (i = 0; i < obs->n_blind; i++) {
		free(obs->blind[i].kind);
		free(obs->blind[i].api_version);
		free(obs->blind[i].namespace);
		free(obs->blind[i].message);
	}
	free(obs->blind);
	for (i = 0; i < obs->n_watch; i++) {
		free(obs->watch[i].group);
		free(obs->watch[i].version);
		free(obs->watch[i].resource);
		free(obs->watch[i].namespace);
		free(obs->watch[i].label_selector);
		free(obs->watch[i].resource_version);
	}
	free(obs->watch);
	memset(obs, 0, sizeof(*obs));
}


/* ---- custom resources: counted, and kept only when a report may name them ---- */

static int
cmp_ns_name(const char *ns_a, const char *name_a, const char *ns_b, const char *name_b)
{
	int r = strcmp(ns_a ? ns_a : "", ns_b ? ns_b : "");

	return r ? r : strcmp(name_a ? name_a : "", name_b ? name_b : "");
}

const struct fluxstate__cr_tally *
fluxstate__obs_cr_tally(const struct fluxstate__observations *obs, const struct fluxstate__crd_info *info)
{
	static const struct fluxstate__cr_tally none;

	return obs->cr_tally && info ? &obs->cr_tally[info - fluxstate__crds] : &none;
}

/* The last (by namespace/name) kept example of @bit of @info's kind: the one a better one evicts. */
static struct fluxstate__obs_cr *
last_example(struct fluxstate__observations *obs, const struct fluxstate__crd_info *info, unsigned int bit)
{
	struct fluxstate__obs_cr *last = NULL;
	size_t i;

	for (i = 0; i < obs->n_crs; i++) {
		struct fluxstate__obs_cr *c = &obs->crs[i];

		if (c->info == info && (c->example & bit) &&
		    (!last || cmp_ns_name(c->meta.namespace, c->meta.name, last->meta.namespace, last->meta.name) > 0))
			last = c;
	}
	return last;
}

static void
remember_last(struct fluxstate__observations *obs, struct fluxstate__cr_tally *t,
	      const struct fluxstate__crd_info *info, int b)
{
	const struct fluxstate__obs_cr *last = last_example(obs, info, 1u << b);

	t->max_ns[b] = last ? last->meta.namespace : NULL;
	t->max_name[b] = last ? last->meta.name : NULL;
}

/*
 * The classifier reads a FluxInstance whole and looks up the bootstrap
 * Kustomization; a cleanup plan names every object.
 */
static int
is_pinned(const struct fluxstate__observations *obs, const struct fluxstate__obs_cr *cr)
{
	return obs->list_all_crs || strcmp(cr->info->kind, "FluxInstance") == 0 ||
	       (strcmp(cr->info->kind, "Kustomization") == 0 && fluxstate__streq(cr->meta.namespace, obs->namespace) &&
		fluxstate__streq(cr->meta.name, obs->namespace));
}

int
fluxstate__obs_count_cr(struct fluxstate__observations *obs, struct fluxstate__obs_cr *cr, unsigned int read_id)
{
	struct fluxstate__cr_tally *t;
	const struct fluxstate__crd_info *info = cr->info;
	int flux_fin = fluxstate__meta_has_finalizer(&cr->meta, FLUXSTATE__FLUX_FINALIZER) ||
		       fluxstate__meta_has_finalizer(&cr->meta, FLUXSTATE__OPERATOR_FINALIZER);
	unsigned int want = 0, evict[2] = { 0, 0 };
	int pinned, b;
	struct fluxstate__obs_cr *slot;

	if (!info)
		return 0;
	if (!obs->cr_tally) {
		obs->cr_tally = calloc(fluxstate__n_crds, sizeof(*obs->cr_tally));
		if (!obs->cr_tally)
			return FLUXSTATE_ENOMEM;
	}
	t = &obs->cr_tally[info - fluxstate__crds];
	t->read_id = read_id;
	t->n++;
	if (cr->meta.n_finalizers) {
		t->n_finalizers++;
		t->n_finalizers_in_ns += fluxstate__streq(cr->meta.namespace, obs->namespace);
	}
	if (flux_fin || cr->meta.deletion_timestamp) {
		t->n_listable++;
		want |= FLUXSTATE__CR_LISTABLE;
	}
	if (flux_fin && cr->meta.deletion_timestamp) {
		t->n_stuck++;
		want |= FLUXSTATE__CR_STUCK;
	}
	pinned = is_pinned(obs, cr);
	/* one of the first examples of a category, by namespace/name: usually O(1) (lists come sorted) */
	for (b = 0; b < 2; b++) {
		if (!(want & (1u << b)) || t->kept[b] < FLUXSTATE__MAX_CR_EXAMPLES)
			continue;
		if (cmp_ns_name(cr->meta.namespace, cr->meta.name, t->max_ns[b], t->max_name[b]) < 0)
			evict[b] = 1;
		else
			want &= ~(1u << b);
	}
	if (!want && !pinned)
		return 0;
	for (b = 0; b < 2; b++) {
		struct fluxstate__obs_cr *old;

		if (!evict[b] || !(old = last_example(obs, info, 1u << b)))
			continue;
		old->example &= ~(1u << b);
		t->kept[b]--;
		if (!old->example && !is_pinned(obs, old)) {
			fluxstate__obs_cr_clear(old);
			*old = obs->crs[--obs->n_crs];
		}
	}
	slot = fluxstate__obs_add_cr(obs);
	if (!slot)
		return FLUXSTATE_ENOMEM;
	*slot = *cr;
	memset(cr, 0, sizeof(*cr));
	slot->example = want;
	slot->meta.read_id = read_id;
	for (b = 0; b < 2; b++) {
		if (!(want & (1u << b)))
			continue;
		/* pointers into kept CRs: refresh when this set changed (an eviction frees the last) */
		if (++t->kept[b] >= FLUXSTATE__MAX_CR_EXAMPLES)
			remember_last(obs, t, info, b);
	}
	return 0;
}
