/*
 * The CA and the client certificate are parsed once per client (tls.c),
 * not once per connection (issue #13, item 5). OpenSSL's parsers are
 * wrapped here (this executable defines them, so libcurl's calls and the
 * library's land here first) and counted against the number of TLS
 * contexts libcurl created, one per connection. The same counts with
 * the PEM blobs libcurl parses itself (fluxstate__client_force_tls_blobs)
 * show what the counters catch. Then the messages for a CA, certificate
 * or key that does not parse.
 *
 * SPDX-License-Identifier: MIT
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fluxstate-private.h"
#include "kubesim.h"

static struct kubesim sim;
static char certs[128];

/* ------------------------------------------------------------------------
 * Counting wrappers (single-threaded: libcurl calls them from client_run)
 * ------------------------------------------------------------------------ */

static unsigned int n_ctx_new;   /* SSL_CTX_new: one per connection libcurl opens */
static unsigned int n_ca_read;   /* PEM_X509_INFO_read_bio: a CA bundle parsed (libcurl and tls.c) */
static unsigned int n_roots;     /* X509_STORE_load_file: the system bundle parsed */
static unsigned int n_key_read;  /* PEM_read_bio_PrivateKey: a client key parsed */

#define REAL(name)                                                                     \
	static __typeof__(name) *real;                                                 \
	if (!real)                                                                     \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);                    \
	if (!real)                                                                     \
		abort()

SSL_CTX *
SSL_CTX_new(const SSL_METHOD *m)
{
	REAL(SSL_CTX_new);
	n_ctx_new++;
	return real(m);
}

STACK_OF(X509_INFO) *
PEM_X509_INFO_read_bio(BIO *b, STACK_OF(X509_INFO) *sk, pem_password_cb *cb, void *u)
{
	REAL(PEM_X509_INFO_read_bio);
	n_ca_read++;
	return real(b, sk, cb, u);
}

int
X509_STORE_load_file(X509_STORE *s, const char *file)
{
	REAL(X509_STORE_load_file);
	n_roots++;
	return real(s, file);
}

EVP_PKEY *
PEM_read_bio_PrivateKey(BIO *b, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	REAL(PEM_read_bio_PrivateKey);
	n_key_read++;
	return real(b, x, cb, u);
}

static void
reset_counts(void)
{
	n_ctx_new = n_ca_read = n_roots = n_key_read = 0;
}

/* ------------------------------------------------------------------------ */

static int
group_setup(void **state)
{
	static const char *args[] = { "--state", NULL, "--config", NULL, "--cert-dir", certs, NULL };
	static char st[512], cfg[512];
	char tmpl[] = "/tmp/tls-XXXXXX";

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(certs, sizeof(certs), "%s/certs", tmpl);
	snprintf(st, sizeof(st), "%s/state.yaml", TRANSPORT_DIR);
	snprintf(cfg, sizeof(cfg), "%s/tls-config.yaml", TRANSPORT_DIR);
	args[1] = st;
	args[3] = cfg;
	return kubesim_start(&sim, args) < 0 ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[256];

	(void)state;
	kubesim_stop(&sim);
	fluxstate__client_force_tls_blobs(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(certs) - 6), certs);
	return system(cmd) == 0 ? 0 : -1;
}

static fluxstate_ctx *
new_ctx(const char *context)
{
	fluxstate_ctx *ctx = NULL;

	assert_int_equal(fluxstate_ctx_new(&ctx), 0);
	if (fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, context) < 0)
		fail_msg("loading %s: %s", sim.kubeconfig, fluxstate_ctx_get_error(ctx));
	return ctx;
}

/* A fresh client for @ctx (its connection may have been edited). */
static struct fluxstate__client *
client_of(fluxstate_ctx *ctx)
{
	struct fluxstate__client *c = NULL;

	fluxstate__client_free(ctx->client);
	ctx->client = NULL;
	if (fluxstate__ctx_client(ctx, &c) < 0)
		fail_msg("client: %s", fluxstate_ctx_get_error(ctx));
	return c;
}

