/*
 * `fluxstate cleanup-plan`: the findings of a residual (or, with --force,
 * partial) install turned into the kubectl commands that remove them, in
 * the order `flux uninstall` uses: stop the controllers, strip finalizers
 * from Flux custom resources, delete the CRDs, the cluster RBAC, the
 * namespaced leftovers, then the namespace. It prints a shell script and
 * changes nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "cli.h"

enum phase {
	PHASE_CONTROLLERS,
	PHASE_FINALIZERS,
	PHASE_CRDS,
	PHASE_CLUSTER_RBAC,
	PHASE_NAMESPACED,
	PHASE_NAMESPACE,
	PHASE_NONE,     /* nothing to run: missing objects, blind spots, server facts */
};

static const char *const phase_titles[] = {
	[PHASE_CONTROLLERS] = "Stop the Flux controllers first, so nothing puts finalizers back",
	[PHASE_FINALIZERS] = "Strip finalizers from Flux custom resources (no controller is left to process them)",
	[PHASE_CRDS] = "Delete the Flux custom resource definitions (and with them every remaining custom resource)",
	[PHASE_CLUSTER_RBAC] = "Delete Flux's cluster RBAC",
	[PHASE_NAMESPACED] = "Delete the namespaced leftovers",
	[PHASE_NAMESPACE] = "Delete the Flux namespace",
};

static int
is_namespace_kept(const fluxstate_finding *f)
{
	/* A namespace Flux did not create (#1292) may hold the user's Secrets. */
	return strcmp(fluxstate_finding_get_problem(f), "pre-created") == 0;
}

static enum phase
phase_of(const fluxstate_finding *f)
{
	const char *category = fluxstate_finding_get_category(f);
	const char *problem = fluxstate_finding_get_problem(f);
	const char *kind = fluxstate_finding_get_kind(f);

	if (!*fluxstate_finding_get_name(f) || strcmp(problem, "missing") == 0 ||
	    strcmp(problem, "not-visible") == 0 || strcmp(category, "access") == 0 ||
	    strcmp(category, "server") == 0 ||
	    (fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_VISIBLE))
		return PHASE_NONE;
	if (strcmp(kind, "Deployment") == 0)
		return PHASE_CONTROLLERS;
	if (strcmp(category, "custom-resource") == 0 || strcmp(category, "flux-instance") == 0)
		return PHASE_FINALIZERS;
	if (strcmp(kind, "CustomResourceDefinition") == 0)
		return PHASE_CRDS;
	if (strcmp(kind, "Namespace") == 0)
		return is_namespace_kept(f) ? PHASE_NONE : PHASE_NAMESPACE;
	if (!fluxstate_finding_get_namespace(f))
		return PHASE_CLUSTER_RBAC; /* ClusterRole, ClusterRoleBinding, other cluster-scoped */
	return PHASE_NAMESPACED;
}

/* Quote for POSIX sh unless the word is plainly safe. */
static void
put_quoted(FILE *out, const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("@%+=:,./_-", *p))
			break;
	if (*s && !*p) {
		fputs(s, out);
		return;
	}
	fputc('\'', out);
	for (p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", out);
		else
			fputc(*p, out);
	}
	fputc('\'', out);
}

/* Server-provided text inside a comment: keep it on one line. */
static void
put_comment_text(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(iscntrl((unsigned char)*s) ? ' ' : *s, out);
}

/* kubectl's fully qualified resource: "deployment.apps", "kustomization.kustomize.toolkit.fluxcd.io". */
static void
put_resource(FILE *out, const fluxstate_finding *f)
{
	const char *kind = fluxstate_finding_get_kind(f);
	const char *api = fluxstate_finding_get_api_version(f);
	const char *slash = strchr(api, '/');
	char buf[256];
	size_t i, n = 0;

	for (i = 0; kind[i] && n < sizeof(buf) - 1; i++)
		buf[n++] = (char)tolower((unsigned char)kind[i]);
	if (slash && n < sizeof(buf) - 1) {
		buf[n++] = '.';
		for (i = 0; api + i < slash && n < sizeof(buf) - 1; i++)
			buf[n++] = api[i];
	}
	buf[n] = '\0';
	put_quoted(out, buf);
}

