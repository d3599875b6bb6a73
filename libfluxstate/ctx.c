/*
 * The context: options, the loaded kubeconfig, the error message, and the
 * lazily created client. Detection lives in probe.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fluxstate-private.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void
curl_init_once(void)
{
	/* The library's only global state; never cleaned up, as other users
	 * of libcurl in the process may still need it. */
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

FLUXSTATE_EXPORT int
fluxstate_ctx_new(fluxstate_ctx **ret)
{
	fluxstate_ctx *ctx;

	if (!ret)
		return FLUXSTATE_EINVAL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return FLUXSTATE_ENOMEM;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return FLUXSTATE_ENOMEM;
	ctx->timeout_ms = FLUXSTATE_DEFAULT_TIMEOUT_MS;
	ctx->connect_timeout_ms = FLUXSTATE_DEFAULT_CONNECT_TIMEOUT_MS;
	*ret = ctx;
	return 0;
}

FLUXSTATE_EXPORT void
fluxstate_ctx_free(fluxstate_ctx *ctx)
{
	if (!ctx)
		return;
	fluxstate__client_free(ctx->client);
	fluxstate__conn_free(ctx->conn);
	fluxstate__kubeconfig_free(ctx->kubeconfig);
	free(ctx->opt_context);
	free(ctx->opt_cluster);
	free(ctx->opt_user);
	free(ctx->opt_server);
	free(ctx->opt_tls_server_name);
	free(ctx->serviceaccount_dir);
	free(ctx->flux_namespace);
	free(ctx);
}

FLUXSTATE_EXPORT const char *
fluxstate_ctx_get_error(const fluxstate_ctx *ctx)
{
	if (!ctx)
		return "invalid argument: context is NULL";
	return ctx->error;
}

/* Overrides only make sense before the kubeconfig is resolved. */
static int
set_override(fluxstate_ctx *ctx, char **slot, const char *value, const char *what)
{
	char *copy = NULL;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"the %s override must be set before the kubeconfig is loaded", what);
	if (value) {
		copy = strdup(value);
		if (!copy)
			return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	free(*slot);
	*slot = copy;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_context(fluxstate_ctx *ctx, const char *name)
{
	return set_override(ctx, ctx ? &ctx->opt_context : NULL, name, "context");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_cluster(fluxstate_ctx *ctx, const char *name)
{
	return set_override(ctx, ctx ? &ctx->opt_cluster : NULL, name, "cluster");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_user(fluxstate_ctx *ctx, const char *name)
{
	return set_override(ctx, ctx ? &ctx->opt_user : NULL, name, "user");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_server(fluxstate_ctx *ctx, const char *url)
{
	return set_override(ctx, ctx ? &ctx->opt_server : NULL, url, "server");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_tls_server_name(fluxstate_ctx *ctx, const char *name)
{
	return set_override(ctx, ctx ? &ctx->opt_tls_server_name : NULL, name, "tls-server-name");
}

/* RFC 1123 label, as Kubernetes requires of namespace names. */
static int
is_dns_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_flux_namespace(fluxstate_ctx *ctx, const char *ns)
{
	char *copy = NULL;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ns) {
		if (!is_dns_label(ns))
			return fluxstate__error(ctx, FLUXSTATE_EINVAL,
						"invalid namespace \"%s\": must be a DNS label (lower-case letters, digits and '-', at most 63)",
						ns);
		copy = strdup(ns);
		if (!copy)
			return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	free(ctx->flux_namespace);
	ctx->flux_namespace = copy;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_timeout_ms(fluxstate_ctx *ctx, unsigned int timeout_ms)
{
	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (timeout_ms == 0)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "timeout must be greater than 0");
	ctx->timeout_ms = timeout_ms;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_connect_timeout_ms(fluxstate_ctx *ctx, unsigned int timeout_ms)
{
	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (timeout_ms == 0)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "connect timeout must be greater than 0");
	ctx->connect_timeout_ms = timeout_ms;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_log_fn(fluxstate_ctx *ctx, fluxstate_log_fn fn, void *userdata)
{
	if (!ctx)
		return FLUXSTATE_EINVAL;
	ctx->log_fn = fn;
	ctx->log_userdata = userdata;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_load_kubeconfig(fluxstate_ctx *ctx, const char *path, const char *context)
{
	struct fluxstate__load_options opts = { 0 };
	struct fluxstate__kubeconfig *kc = NULL;
	struct fluxstate__conn *conn = NULL;
	int r;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "a kubeconfig is already loaded on this context");
	opts.explicit_path = path;
	opts.context = context ? context : ctx->opt_context;
	opts.cluster = ctx->opt_cluster;
	opts.user = ctx->opt_user;
	opts.server = ctx->opt_server;
	opts.tls_server_name = ctx->opt_tls_server_name;
	opts.serviceaccount_dir = ctx->serviceaccount_dir;

	r = fluxstate__kubeconfig_load(ctx, &opts, &kc);
	if (r < 0)
		return r;
	r = fluxstate__kubeconfig_resolve(ctx, kc, &opts, &conn);
	if (r < 0) {
		fluxstate__kubeconfig_free(kc);
		return r;
	}
	ctx->kubeconfig = kc;
	ctx->conn = conn;
	ctx->error[0] = '\0';
	return 0;
}

FLUXSTATE_EXPORT size_t
fluxstate_ctx_get_n_contexts(const fluxstate_ctx *ctx)
{
	if (!ctx || !ctx->kubeconfig)
		return 0;
	return fluxstate__kubeconfig_n_contexts(ctx->kubeconfig);
}

FLUXSTATE_EXPORT const char *
fluxstate_ctx_get_context_name(const fluxstate_ctx *ctx, size_t i)
{
	if (!ctx || !ctx->kubeconfig)
		return NULL;
	return fluxstate__kubeconfig_context_name(ctx->kubeconfig, i);
}

FLUXSTATE_EXPORT const char *
fluxstate_ctx_get_current_context(const fluxstate_ctx *ctx)
{
	if (!ctx || !ctx->conn)
		return NULL;
	return ctx->conn->context_name;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_describe_connection(fluxstate_ctx *ctx, char **ret_json)
{
	int r;

	if (!ctx || !ret_json)
		return FLUXSTATE_EINVAL;
	if (!ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "no kubeconfig loaded: call fluxstate_ctx_load_kubeconfig() first");
	r = fluxstate__conn_describe(ctx->conn, ret_json);
	if (r < 0)
		return fluxstate__error(ctx, r, "cannot describe the connection: %s", fluxstate_strerror(r));
	return 0;
}

int
fluxstate__ctx_client(fluxstate_ctx *ctx, struct fluxstate__client **ret)
{
	int r;

	if (!ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "no kubeconfig loaded: call fluxstate_ctx_load_kubeconfig() first");
	if (!ctx->client) {
		r = fluxstate__client_new(ctx, ctx->conn, &ctx->client);
		if (r < 0)
			return r;
	}
	*ret = ctx->client;
	return 0;
}
