/*
 * Static knowledge about Flux v2 and the flux-operator: CRDs, controllers,
 * cluster RBAC names, and lookups in the release table (image tags and
 * Kubernetes minimum per release), which is generated at build time from
 * flux-releases.tsv by gen-fluxdata.py. What these are: docs/states.md,
 * "What a Flux install creates".
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
	if (fluxstate__is_flux_v1_group(group))
		return 0;
	return strcmp(group, "fluxcd.io") == 0 || fluxstate__has_suffix(group, ".fluxcd.io") ||
	       strcmp(group, FLUXSTATE__OPERATOR_GROUP) == 0;
}

int
fluxstate__is_flux_v1_group(const char *group)
{
	return fluxstate__streq(group, "helm.fluxcd.io") || fluxstate__streq(group, "flux.weave.works");
}

int
fluxstate__is_flux_v1_deployment(const char *name, const char *image)
{
	static const char *const repos[] = {
		"fluxcd/flux", "fluxcd/helm-operator", "weaveworks/flux", "weaveworks/helm-operator",
	};
	size_t i, n;
	const char *p;

	if (fluxstate__streq(name, "flux") || fluxstate__streq(name, "helm-operator"))
		return 1;
	for (i = 0; image && i < sizeof(repos) / sizeof(repos[0]); i++) {
		/* registry/…/fluxcd/flux:1.25.4, not ghcr.io/fluxcd/flux-cli */
		p = strstr(image, repos[i]);
		n = strlen(repos[i]);
		if (p && (p == image || p[-1] == '/') && (p[n] == ':' || p[n] == '@' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

/* Base names of the cluster RBAC a Flux install creates (docs/states.md, "What a Flux install creates"). */
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

/* Release facts (image tags, Kubernetes minimum): fluxstate__releases[], generated from flux-releases.tsv. */

static int
tag_equal(const char *table_tag, const char *tag)
{
	/* the table writes tags with "v"; accept them without */
	if (tag[0] == 'v' || tag[0] == 'V')
		tag++;
	return strcmp(table_tag[0] == 'v' ? table_tag + 1 : table_tag, tag) == 0;
}

static int
component_column(const char *component)
{
	size_t c;

	for (c = 0; component && c < fluxstate__n_release_components; c++)
		if (strcmp(fluxstate__release_components[c], component) == 0)
			return (int)c;
	return -1;
}

const struct fluxstate__release *
fluxstate__release_lookup(const char *flux_version)
{
	int major, minor, patch;
	size_t i;

	if (fluxstate__parse_semver(flux_version, &major, &minor, &patch) < 0)
		return NULL;
	/* "v2.9.3-rc.1" or "v2.9.3+build" is not the release v2.9.3 */
	if (strpbrk(flux_version, "-+"))
		return NULL;
	for (i = 0; i < fluxstate__n_releases; i++)
		if (fluxstate__releases[i].major == major && fluxstate__releases[i].minor == minor &&
		    fluxstate__releases[i].patch == patch)
			return &fluxstate__releases[i];
	return NULL;
}

int
fluxstate__release_ships(const struct fluxstate__release *rel, const char *component, const char *tag)
{
	int c = component_column(component);

	if (!rel || c < 0 || !tag || !rel->tags[c])
		return 0;
	return tag_equal(rel->tags[c], tag);
}

const char *
fluxstate__version_for_image(const char *component, const char *tag)
{
	size_t i = fluxstate__n_releases;

	while (i-- > 0)
		if (fluxstate__release_ships(&fluxstate__releases[i], component, tag))
			return fluxstate__releases[i].flux;
	return NULL;
}

static int
cmp_version(int major, int minor, int patch, const struct fluxstate__release *rel)
{
	if (major != rel->major)
		return major < rel->major ? -1 : 1;
	if (minor != rel->minor)
		return minor < rel->minor ? -1 : 1;
	return patch < rel->patch ? -1 : patch > rel->patch;
}

int
fluxstate__release_newer_than_table(const char *flux_version)
{
	int major, minor, patch;

	if (fluxstate__parse_semver(flux_version, &major, &minor, &patch) < 0 || major != 2)
		return 0;
	return cmp_version(major, minor, patch, &fluxstate__releases[fluxstate__n_releases - 1]) > 0;
}

const char *
fluxstate__kube_minimum(const char *flux_version)
{
	const struct fluxstate__release *rel = fluxstate__release_lookup(flux_version);
	int major, minor, patch;
	size_t i;

	if (rel)
		return rel->kube_minimum;
	/* a pre-release or a patch the table does not know yet: flux check's constraint is per minor */
	if (fluxstate__parse_semver(flux_version, &major, &minor, &patch) < 0)
		return NULL;
	i = fluxstate__n_releases;
	while (i-- > 0)
		if (fluxstate__releases[i].major == major && fluxstate__releases[i].minor == minor)
			return fluxstate__releases[i].kube_minimum;
	return NULL;
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
