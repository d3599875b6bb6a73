/*
 * fluxstate_ctx_plan_cleanup() and fluxstate_ctx_apply_cleanup() through the
 * public API against the simulator (suite memcheck: the write path under
 * valgrind): argument checks, refusals, a dry run that changes nothing, a
 * conflict found by the dry run (a finalizer added after the plan), a
 * clean run to none with a progress callback for every step of both passes.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fluxstate/fluxstate.h>

#include "kubesim.h"

static int n_checks, n_failed;

static void
check(int ok, const char *what, const char *detail)
{
	n_checks++;
	n_failed += !ok;
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", n_checks, what, detail ? ": " : "", detail ? detail : "");
}

struct tally {
	size_t dry, real, failed, conflicts;
};

static void
progress(const fluxstate_cleanup_step *step, size_t index, int dry_run, int result, const char *message,
	 void *userdata)
{
	struct tally *t = userdata;

	(void)index;
	if (dry_run)
		t->dry++;
	else
		t->real++;
	t->failed += result < 0;
	t->conflicts += result == FLUXSTATE_ECONFLICT;
	if (result < 0)
		printf("# step %s %s: %s\n", fluxstate_cleanup_step_get_kind(step), fluxstate_cleanup_step_get_name(step),
		       message);
}

static fluxstate_ctx *
open_ctx(const struct kubesim *sim)
{
	fluxstate_ctx *ctx = NULL;

	if (fluxstate_ctx_new(&ctx) < 0 || fluxstate_ctx_load_kubeconfig(ctx, sim->kubeconfig, NULL) < 0) {
		printf("Bail out! cannot open %s: %s\n", sim->kubeconfig, ctx ? fluxstate_ctx_get_error(ctx) : "ENOMEM");
		exit(1);
	}
	return ctx;
}

static int
probe_state(fluxstate_ctx *ctx)
{
	fluxstate_report *r = NULL;
	int state;

	if (fluxstate_ctx_probe(ctx, &r) < 0)
		return -1;
	state = fluxstate_report_get_state(r);
	fluxstate_report_free(r);
	return state;
}

/* The Kustomization with a second finalizer: someone changed it after the plan. */
static const char changed_ks[] =
	"apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
	"kind: Kustomization\n"
	"metadata:\n"
	"  name: flux-system\n"
	"  namespace: flux-system\n"
	"  deletionTimestamp: '2026-01-01T00:00:00Z'\n"
	"  deletionGracePeriodSeconds: 0\n"
	"  finalizers: [finalizers.fluxcd.io, example.com/audit]\n"
	"spec: {interval: 10m, path: ./clusters/dev, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n";

