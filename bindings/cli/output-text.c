/*
 * A report as text, in the manner of `flux check`: the state first, then
 * the findings grouped by category, then what to do next.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "cli.h"

void
cli_style_init(struct cli_style *style, int color)
{
	if (color) {
		style->ok = "\033[32m\xe2\x9c\x94\033[0m";     /* green ✔ */
		style->fail = "\033[31m\xe2\x9c\x97\033[0m";   /* red ✗ */
		style->warn = "\033[33m\xe2\x9a\xa0\033[0m";   /* yellow ⚠ */
		style->arrow = "\033[36m\xe2\x96\xba\033[0m";  /* cyan ► */
		style->bold = "\033[1m";
		style->reset = "\033[0m";
	} else {
		style->ok = "\xe2\x9c\x94";
		style->fail = "\xe2\x9c\x97";
		style->warn = "\xe2\x9a\xa0";
		style->arrow = "\xe2\x96\xba";
		style->bold = "";
		style->reset = "";
	}
}

static const struct {
	const char *category;
	const char *heading;
} headings[] = {
	{ "controller", "controllers" },
	{ "crd", "custom resource definitions" },
	{ "custom-resource", "Flux custom resources" },
	{ "rbac", "RBAC" },
	{ "namespace", "namespace" },
	{ "service-account", "service accounts" },
	{ "service", "services" },
	{ "network-policy", "network policies" },
	{ "resource-quota", "resource quotas" },
	{ "secret", "secrets" },
	{ "configmap", "config maps" },
	{ "helm-release", "Helm release" },
	{ "operator", "flux-operator" },
	{ "flux-instance", "FluxInstance" },
	{ "server", "Kubernetes server" },
	{ "access", "not visible (access denied or incomplete)" },
	{ "flux-v1", "Flux v1 (legacy, not part of Flux v2)" },
};

static const char *
category_heading(const char *category)
{
	size_t i;

	for (i = 0; i < sizeof(headings) / sizeof(headings[0]); i++)
		if (strcmp(headings[i].category, category) == 0)
			return headings[i].heading;
	return category;
}

static const struct {
	const char *action;
	const char *hint;
} hints[] = {
	{ "bootstrap", "bootstrap: no trace of Flux, `flux bootstrap` (or your installer) can run" },
	{ "cleanup", "clean up first: leftovers would break a new install; `fluxstate cleanup-plan` prints the commands that remove them" },
	{ "repair", "repair: Flux is installed but broken; fix the findings above (see `flux check`), or remove it with `fluxstate cleanup-plan --force`" },
	{ "none", "leave alone: Flux is installed and healthy" },
	{ "investigate", "investigate: could not see enough to decide; grant read access to what is not visible and run again" },
};

const char *
cli_action_hint(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(hints[i].action, action) == 0)
			return hints[i].hint;
	return action;
}

static const char *
state_mark(const struct cli_style *style, int state)
{
	return state == FLUXSTATE_INSTALL_NONE || state == FLUXSTATE_INSTALL_HEALTHY ? style->ok : style->fail;
}

static const char *
severity_mark(const struct cli_style *style, int severity)
{
	switch (severity) {
	case FLUXSTATE_SEVERITY_ERROR:
		return style->fail;
	case FLUXSTATE_SEVERITY_WARNING:
		return style->warn;
	default:
		return style->ok;
	}
}

static void
print_flags(FILE *out, unsigned int flags)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ FLUXSTATE_FLAG_BLOCKS_REINSTALL, "blocks reinstall" },
		{ FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL, "blocks flux install" },
		{ FLUXSTATE_FLAG_FINALIZER_BLOCKED, "finalizer-blocked" },
		{ FLUXSTATE_FLAG_NOT_VISIBLE, "not visible" },
		{ FLUXSTATE_FLAG_NOT_FLUX_V2, "not Flux v2" },
	};
	const char *sep = " [";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		fprintf(out, "%s%s", sep, names[i].name);
		sep = ", ";
	}
	if (*sep == ',')
		fputc(']', out);
}

static void
print_finding(FILE *out, const fluxstate_finding *f, const struct cli_style *style)
{
	const char *ns = fluxstate_finding_get_namespace(f);
	const char *name = fluxstate_finding_get_name(f);

	/* Kind/namespace/name as `flux uninstall` prints objects; "*" for a
	 * whole type; the category for findings about no object (the server). */
	fprintf(out, "%s ", severity_mark(style, fluxstate_finding_get_severity(f)));
	if (*fluxstate_finding_get_kind(f)) {
		fprintf(out, "%s/", fluxstate_finding_get_kind(f));
		if (ns)
			fprintf(out, "%s/", ns);
		fputs(*name ? name : "*", out);
	} else {
		fputs(*name ? name : fluxstate_finding_get_category(f), out);
	}
	fprintf(out, ": %s", fluxstate_finding_get_problem(f));
	if (*fluxstate_finding_get_reason(f))
		fprintf(out, " (%s)", fluxstate_finding_get_reason(f));
	print_flags(out, fluxstate_finding_get_flags(f));
	fputc('\n', out);
}

