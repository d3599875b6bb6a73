/*
 * fluxstate_ctx_wait_for_change() against the simulator: nothing changes ->
 * ETIMEDOUT; a Flux CRD appears while waiting -> 0, and the next probe sees
 * the new state; a FluxInstance turning Ready wakes the wait too (partial ->
 * healthy with nothing else changing). Also the probe's argument checks.
 *
 * SPDX-License-Identifier: MIT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static const char crd_yaml[] =
	"apiVersion: apiextensions.k8s.io/v1\n"
	"kind: CustomResourceDefinition\n"
	"metadata:\n"
	"  name: gitrepositories.source.toolkit.fluxcd.io\n"
	"  labels: {app.kubernetes.io/part-of: flux, app.kubernetes.io/version: v2.7.5}\n"
	"spec:\n"
	"  group: source.toolkit.fluxcd.io\n"
	"  scope: Namespaced\n"
	"  names: {kind: GitRepository, plural: gitrepositories, singular: gitrepository, listKind: GitRepositoryList}\n"
	"  versions:\n"
	"  - name: v1\n"
	"    served: true\n"
	"    storage: true\n"
	"    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}\n";

/* Apply what tests/fluxgen writes for @fluxgen_args to @sim after
 * @delay_ms, from a child process. */
static pid_t
apply_later(const struct kubesim *sim, const char *fluxgen_args, unsigned int delay_ms)
{
	pid_t child = fork();

	if (child == 0) {
		char cmd[1600], body[16384];
		size_t n = 0;
		FILE *f;

		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s",
			 kubesim_scenario_path("../fluxgen/fluxgen.py"), fluxgen_args);
		f = popen(cmd, "r");
		if (f) {
			n = fread(body, 1, sizeof(body) - 1, f);
			if (pclose(f) != 0)
				n = 0;
		}
		body[n] = '\0';
		usleep(delay_ms * 1000);
		_exit(n && kubesim_control(sim, "apply", body) == 0 ? 0 : 1);
	}
	return child;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int
main(void)
{
	struct kubesim sim = { 0 };
	fluxstate_ctx *ctx = NULL;
	fluxstate_report *report = NULL, *after = NULL;
	double t0;
	pid_t child;
	int rc, status;

	unsetenv("FLUX_SYSTEM_NAMESPACE");
	rc = kubesim_start_scenario(&sim, "empty-cluster");
	if (rc != 0) {
		printf("1..1\nnot ok 1 - the simulator starts\n");
		return 1;
	}
	if (fluxstate_ctx_new(&ctx) < 0)
		return 1;

	check(fluxstate_ctx_probe(ctx, &report) == FLUXSTATE_EINVAL, "probe before a kubeconfig is EINVAL",
	      fluxstate_ctx_get_error(ctx));
	check(fluxstate_ctx_probe(NULL, &report) == FLUXSTATE_EINVAL, "probe with a NULL ctx is EINVAL", NULL);
	rc = fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL);
	check(rc == 0, "load the simulator's kubeconfig", rc ? fluxstate_ctx_get_error(ctx) : NULL);
	check(fluxstate_ctx_probe(ctx, NULL) == FLUXSTATE_EINVAL, "probe with a NULL report pointer is EINVAL", NULL);
	rc = fluxstate_ctx_probe(ctx, &report);
	check(rc == 0, "probe", rc ? fluxstate_ctx_get_error(ctx) : NULL);
	if (rc != 0)
		goto out;
	check(fluxstate_report_get_state(report) == FLUXSTATE_INSTALL_NONE, "an empty cluster is none",
	      fluxstate_report_get_summary(report));
	check(fluxstate_ctx_wait_for_change(ctx, NULL, 100) == FLUXSTATE_EINVAL, "wait without a report is EINVAL", NULL);
	check(fluxstate_ctx_wait_for_change(ctx, report, 0) == FLUXSTATE_EINVAL, "wait with timeout 0 is EINVAL", NULL);

	t0 = now_ms();
	rc = fluxstate_ctx_wait_for_change(ctx, report, 400);
	check(rc == FLUXSTATE_ETIMEDOUT, "nothing changes: ETIMEDOUT", fluxstate_ctx_get_error(ctx));
	check(now_ms() - t0 >= 350 && now_ms() - t0 < 5000, "the wait lasted about its timeout", NULL);

	child = fork();
	if (child == 0) {
		usleep(300 * 1000);
		_exit(kubesim_control(&sim, "apply", crd_yaml) == 0 ? 0 : 1);
	}
	t0 = now_ms();
	rc = fluxstate_ctx_wait_for_change(ctx, report, 10000);
	check(rc == 0, "a Flux CRD appears: the wait returns 0", rc ? fluxstate_ctx_get_error(ctx) : NULL);
	check(now_ms() - t0 < 9000, "it returned on the event, not the timeout", NULL);
	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the control endpoint applied the CRD", NULL);
	rc = fluxstate_ctx_probe(ctx, &after);
	check(rc == 0 && fluxstate_report_get_state(after) == FLUXSTATE_INSTALL_RESIDUAL,
	      "probing again: residual", after ? fluxstate_report_get_summary(after) : fluxstate_ctx_get_error(ctx));

	/* an operator install: only the FluxInstance's status changes (Ready=False -> True) */
	fluxstate_report_free(report);
	fluxstate_report_free(after);
	report = after = NULL;
	kubesim_stop(&sim);
	rc = kubesim_start_scenario(&sim, "operator-not-ready");
	check(rc == 0, "the simulator starts on operator-not-ready", NULL);
	if (rc != 0)
		goto out;
	fluxstate_ctx_free(ctx);
	ctx = NULL;
	rc = fluxstate_ctx_new(&ctx) == 0 ? fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL) : -1;
	if (rc == 0)
		rc = fluxstate_ctx_probe(ctx, &report);
	check(rc == 0 && fluxstate_report_get_state(report) == FLUXSTATE_INSTALL_PARTIAL,
	      "the FluxInstance is not Ready: partial", report ? fluxstate_report_get_summary(report) : NULL);
	if (rc != 0)
		goto out;
	child = apply_later(&sim, "--release v2.7.5 --installer operator --parts instance", 300);
	t0 = now_ms();
	rc = fluxstate_ctx_wait_for_change(ctx, report, 10000);
	check(rc == 0, "the FluxInstance turns Ready: the wait returns 0", rc ? fluxstate_ctx_get_error(ctx) : NULL);
	check(now_ms() - t0 < 9000, "it returned on the event, not the timeout", NULL);
	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the control endpoint applied the FluxInstance", NULL);
	rc = fluxstate_ctx_probe(ctx, &after);
	check(rc == 0 && fluxstate_report_get_state(after) == FLUXSTATE_INSTALL_HEALTHY,
	      "probing again: healthy", after ? fluxstate_report_get_summary(after) : fluxstate_ctx_get_error(ctx));
out:
	fluxstate_report_free(report);
	fluxstate_report_free(after);
	fluxstate_ctx_free(ctx);
	kubesim_stop(&sim);
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
