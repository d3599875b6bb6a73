/*
 * The cleanup plan: a pure function of one detection's observations and its
 * report (no I/O), plus the plan object's accessors and JSON form.
 *
 * The order is `flux uninstall`'s (docs/states.md), made explicit per
 * object: controllers (partial with force only), finalizers of Flux custom
 * resources, the custom resources, the CRDs, cluster RBAC, namespaced
 * leftovers, the namespace. Only Flux v2 evidence becomes a step, judged
 * as the classifier judges it (labels, known names, the Flux CRD table);
 * anything else that the plan could be expected to touch is listed as kept.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "cleanup.h"

/* ---- the plan object ---- */

static void
step_clear(struct fluxstate_cleanup_step *s)
{
	size_t i;

	free(s->kind);
	free(s->api_version);
	free(s->namespace);
	free(s->name);
	free(s->reason);
	free(s->group);
	free(s->version);
	free(s->resource);
	free(s->uid);
	free(s->resource_version);
	for (i = 0; i < s->n_finalizers; i++)
		free(s->finalizers[i]);
	free(s->finalizers);
}

FLUXSTATE_EXPORT void
fluxstate_cleanup_plan_free(fluxstate_cleanup_plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->n_steps; i++)
		step_clear(&plan->steps[i]);
	for (i = 0; i < plan->n_kept; i++)
		step_clear(&plan->kept[i]);
	free(plan->steps);
	free(plan->kept);
	free(plan->namespace);
	free(plan);
}

static struct fluxstate_cleanup_step *
grow_step(struct fluxstate_cleanup_step **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct fluxstate_cleanup_step *p = realloc(*v, ncap * sizeof(*p));

		if (!p)
			return NULL;
		*v = p;
		*cap = ncap;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	return &(*v)[(*n)++];
}

/* ---- planning ---- */

struct planner {
	const struct fluxstate__observations *obs;
	const struct fluxstate_report *report;
	struct fluxstate_cleanup_plan *plan;
	const char *ns;
	int oom;
};

/* Where a built-in kind lives in the API. */
static const struct builtin {
	const char *kind, *group, *version, *resource;
} builtins[] = {
	{ "Deployment", "apps", "v1", "deployments" },
	{ "CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions" },
	{ "ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles" },
	{ "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings" },
	{ "ServiceAccount", "", "v1", "serviceaccounts" },
	{ "Service", "", "v1", "services" },
	{ "NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies" },
	{ "ResourceQuota", "", "v1", "resourcequotas" },
	{ "Secret", "", "v1", "secrets" },
	{ "Namespace", "", "v1", "namespaces" },
};

static const struct builtin *
builtin_of(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (fluxstate__streq(builtins[i].kind, kind))
			return &builtins[i];
	return NULL;
}

static char *
dup_or_oom(struct planner *p, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = fluxstate__strdup(s);
	if (!d)
		p->oom = 1;
	return d;
}

/*
 * Add a step (or a kept entry when @phase is "kept"). @group/@version/
 * @resource say where it is written; NULL for kept entries.
 */
static struct fluxstate_cleanup_step *
add(struct planner *p, const char *phase, const char *verb, const char *kind, const char *api_version,
    const struct fluxstate__meta *m, const char *group, const char *version, const char *resource,
    int destructive, const char *fmt, ...) FLUXSTATE_PRINTF(11, 12);

static struct fluxstate_cleanup_step *
add(struct planner *p, const char *phase, const char *verb, const char *kind, const char *api_version,
    const struct fluxstate__meta *m, const char *group, const char *version, const char *resource,
    int destructive, const char *fmt, ...)
{
	struct fluxstate_cleanup_plan *plan = p->plan;
	int kept = strcmp(phase, "kept") == 0;
	struct fluxstate_cleanup_step *s = kept ? grow_step(&plan->kept, &plan->n_kept, &plan->cap_kept)
						: grow_step(&plan->steps, &plan->n_steps, &plan->cap_steps);
	va_list ap;
	int rc;

	if (!s) {
		p->oom = 1;
		return NULL;
	}
	s->phase = phase;
	s->verb = verb;
	s->kind = dup_or_oom(p, kind);
	s->api_version = dup_or_oom(p, api_version);
	s->namespace = dup_or_oom(p, m->namespace);
	s->name = dup_or_oom(p, m->name);
	s->group = dup_or_oom(p, group);
	s->version = dup_or_oom(p, version);
	s->resource = dup_or_oom(p, resource);
	s->uid = dup_or_oom(p, m->uid);
	s->resource_version = dup_or_oom(p, m->resource_version);
	s->destructive = destructive;
	va_start(ap, fmt);
	rc = vasprintf(&s->reason, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		s->reason = NULL;
		p->oom = 1;
	}
	return s;
}

