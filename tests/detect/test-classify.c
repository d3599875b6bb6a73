/*
 * Unit tests of the classifier (classify.c) and the Flux tables (fluxdata.c)
 * over hand-built observation sets: no I/O.
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
#include <yajl/yajl_tree.h>

#include "detect.h"

/* ---- builders ---- */

static void
meta(struct fluxstate__meta *m, const char *ns, const char *name)
{
	m->name = strdup(name);
	m->namespace = ns ? strdup(ns) : NULL;
	m->generation = 1;
}

static void
label(struct fluxstate__meta *m, const char *k, const char *v)
{
	assert_int_equal(fluxstate__meta_set_label(m, k, v), 0);
}

/* Labels `flux install` puts on everything (docs/states.md). */
static void
flux_labels(struct fluxstate__meta *m, const char *ns, const char *version, const char *component)
{
	label(m, FLUXSTATE__LABEL_PART_OF, "flux");
	label(m, FLUXSTATE__LABEL_INSTANCE, ns);
	if (version)
		label(m, FLUXSTATE__LABEL_VERSION, version);
	if (component)
		label(m, FLUXSTATE__LABEL_COMPONENT, component);
}

static struct fluxstate__obs_crd *
add_crd(struct fluxstate__observations *obs, const char *name, const char *version)
{
	const struct fluxstate__crd_info *info = fluxstate__crd_lookup(name);
	struct fluxstate__obs_crd *c = fluxstate__obs_add_crd(obs);

	assert_non_null(info);
	assert_non_null(c);
	meta(&c->meta, NULL, name);
	flux_labels(&c->meta, "flux-system", version, info->owner);
	c->group = strdup(info->group);
	c->kind = strdup(info->kind);
	c->plural = strdup(info->plural);
	c->storage_version = strdup("v1");
	assert_int_equal(fluxstate__strv_add(&c->served, &c->n_served, "v1"), 0);
	c->established = 1;
	return c;
}

static const char *const tags_275[] = { "v1.7.4", "v1.7.3", "v1.4.5", "v1.7.5", "v1.0.4", "v1.0.4", "v2.0.3" };

static struct fluxstate__obs_deployment *
add_ctrl(struct fluxstate__observations *obs, const char *ns, const char *name, const char *version,
	 const char *tag)
{
	struct fluxstate__obs_deployment *d = fluxstate__obs_add_deployment(obs);
	char image[128];

	assert_non_null(d);
	meta(&d->meta, ns, name);
	flux_labels(&d->meta, ns, version, name);
	label(&d->meta, "control-plane", "controller");
	d->replicas = 1;
	d->has_status = 1;
	d->observed_generation = 1;
	d->status_replicas = d->updated_replicas = d->ready_replicas = d->available_replicas = 1;
	d->available_status = strdup("True");
	d->progressing_status = strdup("True");
	d->progressing_reason = strdup("NewReplicaSetAvailable");
	snprintf(image, sizeof(image), "ghcr.io/fluxcd/%s:%s", name, tag);
	assert_int_equal(fluxstate__strv_add(&d->images, &d->n_images, image), 0);
	return d;
}

static struct fluxstate__obs_namespace *
add_ns(struct fluxstate__observations *obs, const char *name, int flux_labelled)
{
	struct fluxstate__obs_namespace *n = fluxstate__obs_add_namespace(obs);

	assert_non_null(n);
	meta(&n->meta, NULL, name);
	n->phase = strdup("Active");
	if (flux_labelled)
		flux_labels(&n->meta, name, "v2.7.5", NULL);
	return n;
}

static struct fluxstate__obs_object *
add_obj(struct fluxstate__observations *obs, const char *kind, const char *ns, const char *name, int labelled)
{
	struct fluxstate__obs_object *o = fluxstate__obs_add_object(obs);

	assert_non_null(o);
	o->kind = strdup(kind);
	o->api_version = strdup(strncmp(kind, "Cluster", 7) == 0 ? "rbac.authorization.k8s.io/v1" : "v1");
	meta(&o->meta, ns, name);
	if (labelled)
		flux_labels(&o->meta, ns ? ns : "flux-system", "v2.7.5", NULL);
	return o;
}

/* Counted like observe.c counts a listed one (obs->namespace set first); the kept element or NULL. */
static struct fluxstate__obs_cr *
add_cr(struct fluxstate__observations *obs, const char *kind, const char *api_version, const char *ns,
       const char *name, const char *finalizer, const char *deletion_timestamp)
{
	struct fluxstate__obs_cr c;
	size_t i;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < fluxstate__n_crds; i++)
		if (strcmp(fluxstate__crds[i].kind, kind) == 0 &&
		    strncmp(fluxstate__crds[i].group, api_version, strlen(fluxstate__crds[i].group)) == 0)
			c.info = &fluxstate__crds[i];
	assert_non_null(c.info);
	c.kind = strdup(kind);
	c.api_version = strdup(api_version);
	meta(&c.meta, ns, name);
	if (finalizer)
		assert_int_equal(fluxstate__meta_add_finalizer(&c.meta, finalizer), 0);
	if (deletion_timestamp)
		c.meta.deletion_timestamp = strdup(deletion_timestamp);
	assert_int_equal(fluxstate__obs_count_cr(obs, &c, 0), 0);
	fluxstate__obs_cr_clear(&c);
	return obs->n_crs && strcmp(obs->crs[obs->n_crs - 1].meta.name, name) == 0 ? &obs->crs[obs->n_crs - 1] : NULL;
}

static void
add_blind(struct fluxstate__observations *obs, const char *kind, const char *ns, unsigned int sight)
{
	struct fluxstate__blind_spot *b = fluxstate__obs_add_blind(obs);

	assert_non_null(b);
	b->kind = strdup(kind);
	b->api_version = strdup("v1");
	b->namespace = ns ? strdup(ns) : NULL;
	b->message = strdup("forbidden: User \"test\" cannot list resource");
	b->http_status = 403;
	b->sight = sight;
}

static void
base(struct fluxstate__observations *obs, const char *server)
{
	memset(obs, 0, sizeof(*obs));
	obs->namespace = strdup("flux-system");
	obs->namespace_source = FLUXSTATE__NS_DEFAULT;
	obs->server_version = server ? strdup(server) : NULL;
}

/* The core install of `flux install` v2.7.5 (4 controllers, 11 CRDs). */
static void
install_275(struct fluxstate__observations *obs, const char *ns)
{
	size_t i;

	add_ns(obs, ns, 1);
	for (i = 0; i < 11; i++)
		add_crd(obs, fluxstate__crds[i].name, "v2.7.5");
	for (i = 0; i < 4; i++)
		add_ctrl(obs, ns, fluxstate__controllers[i].name, "v2.7.5", tags_275[i]);
	add_obj(obs, "ClusterRole", NULL, "crd-controller-flux-system", 1);
	add_obj(obs, "ClusterRoleBinding", NULL, "cluster-reconciler-flux-system", 1);
	add_obj(obs, "ServiceAccount", ns, "source-controller", 1);
}

/* Drop Deployment @i (its controller was deleted). */
static void
deployment_clear_at(struct fluxstate__observations *obs, size_t i)
{
	assert_true(i < obs->n_deployments);
	/* observations.c frees one read's elements: give the victim a read of its own */
	obs->deployments[i].meta.read_id = 4242;
	fluxstate__obs_forget_read(obs, 4242);
}

static struct fluxstate_report *
classify(struct fluxstate__observations *obs)
{
	struct fluxstate_report *r = NULL;

	assert_int_equal(fluxstate__classify(obs, &r), 0);
	assert_non_null(r);
	fluxstate__observations_clear(obs);
	return r;
}

/* First finding matching all non-NULL fields. */
static const fluxstate_finding *
find(const struct fluxstate_report *r, const char *category, const char *problem, const char *name)
{
	size_t i;

	for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(r, i);

		if ((!category || strcmp(fluxstate_finding_get_category(f), category) == 0) &&
		    (!problem || strcmp(fluxstate_finding_get_problem(f), problem) == 0) &&
		    (!name || strcmp(fluxstate_finding_get_name(f), name) == 0))
			return f;
	}
	return NULL;
}