enum { N = 4 };

/*
 * N lists at once in the slow namespace: each holds its HTTP/1.1
 * connection for 400 ms, so libcurl opens one per list. Returns how many
 * succeeded; @msg gets the first failure's message.
 */
static int
run_slow_lists(struct fluxstate__client *c, char *msg, size_t msg_len)
{
	struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = "tlsslow" };
	struct fluxstate__result res[N];
	int i, ok = 0;

	msg[0] = '\0';
	for (i = 0; i < N; i++)
		assert_int_equal(fluxstate__client_add(c, &q, NULL, NULL, &res[i]), 0);
	assert_int_equal(fluxstate__client_run(c, fluxstate__now_ms() + 30000), 0);
	for (i = 0; i < N; i++) {
		if (res[i].code == 0)
			ok++;
		else if (!msg[0])
			snprintf(msg, msg_len, "%d %s", res[i].code, res[i].message ? res[i].message : "");
		fluxstate__result_clear(&res[i]);
	}
	return ok;
}

/*
 * With a fresh client for @ctx (PEM blobs if @blobs), the counts from
 * creating it and running the slow lists, of which @want_ok succeed.
 */
static struct fluxstate__client *
fresh_run(fluxstate_ctx *ctx, int blobs, int want_ok, const char *what)
{
	struct fluxstate__client *c;
	char msg[512];

	fluxstate__client_force_tls_blobs(blobs);
	reset_counts();
	c = client_of(ctx);
	fluxstate__client_force_tls_blobs(0);
	assert_int_equal(run_slow_lists(c, msg, sizeof(msg)), want_ok);
	print_message("# %s%s: %u connections, %u CA parses, %u key parses, %u system bundle loads%s%s\n", what,
		      blobs ? " (blobs)" : "", n_ctx_new, n_ca_read, n_key_read, n_roots, msg[0] ? ": " : "", msg);
	assert_true(n_ctx_new >= 2); /* else the counts show nothing */
	if (want_ok < N)
		assert_non_null(strstr(msg, "certificate"));
	return c;
}

/* The kubeconfig's CA: parsed once for every connection and every run of one client. */
static void
test_ca_parsed_once(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__client *c;
	char msg[512];

	(void)state;
	c = fresh_run(ctx, 0, N, "CA");
	assert_int_equal(n_ca_read, 1);
	assert_int_equal(n_roots, 0); /* the kubeconfig CA only, not the system bundle */
	/* later runs of the same client: still no parsing */
	assert_int_equal(run_slow_lists(c, msg, sizeof(msg)), N);
	assert_int_equal(n_ca_read, 1);
	/* as before tls.c: libcurl parses the blob for every connection, and the counters see it */
	fresh_run(ctx, 1, N, "CA");
	assert_int_equal(n_ca_read, n_ctx_new);
	fluxstate_ctx_free(ctx);
}

/* The client certificate and key: parsed once, presented on every connection. */
static void
test_client_cert_parsed_once(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-cert-user");
	int before = kubesim_count_requests(&sim, "\"clientCertCN\": \"cert-user\"");

	(void)state;
	assert_null(ctx->conn->token);
	fresh_run(ctx, 0, N, "client certificate");
	assert_int_equal(n_key_read, 1);
	assert_int_equal(n_ca_read, 1);
	/* every request authenticated with the certificate (no token in this context) */
	assert_int_equal(kubesim_count_requests(&sim, "\"clientCertCN\": \"cert-user\"") - before, N);
	fresh_run(ctx, 1, N, "client certificate");
	assert_int_equal(n_key_read, n_ctx_new);
	fluxstate_ctx_free(ctx);
}

