/*
 * The resolved connection: freeing it (secrets wiped), naming its
 * authentication method, and describing it as JSON with secrets left out.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "fluxstate-private.h"

static void
strv_free(char **v, int secret)
{
	char **p;

	if (!v)
		return;
	for (p = v; *p; p++) {
		if (secret)
			fluxstate__free_secret(*p);
		else
			free(*p);
	}
	free(v);
}

static void
exec_free(struct fluxstate__exec_config *e)
{
	if (!e)
		return;
	free(e->command);
	strv_free(e->args, 0);
	strv_free(e->env, 1); /* env values may carry secrets */
	free(e->api_version);
	free(e->install_hint);
	free(e->cluster_config_json);
	free(e);
}

void
fluxstate__conn_free(struct fluxstate__conn *conn)
{
	if (!conn)
		return;
	free(conn->context_name);
	free(conn->cluster_name);
	free(conn->user_name);
	free(conn->namespace);
	free(conn->server);
	free(conn->path_prefix);
	free(conn->tls_server_name);
	free(conn->ca_pem);
	free(conn->ca_source);
	fluxstate__free_secret(conn->proxy_url); /* may hold proxy credentials */
	fluxstate__free_secret(conn->token);
	free(conn->token_file);
	fluxstate__free_secret(conn->username);
	fluxstate__free_secret(conn->password);
	fluxstate__free_secret_n(conn->client_cert_pem, conn->client_cert_pem_len);
	fluxstate__free_secret_n(conn->client_key_pem, conn->client_key_pem_len);
	free(conn->client_cert_source);
	exec_free(conn->exec);
	free(conn->auth_provider);
	fluxstate__free_secret(conn->oidc_id_token);
	free(conn->impersonate_user);
	free(conn->impersonate_uid);
	strv_free(conn->impersonate_groups, 0);
	strv_free(conn->impersonate_extra, 0);
	free(conn);
}

const char *
fluxstate__conn_auth_method(const struct fluxstate__conn *conn)
{
	int bearer, cert;

	if (!conn)
		return "none";
	bearer = conn->token || conn->token_file;
	cert = conn->client_cert_pem != NULL;
	if (conn->token_file && !cert)
		return "token-file";
	if (bearer && cert)
		return "token+client-certificate";
	if (bearer)
		return "token";
	if (conn->has_basic)
		return "basic";
	if (cert)
		return "client-certificate";
	/* exec only runs when nothing static is configured (client-go) */
	if (conn->exec)
		return "exec";
	if (conn->oidc_id_token)
		return "oidc";
	return "none";
}

