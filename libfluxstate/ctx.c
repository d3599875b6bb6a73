/*
 * The context: options, the loaded kubeconfig, the error message, and the
 * lazily created client. Detection lives in probe.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	/* fluxstate_ctx_cancel() may run in a signal handler: it can only write() */
	if (pipe2(ctx->cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(ctx);
		return FLUXSTATE_ENOMEM;
	}
	*ret = ctx;
	return 0;
}

static void
clear_groups(fluxstate_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_opt_as_groups; i++)
		free(ctx->opt_as_groups[i]);
	free(ctx->opt_as_groups);
	ctx->opt_as_groups = NULL;
	ctx->n_opt_as_groups = 0;
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
	free(ctx->opt_certificate_authority);
	free(ctx->opt_client_certificate);
	free(ctx->opt_client_key);
	fluxstate__free_secret(ctx->opt_token);
	free(ctx->opt_as);
	free(ctx->opt_as_uid);
	clear_groups(ctx);
	close(ctx->cancel_pipe[0]);
	close(ctx->cancel_pipe[1]);
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

/* A path option: non-empty when given (kubectl ignores an empty flag value too). */
static int
set_path_option(fluxstate_ctx *ctx, char **slot, const char *value, const char *what)
{
	if (value && !*value)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "the %s option must not be empty (pass NULL to clear it)",
					what);
	return set_override(ctx, slot, value, what);
}