/* A delete of a built-in kind; @guard_rv: also a resourceVersion precondition. */
static void
add_builtin(struct planner *p, const char *phase, const char *kind, const struct fluxstate__meta *m,
	    int destructive, int guard_rv, const char *why)
{
	const struct builtin *b = builtin_of(kind);
	struct fluxstate_cleanup_step *s;
	char api[64];

	snprintf(api, sizeof(api), "%s%s%s", b->group, *b->group ? "/" : "", b->version);
	s = add(p, phase, "delete", kind, api, m, b->group, b->version, b->resource, destructive, "%s", why);
	if (s)
		s->guard_rv = guard_rv;
}

static int
labelled(const struct fluxstate__meta *m)
{
	return fluxstate__streq(fluxstate__meta_label(m, FLUXSTATE__LABEL_PART_OF), "flux");
}

static int
is_operator(const struct fluxstate__obs_deployment *d)
{
	return fluxstate__streq(d->meta.name, "flux-operator") ||
	       fluxstate__streq(fluxstate__meta_label(&d->meta, FLUXSTATE__LABEL_NAME), "flux-operator");
}

/* A Flux controller of this install: the classifier's rule (labelled, or a known controller name). */
static int
is_controller(const struct planner *p, const struct fluxstate__obs_deployment *d)
{
	return !is_operator(d) && fluxstate__streq(d->meta.namespace, p->ns) &&
	       (labelled(&d->meta) || fluxstate__controller_lookup(d->meta.name));
}

/*
 * A finding about Flux v1 ("legacy") names what must never be touched; if
 * it lives in the Flux namespace, the namespace must stay too.
 */
static int
is_legacy_finding(const fluxstate_finding *f)
{
	return (fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_FLUX_V2) ||
	       strcmp(fluxstate_finding_get_category(f), "flux-v1") == 0;
}

static const fluxstate_finding *
legacy_in_namespace(const struct planner *p, const char *ns)
{
	size_t i;

	for (i = 0; i < p->report->n_findings; i++) {
		const fluxstate_finding *f = &p->report->findings[i];

		if (is_legacy_finding(f) &&
		    (fluxstate__streq(f->namespace, ns) ||
		     (fluxstate__streq(f->kind, "Namespace") && fluxstate__streq(f->name, ns))))
			return f;
	}
	return NULL;
}

static const struct fluxstate__crd_info *
cr_info(const struct fluxstate__obs_cr *cr)
{
	const char *slash = cr->api_version ? strchr(cr->api_version, '/') : NULL;
	size_t i;

	if (!slash)
		return NULL;
	for (i = 0; i < fluxstate__n_crds; i++)
		if (fluxstate__streq(fluxstate__crds[i].kind, cr->kind) &&
		    strncmp(fluxstate__crds[i].group, cr->api_version, (size_t)(slash - cr->api_version)) == 0 &&
		    !fluxstate__crds[i].group[slash - cr->api_version])
			return &fluxstate__crds[i];
	return NULL;
}

static int
plan_controllers(struct planner *p)
{
	size_t i;

	for (i = 0; i < p->obs->n_deployments; i++) {
		const struct fluxstate__obs_deployment *d = &p->obs->deployments[i];

		if (is_controller(p, d))
			add_builtin(p, "controllers", "Deployment", &d->meta, 0, 0,
				    labelled(&d->meta) ? "Flux controller (label app.kubernetes.io/part-of=flux); stopped first so nothing puts finalizers back"
						       : "Flux controller (known name); stopped first so nothing puts finalizers back");
	}
	return 0;
}