/* JSON string (or null) appended to @b; the value is never a secret. */
static int
put_str(struct fluxstate__buf *b, const char *key, const char *value, int *first)
{
	const char *p;
	int r;

	r = fluxstate__buf_appendf(b, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
	if (r < 0)
		return r;
	if (!value)
		return fluxstate__buf_append(b, "null", 4);
	r = fluxstate__buf_append(b, "\"", 1);
	for (p = value; r == 0 && *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\')
			r = fluxstate__buf_appendf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			r = fluxstate__buf_appendf(b, "\\u%04x", c);
		else
			r = fluxstate__buf_append(b, p, 1);
	}
	return r < 0 ? r : fluxstate__buf_append(b, "\"", 1);
}

static int
put_bool(struct fluxstate__buf *b, const char *key, int value, int *first)
{
	int r = fluxstate__buf_appendf(b, "%s\"%s\":%s", *first ? "" : ",", key, value ? "true" : "false");

	*first = 0;
	return r;
}

static int
put_strv(struct fluxstate__buf *b, const char *key, char *const *v, int *first)
{
	int r = fluxstate__buf_appendf(b, "%s\"%s\":[", *first ? "" : ",", key);
	int f = 1;

	*first = 0;
	for (; r == 0 && v && *v; v++) {
		r = f ? 0 : fluxstate__buf_append(b, ",", 1);
		f = 0;
		if (r == 0) {
			int dummy = 1;

			/* reuse put_str's escaping with an empty key prefix */
			struct fluxstate__buf tmp = { 0 };

			r = put_str(&tmp, "", *v, &dummy);
			if (r == 0)
				r = fluxstate__buf_append(b, tmp.data + 3, tmp.len - 3); /* skip `"":` */
			fluxstate__buf_clear(&tmp);
		}
	}
	return r < 0 ? r : fluxstate__buf_append(b, "]", 1);
}

int
fluxstate__conn_describe(const struct fluxstate__conn *conn, char **ret_json)
{
	struct fluxstate__buf b = { 0 };
	char *proxy = NULL;
	int first = 1, r;
	int https;

	if (!conn || !ret_json)
		return FLUXSTATE_EINVAL;
	https = fluxstate__has_prefix(conn->server, "https://");
	if (conn->proxy_url && !(proxy = fluxstate__url_redacted(conn->proxy_url)))
		return FLUXSTATE_ENOMEM;
	r = fluxstate__buf_append(&b, "{", 1);
	if (r == 0)
		r = put_str(&b, "context", conn->context_name, &first);
	if (r == 0)
		r = put_str(&b, "cluster", conn->cluster_name, &first);
	if (r == 0)
		r = put_str(&b, "user", conn->user_name, &first);
	if (r == 0)
		r = put_str(&b, "namespace", conn->namespace, &first);
	if (r == 0)
		r = put_bool(&b, "inCluster", conn->in_cluster, &first);
	if (r == 0)
		r = put_str(&b, "server", conn->server, &first);
	if (r == 0)
		r = put_str(&b, "pathPrefix", conn->path_prefix, &first);
	if (r == 0)
		r = put_str(&b, "tlsServerName", conn->tls_server_name, &first);
	if (r == 0)
		r = put_bool(&b, "insecureSkipTlsVerify", conn->insecure_skip_tls_verify, &first);
	if (r == 0)
		r = put_str(&b, "ca", conn->ca_source ? conn->ca_source : https ? "system roots" : NULL, &first);
	if (r == 0)
		r = put_str(&b, "proxyUrl", proxy, &first);
	if (r == 0)
		r = put_bool(&b, "disableCompression", conn->disable_compression, &first);
	if (r == 0)
		r = put_str(&b, "auth", fluxstate__conn_auth_method(conn), &first);
	/* client-go never sends credentials to a plain-http server */
	if (r == 0)
		r = put_bool(&b, "credentialsSent", https && strcmp(fluxstate__conn_auth_method(conn), "none") != 0,
			     &first);
	if (r == 0 && conn->token_file)
		r = put_str(&b, "tokenFile", conn->token_file, &first);
	if (r == 0 && conn->has_basic)
		r = put_str(&b, "username", conn->username, &first);
	if (r == 0 && conn->client_cert_source)
		r = put_str(&b, "clientCertificate", conn->client_cert_source, &first);
	if (r == 0 && conn->exec) {
		r = put_str(&b, "execCommand", conn->exec->command, &first);
		if (r == 0)
			r = put_str(&b, "execApiVersion", conn->exec->api_version, &first);
	}
	if (r == 0 && conn->impersonate_user) {
		r = put_str(&b, "impersonateUser", conn->impersonate_user, &first);
		if (r == 0 && conn->impersonate_uid)
			r = put_str(&b, "impersonateUid", conn->impersonate_uid, &first);
		if (r == 0 && conn->impersonate_groups)
			r = put_strv(&b, "impersonateGroups", conn->impersonate_groups, &first);
	}
	if (r == 0)
		r = fluxstate__buf_append(&b, "}", 1);
	free(proxy);
	if (r < 0) {
		fluxstate__buf_clear(&b);
		return FLUXSTATE_ENOMEM;
	}
	*ret_json = fluxstate__buf_steal(&b);
	return *ret_json ? 0 : FLUXSTATE_ENOMEM;
}