static void
assert_state(const struct fluxstate_report *r, int state)
{
	if (fluxstate_report_get_state(r) != state) {
		size_t i;

		print_error("state %s, expected %s: %s\n", fluxstate_state_to_string(fluxstate_report_get_state(r)),
			    fluxstate_state_to_string(state), fluxstate_report_get_summary(r));
		for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
			const fluxstate_finding *f = fluxstate_report_get_finding(r, i);

			print_error("  %s %s %s: %s\n", fluxstate_finding_get_category(f),
				    fluxstate_finding_get_problem(f), fluxstate_finding_get_name(f),
				    fluxstate_finding_get_reason(f));
		}
	}
	assert_int_equal(fluxstate_report_get_state(r), state);
}

/* ---- none ---- */

static void
test_empty_cluster_is_none(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.1");
	add_ns(&obs, "default", 0);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_NONE);
	assert_string_equal(fluxstate_report_get_action(r), "bootstrap");
	assert_string_equal(fluxstate_report_get_installer(r), "unknown");
	assert_null(fluxstate_report_get_version(r));
	assert_int_equal(fluxstate_report_get_server_supported(r), FLUXSTATE_ERROR);
	assert_int_equal(fluxstate_report_get_n_findings(r), 0);
	fluxstate_report_free(r);
}

static void
test_precreated_namespace_is_none_with_info(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.29.1+k3s1");
	add_ns(&obs, "flux-system", 0);
	add_obj(&obs, "Secret", "flux-system", "sops-age", 0);
	add_obj(&obs, "Secret", "flux-system", "deploy-key", 0);
	add_obj(&obs, "ConfigMap", "flux-system", "kube-root-ca.crt", 0);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_NONE);
	f = find(r, "namespace", "pre-created", "flux-system");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_INFO);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "Secret/sops-age"));
	assert_null(strstr(fluxstate_finding_get_reason(f), "kube-root-ca.crt"));
	fluxstate_report_free(r);
}

static void
test_none_with_hidden_secrets_is_unknown(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.29.1");
	add_ns(&obs, "flux-system", 0);
	add_blind(&obs, "Secret", "flux-system", FLUXSTATE__SEE_SECRETS);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
	assert_string_equal(fluxstate_report_get_action(r), "investigate");
	f = find(r, "access", "not-visible", "");
	assert_non_null(f);
	assert_string_equal(fluxstate_finding_get_kind(f), "Secret");
	assert_string_equal(fluxstate_finding_get_namespace(f), "flux-system");
	assert_true(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_VISIBLE);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_ERROR);
	assert_non_null(strstr(fluxstate_report_get_summary(r), "Secret"));
	fluxstate_report_free(r);
}

static void
test_none_each_decisive_blind_spot_is_unknown(void **state)
{
	static const unsigned int sights[] = {
		FLUXSTATE__SEE_CRDS, FLUXSTATE__SEE_CONTROLLERS, FLUXSTATE__SEE_NAMESPACES, FLUXSTATE__SEE_RBAC,
		FLUXSTATE__SEE_NS_OBJECTS, FLUXSTATE__SEE_SECRETS, FLUXSTATE__SEE_CRS,
		FLUXSTATE__SEE_FLUX_INSTANCE, FLUXSTATE__SEE_OPERATOR,
	};
	size_t i;

	for (i = 0; i < sizeof(sights) / sizeof(sights[0]); i++) {
		struct fluxstate__observations obs;
		struct fluxstate_report *r;

		base(&obs, NULL);
		add_blind(&obs, "Thing", NULL, sights[i]);
		r = classify(&obs);
		assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
		fluxstate_report_free(r);
	}
}

static void
test_none_hidden_configmaps_stays_none(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, NULL);
	add_blind(&obs, "ConfigMap", "flux-system", FLUXSTATE__SEE_CONFIGMAPS);
	add_blind(&obs, "", NULL, FLUXSTATE__SEE_SERVER);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_NONE);
	f = find(r, "access", "not-visible", NULL);
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_WARNING);
	fluxstate_report_free(r);
}

/* ---- residual ---- */

static void
test_crds_only_is_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.33.0");
	add_crd(&obs, "gitrepositories.source.toolkit.fluxcd.io", "v2.7.5");
	add_crd(&obs, "kustomizations.kustomize.toolkit.fluxcd.io", "v2.7.5");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	assert_string_equal(fluxstate_report_get_action(r), "cleanup");
	f = find(r, "crd", "present", "gitrepositories.source.toolkit.fluxcd.io");
	assert_non_null(f);
	assert_null(fluxstate_finding_get_namespace(f));
	assert_string_equal(fluxstate_finding_get_kind(f), "CustomResourceDefinition");
	assert_false(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL);
	assert_string_equal(fluxstate_report_get_version(r), "v2.7.5");
	assert_false(find(r, "controller", NULL, NULL));
	fluxstate_report_free(r);
}

static void
test_unlabelled_crd_is_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	struct fluxstate__obs_crd *c;
	size_t i;

	base(&obs, NULL);
	c = add_crd(&obs, "imagepolicies.image.toolkit.fluxcd.io", NULL);
	for (i = 0; i < c->meta.n_labels; i++)
		if (strcmp(c->meta.labels[i].key, FLUXSTATE__LABEL_PART_OF) == 0)
			c->meta.labels[i].value[0] = '\0';
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	assert_non_null(strstr(fluxstate_finding_get_reason(find(r, "crd", "present", NULL)), "no part-of"));
	fluxstate_report_free(r);
}

static void
test_bootstrapped_crd_blocks_flux_install(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	struct fluxstate__obs_crd *c;
	const fluxstate_finding *f;
	char *json = NULL;

	base(&obs, NULL);
	c = add_crd(&obs, "gitrepositories.source.toolkit.fluxcd.io", "v2.2.2");
	label(&c->meta, FLUXSTATE__LABEL_KS_NAME, "flux-system");
	label(&c->meta, FLUXSTATE__LABEL_KS_NAMESPACE, "flux-system");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	f = find(r, "crd", NULL, "gitrepositories.source.toolkit.fluxcd.io");
	assert_non_null(f);
	assert_true(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_ERROR);
	assert_string_equal(fluxstate_report_get_installer(r), "flux-bootstrap");
	assert_int_equal(fluxstate_report_to_json(r, &json), 0);
	assert_non_null(strstr(json, "\"bootstrapped\":true"));
	assert_non_null(strstr(json, "\"blocks-flux-install\""));
	fluxstate_free(json);
	fluxstate_report_free(r);
}

static void
test_terminating_crd_blocks_reinstall(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	struct fluxstate__obs_crd *c;
	const fluxstate_finding *f;

	base(&obs, NULL);
	c = add_crd(&obs, "helmreleases.helm.toolkit.fluxcd.io", "v2.7.5");
	c->meta.deletion_timestamp = strdup("2026-01-01T00:00:00Z");
	c->terminating = 1;
	c->terminating_reason = strdup("InstanceDeletionInProgress");
	add_cr(&obs, "HelmRelease", "helm.toolkit.fluxcd.io/v2", "apps", "podinfo", FLUXSTATE__FLUX_FINALIZER, NULL);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	f = find(r, "crd", "terminating", "helmreleases.helm.toolkit.fluxcd.io");
	assert_non_null(f);
	assert_true(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_BLOCKS_REINSTALL);
	assert_true(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_FINALIZER_BLOCKED);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "InstanceDeletionInProgress"));
	f = find(r, "custom-resource", "finalizer-blocked", "podinfo");
	assert_non_null(f);
	assert_string_equal(fluxstate_finding_get_namespace(f), "apps");
	fluxstate_report_free(r);
}

