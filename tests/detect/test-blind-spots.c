/*
 * Blind spots, exhaustively: for one baseline scenario, served with pages of
 * at most 2 items (so most lists have continuation pages), probe it once to
 * learn every read a detection makes (from the simulator's request log),
 * then make each read fail in turn with every fault kind the simulator can
 * inject — 403, 404, 410, 500, a redirect, a 200 that is not a list (`{}`,
 * an HTML page, an empty body, a Status, a list of another kind), a
 * truncated, reset or malformed body — first on its first page, then on its
 * first continuation page (`continue=`), where 410 Expired twice (a restart
 * does not help) is added.
 * Each is checked against the contract in docs/states.md, "unknown":
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
 * Faults the client recovers from — a 429 (retried), a 410 on a
 * continuation page (the list restarts once) — must leave the baseline
 * answer with no access finding at all. So must any fault on a speculative
 * read that round 2 did not take (see unused_speculation()): the report
 * stays byte for byte the baseline's.
 *
 * The oracle below is written from the table in docs/states.md, not from
 * classify.c. First pages: one simulator per read serves the faults on its
 * 1st, 2nd, … first-page request (fault `nth`), one probe each.
 * Continuation pages: one simulator per fault kind, one probe per paged read.
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
	int n_cont;             /* continuation requests (pages after the first) in the baseline */
	int status;             /* the baseline's HTTP status for its first page */
	int unused;             /* a speculative read the detection drops: unused_speculation() */
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

/* The answer's number "key": N in @json (0 when absent). */
static int
json_int(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\": ", key);
	p = json ? strstr(json, needle) : NULL;
	return p ? atoi(p + strlen(needle)) : 0;
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
		if (i == n) {
			rd.status = json_int(line, "status");
			reads[n++] = rd;
		}
		if (strstr(query, "continue="))
			reads[i].n_cont++;
	}
	fclose(f);
	return n;
}

/* The resource a path lists: its last segment. */
static const char *
resource_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * Round 1 also sends round 2's reads of the likely namespace (flux-system:
 * $FLUX_SYSTEM_NAMESPACE is unset here) before it knows whether they are
 * needed. Round 2 does not take one when the detection chose another
 * namespace, or for a custom resource kind whose CRD is absent (the read was
 * answered 404 in a baseline that sees everything, so nothing used it) or
 * is read another way (round 2 sent its own read of that resource). Such a
 * read is dropped unseen: whatever fails in it changes nothing.
 */