/* One line: Flux version, installer, Kubernetes version; parts that are known. */
static void
print_versions(FILE *out, const fluxstate_report *report, const struct cli_style *style)
{
	const char *version = fluxstate_report_get_version(report);
	const char *installer = fluxstate_report_get_installer(report);
	const char *server = fluxstate_report_get_server_version(report);
	int supported = fluxstate_report_get_server_supported(report);
	const char *sep = "";

	if (!version && strcmp(installer, "unknown") == 0 && !server)
		return;
	fprintf(out, "%s ", style->arrow);
	if (version) {
		fprintf(out, "Flux %s", version);
		sep = ", ";
	}
	if (strcmp(installer, "unknown") != 0) {
		fprintf(out, "%sinstalled by %s", sep, installer);
		sep = ", ";
	}
	if (server) {
		fprintf(out, "%sKubernetes %s", sep, server);
		if (supported == 0)
			fputs(" (older than this Flux version supports)", out);
	}
	fputc('\n', out);
}

static const char *
json_string(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

	return v ? YAJL_GET_STRING(v) : NULL;
}

/*
 * The controllers found, as `flux check` lists them ("✔ name: deployment
 * ready", then "► image"). The public accessors do not carry components;
 * the report's JSON does, so it is read from there.
 */
static void
print_components(FILE *out, const fluxstate_report *report, const struct cli_style *style)
{
	const char *path[] = { "components", NULL };
	char *json = NULL, errbuf[128];
	yajl_val root, list;
	size_t i;

	if (fluxstate_report_to_json(report, &json) < 0)
		return;
	root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	fluxstate_free(json);
	list = root ? yajl_tree_get(root, path, yajl_t_array) : NULL;
	if (list && YAJL_GET_ARRAY(list)->len > 0) {
		fprintf(out, "%s checking controllers\n", style->arrow);
		for (i = 0; i < YAJL_GET_ARRAY(list)->len; i++) {
			yajl_val c = YAJL_GET_ARRAY(list)->values[i];
			const char *ready_path[] = { "ready", NULL };
			const char *name = json_string(c, "name");
			const char *image = json_string(c, "image");
			const char *reason = json_string(c, "reason");
			int ready = YAJL_IS_TRUE(yajl_tree_get(c, ready_path, yajl_t_true));

			if (!name)
				continue;
			if (ready)
				fprintf(out, "%s %s: deployment ready\n", style->ok, name);
			else if (reason && *reason)
				fprintf(out, "%s %s: deployment not ready (%s)\n", style->fail, name, reason);
			else
				fprintf(out, "%s %s: deployment not ready\n", style->fail, name);
			if (image)
				fprintf(out, "%s %s\n", style->arrow, image);
		}
	}
	yajl_tree_free(root);
}

void
cli_print_report_text(FILE *out, const fluxstate_report *report, const char *context,
		      const struct cli_style *style)
{
	size_t n = fluxstate_report_get_n_findings(report), i, j;
	int state = fluxstate_report_get_state(report);
	const char *ns = fluxstate_report_get_namespace(report);
	char *done;

	fprintf(out, "%s checking Flux in namespace %s", style->arrow, ns ? ns : "(unknown)");
	if (context)
		fprintf(out, " (context %s)", context);
	fputc('\n', out);
	fprintf(out, "%s %sstate: %s%s: %s\n", state_mark(style, state), style->bold,
		fluxstate_state_to_string(state), style->reset, fluxstate_report_get_summary(report));
	print_versions(out, report, style);
	print_components(out, report, style);

	/* Groups in order of first appearance: findings come most important first. */
	done = n ? calloc(n, 1) : NULL;
	if (n && !done) {
		/* out of memory: ungrouped rather than nothing */
		for (i = 0; i < n; i++)
			print_finding(out, fluxstate_report_get_finding(report, i), style);
	}
	for (i = 0; done && i < n; i++) {
		const char *category;

		if (done[i])
			continue;
		category = fluxstate_finding_get_category(fluxstate_report_get_finding(report, i));
		fprintf(out, "%s %s\n", style->arrow, category_heading(category));
		for (j = i; j < n; j++) {
			const fluxstate_finding *f = fluxstate_report_get_finding(report, j);

			if (done[j] || strcmp(fluxstate_finding_get_category(f), category) != 0)
				continue;
			print_finding(out, f, style);
			done[j] = 1;
		}
	}
	free(done);
	fprintf(out, "%s next: %s\n", style->arrow, cli_action_hint(fluxstate_report_get_action(report)));
}
