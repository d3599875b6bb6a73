/*
 * kubectl's connection flags as overrides (client-go ConfigOverrides: merged
 * field by field over the selected user and cluster), their public setters,
 * and kubeconfigs loaded from memory (relative paths resolved against a base
 * directory or rejected). The expected errors are kubectl 1.33's on the same
 * inputs (tests/parity compares the requests themselves).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define C (kc_last.conn)

static const char *const no_groups[] = { NULL };

/* --token: replaces the token; a token file of the user still wins (kubectl does the same) */
static void
test_token_override(void **state)
{
	(void)state;
	kc_opts.token = "SECRET-flag";
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {token: SECRET-file}}]\n"));
	assert_string_equal(C->token, "SECRET-flag");
	assert_null(C->token_file);
	/* a user with no credentials at all gets it */
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {}}]\n"));
	assert_string_equal(fluxstate__conn_auth_method(C), "token");
	/* the client certificate of the user is still presented */
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {client-certificate-data: @CERT_DATA@, "
				    "client-key-data: @KEY_DATA@}}]\n"));
	assert_string_equal(fluxstate__conn_auth_method(C), "token+client-certificate");
	/* an exec plugin is configured but never runs (static credentials first) */
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
				    "command: /bin/false, interactiveMode: Never}}}]\n"));
	assert_string_equal(fluxstate__conn_auth_method(C), "token");
	/* basic auth + --token: kubectl's validation error */
	assert_load_error(kc_load_text("@STD@users: [{name: u, user: {username: bob, password: SECRET-pw}}]\n"),
			  "invalid configuration: more than one authentication method found for u; found [token basicAuth], only one is allowed");
	/* the user's tokenFile stays and wins when readable, as in kubectl */
	kc_put_text("tok", "SECRET-from-file\n");
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {tokenFile: tok}}]\n"));
	assert_string_equal(C->token, "SECRET-flag");
	assert_non_null(C->token_file);
}

static void
test_client_certificate_override(void **state)
{
	(void)state;
	kc_opts.client_certificate = "pki/client.crt";
	kc_opts.client_key = "pki/client.key";
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {client-certificate: pki/other.crt, "
				    "client-key: pki/other.key}}]\n"));
	assert_string_equal(C->client_cert_source, "pki/client.crt");
	/* the user's -data stays: both set is kubectl's error (observed, tests/parity) */
	assert_load_error(kc_load_text("@STD@users: [{name: u, user: {client-certificate-data: @CA_DATA@, "
				       "client-key-data: @KEY_DATA@}}]\n"),
			  "invalid configuration: [client-cert-data and client-cert are both specified for u. client-cert-data will override., "
			  "client-key-data and client-key are both specified for u; client-key-data will override]");
	kc_opts.client_key = NULL;
	assert_load_error(kc_load_text("@STD@users: [{name: u, user: {}}]\n"),
			  "invalid configuration: client-key-data or client-key must be specified for u to use the clientCert authentication method.");
	kc_opts.client_key = "pki/missing.key";
	assert_load_error_contains(kc_load_text("@STD@users: [{name: u, user: {}}]\n"),
				   "unable to read client-key pki/missing.key for u due to open pki/missing.key: no such file or directory");
}

static void
test_impersonation_override(void **state)
{
	static const char *const groups[] = { "g1", "g2", NULL };

	(void)state;
	kc_opts.impersonate_user = "jane";
	kc_opts.impersonate_groups = (char *const *)groups;
	kc_opts.impersonate_uid = "1234";
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {token: SECRET-t, as: bob, as-groups: [old]}}]\n"));
	assert_string_equal(C->impersonate_user, "jane");
	assert_string_equal(C->impersonate_uid, "1234");
	assert_string_equal(C->impersonate_groups[0], "g1");
	assert_string_equal(C->impersonate_groups[1], "g2");
	assert_null(C->impersonate_groups[2]);
	/* --as alone keeps the user's groups (field by field) */
	kc_opts.impersonate_groups = (char *const *)no_groups;
	kc_opts.impersonate_uid = NULL;
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {token: SECRET-t, as: bob, as-groups: [old]}}]\n"));
	assert_string_equal(C->impersonate_user, "jane");
	assert_string_equal(C->impersonate_groups[0], "old");
	/* groups without a user: kubectl's error */
	kc_opts.impersonate_user = NULL;
	kc_opts.impersonate_groups = (char *const *)groups;
	assert_load_error(kc_load_text("@STD@users: [{name: u, user: {token: SECRET-t}}]\n"),
			  "invalid configuration: requesting uid, groups or user-extra for u without impersonating a user");
}