static int
unused_speculation(const struct read *rd, const struct read *reads, size_t n_reads, const char *report_ns)
{
	const char *likely = "/namespaces/flux-system/";
	size_t i;

	if (!strstr(rd->path, likely) || strcmp(rd->path, "/api/v1/namespaces/flux-system") == 0)
		return 0;
	if (!report_ns || strcmp(report_ns, "flux-system") != 0)
		return 1;
	if (!strstr(rd->path, "fluxcd.io/") && !strstr(rd->path, "fluxcd.controlplane.io/"))
		return 0;
	if (rd->status == 404)
		return 1;
	for (i = 0; i < n_reads; i++)
		if (&reads[i] != rd && strcmp(resource_of(reads[i].path), resource_of(rd->path)) == 0 &&
		    strstr(reads[i].path, "fluxcd"))
			return 1;
	return 0;
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

/* Fault kinds (tests/kubesim/README.md, "Faults"). */
struct fault {
	const char *yaml;       /* the fault's keys */
	int first_page;         /* injected on a first page */
	int continuation;       /* injected on the first continuation page */
	int recovers;           /* the client must recover: the answer stays, nothing is hidden */
	int unselected;         /* only lists without a selector (their pages carry remainingItemCount) */
};

static const struct fault faults[] = {
	{ "status: 403", 1, 1, 0, 0 },
	{ "status: 404", 1, 1, 0, 0 },
	{ "status: 500", 1, 1, 0, 0 },
	{ "status: 410", 1, 0, 0, 0 },
	{ "redirect: 'https://proxy.invalid/login'", 1, 1, 0, 0 },
	{ "status: 200, body: {}", 1, 1, 0, 0 },
	{ "status: 200, body: '<html><body>Sign in to continue</body></html>', contentType: text/html", 1, 1, 0, 0 },
	{ "status: 200, body: ''", 1, 1, 0, 0 },
	{ "status: 200, body: {kind: Status, apiVersion: v1, metadata: {}, status: Success}", 1, 1, 0, 0 },
	{ "status: 200, body: {kind: EventList, apiVersion: v1, metadata: {resourceVersion: '7'}, items: []}", 1, 1, 0, 0 },
	{ "truncate: true", 1, 1, 0, 0 },
	{ "reset: true", 1, 1, 0, 0 },
	{ "malformed: true", 1, 1, 0, 0 },
	{ "expired: true, times: 2", 0, 1, 0, 0 },    /* again after the restart */
	/* an empty last page after "N more" (v1.34 on a stale token); a selected list may end so */
	{ "endsList: true", 0, 1, 0, 1 },
	/* recovered: keep last among the first-page faults, its retry must not meet another fault */
	{ "status: 410", 0, 1, 1, 0 },
	{ "status: 429, retryAfter: 0", 1, 1, 1, 0 },
};
#define N_FAULTS (sizeof(faults) / sizeof(faults[0]))

struct baseline {
	const char *scenario;
	int state;
	int flux_minimum_known;
	char *json;             /* its report, "requests" blanked */
};

/* Blank the digits of "requests": faults cost requests (retries, restarts), nothing else. */
static void
blank_requests(char *json)
{
	char *p = json ? strstr(json, "\"requests\":") : NULL;

	for (p = p ? p + 11 : NULL; p && *p >= '0' && *p <= '9'; p++)
		*p = '#';
}

/* One probe with @fault on @rd: check the answer against the contract. */
static void
check_probe(const struct kubesim *sim, const struct baseline *base, const struct read *rd, const struct fault *f,
	    const char *where)
{
	fluxstate_report *r;
	char err[1024], what[1024];
	enum what w = classify_read(rd);
	int must_be_unknown = decisive(base->state, w, base->flux_minimum_known);
	int rc, state, severity;
	size_t n_access;

	rc = probe(sim, &r, err, sizeof(err));
	snprintf(what, sizeof(what), "%s %s%s fails on its %s (%s)", rd->path, rd->selector[0] ? "?" : "",
		 rd->selector, where, f->yaml);
	if (rc != 0 || !r) {
		check(0, what, err);
		return;
	}
	state = fluxstate_report_get_state(r);
	n_access = access_findings(r, &severity);
	printf("# %s -> %s: %s\n", what, fluxstate_state_to_string(state), fluxstate_report_get_summary(r));
	if (f->recovers) {
		check(state == base->state, "  recovered: the answer stays", fluxstate_state_to_string(state));
		check(n_access == 0, "  recovered: nothing is reported hidden", NULL);
		fluxstate_report_free(r);
		return;
	}
	if (rd->unused) {
		char *json = NULL;

		fluxstate_report_to_json(r, &json);
		blank_requests(json);
		check(json && base->json && strcmp(json, base->json) == 0,
		      "  an unused speculative read leaves no trace: the baseline's report", NULL);
		if (json && base->json && strcmp(json, base->json) != 0)
			printf("# baseline: %s\n# got:      %s\n", base->json, json);
		fluxstate_free(json);
		fluxstate_report_free(r);
		return;
	}
	check(n_access > 0, "  an access finding names the failed read", NULL);
	if (must_be_unknown)
		check(state == FLUXSTATE_INSTALL_UNKNOWN, "  the answer is unknown", fluxstate_state_to_string(state));
	else if (base->state == FLUXSTATE_INSTALL_NONE || base->state == FLUXSTATE_INSTALL_HEALTHY)
		check(state == base->state, "  the read cannot change the answer: it stays",
		      fluxstate_state_to_string(state));
	else
		check(state == base->state || state == FLUXSTATE_INSTALL_UNKNOWN,
		      "  the answer stays or becomes unknown", fluxstate_state_to_string(state));
	check(severity == (state == FLUXSTATE_INSTALL_UNKNOWN ? FLUXSTATE_SEVERITY_ERROR : FLUXSTATE_SEVERITY_WARNING),
	      "  its severity says whether it decided the answer", NULL);
	fluxstate_report_free(r);
}

/*
 * The fault's match: the read's path and selector, and its first pages or
 * only its continuation pages; the k-th such request from @nth on.
 */
static void
append_fault(char *config, size_t len, const struct read *rd, int continuation, int nth, const char *yaml)
{
	size_t off = strlen(config);
	int n = snprintf(config + off, len - off, "  - {path: '^%s$', query: '^(?%s.*continue=)%s%s%s', nth: %d, %s}\n",
			 rd->path, continuation ? "=" : "!", rd->selector[0] ? "(?=.*" : "(?!.*Selector=)",
			 rd->selector, rd->selector[0] ? ")" : "", nth, yaml);

	if (n < 0 || (size_t)n >= len - off) {
		fprintf(stderr, "test-blind-spots: the simulator config does not fit\n");
		exit(1);
	}
}

/* Every first-page fault on @rd, one simulator: the k-th first-page request gets the k-th fault. */
static void
first_pages(const struct baseline *base, const struct read *rd)
{
	struct kubesim sim = { 0 };
	char config[8192];
	size_t k, n = 0, idx[N_FAULTS];

	for (k = 0; k < N_FAULTS; k++)
		if (faults[k].first_page)
			idx[n++] = k;
	/* a request is counted only by the faults before the one that fires: list the last first */
	snprintf(config, sizeof(config), "maxPageSize: 2\nfaults:\n");
	for (k = n; k-- > 0;)
		append_fault(config, sizeof(config), rd, 0, (int)k + 1, faults[idx[k]].yaml);
	if (kubesim_start_scenario_config(&sim, base->scenario, config) != 0) {
		check(0, "the simulator starts with the faults", config);
		return;
	}
	for (k = 0; k < n; k++)
		check_probe(&sim, base, rd, &faults[idx[k]], "first page");
	kubesim_stop(&sim);
}

/* Round 2 reads the Flux namespace and custom resources; what round 1 sees decides whether they happen. */
static int
second_round(const struct read *rd)
{
	return strstr(rd->path, "/namespaces/") || strstr(rd->path, "fluxcd");
}

/*
 * Each continuation-page fault, one simulator per fault kind: probe p fails
 * the first continuation page of paged read p. Until then every probe makes
 * the baseline's n_cont continuation requests of that read, so its fault
 * fires at p * n_cont + 1. Round-2 reads go first: a failed round-1 read
 * changes which round-2 reads are made, which would shift their counts.
 */
static void
continuation_pages(const struct baseline *base, const struct read *reads, size_t n_reads)
{
	struct kubesim sim = { 0 };
	char config[16384];
	size_t order[MAX_READS], n = 0, i, k, p;
	int round;

	for (round = 2; round >= 1; round--)
		for (i = 0; i < n_reads; i++)
			if (reads[i].n_cont && (second_round(&reads[i]) ? 2 : 1) == round)
				order[n++] = i;
	for (k = 0; k < N_FAULTS; k++) {
		size_t which[MAX_READS], m = 0;

		if (!faults[k].continuation)
			continue;
		for (p = 0; p < n; p++)
			if (!faults[k].unselected || !reads[order[p]].selector[0])
				which[m++] = order[p];
		snprintf(config, sizeof(config), "maxPageSize: 2\nfaults:\n");
		for (p = 0; p < m; p++)
			append_fault(config, sizeof(config), &reads[which[p]], 1, (int)p * reads[which[p]].n_cont + 1,
				     faults[k].yaml);
		if (kubesim_start_scenario_config(&sim, base->scenario, config) != 0) {
			check(0, "the simulator starts with the faults", config);
			continue;
		}
		for (p = 0; p < m; p++)
			check_probe(&sim, base, &reads[which[p]], &faults[k], "2nd page");
		kubesim_stop(&sim);
	}
}

int
main(int argc, char **argv)
{
	struct kubesim sim = { 0 };
	struct read reads[MAX_READS];
	struct baseline base = { 0 };
	fluxstate_report *r;
	char err[1024], what[1024], *json = NULL;
	size_t n_reads, n_paged = 0, n_unused = 0, i;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCENARIO\n", argv[0]);
		return 2;
	}
	unsetenv("FLUX_SYSTEM_NAMESPACE");
	base.scenario = argv[1];

	rc = kubesim_start_scenario_config(&sim, argv[1], "maxPageSize: 2\n");
	if (rc != 0) {
		printf("1..1\nnot ok 1 - the simulator starts on %s\n", argv[1]);
		return 1;
	}
	rc = probe(&sim, &r, err, sizeof(err));
	check(rc == 0 && r, "the baseline probe succeeds", err);
	if (!r) {
		kubesim_stop(&sim);
		printf("1..%d\n", n_checks);
		return 1;
	}
	base.state = fluxstate_report_get_state(r);
	base.flux_minimum_known = fluxstate_report_to_json(r, &json) == 0 && json &&
				  strstr(json, "\"fluxMinimum\":\"");
	base.json = json;
	blank_requests(base.json);
	check(access_findings(r, &rc) == 0, "the baseline sees everything", fluxstate_state_to_string(base.state));
	n_reads = learn_reads(sim.log_path, reads, MAX_READS);
	/* the log is in arrival order, which concurrency varies: sort for a stable order */
	qsort(reads, n_reads, sizeof(reads[0]), cmp_read);
	kubesim_stop(&sim);
	for (i = 0; i < n_reads; i++) {
		n_paged += reads[i].n_cont > 0;
		reads[i].unused = unused_speculation(&reads[i], reads, n_reads, fluxstate_report_get_namespace(r));
		n_unused += reads[i].unused;
	}
	fluxstate_report_free(r);
	snprintf(what, sizeof(what), "%zu reads, %zu of them paged, %zu unused speculative ones, baseline %s",
		 n_reads, n_paged, n_unused, fluxstate_state_to_string(base.state));
	check(n_reads >= 10, "the request log names the reads", what);
	check(n_paged >= 1, "lists have continuation pages to fail", what);

	for (i = 0; i < n_reads; i++)
		first_pages(&base, &reads[i]);
	continuation_pages(&base, reads, n_reads);
	fluxstate_free(base.json);
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
