/*
 * The classifier: a pure function from observed facts to a report (state,
 * findings, installer, versions). No I/O; the contract is docs/states.md.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "detect.h"

#define CRD_API "apiextensions.k8s.io/v1"
#define MAX_CR_FINDINGS_PER_KIND FLUXSTATE__MAX_CR_EXAMPLES

#define ADD(...) do { if (!fluxstate__report_add_finding(__VA_ARGS__)) goto oom; } while (0)

/* Working state of one classification. */
struct cls {
	const struct fluxstate__observations *obs;
	struct fluxstate_report *r;
	const char *ns;

	/* indices into obs->deployments */
	size_t *mine;                   /* Flux controllers in the inspected namespace */
	size_t n_mine;
	size_t *other;                  /* Flux controllers elsewhere */
	size_t n_other;
	size_t n_operator;              /* flux-operator Deployments anywhere */
	int operator_ready;

	const struct fluxstate__obs_crd *gitrepo_crd;
	const struct fluxstate__obs_namespace *ns_obj;
	int ns_terminating;
	const struct fluxstate__obs_cr *flux_instance;
	struct ctrl_version *cv;        /* per component (c->mine order): what it says of the version */

	unsigned int blind;             /* FLUXSTATE__SEE_* of the failed reads */
	unsigned int n_errors;          /* error findings that make a present install partial */
	unsigned int n_traces;          /* leftovers (residual evidence) */
	const char *first_error;        /* reason of the first error finding, for the summary */
};

static int
is_flux_labelled(const struct fluxstate__meta *m)
{
	return fluxstate__streq(fluxstate__meta_label(m, FLUXSTATE__LABEL_PART_OF), "flux");
}

static int
is_operator_deployment(const struct fluxstate__obs_deployment *d)
{
	return fluxstate__streq(d->meta.name, "flux-operator") ||
	       fluxstate__streq(fluxstate__meta_label(&d->meta, FLUXSTATE__LABEL_NAME), "flux-operator");
}

/* The controller a Deployment runs: component label, else its name. */
static const char *
component_of(const struct fluxstate__obs_deployment *d)
{
	const char *c = fluxstate__meta_label(&d->meta, FLUXSTATE__LABEL_COMPONENT);

	if (c && fluxstate__controller_lookup(c))
		return c;
	return d->meta.name;
}

static const char *
image_tag(const char *image)
{
	const char *slash, *colon, *at;

	if (!image)
		return NULL;
	at = strchr(image, '@');
	slash = strrchr(image, '/');
	colon = strrchr(slash ? slash : image, ':');
	if (!colon || (at && colon > at))
		return NULL;
	return colon + 1;
}

/* The controller's image tag without a digest ("v1.6.3@sha256:…" -> "v1.6.3"), or NULL. */
static char *
deployment_tag(const struct fluxstate__obs_deployment *d)
{
	const char *t = d->n_images ? image_tag(d->images[0]) : NULL;
	char *copy = t ? fluxstate__strdup(t) : NULL;

	if (copy && strchr(copy, '@'))
		*strchr(copy, '@') = '\0';
	return copy;
}

/*
 * What one controller says about the Flux version: its version label, or
 * the releases that ship its image tag (often several: v2.9.3 and v2.9.4
 * both ship helm-controller v1.6.3). Neither: it says nothing.
 */
struct ctrl_version {
	char *label;                    /* normalised version label, or NULL */
	char *tag;                      /* image tag, or NULL */
	const char *component;
	int tag_known;                  /* some release in the table ships the tag */
};

/* Is release @rel consistent with what the controller says? 1 also when it says nothing. */
static int
ctrl_allows(const struct ctrl_version *v, const struct fluxstate__release *rel)
{
	if (v->label)
		return fluxstate__release_lookup(v->label) == rel;
	if (v->tag_known)
		return fluxstate__release_ships(rel, v->component, v->tag);
	return 1;
}

static int
ctrl_says_something(const struct ctrl_version *v)
{
	return v->label || v->tag_known;
}

/* kstatus for Deployments (sigs.k8s.io/cli-utils pkg/kstatus), stricter on 0 replicas. */
static int
deployment_ready(const struct fluxstate__obs_deployment *d, char **ret_reason)
{
	long long want = d->replicas;

	*ret_reason = NULL;
	if (d->meta.deletion_timestamp) {
		*ret_reason = fluxstate__strdup("Deployment is terminating (deletionTimestamp set)");
		return 0;
	}
	if (want == 0) {
		*ret_reason = fluxstate__strdup("Deployment is scaled to 0 replicas");
		return 0;
	}
	if (!d->has_status) {
		*ret_reason = fluxstate__strdup("Deployment has no status yet");
		return 0;
	}
	if (d->meta.generation > d->observed_generation) {
		*ret_reason = fluxstate__asprintf("Deployment generation %lld not observed yet (observedGeneration %lld)",
						  d->meta.generation, d->observed_generation);
		return 0;
	}
	if (fluxstate__streq(d->progressing_reason, "ProgressDeadlineExceeded")) {
		*ret_reason = fluxstate__asprintf("Progress deadline exceeded: condition Progressing=%s (ProgressDeadlineExceeded)%s%s",
						  d->progressing_status ? d->progressing_status : "False",
						  d->progressing_message ? ": " : "",
						  d->progressing_message ? d->progressing_message : "");
		return 0;
	}
	if (d->updated_replicas < want) {
		*ret_reason = fluxstate__asprintf("Updated: %lld/%lld", d->updated_replicas, want);
		return 0;
	}
	if (d->status_replicas > d->updated_replicas) {
		*ret_reason = fluxstate__asprintf("Pending termination: %lld", d->status_replicas - d->updated_replicas);
		return 0;
	}
	if (d->available_replicas < want) {
		*ret_reason = fluxstate__asprintf("Available: %lld/%lld", d->available_replicas, want);
		return 0;
	}
	if (d->ready_replicas < want) {
		*ret_reason = fluxstate__asprintf("Ready: %lld/%lld", d->ready_replicas, want);
		return 0;
	}
	if (d->available_status && !fluxstate__streq(d->available_status, "True")) {
		*ret_reason = fluxstate__asprintf("condition Available=%s%s%s", d->available_status,
						  d->available_message ? ": " : "",
						  d->available_message ? d->available_message : "");
		return 0;
	}
	*ret_reason = fluxstate__asprintf("Deployment is available. Replicas: %lld", d->available_replicas);
	return 1;
}

static int
crd_terminating(const struct fluxstate__obs_crd *c)
{
	return c->meta.deletion_timestamp || c->terminating;
}

static const struct fluxstate__obs_crd *
find_crd(const struct fluxstate__observations *obs, const char *name)
{
	size_t i;

	for (i = 0; i < obs->n_crds; i++)
		if (fluxstate__streq(obs->crds[i].meta.name, name))
			return &obs->crds[i];
	return NULL;
}

