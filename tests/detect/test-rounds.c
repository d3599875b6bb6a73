/*
 * Rounds of reads (issue 13, item 2): a detection sends round 2's reads of
 * the likely namespace in round 1, so a healthy install there and a cluster
 * without Flux take one round; another namespace or custom resources that
 * must be read take a second. The simulator holds /version's answer for
 * DELAY_MS: round 2 cannot start before round 1 has its answers, so a request
 * that starts after /version was answered is a round-2 request (round 1's
 * start within DELAY_MS, even under valgrind). Also: no read is sent twice
 * (a speculative answer round 2 takes is not asked again).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fluxstate/fluxstate.h>

#include "kubesim.h"

#define DELAY_MS 3000
#define MAX_REQUESTS 128

static int n_checks, n_failed;

static void
check(int ok, const char *what, const char *detail)
{
	n_checks++;
	n_failed += !ok;
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", n_checks, what, detail ? ": " : "", detail ? detail : "");
}

struct request {
	double ts, end;         /* seconds: the request's start, its answer's end */
	char target[1024];      /* path?query */
};

/* The string value of "key": "…" in @line copied to @buf ("" when absent). */
static void
field(const char *line, const char *key, char *buf, size_t len)
{
	char needle[64];
	const char *p;
	size_t n = 0;

	snprintf(needle, sizeof(needle), "\"%s\": \"", key);
	buf[0] = '\0';
	p = strstr(line, needle);
	if (!p)
		return;
	p += strlen(needle);
	while (p[n] && p[n] != '"' && n + 1 < len)
		n++;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static size_t
read_log(const char *path, struct request *reqs, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[8192], p[512], q[500];
	const char *ts, *ms;
	size_t n = 0;

	while (f && fgets(line, sizeof(line), f) && n < max) {
		field(line, "path", p, sizeof(p));
		field(line, "query", q, sizeof(q));
		ts = strstr(line, "\"ts\": ");
		ms = strstr(line, "\"ms\": ");
		if (!p[0] || !ts || !ms)
			continue;
		reqs[n].ts = atof(ts + 6);
		reqs[n].end = reqs[n].ts + atof(ms + 6) / 1000.0;
		snprintf(reqs[n].target, sizeof(reqs[n].target), "%s%s%s", p, q[0] ? "?" : "", q);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

struct rounds_case {
	const char *scenario;
	const char *env;        /* $FLUX_SYSTEM_NAMESPACE, or NULL */
	const char *option;     /* fluxstate_ctx_set_flux_namespace(), or NULL */
	int state;
	int rounds;
	const char *round2_in;  /* every round-2 request contains this, or NULL */
};

static const struct rounds_case cases[] = {
	{ "healthy-v2.9.4-bootstrap", NULL, NULL, FLUXSTATE_INSTALL_HEALTHY, 1, NULL },
	{ "empty-cluster", NULL, NULL, FLUXSTATE_INSTALL_NONE, 1, NULL },
	/* Flux in namespace flux: its reads wait for round 1, unless told where to look */
	{ "non-default-namespace", NULL, NULL, FLUXSTATE_INSTALL_HEALTHY, 2, "/namespaces/flux/" },
	{ "non-default-namespace", "flux", NULL, FLUXSTATE_INSTALL_HEALTHY, 1, NULL },
	{ "non-default-namespace", NULL, "flux", FLUXSTATE_INSTALL_HEALTHY, 1, NULL },
	/* no controller: every Kustomization is listed, cluster-wide, in round 2 */
	{ "crds-only", NULL, NULL, FLUXSTATE_INSTALL_RESIDUAL, 2, "fluxcd" },
};

static void
run_case(const struct rounds_case *c)
{
	struct kubesim sim = { 0 };
	struct request reqs[MAX_REQUESTS];
	fluxstate_ctx *ctx = NULL;
	fluxstate_report *r = NULL;
	char what[256], detail[2048], config[128];
	double version_end = -1;
	size_t n, i, j, n_late = 0;
	int rc, twice = 0, outside = 0;

	snprintf(what, sizeof(what), "%s%s%s%s%s", c->scenario, c->env ? ", $FLUX_SYSTEM_NAMESPACE=" : "",
		 c->env ? c->env : "", c->option ? ", namespace option " : "", c->option ? c->option : "");
	snprintf(config, sizeof(config), "faults:\n  - {path: '^/version$', delayMs: %d}\n", DELAY_MS);
	if (kubesim_start_scenario_config(&sim, c->scenario, config) != 0) {
		check(0, "the simulator starts", what);
		return;
	}
	if (c->env)
		setenv("FLUX_SYSTEM_NAMESPACE", c->env, 1);
	else
		unsetenv("FLUX_SYSTEM_NAMESPACE");
	rc = fluxstate_ctx_new(&ctx);
	if (rc == 0)
		rc = fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL);
	if (rc == 0 && c->option)
		rc = fluxstate_ctx_set_flux_namespace(ctx, c->option);
	if (rc == 0)
		rc = fluxstate_ctx_probe(ctx, &r);
	snprintf(detail, sizeof(detail), "%s: %s", what, rc == 0 ? fluxstate_state_to_string(fluxstate_report_get_state(r))
									: fluxstate_ctx_get_error(ctx));
	check(rc == 0 && fluxstate_report_get_state(r) == c->state, "the probe gives the scenario's state", detail);
	fluxstate_report_free(r);
	fluxstate_ctx_free(ctx);
	unsetenv("FLUX_SYSTEM_NAMESPACE");

	n = read_log(sim.log_path, reqs, MAX_REQUESTS);
	kubesim_stop(&sim);
	for (i = 0; i < n; i++)
		if (strcmp(reqs[i].target, "/version") == 0)
			version_end = reqs[i].end;
	for (i = 0; i < n; i++) {
		/* started after /version was answered: round 1 was over */
		if (version_end >= 0 && reqs[i].ts >= version_end) {
			n_late++;
			if (c->round2_in && !strstr(reqs[i].target, c->round2_in) && !outside++)
				printf("# round 2 sent %s\n", reqs[i].target);
		}
		for (j = 0; j < i; j++)
			if (strcmp(reqs[i].target, reqs[j].target) == 0 && !twice++)
				printf("# sent twice: %s\n", reqs[i].target);
	}
	snprintf(detail, sizeof(detail), "%s: %zu requests, %zu of them in round 2", what, n, n_late);
	check(version_end >= 0 && n >= 10, "the log has the detection's requests", detail);
	check((n_late ? 2 : 1) == c->rounds, c->rounds == 1 ? "one round of reads" : "two rounds of reads", detail);
	check(!outside, "round 2 sends only what round 1 could not guess", detail);
	check(!twice, "no read is sent twice", detail);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
