/*
 * Detection internals: static Flux knowledge (fluxdata.c), the facts a probe
 * records (observe.c), the pure classifier (classify.c) and the report
 * object behind the public accessors (report.c).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_DETECT_H
#define FLUXSTATE_DETECT_H

#include <stddef.h>

#include "fluxstate-private.h"

/* ------------------------------------------------------------------------
 * fluxdata.c: what Flux installs (docs/states.md, "What a Flux install creates")
 * ------------------------------------------------------------------------ */

#define FLUXSTATE__LABEL_PART_OF "app.kubernetes.io/part-of"
#define FLUXSTATE__LABEL_VERSION "app.kubernetes.io/version"
#define FLUXSTATE__LABEL_INSTANCE "app.kubernetes.io/instance"
#define FLUXSTATE__LABEL_COMPONENT "app.kubernetes.io/component"
#define FLUXSTATE__LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define FLUXSTATE__LABEL_NAME "app.kubernetes.io/name"
#define FLUXSTATE__LABEL_HELM_CHART "helm.sh/chart"
#define FLUXSTATE__LABEL_KS_NAME "kustomize.toolkit.fluxcd.io/name"
#define FLUXSTATE__LABEL_KS_NAMESPACE "kustomize.toolkit.fluxcd.io/namespace"
#define FLUXSTATE__LABEL_OPERATOR_NAME "fluxcd.controlplane.io/name"
#define FLUXSTATE__FLUX_FINALIZER "finalizers.fluxcd.io"
#define FLUXSTATE__OPERATOR_FINALIZER "fluxcd.controlplane.io/finalizer"
#define FLUXSTATE__OPERATOR_GROUP "fluxcd.controlplane.io"
#define FLUXSTATE__FLUX_V1_NAMESPACE "flux"     /* where Flux v1's docs install fluxd and helm-operator */

struct fluxstate__crd_info {
	const char *name;       /* plural.group */
	const char *group;
	const char *kind;
	const char *plural;
	const char *owner;      /* controller name, or "flux-operator" */
	int since_minor;        /* first Flux 2.x minor that ships it (0 = always) */
};

struct fluxstate__controller_info {
	const char *name;
	int optional;           /* image-*, source-watcher: not required for health */
};

extern const struct fluxstate__crd_info fluxstate__crds[];
extern const size_t fluxstate__n_crds;
extern const struct fluxstate__controller_info fluxstate__controllers[];
extern const size_t fluxstate__n_controllers;

const struct fluxstate__crd_info *fluxstate__crd_lookup(const char *name);
const struct fluxstate__crd_info *fluxstate__crd_lookup_group_plural(const char *group, const char *plural);
const struct fluxstate__controller_info *fluxstate__controller_lookup(const char *name);
/* A Flux v2 API group: *.toolkit.fluxcd.io, *.extensions.fluxcd.io, fluxcd.controlplane.io, … */
int fluxstate__is_flux_group(const char *group);
/* Flux v1's API groups (helm-operator's helm.fluxcd.io, the older flux.weave.works): not Flux v2. */
int fluxstate__is_flux_v1_group(const char *group);
/* A Flux v1 Deployment: named flux or helm-operator, or running a Flux v1 image (fluxcd/flux, fluxcd/helm-operator). */
int fluxstate__is_flux_v1_deployment(const char *name, const char *image);
/* Known cluster RBAC name of a Flux install in @ns (unsuffixed, or suffixed "-<ns>"), or the operator's. */
int fluxstate__is_flux_rbac_name(const char *kind, const char *name, const char *ns, int *ret_suffixed);
int fluxstate__is_flux_service_name(const char *name);
/*
 * The Flux releases: generated at build time from flux-releases.tsv (the
 * single source) by gen-fluxdata.py, in release order.
 */
#define FLUXSTATE__MAX_RELEASE_COMPONENTS 8
struct fluxstate__release {
	const char *flux;               /* "v2.9.3" */
	int major, minor, patch;
	const char *kube_minimum;       /* "1.33.0": flux check --pre's constraint */
	const char *tags[FLUXSTATE__MAX_RELEASE_COMPONENTS]; /* per fluxstate__release_components; NULL = not shipped */
};
extern const struct fluxstate__release fluxstate__releases[];
extern const size_t fluxstate__n_releases;
extern const char *const fluxstate__release_components[];
extern const size_t fluxstate__n_release_components;

/* The release @flux_version ("v2.9.3" or "2.9.3"), or NULL when not in the table. */
const struct fluxstate__release *fluxstate__release_lookup(const char *flux_version);
/*
 * Does release @rel ship @component with image tag @tag ("v1.6.3" or
 * "1.6.3")? Several releases often ship the same tag (v2.9.3 and v2.9.4
 * both ship helm-controller v1.6.3): a tag is compatible with each of them.
 */
