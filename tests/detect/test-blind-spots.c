/*
 * Blind spots, exhaustively: for one baseline scenario, probe it once to
 * learn every read a detection makes (from the simulator's request log), then
 * make each read fail in turn (403, 404, a cut-off answer: truncated,
 * reset, malformed or 500, and a 200 that is not a list: `{}`) and check the answer against the contract in
 * docs/states.md, "unknown":
 *
 *   - a failed read is never silent: an access/not-visible finding names it,
 *     an error when it made the answer unknown, a warning otherwise;
 *   - none and healthy survive only a read that cannot change them (none:
 *     ConfigMaps and /version; healthy: RBAC, the namespaced extras, Secrets,
 *     ConfigMaps, the sync Kustomization, and /version when no Flux minimum
 *     applies); any other failed read turns them into unknown;
 *   - residual becomes unknown when Deployments were not seen, and otherwise
 *     stays residual or becomes unknown; partial stays partial or unknown.
 *
 * The oracle below is written from the table in docs/states.md, not from
 * classify.c. One simulator per read serves the four failures on its 1st
 * to 4th matching request (fault `nth`), one probe each.
 *
 * Usage: test-blind-spots SCENARIO
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fluxstate/fluxstate.h>

#include "kubesim.h"

#define MAX_READS 64
#define N_FAULTS 4

static int n_checks, n_failed;

static void
check(int ok, const char *what, const char *detail)
{
	n_checks++;
	n_failed += !ok;
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", n_checks, what, detail ? ": " : "", detail ? detail : "");
}

struct read {
	char path[256];
	char selector[256];     /* labelSelector=… or fieldSelector=… as sent, or "" */
};

/* What a failed read could hide, as docs/states.md names it. */
enum what { SERVER, CRDS, CONTROLLERS, NAMESPACES, CUSTOM_RESOURCES, SYNC_OBJECT, CONFIGMAPS, OTHER };

static enum what
classify_read(const struct read *rd)
{
	const char *p = rd->path;
	size_t len = strlen(p);

	if (strcmp(p, "/version") == 0)
		return SERVER;
	if (len >= 26 && strcmp(p + len - 26, "/customresourcedefinitions") == 0)
		return CRDS;
	if (len >= 12 && strcmp(p + len - 12, "/deployments") == 0)
		return CONTROLLERS;
	if (strcmp(p, "/api/v1/namespaces") == 0)
		return NAMESPACES;
	if (len >= 11 && strcmp(p + len - 11, "/configmaps") == 0)
		return CONFIGMAPS;
	if (strstr(p, "fluxcd.io/") || strstr(p, "fluxcd.controlplane.io/"))
		return strstr(rd->selector, "fieldSelector=") ? SYNC_OBJECT : CUSTOM_RESOURCES;
	return OTHER;
}

/* Must this read's failure turn @baseline into unknown? */
static int
decisive(int baseline, enum what w, int flux_minimum_known)
{
	switch (baseline) {
	case FLUXSTATE_INSTALL_NONE:
		return w != CONFIGMAPS && w != SERVER;
	case FLUXSTATE_INSTALL_RESIDUAL:
		return w == CONTROLLERS;
	case FLUXSTATE_INSTALL_HEALTHY:
		return w == CRDS || w == CONTROLLERS || w == NAMESPACES || w == CUSTOM_RESOURCES ||
		       (w == SERVER && flux_minimum_known);
	default:
		return 0;
	}
}

/* The answer's value of "key":"…" in @json copied to @buf ("" when absent). */
static void
json_field(const char *json, const char *key, char *buf, size_t len)
{
	char needle[64];
	const char *p;
	size_t n = 0;

	snprintf(needle, sizeof(needle), "\"%s\": \"", key);
	buf[0] = '\0';
	p = json ? strstr(json, needle) : NULL;
	if (!p)
		return;
	p += strlen(needle);
	while (p[n] && p[n] != '"' && n + 1 < len)
		n++;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* The distinct reads in the simulator's request log. */
static size_t
learn_reads(const char *log_path, struct read *reads, size_t max)
{
	FILE *f = fopen(log_path, "r");
	char line[8192], query[4096];
	size_t n = 0, i;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		struct read rd;
		const char *sel;
		size_t k;

		memset(&rd, 0, sizeof(rd));
		json_field(line, "path", rd.path, sizeof(rd.path));
		json_field(line, "query", query, sizeof(query));
		if (!rd.path[0])
			continue;
		sel = strstr(query, "labelSelector=");
		if (!sel)
			sel = strstr(query, "fieldSelector=");
		for (k = 0; sel && sel[k] && sel[k] != '&' && k + 1 < sizeof(rd.selector); k++)
			rd.selector[k] = sel[k];
		for (i = 0; i < n; i++)
			if (strcmp(reads[i].path, rd.path) == 0 && strcmp(reads[i].selector, rd.selector) == 0)
				break;
		if (i == n)
			reads[n++] = rd;
	}
	fclose(f);
	return n;
}

static int
cmp_read(const void *a, const void *b)
{
	const struct read *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	return r ? r : strcmp(x->selector, y->selector);
}

static int
probe(const struct kubesim *sim, fluxstate_report **ret, char *err, size_t errlen)
{
	fluxstate_ctx *ctx;
	int rc;

	*ret = NULL;
	if (fluxstate_ctx_new(&ctx) < 0)
		return FLUXSTATE_ENOMEM;
	rc = fluxstate_ctx_load_kubeconfig(ctx, sim->kubeconfig, NULL);
	if (rc == 0)
		rc = fluxstate_ctx_set_timeout_ms(ctx, 15000);
	if (rc == 0)
		rc = fluxstate_ctx_probe(ctx, ret);
	snprintf(err, errlen, "%s", fluxstate_ctx_get_error(ctx));
	fluxstate_ctx_free(ctx);
	return rc;
}