static void
test_terminating_namespace_after_delete_is_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	struct fluxstate__obs_namespace *n;
	const fluxstate_finding *f;
	size_t i;

	base(&obs, NULL);
	n = add_ns(&obs, "flux-system", 1);
	free(n->phase);
	n->phase = strdup("Terminating");
	n->meta.deletion_timestamp = strdup("2026-01-01T00:00:00Z");
	for (i = 0; i < 11; i++)
		add_crd(&obs, fluxstate__crds[i].name, "v2.7.5");
	add_cr(&obs, "Kustomization", "kustomize.toolkit.fluxcd.io/v1", "flux-system", "flux-system",
	       FLUXSTATE__FLUX_FINALIZER, "2026-01-01T00:00:00Z");
	add_cr(&obs, "GitRepository", "source.toolkit.fluxcd.io/v1", "flux-system", "flux-system",
	       FLUXSTATE__FLUX_FINALIZER, NULL);
	add_obj(&obs, "ClusterRole", NULL, "crd-controller-flux-system", 1);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	f = find(r, "namespace", "terminating", "flux-system");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_flags(f),
			 FLUXSTATE_FLAG_BLOCKS_REINSTALL | FLUXSTATE_FLAG_FINALIZER_BLOCKED);
	/* errors first */
	assert_int_equal(fluxstate_finding_get_severity(fluxstate_report_get_finding(r, 0)), FLUXSTATE_SEVERITY_ERROR);
	f = find(r, "custom-resource", "finalizer-blocked", "flux-system");
	assert_non_null(f);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "finalizers.fluxcd.io"));
	assert_non_null(find(r, "rbac", "present", "crd-controller-flux-system"));
	fluxstate_report_free(r);
}

static void
test_rbac_only_is_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, NULL);
	add_obj(&obs, "ClusterRoleBinding", NULL, "cluster-reconciler", 0);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	assert_non_null(strstr(fluxstate_finding_get_reason(find(r, "rbac", "present", "cluster-reconciler")),
			       "known Flux object name"));
	fluxstate_report_free(r);
}

static void
test_helm_release_secret_is_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, NULL);
	add_ns(&obs, "flux-system", 0);
	add_obj(&obs, "Secret", "flux-system", "sh.helm.release.v1.flux2.v1", 0);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	assert_non_null(find(r, "helm-release", "present", "sh.helm.release.v1.flux2.v1"));
	assert_null(find(r, "namespace", "pre-created", NULL));
	fluxstate_report_free(r);
}

static void
test_orphaned_flux_instance_is_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, NULL);
	add_crd(&obs, "fluxinstances.fluxcd.controlplane.io", NULL);
	add_cr(&obs, "FluxInstance", "fluxcd.controlplane.io/v1", "flux-system", "flux", FLUXSTATE__OPERATOR_FINALIZER, NULL);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	f = find(r, "flux-instance", "orphaned", "flux");
	assert_non_null(f);
	assert_true(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_FINALIZER_BLOCKED);
	assert_string_equal(fluxstate_report_get_installer(r), "flux-operator");
	fluxstate_report_free(r);
}

static void
test_residual_hidden_deployments_is_unknown(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, NULL);
	add_crd(&obs, "gitrepositories.source.toolkit.fluxcd.io", "v2.7.5");
	add_blind(&obs, "Deployment", "flux-system", FLUXSTATE__SEE_CONTROLLERS);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
	/* the partial evidence is still there */
	assert_non_null(find(r, "crd", "present", NULL));
	fluxstate_report_free(r);
}

static void
test_residual_hidden_secrets_stays_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, NULL);
	add_crd(&obs, "gitrepositories.source.toolkit.fluxcd.io", "v2.7.5");
	add_blind(&obs, "Secret", "flux-system", FLUXSTATE__SEE_SECRETS);
	add_blind(&obs, "ClusterRole", NULL, FLUXSTATE__SEE_RBAC);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	assert_non_null(find(r, "access", "not-visible", NULL));
	fluxstate_report_free(r);
}

/* ---- healthy ---- */

static void
test_healthy_cli_install(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	char *json = NULL;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_action(r), "none");
	assert_string_equal(fluxstate_report_get_version(r), "v2.7.5");
	assert_string_equal(fluxstate_report_get_installer(r), "flux-cli");
	assert_string_equal(fluxstate_report_get_namespace(r), "flux-system");
	assert_int_equal(fluxstate_report_get_server_supported(r), 1);
	assert_int_equal(fluxstate_report_get_n_findings(r), 0);
	assert_int_equal(r->n_components, 4);
	assert_string_equal(r->components[0].reason, "Deployment is available. Replicas: 1");
	assert_non_null(strstr(fluxstate_report_get_summary(r), "4/4"));
	assert_int_equal(fluxstate_report_to_json(r, &json), 0);
	assert_non_null(strstr(json, "\"installer\":\"flux-cli\""));
	assert_non_null(strstr(json, "\"fluxMinimum\":\"1.32.0\""));
	fluxstate_free(json);
	fluxstate_report_free(r);
}

static void
test_healthy_hidden_rbac_stays_healthy(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_blind(&obs, "ClusterRole", NULL, FLUXSTATE__SEE_RBAC);
	add_blind(&obs, "Secret", "flux-system", FLUXSTATE__SEE_SECRETS);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_int_equal(fluxstate_finding_get_severity(find(r, "access", "not-visible", NULL)),
			 FLUXSTATE_SEVERITY_WARNING);
	fluxstate_report_free(r);
}

static void
test_healthy_each_decisive_blind_spot_is_unknown(void **state)
{
	static const unsigned int sights[] = {
		FLUXSTATE__SEE_CRDS, FLUXSTATE__SEE_CONTROLLERS, FLUXSTATE__SEE_NAMESPACES,
		FLUXSTATE__SEE_CRS, FLUXSTATE__SEE_FLUX_INSTANCE, FLUXSTATE__SEE_OPERATOR,
	};
	size_t i;

	for (i = 0; i < sizeof(sights) / sizeof(sights[0]); i++) {
		struct fluxstate__observations obs;
		struct fluxstate_report *r;

		base(&obs, "v1.33.2");
		install_275(&obs, "flux-system");
		add_blind(&obs, "Thing", NULL, sights[i]);
		r = classify(&obs);
		assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
		/* components are still reported */
		assert_int_equal(r->n_components, 4);
		fluxstate_report_free(r);
	}
}

/* An unseen server could be older than this Flux's minimum: healthy cannot be claimed. */
static void
test_healthy_hidden_server_version_is_unknown(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, NULL);
	install_275(&obs, "flux-system");
	add_blind(&obs, "", NULL, FLUXSTATE__SEE_SERVER);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
	assert_int_equal(fluxstate_report_get_server_supported(r), -1);
	assert_int_equal(fluxstate_finding_get_severity(find(r, "access", "not-visible", NULL)), FLUXSTATE_SEVERITY_ERROR);
	assert_non_null(strstr(fluxstate_report_get_summary(r), "could not see the server version"));
	fluxstate_report_free(r);
}

/* Without a Flux version there is no minimum to miss: the server version cannot change it. */
static void
test_healthy_unknown_version_hidden_server_stays_healthy(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, NULL);
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < 11; i++)
		add_crd(&obs, fluxstate__crds[i].name, NULL);
	for (i = 0; i < 4; i++)
		add_ctrl(&obs, "flux-system", fluxstate__controllers[i].name, NULL, "custom-build");
	add_blind(&obs, "", NULL, FLUXSTATE__SEE_SERVER);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_null(fluxstate_report_get_version(r));
	assert_int_equal(fluxstate_finding_get_severity(find(r, "access", "not-visible", NULL)),
			 FLUXSTATE_SEVERITY_WARNING);
	fluxstate_report_free(r);
}

/* A server version does not make Flux appear or leftovers vanish. */
static void
test_hidden_server_version_keeps_none_and_residual(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, NULL);
	add_ns(&obs, "flux-system", 0);
	add_blind(&obs, "", NULL, FLUXSTATE__SEE_SERVER);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_NONE);
	fluxstate_report_free(r);

	base(&obs, NULL);
	add_crd(&obs, "gitrepositories.source.toolkit.fluxcd.io", "v2.7.5");
	add_blind(&obs, "", NULL, FLUXSTATE__SEE_SERVER);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	fluxstate_report_free(r);
}