int fluxstate__release_ships(const struct fluxstate__release *rel, const char *component, const char *tag);
/* The latest release shipping @component's @tag, or NULL when no release does. */
const char *fluxstate__version_for_image(const char *component, const char *tag);
/* Is @flux_version a 2.x release newer than every release in the table? */
int fluxstate__release_newer_than_table(const char *flux_version);
/*
 * Kubernetes minimum ("1.32.0", no leading v) for a Flux version ("v2.7.5",
 * "2.7.5"): that release's, else its minor's when the minor is in the
 * table; NULL if not known.
 */
const char *fluxstate__kube_minimum(const char *flux_version);

/* Parse "v1.29.1+k3s1", "1.33.0-rc.1", "v2.7.5": 0 on success. Missing patch = 0. */
int fluxstate__parse_semver(const char *s, int *major, int *minor, int *patch);
/* Normalised "vX.Y.Z" copy of a version ("2.8.5" -> "v2.8.5"); NULL if not a version. */
char *fluxstate__normalize_version(const char *s);

/* ------------------------------------------------------------------------
 * Observations: plain facts, owned by struct fluxstate__observations
 * ------------------------------------------------------------------------ */

struct fluxstate__kv {
	char *key;
	char *value;
};

struct fluxstate__meta {
	char *name;
	char *namespace;                /* NULL: cluster-scoped */
	struct fluxstate__kv *labels;
	size_t n_labels;
	char **finalizers;
	size_t n_finalizers;
	char *deletion_timestamp;       /* NULL: not being deleted */
	long long generation;
	unsigned int read_id;           /* observe.c: the read that saw it (0: none) */
	char *uid;                      /* for cleanup preconditions */
	char *resource_version;
};

struct fluxstate__obs_crd {
	struct fluxstate__meta meta;
	char *group;
	char *kind;
	char *plural;
	char **served;                  /* served versions */
	size_t n_served;
	char *storage_version;
	char **stored_versions;         /* status.storedVersions */
	size_t n_stored;
	int established;                /* condition Established=True */
	int terminating;                /* condition Terminating=True */
	char *terminating_reason;
	char *terminating_message;
};

struct fluxstate__obs_deployment {
	struct fluxstate__meta meta;
	long long replicas;             /* spec.replicas, default 1 */
	int has_status;
	long long observed_generation;
	long long status_replicas;
	long long updated_replicas;
	long long ready_replicas;
	long long available_replicas;
	long long unavailable_replicas;
	char *available_status;         /* condition Available: "True", "False", … or NULL */
	char *available_message;
	char *progressing_status;
	char *progressing_reason;
	char *progressing_message;
	char **images;
	size_t n_images;
};

struct fluxstate__obs_namespace {
	struct fluxstate__meta meta;
	char *phase;
	char *remaining;                /* NamespaceContentRemaining / FinalizersRemaining message */
};

/* Any other object: ClusterRole(Binding), ServiceAccount, Service, Secret, … */
struct fluxstate__obs_object {
	char *kind;
	char *api_version;
	struct fluxstate__meta meta;
};

/*
 * A Flux custom resource; conditions only for kinds read in full (FluxInstance).
 * Only those a report may name are kept (fluxstate__obs_count_cr()); the
 * others are counted in their kind's fluxstate__cr_tally.
 */
struct fluxstate__obs_cr {
	char *kind;
	char *api_version;
	const struct fluxstate__crd_info *info; /* its kind's row of fluxstate__crds */
	unsigned int example;           /* FLUXSTATE__CR_LISTABLE / _STUCK: among the first listed */
	struct fluxstate__meta meta;
	char *ready_status;
	char *ready_reason;
	char *ready_message;
	long long ready_observed_generation;
	char *stalled_status;
	char *stalled_reason;
	char *stalled_message;
	char *last_applied_revision;
};

/* Findings list at most this many custom resources of one kind; the rest are counted. */
#define FLUXSTATE__MAX_CR_EXAMPLES 25

enum fluxstate__cr_example {
	FLUXSTATE__CR_LISTABLE = 1 << 0, /* Flux/operator finalizer or deletionTimestamp (residual lists these) */
	FLUXSTATE__CR_STUCK = 1 << 1     /* deletionTimestamp and a Flux/operator finalizer (always listed) */
};

/*
 * The custom resources of one Flux kind, counted as they stream in: memory
 * and per-object work do not depend on how many there are.
 */
struct fluxstate__cr_tally {
	size_t n;                       /* objects */
	size_t n_finalizers;            /* with any finalizer */
	size_t n_finalizers_in_ns;      /* ... in obs->namespace */
	size_t n_listable, n_stuck;     /* FLUXSTATE__CR_LISTABLE / _STUCK ones */
	size_t kept[2];                 /* examples kept per bit */
	const char *max_ns[2], *max_name[2]; /* the last kept example per bit (strings of a kept CR) */
	unsigned int read_id;           /* the read that counted them */
};

