/*
 * TLS material parsed once per client (so once per fluxstate_ctx): the
 * CA bundle as an X509_STORE, the client certificate (+ chain) and key.
 * libcurl given PEM blobs parses all of them again for every connection
 * (8 connections per detection against an HTTP/1.1 server); here each new
 * connection's SSL_CTX only takes references.
 *
 * Same rules as the blobs they replace (libcurl 7.88's OpenSSL backend):
 * the CA bundle is all or nothing, intermediates in it are trust anchors
 * (X509_V_FLAG_PARTIAL_CHAIN), the first certificate is the leaf and the
 * rest its chain.
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "tls.h"

struct fluxstate__tls {
	X509_STORE *store;          /* NULL: libcurl's CA options stay (insecure, or no usable roots) */
	X509 *cert;                 /* NULL: no kubeconfig client certificate */
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	char *error;                /* why the material is unusable; every request fails with it */
};

int
fluxstate__tls_backend_shared(void)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	unsigned long num = OpenSSL_version_num();
	unsigned int major, minor;

	/* "OpenSSL/3.0.19": a multi-SSL libcurl shows others in parentheses, LibreSSL/BoringSSL by name */
	if (!vi || !vi->ssl_version || sscanf(vi->ssl_version, "OpenSSL/%u.%u", &major, &minor) != 2)
		return 0;
	return major == ((num >> 28) & 0xf) && minor == ((num >> 20) & 0xff);
}

/* Never prompt on a terminal for a passphrase (OpenSSL's default callback would). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* OpenSSL's reason for the last failure: a fixed string, never the input. */
static const char *
ossl_reason(const char *fallback)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : fallback;
}

static BIO *
mem_bio(const unsigned char *data, size_t len)
{
	return len > INT_MAX ? NULL : BIO_new_mem_buf(data, (int)len);
}

/* 0 = loaded or *error set; FLUXSTATE_ENOMEM. */
static int
load_ca(struct fluxstate__tls *t, const struct fluxstate__conn *conn)
{
	BIO *bio = mem_bio(conn->ca_pem, conn->ca_pem_len);
	STACK_OF(X509_INFO) *inf = NULL;
	int i, n = 0, r = 0;

	t->store = X509_STORE_new();
	if (!bio || !t->store) {
		BIO_free(bio);
		return FLUXSTATE_ENOMEM;
	}
	inf = PEM_X509_INFO_read_bio(bio, NULL, no_passphrase, NULL);
	for (i = 0; inf && i < sk_X509_INFO_num(inf) && r == 0; i++) {
		X509_INFO *it = sk_X509_INFO_value(inf, i);

		if ((it->x509 && !X509_STORE_add_cert(t->store, it->x509)) ||
		    (it->crl && !X509_STORE_add_crl(t->store, it->crl)))
			r = FLUXSTATE_ENOMEM;
		n += (it->x509 != NULL) + (it->crl != NULL);
	}
	if (n == 0 && r == 0) {
		t->error = fluxstate__asprintf("unable to load root certificates from %s: %s",
					       conn->ca_source ? conn->ca_source : "the CA data",
					       inf ? "no certificate in it" : ossl_reason("not PEM"));
		r = t->error ? 0 : FLUXSTATE_ENOMEM;
	}
	sk_X509_INFO_pop_free(inf, X509_INFO_free);
	BIO_free(bio);
	return r;
}

/*
 * The roots libcurl would load for each connection (its default CA file
 * and directory): loaded once. Not usable: leave them to libcurl, which
 * then fails each request with its own message, as before.
 */
static int
load_system_roots(struct fluxstate__tls *t, const char *cainfo, const char *capath)
{
	int ok = 1;

	if (!cainfo && !capath)
		return 0;
	t->store = X509_STORE_new();
	if (!t->store)
		return FLUXSTATE_ENOMEM;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	if (cainfo && !X509_STORE_load_file(t->store, cainfo))
		ok = 0;
	if (ok && capath && !X509_STORE_load_path(t->store, capath))
		ok = 0;
#else
	ok = X509_STORE_load_locations(t->store, cainfo, capath);
#endif
	if (!ok) {
		X509_STORE_free(t->store);
		t->store = NULL;
	}
	return 0;
}