static const struct fluxstate__obs_deployment *
find_mine(const struct cls *c, const char *component)
{
	size_t i;

	for (i = 0; i < c->n_mine; i++) {
		const struct fluxstate__obs_deployment *d = &c->obs->deployments[c->mine[i]];

		if (fluxstate__streq(component_of(d), component))
			return d;
	}
	return NULL;
}

static int
cr_is_flux_instance(const struct fluxstate__obs_cr *cr)
{
	return fluxstate__streq(cr->kind, "FluxInstance");
}

static void
note_error(struct cls *c, const struct fluxstate_finding *f)
{
	c->n_errors++;
	if (!c->first_error && f)
		c->first_error = f->reason;
}

#define ERR(...) do { \
		struct fluxstate_finding *f_ = fluxstate__report_add_finding(__VA_ARGS__); \
		if (!f_) \
			goto oom; \
		note_error(c, f_); \
	} while (0)

/* ---- partition ---- */

static int
partition(struct cls *c)
{
	const struct fluxstate__observations *obs = c->obs;
	size_t i;

	c->mine = calloc(obs->n_deployments + 1, sizeof(*c->mine));
	c->other = calloc(obs->n_deployments + 1, sizeof(*c->other));
	if (!c->mine || !c->other)
		return -1;
	for (i = 0; i < obs->n_deployments; i++) {
		const struct fluxstate__obs_deployment *d = &obs->deployments[i];

		if (is_operator_deployment(d)) {
			char *why = NULL;

			c->n_operator++;
			if (deployment_ready(d, &why))
				c->operator_ready = 1;
			free(why);
			continue;
		}
		if (!is_flux_labelled(&d->meta) && !fluxstate__controller_lookup(d->meta.name))
			continue;
		if (fluxstate__streq(d->meta.namespace, c->ns))
			c->mine[c->n_mine++] = i;
		else if (is_flux_labelled(&d->meta))
			c->other[c->n_other++] = i;
	}
	c->gitrepo_crd = find_crd(obs, "gitrepositories.source.toolkit.fluxcd.io");
	for (i = 0; i < obs->n_namespaces; i++)
		if (fluxstate__streq(obs->namespaces[i].meta.name, c->ns))
			c->ns_obj = &obs->namespaces[i];
	if (c->ns_obj)
		c->ns_terminating = c->ns_obj->meta.deletion_timestamp ||
				    fluxstate__streq(c->ns_obj->phase, "Terminating");
	for (i = 0; i < obs->n_crs; i++)
		if (cr_is_flux_instance(&obs->crs[i]) &&
		    (!c->flux_instance || fluxstate__streq(obs->crs[i].meta.namespace, c->ns)))
			c->flux_instance = &obs->crs[i];
	return 0;
}

/* ---- installer, version, managed-by ---- */

static const char *
label_any(const struct cls *c, const char *key)
{
	const char *v = NULL;
	size_t i;

	if (c->gitrepo_crd && (v = fluxstate__meta_label(&c->gitrepo_crd->meta, key)))
		return v;
	for (i = 0; i < c->n_mine; i++)
		if ((v = fluxstate__meta_label(&c->obs->deployments[c->mine[i]].meta, key)))
			return v;
	for (i = 0; i < c->obs->n_crds; i++)
		if ((v = fluxstate__meta_label(&c->obs->crds[i].meta, key)))
			return v;
	return NULL;
}

static int
has_cr(const struct cls *c, const char *kind, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < c->obs->n_crs; i++) {
		const struct fluxstate__obs_cr *cr = &c->obs->crs[i];

		if (fluxstate__streq(cr->kind, kind) && fluxstate__streq(cr->meta.namespace, ns) &&
		    fluxstate__streq(cr->meta.name, name))
			return 1;
	}
	return 0;
}

static const char *
detect_installer(const struct cls *c)
{
	const char *managed = label_any(c, FLUXSTATE__LABEL_MANAGED_BY);
	int any_flux = c->n_mine || c->obs->n_crds;

	if (c->flux_instance || fluxstate__streq(managed, "flux-operator") ||
	    label_any(c, FLUXSTATE__LABEL_OPERATOR_NAME))
		return "flux-operator";
	/* the operator may watch a Flux it does not manage: only decisive without controllers */
	if (c->n_operator && !c->n_mine)
		return "flux-operator";
	if (fluxstate__streq(managed, "Helm") || label_any(c, FLUXSTATE__LABEL_HELM_CHART))
		return "helm";
	if (!any_flux)
		return "unknown";
	/* kustomize-controller's owner labels, or the sync Kustomization `flux bootstrap` commits */
	if (label_any(c, FLUXSTATE__LABEL_KS_NAME) || has_cr(c, "Kustomization", c->ns, c->ns))
		return "flux-bootstrap";
	if (label_any(c, FLUXSTATE__LABEL_VERSION))
		return "flux-cli";
	if (label_any(c, FLUXSTATE__LABEL_PART_OF))
		return "install-yaml";
	return "unknown";
}

/* ---- components ---- */

/* The most common version label among the controllers, or NULL. */
static char *
majority_label(const struct cls *c)
{
	size_t i, j, best = 0, best_n = 0;

	for (i = 0; i < c->n_mine; i++) {
		size_t n = 0;

		if (!c->cv[i].label)
			continue;
		for (j = 0; j < c->n_mine; j++)
			n += fluxstate__streq(c->cv[i].label, c->cv[j].label);
		if (n > best_n) {
			best_n = n;
			best = i;
		}
	}
	return best_n ? fluxstate__strdup(c->cv[best].label) : NULL;
}

/*
 * The controllers' Flux version: the release consistent with most of them
 * (a label names one release, a tag every release that ships it; ties go
 * to the latest). A label newer than the table: the labels' majority.
 */
static char *
controllers_version(const struct cls *c)
{
	const struct fluxstate__release *best = NULL;
	size_t i, k, best_n = 0;

	for (i = 0; i < c->n_mine; i++)
		if (c->cv[i].label && !fluxstate__release_lookup(c->cv[i].label) &&
		    fluxstate__release_newer_than_table(c->cv[i].label))
			return majority_label(c);
	for (k = fluxstate__n_releases; k-- > 0;) {
		size_t n = 0;

		for (i = 0; i < c->n_mine; i++)
			n += ctrl_says_something(&c->cv[i]) && ctrl_allows(&c->cv[i], &fluxstate__releases[k]);
		if (n > best_n) {
			best_n = n;
			best = &fluxstate__releases[k];
		}
	}
	return best ? fluxstate__strdup(best->flux) : majority_label(c);
}

