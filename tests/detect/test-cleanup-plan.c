/*
 * Unit tests of the pure cleanup planner (cleanup-plan.c) over hand-built
 * observations, classified by classify.c as a probe would: order, evidence
 * (what is never a step), refusals. No I/O.
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
#include <cmocka.h>

#include "cleanup.h"

static void
meta(struct fluxstate__meta *m, const char *ns, const char *name, int flux)
{
	m->name = strdup(name);
	m->namespace = ns ? strdup(ns) : NULL;
	m->uid = strdup(name);
	m->resource_version = strdup("7");
	if (flux) {
		assert_int_equal(fluxstate__meta_set_label(m, FLUXSTATE__LABEL_PART_OF, "flux"), 0);
		assert_int_equal(fluxstate__meta_set_label(m, FLUXSTATE__LABEL_INSTANCE, "flux-system"), 0);
	}
}

static void
add_crd(struct fluxstate__observations *obs, const char *name, const char *group, const char *kind,
	const char *plural)
{
	struct fluxstate__obs_crd *c = fluxstate__obs_add_crd(obs);

	meta(&c->meta, NULL, name, fluxstate__crd_lookup(name) != NULL);
	c->group = strdup(group);
	c->kind = strdup(kind);
	c->plural = strdup(plural);
	c->storage_version = strdup("v1");
	assert_int_equal(fluxstate__strv_add(&c->served, &c->n_served, "v1"), 0);
	c->established = 1;
}

static struct fluxstate__obs_object *
add_obj(struct fluxstate__observations *obs, const char *kind, const char *api, const char *ns, const char *name,
	int flux)
{
	struct fluxstate__obs_object *o = fluxstate__obs_add_object(obs);

	o->kind = strdup(kind);
	o->api_version = strdup(api);
	meta(&o->meta, ns, name, flux);
	return o;
}

static void
add_cr(struct fluxstate__observations *obs, const char *kind, const char *api, const char *ns, const char *name,
       const char *finalizer)
{
	struct fluxstate__obs_cr *c = fluxstate__obs_add_cr(obs);

	c->kind = strdup(kind);
	c->api_version = strdup(api);
	meta(&c->meta, ns, name, 0);
	if (finalizer)
		assert_int_equal(fluxstate__meta_add_finalizer(&c->meta, finalizer), 0);
}

static void
add_ns(struct fluxstate__observations *obs, const char *name, int flux)
{
	struct fluxstate__obs_namespace *n = fluxstate__obs_add_namespace(obs);

	meta(&n->meta, NULL, name, flux);
	n->phase = strdup("Active");
}

/* A residual flux-system: CRDs, a Kustomization with its finalizer, RBAC, an SA, the namespace. */
static void
residual(struct fluxstate__observations *obs, int flux_ns)
{
	obs->namespace = strdup("flux-system");
	obs->server_version = strdup("v1.33.1");
	add_crd(obs, "kustomizations.kustomize.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "Kustomization",
		"kustomizations");
	add_cr(obs, "Kustomization", "kustomize.toolkit.fluxcd.io/v1", "flux-system", "flux-system",
	       FLUXSTATE__FLUX_FINALIZER);
	add_cr(obs, "Kustomization", "kustomize.toolkit.fluxcd.io/v1", "apps", "plain", NULL);
	add_obj(obs, "ClusterRole", "rbac.authorization.k8s.io/v1", NULL, "crd-controller-flux-system", 1);
	add_obj(obs, "ServiceAccount", "v1", "flux-system", "source-controller", 1);
	add_ns(obs, "flux-system", flux_ns);
}

struct planned {
	struct fluxstate__observations obs;
	struct fluxstate_report *report;
	struct fluxstate_cleanup_plan *plan;
	char *why;
	int rc;
};

static void
plan(struct planned *p, unsigned int flags)
{
	assert_int_equal(fluxstate__classify(&p->obs, &p->report), 0);
	p->rc = fluxstate__cleanup_plan(&p->obs, p->report, flags, &p->plan, &p->why);
}

static void
done(struct planned *p)
{
	fluxstate_cleanup_plan_free(p->plan);
	fluxstate_report_free(p->report);
	free(p->why);
	fluxstate__observations_clear(&p->obs);
}

static const struct fluxstate_cleanup_step *
step(const struct fluxstate_cleanup_plan *plan, const char *kind, const char *name, const char *verb)
{
	size_t i;

	for (i = 0; i < plan->n_steps; i++)
		if (strcmp(plan->steps[i].kind, kind) == 0 && strcmp(plan->steps[i].name, name) == 0 &&
		    strcmp(plan->steps[i].verb, verb) == 0)
			return &plan->steps[i];
	return NULL;
}

static const struct fluxstate_cleanup_step *
kept(const struct fluxstate_cleanup_plan *plan, const char *kind, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n_kept; i++)
		if (strcmp(plan->kept[i].kind, kind) == 0 && strcmp(plan->kept[i].name, name) == 0)
			return &plan->kept[i];
	return NULL;
}

