/*
 * `fluxstate cleanup-plan`: the library's cleanup plan
 * (fluxstate_ctx_plan_cleanup()) for a residual (or, with --force, partial)
 * install, printed as the kubectl commands that carry it out, in the order
 * `flux uninstall` uses. Each command is preceded by the findings about its
 * object. It prints a shell script and changes nothing; `fluxstate cleanup`
 * carries out the same plan with guarded writes.
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

static const struct {
	const char *phase, *title;
} phase_titles[] = {
	{ "controllers", "Stop the Flux controllers first, so nothing puts finalizers back" },
	{ "finalizers", "Strip finalizers from Flux custom resources (no controller is left to process them)" },
	{ "custom-resources", "Delete the Flux custom resources" },
	{ "crds", "Delete the Flux custom resource definitions (and with them every remaining custom resource)" },
	{ "cluster-rbac", "Delete Flux's cluster RBAC" },
	{ "namespaced", "Delete the namespaced leftovers" },
	{ "namespace", "Delete the Flux namespace" },
};

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
put_resource(FILE *out, const char *kind, const char *api)
{
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
names_step(const fluxstate_finding *f, const fluxstate_cleanup_step *s)
{
	const char *na = fluxstate_finding_get_namespace(f), *nb = fluxstate_cleanup_step_get_namespace(s);

	return strcmp(fluxstate_finding_get_kind(f), fluxstate_cleanup_step_get_kind(s)) == 0 &&
	       strcmp(fluxstate_finding_get_name(f), fluxstate_cleanup_step_get_name(s)) == 0 &&
	       ((!na && !nb) || (na && nb && strcmp(na, nb) == 0));
}

static void
put_step_comment(FILE *out, const fluxstate_cleanup_step *s)
{
	const char *ns = fluxstate_cleanup_step_get_namespace(s);

	fprintf(out, "# %s/", fluxstate_cleanup_step_get_kind(s));
	if (ns)
		fprintf(out, "%s/", ns);
	put_comment_text(out, fluxstate_cleanup_step_get_name(s));
	fputs(": ", out);
	put_comment_text(out, fluxstate_cleanup_step_get_reason(s));
	fputc('\n', out);
}

/* The findings about this object, else the plan's reason. */
static void
put_step_comments(FILE *out, const fluxstate_report *report, const fluxstate_cleanup_step *s)
{
	size_t n = fluxstate_report_get_n_findings(report), i, shown = 0;

	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);

		if (names_step(f, s)) {
			put_finding_comment(out, f);
			shown++;
		}
	}
	if (!shown)
		put_step_comment(out, s);
}

static void
put_command(FILE *out, const struct kubectl_base *k, const fluxstate_cleanup_step *s)
{
	const char *ns = fluxstate_cleanup_step_get_namespace(s);
	int patch = strcmp(fluxstate_cleanup_step_get_verb(s), "remove-finalizers") == 0;

	put_kubectl(out, k);
	fputs(patch ? " patch " : " delete ", out);
	put_resource(out, fluxstate_cleanup_step_get_kind(s), fluxstate_cleanup_step_get_api_version(s));
	fputc(' ', out);
	put_quoted(out, fluxstate_cleanup_step_get_name(s));
	if (ns) {
		fputs(" --namespace=", out);
		put_quoted(out, ns);
	}
	if (patch)
		fputs(" --type=merge -p '{\"metadata\":{\"finalizers\":null}}'\n", out);
	else
		fputs(" --ignore-not-found\n", out);
}

/* Findings that name an object no step or kept entry covers: say so, never drop them. */
static void
put_uncovered(FILE *out, const fluxstate_report *report, const fluxstate_cleanup_plan *plan)
{
	size_t n = fluxstate_report_get_n_findings(report), i, j, shown = 0;

	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);
		int covered = !*fluxstate_finding_get_name(f) ||
			      (fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_VISIBLE) ||
			      strcmp(fluxstate_finding_get_category(f), "server") == 0;

		for (j = 0; !covered && j < fluxstate_cleanup_plan_get_n_steps(plan); j++)
			covered = names_step(f, fluxstate_cleanup_plan_get_step(plan, j));
		for (j = 0; !covered && j < fluxstate_cleanup_plan_get_n_kept(plan); j++)
			covered = names_step(f, fluxstate_cleanup_plan_get_kept(plan, j));
		if (covered)
			continue;
		if (!shown++)
			fputs("\n# Not changed by this plan (not Flux v2 objects it can remove):\n", out);
		put_finding_comment(out, f);
	}
}