static int
add_components(struct cls *c, char **ret_version)
{
	struct fluxstate_report *r = c->r;
	const struct fluxstate__release *rel;
	char *overall = NULL;
	size_t i;

	*ret_version = NULL;
	c->cv = calloc(c->n_mine + 1, sizeof(*c->cv));
	if (!c->cv)
		return -1;
	for (i = 0; i < c->n_mine; i++) {
		const struct fluxstate__obs_deployment *d = &c->obs->deployments[c->mine[i]];
		const char *label = fluxstate__meta_label(&d->meta, FLUXSTATE__LABEL_VERSION);
		struct ctrl_version *v = &c->cv[i];
		struct fluxstate_component *comp = fluxstate__report_add_component(r);

		if (!comp)
			goto oom;
		v->component = component_of(d);
		v->label = label ? fluxstate__normalize_version(label) : NULL;
		v->tag = deployment_tag(d);
		v->tag_known = v->tag && fluxstate__version_for_image(v->component, v->tag);
		comp->name = fluxstate__strdup(d->meta.name);
		comp->namespace = fluxstate__strdup(d->meta.namespace);
		comp->image = d->n_images ? fluxstate__strdup(d->images[0]) : NULL;
		comp->ready = deployment_ready(d, &comp->reason);
		if (!comp->name || !comp->namespace || !comp->reason || (d->n_images && !comp->image))
			goto oom;
	}

	/* overall: the gitrepositories CRD label (what `flux version` prints), else the controllers' */
	if (c->gitrepo_crd)
		overall = fluxstate__normalize_version(fluxstate__meta_label(&c->gitrepo_crd->meta,
									     FLUXSTATE__LABEL_VERSION));
	if (!overall && c->n_mine)
		overall = controllers_version(c);
	if (!overall && !c->n_mine) {
		/* residual: any Flux CRD's version label */
		for (i = 0; i < c->obs->n_crds && !overall; i++)
			overall = fluxstate__normalize_version(
				fluxstate__meta_label(&c->obs->crds[i].meta, FLUXSTATE__LABEL_VERSION));
	}
	if (!overall && c->flux_instance && c->flux_instance->last_applied_revision) {
		char *rev = fluxstate__strdup(c->flux_instance->last_applied_revision);

		if (!rev)
			goto oom;
		if (strchr(rev, '@'))
			*strchr(rev, '@') = '\0';
		overall = fluxstate__normalize_version(rev);
		free(rev);
	}

	/* each controller: its label, else the overall release if it ships the tag, else the latest that does */
	rel = fluxstate__release_lookup(overall);
	for (i = 0; i < c->n_mine; i++) {
		const struct ctrl_version *v = &c->cv[i];
		const char *version = v->label;

		if (!version && v->tag_known)
			version = rel && fluxstate__release_ships(rel, v->component, v->tag) ?
				  rel->flux : fluxstate__version_for_image(v->component, v->tag);
		if (version && !(r->components[i].version = fluxstate__strdup(version)))
			goto oom;
	}
	*ret_version = overall;
	return 0;
oom:
	free(overall);
	return -1;
}

/* ---- checks that apply when controllers are present ---- */

static int check_components_of_crds(struct cls *c);

static const struct fluxstate_finding *
find_finding(const struct fluxstate_report *r, const char *category, const char *problem, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_findings; i++)
		if (fluxstate__streq(r->findings[i].category, category) &&
		    fluxstate__streq(r->findings[i].problem, problem) && fluxstate__streq(r->findings[i].name, name))
			return &r->findings[i];
	return NULL;
}

static int
check_controllers(struct cls *c)
{
	struct fluxstate_report *r = c->r;
	size_t i;

	for (i = 0; i < r->n_components; i++) {
		const struct fluxstate_component *comp = &r->components[i];

		if (comp->ready)
			continue;
		ERR(r, "Deployment", "apps/v1", comp->namespace, comp->name, "controller", "unavailable",
		    FLUXSTATE_SEVERITY_ERROR, 0, "%s", comp->reason);
	}
	/* absence is only evidence when the Deployments were seen */
	if (!find_mine(c, "source-controller") && !(c->blind & FLUXSTATE__SEE_CONTROLLERS)) {
		const char *dependent = NULL;

		for (i = 1; i < 4 && !dependent; i++)
			if (find_mine(c, fluxstate__controllers[i].name))
				dependent = fluxstate__controllers[i].name;
		if (dependent)
			ERR(r, "Deployment", "apps/v1", c->ns, "source-controller", "controller", "missing",
			    FLUXSTATE_SEVERITY_ERROR, 0,
			    "no source-controller Deployment in namespace %s while %s runs; nothing serves its sources",
			    c->ns, dependent);
	}
	return check_components_of_crds(c);
oom:
	return -1;
}

/* A CRD that says its component belongs to the install: established, served, not going away. */
static int
crd_in_use(const struct fluxstate__obs_crd *crd)
{
	return crd && crd->established && crd->n_served && !crd_terminating(crd);
}

/*
 * `flux install --components=…` and a FluxInstance install only the CRDs of
 * the chosen components, so the installed CRDs say which controllers belong
 * to the install: one missing while its CRDs are in use is a broken install
 * (nothing reconciles those objects). Minimal installs never had the CRDs.
 */
static int
check_components_of_crds(struct cls *c)
{
	struct fluxstate_report *r = c->r;
	size_t k, i;

	/* absence is only evidence when Deployments and CRDs were seen; another install is not this one */
	if (!c->n_mine || (c->blind & (FLUXSTATE__SEE_CONTROLLERS | FLUXSTATE__SEE_CRDS)))
		return 0;
	for (k = 0; k < fluxstate__n_controllers; k++) {
		const char *ctrl = fluxstate__controllers[k].name;
		const char *first = NULL;
		size_t n = 0;

		if (find_mine(c, ctrl))
			continue;
		for (i = 0; i < fluxstate__n_crds; i++)
			if (strcmp(fluxstate__crds[i].owner, ctrl) == 0 && crd_in_use(find_crd(c->obs, fluxstate__crds[i].name)))
				if (n++ == 0)
					first = fluxstate__crds[i].name;
		if (!n || find_finding(r, "controller", "missing", ctrl))
			continue;
		ERR(r, "Deployment", "apps/v1", c->ns, ctrl, "controller", "missing", FLUXSTATE_SEVERITY_ERROR, 0,
		    "no %s Deployment in namespace %s, but its CRDs are installed (%s%s): nothing reconciles those objects",
		    ctrl, c->ns, first, n > 1 ? " and more" : "");
	}
	return 0;
oom:
	return -1;
}

static int
minor_of(const char *version)
{
	int major, minor, patch;

	if (fluxstate__parse_semver(version, &major, &minor, &patch) < 0 || major != 2)
		return -1;
	return minor;
}