static void
test_disable_compression_override(void **state)
{
	(void)state;
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {token: SECRET-t}}]\n"));
	assert_int_equal(C->disable_compression, 0);
	kc_opts.disable_compression = 1;
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {token: SECRET-t}}]\n"));
	assert_int_equal(C->disable_compression, 1);
}

/* In-cluster honours --token (and --server, --certificate-authority) only. */
static void
test_in_cluster_token_override(void **state)
{
	(void)state;
	kc_put_text("sa/token", "SECRET-sa\n");
	kc_put_text("sa/namespace", "ns1\n");
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	kc_opts.serviceaccount_dir = kc_path("sa");
	kc_opts.token = "SECRET-flag";
	assert_load_ok(kc_load(NULL));
	assert_int_equal(C->in_cluster, 1);
	assert_string_equal(C->token, "SECRET-flag");
	assert_null(C->token_file);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

/* ---- the public API: setters and kubeconfig from memory ---- */

static char *
describe(fluxstate_ctx *ctx)
{
	char *json = NULL;

	assert_int_equal(fluxstate_ctx_describe_connection(ctx, &json), 0);
	return json;
}

static void
test_setters_validate_and_refuse_after_load(void **state)
{
	fluxstate_ctx *ctx;
	static const char kc[] = "clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n"
				 "users: [{name: u, user: {token: SECRET-t}}]\n"
				 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
	char *json;

	(void)state;
	assert_int_equal(fluxstate_ctx_new(&ctx), 0);
	assert_int_equal(fluxstate_ctx_set_token(ctx, ""), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_set_token(ctx, "SECRET-a\nb"), FLUXSTATE_EINVAL);
	assert_null(strstr(fluxstate_ctx_get_error(ctx), "SECRET"));
	assert_int_equal(fluxstate_ctx_set_impersonate_user(ctx, "a\r\nX-Evil: 1"), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_add_impersonate_group(ctx, ""), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_set_certificate_authority(ctx, ""), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_set_token(NULL, "x"), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_add_impersonate_group(ctx, "g1"), 0);
	assert_int_equal(fluxstate_ctx_add_impersonate_group(ctx, NULL), 0); /* clears */
	assert_int_equal(fluxstate_ctx_add_impersonate_group(ctx, "g2"), 0);
	assert_int_equal(fluxstate_ctx_set_impersonate_user(ctx, "jane"), 0);
	assert_int_equal(fluxstate_ctx_set_token(ctx, "SECRET-first"), 0);
	assert_int_equal(fluxstate_ctx_set_token(ctx, "SECRET-flag"), 0); /* replaces */
	assert_int_equal(fluxstate_ctx_set_request_timeout_ms(ctx, 1500), 0);
	assert_int_equal(fluxstate_ctx_set_disable_compression(ctx, 1), 0);
	assert_int_equal(fluxstate_ctx_load_kubeconfig_from_memory(ctx, kc, strlen(kc), NULL, NULL), 0);
	json = describe(ctx);
	assert_non_null(strstr(json, "\"impersonateUser\":\"jane\""));
	assert_non_null(strstr(json, "\"impersonateGroups\":[\"g2\"]"));
	assert_non_null(strstr(json, "\"disableCompression\":true"));
	assert_null(strstr(json, "SECRET"));
	fluxstate_free(json);
	/* after the load every connection option is refused */
	assert_int_equal(fluxstate_ctx_set_token(ctx, "SECRET-late"), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_set_insecure_skip_tls_verify(ctx, 1), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_add_impersonate_group(ctx, "g3"), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_ctx_set_request_timeout_ms(ctx, 1), FLUXSTATE_EINVAL);
	assert_non_null(strstr(fluxstate_ctx_get_error(ctx), "before the kubeconfig is loaded"));
	assert_int_equal(fluxstate_ctx_load_kubeconfig_from_memory(ctx, kc, strlen(kc), NULL, NULL), FLUXSTATE_EINVAL);
	fluxstate_ctx_free(ctx);
}

static int
load_memory(const char *text, const char *base, char **ret_json)
{
	fluxstate_ctx *ctx;
	int r;

	assert_int_equal(fluxstate_ctx_new(&ctx), 0);
	r = fluxstate_ctx_load_kubeconfig_from_memory(ctx, text, strlen(text), base, NULL);
	snprintf(kc_last.error, sizeof(kc_last.error), "%s", fluxstate_ctx_get_error(ctx));
	if (r == 0 && ret_json)
		*ret_json = describe(ctx);
	fluxstate_ctx_free(ctx);
	return r;
}

static void
test_kubeconfig_from_memory(void **state)
{
	static const char rel[] = "clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\", certificate-authority: pki/ca.crt}}]\n"
				  "users: [{name: u, user: {token: SECRET-t}}]\n"
				  "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
	static const char rel_key[] = "clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n"
				      "users: [{name: u, user: {client-certificate: /abs/c.crt, client-key: k.key}}]\n"
				      "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
	char *json = NULL, expect[512];

	(void)state;
	/* no base directory: a relative path is an error naming the field */
	assert_int_equal(load_memory(rel, NULL, NULL), FLUXSTATE_ECONFIG);
	assert_non_null(strstr(kc_last.error, "certificate-authority \"pki/ca.crt\" of cluster \"c\" is a relative path"));
	assert_int_equal(load_memory(rel_key, NULL, NULL), FLUXSTATE_ECONFIG);
	assert_non_null(strstr(kc_last.error, "client-key \"k.key\" of user \"u\""));
	/* resolved against the base directory */
	assert_int_equal(load_memory(rel, kc_dir, &json), 0);
	snprintf(expect, sizeof(expect), "\"ca\":\"%s/pki/ca.crt\"", kc_dir);
	assert_non_null(strstr(json, expect));
	fluxstate_free(json);
	/* a relative base is the caller's bug */
	assert_int_equal(load_memory(rel, "relative/dir", NULL), FLUXSTATE_EINVAL);
	/* $KUBECONFIG is not consulted, malformed data says so */
	setenv("KUBECONFIG", "/nonexistent", 1);
	assert_int_equal(load_memory("clusters: [", kc_dir, NULL), FLUXSTATE_ECONFIG);
	assert_non_null(strstr(kc_last.error, "error loading kubeconfig from memory"));
	unsetenv("KUBECONFIG");
	/* empty: no in-cluster fallback (RESTConfigFromKubeConfig does not fall back either) */
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(load_memory("", kc_dir, NULL), FLUXSTATE_ECONFIG);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	{
		fluxstate_ctx *ctx;

		assert_int_equal(fluxstate_ctx_new(&ctx), 0);
		assert_int_equal(fluxstate_ctx_load_kubeconfig_from_memory(ctx, NULL, 0, NULL, NULL), FLUXSTATE_EINVAL);
		static const char buf[] = "clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n"
					  "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"
					  "this line is garbage: [";

		/* not NUL-terminated: only len bytes are read (the garbage after them never) */
		assert_int_equal(fluxstate_ctx_load_kubeconfig_from_memory(ctx, buf, strlen(buf) - 24, NULL, "x"), 0);
		fluxstate_ctx_free(ctx);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, kc_setup, kc_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_token_override),
		T(test_client_certificate_override),
		T(test_impersonation_override),
		T(test_disable_compression_override),
		T(test_in_cluster_token_override),
		T(test_setters_validate_and_refuse_after_load),
		T(test_kubeconfig_from_memory),
	};

	return cmocka_run_group_tests_name("kubeconfig-overrides", tests, NULL, NULL);
}
