/*
 * `fluxstate cleanup`: print the library's cleanup plan, confirm on a
 * terminal (--yes for scripts), then fluxstate_ctx_apply_cleanup(): a
 * server-side dry run of every step, each step for real, and a wait until
 * the state is none. --dry-run=server stops after the dry run. With -o json
 * every event is one JSON line (plan, dry-run, apply, result).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cli.h"

struct progress {
	const struct cli_options *opts;
	int tty;
	size_t n_steps;
	size_t failed;
};

static void
gen_kv(yajl_gen g, const char *key, const char *value)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	if (value)
		yajl_gen_string(g, (const unsigned char *)value, strlen(value));
	else
		yajl_gen_null(g);
}

static const char *
result_name(int result)
{
	switch (result) {
	case 0:
		return "ok";
	case FLUXSTATE_EAUTH:
		return "refused";
	case FLUXSTATE_ECONFLICT:
		return "conflict";
	default:
		return "error";
	}
}

/* One JSON line: {"event":…, step fields…, extra}. */
static void
put_json_event(const char *event, const fluxstate_cleanup_step *s, size_t index, const char *result,
	       const char *message)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	if (!g)
		return;
	yajl_gen_map_open(g);
	gen_kv(g, "event", event);
	if (s) {
		yajl_gen_string(g, (const unsigned char *)"step", 4);
		yajl_gen_integer(g, (long long)index + 1);
		gen_kv(g, "phase", fluxstate_cleanup_step_get_phase(s));
		gen_kv(g, "verb", fluxstate_cleanup_step_get_verb(s));
		gen_kv(g, "kind", fluxstate_cleanup_step_get_kind(s));
		gen_kv(g, "apiVersion", fluxstate_cleanup_step_get_api_version(s));
		gen_kv(g, "namespace", fluxstate_cleanup_step_get_namespace(s));
		gen_kv(g, "name", fluxstate_cleanup_step_get_name(s));
		yajl_gen_string(g, (const unsigned char *)"destructive", 11);
		yajl_gen_bool(g, fluxstate_cleanup_step_get_destructive(s) == 1);
	}
	if (result)
		gen_kv(g, "result", result);
	if (message)
		gen_kv(g, s ? "message" : "summary", message);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		printf("%.*s\n", (int)len, (const char *)buf);
	yajl_gen_free(g);
	fflush(stdout);
}

static void
put_object(FILE *out, const fluxstate_cleanup_step *s)
{
	const char *ns = fluxstate_cleanup_step_get_namespace(s);

	fprintf(out, "%s %s%s%s", fluxstate_cleanup_step_get_kind(s), ns ? ns : "", ns ? "/" : "",
		fluxstate_cleanup_step_get_name(s));
}

static void
put_plan_text(FILE *out, const fluxstate_cleanup_plan *plan, const char *context)
{
	size_t i, n = fluxstate_cleanup_plan_get_n_steps(plan);

	fprintf(out, "Cleanup plan for context %s, Flux namespace %s (state %s): %zu step%s\n",
		context ? context : "(in-cluster)",
		fluxstate_cleanup_plan_get_namespace(plan) ? fluxstate_cleanup_plan_get_namespace(plan) : "?",
		fluxstate_state_to_string(fluxstate_cleanup_plan_get_state(plan)), n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		const fluxstate_cleanup_step *s = fluxstate_cleanup_plan_get_step(plan, i);

		fprintf(out, "%3zu. %-17s ", i + 1, fluxstate_cleanup_step_get_verb(s));
		put_object(out, s);
		fprintf(out, "%s\n       %s\n", fluxstate_cleanup_step_get_destructive(s) == 1 ? "  [deletes user data]" : "",
			fluxstate_cleanup_step_get_reason(s));
	}
	for (i = 0; i < fluxstate_cleanup_plan_get_n_kept(plan); i++) {
		const fluxstate_cleanup_step *s = fluxstate_cleanup_plan_get_kept(plan, i);

		fputs("   kept: ", out);
		put_object(out, s);
		fprintf(out, ": %s\n", fluxstate_cleanup_step_get_reason(s));
	}
}

