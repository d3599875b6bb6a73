/*
 * Whole-probe failures and blind spots against the simulator: 401 -> EAUTH,
 * nothing listening -> ENETWORK, every answer late -> ETIMEDOUT (within the
 * deadline), every answer 404 or not a list -> EPROTOCOL, one list cut off or failing -> a report with state unknown and
 * an access finding naming the list.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Probe @sim; returns the probe's code, fills *ret on success. */
static int
probe(struct kubesim *sim, unsigned int timeout_ms, int stop_first, fluxstate_report **ret, char *err, size_t errlen)
{
	fluxstate_ctx *ctx;
	int rc;

	*ret = NULL;
	if (fluxstate_ctx_new(&ctx) < 0)
		return FLUXSTATE_ENOMEM;
	rc = fluxstate_ctx_load_kubeconfig(ctx, sim->kubeconfig, NULL);
	if (rc == 0 && timeout_ms)
		rc = fluxstate_ctx_set_timeout_ms(ctx, timeout_ms);
	if (rc == 0 && stop_first)
		kubesim_stop(sim);
	if (rc == 0)
		rc = fluxstate_ctx_probe(ctx, ret);
	snprintf(err, errlen, "%s", fluxstate_ctx_get_error(ctx));
	fluxstate_ctx_free(ctx);
	return rc;
}

static const fluxstate_finding *
access_finding(const fluxstate_report *r, const char *kind)
{
	size_t i;

	for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(r, i);

		if (strcmp(fluxstate_finding_get_category(f), "access") == 0 &&
		    strcmp(fluxstate_finding_get_kind(f), kind) == 0 &&
		    (fluxstate_finding_get_flags(f) & FLUXSTATE_FLAG_NOT_VISIBLE))
			return f;
	}
	return NULL;
}

