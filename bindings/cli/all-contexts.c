/*
 * --all-contexts: every context of the kubeconfig probed at once, each in
 * its own thread with its own fluxstate_ctx (contexts are independent, see
 * the threading note in fluxstate.h), printed one line each in kubeconfig
 * order as soon as the lines before it are done.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct job {
	const struct cli_options *opts;
	const char *context;          /* owned by the enumerating ctx */
	fluxstate_report *report;
	char *error;                  /* when the probe could not run */
	int exit_code;
	int done;
	pthread_t thread;
	int started;
	struct shared *shared;
};

struct shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t n_done;
};

static void *
run_job(void *arg)
{
	struct job *job = arg;
	fluxstate_ctx *ctx = NULL;
	int r;

	r = cli_ctx_open(job->opts, job->context, &ctx, &job->error);
	if (r != CLI_EXIT_OK) {
		job->exit_code = r;
	} else if ((r = fluxstate_ctx_probe(ctx, &job->report)) < 0) {
		job->exit_code = cli_fail_ctx(ctx, r, "probe failed", &job->error);
		job->report = NULL;
	} else {
		job->exit_code = cli_exit_for_state(job->opts, fluxstate_report_get_state(job->report),
						    job->opts->expect_mask);
	}
	cli_ctx_close(ctx);

	pthread_mutex_lock(&job->shared->lock);
	job->done = 1;
	job->shared->n_done++;
	pthread_cond_signal(&job->shared->cond);
	pthread_mutex_unlock(&job->shared->lock);
	return NULL;
}

/* Worse results win: usage/config > unreachable > unknown > unexpected > ok. */
static int
worse(int a, int b)
{
	static const int rank[] = {
		[CLI_EXIT_OK] = 0, [CLI_EXIT_UNEXPECTED] = 1, [CLI_EXIT_UNKNOWN] = 2,
		[CLI_EXIT_UNREACHABLE] = 3, [CLI_EXIT_USAGE] = 4, [CLI_EXIT_WAIT_TIMEOUT] = 1,
	};
	/* 128 + signal: interrupted, the worst of all */
	if (a > CLI_EXIT_WAIT_TIMEOUT || b > CLI_EXIT_WAIT_TIMEOUT)
		return a > b ? a : b;
	return rank[b] > rank[a] ? b : a;
}

static void
print_line_text(const struct job *job, size_t width, const struct cli_style *style)
{
	const char *mark, *state, *ns = "-", *version = "-", *summary;

	if (job->report) {
		int s = fluxstate_report_get_state(job->report);

		/* green only for what needs nothing done (none, healthy) and matches --expect */
		if (job->exit_code != CLI_EXIT_OK || s == FLUXSTATE_INSTALL_UNKNOWN)
			mark = style->fail;
		else if (s == FLUXSTATE_INSTALL_PARTIAL || s == FLUXSTATE_INSTALL_RESIDUAL)
			mark = style->warn;
		else
			mark = style->ok;
		state = fluxstate_state_to_string(s);
		ns = fluxstate_report_get_namespace(job->report) ? fluxstate_report_get_namespace(job->report) : "-";
		version = fluxstate_report_get_version(job->report) ? fluxstate_report_get_version(job->report) : "-";
		summary = fluxstate_report_get_summary(job->report);
	} else {
		mark = style->fail;
		state = "error";
		summary = job->error ? job->error : "out of memory";
	}
	printf("%s %-*s  %-8s  %-15s  %-8s  %s\n", mark, (int)width, job->context, state, ns, version, summary);
}

/* One entry of the list: {context, report, error, exitCode}, every key always there. */
static void
print_entry(const struct job *job, enum cli_output format, int first)
{
	char *doc = NULL, *json = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&doc, &size);

	if (!f) {
		cli_error("out of memory");
		return;
	}
	fputs("{\"context\": ", f);
	cli_put_json_string(f, job->context);
	if (job->report && fluxstate_report_to_json(job->report, &json) == 0) {
		size_t len = strlen(json);

		while (len && json[len - 1] == '\n')
			json[--len] = '\0';
		fputs(", \"report\": ", f);
		fputs(json, f);
		fputs(", \"error\": null", f);
		fluxstate_free(json);
	} else {
		fputs(", \"report\": null, \"error\": ", f);
		cli_put_json_string(f, job->report ? "cannot render the report as JSON"
				     : job->error ? job->error : "out of memory");
	}
	fprintf(f, ", \"exitCode\": %d}", job->exit_code);
	if (fclose(f) != 0 || !doc) {
		free(doc);
		cli_error("out of memory");
		return;
	}
	if (format == CLI_OUTPUT_YAML) {
		cli_print_yaml(stdout, doc, 1);
	} else {
		fputs(first ? "[\n" : ",\n", stdout);
		fputs(doc, stdout);
	}
	free(doc);
}