/* Nothing may be called missing when its list was not visible. */
static void
test_hidden_crds_are_not_missing(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < 4; i++)
		add_ctrl(&obs, "flux-system", fluxstate__controllers[i].name, "v2.7.5", tags_275[i]);
	add_blind(&obs, "CustomResourceDefinition", NULL, FLUXSTATE__SEE_CRDS);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
	assert_null(find(r, "crd", "missing", NULL));
	assert_int_equal(fluxstate_finding_get_severity(find(r, "access", "not-visible", NULL)), FLUXSTATE_SEVERITY_ERROR);
	fluxstate_report_free(r);
}

static void
test_hidden_deployments_source_controller_not_missing(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < 11; i++)
		add_crd(&obs, fluxstate__crds[i].name, "v2.7.5");
	add_ctrl(&obs, "flux-system", "kustomize-controller", "v2.7.5", "v1.7.3");
	add_blind(&obs, "Deployment", "flux-system", FLUXSTATE__SEE_CONTROLLERS);
	add_crd(&obs, "imagepolicies.image.toolkit.fluxcd.io", "v2.7.5");
	add_cr(&obs, "ImagePolicy", "image.toolkit.fluxcd.io/v1", "apps", "podinfo", NULL, NULL);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
	assert_null(find(r, "controller", "missing", NULL));
	assert_null(find(r, "custom-resource", "orphaned", NULL));
	fluxstate_report_free(r);
}

static void
test_image_crs_without_controller_are_orphaned(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_crd(&obs, "imagepolicies.image.toolkit.fluxcd.io", "v2.7.5");
	add_cr(&obs, "ImagePolicy", "image.toolkit.fluxcd.io/v1", "apps", "podinfo", NULL, NULL);
	r = classify(&obs);
	/* its CRD says image-reflector-controller belongs to the install (#11 item 4) */
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "controller", "missing", "image-reflector-controller"));
	f = find(r, "custom-resource", "orphaned", NULL);
	assert_non_null(f);
	assert_string_equal(fluxstate_finding_get_kind(f), "ImagePolicy");
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "image-reflector-controller"));
	fluxstate_report_free(r);
}

static void
test_image_controllers_present_no_orphans(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_crd(&obs, "imagepolicies.image.toolkit.fluxcd.io", "v2.7.5");
	add_crd(&obs, "imagerepositories.image.toolkit.fluxcd.io", "v2.7.5");
	add_crd(&obs, "imageupdateautomations.image.toolkit.fluxcd.io", "v2.7.5");
	add_ctrl(&obs, "flux-system", "image-reflector-controller", "v2.7.5", "v1.0.4");
	add_ctrl(&obs, "flux-system", "image-automation-controller", "v2.7.5", "v1.0.4");
	add_cr(&obs, "ImagePolicy", "image.toolkit.fluxcd.io/v1", "apps", "podinfo", FLUXSTATE__FLUX_FINALIZER, NULL);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_int_equal(fluxstate_report_get_n_findings(r), 0);
	assert_int_equal(r->n_components, 6);
	fluxstate_report_free(r);
}

static void
test_terminating_image_cr_without_controller_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_crd(&obs, "imageupdateautomations.image.toolkit.fluxcd.io", "v2.7.5");
	add_cr(&obs, "ImageUpdateAutomation", "image.toolkit.fluxcd.io/v1", "e13", "home-e13-dev",
	       FLUXSTATE__FLUX_FINALIZER, "2026-01-01T00:00:00Z");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_true(fluxstate_finding_get_flags(find(r, "custom-resource", "finalizer-blocked", "home-e13-dev")) &
		    FLUXSTATE_FLAG_FINALIZER_BLOCKED);
	fluxstate_report_free(r);
}

static void
test_two_installs_other_install_finding(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_ctrl(&obs, "flux-tenant", "source-controller", "v2.7.5", "v1.7.4");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	f = find(r, "controller", "other-install", "flux-tenant");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_WARNING);
	assert_int_equal(r->n_components, 4);
	fluxstate_report_free(r);
}

static void
test_option_namespace_without_install_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	free(obs.namespace);
	obs.namespace = strdup("elsewhere");
	obs.namespace_source = FLUXSTATE__NS_OPTION;
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "controller", "other-install", "flux-system"));
	fluxstate_report_free(r);
}

/* ---- partial ---- */

/* Unlabelled controllers could run unseen in the asked-for namespace: no "other-install" error then. */
static void
test_option_namespace_hidden_deployments_is_unknown(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	free(obs.namespace);
	obs.namespace = strdup("elsewhere");
	obs.namespace_source = FLUXSTATE__NS_OPTION;
	add_blind(&obs, "Deployment", "elsewhere", FLUXSTATE__SEE_CONTROLLERS);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_UNKNOWN);
	assert_null(find(r, "controller", "other-install", NULL));
	fluxstate_report_free(r);
}

static void
test_unavailable_controller_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	obs.deployments[2].available_replicas = 0;
	obs.deployments[2].ready_replicas = 0;
	free(obs.deployments[2].available_status);
	obs.deployments[2].available_status = strdup("False");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_string_equal(fluxstate_report_get_action(r), "repair");
	f = find(r, "controller", "unavailable", "helm-controller");
	assert_non_null(f);
	assert_string_equal(fluxstate_finding_get_reason(f), "Available: 0/1");
	assert_non_null(strstr(fluxstate_report_get_summary(r), "Available: 0/1"));
	assert_false(r->components[2].ready);
	fluxstate_report_free(r);
}

static void
test_progress_deadline_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	free(obs.deployments[1].progressing_status);
	free(obs.deployments[1].progressing_reason);
	obs.deployments[1].progressing_status = strdup("False");
	obs.deployments[1].progressing_reason = strdup("ProgressDeadlineExceeded");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(strstr(fluxstate_finding_get_reason(find(r, "controller", "unavailable", "kustomize-controller")),
			       "ProgressDeadlineExceeded"));
	fluxstate_report_free(r);
}

static void
test_generation_not_observed_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	obs.deployments[3].meta.generation = 3;
	obs.deployments[3].observed_generation = 2;
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(strstr(fluxstate_finding_get_reason(find(r, "controller", "unavailable",
								 "notification-controller")), "observedGeneration 2"));
	fluxstate_report_free(r);
}

static void
test_zero_replicas_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	obs.deployments[0].replicas = 0;
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "controller", "unavailable", "source-controller"));
	fluxstate_report_free(r);
}

static void
test_source_controller_missing_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < 11; i++)
		add_crd(&obs, fluxstate__crds[i].name, "v2.7.5");
	for (i = 1; i < 4; i++)
		add_ctrl(&obs, "flux-system", fluxstate__controllers[i].name, "v2.7.5", tags_275[i]);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "controller", "missing", "source-controller"));
	fluxstate_report_free(r);
}

static void
test_crd_missing_or_not_established_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < 11; i++)
		if (strcmp(fluxstate__crds[i].kind, "HelmRelease") != 0)
			add_crd(&obs, fluxstate__crds[i].name, "v2.7.5");
	obs.crds[0].established = 0;
	for (i = 0; i < 4; i++)
		add_ctrl(&obs, "flux-system", fluxstate__controllers[i].name, "v2.7.5", tags_275[i]);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "crd", "missing", "helmreleases.helm.toolkit.fluxcd.io"));
	assert_non_null(find(r, "crd", "not-established", "gitrepositories.source.toolkit.fluxcd.io"));
	fluxstate_report_free(r);
}

static void
test_externalartifacts_required_only_from_v27(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	/* v2.4.0 has no ExternalArtifact CRD: not missing */
	base(&obs, "v1.30.0");
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < 11; i++)
		if (strcmp(fluxstate__crds[i].kind, "ExternalArtifact") != 0 &&
		    strcmp(fluxstate__crds[i].owner, "source-controller") == 0)
			add_crd(&obs, fluxstate__crds[i].name, "v2.4.0");
	add_ctrl(&obs, "flux-system", "source-controller", "v2.4.0", "v1.4.1");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	fluxstate_report_free(r);
}

