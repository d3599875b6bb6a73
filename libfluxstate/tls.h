/*
 * tls.c: the CA store and the client certificate of one client, parsed
 * once and installed on every new connection's SSL_CTX (libcurl's
 * CURLOPT_SSL_CTX_FUNCTION), instead of PEM blobs libcurl parses again
 * for each connection.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_TLS_H
#define FLUXSTATE_TLS_H

#include "fluxstate-private.h"

struct fluxstate__tls;

/*
 * 1 when libcurl's TLS backend is the OpenSSL this library is linked
 * with (same major.minor at run time), so an SSL_CTX libcurl hands out
 * can take our X509_STORE / X509 / EVP_PKEY. 0: use the blob options.
 */
int fluxstate__tls_backend_shared(void);

/*
 * Parse what @conn's connections need, once: the CA bundle (or, without
 * one and unless insecure, the system roots libcurl would load from
 * @default_cainfo / @default_capath, either may be NULL) and the client
 * certificate + key of the kubeconfig (not an exec plugin's: those rotate).
 *
 * 0 with *ret set (never NULL), or FLUXSTATE_ENOMEM. A CA, certificate or
 * key that does not parse is not an error here: *ret then carries the
 * message (fluxstate__tls_error()) every request fails with, as before.
 */
int fluxstate__tls_new(const struct fluxstate__conn *conn, const char *default_cainfo, const char *default_capath,
		       struct fluxstate__tls **ret);

/* Why the TLS material is unusable (no secrets), or NULL. */
const char *fluxstate__tls_error(const struct fluxstate__tls *tls);
/* 1 when the store replaces libcurl's CA options (set CAINFO/CAPATH to NULL). */
int fluxstate__tls_has_store(const struct fluxstate__tls *tls);
/* 1 when the kubeconfig's client certificate is installed (no SSLCERT/SSLKEY blobs). */
int fluxstate__tls_has_identity(const struct fluxstate__tls *tls);

/*
 * Install the store and the client certificate on a new connection's
 * @ssl_ctx (an SSL_CTX *; from CURLOPT_SSL_CTX_FUNCTION): references,
 * no parsing. 0 or FLUXSTATE_ENOMEM.
 */
int fluxstate__tls_install(struct fluxstate__tls *tls, void *ssl_ctx);

/* Frees the store, certificates and key (the key's memory is cleared by OpenSSL). NULL is fine. */
void fluxstate__tls_free(struct fluxstate__tls *tls);

#endif