static int
plan_custom_resources(struct planner *p)
{
	size_t i, j;

	for (i = 0; i < p->obs->n_crs; i++) {
		const struct fluxstate__obs_cr *cr = &p->obs->crs[i];
		const struct fluxstate__crd_info *info = cr_info(cr);
		const char *version = strchr(cr->api_version, '/') + 1;
		struct fluxstate_cleanup_step *s;

		if (!info || !cr->meta.n_finalizers)
			continue;
		s = add(p, "finalizers", "remove-finalizers", cr->kind, cr->api_version, &cr->meta, info->group, version,
			info->plural, 0, "finalizers %s%s; %s is not running to remove them (flux uninstall clears them too)",
			cr->meta.finalizers[0], cr->meta.n_finalizers > 1 ? ", …" : "", info->owner);
		if (!s)
			return -1;
		for (j = 0; j < cr->meta.n_finalizers; j++)
			if (fluxstate__strv_add(&s->finalizers, &s->n_finalizers, cr->meta.finalizers[j]) < 0)
				return -1;
	}
	for (i = 0; i < p->obs->n_crs; i++) {
		const struct fluxstate__obs_cr *cr = &p->obs->crs[i];
		const struct fluxstate__crd_info *info = cr_info(cr);
		struct fluxstate_cleanup_step *s;

		/* one being deleted goes by itself once its finalizers are gone */
		if (!info || cr->meta.deletion_timestamp)
			continue;
		s = add(p, "custom-resources", "delete", cr->kind, cr->api_version, &cr->meta, info->group,
			strchr(cr->api_version, '/') + 1, info->plural, 1,
			"Flux %s object (CustomResourceDefinition %s); the configuration it holds is deleted", cr->kind,
			info->name);
		/* its finalizer patch changes the resourceVersion: apply carries the new one over */
		if (s)
			s->guard_rv = 1;
	}
	return 0;
}

static int
plan_crds(struct planner *p)
{
	size_t i;

	for (i = 0; i < p->obs->n_crds; i++) {
		const struct fluxstate__obs_crd *c = &p->obs->crds[i];
		const struct fluxstate__crd_info *info = fluxstate__crd_lookup(c->meta.name);

		if (!info) {
			/* a Flux API group but not a Flux v2 CRD (Flux v1's helm.fluxcd.io, a newer kind) */
			add(p, "kept", "keep", "CustomResourceDefinition", "apiextensions.k8s.io/v1", &c->meta, NULL, NULL,
			    NULL, 0, "not a CustomResourceDefinition of Flux v2 (group %s)", c->group ? c->group : "?");
			continue;
		}
		add_builtin(p, "crds", "CustomResourceDefinition", &c->meta, 1, 0,
			    c->meta.deletion_timestamp ? "Flux v2 CRD, already Terminating"
						       : "Flux v2 CRD; every remaining object of its kind is deleted with it");
	}
	return 0;
}

static int
is_rbac(const struct fluxstate__obs_object *o)
{
	return fluxstate__streq(o->kind, "ClusterRole") || fluxstate__streq(o->kind, "ClusterRoleBinding");
}