static void
test_terminating_crd_with_controllers_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	obs.crds[7].meta.deletion_timestamp = strdup("2026-01-01T00:00:00Z");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_true(fluxstate_finding_get_flags(find(r, "crd", "terminating", NULL)) & FLUXSTATE_FLAG_BLOCKS_REINSTALL);
	fluxstate_report_free(r);
}

static void
test_terminating_namespace_with_controllers_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	obs.namespaces[0].meta.deletion_timestamp = strdup("2026-01-01T00:00:00Z");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "namespace", "terminating", "flux-system"));
	fluxstate_report_free(r);
}

static void
test_version_skew_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;
	size_t i;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	for (i = 0; i < obs.deployments[2].meta.n_labels; i++)
		if (strcmp(obs.deployments[2].meta.labels[i].key, FLUXSTATE__LABEL_VERSION) == 0) {
			free(obs.deployments[2].meta.labels[i].value);
			obs.deployments[2].meta.labels[i].value = strdup("v2.4.0");
		}
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	f = find(r, "controller", "skewed", "helm-controller");
	assert_non_null(f);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "v2.4.0"));
	assert_string_equal(fluxstate_report_get_version(r), "v2.7.5");
	fluxstate_report_free(r);
}

static void
test_image_tag_disagreeing_with_label_is_info(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	free(obs.deployments[0].images[0]);
	obs.deployments[0].images[0] = strdup("ghcr.io/fluxcd/source-controller:v1.9.4");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	f = find(r, "controller", "skewed", "source-controller");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_INFO);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "v2.9.4"));
	fluxstate_report_free(r);
}

/* A core install (4 controllers, 11 CRDs) whose controllers run @tags, labelled @label (NULL: install.yaml). */
static void
install_tags(struct fluxstate__observations *obs, const char *label, const char *const tags[4])
{
	size_t i;

	add_ns(obs, "flux-system", 1);
	for (i = 0; i < 11; i++)
		add_crd(obs, fluxstate__crds[i].name, label);
	for (i = 0; i < 4; i++)
		add_ctrl(obs, "flux-system", fluxstate__controllers[i].name, label, tags[i]);
}

/* The report on a core install on Kubernetes v1.33.2 (see install_tags). */
static struct fluxstate_report *
classify_install(const char *label, const char *const tags[4])
{
	struct fluxstate__observations obs;

	base(&obs, "v1.33.2");
	install_tags(&obs, label, tags);
	return classify(&obs);
}

static size_t
count_findings(const struct fluxstate_report *r, const char *category, const char *problem)
{
	size_t i, n = 0;

	for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(r, i);

		n += strcmp(fluxstate_finding_get_category(f), category) == 0 &&
		     strcmp(fluxstate_finding_get_problem(f), problem) == 0;
	}
	return n;
}

/* #11 item 1: v2.9.3 and v2.9.4 share helm- and kustomize-controller's tags. */
static const char *const tags_293[] = { "v1.9.3", "v1.9.4", "v1.6.3", "v1.9.2" };

static void
test_install_yaml_v293_by_image_tags(void **state)
{
	struct fluxstate_report *r;
	size_t i;

	r = classify_install(NULL, tags_293);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_version(r), "v2.9.3");
	assert_int_equal(count_findings(r, "controller", "skewed"), 0);
	for (i = 0; i < 4; i++)
		assert_string_equal(r->components[i].version, "v2.9.3");
	fluxstate_report_free(r);
}

static void
test_bootstrapped_v293_no_false_skew(void **state)
{
	struct fluxstate_report *r;

	r = classify_install("v2.9.3", tags_293);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_version(r), "v2.9.3");
	/* not even info: v2.9.3 ships helm-controller v1.6.3, whichever later release also does */
	assert_int_equal(count_findings(r, "controller", "skewed"), 0);
	fluxstate_report_free(r);
}

static void
test_shared_tag_alone_is_not_skew(void **state)
{
	static const char *const tags[] = { "v1.9.4", "v1.9.4", "v1.6.3", "v1.9.2" };
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	/* notification-controller v1.9.2 is v2.9.1–v2.9.3, source-controller v1.9.4 is v2.9.4: no one release */
	r = classify_install(NULL, tags);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_int_equal(count_findings(r, "controller", "skewed"), 1);
	assert_non_null(find(r, "controller", "skewed", "notification-controller"));
	assert_string_equal(fluxstate_report_get_version(r), "v2.9.4");
	fluxstate_report_free(r);

	/* helm-controller v1.6.3 alone fits v2.9.3 and v2.9.4: the latest, and no skew */
	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 1);
	add_crd(&obs, "helmreleases.helm.toolkit.fluxcd.io", NULL);
	add_ctrl(&obs, "flux-system", "helm-controller", NULL, "v1.6.3");
	r = classify(&obs);
	assert_int_equal(count_findings(r, "controller", "skewed"), 0);
	assert_string_equal(fluxstate_report_get_version(r), "v2.9.4");
	fluxstate_report_free(r);
}

static void
test_skew_by_image_tags(void **state)
{
	static const char *const tags[] = { "v1.9.3", "v1.9.4", "v1.4.5", "v1.9.2" };
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	r = classify_install(NULL, tags);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_string_equal(fluxstate_report_get_version(r), "v2.9.3");
	assert_int_equal(count_findings(r, "controller", "skewed"), 1);
	f = find(r, "controller", "skewed", "helm-controller");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_ERROR);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "v2.7.5"));
	fluxstate_report_free(r);
}

static void
test_release_newer_than_table_no_skew_claims(void **state)
{
	static const char *const tags[] = { "v1.10.0", "v1.10.0", "v1.7.0", "v1.10.0" };
	struct fluxstate_report *r;

	r = classify_install("v2.10.0", tags);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_version(r), "v2.10.0");
	assert_int_equal(count_findings(r, "controller", "skewed"), 0);
	assert_null(fluxstate_report_get_flux_minimum(r));
	fluxstate_report_free(r);

	/* an old image under a new label: no tag claims past the table either */
	r = classify_install("v2.10.0", tags_293);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_int_equal(count_findings(r, "controller", "skewed"), 0);
	fluxstate_report_free(r);
}

static void
add_flux_v1(struct fluxstate__observations *obs, const char *kind, const char *ns, const char *name)
{
	struct fluxstate__obs_object *o = fluxstate__obs_add_flux_v1(obs);

	assert_non_null(o);
	o->kind = strdup(kind);
	o->api_version = strdup(strcmp(kind, "Deployment") == 0 ? "apps/v1" : "apiextensions.k8s.io/v1");
	meta(&o->meta, ns, name);
}

/* #11 item 3: Flux v1 is its own warning, never Flux v2 evidence. */
static void
test_flux_v1_is_not_flux_v2(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.33.2");
	add_ns(&obs, "flux", 0);
	add_flux_v1(&obs, "CustomResourceDefinition", NULL, "helmreleases.helm.fluxcd.io");
	add_flux_v1(&obs, "Deployment", "flux", "helm-operator");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_NONE);
	f = find(r, "flux-v1", "present", "helm-operator");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_WARNING);
	assert_true(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_FLUX_V2);
	assert_non_null(find(r, "flux-v1", "present", "helmreleases.helm.fluxcd.io"));
	fluxstate_report_free(r);

	/* beside a healthy Flux v2 install: still healthy, the warning stays */
	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_flux_v1(&obs, "Deployment", "flux", "flux");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_non_null(find(r, "flux-v1", "present", "flux"));
	fluxstate_report_free(r);

	/* its Deployments hidden: still none (a v1 Deployment cannot make Flux v2 present) */
	base(&obs, "v1.33.2");
	add_blind(&obs, "Deployment", "flux", FLUXSTATE__SEE_FLUX_V1);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_NONE);
	fluxstate_report_free(r);
	assert_true(fluxstate__is_flux_v1_group("helm.fluxcd.io"));
	assert_false(fluxstate__is_flux_group("helm.fluxcd.io"));
	assert_true(fluxstate__is_flux_v1_deployment("x", "docker.io/fluxcd/helm-operator:1.4.4"));
	assert_false(fluxstate__is_flux_v1_deployment("x", "ghcr.io/fluxcd/flux-cli:v2.7.5"));
}