/* 0 = loaded or *error set; FLUXSTATE_ENOMEM. */
static int
load_identity(struct fluxstate__tls *t, const struct fluxstate__conn *conn)
{
	const char *user = conn->user_name ? conn->user_name : "";
	BIO *bio = mem_bio(conn->client_cert_pem, conn->client_cert_pem_len);
	BIO *kbio = mem_bio(conn->client_key_pem, conn->client_key_pem_len);
	unsigned long e;
	X509 *x;
	int r = FLUXSTATE_ENOMEM;

	t->chain = sk_X509_new_null();
	if (!bio || !kbio || !t->chain)
		goto out;
	t->cert = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
	if (!t->cert) {
		t->error = fluxstate__asprintf("unable to load the client certificate from %s: %s",
					       conn->client_cert_source ? conn->client_cert_source : "the user",
					       ossl_reason("not PEM"));
		goto msg;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)))
		if (!sk_X509_push(t->chain, x)) {
			X509_free(x);
			goto out;
		}
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		t->error = fluxstate__asprintf("unable to load the chain after the client certificate from %s: %s",
					       conn->client_cert_source ? conn->client_cert_source : "the user",
					       ossl_reason("not PEM"));
		goto msg;
	}
	ERR_clear_error();
	t->key = PEM_read_bio_PrivateKey(kbio, NULL, no_passphrase, NULL);
	if (!t->key) {
		t->error = fluxstate__asprintf("unable to load the client key of user \"%s\": %s", user,
					       fluxstate__pem_key_is_encrypted(conn->client_key_pem,
									       conn->client_key_pem_len)
						       ? "it is encrypted"
						       : ossl_reason("not PEM"));
		goto msg;
	}
	if (X509_check_private_key(t->cert, t->key) != 1) {
		t->error = fluxstate__asprintf(
			"the client key of user \"%s\" does not match the public key of its certificate", user);
		goto msg;
	}
	r = 0;
	goto out;
msg:
	r = t->error ? 0 : FLUXSTATE_ENOMEM;
out:
	BIO_free(bio);
	BIO_free(kbio);
	return r;
}

int
fluxstate__tls_new(const struct fluxstate__conn *conn, const char *default_cainfo, const char *default_capath,
		   struct fluxstate__tls **ret)
{
	struct fluxstate__tls *t = calloc(1, sizeof(*t));
	int r = 0;

	if (!t)
		return FLUXSTATE_ENOMEM;
	ERR_clear_error();
	if (conn->insecure_skip_tls_verify)
		; /* nothing to verify against */
	else if (conn->ca_pem && conn->ca_pem_len)
		r = load_ca(t, conn);
	else
		r = load_system_roots(t, default_cainfo, default_capath);
	if (r == 0 && !t->error && t->store)
		/* what libcurl sets on the store it fills when it verifies the peer */
		X509_STORE_set_flags(t->store, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
	if (r == 0 && !t->error && conn->client_cert_pem && conn->client_key_pem)
		r = load_identity(t, conn);
	ERR_clear_error(); /* libcurl reads the queue after a failed handshake */
	if (r < 0) {
		fluxstate__tls_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

const char *
fluxstate__tls_error(const struct fluxstate__tls *tls)
{
	return tls ? tls->error : NULL;
}

int
fluxstate__tls_has_store(const struct fluxstate__tls *tls)
{
	return tls && tls->store;
}

int
fluxstate__tls_has_identity(const struct fluxstate__tls *tls)
{
	return tls && tls->cert && tls->key;
}

int
fluxstate__tls_install(struct fluxstate__tls *tls, void *ssl_ctx)
{
	SSL_CTX *ctx = ssl_ctx;
	int i;

	if (tls->store)
		SSL_CTX_set1_cert_store(ctx, tls->store);
	if (tls->cert && tls->key) {
		if (SSL_CTX_use_certificate(ctx, tls->cert) != 1 || !SSL_CTX_clear_chain_certs(ctx))
			return FLUXSTATE_ENOMEM;
		for (i = 0; i < sk_X509_num(tls->chain); i++)
			if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(tls->chain, i)))
				return FLUXSTATE_ENOMEM;
		if (SSL_CTX_use_PrivateKey(ctx, tls->key) != 1)
			return FLUXSTATE_ENOMEM;
	}
	return 0;
}

void
fluxstate__tls_free(struct fluxstate__tls *tls)
{
	if (!tls)
		return;
	X509_STORE_free(tls->store);
	X509_free(tls->cert);
	sk_X509_pop_free(tls->chain, X509_free);
	EVP_PKEY_free(tls->key); /* OpenSSL clears private key material as it frees it */
	free(tls->error);
	free(tls);
}