static int
plan_objects(struct planner *p, int cluster)
{
	size_t i;

	for (i = 0; i < p->obs->n_objects; i++) {
		const struct fluxstate__obs_object *o = &p->obs->objects[i];
		const char *instance = fluxstate__meta_label(&o->meta, FLUXSTATE__LABEL_INSTANCE);

		if (cluster != is_rbac(o))
			continue;
		if (cluster) {
			int known = fluxstate__is_flux_rbac_name(o->kind, o->meta.name, p->ns, NULL);

			if (!labelled(&o->meta) && !known)
				continue;
			/* labelled by another install (its instance label names another namespace) */
			if (labelled(&o->meta) && instance && !fluxstate__streq(instance, p->ns) && !known) {
				add(p, "kept", "keep", o->kind, o->api_version, &o->meta, NULL, NULL, NULL, 0,
				    "labelled part-of=flux but belongs to the install in namespace %s", instance);
				continue;
			}
			add_builtin(p, "cluster-rbac", o->kind, &o->meta, 0, 1,
				    labelled(&o->meta) ? "Flux cluster RBAC (label app.kubernetes.io/part-of=flux)"
						       : "Flux cluster RBAC (known name)");
			continue;
		}
		if (fluxstate__streq(o->kind, "Secret") || fluxstate__streq(o->kind, "ConfigMap")) {
			/* never the user's: only Helm's record of a Flux chart release */
			if (fluxstate__streq(o->kind, "Secret") &&
			    fluxstate__has_prefix(o->meta.name, "sh.helm.release.v1.") && strstr(o->meta.name, "flux"))
				add_builtin(p, "namespaced", "Secret", &o->meta, 0, 1,
					    "Helm release record of a Flux chart");
			continue;
		}
		if (!labelled(&o->meta) || !builtin_of(o->kind))
			continue;
		if (legacy_in_namespace(p, o->meta.namespace) && !fluxstate__streq(o->meta.namespace, p->ns))
			continue;
		add_builtin(p, "namespaced", o->kind, &o->meta, 0, 1,
			    "Flux object (label app.kubernetes.io/part-of=flux)");
	}
	return p->oom ? -1 : 0;
}

static int
plan_namespace(struct planner *p, unsigned int flags)
{
	const struct fluxstate__obs_namespace *n = NULL;
	const fluxstate_finding *legacy;
	size_t i, user = 0;
	int terminating;

	for (i = 0; i < p->obs->n_namespaces; i++)
		if (fluxstate__streq(p->obs->namespaces[i].meta.name, p->ns))
			n = &p->obs->namespaces[i];
	if (!n)
		return 0;
	terminating = n->meta.deletion_timestamp || fluxstate__streq(n->phase, "Terminating");
	for (i = 0; i < p->obs->n_objects; i++) {
		const struct fluxstate__obs_object *o = &p->obs->objects[i];

		if (fluxstate__streq(o->meta.namespace, p->ns) &&
		    (fluxstate__streq(o->kind, "Secret") || fluxstate__streq(o->kind, "ConfigMap")) &&
		    !fluxstate__streq(o->meta.name, "kube-root-ca.crt") &&
		    !fluxstate__has_prefix(o->meta.name, "sh.helm.release.v1."))
			user++;
	}
	legacy = legacy_in_namespace(p, p->ns);
	if (terminating && !legacy) {
		/* already being deleted: the steps above unblock it; deleting again is a no-op */
		add_builtin(p, "namespace", "Namespace", &n->meta, 1, 0,
			    "the Flux namespace, already Terminating; finishes once its content is gone");
	} else if (legacy) {
		add(p, "kept", "keep", "Namespace", "v1", &n->meta, NULL, NULL, NULL, 0,
		    "holds Flux v1 objects (%s)", legacy->reason);
	} else if (flags & FLUXSTATE_CLEANUP_KEEP_NAMESPACE) {
		add(p, "kept", "keep", "Namespace", "v1", &n->meta, NULL, NULL, NULL, 0,
		    "kept as asked (keep-namespace), like flux uninstall --keep-namespace");
	} else if (!labelled(&n->meta)) {
		add(p, "kept", "keep", "Namespace", "v1", &n->meta, NULL, NULL, NULL, 0,
		    "Flux did not create it (no part-of=flux label); it may hold your own Secrets (%zu Secret/ConfigMap)",
		    user);
	} else {
		add_builtin(p, "namespace", "Namespace", &n->meta, 1, 0,
			    user ? "the Flux namespace (label app.kubernetes.io/part-of=flux); the Secrets and ConfigMaps in it are deleted with it"
				 : "the Flux namespace (label app.kubernetes.io/part-of=flux)");
	}
	return p->oom ? -1 : 0;
}

