/*
 * exec-credential.c: run a client-go exec credential plugin
 * (client.authentication.k8s.io v1/v1beta1) and cache what it returns.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_EXEC_CREDENTIAL_H
#define FLUXSTATE_EXEC_CREDENTIAL_H

#include <stdint.h>
#include <time.h>

#include "fluxstate-private.h"

/* Credentials from the plugin; secrets wiped on clear. */
struct fluxstate__exec_state {
	char *token;                    /* NULL = none */
	unsigned char *cert_pem;        /* PEM text, NULL = none */
	size_t cert_pem_len;
	unsigned char *key_pem;
	size_t key_pem_len;
	time_t expiry;                  /* 0 = valid for the process lifetime */
	int valid;                      /* cached credentials usable (until expiry) */
	unsigned int generation;        /* bumped on every successful run */
	unsigned int n_runs;            /* plugin runs (tests, traces) */
	unsigned int refreshed_for;     /* generation already refreshed after a 401 (0 = none) */
	/*
	 * Credentials that arrived already expired are used as they are for
	 * the rest of their operation (this deadline): running the plugin for
	 * every request would only repeat the answer (kubectl: twice a command).
	 */
	uint64_t stale_deadline_ms;     /* 0 = none */
	/* A failed run, remembered for the rest of its operation (same deadline). */
	uint64_t failed_deadline_ms;    /* 0 = no failure remembered */
	int failed_code;
	char *failed_message;
};

/*
 * Make sure @st holds valid credentials: run the plugin unless cached ones
 * are still valid. A plugin that failed, or returned credentials that had
 * already expired, is not re-run for the other requests of the same
 * operation (@deadline_ms): they get the same answer.
 * 0, or a FLUXSTATE_E* code with *ret_message (caller frees; no secrets) set: FLUXSTATE_EAUTH (plugin failed or answered badly),
 * FLUXSTATE_ETIMEDOUT (@deadline_ms passed; the plugin is killed), ENOMEM.
 */
int fluxstate__exec_credential_get(fluxstate_ctx *ctx, const struct fluxstate__conn *conn,
				   struct fluxstate__exec_state *st, uint64_t deadline_ms, char **ret_message);

/*
 * After a 401 with credentials of @generation: re-run the plugin once per
 * generation (client-go). Returns 1 when it ran (successfully or not), 0
 * when this generation was already refreshed.
 */
int fluxstate__exec_credential_refresh(fluxstate_ctx *ctx, const struct fluxstate__conn *conn,
				       struct fluxstate__exec_state *st, unsigned int generation,
				       uint64_t deadline_ms);

void fluxstate__exec_state_clear(struct fluxstate__exec_state *st);

/*
 * Decode a plugin's stdout (JSON or YAML ExecCredential of @conn's exec
 * apiVersion) into @st. 0, or FLUXSTATE_EAUTH/ENOMEM with *ret_message set
 * (caller frees; no secrets). Exposed for the fuzz harness.
 */
int fluxstate__exec_decode_output(const struct fluxstate__conn *conn, const char *out, size_t len,
				  struct fluxstate__exec_state *st, char **ret_message);

/* The KUBERNETES_EXEC_INFO value (with its trailing newline). Caller frees. */
char *fluxstate__exec_info_json(const struct fluxstate__conn *conn, int interactive);

#endif