static void
progress(int on_tty, size_t done, size_t total)
{
	if (!on_tty)
		return;
	if (done < total)
		fprintf(stderr, "\r\033[K\xe2\x96\xba probing %zu contexts: %zu done", total, done);
	else
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

int
cli_all_contexts(const struct cli_options *opts)
{
	struct shared shared = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct cli_style style;
	fluxstate_ctx *list_ctx;
	struct job *jobs;
	size_t n, i, printed = 0, width = 7;
	int r, result = CLI_EXIT_OK, tty = isatty(STDERR_FILENO);

	/* Also the first fluxstate_ctx_new(): libcurl's global init happens
	 * here, before any thread exists. */
	r = cli_ctx_open(opts, NULL, &list_ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	n = fluxstate_ctx_get_n_contexts(list_ctx);
	if (n == 0) {
		cli_error("the kubeconfig has no contexts");
		cli_ctx_close(list_ctx);
		return CLI_EXIT_USAGE;
	}
	jobs = calloc(n, sizeof(*jobs));
	if (!jobs) {
		cli_error("out of memory");
		cli_ctx_close(list_ctx);
		return CLI_EXIT_UNREACHABLE;
	}
	for (i = 0; i < n; i++) {
		jobs[i].opts = opts;
		jobs[i].context = fluxstate_ctx_get_context_name(list_ctx, i);
		if (!jobs[i].context)
			jobs[i].context = "";
		jobs[i].shared = &shared;
		if (strlen(jobs[i].context) > width)
			width = strlen(jobs[i].context);
	}
	cli_style_init(&style, opts->color);
	/* the header first, on its own line: the progress line (stderr) must not glue to it */
	if (!opts->quiet && opts->output == CLI_OUTPUT_TEXT) {
		printf("  %-*s  %-8s  %-15s  %-8s  %s\n", (int)width, "CONTEXT", "STATE", "NAMESPACE",
		       "VERSION", "SUMMARY");
		fflush(stdout);
	}
	progress(tty, 0, n);
	for (i = 0; i < n; i++) {
		if (pthread_create(&jobs[i].thread, NULL, run_job, &jobs[i]) == 0) {
			jobs[i].started = 1;
			continue;
		}
		/* No thread: do it here, still in order. */
		run_job(&jobs[i]);
	}

	pthread_mutex_lock(&shared.lock);
	while (printed < n) {
		size_t done = shared.n_done;

		while (printed < n && jobs[printed].done) {
			pthread_mutex_unlock(&shared.lock);
			progress(tty, 0, 0);
			if (!opts->quiet && opts->output == CLI_OUTPUT_TEXT)
				print_line_text(&jobs[printed], width, &style);
			else if (!opts->quiet)
				print_entry(&jobs[printed], opts->output, printed == 0);
			fflush(stdout);
			pthread_mutex_lock(&shared.lock);
			printed++;
		}
		if (printed < n) {
			progress(tty, done, n);
			pthread_cond_wait(&shared.cond, &shared.lock);
		}
	}
	pthread_mutex_unlock(&shared.lock);
	if (!opts->quiet && opts->output == CLI_OUTPUT_JSON)
		fputs(printed ? "\n]\n" : "[]\n", stdout);

	for (i = 0; i < n; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].thread, NULL);
		result = worse(result, jobs[i].exit_code);
		if (jobs[i].report && jobs[i].exit_code != CLI_EXIT_OK) {
			char want[64];
			int s = fluxstate_report_get_state(jobs[i].report);

			if (opts->expect_mask)
				cli_error("%s: state is %s, expected %s", jobs[i].context, fluxstate_state_to_string(s),
					  cli_mask_to_string(opts->expect_mask, want, sizeof(want)));
			else
				cli_error("%s: state is unknown (could not see enough)", jobs[i].context);
		}
		if (!jobs[i].report)
			cli_error("%s: %s", jobs[i].context, jobs[i].error ? jobs[i].error : "out of memory");
		fluxstate_report_free(jobs[i].report);
		free(jobs[i].error);
	}
	free(jobs);
	cli_ctx_close(list_ctx);
	return result;
}