int
main(void)
{
	struct kubesim sim = { 0 };
	fluxstate_report *r;
	char err[1024];
	double t0;
	int rc;

	unsetenv("FLUX_SYSTEM_NAMESPACE");

	/* 401 everywhere: the credentials are wrong, no report */
	rc = kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '^/(api|apis|version)', status: 401}\n");
	if (rc != 0) {
		printf("1..1\nnot ok 1 - the simulator starts\n");
		return 1;
	}
	rc = probe(&sim, 0, 0, &r, err, sizeof(err));
	check(rc == FLUXSTATE_EAUTH && !r, "401 on every request: EAUTH", err);
	check(strstr(err, "credentials") != NULL, "the message says the credentials were rejected", err);
	kubesim_stop(&sim);

	/* nothing listens any more */
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "{}\n") == 0) {
		rc = probe(&sim, 5000, 1, &r, err, sizeof(err));
		check(rc == FLUXSTATE_ENETWORK && !r, "server gone: ENETWORK", err);
		check(err[0] != '\0', "with a message", err);
	}

	/* every answer later than the deadline */
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '^/(api|apis|version)', delayMs: 4000}\n") == 0) {
		t0 = now_ms();
		rc = probe(&sim, 600, 0, &r, err, sizeof(err));
		check(rc == FLUXSTATE_ETIMEDOUT && !r, "every answer late: ETIMEDOUT", err);
		check(now_ms() - t0 < 3000, "returned near the 600 ms deadline", NULL);
		kubesim_stop(&sim);
	}

	/*
	 * The deadline cuts one read off (a slow Deployments list): the probe
	 * did not complete, ETIMEDOUT (exit 4), not "unknown" with a hint to
	 * grant read access.
	 */
	if (kubesim_start_scenario_config(&sim, "empty-cluster",
					  "faults:\n  - {path: '^/apis/apps/v1/deployments$', delayMs: 5000}\n") == 0) {
		t0 = now_ms();
		rc = probe(&sim, 1500, 0, &r, err, sizeof(err));
		check(rc == FLUXSTATE_ETIMEDOUT && !r, "one list cut off by the deadline: ETIMEDOUT, no report", err);
		check(strstr(err, "deadline") && strstr(err, "deployments") && !strstr(err, "access"),
		      "the message names the deadline and the list", err);
		check(now_ms() - t0 < 2500, "returned near the 1500 ms deadline", NULL);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}

	/* a 403 on one list stays a blind spot: unknown, with the access finding */
	if (kubesim_start_scenario_config(&sim, "empty-cluster",
					  "faults:\n  - {path: '^/apis/apps/v1/deployments$', status: 403}\n") == 0) {
		rc = probe(&sim, 10000, 0, &r, err, sizeof(err));
		check(rc == 0 && r && fluxstate_report_get_state(r) == FLUXSTATE_INSTALL_UNKNOWN &&
		      access_finding(r, "Deployment"), "a 403 on Deployments: unknown with an access finding",
		      r ? fluxstate_report_get_summary(r) : err);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}

	/* every connection reset after the headers: reached, so not "cannot reach" */
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '.', reset: true}\n") == 0) {
		rc = probe(&sim, 10000, 0, &r, err, sizeof(err));
		check(rc == FLUXSTATE_ENETWORK && !r, "a reset on every request: ENETWORK", err);
		check(!strstr(err, "cannot reach") && strstr(err, "reset"),
		      "the message says the server was reached and reset the connections", err);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}

	/* malformed JSON everywhere: one plain message, no "malformed reply…: malformed JSON…" */
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '.', malformed: true}\n") == 0) {
		const char *m;

		rc = probe(&sim, 10000, 0, &r, err, sizeof(err));
		m = strstr(err, "malformed");
		check(rc == FLUXSTATE_EPROTOCOL && !r, "malformed JSON on every request: EPROTOCOL", err);
		check(m && !strstr(m + 1, "malformed"), "the message says malformed once", err);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}

	/* an address that answers 404 (or `{}`) to everything is not a Kubernetes API: no report, never none */
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '.', status: 404}\n") == 0) {
		rc = probe(&sim, 10000, 0, &r, err, sizeof(err));
		check(rc == FLUXSTATE_EPROTOCOL && !r, "404 on every request: EPROTOCOL", err);
		check(strstr(err, "404") != NULL, "the message names the 404", err);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '.', status: 200, body: {}}\n") == 0) {
		rc = probe(&sim, 10000, 0, &r, err, sizeof(err));
		check(rc == FLUXSTATE_EPROTOCOL && !r, "`{}` for every request: EPROTOCOL", err);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}

	/* one list cut off mid-body: the rest is seen, the answer is unknown */
	if (kubesim_start_scenario_config(&sim, "empty-cluster", "faults:\n  - {path: '^/apis/apps/v1/deployments$', truncate: true}\n") == 0) {
		rc = probe(&sim, 10000, 0, &r, err, sizeof(err));
		check(rc == 0 && r, "a truncated Deployments list still gives a report", err);
		if (r) {
			check(fluxstate_report_get_state(r) == FLUXSTATE_INSTALL_UNKNOWN, "state unknown, not none",
			      fluxstate_report_get_summary(r));
			check(access_finding(r, "Deployment") != NULL, "an access finding names Deployment", NULL);
			fluxstate_report_free(r);
		}
		kubesim_stop(&sim);
	}

	/* a 500 on Secrets in the pre-created namespace: a Helm release secret could hide there */
	if (kubesim_start_scenario_config(&sim, "seed-1292", "faults:\n  - {path: '^/api/v1/namespaces/flux-system/secrets$', status: 500}\n") == 0) {
		rc = probe(&sim, 15000, 0, &r, err, sizeof(err));
		check(rc == 0 && r, "a failing Secrets list still gives a report", err);
		if (r) {
			const fluxstate_finding *f = access_finding(r, "Secret");

			check(fluxstate_report_get_state(r) == FLUXSTATE_INSTALL_UNKNOWN, "state unknown, not none",
			      fluxstate_report_get_summary(r));
			check(f && fluxstate_finding_get_namespace(f) &&
			      strcmp(fluxstate_finding_get_namespace(f), "flux-system") == 0,
			      "the access finding names Secret in flux-system", f ? fluxstate_finding_get_reason(f) : NULL);
			fluxstate_report_free(r);
		}
		kubesim_stop(&sim);
	}

	/* the same failure next to a healthy install cannot change the answer */
	if (kubesim_start_scenario_config(&sim, "healthy-cli", "faults:\n  - {path: '^/api/v1/namespaces/flux-system/configmaps$', status: 500}\n") == 0) {
		rc = probe(&sim, 15000, 0, &r, err, sizeof(err));
		check(rc == 0 && r && fluxstate_report_get_state(r) == FLUXSTATE_INSTALL_HEALTHY,
		      "a failing ConfigMaps list next to a healthy install: healthy",
		      r ? fluxstate_report_get_summary(r) : err);
		check(r && access_finding(r, "ConfigMap") &&
		      fluxstate_finding_get_severity(access_finding(r, "ConfigMap")) == FLUXSTATE_SEVERITY_WARNING,
		      "reported as a warning", NULL);
		fluxstate_report_free(r);
		kubesim_stop(&sim);
	}

	/*
	 * TCP accepted, TLS never answered (a listening socket nobody serves):
	 * no request got an answer, so the probe fails at the deadline with a
	 * message about the handshake, not "unknown" after 30 s.
	 */
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t alen = sizeof(a);
		int ls = socket(AF_INET, SOCK_STREAM, 0);
		char path[] = "/tmp/fluxstate-probe-errors-XXXXXX";
		int fd = mkstemp(path);

		if (ls >= 0 && fd >= 0 && bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(ls, 64) == 0 &&
		    getsockname(ls, (struct sockaddr *)&a, &alen) == 0) {
			fluxstate_ctx *ctx = NULL;
			FILE *f = fdopen(fd, "w");

			fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
				   "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:%d', insecure-skip-tls-verify: true}}]\n"
				   "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n",
				ntohs(a.sin_port));
			fclose(f);
			fd = -1;
			r = NULL;
			t0 = now_ms();
			rc = fluxstate_ctx_new(&ctx);
			rc = rc ? rc : fluxstate_ctx_load_kubeconfig(ctx, path, NULL);
			rc = rc ? rc : fluxstate_ctx_set_timeout_ms(ctx, 1500);
			/* connect timeouts end the first requests, the deadline the later ones (as 10 s vs 30 s) */
			rc = rc ? rc : fluxstate_ctx_set_connect_timeout_ms(ctx, 500);
			rc = rc ? rc : fluxstate_ctx_probe(ctx, &r);
			snprintf(err, sizeof(err), "%s", fluxstate_ctx_get_error(ctx));
			check((rc == FLUXSTATE_ETIMEDOUT || rc == FLUXSTATE_ENETWORK) && !r,
			      "TLS never completes: ETIMEDOUT or ENETWORK, no report", err);
			check(strstr(err, "TLS handshake never completed") != NULL, "the message names the handshake", err);
			check(now_ms() - t0 < 2500, "returned near the 1500 ms deadline", NULL);
			fluxstate_report_free(r);
			fluxstate_ctx_free(ctx);
		} else {
			check(0, "listen on a loopback port", NULL);
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
		if (ls >= 0)
			close(ls);
	}

	/* the namespace: option > controllers > $FLUX_SYSTEM_NAMESPACE > flux-system */
	if (kubesim_start_scenario(&sim, "healthy-cli") == 0) {
		fluxstate_ctx *ctx = NULL;
		char *json = NULL;

		if (fluxstate_ctx_new(&ctx) == 0 && fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL) == 0) {
			setenv("FLUX_SYSTEM_NAMESPACE", "elsewhere", 1);
			rc = fluxstate_ctx_probe(ctx, &r);
			check(rc == 0 && strcmp(fluxstate_report_get_namespace(r), "flux-system") == 0,
			      "controllers' namespace beats $FLUX_SYSTEM_NAMESPACE", r ? fluxstate_report_get_namespace(r) : "");
			fluxstate_report_free(r);
			fluxstate_ctx_set_flux_namespace(ctx, "elsewhere");
			rc = fluxstate_ctx_probe(ctx, &r);
			check(rc == 0 && fluxstate_report_get_state(r) == FLUXSTATE_INSTALL_PARTIAL &&
			      strcmp(fluxstate_report_get_namespace(r), "elsewhere") == 0,
			      "the option wins; Flux elsewhere makes it partial", r ? fluxstate_report_get_summary(r) : "");
			check(r && fluxstate_report_to_json(r, &json) == 0 && strstr(json, "\"namespaceSource\":\"option\""),
			      "namespaceSource is option", NULL);
			fluxstate_free(json);
			fluxstate_report_free(r);
			unsetenv("FLUX_SYSTEM_NAMESPACE");
		}
		fluxstate_ctx_free(ctx);
		kubesim_stop(&sim);
	}
	if (kubesim_start_scenario(&sim, "empty-cluster") == 0) {
		fluxstate_ctx *ctx = NULL;
		char *json = NULL;

		setenv("FLUX_SYSTEM_NAMESPACE", "gitops", 1);
		if (fluxstate_ctx_new(&ctx) == 0 && fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL) == 0 &&
		    fluxstate_ctx_probe(ctx, &r) == 0) {
			check(strcmp(fluxstate_report_get_namespace(r), "gitops") == 0 &&
			      fluxstate_report_to_json(r, &json) == 0 && strstr(json, "\"namespaceSource\":\"environment\""),
			      "no Flux anywhere: $FLUX_SYSTEM_NAMESPACE", fluxstate_report_get_namespace(r));
			fluxstate_free(json);
			fluxstate_report_free(r);
		} else {
			check(0, "probe the empty cluster", fluxstate_ctx_get_error(ctx));
		}
		unsetenv("FLUX_SYSTEM_NAMESPACE");
		fluxstate_ctx_free(ctx);
		kubesim_stop(&sim);
	}
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
