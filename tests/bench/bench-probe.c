/*
 * Benchmark: HTTP requests and wall time of one detection against the
 * simulator, per scenario. Timing lives here, not in the test suite.
 *
 *   meson test -C build --benchmark            (the scenarios below)
 *   build/tests/bench/bench-probe [-n RUNS] SCENARIO...
 *
 * Each scenario gets a fresh simulator; the first probe is a warm-up
 * (connection set-up, TLS handshake) and is reported separately.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fluxstate/fluxstate.h>

#include "kubesim.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One probe; its wall time in *ms, its request count from the simulator's log. */
static int
probe_once(fluxstate_ctx *ctx, const struct kubesim *sim, double *ms, int *requests, const char **state)
{
	fluxstate_report *report = NULL;
	int before = kubesim_count_requests(sim, NULL);
	double t0 = now_ms();

	if (fluxstate_ctx_probe(ctx, &report) < 0) {
		fprintf(stderr, "bench-probe: probe failed: %s\n", fluxstate_ctx_get_error(ctx));
		return -1;
	}
	*ms = now_ms() - t0;
	*requests = kubesim_count_requests(sim, NULL) - before;
	*state = fluxstate_state_to_string(fluxstate_report_get_state(report));
	fluxstate_report_free(report);
	return 0;
}

static int
bench_scenario(const char *name, int runs)
{
	struct kubesim sim = { 0 };
	fluxstate_ctx *ctx = NULL;
	double first_ms, *ms = calloc((size_t)runs, sizeof(*ms));
	const char *state = "?";
	int requests = 0, rc, i;

	if (!ms)
		return -1;
	rc = kubesim_start_scenario(&sim, name);
	if (rc != 0) {
		free(ms);
		return -1;
	}
	rc = fluxstate_ctx_new(&ctx);
	if (rc == 0)
		rc = fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL);
	if (rc == 0)
		rc = probe_once(ctx, &sim, &first_ms, &requests, &state);
	for (i = 0; rc == 0 && i < runs; i++)
		rc = probe_once(ctx, &sim, &ms[i], &requests, &state);
	if (rc == 0) {
		qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
		printf("%-40s %-9s %3d requests  first %6.1f ms  median %6.1f ms  min %6.1f  max %6.1f  (%d runs)\n",
		       name, state, requests, first_ms, ms[runs / 2], ms[0], ms[runs - 1], runs);
	} else if (ctx) {
		fprintf(stderr, "bench-probe: %s: %s\n", name, fluxstate_ctx_get_error(ctx));
	}
	fluxstate_ctx_free(ctx);
	kubesim_stop(&sim);
	free(ms);
	return rc < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	int runs = 20, i = 1, failed = 0;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		runs = atoi(argv[2]);
		i = 3;
	}
	if (runs < 1 || i >= argc) {
		fprintf(stderr, "usage: %s [-n RUNS] SCENARIO...\n", argv[0]);
		return 2;
	}
	for (; i < argc; i++)
		if (bench_scenario(argv[i], runs) < 0)
			failed = 1;
	return failed;
}
