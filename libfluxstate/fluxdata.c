/*
 * Static knowledge about Flux v2 (v2.0 … v2.9) and the flux-operator: CRDs,
 * controllers, cluster RBAC names, image tags per release, and the
 * Kubernetes minimum per Flux minor. Sources: flux-inventory.md §2.3–§3, §6.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

const struct fluxstate__crd_info fluxstate__crds[] = {
	{ "gitrepositories.source.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "GitRepository", "gitrepositories", "source-controller", 0 },
	{ "ocirepositories.source.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "OCIRepository", "ocirepositories", "source-controller", 0 },
	{ "helmrepositories.source.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "HelmRepository", "helmrepositories", "source-controller", 0 },
	{ "helmcharts.source.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "HelmChart", "helmcharts", "source-controller", 0 },
	{ "buckets.source.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "Bucket", "buckets", "source-controller", 0 },
	{ "externalartifacts.source.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "ExternalArtifact", "externalartifacts", "source-controller", 7 },
	{ "kustomizations.kustomize.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", "kustomize-controller", 0 },
	{ "helmreleases.helm.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "HelmRelease", "helmreleases", "helm-controller", 0 },
	{ "alerts.notification.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io", "Alert", "alerts", "notification-controller", 0 },
	{ "providers.notification.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io", "Provider", "providers", "notification-controller", 0 },
	{ "receivers.notification.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io", "Receiver", "receivers", "notification-controller", 0 },
	{ "imagerepositories.image.toolkit.fluxcd.io", "image.toolkit.fluxcd.io", "ImageRepository", "imagerepositories", "image-reflector-controller", 0 },
	{ "imagepolicies.image.toolkit.fluxcd.io", "image.toolkit.fluxcd.io", "ImagePolicy", "imagepolicies", "image-reflector-controller", 0 },
	{ "imageupdateautomations.image.toolkit.fluxcd.io", "image.toolkit.fluxcd.io", "ImageUpdateAutomation", "imageupdateautomations", "image-automation-controller", 0 },
	{ "artifactgenerators.source.extensions.fluxcd.io", "source.extensions.fluxcd.io", "ArtifactGenerator", "artifactgenerators", "source-watcher", 7 },
	{ "fluxinstances.fluxcd.controlplane.io", "fluxcd.controlplane.io", "FluxInstance", "fluxinstances", "flux-operator", 0 },
	{ "fluxreports.fluxcd.controlplane.io", "fluxcd.controlplane.io", "FluxReport", "fluxreports", "flux-operator", 0 },
	{ "resourcesets.fluxcd.controlplane.io", "fluxcd.controlplane.io", "ResourceSet", "resourcesets", "flux-operator", 0 },
	{ "resourcesetinputproviders.fluxcd.controlplane.io", "fluxcd.controlplane.io", "ResourceSetInputProvider", "resourcesetinputproviders", "flux-operator", 0 },
};
const size_t fluxstate__n_crds = sizeof(fluxstate__crds) / sizeof(fluxstate__crds[0]);

/* source-controller first: the others depend on it. */
const struct fluxstate__controller_info fluxstate__controllers[] = {
	{ "source-controller", 0 },
	{ "kustomize-controller", 0 },
	{ "helm-controller", 0 },
	{ "notification-controller", 0 },
	{ "image-reflector-controller", 1 },
	{ "image-automation-controller", 1 },
	{ "source-watcher", 1 },
};
const size_t fluxstate__n_controllers = sizeof(fluxstate__controllers) / sizeof(fluxstate__controllers[0]);

const struct fluxstate__crd_info *
fluxstate__crd_lookup(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < fluxstate__n_crds; i++)
		if (strcmp(fluxstate__crds[i].name, name) == 0)
			return &fluxstate__crds[i];
	return NULL;
}

const struct fluxstate__crd_info *
fluxstate__crd_lookup_group_plural(const char *group, const char *plural)
{
	size_t i;

	if (!group || !plural)
		return NULL;
	for (i = 0; i < fluxstate__n_crds; i++)
		if (strcmp(fluxstate__crds[i].group, group) == 0 &&
		    strcmp(fluxstate__crds[i].plural, plural) == 0)
			return &fluxstate__crds[i];
	return NULL;
}

const struct fluxstate__controller_info *
fluxstate__controller_lookup(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < fluxstate__n_controllers; i++)
		if (strcmp(fluxstate__controllers[i].name, name) == 0)
			return &fluxstate__controllers[i];
	return NULL;
}

int
fluxstate__is_flux_group(const char *group)
{
	if (!group)
		return 0;
	return strcmp(group, "fluxcd.io") == 0 || fluxstate__has_suffix(group, ".fluxcd.io") ||
	       strcmp(group, FLUXSTATE__OPERATOR_GROUP) == 0;
}

/* Base names of the cluster RBAC a Flux install creates (flux-inventory §2.5, §2.8). */
static const char *const rbac_bases[] = {
	"crd-controller", "flux-edit", "flux-view", "cluster-reconciler",
};

/* The operator's own cluster RBAC (§6.5) and the chart's multitenancy role (§2.8). */
static const char *const rbac_fixed[] = {
	"cluster-reconciler-impersonator", "flux-operator-cluster-admin", "flux-operator-edit",
	"flux-operator-view", "flux-web-user", "flux-web-admin",
};