/* Access findings: how many, and the most severe. */
static size_t
access_findings(const fluxstate_report *r, int *ret_max_severity)
{
	size_t i, n = 0;

	*ret_max_severity = -1;
	for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(r, i);

		if (strcmp(fluxstate_finding_get_category(f), "access") != 0 ||
		    strcmp(fluxstate_finding_get_problem(f), "not-visible") != 0 ||
		    !(fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_VISIBLE))
			continue;
		n++;
		if (fluxstate_finding_get_severity(f) > *ret_max_severity)
			*ret_max_severity = fluxstate_finding_get_severity(f);
	}
	return n;
}

static const char *const cut_faults[] = { "truncate: true", "reset: true", "malformed: true", "status: 500" };

int
main(int argc, char **argv)
{
	struct kubesim sim = { 0 };
	struct read reads[MAX_READS];
	fluxstate_report *r;
	char err[1024], what[1024], config[2048], *json = NULL;
	size_t n_reads, i;
	int rc, baseline, flux_minimum_known;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCENARIO\n", argv[0]);
		return 2;
	}
	unsetenv("FLUX_SYSTEM_NAMESPACE");

	rc = kubesim_start_scenario(&sim, argv[1]);
	if (rc != 0) {
		printf("1..0 # SKIP the simulator did not start on %s\n", argv[1]);
		return rc == KUBESIM_SKIP ? KUBESIM_SKIP : 1;
	}
	rc = probe(&sim, &r, err, sizeof(err));
	check(rc == 0 && r, "the baseline probe succeeds", err);
	if (!r) {
		kubesim_stop(&sim);
		printf("1..%d\n", n_checks);
		return 1;
	}
	baseline = fluxstate_report_get_state(r);
	flux_minimum_known = fluxstate_report_to_json(r, &json) == 0 && json && strstr(json, "\"fluxMinimum\":\"");
	fluxstate_free(json);
	check(access_findings(r, &rc) == 0, "the baseline sees everything",
	      fluxstate_state_to_string(baseline));
	fluxstate_report_free(r);
	n_reads = learn_reads(sim.log_path, reads, MAX_READS);
	/* the log is in arrival order, which concurrency varies: which read gets which cut is fixed */
	qsort(reads, n_reads, sizeof(reads[0]), cmp_read);
	kubesim_stop(&sim);
	snprintf(what, sizeof(what), "%zu reads, baseline %s", n_reads, fluxstate_state_to_string(baseline));
	check(n_reads >= 10, "the request log names the reads", what);

	for (i = 0; i < n_reads; i++) {
		const struct read *rd = &reads[i];
		enum what w = classify_read(rd);
		int must_be_unknown = decisive(baseline, w, flux_minimum_known);
		const char *faults[N_FAULTS];
		int k;

		faults[0] = "status: 403";
		faults[1] = "status: 404";
		faults[2] = cut_faults[i % (sizeof(cut_faults) / sizeof(cut_faults[0]))];
		faults[3] = "status: 200, body: {}";
		/* a request is counted only by the faults before the one that fires: list the last first */
		snprintf(config, sizeof(config), "faults:\n");
		for (k = N_FAULTS - 1; k >= 0; k--) {
			size_t off = strlen(config);

			snprintf(config + off, sizeof(config) - off, "  - {path: '^%s$', %s%s%s nth: %d, %s}\n", rd->path,
				 rd->selector[0] ? "query: '" : "", rd->selector, rd->selector[0] ? "'," : "", k + 1,
				 faults[k]);
		}
		if (kubesim_start_scenario_config(&sim, argv[1], config) != 0) {
			check(0, "the simulator starts with the faults", config);
			continue;
		}
		for (k = 0; k < N_FAULTS; k++) {
			int state, severity;
			size_t n_access;

			rc = probe(&sim, &r, err, sizeof(err));
			snprintf(what, sizeof(what), "%s %s%s%s fails (%s)", rd->path, rd->selector[0] ? "?" : "",
				 rd->selector, "", faults[k]);
			if (rc != 0 || !r) {
				check(0, what, err);
				continue;
			}
			state = fluxstate_report_get_state(r);
			n_access = access_findings(r, &severity);
			printf("# %s -> %s: %s\n", what, fluxstate_state_to_string(state), fluxstate_report_get_summary(r));
			check(n_access > 0, "  an access finding names the failed read", NULL);
			if (must_be_unknown)
				check(state == FLUXSTATE_INSTALL_UNKNOWN, "  the answer is unknown",
				      fluxstate_state_to_string(state));
			else if (baseline == FLUXSTATE_INSTALL_NONE || baseline == FLUXSTATE_INSTALL_HEALTHY)
				check(state == baseline, "  the read cannot change the answer: it stays",
				      fluxstate_state_to_string(state));
			else
				check(state == baseline || state == FLUXSTATE_INSTALL_UNKNOWN,
				      "  the answer stays or becomes unknown", fluxstate_state_to_string(state));
			check(severity == (state == FLUXSTATE_INSTALL_UNKNOWN ? FLUXSTATE_SEVERITY_ERROR
									     : FLUXSTATE_SEVERITY_WARNING),
			      "  its severity says whether it decided the answer", NULL);
			fluxstate_report_free(r);
		}
		kubesim_stop(&sim);
	}
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