static int
check_crds(struct cls *c, const char *version)
{
	struct fluxstate_report *r = c->r;
	int minor = minor_of(version);
	size_t i;

	if (c->blind & FLUXSTATE__SEE_CRDS)
		return 0; /* a CRD that was not seen is not missing */
	for (i = 0; i < fluxstate__n_crds; i++) {
		const struct fluxstate__crd_info *info = &fluxstate__crds[i];
		const struct fluxstate__obs_crd *crd;

		if (!find_mine(c, info->owner))
			continue;
		if (info->since_minor && (minor < 0 || minor < info->since_minor))
			continue;
		crd = find_crd(c->obs, info->name);
		if (!crd)
			ERR(r, "CustomResourceDefinition", CRD_API, NULL, info->name, "crd", "missing",
			    FLUXSTATE_SEVERITY_ERROR, 0, "%s runs but CRD %s does not exist", info->owner, info->name);
		else if (!crd_terminating(crd) && !crd->established)
			ERR(r, "CustomResourceDefinition", CRD_API, NULL, info->name, "crd", "not-established",
			    FLUXSTATE_SEVERITY_ERROR, 0, "condition Established is not True; %s cannot serve %s",
			    info->owner, info->kind);
	}
	return 0;
oom:
	return -1;
}

/* Terminating CRDs and the labelled gitrepositories CRD, in any state. */
static int
report_crds(struct cls *c, int residual)
{
	struct fluxstate_report *r = c->r;
	size_t i;

	for (i = 0; i < c->obs->n_crds; i++) {
		const struct fluxstate__obs_crd *crd = &c->obs->crds[i];
		unsigned int flags = 0;
		size_t blocked = 0;
		int bootstrapped_labels = fluxstate__meta_label(&crd->meta, FLUXSTATE__LABEL_KS_NAME) ||
					  fluxstate__meta_label(&crd->meta, FLUXSTATE__LABEL_KS_NAMESPACE);

		blocked = fluxstate__obs_cr_tally(c->obs, fluxstate__crd_lookup(crd->meta.name))->n_finalizers;
		if (residual && crd == c->gitrepo_crd && bootstrapped_labels)
			flags |= FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL;
		if (crd_terminating(crd)) {
			flags |= FLUXSTATE_FLAG_BLOCKS_REINSTALL;
			if (blocked)
				flags |= FLUXSTATE_FLAG_FINALIZER_BLOCKED;
			ERR(r, "CustomResourceDefinition", CRD_API, NULL, crd->meta.name, "crd", "terminating",
			    FLUXSTATE_SEVERITY_ERROR, flags, "%s%s%s%s%s%s; %zu custom resource(s) with finalizers remain",
			    crd->meta.deletion_timestamp ? "deletionTimestamp set" : "",
			    crd->meta.deletion_timestamp && crd->terminating ? "; " : "",
			    crd->terminating ? "condition Terminating=True" : "",
			    crd->terminating && crd->terminating_reason ? " (" : "",
			    crd->terminating && crd->terminating_reason ? crd->terminating_reason : "",
			    crd->terminating && crd->terminating_reason ? ")" : "", blocked);
			c->n_traces++;
		} else if (residual) {
			ADD(r, "CustomResourceDefinition", CRD_API, NULL, crd->meta.name, "crd", "present",
			    flags ? FLUXSTATE_SEVERITY_ERROR : FLUXSTATE_SEVERITY_WARNING, flags,
			    "%s%s", is_flux_labelled(&crd->meta) ? "label app.kubernetes.io/part-of=flux"
								: "Flux API group (no part-of label)",
			    flags & FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL ?
			    "; carries kustomize.toolkit.fluxcd.io labels, so `flux install` refuses (\"already bootstrapped\")" : "");
			c->n_traces++;
		}
	}
	return 0;
oom:
	return -1;
}

static int
report_namespace(struct cls *c, int residual)
{
	struct fluxstate_report *r = c->r;
	const struct fluxstate__obs_namespace *n = c->ns_obj;
	size_t i, blocked = 0;

	if (!n)
		return 0;
	/* ns_obj is the inspected namespace, the one the tallies count in */
	for (i = 0; i < fluxstate__n_crds; i++)
		blocked += fluxstate__obs_cr_tally(c->obs, &fluxstate__crds[i])->n_finalizers_in_ns;
	if (c->ns_terminating) {
		ERR(r, "Namespace", "v1", NULL, n->meta.name, "namespace", "terminating",
		    FLUXSTATE_SEVERITY_ERROR,
		    FLUXSTATE_FLAG_BLOCKS_REINSTALL | (blocked ? FLUXSTATE_FLAG_FINALIZER_BLOCKED : 0),
		    "phase %s, deletionTimestamp %s; %zu Flux custom resource(s) with finalizers keep it%s%s",
		    n->phase ? n->phase : "Terminating",
		    n->meta.deletion_timestamp ? n->meta.deletion_timestamp : "unset", blocked,
		    n->remaining ? ": " : "", n->remaining ? n->remaining : "");
		c->n_traces++;
	} else if (residual && is_flux_labelled(&n->meta)) {
		ADD(r, "Namespace", "v1", NULL, n->meta.name, "namespace", "present", FLUXSTATE_SEVERITY_WARNING, 0,
		    "label app.kubernetes.io/part-of=flux");
		c->n_traces++;
	}
	return 0;
oom:
	return -1;
}

/* Other Flux-labelled or Terminating namespaces that hold Flux objects. */
static int
report_other_namespaces(struct cls *c)
{
	struct fluxstate_report *r = c->r;
	size_t i;

	for (i = 0; i < c->obs->n_namespaces; i++) {
		const struct fluxstate__obs_namespace *n = &c->obs->namespaces[i];

		if (n == c->ns_obj)
			continue;
		if (is_flux_labelled(&n->meta)) {
			ADD(r, "Namespace", "v1", NULL, n->meta.name, "namespace", "present",
			    c->n_mine ? FLUXSTATE_SEVERITY_INFO : FLUXSTATE_SEVERITY_WARNING, 0,
			    "label app.kubernetes.io/part-of=flux%s",
			    n->meta.deletion_timestamp ? "; namespace is Terminating" : "");
			c->n_traces++;
		}
	}
	return 0;
oom:
	return -1;
}