int
fluxstate__is_flux_rbac_name(const char *kind, const char *name, const char *ns, int *ret_suffixed)
{
	size_t i, len;

	(void)kind;
	if (ret_suffixed)
		*ret_suffixed = 0;
	if (!name)
		return 0;
	for (i = 0; i < sizeof(rbac_fixed) / sizeof(rbac_fixed[0]); i++)
		if (strcmp(name, rbac_fixed[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(rbac_bases) / sizeof(rbac_bases[0]); i++) {
		len = strlen(rbac_bases[i]);
		if (strncmp(name, rbac_bases[i], len) != 0)
			continue;
		if (name[len] == '\0')
			return 1;
		if (ns && name[len] == '-' && strcmp(name + len + 1, ns) == 0) {
			if (ret_suffixed)
				*ret_suffixed = 1;
			return 1;
		}
	}
	return 0;
}

int
fluxstate__is_flux_service_name(const char *name)
{
	static const char *const names[] = {
		"source-controller", "notification-controller", "webhook-receiver", "source-watcher",
	};
	size_t i;

	for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Controller image tags per Flux release (flux2 manifests/bases, §2.4). */
struct image_tag {
	const char *flux;
	const char *tags[7];    /* in fluxstate__controllers order; NULL = not in that release */
};

static const struct image_tag image_tags[] = {
	{ "v2.0.0", { "v1.0.0", "v1.0.0", "v0.35.0", "v1.0.0", "v0.29.0", "v0.35.0", NULL } },
	{ "v2.2.2", { "v1.2.3", "v1.2.1", "v0.37.2", "v1.2.3", "v0.31.1", "v0.37.0", NULL } },
	{ "v2.3.0", { "v1.3.0", "v1.3.0", "v1.0.1", "v1.3.0", "v0.32.0", "v0.38.0", NULL } },
	{ "v2.4.0", { "v1.4.1", "v1.4.0", "v1.1.0", "v1.4.0", "v0.33.0", "v0.39.0", NULL } },
	{ "v2.6.4", { "v1.6.2", "v1.6.1", "v1.3.0", "v1.6.0", "v0.35.2", "v0.41.2", NULL } },
	{ "v2.7.5", { "v1.7.4", "v1.7.3", "v1.4.5", "v1.7.5", "v1.0.4", "v1.0.4", "v2.0.3" } },
	{ "v2.9.3", { "v1.9.3", "v1.9.4", "v1.6.3", "v1.9.2", "v1.2.3", "v1.2.3", "v2.2.2" } },
	{ "v2.9.4", { "v1.9.4", "v1.9.4", "v1.6.3", "v1.9.3", "v1.2.4", "v1.2.4", "v2.2.3" } },
};

const char *
fluxstate__version_for_image(const char *component, const char *tag)
{
	const char *found = NULL;
	size_t c, i;
	int cmp;

	if (!component || !tag)
		return NULL;
	for (c = 0; c < fluxstate__n_controllers; c++)
		if (strcmp(fluxstate__controllers[c].name, component) == 0)
			break;
	if (c == fluxstate__n_controllers)
		return NULL;
	for (i = 0; i < sizeof(image_tags) / sizeof(image_tags[0]); i++) {
		const char *t = image_tags[i].tags[c];

		if (!t)
			continue;
		/* tags are written with "v"; accept them without */
		cmp = tag[0] == 'v' ? strcmp(t, tag) : strcmp(t + 1, tag);
		if (cmp == 0)
			found = image_tags[i].flux; /* latest release using that tag wins */
	}
	return found;
}

/* kubernetesConstraints per Flux minor (flux2 cmd/flux/main.go, §3). */
static const char *const kube_minimum[] = {
	[0] = "1.24.0", [1] = "1.25.0", [2] = "1.26.0", [3] = "1.28.0", [4] = "1.28.0",
	[5] = "1.30.0", [6] = "1.31.0", [7] = "1.32.0", [8] = "1.33.0", [9] = "1.33.0",
};

const char *
fluxstate__kube_minimum(const char *flux_version)
{
	int major, minor, patch;

	if (fluxstate__parse_semver(flux_version, &major, &minor, &patch) < 0 || major != 2)
		return NULL;
	if (minor < 0 || (size_t)minor >= sizeof(kube_minimum) / sizeof(kube_minimum[0]))
		return NULL;
	return kube_minimum[minor];
}

static int
parse_num(const char **p, int *ret)
{
	long v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v > 1000000)
			return -1;
		s++;
	}
	*p = s;
	*ret = (int)v;
	return 0;
}

/*
 * Only the numeric core matters: constraints are ">=X.Y.Z-0", which every
 * pre-release of X.Y.Z satisfies, and build metadata (+k3s1) or vendor
 * suffixes (-eks-…, -gke.…) are ignored, as `flux check` does.
 */
int
fluxstate__parse_semver(const char *s, int *major, int *minor, int *patch)
{
	if (!s)
		return -1;
	if (*s == 'v' || *s == 'V')
		s++;
	if (parse_num(&s, major) < 0)
		return -1;
	if (*s != '.')
		return -1;
	s++;
	if (parse_num(&s, minor) < 0)
		return -1;
	*patch = 0;
	if (*s == '.') {
		s++;
		if (parse_num(&s, patch) < 0)
			return -1;
	}
	if (*s != '\0' && *s != '-' && *s != '+')
		return -1;
	return 0;
}

char *
fluxstate__normalize_version(const char *s)
{
	int major, minor, patch;

	if (fluxstate__parse_semver(s, &major, &minor, &patch) < 0)
		return NULL;
	return fluxstate__asprintf("v%s", (*s == 'v' || *s == 'V') ? s + 1 : s);
}