static void
test_residual_in_flux_uninstall_order(void **state)
{
	static const char *const order[] = { "controllers", "finalizers", "custom-resources", "crds",
					     "cluster-rbac", "namespaced", "namespace" };
	struct planned p = { 0 };
	const struct fluxstate_cleanup_step *fin, *del;
	size_t i, j, last = 0;

	(void)state;
	residual(&p.obs, 1);
	plan(&p, 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.plan->state, FLUXSTATE_INSTALL_RESIDUAL);
	for (i = 0; i < p.plan->n_steps; i++) {
		for (j = 0; j < 7 && strcmp(order[j], p.plan->steps[i].phase) != 0; j++)
			;
		assert_true(j < 7);
		assert_true(j >= last);
		last = j;
	}
	fin = step(p.plan, "Kustomization", "flux-system", "remove-finalizers");
	assert_non_null(fin);
	assert_int_equal(fin->n_finalizers, 1);
	assert_string_equal(fin->finalizers[0], FLUXSTATE__FLUX_FINALIZER);
	assert_string_equal(fin->resource, "kustomizations");
	assert_string_equal(fin->version, "v1");
	assert_false(fin->destructive);
	del = step(p.plan, "Kustomization", "plain", "delete");
	assert_non_null(del);
	assert_true(del->destructive);
	assert_null(step(p.plan, "Kustomization", "plain", "remove-finalizers"));
	assert_non_null(step(p.plan, "CustomResourceDefinition", "kustomizations.kustomize.toolkit.fluxcd.io", "delete"));
	assert_non_null(step(p.plan, "ClusterRole", "crd-controller-flux-system", "delete"));
	assert_non_null(step(p.plan, "ServiceAccount", "source-controller", "delete"));
	assert_non_null(step(p.plan, "Namespace", "flux-system", "delete"));
	assert_string_equal(p.plan->steps[p.plan->n_steps - 1].kind, "Namespace");
	done(&p);
}

static void
test_never_user_objects(void **state)
{
	struct planned p = { 0 };

	(void)state;
	residual(&p.obs, 0); /* pre-created namespace: Flux did not create it */
	add_obj(&p.obs, "Secret", "v1", "flux-system", "sops-age", 0);
	add_obj(&p.obs, "Secret", "v1", "flux-system", "sh.helm.release.v1.flux.v1", 0);
	add_obj(&p.obs, "ConfigMap", "v1", "flux-system", "settings", 0);
	add_obj(&p.obs, "ClusterRole", "rbac.authorization.k8s.io/v1", NULL, "team-view", 0);
	add_crd(&p.obs, "helmreleases.helm.fluxcd.io", "helm.fluxcd.io", "HelmRelease", "helmreleases"); /* Flux v1 */
	plan(&p, 0);
	assert_int_equal(p.rc, 0);
	assert_null(step(p.plan, "Secret", "sops-age", "delete"));
	assert_null(step(p.plan, "ConfigMap", "settings", "delete"));
	assert_null(step(p.plan, "ClusterRole", "team-view", "delete"));
	assert_null(step(p.plan, "Namespace", "flux-system", "delete"));
	assert_non_null(kept(p.plan, "Namespace", "flux-system"));
	assert_null(step(p.plan, "CustomResourceDefinition", "helmreleases.helm.fluxcd.io", "delete"));
	assert_non_null(kept(p.plan, "CustomResourceDefinition", "helmreleases.helm.fluxcd.io"));
	/* Helm's record of a Flux chart is Flux's */
	assert_non_null(step(p.plan, "Secret", "sh.helm.release.v1.flux.v1", "delete"));
	done(&p);
}

static void
test_keep_namespace(void **state)
{
	struct planned p = { 0 };

	(void)state;
	residual(&p.obs, 1);
	plan(&p, FLUXSTATE_CLEANUP_KEEP_NAMESPACE);
	assert_int_equal(p.rc, 0);
	assert_null(step(p.plan, "Namespace", "flux-system", "delete"));
	assert_non_null(kept(p.plan, "Namespace", "flux-system"));
	done(&p);
}

static void
test_flux_v1_keeps_its_namespace(void **state)
{
	struct planned p = { 0 };
	struct fluxstate__obs_object *v1;

	(void)state;
	residual(&p.obs, 1);
	/* fluxd of Flux v1 in the same namespace: never Flux v2 evidence, and the namespace holds it */
	v1 = fluxstate__obs_add_flux_v1(&p.obs);
	v1->kind = strdup("Deployment");
	v1->api_version = strdup("apps/v1");
	meta(&v1->meta, "flux-system", "flux", 0);
	plan(&p, 0);
	assert_int_equal(p.rc, 0);
	assert_null(step(p.plan, "Namespace", "flux-system", "delete"));
	assert_non_null(kept(p.plan, "Namespace", "flux-system"));
	assert_null(step(p.plan, "Deployment", "flux", "delete"));
	assert_non_null(step(p.plan, "Kustomization", "flux-system", "remove-finalizers"));
	done(&p);
}