static int
report_objects(struct cls *c, int residual)
{
	struct fluxstate_report *r = c->r;
	size_t i, j;
	int unsuffixed = 0, suffixed = 0;

	for (i = 0; i < c->obs->n_objects; i++) {
		const struct fluxstate__obs_object *o = &c->obs->objects[i];
		const char *category = NULL;
		int suff = 0;

		if (fluxstate__streq(o->kind, "ClusterRole") || fluxstate__streq(o->kind, "ClusterRoleBinding")) {
			category = "rbac";
			if (fluxstate__is_flux_rbac_name(o->kind, o->meta.name, c->ns, &suff)) {
				if (suff)
					suffixed++;
				else if (!fluxstate__has_prefix(o->meta.name, "flux-operator") &&
					 !fluxstate__has_prefix(o->meta.name, "flux-web"))
					unsuffixed++;
			}
		} else if (fluxstate__streq(o->kind, "ServiceAccount")) {
			category = "service-account";
		} else if (fluxstate__streq(o->kind, "Service")) {
			category = "service";
		} else if (fluxstate__streq(o->kind, "NetworkPolicy")) {
			category = "network-policy";
		} else if (fluxstate__streq(o->kind, "ResourceQuota")) {
			category = "resource-quota";
		} else if (fluxstate__streq(o->kind, "Secret") &&
			   fluxstate__has_prefix(o->meta.name, "sh.helm.release.v1.") &&
			   strstr(o->meta.name, "flux")) {
			category = "helm-release";
		}
		if (!category || !residual)
			continue;
		ADD(r, o->kind, o->api_version, o->meta.namespace, o->meta.name, category, "present",
		    FLUXSTATE_SEVERITY_WARNING, 0, "%s",
		    strcmp(category, "helm-release") == 0 ? "Helm release secret of a Flux chart" :
		    is_flux_labelled(&o->meta) ? "label app.kubernetes.io/part-of=flux" : "known Flux object name");
		c->n_traces++;
	}

	/* the same role under both names: two install methods were mixed (§5.3) */
	if (suffixed && unsuffixed) {
		for (i = 0; i < c->obs->n_objects; i++) {
			const struct fluxstate__obs_object *o = &c->obs->objects[i];
			int suff = 0;

			if (!fluxstate__is_flux_rbac_name(o->kind, o->meta.name, c->ns, &suff) || !suff)
				continue;
			for (j = 0; j < c->obs->n_objects; j++) {
				const struct fluxstate__obs_object *u = &c->obs->objects[j];
				size_t len = strlen(u->meta.name);

				if (fluxstate__streq(u->kind, o->kind) && strncmp(o->meta.name, u->meta.name, len) == 0 &&
				    o->meta.name[len] == '-' && fluxstate__streq(o->meta.name + len + 1, c->ns))
					ADD(r, u->kind, u->api_version, NULL, u->meta.name, "rbac", "duplicate",
					    FLUXSTATE_SEVERITY_WARNING, 0,
					    "both %s and %s exist: install methods were mixed (install.yaml/Helm and flux install)",
					    u->meta.name, o->meta.name);
			}
		}
	}
	return 0;
oom:
	return -1;
}

static int
report_crs(struct cls *c, int residual)
{
	struct fluxstate_report *r = c->r;
	const struct fluxstate__observations *obs = c->obs;
	size_t i, j;

	for (i = 0; i < fluxstate__n_crds; i++) {
		const struct fluxstate__crd_info *info = &fluxstate__crds[i];
		int owner_present = strcmp(info->owner, "flux-operator") == 0 ? c->n_operator > 0
									      : find_mine(c, info->owner) != NULL;

		/* a hidden controller may own them */
		if (!owner_present && (c->blind & (FLUXSTATE__SEE_CONTROLLERS | FLUXSTATE__SEE_OPERATOR)))
			owner_present = 1;
		const struct fluxstate__cr_tally *t = fluxstate__obs_cr_tally(obs, info);
		/* residual: every leftover counts and those with finalizers are listed; else only stuck ones */
		unsigned int bit = residual ? FLUXSTATE__CR_LISTABLE : FLUXSTATE__CR_STUCK;
		size_t n = t->n, shown = 0, n_plain = 0;

		if (strcmp(info->kind, "FluxInstance") == 0)
			continue;  /* report_flux_instance() */
		if (!owner_present) {
			shown = residual ? t->n_listable : t->n_stuck;
			n_plain = residual ? t->n - t->n_listable : 0;
			c->n_traces += shown + n_plain;
		}
		/* the kept examples are the first ones (obs->crs is sorted) */
		for (j = 0; !owner_present && j < obs->n_crs; j++) {
			const struct fluxstate__obs_cr *cr = &obs->crs[j];
			int flux_fin, op_fin, any_fin;

			if (cr->info != info || !(cr->example & bit))
				continue;
			flux_fin = fluxstate__meta_has_finalizer(&cr->meta, FLUXSTATE__FLUX_FINALIZER);
			op_fin = fluxstate__meta_has_finalizer(&cr->meta, FLUXSTATE__OPERATOR_FINALIZER);
			any_fin = flux_fin || op_fin;
			if (residual)
				ADD(r, cr->kind, cr->api_version, cr->meta.namespace, cr->meta.name,
				    "custom-resource", any_fin ? "finalizer-blocked" : "terminating",
				    FLUXSTATE_SEVERITY_ERROR, any_fin ? FLUXSTATE_FLAG_FINALIZER_BLOCKED : 0,
				    "%s%s%s; %s is not running to remove it",
				    any_fin ? "finalizer " : "", any_fin ? (flux_fin ? FLUXSTATE__FLUX_FINALIZER : FLUXSTATE__OPERATOR_FINALIZER) : "",
				    cr->meta.deletion_timestamp ? (any_fin ? ", deletionTimestamp set" : "deletionTimestamp set") : "",
				    info->owner);
			else
				ERR(r, cr->kind, cr->api_version, cr->meta.namespace, cr->meta.name,
				    "custom-resource", "finalizer-blocked", FLUXSTATE_SEVERITY_ERROR,
				    FLUXSTATE_FLAG_FINALIZER_BLOCKED,
				    "deletionTimestamp set, finalizer %s; %s is not installed to remove it",
				    flux_fin ? FLUXSTATE__FLUX_FINALIZER : FLUXSTATE__OPERATOR_FINALIZER, info->owner);
		}
		if (shown > MAX_CR_FINDINGS_PER_KIND)
			ADD(r, info->kind, "", NULL, "", "custom-resource", "finalizer-blocked", FLUXSTATE_SEVERITY_ERROR,
			    FLUXSTATE_FLAG_FINALIZER_BLOCKED, "%zu more %s objects with finalizers (not listed one by one)",
			    shown - MAX_CR_FINDINGS_PER_KIND, info->kind);
		if (n_plain && residual)
			ADD(r, info->kind, "", NULL, "", "custom-resource", "present", FLUXSTATE_SEVERITY_WARNING, 0,
			    "%zu %s object(s) without finalizers remain", n_plain, info->kind);
		if (n && !owner_present && !residual)
			ADD(r, info->kind, "", NULL, "", "custom-resource", "orphaned", FLUXSTATE_SEVERITY_WARNING, 0,
			    "%zu %s object(s) exist but %s is not installed in %s; nothing reconciles them",
			    n, info->kind, info->owner, c->ns);
	}
	return 0;
oom:
	return -1;
}