struct kubectl_base {
	const char *kubeconfig;  /* absolute */
	const char *context;
	const struct cli_options *opts;
};

static void
put_kubectl(FILE *out, const struct kubectl_base *k)
{
	fputs("kubectl", out);
	if (k->kubeconfig) {
		fputs(" --kubeconfig=", out);
		put_quoted(out, k->kubeconfig);
	}
	if (k->context) {
		fputs(" --context=", out);
		put_quoted(out, k->context);
	}
	if (k->opts->cluster) {
		fputs(" --cluster=", out);
		put_quoted(out, k->opts->cluster);
	}
	if (k->opts->user) {
		fputs(" --user=", out);
		put_quoted(out, k->opts->user);
	}
	if (k->opts->server) {
		fputs(" --server=", out);
		put_quoted(out, k->opts->server);
	}
	if (k->opts->tls_server_name) {
		fputs(" --tls-server-name=", out);
		put_quoted(out, k->opts->tls_server_name);
	}
}

static void
put_finding_comment(FILE *out, const fluxstate_finding *f)
{
	const char *ns = fluxstate_finding_get_namespace(f);
	const char *name = fluxstate_finding_get_name(f);

	fputs("# ", out);
	if (*fluxstate_finding_get_kind(f)) {
		fprintf(out, "%s/", fluxstate_finding_get_kind(f));
		if (ns)
			fprintf(out, "%s/", ns);
		put_comment_text(out, *name ? name : "*");
	} else {
		put_comment_text(out, *name ? name : fluxstate_finding_get_category(f));
	}
	fprintf(out, ": %s", fluxstate_finding_get_problem(f));
	if (*fluxstate_finding_get_reason(f)) {
		fputs(" (", out);
		put_comment_text(out, fluxstate_finding_get_reason(f));
		fputc(')', out);
	}
	fputc('\n', out);
}

static int
same_object(const fluxstate_finding *a, const fluxstate_finding *b)
{
	const char *na = fluxstate_finding_get_namespace(a), *nb = fluxstate_finding_get_namespace(b);

	return strcmp(fluxstate_finding_get_kind(a), fluxstate_finding_get_kind(b)) == 0 &&
	       strcmp(fluxstate_finding_get_api_version(a), fluxstate_finding_get_api_version(b)) == 0 &&
	       strcmp(fluxstate_finding_get_name(a), fluxstate_finding_get_name(b)) == 0 &&
	       ((!na && !nb) || (na && nb && strcmp(na, nb) == 0));
}

static void
put_command(FILE *out, const struct kubectl_base *k, enum phase phase, const fluxstate_finding *f)
{
	const char *ns = fluxstate_finding_get_namespace(f);

	put_kubectl(out, k);
	fputs(phase == PHASE_FINALIZERS ? " patch " : " delete ", out);
	put_resource(out, f);
	fputc(' ', out);
	put_quoted(out, fluxstate_finding_get_name(f));
	if (ns && phase != PHASE_NAMESPACE) {
		fputs(" --namespace=", out);
		put_quoted(out, ns);
	}
	if (phase == PHASE_FINALIZERS)
		fputs(" --type=merge -p '{\"metadata\":{\"finalizers\":null}}'\n", out);
	else
		fputs(" --ignore-not-found\n", out);
}

/* Returns the number of commands written. */
static size_t
put_phase(FILE *out, const struct kubectl_base *k, const fluxstate_report *report, enum phase phase)
{
	size_t n = fluxstate_report_get_n_findings(report), i, j, written = 0;

	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);
		int seen = 0;

		if (phase_of(f) != phase)
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = phase_of(fluxstate_report_get_finding(report, j)) == phase &&
			       same_object(fluxstate_report_get_finding(report, j), f);
		if (seen)
			continue;
		if (!written)
			fprintf(out, "\n# == %s ==\n", phase_titles[phase]);
		for (j = i; j < n; j++) {
			const fluxstate_finding *g = fluxstate_report_get_finding(report, j);

			if (phase_of(g) == phase && same_object(g, f))
				put_finding_comment(out, g);
		}
		put_command(out, k, phase, f);
		written++;
	}
	return written;
}