/* What a failed list could have shown: decides which answers it can change. */
enum fluxstate__sight {
	FLUXSTATE__SEE_SERVER = 1 << 0,
	FLUXSTATE__SEE_CRDS = 1 << 1,
	FLUXSTATE__SEE_CONTROLLERS = 1 << 2,
	FLUXSTATE__SEE_NAMESPACES = 1 << 3,
	FLUXSTATE__SEE_RBAC = 1 << 4,
	FLUXSTATE__SEE_NS_OBJECTS = 1 << 5,  /* SAs, Services, NetworkPolicies, ResourceQuotas */
	FLUXSTATE__SEE_SECRETS = 1 << 6,
	FLUXSTATE__SEE_CONFIGMAPS = 1 << 7,
	FLUXSTATE__SEE_CRS = 1 << 8,
	FLUXSTATE__SEE_FLUX_INSTANCE = 1 << 9,
	FLUXSTATE__SEE_OPERATOR = 1 << 10,
	FLUXSTATE__SEE_FLUX_V1 = 1 << 11      /* Flux v1 Deployments: never decide the state */
};

struct fluxstate__blind_spot {
	char *kind;                     /* "Deployment" */
	char *api_version;
	char *namespace;                /* listed namespace, NULL = cluster / all */
	char *message;                  /* the server's message */
	long http_status;
	unsigned int sight;             /* FLUXSTATE__SEE_* it hides */
};

enum fluxstate__ns_source {
	FLUXSTATE__NS_OPTION,
	FLUXSTATE__NS_DETECTED,
	FLUXSTATE__NS_ENVIRONMENT,
	FLUXSTATE__NS_DEFAULT
};

struct fluxstate__observations {
	char *namespace;                /* the namespace inspected */
	enum fluxstate__ns_source namespace_source;

	char *server_version;           /* /version gitVersion, NULL if unknown */

	struct fluxstate__obs_crd *crds;
	size_t n_crds, cap_crds;
	struct fluxstate__obs_deployment *deployments; /* Flux controllers (+ flux-operator) anywhere */
	size_t n_deployments, cap_deployments;
	struct fluxstate__obs_namespace *namespaces;   /* Flux-labelled, Terminating, or the inspected one */
	size_t n_namespaces, cap_namespaces;
	struct fluxstate__obs_object *objects;
	size_t n_objects, cap_objects;
	struct fluxstate__obs_cr *crs;  /* the kept ones: see fluxstate__obs_count_cr() */
	size_t n_crs, cap_crs;
	struct fluxstate__cr_tally *cr_tally; /* per fluxstate__crds row; NULL: none counted */
	struct fluxstate__blind_spot *blind;
	size_t n_blind, cap_blind;
	/* Flux v1 (helm-operator, fluxd) CRDs and Deployments: not Flux v2 evidence, never cleaned up */
	struct fluxstate__obs_object *flux_v1;
	size_t n_flux_v1, cap_flux_v1;

	unsigned int n_requests;
	int list_all_crs;               /* set before observing: list every Flux CRD's objects (cleanup plans) */

	/* What wait_for_change watches: copied into the report. */
	struct fluxstate__watch_target *watch;
	size_t n_watch, cap_watch;
};

struct fluxstate__watch_target {
	char *group;
	char *version;
	char *resource;
	char *namespace;
	char *label_selector;
	char *resource_version;
};

/* observations.c: the container. */
void fluxstate__observations_clear(struct fluxstate__observations *obs);
/* Drop what one read added: a list restarted after 410 Expired replays its items. */
void fluxstate__obs_forget_read(struct fluxstate__observations *obs, unsigned int read_id);
/*
 * Move what read @from_id added to @from into @to as read @to_id (a
 * speculative read of observe.c taken by the read it stood for). A
 * Deployment or Flux v1 object @to already holds (same kind, namespace and
 * name) is dropped, as the item callbacks drop a second sighting; @to must
 * not have counted custom resources of the kinds the read counted.
 * 0 or FLUXSTATE_ENOMEM.
 */
int fluxstate__obs_move_read(struct fluxstate__observations *to, struct fluxstate__observations *from,
			     unsigned int from_id, unsigned int to_id);