/* #11 item 4: the installed CRDs say which controllers belong to the install. */
static void
test_controller_missing_while_its_crds_stay(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;
	size_t i;

	/* kustomize-controller's Deployment deleted on a healthy install */
	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	deployment_clear_at(&obs, 1);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	f = find(r, "controller", "missing", "kustomize-controller");
	assert_non_null(f);
	assert_int_equal(fluxstate_finding_get_severity(f), FLUXSTATE_SEVERITY_ERROR);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), "kustomizations.kustomize.toolkit.fluxcd.io"));
	fluxstate_report_free(r);

	/* a minimal install (flux install --components=source-controller,kustomize-controller): healthy */
	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 1);
	for (i = 0; i < fluxstate__n_crds; i++)
		if (strcmp(fluxstate__crds[i].owner, "source-controller") == 0 ||
		    strcmp(fluxstate__crds[i].owner, "kustomize-controller") == 0)
			add_crd(&obs, fluxstate__crds[i].name, "v2.7.5");
	add_ctrl(&obs, "flux-system", "source-controller", "v2.7.5", "v1.7.4");
	add_ctrl(&obs, "flux-system", "kustomize-controller", "v2.7.5", "v1.7.3");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_null(find(r, "controller", "missing", NULL));
	fluxstate_report_free(r);

	/* CRDs hidden: a missing controller cannot be told from an unseen CRD list: no claim */
	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	deployment_clear_at(&obs, 2);
	add_blind(&obs, "CustomResourceDefinition", NULL, FLUXSTATE__SEE_CRDS);
	r = classify(&obs);
	assert_null(find(r, "controller", "missing", "helm-controller"));
	fluxstate_report_free(r);

	/* a Terminating CRD is going away, not a component of the install */
	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	deployment_clear_at(&obs, 3);
	for (i = 0; i < obs.n_crds; i++)
		if (strstr(obs.crds[i].meta.name, "notification"))
			obs.crds[i].terminating = 1;
	r = classify(&obs);
	assert_null(find(r, "controller", "missing", "notification-controller"));
	fluxstate_report_free(r);
}

static void
test_partial_with_blind_spot_stays_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	obs.deployments[0].available_replicas = 0;
	add_blind(&obs, "CustomResourceDefinition", NULL, FLUXSTATE__SEE_CRDS);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	fluxstate_report_free(r);
}

static void
test_server_too_old_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	const fluxstate_finding *f;

	base(&obs, "v1.29.1+k3s1");
	install_275(&obs, "flux-system");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_int_equal(fluxstate_report_get_server_supported(r), 0);
	f = find(r, "server", "unsupported-server", NULL);
	assert_non_null(f);
	assert_non_null(strstr(fluxstate_finding_get_reason(f), ">=1.32.0-0"));
	fluxstate_report_free(r);
}

static void
test_server_prerelease_and_build_metadata(void **state)
{
	static const struct {
		const char *server;
		int supported;
	} cases[] = {
		{ "v1.32.0-rc.1", 1 },          /* -0 in the constraint admits pre-releases */
		{ "v1.32.3+k3s1", 1 },
		{ "v1.33.1-eks-508b6b3", 1 },
		{ "v1.31.9-gke.1000", 0 },
		{ "v2.0.0", 1 },
		{ NULL, -1 },                   /* unknown server version */
		{ "garbage", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fluxstate__observations obs;
		struct fluxstate_report *r;

		base(&obs, cases[i].server);
		install_275(&obs, "flux-system");
		r = classify(&obs);
		assert_int_equal(r->supported, cases[i].supported);
		assert_state(r, cases[i].supported == 0 ? FLUXSTATE_INSTALL_PARTIAL : FLUXSTATE_INSTALL_HEALTHY);
		fluxstate_report_free(r);
	}
}

/* ---- installers ---- */

static void
test_installer_helm(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i, j;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	/* chart labels: version without "v", managed-by Helm */
	for (i = 0; i < obs.n_crds; i++)
		label(&obs.crds[i].meta, FLUXSTATE__LABEL_MANAGED_BY, "Helm");
	for (i = 0; i < obs.n_deployments; i++)
		for (j = 0; j < obs.deployments[i].meta.n_labels; j++)
			if (strcmp(obs.deployments[i].meta.labels[j].key, FLUXSTATE__LABEL_VERSION) == 0)
				strcpy(obs.deployments[i].meta.labels[j].value, "2.7.5");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_installer(r), "helm");
	assert_string_equal(r->managed_by, "Helm");
	assert_string_equal(fluxstate_report_get_version(r), "v2.7.5");
	fluxstate_report_free(r);
}

static void
test_installer_install_yaml_version_from_images(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, "v1.33.2");
	add_ns(&obs, "flux-system", 0);
	for (i = 0; i < 11; i++)
		add_crd(&obs, fluxstate__crds[i].name, NULL);
	for (i = 0; i < 4; i++)
		add_ctrl(&obs, "flux-system", fluxstate__controllers[i].name, NULL, tags_275[i]);
	add_obj(&obs, "ClusterRole", NULL, "crd-controller", 1);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_installer(r), "install-yaml");
	assert_string_equal(fluxstate_report_get_version(r), "v2.7.5");
	assert_string_equal(r->components[0].version, "v2.7.5");
	fluxstate_report_free(r);
}

static void
test_installer_bootstrap(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	size_t i;

	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	for (i = 0; i < obs.n_crds; i++) {
		label(&obs.crds[i].meta, FLUXSTATE__LABEL_KS_NAME, "flux-system");
		label(&obs.crds[i].meta, FLUXSTATE__LABEL_KS_NAMESPACE, "flux-system");
	}
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_installer(r), "flux-bootstrap");
	assert_true(r->bootstrapped);
	assert_null(find(r, "crd", NULL, NULL)); /* no blocks-flux-install while controllers run */
	fluxstate_report_free(r);

	/* #11 item 13: the sync Kustomization before kustomize-controller labelled the CRD: they agree */
	base(&obs, "v1.33.2");
	install_275(&obs, "flux-system");
	add_cr(&obs, "Kustomization", "kustomize.toolkit.fluxcd.io/v1", "flux-system", "flux-system", NULL, NULL);
	r = classify(&obs);
	assert_string_equal(fluxstate_report_get_installer(r), "flux-bootstrap");
	assert_int_equal(fluxstate_report_get_bootstrapped(r), 1);
	fluxstate_report_free(r);
}

static struct fluxstate__obs_cr *
operator_install(struct fluxstate__observations *obs, const char *ready, int with_operator)
{
	struct fluxstate__obs_deployment *d;
	struct fluxstate__obs_cr *fi;
	size_t i;

	install_275(obs, "flux-system");
	for (i = 0; i < obs->n_deployments; i++)
		label(&obs->deployments[i].meta, FLUXSTATE__LABEL_MANAGED_BY, "flux-operator");
	add_crd(obs, "fluxinstances.fluxcd.controlplane.io", NULL);
	if (with_operator) {
		d = add_ctrl(obs, "flux-system", "flux-operator", NULL, "v0.58.1");
		label(&d->meta, FLUXSTATE__LABEL_NAME, "flux-operator");
	}
	fi = add_cr(obs, "FluxInstance", "fluxcd.controlplane.io/v1", "flux-system", "flux",
		    FLUXSTATE__OPERATOR_FINALIZER, NULL);
	assert_non_null(fi);
	fi->ready_status = strdup(ready);
	fi->ready_reason = strdup(strcmp(ready, "True") == 0 ? "ReconciliationSucceeded" : "HealthCheckFailed");
	return fi;
}