/* Why the plan would be unsafe, or NULL. */
static char *
refusal(const struct planner *p, unsigned int flags, int *oom)
{
	const struct fluxstate__observations *obs = p->obs;
	char *why = NULL;
	size_t i;

	switch (p->report->state) {
	case FLUXSTATE_INSTALL_RESIDUAL:
	case FLUXSTATE_INSTALL_NONE:
		break;
	case FLUXSTATE_INSTALL_PARTIAL:
		if (flags & FLUXSTATE_CLEANUP_FORCE)
			break;
		why = fluxstate__asprintf("state is partial (Flux controllers are present: %s); repair it, or force "
					  "the removal of the install", p->report->summary);
		goto out;
	case FLUXSTATE_INSTALL_HEALTHY:
		why = fluxstate__asprintf("state is healthy (%s); use `flux uninstall` to remove a working Flux",
					  p->report->summary);
		goto out;
	default:
		why = fluxstate__asprintf("state is unknown (%s): a blind spot could hide what would be lost",
					  p->report->summary);
		goto out;
	}
	for (i = 0; i < obs->n_blind; i++)
		if (obs->blind[i].sight & ~(unsigned int)FLUXSTATE__SEE_SERVER) {
			why = fluxstate__asprintf("a read failed, so the plan could miss what it would destroy: %s",
						  obs->blind[i].message ? obs->blind[i].message : obs->blind[i].kind);
			goto out;
		}
	for (i = 0; i < obs->n_deployments; i++) {
		const struct fluxstate__obs_deployment *d = &obs->deployments[i];

		if (!is_operator(d) && labelled(&d->meta) && !fluxstate__streq(d->meta.namespace, p->ns)) {
			why = fluxstate__asprintf("Flux also runs in namespace %s (%s); the CRDs and custom resources "
						  "are shared with it", d->meta.namespace, d->meta.name);
			goto out;
		}
	}
	return NULL;
out:
	if (!why)
		*oom = 1;
	return why;
}

int
fluxstate__cleanup_plan(const struct fluxstate__observations *obs, const struct fluxstate_report *report,
			unsigned int flags, struct fluxstate_cleanup_plan **ret, char **ret_why)
{
	struct planner p = { .obs = obs, .report = report };
	char *why;

	*ret_why = NULL;
	p.ns = obs->namespace ? obs->namespace : report->namespace;
	why = refusal(&p, flags, &p.oom);
	if (p.oom)
		return FLUXSTATE_ENOMEM;
	if (why) {
		*ret_why = why;
		return FLUXSTATE_EREFUSED;
	}
	p.plan = calloc(1, sizeof(*p.plan));
	if (!p.plan)
		return FLUXSTATE_ENOMEM;
	p.plan->state = report->state;
	p.plan->namespace = p.ns ? fluxstate__strdup(p.ns) : NULL;
	if (p.ns && !p.plan->namespace)
		p.oom = 1;
	if (report->state != FLUXSTATE_INSTALL_NONE && !p.oom) {
		if (plan_controllers(&p) < 0 || plan_custom_resources(&p) < 0 || plan_crds(&p) < 0 ||
		    plan_objects(&p, 1) < 0 || plan_objects(&p, 0) < 0 || plan_namespace(&p, flags) < 0)
			p.oom = 1;
	}
	if (p.oom) {
		fluxstate_cleanup_plan_free(p.plan);
		return FLUXSTATE_ENOMEM;
	}
	*ret = p.plan;
	return 0;
}

/* ---- accessors ---- */

FLUXSTATE_EXPORT int
fluxstate_cleanup_plan_get_state(const fluxstate_cleanup_plan *plan)
{
	return plan ? plan->state : FLUXSTATE_EINVAL;
}

FLUXSTATE_EXPORT const char *
fluxstate_cleanup_plan_get_namespace(const fluxstate_cleanup_plan *plan)
{
	return plan ? plan->namespace : NULL;
}

FLUXSTATE_EXPORT size_t
fluxstate_cleanup_plan_get_n_steps(const fluxstate_cleanup_plan *plan)
{
	return plan ? plan->n_steps : 0;
}

FLUXSTATE_EXPORT const fluxstate_cleanup_step *
fluxstate_cleanup_plan_get_step(const fluxstate_cleanup_plan *plan, size_t i)
{
	return plan && i < plan->n_steps ? &plan->steps[i] : NULL;
}