/* Header values: no line breaks or control characters (Go's httpguts). */
static int
header_safe(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* A flag option: only before the kubeconfig is resolved. */
static int
set_flag_option(fluxstate_ctx *ctx, int *slot, int value, const char *what)
{
	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"the %s option must be set before the kubeconfig is loaded", what);
	*slot = value != 0;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_insecure_skip_tls_verify(fluxstate_ctx *ctx, int insecure)
{
	return set_flag_option(ctx, ctx ? &ctx->opt_insecure : NULL, insecure, "insecure-skip-tls-verify");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_certificate_authority(fluxstate_ctx *ctx, const char *path)
{
	return set_path_option(ctx, ctx ? &ctx->opt_certificate_authority : NULL, path, "certificate-authority");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_client_certificate(fluxstate_ctx *ctx, const char *path)
{
	return set_path_option(ctx, ctx ? &ctx->opt_client_certificate : NULL, path, "client-certificate");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_client_key(fluxstate_ctx *ctx, const char *path)
{
	return set_path_option(ctx, ctx ? &ctx->opt_client_key : NULL, path, "client-key");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_token(fluxstate_ctx *ctx, const char *token)
{
	if (!ctx)
		return FLUXSTATE_EINVAL;
	/* never quoted: it is a secret */
	if (token && (!*token || !header_safe(token)))
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid token: %s",
					*token ? "it contains a line break or control character"
					       : "must not be empty (pass NULL to clear it)");
	if (!ctx->conn) {
		fluxstate__free_secret(ctx->opt_token); /* wiped, not just freed */
		ctx->opt_token = NULL;
	}
	return set_override(ctx, &ctx->opt_token, token, "token");
}

/* Impersonation values travel in headers. */
static int
set_header_option(fluxstate_ctx *ctx, char **slot, const char *value, const char *what)
{
	if (ctx && value && (!*value || !header_safe(value)))
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid %s \"%s\": %s", what, value,
					*value ? "it contains a line break or control character" : "must not be empty");
	return set_override(ctx, slot, value, what);
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_impersonate_user(fluxstate_ctx *ctx, const char *user)
{
	return set_header_option(ctx, ctx ? &ctx->opt_as : NULL, user, "impersonated user");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_impersonate_uid(fluxstate_ctx *ctx, const char *uid)
{
	return set_header_option(ctx, ctx ? &ctx->opt_as_uid : NULL, uid, "impersonated uid");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_add_impersonate_group(fluxstate_ctx *ctx, const char *group)
{
	char **v, *copy = NULL;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"the impersonated group option must be set before the kubeconfig is loaded");
	if (!group) {
		clear_groups(ctx);
		return 0;
	}
	if (!*group || !header_safe(group))
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid impersonated group \"%s\": %s", group,
					*group ? "it contains a line break or control character" : "must not be empty");
	v = realloc(ctx->opt_as_groups, (ctx->n_opt_as_groups + 2) * sizeof(*v));
	if (v)
		ctx->opt_as_groups = v;
	if (!v || !(copy = strdup(group)))
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	v[ctx->n_opt_as_groups++] = copy;
	v[ctx->n_opt_as_groups] = NULL;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_request_timeout_ms(fluxstate_ctx *ctx, unsigned int timeout_ms)
{
	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL,
					"the request-timeout option must be set before the kubeconfig is loaded");
	ctx->request_timeout_ms = timeout_ms;
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_set_disable_compression(fluxstate_ctx *ctx, int disable)
{
	return set_flag_option(ctx, ctx ? &ctx->opt_disable_compression : NULL, disable, "disable-compression");
}

/* RFC 1123 label, as Kubernetes requires of namespace names. */
int
fluxstate__is_dns_label(const char *s)
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
		if (!fluxstate__is_dns_label(ns))
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

/* Load (files or @opts->data) and resolve with every override set on @ctx. */
static int
load(fluxstate_ctx *ctx, struct fluxstate__load_options *opts, const char *context)
{
	struct fluxstate__kubeconfig *kc = NULL;
	struct fluxstate__conn *conn = NULL;
	int r;

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (ctx->conn)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "a kubeconfig is already loaded on this context");
	opts->context = context ? context : ctx->opt_context;
	opts->cluster = ctx->opt_cluster;
	opts->user = ctx->opt_user;
	opts->server = ctx->opt_server;
	opts->tls_server_name = ctx->opt_tls_server_name;
	opts->serviceaccount_dir = ctx->serviceaccount_dir;
	opts->insecure_skip_tls_verify = ctx->opt_insecure;
	opts->certificate_authority = ctx->opt_certificate_authority;
	opts->disable_compression = ctx->opt_disable_compression;
	opts->client_certificate = ctx->opt_client_certificate;
	opts->client_key = ctx->opt_client_key;
	opts->token = ctx->opt_token;
	opts->impersonate_user = ctx->opt_as;
	opts->impersonate_uid = ctx->opt_as_uid;
	opts->impersonate_groups = ctx->opt_as_groups;

	r = fluxstate__kubeconfig_load(ctx, opts, &kc);
	if (r < 0)
		return r;
	r = fluxstate__kubeconfig_resolve(ctx, kc, opts, &conn);
	if (r < 0) {
		fluxstate__kubeconfig_free(kc);
		return r;
	}
	ctx->kubeconfig = kc;
	ctx->conn = conn;
	ctx->error[0] = '\0';
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_ctx_load_kubeconfig(fluxstate_ctx *ctx, const char *path, const char *context)
{
	struct fluxstate__load_options opts = { 0 };

	opts.explicit_path = path;
	return load(ctx, &opts, context);
}

FLUXSTATE_EXPORT int
fluxstate_ctx_load_kubeconfig_from_memory(fluxstate_ctx *ctx, const char *data, size_t len, const char *base_dir,
					  const char *context)
{
	struct fluxstate__load_options opts = { 0 };

	if (!ctx)
		return FLUXSTATE_EINVAL;
	if (!data)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: kubeconfig data is NULL");
	if (base_dir && base_dir[0] != '/')
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument: base directory \"%s\" is not absolute",
					base_dir);
	opts.data = data;
	opts.data_len = len;
	opts.base_dir = base_dir;
	return load(ctx, &opts, context);
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

FLUXSTATE_EXPORT void
fluxstate_ctx_cancel(fluxstate_ctx *ctx)
{
	int saved;
	ssize_t n;

	if (!ctx)
		return;
	/* async-signal-safe: an atomic store and write(2); errno kept for the interrupted code */
	saved = errno;
	__atomic_store_n(&ctx->cancel_requested, 1, __ATOMIC_SEQ_CST);
	n = write(ctx->cancel_pipe[1], "x", 1); /* EAGAIN: already readable, which is all we need */
	(void)n;
	errno = saved;
}

int
fluxstate__ctx_canceled(const fluxstate_ctx *ctx)
{
	return __atomic_load_n(&ctx->cancel_requested, __ATOMIC_SEQ_CST) != 0;
}

int
fluxstate__ctx_cancel_fd(const fluxstate_ctx *ctx)
{
	return ctx->cancel_pipe[0];
}

int
fluxstate__ctx_take_cancel(fluxstate_ctx *ctx)
{
	char buf[64];
	int was = __atomic_exchange_n(&ctx->cancel_requested, 0, __ATOMIC_SEQ_CST);

	while (read(ctx->cancel_pipe[0], buf, sizeof(buf)) > 0)
		;
	return was;
}

/* After a wait woke on the cancel fd: drop a byte left by a request already consumed. */
void
fluxstate__ctx_cancel_woke(fluxstate_ctx *ctx)
{
	char buf[64];

	if (!fluxstate__ctx_canceled(ctx))
		while (read(ctx->cancel_pipe[0], buf, sizeof(buf)) > 0)
			;
}

int
fluxstate__ctx_begin_op(fluxstate_ctx *ctx)
{
	if (fluxstate__ctx_take_cancel(ctx))
		return fluxstate__error(ctx, FLUXSTATE_ECANCELED, "canceled before it started");
	return 0;
}

int
fluxstate__ctx_end_op(fluxstate_ctx *ctx, int rc)
{
	if (rc == FLUXSTATE_ECANCELED)
		fluxstate__ctx_take_cancel(ctx);
	return rc;
}