static int
report_flux_instance(struct cls *c, int residual)
{
	struct fluxstate_report *r = c->r;
	const struct fluxstate__obs_cr *fi = c->flux_instance;
	unsigned int flags;

	if (!fi) {
		if (c->n_operator && !c->n_mine &&
		    !(c->blind & (FLUXSTATE__SEE_CRDS | FLUXSTATE__SEE_FLUX_INSTANCE | FLUXSTATE__SEE_CONTROLLERS)))
			ERR(r, "FluxInstance", "fluxcd.controlplane.io/v1", c->ns, "flux", "flux-instance", "missing",
			    FLUXSTATE_SEVERITY_ERROR, 0,
			    "flux-operator runs but no FluxInstance and no Flux controller exists in %s", c->ns);
		return 0;
	}
	flags = fluxstate__meta_has_finalizer(&fi->meta, FLUXSTATE__OPERATOR_FINALIZER) ? FLUXSTATE_FLAG_FINALIZER_BLOCKED : 0;
	if (!c->n_operator && !(c->blind & FLUXSTATE__SEE_OPERATOR)) {
		if (residual) {
			ADD(r, fi->kind, fi->api_version, fi->meta.namespace, fi->meta.name, "flux-instance", "orphaned",
			    FLUXSTATE_SEVERITY_ERROR, flags, "no flux-operator Deployment to reconcile or finalize it%s",
			    flags ? " (finalizer " FLUXSTATE__OPERATOR_FINALIZER ")" : "");
			c->n_traces++;
		} else {
			ERR(r, fi->kind, fi->api_version, fi->meta.namespace, fi->meta.name, "flux-instance", "orphaned",
			    FLUXSTATE_SEVERITY_ERROR, flags, "no flux-operator Deployment to reconcile or finalize it%s",
			    flags ? " (finalizer " FLUXSTATE__OPERATOR_FINALIZER ")" : "");
		}
		return 0;
	}
	if (fluxstate__streq(fi->stalled_status, "True")) {
		ERR(r, fi->kind, fi->api_version, fi->meta.namespace, fi->meta.name, "flux-instance", "not-ready",
		    FLUXSTATE_SEVERITY_ERROR, 0, "condition Stalled=True (%s)%s%s",
		    fi->stalled_reason ? fi->stalled_reason : "no reason",
		    fi->stalled_message ? ": " : "", fi->stalled_message ? fi->stalled_message : "");
	} else if (!fluxstate__streq(fi->ready_status, "True")) {
		ERR(r, fi->kind, fi->api_version, fi->meta.namespace, fi->meta.name, "flux-instance", "not-ready",
		    FLUXSTATE_SEVERITY_ERROR, 0, "condition Ready=%s (%s)%s%s",
		    fi->ready_status ? fi->ready_status : "absent", fi->ready_reason ? fi->ready_reason : "no reason",
		    fi->ready_message ? ": " : "", fi->ready_message ? fi->ready_message : "");
	} else if (fi->ready_observed_generation && fi->meta.generation &&
		   fi->ready_observed_generation < fi->meta.generation) {
		ERR(r, fi->kind, fi->api_version, fi->meta.namespace, fi->meta.name, "flux-instance", "not-ready",
		    FLUXSTATE_SEVERITY_ERROR, 0, "condition Ready=True is stale: observedGeneration %lld < generation %lld",
		    fi->ready_observed_generation, fi->meta.generation);
	}
	return 0;
oom:
	return -1;
}

/*
 * Skew only when no single release explains every controller (and the
 * gitrepositories CRD's version label): a tag is compatible with every
 * release that ships it. An install newer than the table: labels only.
 */
static int
check_skew(struct cls *c)
{
	struct fluxstate_report *r = c->r;
	const struct fluxstate__release *install = fluxstate__release_lookup(r->version);
	const struct fluxstate__release *crd_rel = NULL;
	char *crd_label = NULL;
	size_t i, k;
	int explained = 0;

	if (!r->version)
		return 0;
	if (c->gitrepo_crd) {
		crd_label = fluxstate__normalize_version(fluxstate__meta_label(&c->gitrepo_crd->meta,
									       FLUXSTATE__LABEL_VERSION));
		crd_rel = fluxstate__release_lookup(crd_label);
		free(crd_label);
	}
	for (k = 0; install && k < fluxstate__n_releases && !explained; k++) {
		const struct fluxstate__release *rel = &fluxstate__releases[k];

		if (crd_rel && rel != crd_rel)
			continue;
		explained = 1;
		for (i = 0; i < c->n_mine; i++)
			explained &= ctrl_allows(&c->cv[i], rel);
	}
	for (i = 0; i < r->n_components; i++) {
		const struct fluxstate_component *comp = &r->components[i];
		const struct ctrl_version *v = &c->cv[i];
		const struct fluxstate__release *label_rel = fluxstate__release_lookup(v->label);
		int skewed = install ? !explained && !ctrl_allows(v, install)
				     : v->label && !fluxstate__streq(v->label, r->version);

		if (skewed)
			ERR(r, "Deployment", "apps/v1", comp->namespace, comp->name, "controller", "skewed",
			    FLUXSTATE_SEVERITY_ERROR, 0, "runs Flux %s (%s) but the install is %s",
			    comp->version ? comp->version : "(unknown)",
			    v->label ? "version label" : comp->image ? comp->image : "no image", r->version);
		else if (label_rel && v->tag_known && !fluxstate__release_ships(label_rel, v->component, v->tag))
			/* e.g. Renovate bumped one image inside gotk-components.yaml (§2.4) */
			ADD(r, "Deployment", "apps/v1", comp->namespace, comp->name, "controller", "skewed",
			    FLUXSTATE_SEVERITY_INFO, 0, "version label says %s but Flux %s does not ship image %s (Flux %s does)",
			    v->label, v->label, comp->image, fluxstate__version_for_image(v->component, v->tag));
	}
	return 0;
oom:
	return -1;
}