static void
test_blind_spot_refused(void **state)
{
	struct planned p = { 0 };
	struct fluxstate__blind_spot *b;

	(void)state;
	residual(&p.obs, 1);
	b = fluxstate__obs_add_blind(&p.obs);
	b->kind = strdup("Secret");
	b->api_version = strdup("v1");
	b->namespace = strdup("flux-system");
	b->message = strdup("list secrets in namespace flux-system: forbidden");
	b->http_status = 403;
	b->sight = FLUXSTATE__SEE_SECRETS;
	plan(&p, 0);
	if (p.report->state == FLUXSTATE_INSTALL_RESIDUAL) {
		assert_int_equal(p.rc, FLUXSTATE_EREFUSED);
		assert_non_null(strstr(p.why, "forbidden"));
	} else {
		assert_int_equal(p.report->state, FLUXSTATE_INSTALL_UNKNOWN);
		assert_int_equal(p.rc, FLUXSTATE_EREFUSED);
	}
	assert_null(p.plan);
	done(&p);
}

static void
test_states_refused(void **state)
{
	struct fluxstate__observations obs = { 0 };
	struct fluxstate_report r = { 0 };
	struct fluxstate_cleanup_plan *plan = NULL;
	char *why = NULL;

	(void)state;
	obs.namespace = strdup("flux-system");
	r.summary = (char *)"s";
	r.state = FLUXSTATE_INSTALL_HEALTHY;
	assert_int_equal(fluxstate__cleanup_plan(&obs, &r, FLUXSTATE_CLEANUP_FORCE, &plan, &why), FLUXSTATE_EREFUSED);
	assert_non_null(strstr(why, "healthy"));
	free(why);
	r.state = FLUXSTATE_INSTALL_UNKNOWN;
	assert_int_equal(fluxstate__cleanup_plan(&obs, &r, FLUXSTATE_CLEANUP_FORCE, &plan, &why), FLUXSTATE_EREFUSED);
	free(why);
	r.state = FLUXSTATE_INSTALL_PARTIAL;
	assert_int_equal(fluxstate__cleanup_plan(&obs, &r, 0, &plan, &why), FLUXSTATE_EREFUSED);
	free(why);
	assert_int_equal(fluxstate__cleanup_plan(&obs, &r, FLUXSTATE_CLEANUP_FORCE, &plan, &why), 0);
	fluxstate_cleanup_plan_free(plan);
	r.state = FLUXSTATE_INSTALL_NONE;
	assert_int_equal(fluxstate__cleanup_plan(&obs, &r, 0, &plan, &why), 0);
	assert_int_equal(plan->n_steps, 0);
	fluxstate_cleanup_plan_free(plan);
	fluxstate__observations_clear(&obs);
}

static void
test_other_install_refused(void **state)
{
	struct planned p = { 0 };
	struct fluxstate__obs_deployment *d;

	(void)state;
	residual(&p.obs, 1);
	d = fluxstate__obs_add_deployment(&p.obs);
	meta(&d->meta, "team-flux", "source-controller", 1);
	d->replicas = 1;
	plan(&p, FLUXSTATE_CLEANUP_FORCE);
	assert_int_equal(p.rc, FLUXSTATE_EREFUSED);
	done(&p);
}

static void
test_accessors_and_json(void **state)
{
	struct planned p = { 0 };
	const fluxstate_cleanup_step *s;
	char *json = NULL;

	(void)state;
	residual(&p.obs, 1);
	plan(&p, 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(fluxstate_cleanup_plan_get_n_steps(p.plan), p.plan->n_steps);
	assert_null(fluxstate_cleanup_plan_get_step(p.plan, p.plan->n_steps));
	s = fluxstate_cleanup_plan_get_step(p.plan, 0);
	assert_string_equal(fluxstate_cleanup_step_get_verb(s), "remove-finalizers");
	assert_string_equal(fluxstate_cleanup_step_get_namespace(s), "flux-system");
	assert_string_equal(fluxstate_cleanup_step_get_verb(NULL), "");
	assert_int_equal(fluxstate_cleanup_step_get_destructive(NULL), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_cleanup_plan_get_n_steps(NULL), 0);
	assert_int_equal(fluxstate_cleanup_plan_to_json(p.plan, &json), 0);
	assert_non_null(strstr(json, "\"steps\":[{\"phase\":\"finalizers\",\"verb\":\"remove-finalizers\""));
	assert_int_equal(fluxstate_cleanup_plan_to_json(NULL, &json) == FLUXSTATE_EINVAL, 1);
	fluxstate_free(json);
	fluxstate_cleanup_plan_free(NULL);
	done(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_residual_in_flux_uninstall_order),
		cmocka_unit_test(test_never_user_objects),
		cmocka_unit_test(test_keep_namespace),
		cmocka_unit_test(test_flux_v1_keeps_its_namespace),
		cmocka_unit_test(test_blind_spot_refused),
		cmocka_unit_test(test_states_refused),
		cmocka_unit_test(test_other_install_refused),
		cmocka_unit_test(test_accessors_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