static const char *
json_string(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

	return v ? YAJL_GET_STRING(v) : NULL;
}

static int
has_deployment_finding(const fluxstate_report *report, const char *ns, const char *name)
{
	size_t n = fluxstate_report_get_n_findings(report), i;

	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);
		const char *fns = fluxstate_finding_get_namespace(f);

		if (phase_of(f) == PHASE_CONTROLLERS && fns && strcmp(fns, ns) == 0 &&
		    strcmp(fluxstate_finding_get_name(f), name) == 0)
			return 1;
	}
	return 0;
}

/*
 * A partial install's findings name only what is broken; to stop Flux every
 * controller must go. The report JSON lists them all as components.
 */
static size_t
put_other_controllers(FILE *out, const struct kubectl_base *k, const fluxstate_report *report,
		      size_t already)
{
	const char *path[] = { "components", NULL };
	const char *ready_path[] = { "ready", NULL };
	char *json = NULL, errbuf[128];
	yajl_val root, list;
	size_t i, written = 0;

	if (fluxstate_report_to_json(report, &json) < 0)
		return 0;
	root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	fluxstate_free(json);
	list = root ? yajl_tree_get(root, path, yajl_t_array) : NULL;
	for (i = 0; list && i < YAJL_GET_ARRAY(list)->len; i++) {
		yajl_val c = YAJL_GET_ARRAY(list)->values[i];
		const char *name = json_string(c, "name"), *ns = json_string(c, "namespace");
		const char *reason = json_string(c, "reason");
		int ready = YAJL_IS_TRUE(yajl_tree_get(c, ready_path, yajl_t_true));

		if (!name || !ns || has_deployment_finding(report, ns, name))
			continue;
		if (!already && !written)
			fprintf(out, "\n# == %s ==\n", phase_titles[PHASE_CONTROLLERS]);
		fprintf(out, "# Deployment/%s/%s: Flux controller, %s", ns, name, ready ? "ready" : "not ready");
		if (reason && *reason) {
			fputs(" (", out);
			put_comment_text(out, reason);
			fputc(')', out);
		}
		fputc('\n', out);
		put_kubectl(out, k);
		fputs(" delete deployment.apps ", out);
		put_quoted(out, name);
		fputs(" --namespace=", out);
		put_quoted(out, ns);
		fputs(" --ignore-not-found\n", out);
		written++;
	}
	yajl_tree_free(root);
	return written;
}

static int
refuse(const fluxstate_report *report, int force)
{
	int state = fluxstate_report_get_state(report);
	const char *summary = fluxstate_report_get_summary(report);

	switch (state) {
	case FLUXSTATE_INSTALL_RESIDUAL:
		return CLI_EXIT_OK;
	case FLUXSTATE_INSTALL_PARTIAL:
		if (force)
			return CLI_EXIT_OK;
		cli_error("refusing to plan a cleanup: state is partial (Flux controllers are present: %s); repair it, or pass --force to plan removing the install",
			  summary);
		return CLI_EXIT_UNEXPECTED;
	case FLUXSTATE_INSTALL_NONE:
		cli_error("nothing to clean up: state is none (%s)", summary);
		return CLI_EXIT_UNEXPECTED;
	case FLUXSTATE_INSTALL_HEALTHY:
		cli_error("refusing to plan a cleanup: state is healthy (%s); use `flux uninstall` to remove a working Flux",
			  summary);
		return CLI_EXIT_UNEXPECTED;
	default:
		cli_error("cannot plan a cleanup: state is unknown (could not see enough): %s", summary);
		return CLI_EXIT_UNKNOWN;
	}
}