static int
refuse(const fluxstate_report *report, int force, int none_ok)
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
		if (none_ok)
			return CLI_EXIT_OK;
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
put_script(FILE *out, const struct kubectl_base *k, const fluxstate_report *report,
	   const fluxstate_cleanup_plan *plan)
{
	size_t n = fluxstate_report_get_n_findings(report), i, commands = 0;
	int state = fluxstate_report_get_state(report);
	const char *env_kubeconfig = getenv("KUBECONFIG");
	const char *ns = fluxstate_report_get_namespace(report);
	int blind = 0;
	size_t p;
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
	fputs("# `fluxstate cleanup` carries out the same plan with guarded writes.\n", out);
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
	for (p = 0; p < sizeof(phase_titles) / sizeof(phase_titles[0]); p++) {
		int titled = 0;

		for (i = 0; i < fluxstate_cleanup_plan_get_n_steps(plan); i++) {
			const fluxstate_cleanup_step *s = fluxstate_cleanup_plan_get_step(plan, i);

			if (strcmp(fluxstate_cleanup_step_get_phase(s), phase_titles[p].phase) != 0)
				continue;
			if (!titled++)
				fprintf(out, "\n# == %s ==\n", phase_titles[p].title);
			put_step_comments(out, report, s);
			put_command(out, k, s);
			commands++;
		}
	}
	for (i = 0; i < fluxstate_cleanup_plan_get_n_kept(plan); i++) {
		const fluxstate_cleanup_step *s = fluxstate_cleanup_plan_get_kept(plan, i);

		if (!i)
			fputs("\n# Kept on purpose:\n", out);
		put_step_comments(out, report, s);
		fputs("#   kept: ", out);
		put_comment_text(out, fluxstate_cleanup_step_get_reason(s));
		fputc('\n', out);
	}
	put_uncovered(out, report, plan);
	if (!commands)
		fputs("\n# Nothing to remove: no finding names an object that exists.\n", out);
}

/* Probe, refuse what must not be planned, then ask the library for the plan. */
int
cli_cleanup_open_plan(const struct cli_options *opts, fluxstate_ctx **ret_ctx, fluxstate_report **ret_report,
		      fluxstate_cleanup_plan **ret_plan)
{
	fluxstate_ctx *ctx;
	fluxstate_report *report = NULL;
	fluxstate_cleanup_plan *plan = NULL;
	unsigned int flags = 0;
	int r;

	r = cli_ctx_open(opts, NULL, &ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	r = fluxstate_ctx_probe(ctx, &report);
	if (r < 0) {
		r = cli_fail_ctx(ctx, r, "probe failed", NULL);
		cli_ctx_close(ctx);
		return r;
	}
	r = refuse(report, opts->force, opts->command == CLI_CMD_CLEANUP);
	if (r == CLI_EXIT_OK) {
		if (opts->force)
			flags |= FLUXSTATE_CLEANUP_FORCE;
		if (opts->keep_namespace)
			flags |= FLUXSTATE_CLEANUP_KEEP_NAMESPACE;
		r = fluxstate_ctx_plan_cleanup(ctx, report, flags, &plan);
		if (r < 0) {
			cli_error("%s", fluxstate_ctx_get_error(ctx));
			/* refused or changed meanwhile: the state is not one this command acts on */
			r = r == FLUXSTATE_EREFUSED || r == FLUXSTATE_ECONFLICT ? CLI_EXIT_UNEXPECTED : cli_exit_for_error(r);
		} else {
			r = CLI_EXIT_OK;
		}
	}
	if (r != CLI_EXIT_OK) {
		fluxstate_report_free(report);
		cli_ctx_close(ctx);
		return r;
	}
	*ret_ctx = ctx;
	*ret_report = report;
	*ret_plan = plan;
	return CLI_EXIT_OK;
}

int
cli_cleanup_plan(const struct cli_options *opts)
{
	fluxstate_ctx *ctx;
	fluxstate_report *report;
	fluxstate_cleanup_plan *plan;
	struct kubectl_base k = { .opts = opts };
	char *abs_kubeconfig = NULL;
	int r;

	r = cli_cleanup_open_plan(opts, &ctx, &report, &plan);
	if (r != CLI_EXIT_OK)
		return r;
	/* The script may run from another directory. */
	if (opts->kubeconfig) {
		abs_kubeconfig = realpath(opts->kubeconfig, NULL);
		k.kubeconfig = abs_kubeconfig ? abs_kubeconfig : opts->kubeconfig;
	}
	k.context = fluxstate_ctx_get_current_context(ctx);
	if (!opts->quiet)
		put_script(stdout, &k, report, plan);
	free(abs_kubeconfig);
	fluxstate_cleanup_plan_free(plan);
	fluxstate_report_free(report);
	cli_ctx_close(ctx);
	return r;
}