static void
test_operator_ready_is_healthy(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	operator_install(&obs, "True", 1);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_HEALTHY);
	assert_string_equal(fluxstate_report_get_installer(r), "flux-operator");
	assert_string_equal(r->managed_by, "flux-operator");
	/* the operator is not a Flux component */
	assert_int_equal(r->n_components, 4);
	fluxstate_report_free(r);
}

static void
test_operator_not_ready_or_stalled_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	struct fluxstate__obs_cr *fi;

	base(&obs, "v1.33.2");
	operator_install(&obs, "False", 1);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(strstr(fluxstate_finding_get_reason(find(r, "flux-instance", "not-ready", "flux")),
			       "HealthCheckFailed"));
	fluxstate_report_free(r);

	base(&obs, "v1.33.2");
	fi = operator_install(&obs, "True", 1);
	fi->stalled_status = strdup("True");
	fi->stalled_reason = strdup("BuildFailed");
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(strstr(fluxstate_finding_get_reason(find(r, "flux-instance", "not-ready", "flux")),
			       "Stalled=True (BuildFailed)"));
	fluxstate_report_free(r);
}

static void
test_operator_gone_with_controllers_is_partial(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;

	base(&obs, "v1.33.2");
	operator_install(&obs, "True", 0);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_PARTIAL);
	assert_non_null(find(r, "flux-instance", "orphaned", "flux"));
	fluxstate_report_free(r);
}

/* ---- report object and JSON ---- */

static void
test_report_json_shape(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	char *json = NULL, err[256];
	yajl_val root, v;
	const char *p_state[] = { "state", NULL };
	const char *p_findings[] = { "findings", NULL };
	const char *p_components[] = { "components", NULL };
	const char *p_kube[] = { "kubernetes", "supported", NULL };
	const char *p_managed[] = { "managedBy", NULL };

	base(&obs, "v1.29.1+k3s1");
	install_275(&obs, "flux-system");
	obs.n_requests = 17;
	r = classify(&obs);
	assert_int_equal(fluxstate_report_to_json(r, &json), 0);
	root = yajl_tree_parse(json, err, sizeof(err));
	assert_non_null(root);
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, p_state, yajl_t_string)), "partial");
	v = yajl_tree_get(root, p_findings, yajl_t_array);
	assert_non_null(v);
	assert_int_equal(YAJL_GET_ARRAY(v)->len, fluxstate_report_get_n_findings(r));
	v = yajl_tree_get(root, p_components, yajl_t_array);
	assert_int_equal(YAJL_GET_ARRAY(v)->len, 4);
	assert_true(YAJL_IS_FALSE(yajl_tree_get(root, p_kube, yajl_t_any)));
	assert_true(YAJL_IS_NULL(yajl_tree_get(root, p_managed, yajl_t_any)));
	assert_non_null(strstr(json, "\"schema\":\"fluxstate.report/v1\""));
	assert_non_null(strstr(json, "\"requests\":17"));
	yajl_tree_free(root);
	fluxstate_free(json);
	fluxstate_report_free(r);
}

static void
test_report_null_accessors(void **state)
{
	assert_int_equal(fluxstate_report_get_state(NULL), FLUXSTATE_INSTALL_UNKNOWN);
	assert_string_equal(fluxstate_report_get_action(NULL), "investigate");
	assert_string_equal(fluxstate_report_get_installer(NULL), "unknown");
	assert_string_equal(fluxstate_report_get_summary(NULL), "");
	assert_null(fluxstate_report_get_namespace(NULL));
	assert_int_equal(fluxstate_report_get_server_supported(NULL), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_report_get_n_findings(NULL), 0);
	assert_null(fluxstate_report_get_finding(NULL, 0));
	assert_int_equal(fluxstate_report_to_json(NULL, NULL), FLUXSTATE_EINVAL);
	assert_string_equal(fluxstate_finding_get_kind(NULL), "");
	assert_null(fluxstate_finding_get_namespace(NULL));
	assert_int_equal(fluxstate_finding_get_flags(NULL), 0);
	fluxstate_report_free(NULL);
	assert_int_equal(fluxstate__classify(NULL, NULL), FLUXSTATE_EINVAL);
}

static void
test_many_finalizer_crs_are_capped(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	char name[32];
	size_t i;

	base(&obs, NULL);
	add_crd(&obs, "helmreleases.helm.toolkit.fluxcd.io", "v2.7.5");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "hr-%zu", i);
		add_cr(&obs, "HelmRelease", "helm.toolkit.fluxcd.io/v2", "apps", name, FLUXSTATE__FLUX_FINALIZER, NULL);
	}
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	/* 25 listed + 1 summary + the CRD */
	assert_int_equal(fluxstate_report_get_n_findings(r), 27);
	assert_non_null(strstr(fluxstate_report_get_summary(r), "41 leftover"));
	fluxstate_report_free(r);
}

/* Only the examples a report lists are kept, whatever order the objects come in. */
static void
test_cr_examples_are_the_first_by_name(void **state)
{
	struct fluxstate__observations obs;
	struct fluxstate_report *r;
	char name[32];
	size_t i, listed = 0;
	int n;
	char seen[FLUXSTATE__MAX_CR_EXAMPLES] = { 0 };

	base(&obs, NULL);
	add_crd(&obs, "helmreleases.helm.toolkit.fluxcd.io", "v2.7.5");
	for (n = 99; n >= 0; n--) {
		snprintf(name, sizeof(name), "hr-%03d", n);
		add_cr(&obs, "HelmRelease", "helm.toolkit.fluxcd.io/v2", "apps", name, FLUXSTATE__FLUX_FINALIZER,
		       n % 2 ? "2026-01-01T00:00:00Z" : NULL);
	}
	assert_true(obs.n_crs <= 2 * FLUXSTATE__MAX_CR_EXAMPLES);
	r = classify(&obs);
	assert_state(r, FLUXSTATE_INSTALL_RESIDUAL);
	for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(r, i);

		if (strcmp(fluxstate_finding_get_kind(f), "HelmRelease") != 0)
			continue;
		if (!*fluxstate_finding_get_name(f)) {
			assert_non_null(strstr(fluxstate_finding_get_reason(f), "75 more HelmRelease"));
			continue;
		}
		/* the first 25 by name, each once (findings are ordered by the report) */
		assert_int_equal(sscanf(fluxstate_finding_get_name(f), "hr-%d", &n), 1);
		assert_true(n >= 0 && n < FLUXSTATE__MAX_CR_EXAMPLES && !seen[n]);
		seen[n] = 1;
		listed++;
	}
	assert_int_equal(listed, FLUXSTATE__MAX_CR_EXAMPLES);
	fluxstate_report_free(r);
}

/* ---- fluxdata ---- */