FLUXSTATE_EXPORT size_t
fluxstate_cleanup_plan_get_n_kept(const fluxstate_cleanup_plan *plan)
{
	return plan ? plan->n_kept : 0;
}

FLUXSTATE_EXPORT const fluxstate_cleanup_step *
fluxstate_cleanup_plan_get_kept(const fluxstate_cleanup_plan *plan, size_t i)
{
	return plan && i < plan->n_kept ? &plan->kept[i] : NULL;
}

#define STEP_STR(field)                                                                                     \
	FLUXSTATE_EXPORT const char *fluxstate_cleanup_step_get_##field(const fluxstate_cleanup_step *step) \
	{                                                                                                   \
		return step && step->field ? step->field : "";                                              \
	}
STEP_STR(verb)
STEP_STR(phase)
STEP_STR(kind)
STEP_STR(api_version)
STEP_STR(name)
STEP_STR(reason)
#undef STEP_STR

FLUXSTATE_EXPORT const char *
fluxstate_cleanup_step_get_namespace(const fluxstate_cleanup_step *step)
{
	return step ? step->namespace : NULL;
}

FLUXSTATE_EXPORT int
fluxstate_cleanup_step_get_destructive(const fluxstate_cleanup_step *step)
{
	return step ? step->destructive : FLUXSTATE_EINVAL;
}

/* ---- JSON ---- */

static int
gen_kv(yajl_gen g, const char *key, const char *value)
{
	if (yajl_gen_string(g, (const unsigned char *)key, strlen(key)) != yajl_gen_status_ok)
		return -1;
	if (!value)
		return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
	return yajl_gen_string(g, (const unsigned char *)value, strlen(value)) == yajl_gen_status_ok ? 0 : -1;
}

static int
gen_step_array(yajl_gen g, const char *key, const struct fluxstate_cleanup_step *v, size_t n)
{
	size_t i;

	if (yajl_gen_string(g, (const unsigned char *)key, strlen(key)) != yajl_gen_status_ok ||
	    yajl_gen_array_open(g) != yajl_gen_status_ok)
		return -1;
	for (i = 0; i < n; i++) {
		const struct fluxstate_cleanup_step *s = &v[i];

		if (yajl_gen_map_open(g) != yajl_gen_status_ok || gen_kv(g, "phase", s->phase) ||
		    gen_kv(g, "verb", s->verb) || gen_kv(g, "kind", s->kind) ||
		    gen_kv(g, "apiVersion", s->api_version) || gen_kv(g, "namespace", s->namespace) ||
		    gen_kv(g, "name", s->name) || gen_kv(g, "reason", s->reason) ||
		    yajl_gen_string(g, (const unsigned char *)"destructive", 11) != yajl_gen_status_ok ||
		    yajl_gen_bool(g, s->destructive) != yajl_gen_status_ok || yajl_gen_map_close(g) != yajl_gen_status_ok)
			return -1;
	}
	return yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -1;
}

FLUXSTATE_EXPORT int
fluxstate_cleanup_plan_to_json(const fluxstate_cleanup_plan *plan, char **ret_json)
{
	yajl_gen g;
	const unsigned char *buf;
	size_t len;
	int rc = FLUXSTATE_ENOMEM;

	if (!plan || !ret_json)
		return FLUXSTATE_EINVAL;
	g = yajl_gen_alloc(NULL);
	if (!g)
		return FLUXSTATE_ENOMEM;
	if (yajl_gen_map_open(g) != yajl_gen_status_ok ||
	    gen_kv(g, "state", fluxstate_state_to_string(plan->state)) || gen_kv(g, "namespace", plan->namespace) ||
	    gen_step_array(g, "steps", plan->steps, plan->n_steps) ||
	    gen_step_array(g, "kept", plan->kept, plan->n_kept) || yajl_gen_map_close(g) != yajl_gen_status_ok)
		goto out;
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		goto out;
	*ret_json = fluxstate__strndup((const char *)buf, len);
	rc = *ret_json ? 0 : FLUXSTATE_ENOMEM;
out:
	yajl_gen_free(g);
	return rc;
}