static void
on_progress(const fluxstate_cleanup_step *s, size_t index, int dry_run, int result, const char *message,
	    void *userdata)
{
	struct progress *p = userdata;

	if (result < 0)
		p->failed++;
	if (p->opts->output == CLI_OUTPUT_JSON) {
		put_json_event(dry_run ? "dry-run" : "apply", s, index, result_name(result), message);
		return;
	}
	if (p->opts->quiet)
		return;
	/* failures always; every step on a terminal */
	if (result < 0 || p->tty) {
		FILE *out = result < 0 ? stderr : stdout;

		fprintf(out, "%s[%zu/%zu] %s ", dry_run ? "dry run " : "", index + 1, p->n_steps,
			result == 0 ? "ok" : result_name(result));
		put_object(out, s);
		fprintf(out, ": %s\n", message);
	}
}

/* y/yes on the terminal, anything else is no. */
static int
confirm(size_t n_steps, const char *context)
{
	char line[64];

	fprintf(stderr, "Carry out these %zu steps on context %s? [y/N] ", n_steps, context ? context : "(in-cluster)");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0;
}

int
cli_cleanup(const struct cli_options *opts)
{
	fluxstate_ctx *ctx;
	fluxstate_report *report;
	fluxstate_cleanup_plan *plan;
	struct progress p = { .opts = opts, .tty = isatty(STDOUT_FILENO) };
	const char *context;
	unsigned int flags = 0;
	size_t i, n;
	int r;

	r = cli_cleanup_open_plan(opts, &ctx, &report, &plan);
	if (r != CLI_EXIT_OK)
		return r;
	context = fluxstate_ctx_get_current_context(ctx);
	n = p.n_steps = fluxstate_cleanup_plan_get_n_steps(plan);
	if (opts->output == CLI_OUTPUT_JSON) {
		for (i = 0; i < n; i++)
			put_json_event("plan", fluxstate_cleanup_plan_get_step(plan, i), i, NULL,
				       fluxstate_cleanup_step_get_reason(fluxstate_cleanup_plan_get_step(plan, i)));
	} else if (!opts->quiet) {
		put_plan_text(stdout, plan, context);
		fflush(stdout);
	}
	if (fluxstate_report_get_state(report) == FLUXSTATE_INSTALL_NONE) {
		if (opts->output == CLI_OUTPUT_JSON)
			put_json_event("result", NULL, 0, "none", "nothing to clean up");
		else if (!opts->quiet)
			printf("Nothing to clean up: the state is none.\n");
		goto out;
	}
	if (!opts->dry_run_server && !opts->yes) {
		if (!isatty(STDIN_FILENO)) {
			cli_error("not on a terminal: pass --yes to carry out the plan (or --dry-run=server to check it)");
			r = CLI_EXIT_USAGE;
			goto out;
		}
		if (!confirm(n, context)) {
			cli_error("cancelled; nothing was changed");
			r = CLI_EXIT_UNEXPECTED;
			goto out;
		}
	}
	if (opts->dry_run_server)
		flags |= FLUXSTATE_CLEANUP_DRY_RUN;
	else
		flags |= FLUXSTATE_CLEANUP_WAIT;
	r = fluxstate_ctx_apply_cleanup(ctx, plan, flags, on_progress, &p);
	if (r < 0) {
		cli_error("%s", fluxstate_ctx_get_error(ctx));
		if (opts->output == CLI_OUTPUT_JSON)
			put_json_event("result", NULL, 0, result_name(r), fluxstate_ctx_get_error(ctx));
		r = r == FLUXSTATE_ETIMEDOUT ? CLI_EXIT_WAIT_TIMEOUT
		    : r == FLUXSTATE_ECONFLICT ? CLI_EXIT_UNEXPECTED : cli_exit_for_error(r);
		goto out;
	}
	if (opts->dry_run_server) {
		if (opts->output == CLI_OUTPUT_JSON)
			put_json_event("result", NULL, 0, "dry-run-ok", "every step passed the server-side dry run");
		else if (!opts->quiet)
			printf("Server-side dry run: all %zu steps would succeed; nothing was changed.\n", n);
		r = CLI_EXIT_OK;
		goto out;
	}
	if (opts->output == CLI_OUTPUT_JSON)
		put_json_event("result", NULL, 0, fluxstate_state_to_string(r), "state after the cleanup");
	else if (!opts->quiet)
		printf("Done: %zu steps carried out; the state is now %s.\n", n, fluxstate_state_to_string(r));
	r = r == FLUXSTATE_INSTALL_NONE ? CLI_EXIT_OK : CLI_EXIT_UNEXPECTED;
out:
	fluxstate_cleanup_plan_free(plan);
	fluxstate_report_free(report);
	cli_ctx_close(ctx);
	return r;
}