int
main(void)
{
	struct kubesim sim = { 0 };
	fluxstate_ctx *ctx;
	fluxstate_report *report = NULL;
	fluxstate_cleanup_plan *plan = NULL, *again = NULL;
	struct tally t = { 0 };
	int rc, writes;

	rc = kubesim_start_scenario(&sim, "namespace-terminating-finalizers");
	if (rc < 0) {
		printf("Bail out! the simulator did not start\n");
		return 1;
	}
	ctx = open_ctx(&sim);

	check(fluxstate_ctx_plan_cleanup(NULL, NULL, 0, &plan) == FLUXSTATE_EINVAL, "NULL ctx", NULL);
	check(fluxstate_ctx_plan_cleanup(ctx, NULL, 0, &plan) == FLUXSTATE_EINVAL, "NULL report",
	      fluxstate_ctx_get_error(ctx));
	check(fluxstate_ctx_apply_cleanup(ctx, NULL, 0, NULL, NULL) == FLUXSTATE_EINVAL, "NULL plan", NULL);
	rc = fluxstate_ctx_probe(ctx, &report);
	check(rc == 0 && fluxstate_report_get_state(report) == FLUXSTATE_INSTALL_RESIDUAL, "residual before",
	      rc ? fluxstate_ctx_get_error(ctx) : NULL);
	check(fluxstate_ctx_plan_cleanup(ctx, report, 1u << 9, &plan) == FLUXSTATE_EINVAL, "unknown flag",
	      fluxstate_ctx_get_error(ctx));

	rc = fluxstate_ctx_plan_cleanup(ctx, report, 0, &plan);
	check(rc == 0 && fluxstate_cleanup_plan_get_n_steps(plan) > 0, "plan", rc ? fluxstate_ctx_get_error(ctx) : NULL);
	check(fluxstate_ctx_apply_cleanup(ctx, plan, FLUXSTATE_CLEANUP_FORCE, NULL, NULL) == FLUXSTATE_EINVAL,
	      "a plan flag is not an apply flag", fluxstate_ctx_get_error(ctx));

	/* dry run only: every step checked, nothing written for real */
	writes = kubesim_count_requests(&sim, "\"method\": \"PATCH\"") + kubesim_count_requests(&sim, "\"method\": \"DELETE\"");
	rc = fluxstate_ctx_apply_cleanup(ctx, plan, FLUXSTATE_CLEANUP_DRY_RUN, progress, &t);
	check(rc == FLUXSTATE_INSTALL_RESIDUAL && t.dry == fluxstate_cleanup_plan_get_n_steps(plan) && !t.real &&
	      !t.failed, "dry run passes", rc < 0 ? fluxstate_ctx_get_error(ctx) : NULL);
	check(kubesim_count_requests(&sim, "\"dryRun\": true") == (int)fluxstate_cleanup_plan_get_n_steps(plan) &&
	      kubesim_count_requests(&sim, "\"method\": \"PATCH\"") + kubesim_count_requests(&sim, "\"method\": \"DELETE\"") - writes ==
	      (int)fluxstate_cleanup_plan_get_n_steps(plan),
	      "one write per step, each a dry run for the server", NULL);
	check(probe_state(ctx) == FLUXSTATE_INSTALL_RESIDUAL, "still residual after the dry run", NULL);

	/* a change after the plan: found by the dry run, nothing changed */
	check(kubesim_control(&sim, "apply", changed_ks) == 0, "change the Kustomization", NULL);
	memset(&t, 0, sizeof(t));
	rc = fluxstate_ctx_apply_cleanup(ctx, plan, 0, progress, &t);
	check(rc == FLUXSTATE_ECONFLICT && t.conflicts == 1 && !t.real, "conflict, nothing done for real",
	      fluxstate_ctx_get_error(ctx));
	check(strstr(fluxstate_ctx_get_error(ctx), "Kustomization") != NULL, "the error names the object",
	      fluxstate_ctx_get_error(ctx));
	check(probe_state(ctx) == FLUXSTATE_INSTALL_RESIDUAL, "still residual after the conflict", NULL);

	/* planned again: to none */
	fluxstate_report_free(report);
	report = NULL;
	rc = fluxstate_ctx_probe(ctx, &report);
	rc = rc ? rc : fluxstate_ctx_plan_cleanup(ctx, report, 0, &again);
	check(rc == 0, "plan again", rc ? fluxstate_ctx_get_error(ctx) : NULL);
	memset(&t, 0, sizeof(t));
	rc = fluxstate_ctx_apply_cleanup(ctx, again, FLUXSTATE_CLEANUP_WAIT, progress, &t);
	check(rc == FLUXSTATE_INSTALL_NONE && t.dry == t.real && t.real == fluxstate_cleanup_plan_get_n_steps(again) &&
	      !t.failed, "cleaned to none", rc < 0 ? fluxstate_ctx_get_error(ctx) : NULL);
	check(probe_state(ctx) == FLUXSTATE_INSTALL_NONE, "a fresh probe says none", NULL);

	/* none: an empty plan, and applying it changes nothing */
	fluxstate_report_free(report);
	report = NULL;
	fluxstate_cleanup_plan_free(again);
	again = NULL;
	rc = fluxstate_ctx_probe(ctx, &report);
	rc = rc ? rc : fluxstate_ctx_plan_cleanup(ctx, report, 0, &again);
	check(rc == 0 && fluxstate_cleanup_plan_get_n_steps(again) == 0, "none plans nothing", NULL);

	fluxstate_cleanup_plan_free(again);
	fluxstate_cleanup_plan_free(plan);
	fluxstate_report_free(report);
	fluxstate_ctx_free(ctx);
	kubesim_stop(&sim);
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