static int
check_other_installs(struct cls *c)
{
	struct fluxstate_report *r = c->r;
	size_t i, j;

	/* "no controller in the namespace" is only evidence when its Deployments were seen */
	if (!c->n_mine && !c->n_operator && (c->blind & FLUXSTATE__SEE_CONTROLLERS))
		return 0;
	for (i = 0; i < c->n_other; i++) {
		const struct fluxstate__obs_deployment *d = &c->obs->deployments[c->other[i]];
		int seen = 0;

		for (j = 0; j < i; j++)
			if (fluxstate__streq(c->obs->deployments[c->other[j]].meta.namespace, d->meta.namespace))
				seen = 1;
		if (seen)
			continue;
		if (c->n_mine || c->n_operator)
			ADD(r, "Namespace", "v1", NULL, d->meta.namespace, "controller", "other-install",
			    FLUXSTATE_SEVERITY_WARNING, 0,
			    "Flux controllers (e.g. %s) also run in namespace %s; both installs share the cluster-wide CRDs",
			    d->meta.name, d->meta.namespace);
		else
			ERR(r, "Namespace", "v1", NULL, d->meta.namespace, "controller", "other-install",
			    FLUXSTATE_SEVERITY_ERROR, 0,
			    "no Flux controller in namespace %s, but Flux runs in namespace %s (e.g. %s)",
			    c->ns, d->meta.namespace, d->meta.name);
	}
	return 0;
oom:
	return -1;
}

static int
check_server(struct cls *c, int present)
{
	struct fluxstate_report *r = c->r;
	const char *min = fluxstate__kube_minimum(r->version);
	int smaj, smin, spat, fmaj, fmin, fpat;

	if (!min)
		return 0;
	r->flux_minimum = fluxstate__strdup(min);
	if (!r->flux_minimum)
		return -1;
	if (fluxstate__parse_semver(r->server_version, &smaj, &smin, &spat) < 0 ||
	    fluxstate__parse_semver(min, &fmaj, &fmin, &fpat) < 0)
		return 0;
	r->supported = smaj != fmaj ? smaj > fmaj : smin != fmin ? smin > fmin : spat >= fpat;
	if (r->supported)
		return 0;
	if (present)
		ERR(r, "", "", NULL, "", "server", "unsupported-server", FLUXSTATE_SEVERITY_ERROR, 0,
		    "Kubernetes %s does not match Flux %s's constraint >=%s-0", r->server_version, r->version, min);
	else
		ADD(r, "", "", NULL, "", "server", "unsupported-server", FLUXSTATE_SEVERITY_WARNING, 0,
		    "Kubernetes %s does not match Flux %s's constraint >=%s-0 (from the leftover CRDs)",
		    r->server_version, r->version, min);
	return 0;
oom:
	return -1;
}

/* A namespace that exists without Flux labels and holds only user objects (#1292). */
static int
report_precreated(struct cls *c)
{
	struct fluxstate__buf b = { 0 };
	size_t i, n = 0;
	int rc = -1;

	if (!c->ns_obj || c->ns_terminating || is_flux_labelled(&c->ns_obj->meta))
		return 0;
	for (i = 0; i < c->obs->n_objects; i++) {
		const struct fluxstate__obs_object *o = &c->obs->objects[i];

		if (!fluxstate__streq(o->meta.namespace, c->ns) ||
		    (!fluxstate__streq(o->kind, "Secret") && !fluxstate__streq(o->kind, "ConfigMap")) ||
		    fluxstate__streq(o->meta.name, "kube-root-ca.crt"))
			continue;
		if (n++ < 8 && fluxstate__buf_appendf(&b, "%s%s/%s", n > 1 ? ", " : "", o->kind, o->meta.name) < 0)
			goto out;
	}
	if (n > 8 && fluxstate__buf_appendf(&b, ", and %zu more", n - 8) < 0)
		goto out;
	if (!fluxstate__report_add_finding(c->r, "Namespace", "v1", NULL, c->ns, "namespace", "pre-created",
					   FLUXSTATE_SEVERITY_INFO, 0,
					   "namespace exists without Flux labels and holds only user objects%s%s; "
					   "a namespace is a destination, not evidence of Flux",
					   n ? ": " : "", n ? b.data : " (none)"))
		goto out;
	rc = 0;
out:
	fluxstate__buf_clear(&b);
	return rc;
}

/* Flux v1 still present: its own warning, never Flux v2 evidence, never for a cleanup. */
static int
report_flux_v1(struct cls *c)
{
	size_t i;

	for (i = 0; i < c->obs->n_flux_v1; i++) {
		const struct fluxstate__obs_object *o = &c->obs->flux_v1[i];
		int crd = fluxstate__streq(o->kind, "CustomResourceDefinition");

		if (!fluxstate__report_add_finding(c->r, o->kind, o->api_version, o->meta.namespace, o->meta.name,
						   "flux-v1", "present", FLUXSTATE_SEVERITY_WARNING,
						   FLUXSTATE_FLAG_NOT_FLUX_V2,
						   "legacy Flux v1 %s present: not part of Flux v2 and never cleaned up "
						   "with it%s", crd ? "CRD" : "Deployment",
						   crd ? " (deleting it deletes every Flux v1 object of its kind)"
						       : "; migrate it to Flux v2 or remove it on its own"))
			return -1;
	}
	return 0;
}

static int
report_blind_spots(struct cls *c, unsigned int decisive)
{
	size_t i;

	for (i = 0; i < c->obs->n_blind; i++) {
		const struct fluxstate__blind_spot *b = &c->obs->blind[i];

		if (!fluxstate__report_add_finding(c->r, b->kind, b->api_version, b->namespace, "", "access",
						   "not-visible",
						   (b->sight & decisive) ? FLUXSTATE_SEVERITY_ERROR : FLUXSTATE_SEVERITY_WARNING,
						   FLUXSTATE_FLAG_NOT_VISIBLE, "%s%s",
						   b->message ? b->message : "the list failed",
						   (b->sight & decisive) ? "" : " (cannot change the answer)"))
			return -1;
	}
	return 0;
}

static const char *
ns_source_name(enum fluxstate__ns_source s)
{
	switch (s) {
	case FLUXSTATE__NS_OPTION:
		return "option";
	case FLUXSTATE__NS_DETECTED:
		return "detected";
	case FLUXSTATE__NS_ENVIRONMENT:
		return "environment";
	default:
		return "default";
	}
}

static const char *
first_blind_kind(const struct fluxstate__observations *obs, unsigned int mask, const char **ret_msg)
{
	size_t i;

	for (i = 0; i < obs->n_blind; i++)
		if (obs->blind[i].sight & mask) {
			*ret_msg = obs->blind[i].message ? obs->blind[i].message : "the list failed";
			return obs->blind[i].kind;
		}
	*ret_msg = "";
	return "";
}

static void
cls_clear(struct cls *c)
{
	size_t i;

	for (i = 0; c->cv && i < c->n_mine; i++) {
		free(c->cv[i].label);
		free(c->cv[i].tag);
	}
	free(c->cv);
	free(c->mine);
	free(c->other);
}