/* No CA in the kubeconfig: the system roots libcurl would load, once, and still not the simulator's CA. */
static void
test_system_roots_loaded_once(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	int before = kubesim_count_requests(&sim, "\"method\":");

	(void)state;
	fluxstate__free_secret_n(ctx->conn->ca_pem, ctx->conn->ca_pem_len);
	ctx->conn->ca_pem = NULL;
	ctx->conn->ca_pem_len = 0;
	fresh_run(ctx, 0, 0, "system roots");
	assert_int_equal(n_roots, 1);
	assert_int_equal(n_ca_read, 0);
	assert_int_equal(kubesim_count_requests(&sim, "\"method\":"), before);
	fresh_run(ctx, 1, 0, "system roots");
	assert_int_equal(n_roots, n_ctx_new);
	fluxstate_ctx_free(ctx);
}

static void
replace(unsigned char **pem, size_t *len, const char *text)
{
	fluxstate__free_secret_n(*pem, *len);
	*pem = (unsigned char *)strdup(text);
	assert_non_null(*pem);
	*len = strlen(text);
}

static char *
read_pki(const char *name)
{
	char path[512], *data = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/../kubeconfig/cases/pki/%s", TRANSPORT_DIR, name);
	assert_int_equal(fluxstate__read_file(path, 1 << 20, &data, &len), 0);
	return data;
}

/* Every request fails with @want (ENETWORK, as when libcurl parsed), nothing reaches the server. */
static void
assert_fails_with(fluxstate_ctx *ctx, const char *want)
{
	int before = kubesim_count_requests(&sim, "\"method\":");
	char msg[512];

	assert_int_equal(run_slow_lists(client_of(ctx), msg, sizeof(msg)), 0);
	print_message("# %s\n", msg);
	if (!strstr(msg, want) || strncmp(msg, "-5 ", 3) != 0)
		fail_msg("expected FLUXSTATE_ENETWORK with \"%s\", got: %s", want, msg);
	if (strstr(msg, "PRIVATE") || strstr(msg, "MII"))
		fail_msg("key material in: %s", msg);
	assert_int_equal(kubesim_count_requests(&sim, "\"method\":"), before);
}

static void
test_bad_material(void **state)
{
	static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n";
	static const char bad_key[] = "-----BEGIN PRIVATE KEY-----\nMIIsecret*\n-----END PRIVATE KEY-----\n";
	fluxstate_ctx *ctx = new_ctx("kubesim-cert-user");
	struct fluxstate__conn *conn = ctx->conn;
	char *other;

	(void)state;
	/* the CA */
	replace(&conn->ca_pem, &conn->ca_pem_len, bad_pem);
	assert_fails_with(ctx, "unable to load root certificates from certificate-authority-data: ");
	fluxstate_ctx_free(ctx);

	/* the certificate */
	ctx = new_ctx("kubesim-cert-user");
	conn = ctx->conn;
	replace(&conn->client_cert_pem, &conn->client_cert_pem_len, bad_pem);
	assert_fails_with(ctx, "unable to load the client certificate from client-certificate-data: ");

	/* a key that does not parse, an encrypted one, one of another certificate */
	fluxstate_ctx_free(ctx);
	ctx = new_ctx("kubesim-cert-user");
	conn = ctx->conn;
	replace(&conn->client_key_pem, &conn->client_key_pem_len, bad_key);
	assert_fails_with(ctx, "unable to load the client key of user \"cert-user\": ");
	other = read_pki("client-encrypted.key");
	replace(&conn->client_key_pem, &conn->client_key_pem_len, other);
	fluxstate__free_secret(other);
	assert_fails_with(ctx, "unable to load the client key of user \"cert-user\": it is encrypted");
	other = read_pki("client.key");
	replace(&conn->client_key_pem, &conn->client_key_pem_len, other);
	fluxstate__free_secret(other);
	assert_fails_with(ctx, "the client key of user \"cert-user\" does not match the public key of its certificate");
	fluxstate_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_parsed_once),
		cmocka_unit_test(test_client_cert_parsed_once),
		cmocka_unit_test(test_system_roots_loaded_once),
		cmocka_unit_test(test_bad_material),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