/* Append zeroed elements; NULL on ENOMEM. */
struct fluxstate__obs_crd *fluxstate__obs_add_crd(struct fluxstate__observations *obs);
struct fluxstate__obs_deployment *fluxstate__obs_add_deployment(struct fluxstate__observations *obs);
struct fluxstate__obs_namespace *fluxstate__obs_add_namespace(struct fluxstate__observations *obs);
struct fluxstate__obs_object *fluxstate__obs_add_object(struct fluxstate__observations *obs);
struct fluxstate__obs_cr *fluxstate__obs_add_cr(struct fluxstate__observations *obs);
/*
 * Count @cr (parsed, owned by the caller, info/kind/meta set; obs->namespace
 * already chosen) in its kind's tally. When a report may name it (any with
 * obs->list_all_crs, a FluxInstance, the bootstrap Kustomization, one of the first
 * FLUXSTATE__MAX_CR_EXAMPLES by namespace/name of a category) it is moved
 * into obs->crs (possibly evicting an example it precedes) and *cr zeroed;
 * otherwise the caller clears it. 0 or FLUXSTATE_ENOMEM.
 */
int fluxstate__obs_count_cr(struct fluxstate__observations *obs, struct fluxstate__obs_cr *cr, unsigned int read_id);
/* The tally of @info's kind (zeroes when none was counted). */
const struct fluxstate__cr_tally *fluxstate__obs_cr_tally(const struct fluxstate__observations *obs,
							    const struct fluxstate__crd_info *info);
void fluxstate__obs_cr_clear(struct fluxstate__obs_cr *cr);
struct fluxstate__obs_object *fluxstate__obs_add_flux_v1(struct fluxstate__observations *obs);
struct fluxstate__blind_spot *fluxstate__obs_add_blind(struct fluxstate__observations *obs);
struct fluxstate__watch_target *fluxstate__obs_add_watch(struct fluxstate__observations *obs);
/* Label value or NULL. */
const char *fluxstate__meta_label(const struct fluxstate__meta *m, const char *key);
int fluxstate__meta_has_finalizer(const struct fluxstate__meta *m, const char *finalizer);
/* Add a label / finalizer (copies): for observe.c and hand-built unit-test observations. */
int fluxstate__meta_set_label(struct fluxstate__meta *m, const char *key, const char *value);
int fluxstate__meta_add_finalizer(struct fluxstate__meta *m, const char *finalizer);
int fluxstate__strv_add(char ***v, size_t *n, const char *s);
void fluxstate__meta_clear(struct fluxstate__meta *m);

/* observe.c: issue the reads of one detection (concurrent rounds: one when Flux is healthy in the likely namespace or absent). */
int fluxstate__observe(fluxstate_ctx *ctx, struct fluxstate__observations *obs);

/* ------------------------------------------------------------------------
 * classify.c: pure function of the observations
 * ------------------------------------------------------------------------ */

/* 0 or FLUXSTATE_ENOMEM; *ret owned by the caller. */
int fluxstate__classify(const struct fluxstate__observations *obs, struct fluxstate_report **ret);

/* ------------------------------------------------------------------------
 * report.c
 * ------------------------------------------------------------------------ */

struct fluxstate_finding {
	char *kind;
	char *api_version;
	char *namespace;                /* NULL: cluster-scoped */
	char *name;
	const char *category;           /* static vocabulary */
	const char *problem;
	char *reason;
	int severity;
	unsigned int flags;
	unsigned int seq;               /* insertion order, for a stable sort */
};

struct fluxstate_component {
	char *name;
	char *namespace;
	char *version;
	char *image;
	char *reason;
	int ready;
};

struct fluxstate_report {
	int state;
	char *summary;
	const char *action;
	char *namespace;
	const char *namespace_source;
	const char *installer;
	char *managed_by;
	int bootstrapped;
	char *version;
	char *server_version;
	char *flux_minimum;
	int supported;                  /* 1, 0, or -1 when it cannot be told */
	struct fluxstate_component *components;
	size_t n_components, cap_components;
	struct fluxstate_finding *findings;
	size_t n_findings, cap_findings;
	unsigned int requests;
	struct fluxstate__watch_target *watch;
	size_t n_watch;
};

struct fluxstate_report *fluxstate__report_new(void);
/* Add a finding; strings copied; NULL strings stay NULL (kind/name/reason become ""). */
struct fluxstate_finding *fluxstate__report_add_finding(struct fluxstate_report *r, const char *kind,
							 const char *api_version, const char *namespace,
							 const char *name, const char *category,
							 const char *problem, int severity, unsigned int flags,
							 const char *reason_fmt, ...) FLUXSTATE_PRINTF(10, 11);
struct fluxstate_component *fluxstate__report_add_component(struct fluxstate_report *r);
/* Stable sort: errors first, then warnings, then info. */
void fluxstate__report_sort(struct fluxstate_report *r);
int fluxstate__report_copy_watch(struct fluxstate_report *r, const struct fluxstate__watch_target *w, size_t n);
const char *fluxstate__flag_name(unsigned int flag);

#endif /* FLUXSTATE_DETECT_H */