static void
test_fluxdata_tables(void **state)
{
	int a, b, c, suffixed;
	char *v;

	assert_int_equal(fluxstate__parse_semver("v1.29.1+k3s1", &a, &b, &c), 0);
	assert_int_equal(a * 10000 + b * 100 + c, 12901);
	assert_int_equal(fluxstate__parse_semver("1.33", &a, &b, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(fluxstate__parse_semver("v1.x", &a, &b, &c), -1);
	assert_int_equal(fluxstate__parse_semver("", &a, &b, &c), -1);
	assert_int_equal(fluxstate__parse_semver(NULL, &a, &b, &c), -1);
	v = fluxstate__normalize_version("2.8.5");
	assert_string_equal(v, "v2.8.5");
	free(v);
	assert_null(fluxstate__normalize_version("latest"));
	assert_string_equal(fluxstate__kube_minimum("v2.2.2"), "1.26.0");
	assert_string_equal(fluxstate__kube_minimum("2.4.0"), "1.28.0");
	assert_string_equal(fluxstate__kube_minimum("v2.9.4"), "1.33.0");
	assert_null(fluxstate__kube_minimum("v2.10.0"));
	assert_null(fluxstate__kube_minimum("v0.41.2"));
	assert_string_equal(fluxstate__version_for_image("helm-controller", "v0.37.2"), "v2.2.2");
	assert_string_equal(fluxstate__version_for_image("source-controller", "1.9.4"), "v2.9.4");
	assert_null(fluxstate__version_for_image("source-controller", "v9.9.9"));
	assert_null(fluxstate__version_for_image("nope", "v1.0.0"));
	assert_true(fluxstate__is_flux_rbac_name("ClusterRole", "crd-controller", "flux-system", &suffixed));
	assert_false(suffixed);
	assert_true(fluxstate__is_flux_rbac_name("ClusterRole", "flux-view-flux", "flux", &suffixed));
	assert_true(suffixed);
	assert_false(fluxstate__is_flux_rbac_name("ClusterRole", "flux-view-other", "flux", &suffixed));
	assert_false(fluxstate__is_flux_rbac_name("ClusterRole", "admin", "flux", NULL));
	assert_true(fluxstate__is_flux_group("source.toolkit.fluxcd.io"));
	assert_true(fluxstate__is_flux_group("fluxcd.controlplane.io"));
	assert_false(fluxstate__is_flux_group("notfluxcd.io"));
	assert_non_null(fluxstate__crd_lookup("artifactgenerators.source.extensions.fluxcd.io"));
	assert_int_equal(fluxstate__n_controllers, 7);
}

/* The generated table holds every release of flux-releases.tsv, in order. */
static void
test_release_table(void **state)
{
	const struct fluxstate__release *rel;
	size_t i;

	assert_int_equal(fluxstate__n_releases, 38);
	assert_string_equal(fluxstate__releases[0].flux, "v2.0.0");
	assert_string_equal(fluxstate__releases[fluxstate__n_releases - 1].flux, "v2.9.4");
	for (i = 1; i < fluxstate__n_releases; i++)
		assert_true(fluxstate__releases[i - 1].minor < fluxstate__releases[i].minor ||
			    (fluxstate__releases[i - 1].minor == fluxstate__releases[i].minor &&
			     fluxstate__releases[i - 1].patch < fluxstate__releases[i].patch));
	rel = fluxstate__release_lookup("v2.9.3");
	assert_non_null(rel);
	assert_true(fluxstate__release_ships(rel, "helm-controller", "v1.6.3"));
	assert_true(fluxstate__release_ships(rel, "kustomize-controller", "1.9.4"));
	assert_false(fluxstate__release_ships(rel, "source-controller", "v1.9.4"));
	assert_true(fluxstate__release_ships(fluxstate__release_lookup("2.9.4"), "helm-controller", "v1.6.3"));
	assert_false(fluxstate__release_ships(fluxstate__release_lookup("v2.6.4"), "source-watcher", "v2.0.3"));
	assert_string_equal(fluxstate__version_for_image("helm-controller", "v1.6.3"), "v2.9.4");
	assert_string_equal(fluxstate__version_for_image("image-automation-controller", "v0.41.1"), "v2.6.2");
	assert_null(fluxstate__release_lookup("v2.9.5"));
	assert_null(fluxstate__release_lookup("v2.9.3-rc.1"));
	assert_true(fluxstate__release_newer_than_table("v2.10.0"));
	assert_false(fluxstate__release_newer_than_table("v2.9.4"));
	/* the Kubernetes minimum per release; a patch the table lacks takes its minor's */
	assert_string_equal(fluxstate__kube_minimum("v2.1.2"), "1.25.0");
	assert_string_equal(fluxstate__kube_minimum("v2.5.1"), "1.30.0");
	assert_string_equal(fluxstate__kube_minimum("v2.8.9"), "1.33.0");
	assert_string_equal(fluxstate__kube_minimum("v2.7.0-rc.1"), "1.32.0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_cluster_is_none),
		cmocka_unit_test(test_install_yaml_v293_by_image_tags),
		cmocka_unit_test(test_bootstrapped_v293_no_false_skew),
		cmocka_unit_test(test_shared_tag_alone_is_not_skew),
		cmocka_unit_test(test_skew_by_image_tags),
		cmocka_unit_test(test_release_newer_than_table_no_skew_claims),
		cmocka_unit_test(test_release_table),
		cmocka_unit_test(test_flux_v1_is_not_flux_v2),
		cmocka_unit_test(test_controller_missing_while_its_crds_stay),
		cmocka_unit_test(test_option_namespace_hidden_deployments_is_unknown),
		cmocka_unit_test(test_healthy_hidden_server_version_is_unknown),
		cmocka_unit_test(test_healthy_unknown_version_hidden_server_stays_healthy),
		cmocka_unit_test(test_hidden_server_version_keeps_none_and_residual),
		cmocka_unit_test(test_precreated_namespace_is_none_with_info),
		cmocka_unit_test(test_none_with_hidden_secrets_is_unknown),
		cmocka_unit_test(test_none_each_decisive_blind_spot_is_unknown),
		cmocka_unit_test(test_none_hidden_configmaps_stays_none),
		cmocka_unit_test(test_crds_only_is_residual),
		cmocka_unit_test(test_unlabelled_crd_is_residual),
		cmocka_unit_test(test_bootstrapped_crd_blocks_flux_install),
		cmocka_unit_test(test_terminating_crd_blocks_reinstall),
		cmocka_unit_test(test_terminating_namespace_after_delete_is_residual),
		cmocka_unit_test(test_rbac_only_is_residual),
		cmocka_unit_test(test_helm_release_secret_is_residual),
		cmocka_unit_test(test_orphaned_flux_instance_is_residual),
		cmocka_unit_test(test_residual_hidden_deployments_is_unknown),
		cmocka_unit_test(test_residual_hidden_secrets_stays_residual),
		cmocka_unit_test(test_healthy_cli_install),
		cmocka_unit_test(test_healthy_hidden_rbac_stays_healthy),
		cmocka_unit_test(test_healthy_each_decisive_blind_spot_is_unknown),
		cmocka_unit_test(test_hidden_crds_are_not_missing),
		cmocka_unit_test(test_hidden_deployments_source_controller_not_missing),
		cmocka_unit_test(test_image_crs_without_controller_are_orphaned),
		cmocka_unit_test(test_image_controllers_present_no_orphans),
		cmocka_unit_test(test_terminating_image_cr_without_controller_is_partial),
		cmocka_unit_test(test_two_installs_other_install_finding),
		cmocka_unit_test(test_option_namespace_without_install_is_partial),
		cmocka_unit_test(test_unavailable_controller_is_partial),
		cmocka_unit_test(test_progress_deadline_is_partial),
		cmocka_unit_test(test_generation_not_observed_is_partial),
		cmocka_unit_test(test_zero_replicas_is_partial),
		cmocka_unit_test(test_source_controller_missing_is_partial),
		cmocka_unit_test(test_crd_missing_or_not_established_is_partial),
		cmocka_unit_test(test_externalartifacts_required_only_from_v27),
		cmocka_unit_test(test_terminating_crd_with_controllers_is_partial),
		cmocka_unit_test(test_terminating_namespace_with_controllers_is_partial),
		cmocka_unit_test(test_version_skew_is_partial),
		cmocka_unit_test(test_image_tag_disagreeing_with_label_is_info),
		cmocka_unit_test(test_partial_with_blind_spot_stays_partial),
		cmocka_unit_test(test_server_too_old_is_partial),
		cmocka_unit_test(test_server_prerelease_and_build_metadata),
		cmocka_unit_test(test_installer_helm),
		cmocka_unit_test(test_installer_install_yaml_version_from_images),
		cmocka_unit_test(test_installer_bootstrap),
		cmocka_unit_test(test_operator_ready_is_healthy),
		cmocka_unit_test(test_operator_not_ready_or_stalled_is_partial),
		cmocka_unit_test(test_operator_gone_with_controllers_is_partial),
		cmocka_unit_test(test_report_json_shape),
		cmocka_unit_test(test_report_null_accessors),
		cmocka_unit_test(test_many_finalizer_crs_are_capped),
		cmocka_unit_test(test_cr_examples_are_the_first_by_name),
		cmocka_unit_test(test_fluxdata_tables),
	};

	return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