static void
put_script(FILE *out, const struct kubectl_base *k, const fluxstate_report *report)
{
	size_t n = fluxstate_report_get_n_findings(report), i, commands = 0;
	int state = fluxstate_report_get_state(report);
	const char *env_kubeconfig = getenv("KUBECONFIG");
	const char *ns = fluxstate_report_get_namespace(report);
	int blind = 0, p;
	char when[32] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs("#!/bin/sh\n", out);
	fprintf(out, "# fluxstate cleanup-plan (fluxstate %s), %s\n", fluxstate_version_string(), when);
	fputs("# Removes the Flux leftovers found on context ", out);
	put_comment_text(out, k->context ? k->context : "(in-cluster)");
	fprintf(out, ", Flux namespace %s, as `flux uninstall` would.\n", ns ? ns : "(unknown)");
	fprintf(out, "# State: %s: ", fluxstate_state_to_string(state));
	put_comment_text(out, fluxstate_report_get_summary(report));
	fputc('\n', out);
	if (state == FLUXSTATE_INSTALL_PARTIAL)
		fputs("# WARNING: Flux controllers are present (partial, --force): this removes the install.\n", out);
	fputs("# fluxstate changed nothing. Review this script, then run it; run\n"
	      "# `fluxstate cleanup-plan` again if the cluster changed since.\n", out);
	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);

		if (fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_VISIBLE ||
		    strcmp(fluxstate_finding_get_category(f), "access") == 0) {
			if (!blind++)
				fputs("# WARNING: some resources were not visible; this plan may be incomplete:\n", out);
			put_finding_comment(out, f);
		}
	}
	fputs("set -eu\n", out);
	if (!k->kubeconfig && env_kubeconfig && *env_kubeconfig) {
		/* Same merged kubeconfig list as the probe used. */
		fputs("KUBECONFIG=", out);
		put_quoted(out, env_kubeconfig);
		fputs("\nexport KUBECONFIG\n", out);
	}
	for (p = PHASE_CONTROLLERS; p < PHASE_NONE; p++) {
		size_t c = put_phase(out, k, report, (enum phase)p);

		if (p == PHASE_CONTROLLERS && state == FLUXSTATE_INSTALL_PARTIAL)
			c += put_other_controllers(out, k, report, c);
		commands += c;
	}
	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);

		if (strcmp(fluxstate_finding_get_kind(f), "Namespace") == 0 && is_namespace_kept(f)) {
			fputs("\n# Kept, as Flux did not create it (it may hold your own Secrets):\n", out);
			put_finding_comment(out, f);
		}
	}
	if (state == FLUXSTATE_INSTALL_PARTIAL)
		fputs("\n# == Then ==\n"
		      "# A partial install's findings name only what is broken. With the controllers\n"
		      "# stopped, the rest of Flux (CRDs, custom resources, RBAC, namespace) is a\n"
		      "# residual install: run `fluxstate cleanup-plan` again for it.\n", out);
	else if (!commands)
		fputs("\n# Nothing to remove: no finding names an object that exists.\n", out);
}

int
cli_cleanup_plan(const struct cli_options *opts)
{
	fluxstate_ctx *ctx;
	fluxstate_report *report = NULL;
	struct kubectl_base k = { .opts = opts };
	char *abs_kubeconfig = NULL;
	int r;

	r = cli_ctx_open(opts, NULL, &ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	r = fluxstate_ctx_probe(ctx, &report);
	if (r < 0) {
		const char *msg = fluxstate_ctx_get_error(ctx);

		cli_error("%s", *msg ? msg : fluxstate_strerror(r));
		fluxstate_ctx_free(ctx);
		return cli_exit_for_error(r);
	}
	r = refuse(report, opts->force);
	if (r == CLI_EXIT_OK) {
		/* The script may run from another directory. */
		if (opts->kubeconfig) {
			abs_kubeconfig = realpath(opts->kubeconfig, NULL);
			k.kubeconfig = abs_kubeconfig ? abs_kubeconfig : opts->kubeconfig;
		}
		k.context = fluxstate_ctx_get_current_context(ctx);
		if (!opts->quiet)
			put_script(stdout, &k, report);
	}
	free(abs_kubeconfig);
	fluxstate_report_free(report);
	fluxstate_ctx_free(ctx);
	return r;
}