int
fluxstate__classify(const struct fluxstate__observations *obs, struct fluxstate_report **ret)
{
	struct cls cls = { 0 }, *c = &cls;
	struct fluxstate_report *r;
	unsigned int blind = 0, decisive = 0;
	size_t i, n_ready = 0;
	int state, residual;

	if (!obs || !ret)
		return FLUXSTATE_EINVAL;
	r = fluxstate__report_new();
	if (!r)
		return FLUXSTATE_ENOMEM;
	c->obs = obs;
	c->r = r;
	c->ns = obs->namespace ? obs->namespace : FLUXSTATE_DEFAULT_FLUX_NAMESPACE;
	r->namespace = fluxstate__strdup(c->ns);
	r->namespace_source = ns_source_name(obs->namespace_source);
	r->server_version = fluxstate__strdup(obs->server_version);
	r->requests = obs->n_requests;
	if (!r->namespace || (obs->server_version && !r->server_version))
		goto oom;
	if (fluxstate__report_copy_watch(r, obs->watch, obs->n_watch) < 0)
		goto oom;
	if (partition(c) < 0)
		goto oom;
	for (i = 0; i < obs->n_blind; i++)
		blind |= obs->blind[i].sight;
	c->blind = blind;

	if (add_components(c, &r->version) < 0)
		goto oom;
	r->installer = detect_installer(c);
	if (label_any(c, FLUXSTATE__LABEL_MANAGED_BY)) {
		r->managed_by = fluxstate__strdup(label_any(c, FLUXSTATE__LABEL_MANAGED_BY));
		if (!r->managed_by)
			goto oom;
	}
	/*
	 * `flux check`'s rule (the kustomize label on the gitrepositories CRD),
	 * or the installer's evidence of `flux bootstrap` (the sync Kustomization
	 * <ns>/<ns>, kustomize-controller's labels): installer flux-bootstrap
	 * beside bootstrapped false read as a contradiction (#11 item 13).
	 */
	r->bootstrapped = (c->gitrepo_crd &&
			   fluxstate__meta_label(&c->gitrepo_crd->meta, FLUXSTATE__LABEL_KS_NAMESPACE) != NULL) ||
			  fluxstate__streq(r->installer, "flux-bootstrap");

	residual = !c->n_mine && !c->n_other && !c->n_operator;
	if (!residual) {
		if (check_controllers(c) < 0 || check_crds(c, r->version) < 0 || check_skew(c) < 0 ||
		    check_other_installs(c) < 0)
			goto oom;
	}
	if (report_namespace(c, residual) < 0 || report_crds(c, residual) < 0 ||
	    report_flux_instance(c, residual) < 0 || report_crs(c, residual) < 0 ||
	    report_objects(c, residual) < 0)
		goto oom;
	if (residual && report_other_namespaces(c) < 0)
		goto oom;
	if (check_server(c, !residual) < 0)
		goto oom;

	/* decide */
	if (residual) {
		if (c->n_traces) {
			state = FLUXSTATE_INSTALL_RESIDUAL;
			/* hidden controllers could make it partial or healthy */
			decisive = FLUXSTATE__SEE_CONTROLLERS | FLUXSTATE__SEE_OPERATOR;
		} else {
			state = FLUXSTATE_INSTALL_NONE;
			/* anything hidden could hold a trace; ConfigMaps, /version and Flux v1 cannot */
			decisive = ~(unsigned int)(FLUXSTATE__SEE_SERVER | FLUXSTATE__SEE_CONFIGMAPS |
						   FLUXSTATE__SEE_FLUX_V1);
		}
	} else if (c->n_errors) {
		state = FLUXSTATE_INSTALL_PARTIAL;
		decisive = 0; /* what was seen already proves it */
	} else {
		state = FLUXSTATE_INSTALL_HEALTHY;
		decisive = FLUXSTATE__SEE_CRDS | FLUXSTATE__SEE_CONTROLLERS | FLUXSTATE__SEE_NAMESPACES |
			   FLUXSTATE__SEE_CRS | FLUXSTATE__SEE_FLUX_INSTANCE | FLUXSTATE__SEE_OPERATOR;
		/* an unseen server version could be below this Flux's minimum (partial) */
		if (r->flux_minimum)
			decisive |= FLUXSTATE__SEE_SERVER;
	}
	if (blind & decisive)
		state = FLUXSTATE_INSTALL_UNKNOWN;
	if (state == FLUXSTATE_INSTALL_NONE && report_precreated(c) < 0)
		goto oom;
	if (report_flux_v1(c) < 0)
		goto oom;
	if (report_blind_spots(c, state == FLUXSTATE_INSTALL_UNKNOWN ? decisive : 0) < 0)
		goto oom;
	r->state = state;

	for (i = 0; i < r->n_components; i++)
		n_ready += r->components[i].ready;
	fluxstate__report_sort(r);
	switch (state) {
	case FLUXSTATE_INSTALL_NONE:
		r->action = "bootstrap";
		r->summary = fluxstate__asprintf("no Flux controller, CRD, custom resource or Flux-labelled object found%s%s%s",
						 c->ns_obj ? "; namespace " : "", c->ns_obj ? c->ns : "",
						 c->ns_obj ? " exists but only holds user objects" : "");
		break;
	case FLUXSTATE_INSTALL_RESIDUAL:
		r->action = "cleanup";
		r->summary = fluxstate__asprintf("no Flux controller runs, but %u leftover(s) remain%s%s%s%s%s%s",
						 c->n_traces, r->n_findings ? ", e.g. " : "",
						 r->n_findings ? r->findings[0].kind : "",
						 r->n_findings && r->findings[0].name[0] ? " " : "",
						 r->n_findings ? r->findings[0].name : "",
						 r->n_findings ? " " : "",
						 r->n_findings ? r->findings[0].problem : "");
		break;
	case FLUXSTATE_INSTALL_PARTIAL:
		r->action = "repair";
		r->summary = fluxstate__asprintf("Flux %s in %s is broken: %s", r->version ? r->version : "(version unknown)",
						 c->ns, c->first_error ? c->first_error : "see findings");
		break;
	case FLUXSTATE_INSTALL_HEALTHY:
		r->action = "none";
		r->summary = fluxstate__asprintf("Flux %s in %s: %zu/%zu controllers available",
						 r->version ? r->version : "(version unknown)", c->ns, n_ready,
						 r->n_components);
		break;
	default: {
		const char *msg;
		const char *kind = first_blind_kind(obs, decisive, &msg);

		r->action = "investigate";
		r->summary = fluxstate__asprintf("could not see %s (%s); what was visible is not enough to decide",
						 kind[0] ? kind : "the server version", msg);
		break;
	}
	}
	if (!r->summary)
		goto oom;
	cls_clear(c);
	*ret = r;
	return 0;
oom:
	cls_clear(c);
	fluxstate_report_free(r);
	return FLUXSTATE_ENOMEM;
}
