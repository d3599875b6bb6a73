/*
 * --wait-for STATE --timeout D: probe, then block in
 * fluxstate_ctx_wait_for_change() (Kubernetes watches, not a poll loop)
 * and probe again, printing each state transition, until the state is one
 * of those asked for or the deadline passes.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/*
 * When every read of a probe failed (say, all denied), its report has
 * nothing to watch: then the only way to notice a change (access granted,
 * Flux installed) is to probe again, at this interval.
 */
#define UNWATCHABLE_REPROBE_MS 2000u

static void
print_transition(const struct cli_options *opts, const struct cli_style *style,
		 const fluxstate_report *report, int previous)
{
	char stamp[16] = "";
	time_t t = time(NULL);
	struct tm tm;
	int state = fluxstate_report_get_state(report);

	if (opts->quiet)
		return;
	if (opts->output != CLI_OUTPUT_TEXT) {
		char *json = NULL;

		/* One report per transition, as the library renders it (YAML: one document each). */
		if (fluxstate_report_to_json(report, &json) == 0) {
			if (opts->output == CLI_OUTPUT_YAML)
				fputs("---\n", stdout);
			cli_print_document(stdout, json, opts->output);
			fluxstate_free(json);
		}
		fflush(stdout);
		return;
	}
	if (localtime_r(&t, &tm))
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	if (previous < 0)
		printf("%s %s state: %s: %s\n", style->arrow, stamp, fluxstate_state_to_string(state),
		       fluxstate_report_get_summary(report));
	else
		printf("%s %s state: %s \xe2\x86\x92 %s: %s\n", style->arrow, stamp,
		       fluxstate_state_to_string(previous), fluxstate_state_to_string(state),
		       fluxstate_report_get_summary(report));
	fflush(stdout);
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Wait for a change after @report, at most @ms. Returns 0 (changed, or
 * time to probe again), FLUXSTATE_ETIMEDOUT, or another error.
 */
static int
wait_for_change(const struct cli_options *opts, fluxstate_ctx *ctx, const fluxstate_report *report,
		unsigned int ms)
{
	int r = fluxstate_ctx_wait_for_change(ctx, report, ms);

	/* The arguments are valid, so EINVAL means nothing to watch. */
	if (r != FLUXSTATE_EINVAL)
		return r;
	if (opts->verbose)
		fprintf(stderr, "fluxstate: trace: nothing to watch (every read failed): probing again in %u ms\n",
			ms < UNWATCHABLE_REPROBE_MS ? ms : UNWATCHABLE_REPROBE_MS);
	if (ms <= UNWATCHABLE_REPROBE_MS) {
		sleep_ms(ms);
		return FLUXSTATE_ETIMEDOUT;
	}
	sleep_ms(UNWATCHABLE_REPROBE_MS);
	return 0;
}

int
cli_wait_for(const struct cli_options *opts)
{
	unsigned long long start = cli_started_ms(), deadline = start + opts->timeout_ms, t;
	struct cli_style style;
	fluxstate_ctx *ctx;
	fluxstate_report *report = NULL, *next;
	char want[64], took[32];
	int r, state;

	cli_style_init(&style, opts->color);
	cli_mask_to_string(opts->wait_mask, want, sizeof(want));
	r = cli_ctx_open(opts, NULL, &ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	r = fluxstate_ctx_probe(ctx, &report);
	if (r < 0) {
		r = cli_fail_ctx(ctx, r, "probe failed", NULL);
		cli_ctx_close(ctx);
		return r;
	}
	state = fluxstate_report_get_state(report);
	print_transition(opts, &style, report, -1);

	while (!(opts->wait_mask & CLI_STATE_BIT(state))) {
		t = cli_now_ms();
		if (t >= deadline) {
			r = FLUXSTATE_ETIMEDOUT;
		} else {
			r = wait_for_change(opts, ctx, report, (unsigned int)(deadline - t));
			t = cli_now_ms();
		}
		if (r == 0 && t < deadline) {
			/* The probe gets what is left of --timeout. */
			fluxstate_ctx_set_timeout_ms(ctx, (unsigned int)(deadline - t));
			r = fluxstate_ctx_probe(ctx, &next);
		} else if (r == 0) {
			r = FLUXSTATE_ETIMEDOUT;
		}
		if (r == FLUXSTATE_ETIMEDOUT) {
			cli_format_duration(opts->timeout_ms, took, sizeof(took));
			cli_error("timed out after %s waiting for state %s; state is %s: %s", took, want,
				  fluxstate_state_to_string(state), fluxstate_report_get_summary(report));
			fluxstate_report_free(report);
			cli_ctx_close(ctx);
			return CLI_EXIT_WAIT_TIMEOUT;
		}
		if (r < 0) {
			r = cli_fail_ctx(ctx, r, "probe failed", NULL);
			fluxstate_report_free(report);
			cli_ctx_close(ctx);
			return r;
		}
		if (fluxstate_report_get_state(next) != state)
			print_transition(opts, &style, next, state);
		state = fluxstate_report_get_state(next);
		fluxstate_report_free(report);
		report = next;
	}

	cli_format_duration((unsigned int)(cli_now_ms() - start), took, sizeof(took));
	if (!opts->quiet && opts->output == CLI_OUTPUT_TEXT)
		printf("%s state %s reached after %s\n", style.ok, fluxstate_state_to_string(state), took);
	fluxstate_report_free(report);
	cli_ctx_close(ctx);
	return CLI_EXIT_OK;
}
