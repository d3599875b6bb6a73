/*
 * kubeconfig loading with client-go's rules (tools/clientcmd): which files,
 * how they decode (YAML 1.1 -> JSON -> typed v1.Config), how they merge,
 * relative paths, context/cluster/user selection, overrides, validation
 * with client-go's messages, and the in-cluster fallback. The reference is
 * docs/kubeconfig-parity.md (rules, sources) and its tests/kubeconfig corpus.
 *
 * Messages never contain token, password or key material.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fluxstate-private.h"
#include "yamlnode.h"

#define KUBECONFIG_MAX_BYTES (16u << 20)
#define EXEC_EXTENSION_NAME "client.authentication.k8s.io/exec"
#define EXEC_V1 "client.authentication.k8s.io/v1"
#define EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"
#define EXEC_V1ALPHA1 "client.authentication.k8s.io/v1alpha1"

struct kv {
	char *key;
	char *value;
};

struct extra {
	char *key;
	char **values;
	size_t n;
};

struct kc_exec {
	char *command;
	char **args;
	size_t n_args;
	struct kv *env;         /* name, value */
	size_t n_env;
	char *api_version;
	char *install_hint;
	int provide_cluster_info;
	char *interactive_mode;
};

struct kc_cluster {
	char *name;
	char *origin;
	char *server;
	char *tls_server_name;
	int insecure;
	char *ca_file;
	unsigned char *ca_data;
	size_t ca_data_len;
	char *proxy_url;
	int disable_compression;
	char *exec_ext_json;    /* extensions[client.authentication.k8s.io/exec].extension */
};

struct kc_user {
	char *name;
	char *origin;
	char *cert_file;
	unsigned char *cert_data;
	size_t cert_data_len;
	char *key_file;
	unsigned char *key_data;
	size_t key_data_len;
	char *token;
	char *token_file;
	char *as;
	char *as_uid;
	char **as_groups;
	size_t n_groups;
	struct extra *extra;
	size_t n_extra;
	char *username;
	char *password;
	int has_auth_provider;
	char *ap_name;
	struct kv *ap_config;
	size_t n_ap_config;
	struct kc_exec *exec;
};

struct kc_context {
	char *name;
	char *origin;
	char *cluster;
	char *user;
	char *namespace;
};

struct fluxstate__kubeconfig {
	struct kc_cluster *clusters;
	size_t n_clusters;
	struct kc_user *users;
	size_t n_users;
	struct kc_context *contexts;
	size_t n_contexts;
	char *current_context;
};

/* ------------------------------------------------------------------------
 * small helpers
 * ------------------------------------------------------------------------ */

static int
push(void **arr, size_t *n, size_t elem)
{
	void *p;

	/* grow one element at a time from a power-of-two capacity */
	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? *n * 2 : 4;

		p = realloc(*arr, cap * elem);
		if (!p)
			return -1;
		*arr = p;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	(*n)++;
	return 0;
}

static int
empty(const char *s)
{
	return !s || !*s;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void
exec_free(struct kc_exec *e)
{
	size_t i;

	if (!e)
		return;
	free(e->command);
	strv_free(e->args, e->n_args);
	for (i = 0; i < e->n_env; i++) {
		free(e->env[i].key);
		fluxstate__free_secret(e->env[i].value);
	}
	free(e->env);
	free(e->api_version);
	free(e->install_hint);
	free(e->interactive_mode);
	free(e);
}

static void
cluster_clear(struct kc_cluster *c)
{
	free(c->name);
	free(c->origin);
	free(c->server);
	free(c->tls_server_name);
	free(c->ca_file);
	free(c->ca_data);
	free(c->proxy_url);
	free(c->exec_ext_json);
}

static void
user_clear(struct kc_user *u)
{
	size_t i;

	free(u->name);
	free(u->origin);
	free(u->cert_file);
	fluxstate__free_secret_n(u->cert_data, u->cert_data_len);
	free(u->key_file);
	fluxstate__free_secret_n(u->key_data, u->key_data_len);
	fluxstate__free_secret(u->token);
	free(u->token_file);
	free(u->as);
	free(u->as_uid);
	strv_free(u->as_groups, u->n_groups);
	for (i = 0; i < u->n_extra; i++) {
		free(u->extra[i].key);
		strv_free(u->extra[i].values, u->extra[i].n);
	}
	free(u->extra);
	free(u->username);
	fluxstate__free_secret(u->password);
	free(u->ap_name);
	for (i = 0; i < u->n_ap_config; i++) {
		free(u->ap_config[i].key);
		fluxstate__free_secret(u->ap_config[i].value);
	}
	free(u->ap_config);
	exec_free(u->exec);
}

static void
context_clear(struct kc_context *c)
{
	free(c->name);
	free(c->origin);
	free(c->cluster);
	free(c->user);
	free(c->namespace);
}

void
fluxstate__kubeconfig_free(struct fluxstate__kubeconfig *kc)
{
	size_t i;

	if (!kc)
		return;
	for (i = 0; i < kc->n_clusters; i++)
		cluster_clear(&kc->clusters[i]);
	for (i = 0; i < kc->n_users; i++)
		user_clear(&kc->users[i]);
	for (i = 0; i < kc->n_contexts; i++)
		context_clear(&kc->contexts[i]);
	free(kc->clusters);
	free(kc->users);
	free(kc->contexts);
	free(kc->current_context);
	free(kc);
}

size_t
fluxstate__kubeconfig_n_contexts(const struct fluxstate__kubeconfig *kc)
{
	return kc ? kc->n_contexts : 0;
}

const char *
fluxstate__kubeconfig_context_name(const struct fluxstate__kubeconfig *kc, size_t i)
{
	if (!kc || i >= kc->n_contexts)
		return NULL;
	return kc->contexts[i].name;
}

/* ------------------------------------------------------------------------
 * decoding the JSON value into v1.Config, with encoding/json's errors
 * ------------------------------------------------------------------------ */

struct dec {
	char *error;    /* first error, as encoding/json keeps the first one */
	int enomem;
};

static const char *
json_kind(const struct fluxstate__ynode *v)
{
	switch (v->type) {
	case FLUXSTATE__Y_BOOL:
		return "bool";
	case FLUXSTATE__Y_NUMBER:
		return "number";
	case FLUXSTATE__Y_STRING:
		return "string";
	case FLUXSTATE__Y_ARRAY:
		return "array";
	case FLUXSTATE__Y_OBJECT:
		return "object";
	default:
		return "null";
	}
}

static int
dec_fail(struct dec *d, const char *fmt, ...) FLUXSTATE_PRINTF(2, 3);

static int
dec_fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->error && !d->enomem) {
		va_start(ap, fmt);
		if (vasprintf(&d->error, fmt, ap) < 0) {
			d->error = NULL;
			d->enomem = 1;
		}
		va_end(ap);
	}
	return -1;
}

static int
dec_oom(struct dec *d)
{
	d->enomem = 1;
	return -1;
}

static int
type_error(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path, const char *gotype)
{
	return dec_fail(d, "json: cannot unmarshal %s into Go struct field %s.%s of type %s", json_kind(v), sname, path,
			gotype);
}

static int
is_null(const struct fluxstate__ynode *v)
{
	return !v || v->type == FLUXSTATE__Y_NULL;
}

static int
dec_string(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path, char **out)
{
	char *s;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_STRING)
		return type_error(d, v, sname, path, "string");
	if (strlen(v->text) != v->len)
		return dec_fail(d, "field %s contains a NUL byte", path);
	s = strdup(v->text);
	if (!s)
		return dec_oom(d);
	fluxstate__free_secret(*out);
	*out = s;
	return 0;
}

static int
dec_bool(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path, int *out)
{
	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_BOOL)
		return type_error(d, v, sname, path, "bool");
	*out = v->boolean;
	return 0;
}

/* []byte: standard base64 with padding; "" is absent. */
static int
dec_bytes(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path, unsigned char **out,
	  size_t *out_len)
{
	unsigned char *data = NULL;
	size_t len = 0, bad = 0;
	int r;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_STRING)
		return type_error(d, v, sname, path, "[]uint8");
	r = fluxstate__base64_decode(v->text, v->len, &data, &len, &bad);
	if (r == FLUXSTATE_ENOMEM)
		return dec_oom(d);
	if (r < 0)
		return dec_fail(d, "illegal base64 data at input byte %zu", bad);
	fluxstate__free_secret_n(*out, *out_len);
	if (len == 0) {
		free(data);
		data = NULL;
	}
	*out = data;
	*out_len = len;
	return 0;
}

static int
dec_strings(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path, char ***out,
	    size_t *n)
{
	size_t i;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_ARRAY)
		return type_error(d, v, sname, path, "[]string");
	strv_free(*out, *n);
	*out = NULL;
	*n = 0;
	for (i = 0; i < v->n; i++) {
		char *s = NULL;

		if (dec_string(d, v->items[i], sname, path, &s) < 0)
			return -1;
		if (!s && !(s = strdup("")))
			return dec_oom(d);
		if (push((void **)out, n, sizeof(**out)) < 0) {
			free(s);
			return dec_oom(d);
		}
		(*out)[*n - 1] = s;
	}
	return 0;
}

struct named_ext {
	char *name;
	char *json;
};

/* []NamedExtension; keeps only what @want names (or nothing). */
static int
dec_extensions(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path,
	       struct named_ext **out, size_t *n)
{
	char p[128];
	size_t i, j;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_ARRAY)
		return type_error(d, v, sname, path, "[]v1.NamedExtension");
	for (i = 0; i < v->n; i++) {
		const struct fluxstate__ynode *e = v->items[i];
		struct named_ext *x;

		if (is_null(e)) {
			if (push((void **)out, n, sizeof(**out)) < 0)
				return dec_oom(d);
			continue;
		}
		if (e->type != FLUXSTATE__Y_OBJECT)
			return type_error(d, e, sname, path, "v1.NamedExtension");
		if (push((void **)out, n, sizeof(**out)) < 0)
			return dec_oom(d);
		x = &(*out)[*n - 1];
		for (j = 0; j < e->n; j++) {
			const char *k = e->members[j].key;
			const struct fluxstate__ynode *val = e->members[j].value;

			if (strcmp(k, "name") == 0) {
				snprintf(p, sizeof(p), "%s.name", path);
				if (dec_string(d, val, "NamedExtension", p, &x->name) < 0)
					return -1;
			} else if (strcmp(k, "extension") == 0 && !is_null(val)) {
				free(x->json);
				x->json = fluxstate__ynode_to_json(val);
				if (!x->json)
					return dec_oom(d);
			}
		}
	}
	return 0;
}

static void
exts_free(struct named_ext *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].json);
	}
	free(e);
}

/* The v1 -> internal conversion: names must be unique within a list. */
static int
check_ext_names(struct dec *d, const struct named_ext *e, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(e[i].name ? e[i].name : "", e[j].name ? e[j].name : "") == 0)
				return dec_fail(d,
						"error converting *[]NamedExtension into *map[string]runtime.Object: duplicate name \"%s\" in list",
						e[i].name ? e[i].name : "");
	return 0;
}

/* Decode an extensions list, check its names, keep the exec one for @ret_exec. */
static int
extensions_field(struct dec *d, const struct fluxstate__ynode *v, const char *sname, const char *path,
		 char **ret_exec, struct named_ext **ret_list, size_t *ret_n)
{
	struct named_ext *e = NULL;
	size_t n = 0, i;
	int r;

	r = dec_extensions(d, v, sname, path, &e, &n);
	if (r == 0 && ret_exec) {
		for (i = 0; i < n; i++)
			if (fluxstate__streq(e[i].name, EXEC_EXTENSION_NAME)) {
				free(*ret_exec);
				*ret_exec = e[i].json;
				e[i].json = NULL;
			}
	}
	if (r == 0 && ret_list) {
		*ret_list = e;
		*ret_n = n;
		return 0;
	}
	exts_free(e, n);
	return r;
}

static int
dec_exec(struct dec *d, const struct fluxstate__ynode *v, struct kc_exec **out)
{
	const char *S = "ExecConfig";
	struct kc_exec *e;
	size_t i, j;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_OBJECT)
		return type_error(d, v, "AuthInfo", "users.user.exec", "v1.ExecConfig");
	if (!*out && !(*out = calloc(1, sizeof(**out))))
		return dec_oom(d);
	e = *out;
	for (i = 0; i < v->n; i++) {
		const char *k = v->members[i].key;
		const struct fluxstate__ynode *val = v->members[i].value;
		int r = 0;

		if (strcmp(k, "command") == 0)
			r = dec_string(d, val, S, "users.user.exec.command", &e->command);
		else if (strcmp(k, "args") == 0)
			r = dec_strings(d, val, S, "users.user.exec.args", &e->args, &e->n_args);
		else if (strcmp(k, "apiVersion") == 0)
			r = dec_string(d, val, S, "users.user.exec.apiVersion", &e->api_version);
		else if (strcmp(k, "installHint") == 0)
			r = dec_string(d, val, S, "users.user.exec.installHint", &e->install_hint);
		else if (strcmp(k, "provideClusterInfo") == 0)
			r = dec_bool(d, val, S, "users.user.exec.provideClusterInfo", &e->provide_cluster_info);
		else if (strcmp(k, "interactiveMode") == 0)
			r = dec_string(d, val, S, "users.user.exec.interactiveMode", &e->interactive_mode);
		else if (strcmp(k, "env") == 0 && !is_null(val)) {
			if (val->type != FLUXSTATE__Y_ARRAY)
				return type_error(d, val, S, "users.user.exec.env", "[]v1.ExecEnvVar");
			for (j = 0; j < e->n_env; j++) {
				free(e->env[j].key);
				fluxstate__free_secret(e->env[j].value);
			}
			e->n_env = 0;
			for (j = 0; j < val->n; j++) {
				const struct fluxstate__ynode *ev = val->items[j];
				struct kv *kv;

				if (!is_null(ev) && ev->type != FLUXSTATE__Y_OBJECT)
					return type_error(d, ev, S, "users.user.exec.env", "v1.ExecEnvVar");
				if (push((void **)&e->env, &e->n_env, sizeof(*e->env)) < 0)
					return dec_oom(d);
				kv = &e->env[e->n_env - 1];
				if (dec_string(d, fluxstate__ynode_get(ev, "name"), "ExecEnvVar", "users.user.exec.env.name",
					       &kv->key) < 0 ||
				    dec_string(d, fluxstate__ynode_get(ev, "value"), "ExecEnvVar",
					       "users.user.exec.env.value", &kv->value) < 0)
					return -1;
			}
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

static int
dec_user(struct dec *d, const struct fluxstate__ynode *v, struct kc_user *u)
{
	const char *S = "AuthInfo";
	size_t i, j;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_OBJECT)
		return type_error(d, v, "NamedAuthInfo", "users.user", "v1.AuthInfo");
	for (i = 0; i < v->n; i++) {
		const char *k = v->members[i].key;
		const struct fluxstate__ynode *val = v->members[i].value;
		int r = 0;

		if (strcmp(k, "client-certificate") == 0)
			r = dec_string(d, val, S, "users.user.client-certificate", &u->cert_file);
		else if (strcmp(k, "client-certificate-data") == 0)
			r = dec_bytes(d, val, S, "users.user.client-certificate-data", &u->cert_data, &u->cert_data_len);
		else if (strcmp(k, "client-key") == 0)
			r = dec_string(d, val, S, "users.user.client-key", &u->key_file);
		else if (strcmp(k, "client-key-data") == 0)
			r = dec_bytes(d, val, S, "users.user.client-key-data", &u->key_data, &u->key_data_len);
		else if (strcmp(k, "token") == 0)
			r = dec_string(d, val, S, "users.user.token", &u->token);
		else if (strcmp(k, "tokenFile") == 0)
			r = dec_string(d, val, S, "users.user.tokenFile", &u->token_file);
		else if (strcmp(k, "as") == 0)
			r = dec_string(d, val, S, "users.user.as", &u->as);
		else if (strcmp(k, "as-uid") == 0)
			r = dec_string(d, val, S, "users.user.as-uid", &u->as_uid);
		else if (strcmp(k, "as-groups") == 0)
			r = dec_strings(d, val, S, "users.user.as-groups", &u->as_groups, &u->n_groups);
		else if (strcmp(k, "username") == 0)
			r = dec_string(d, val, S, "users.user.username", &u->username);
		else if (strcmp(k, "password") == 0)
			r = dec_string(d, val, S, "users.user.password", &u->password);
		else if (strcmp(k, "exec") == 0)
			r = dec_exec(d, val, &u->exec);
		else if (strcmp(k, "extensions") == 0)
			r = extensions_field(d, val, S, "users.user.extensions", NULL, NULL, NULL);
		else if (strcmp(k, "as-user-extra") == 0 && !is_null(val)) {
			if (val->type != FLUXSTATE__Y_OBJECT)
				return type_error(d, val, S, "users.user.as-user-extra", "map[string][]string");
			for (j = 0; j < val->n; j++) {
				struct extra *x;

				if (push((void **)&u->extra, &u->n_extra, sizeof(*u->extra)) < 0)
					return dec_oom(d);
				x = &u->extra[u->n_extra - 1];
				if (!(x->key = strdup(val->members[j].key)))
					return dec_oom(d);
				if (dec_strings(d, val->members[j].value, S, "users.user.as-user-extra", &x->values, &x->n) < 0)
					return -1;
			}
		} else if (strcmp(k, "auth-provider") == 0 && !is_null(val)) {
			const struct fluxstate__ynode *cfg;

			if (val->type != FLUXSTATE__Y_OBJECT)
				return type_error(d, val, S, "users.user.auth-provider", "v1.AuthProviderConfig");
			u->has_auth_provider = 1;
			cfg = fluxstate__ynode_get(val, "config");
			/* "config" sorts before "name" */
			if (!is_null(cfg)) {
				if (cfg->type != FLUXSTATE__Y_OBJECT)
					return type_error(d, cfg, "AuthProviderConfig", "users.user.auth-provider.config",
							  "map[string]string");
				for (j = 0; j < cfg->n; j++) {
					struct kv *kv;

					if (push((void **)&u->ap_config, &u->n_ap_config, sizeof(*u->ap_config)) < 0)
						return dec_oom(d);
					kv = &u->ap_config[u->n_ap_config - 1];
					if (!(kv->key = strdup(cfg->members[j].key)))
						return dec_oom(d);
					if (dec_string(d, cfg->members[j].value, "AuthProviderConfig",
						       "users.user.auth-provider.config", &kv->value) < 0)
						return -1;
				}
			}
			if (dec_string(d, fluxstate__ynode_get(val, "name"), "AuthProviderConfig",
				       "users.user.auth-provider.name", &u->ap_name) < 0)
				return -1;
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

static int
dec_cluster(struct dec *d, const struct fluxstate__ynode *v, struct kc_cluster *c)
{
	const char *S = "Cluster";
	size_t i;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_OBJECT)
		return type_error(d, v, "NamedCluster", "clusters.cluster", "v1.Cluster");
	for (i = 0; i < v->n; i++) {
		const char *k = v->members[i].key;
		const struct fluxstate__ynode *val = v->members[i].value;
		int r = 0;

		if (strcmp(k, "server") == 0)
			r = dec_string(d, val, S, "clusters.cluster.server", &c->server);
		else if (strcmp(k, "tls-server-name") == 0)
			r = dec_string(d, val, S, "clusters.cluster.tls-server-name", &c->tls_server_name);
		else if (strcmp(k, "insecure-skip-tls-verify") == 0)
			r = dec_bool(d, val, S, "clusters.cluster.insecure-skip-tls-verify", &c->insecure);
		else if (strcmp(k, "certificate-authority") == 0)
			r = dec_string(d, val, S, "clusters.cluster.certificate-authority", &c->ca_file);
		else if (strcmp(k, "certificate-authority-data") == 0)
			r = dec_bytes(d, val, S, "clusters.cluster.certificate-authority-data", &c->ca_data,
				      &c->ca_data_len);
		else if (strcmp(k, "proxy-url") == 0)
			r = dec_string(d, val, S, "clusters.cluster.proxy-url", &c->proxy_url);
		else if (strcmp(k, "disable-compression") == 0)
			r = dec_bool(d, val, S, "clusters.cluster.disable-compression", &c->disable_compression);
		else if (strcmp(k, "extensions") == 0)
			r = extensions_field(d, val, S, "clusters.cluster.extensions", &c->exec_ext_json, NULL, NULL);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int
dec_context(struct dec *d, const struct fluxstate__ynode *v, struct kc_context *c)
{
	const char *S = "Context";
	size_t i;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_OBJECT)
		return type_error(d, v, "NamedContext", "contexts.context", "v1.Context");
	for (i = 0; i < v->n; i++) {
		const char *k = v->members[i].key;
		const struct fluxstate__ynode *val = v->members[i].value;
		int r = 0;

		if (strcmp(k, "cluster") == 0)
			r = dec_string(d, val, S, "contexts.context.cluster", &c->cluster);
		else if (strcmp(k, "user") == 0)
			r = dec_string(d, val, S, "contexts.context.user", &c->user);
		else if (strcmp(k, "namespace") == 0)
			r = dec_string(d, val, S, "contexts.context.namespace", &c->namespace);
		else if (strcmp(k, "extensions") == 0)
			r = extensions_field(d, val, S, "contexts.context.extensions", NULL, NULL, NULL);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* One named list (clusters/users/contexts): each item {name, <inner>}. */
enum list_kind { L_CLUSTERS, L_USERS, L_CONTEXTS };

static int
dec_list(struct dec *d, const struct fluxstate__ynode *v, enum list_kind kind, struct fluxstate__kubeconfig *kc)
{
	static const char *const field[] = { "clusters", "users", "contexts" };
	static const char *const inner[] = { "cluster", "user", "context" };
	static const char *const sname[] = { "NamedCluster", "NamedAuthInfo", "NamedContext" };
	static const char *const gotype[] = { "v1.NamedCluster", "v1.NamedAuthInfo", "v1.NamedContext" };
	static const char *const slice[] = { "[]v1.NamedCluster", "[]v1.NamedAuthInfo", "[]v1.NamedContext" };
	char path[64];
	size_t i, j;

	if (is_null(v))
		return 0;
	if (v->type != FLUXSTATE__Y_ARRAY)
		return type_error(d, v, "Config", field[kind], slice[kind]);
	for (i = 0; i < v->n; i++) {
		const struct fluxstate__ynode *item = v->items[i];
		char **name;
		int r;

		if (!is_null(item) && item->type != FLUXSTATE__Y_OBJECT)
			return type_error(d, item, "Config", field[kind], gotype[kind]);
		if (kind == L_CLUSTERS) {
			if (push((void **)&kc->clusters, &kc->n_clusters, sizeof(*kc->clusters)) < 0)
				return dec_oom(d);
			name = &kc->clusters[kc->n_clusters - 1].name;
		} else if (kind == L_USERS) {
			if (push((void **)&kc->users, &kc->n_users, sizeof(*kc->users)) < 0)
				return dec_oom(d);
			name = &kc->users[kc->n_users - 1].name;
		} else {
			if (push((void **)&kc->contexts, &kc->n_contexts, sizeof(*kc->contexts)) < 0)
				return dec_oom(d);
			name = &kc->contexts[kc->n_contexts - 1].name;
		}
		for (j = 0; item && item->type == FLUXSTATE__Y_OBJECT && j < item->n; j++) {
			const char *k = item->members[j].key;
			const struct fluxstate__ynode *val = item->members[j].value;

			r = 0;
			if (strcmp(k, "name") == 0) {
				snprintf(path, sizeof(path), "%s.name", field[kind]);
				r = dec_string(d, val, sname[kind], path, name);
			} else if (strcmp(k, inner[kind]) == 0) {
				if (kind == L_CLUSTERS)
					r = dec_cluster(d, val, &kc->clusters[kc->n_clusters - 1]);
				else if (kind == L_USERS)
					r = dec_user(d, val, &kc->users[kc->n_users - 1]);
				else
					r = dec_context(d, val, &kc->contexts[kc->n_contexts - 1]);
			}
			if (r < 0)
				return -1;
		}
		if (!*name && !(*name = strdup("")))
			return dec_oom(d);
	}
	return 0;
}

static int
check_dup_names(struct dec *d, const struct fluxstate__kubeconfig *kc)
{
	size_t i, j;

	for (i = 0; i < kc->n_clusters; i++)
		for (j = 0; j < i; j++)
			if (strcmp(kc->clusters[i].name, kc->clusters[j].name) == 0)
				return dec_fail(d,
						"error converting *[]NamedCluster into *map[string]*api.Cluster: duplicate name \"%s\" in list",
						kc->clusters[i].name);
	for (i = 0; i < kc->n_users; i++)
		for (j = 0; j < i; j++)
			if (strcmp(kc->users[i].name, kc->users[j].name) == 0)
				return dec_fail(d,
						"error converting *[]NamedAuthInfo into *map[string]*api.AuthInfo: duplicate name \"%s\" in list",
						kc->users[i].name);
	for (i = 0; i < kc->n_contexts; i++)
		for (j = 0; j < i; j++)
			if (strcmp(kc->contexts[i].name, kc->contexts[j].name) == 0)
				return dec_fail(d,
						"error converting *[]NamedContext into *map[string]*api.Context: duplicate name \"%s\" in list",
						kc->contexts[i].name);
	return 0;
}

/* Extension name lists are checked during conversion, in the order Go converts. */
static int
check_nested_ext_dups(struct dec *d, const struct fluxstate__ynode *root)
{
	static const char *const lists[] = { "clusters", "users", "contexts" };
	static const char *const inner[] = { "cluster", "user", "context" };
	const struct fluxstate__ynode *pref = fluxstate__ynode_get(root, "preferences");
	struct named_ext *e = NULL;
	size_t n = 0, l, i;
	int r = 0;

	if (pref && pref->type == FLUXSTATE__Y_OBJECT) {
		r = extensions_field(d, fluxstate__ynode_get(pref, "extensions"), "Preferences", "preferences.extensions",
				     NULL, &e, &n);
		if (r == 0)
			r = check_ext_names(d, e, n);
		exts_free(e, n);
		if (r < 0)
			return r;
	}
	for (l = 0; l < 3; l++) {
		const struct fluxstate__ynode *list = fluxstate__ynode_get(root, lists[l]);

		for (i = 0; list && list->type == FLUXSTATE__Y_ARRAY && i < list->n; i++) {
			const struct fluxstate__ynode *obj = fluxstate__ynode_get(list->items[i], inner[l]);

			e = NULL;
			n = 0;
			r = extensions_field(d, fluxstate__ynode_get(obj, "extensions"), "x", "x", NULL, &e, &n);
			if (r == 0)
				r = check_ext_names(d, e, n);
			exts_free(e, n);
			if (r < 0)
				return r;
		}
	}
	e = NULL;
	n = 0;
	r = extensions_field(d, fluxstate__ynode_get(root, "extensions"), "Config", "extensions", NULL, &e, &n);
	if (r == 0)
		r = check_ext_names(d, e, n);
	exts_free(e, n);
	return r;
}

/* Decode one file's JSON value into @kc (empty on entry). */
static int
decode_config(struct dec *d, const struct fluxstate__ynode *root, struct fluxstate__kubeconfig *kc)
{
	const struct fluxstate__ynode *av, *kind;
	const char *apiversion = NULL, *kname = NULL;
	size_t i;

	if (is_null(root))
		return 0;
	if (root->type != FLUXSTATE__Y_OBJECT)
		return dec_fail(d,
				"couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }",
				json_kind(root));
	/* runtime.Decode looks at apiVersion/kind first */
	av = fluxstate__ynode_get(root, "apiVersion");
	kind = fluxstate__ynode_get(root, "kind");
	if (!is_null(av) && av->type != FLUXSTATE__Y_STRING)
		return dec_fail(d,
				"couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go struct field .apiVersion of type string",
				json_kind(av));
	if (!is_null(kind) && kind->type != FLUXSTATE__Y_STRING)
		return dec_fail(d,
				"couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go struct field .kind of type string",
				json_kind(kind));
	if (!is_null(av))
		apiversion = av->text;
	if (!is_null(kind))
		kname = kind->text;
	if (empty(apiversion))
		apiversion = "v1";
	if (empty(kname))
		kname = "Config";
	if (strcmp(apiversion, "v1") != 0 || strcmp(kname, "Config") != 0)
		return dec_fail(d,
				"no kind \"%s\" is registered for version \"%s\" in scheme \"k8s.io/client-go/tools/clientcmd/api/latest/latest.go:50\"",
				kname, apiversion);

	for (i = 0; i < root->n; i++) {
		const char *k = root->members[i].key;
		const struct fluxstate__ynode *val = root->members[i].value;
		int r = 0;

		if (strcmp(k, "clusters") == 0)
			r = dec_list(d, val, L_CLUSTERS, kc);
		else if (strcmp(k, "users") == 0)
			r = dec_list(d, val, L_USERS, kc);
		else if (strcmp(k, "contexts") == 0)
			r = dec_list(d, val, L_CONTEXTS, kc);
		else if (strcmp(k, "current-context") == 0)
			r = dec_string(d, val, "Config", "current-context", &kc->current_context);
		else if (strcmp(k, "extensions") == 0)
			r = extensions_field(d, val, "Config", "extensions", NULL, NULL, NULL);
		else if (strcmp(k, "preferences") == 0 && !is_null(val)) {
			size_t j;

			if (val->type != FLUXSTATE__Y_OBJECT)
				return type_error(d, val, "Config", "preferences", "v1.Preferences");
			for (j = 0; j < val->n; j++) {
				int b = 0;

				if (strcmp(val->members[j].key, "colors") == 0)
					r = dec_bool(d, val->members[j].value, "Preferences", "preferences.colors", &b);
				else if (strcmp(val->members[j].key, "extensions") == 0)
					r = extensions_field(d, val->members[j].value, "Preferences",
							     "preferences.extensions", NULL, NULL, NULL);
				if (r < 0)
					return -1;
			}
		}
		if (r < 0)
			return -1;
	}
	/* conversion to the internal maps: preferences, clusters, users, contexts, extensions */
	if (check_nested_ext_dups(d, root) < 0)
		return -1;
	return check_dup_names(d, kc);
}

/* ------------------------------------------------------------------------
 * paths
 * ------------------------------------------------------------------------ */

/* Lexical clean, as Go's filepath.Clean. */
static char *
path_clean(const char *p)
{
	size_t n = strlen(p), o = 0, i = 0;
	int rooted = p[0] == '/';
	char *out = malloc(n + 2);
	size_t dotdot;

	if (!out)
		return NULL;
	if (n == 0) {
		strcpy(out, ".");
		return out;
	}
	if (rooted)
		out[o++] = '/';
	dotdot = o;
	i = rooted;
	while (i < n) {
		if (p[i] == '/') {
			i++;
		} else if (p[i] == '.' && (i + 1 == n || p[i + 1] == '/')) {
			i++;
		} else if (p[i] == '.' && p[i + 1] == '.' && (i + 2 == n || p[i + 2] == '/')) {
			i += 2;
			if (o > dotdot) {
				o--;
				while (o > dotdot && out[o] != '/')
					o--;
			} else if (!rooted) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				dotdot = o;
			}
		} else {
			if ((rooted && o != 1) || (!rooted && o != 0))
				out[o++] = '/';
			while (i < n && p[i] != '/')
				out[o++] = p[i++];
		}
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

/* filepath.Abs(filepath.Dir(file)) */
static char *
origin_dir(const char *file)
{
	char cwd[PATH_MAX];
	char *joined, *dir, *slash, *clean;

	if (file[0] == '/') {
		joined = strdup(file);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		joined = fluxstate__asprintf("%s/%s", cwd, file);
	}
	if (!joined)
		return NULL;
	clean = path_clean(joined);
	free(joined);
	if (!clean)
		return NULL;
	slash = strrchr(clean, '/');
	if (slash == clean)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	dir = clean;
	return dir;
}

/* Resolve a relative path against the defining file's directory; no '~' expansion. */
static int
resolve_path(char **p, const char *base)
{
	char *joined, *clean;

	if (empty(*p) || (*p)[0] == '/')
		return 0;
	joined = fluxstate__asprintf("%s/%s", base, *p);
	if (!joined)
		return -1;
	clean = path_clean(joined);
	free(joined);
	if (!clean)
		return -1;
	free(*p);
	*p = clean;
	return 0;
}

/* A relative path where no base directory exists (a kubeconfig from memory without one). */
static int
reject_relative(const char *p, const char *field, const char *owner_kind, const char *owner, char **ret_error)
{
	if (empty(p) || p[0] == '/')
		return 0;
	*ret_error = fluxstate__asprintf("%s \"%s\" of %s \"%s\" is a relative path, and a kubeconfig loaded from memory "
					 "has no directory to resolve it against: give a base directory or an absolute path",
					 field, p, owner_kind, owner);
	return *ret_error ? FLUXSTATE_ECONFIG : FLUXSTATE_ENOMEM;
}

static int
check_no_relative_paths(const struct fluxstate__kubeconfig *kc, char **ret_error)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < kc->n_clusters; i++)
		r = reject_relative(kc->clusters[i].ca_file, "certificate-authority", "cluster", kc->clusters[i].name,
				    ret_error);
	for (i = 0; r == 0 && i < kc->n_users; i++) {
		const struct kc_user *u = &kc->users[i];

		r = reject_relative(u->cert_file, "client-certificate", "user", u->name, ret_error);
		if (r == 0)
			r = reject_relative(u->key_file, "client-key", "user", u->name, ret_error);
		if (r == 0)
			r = reject_relative(u->token_file, "tokenFile", "user", u->name, ret_error);
		if (r == 0 && u->exec && u->exec->command && strchr(u->exec->command, '/'))
			r = reject_relative(u->exec->command, "exec command", "user", u->name, ret_error);
	}
	return r;
}

static int
resolve_local_paths(struct fluxstate__kubeconfig *kc, const char *base)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < kc->n_clusters; i++)
		r = resolve_path(&kc->clusters[i].ca_file, base);
	for (i = 0; r == 0 && i < kc->n_users; i++) {
		struct kc_user *u = &kc->users[i];

		r = resolve_path(&u->cert_file, base);
		if (r == 0)
			r = resolve_path(&u->key_file, base);
		if (r == 0)
			r = resolve_path(&u->token_file, base);
		/* a bare command is looked up in $PATH when run */
		if (r == 0 && u->exec && u->exec->command && strchr(u->exec->command, '/'))
			r = resolve_path(&u->exec->command, base);
	}
	return r;
}

/* ------------------------------------------------------------------------
 * loading
 * ------------------------------------------------------------------------ */

static int
set_origin(struct fluxstate__kubeconfig *kc, const char *file)
{
	size_t i;

	for (i = 0; i < kc->n_clusters; i++)
		if (!(kc->clusters[i].origin = strdup(file)))
			return -1;
	for (i = 0; i < kc->n_users; i++)
		if (!(kc->users[i].origin = strdup(file)))
			return -1;
	for (i = 0; i < kc->n_contexts; i++)
		if (!(kc->contexts[i].origin = strdup(file)))
			return -1;
	return 0;
}

/*
 * Decode one kubeconfig held in memory; @origin names it (a file, or
 * "<memory>"); relative paths resolve against @base, or are an error when
 * @base is NULL. 0, FLUXSTATE_ENOMEM, or FLUXSTATE_ECONFIG with *ret_error.
 */
static int
decode_data(const char *data, size_t len, const char *origin, const char *base, struct fluxstate__kubeconfig **ret,
	    char **ret_error)
{
	struct fluxstate__kubeconfig *kc;
	struct fluxstate__ynode *root = NULL;
	struct dec d = { 0 };
	int r;

	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return FLUXSTATE_ENOMEM;
	if (len > 0) {
		r = fluxstate__yaml_parse(data, len, &root, ret_error);
		if (r < 0) {
			fluxstate__kubeconfig_free(kc);
			return r;
		}
		r = decode_config(&d, root, kc);
		fluxstate__ynode_free(root);
		if (r < 0) {
			fluxstate__kubeconfig_free(kc);
			if (d.enomem || !d.error) {
				free(d.error);
				return FLUXSTATE_ENOMEM;
			}
			*ret_error = d.error;
			return FLUXSTATE_ECONFIG;
		}
	}
	if (set_origin(kc, origin) < 0 || (base && resolve_local_paths(kc, base) < 0)) {
		fluxstate__kubeconfig_free(kc);
		return FLUXSTATE_ENOMEM;
	}
	if (!base && (r = check_no_relative_paths(kc, ret_error)) < 0) {
		fluxstate__kubeconfig_free(kc);
		return r;
	}
	*ret = kc;
	return 0;
}

/*
 * Read and decode one file. Returns 0 (loaded), 1 (missing: skipped),
 * FLUXSTATE_ENOMEM, or FLUXSTATE_ECONFIG with *ret_error (no file prefix).
 */
static int
load_file(const char *file, struct fluxstate__kubeconfig **ret, char **ret_error)
{
	char *data = NULL, *base;
	size_t len = 0;
	int r;

	*ret_error = NULL;
	r = fluxstate__read_file(file, KUBECONFIG_MAX_BYTES, &data, &len);
	if (r == -ENOENT)
		return 1; /* os.IsNotExist: ENOENT only */
	if (r == -ENOMEM)
		return FLUXSTATE_ENOMEM;
	if (r < 0) {
		if (r == -EISDIR)
			*ret_error = fluxstate__asprintf("read %s: is a directory", file);
		else if (r == -EFBIG)
			*ret_error = fluxstate__asprintf("read %s: file is larger than %u bytes", file,
							 KUBECONFIG_MAX_BYTES);
		else
			*ret_error = fluxstate__asprintf("open %s: %s", file, fluxstate__errno_text(-r));
		return *ret_error ? FLUXSTATE_ECONFIG : FLUXSTATE_ENOMEM;
	}
	base = origin_dir(file);
	r = base ? decode_data(data, len, file, base, ret, ret_error) : FLUXSTATE_ENOMEM;
	free(base);
	fluxstate__free_secret_n(data, len);
	return r;
}

static int
merge_into(struct fluxstate__kubeconfig *dst, struct fluxstate__kubeconfig *src)
{
	size_t i, j;

	for (i = 0; i < src->n_clusters; i++) {
		for (j = 0; j < dst->n_clusters; j++)
			if (strcmp(dst->clusters[j].name, src->clusters[i].name) == 0)
				break;
		if (j < dst->n_clusters)
			continue;
		if (push((void **)&dst->clusters, &dst->n_clusters, sizeof(*dst->clusters)) < 0)
			return -1;
		dst->clusters[dst->n_clusters - 1] = src->clusters[i];
		memset(&src->clusters[i], 0, sizeof(src->clusters[i]));
	}
	for (i = 0; i < src->n_users; i++) {
		for (j = 0; j < dst->n_users; j++)
			if (strcmp(dst->users[j].name, src->users[i].name) == 0)
				break;
		if (j < dst->n_users)
			continue;
		if (push((void **)&dst->users, &dst->n_users, sizeof(*dst->users)) < 0)
			return -1;
		dst->users[dst->n_users - 1] = src->users[i];
		memset(&src->users[i], 0, sizeof(src->users[i]));
	}
	for (i = 0; i < src->n_contexts; i++) {
		for (j = 0; j < dst->n_contexts; j++)
			if (strcmp(dst->contexts[j].name, src->contexts[i].name) == 0)
				break;
		if (j < dst->n_contexts)
			continue;
		if (push((void **)&dst->contexts, &dst->n_contexts, sizeof(*dst->contexts)) < 0)
			return -1;
		dst->contexts[dst->n_contexts - 1] = src->contexts[i];
		memset(&src->contexts[i], 0, sizeof(src->contexts[i]));
	}
	if (empty(dst->current_context) && !empty(src->current_context)) {
		free(dst->current_context);
		dst->current_context = src->current_context;
		src->current_context = NULL;
	}
	return 0;
}

/* The chain of files to read, as ClientConfigLoadingRules builds it. */
static int
file_chain(fluxstate_ctx *ctx, const struct fluxstate__load_options *opts, char ***ret, size_t *ret_n)
{
	char **files = NULL;
	size_t n = 0;
	const char *env = getenv("KUBECONFIG");
	struct stat st;

	if (!empty(opts->explicit_path)) {
		/* not split on ':'; must exist */
		if (stat(opts->explicit_path, &st) < 0 && errno == ENOENT)
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "stat %s: no such file or directory",
						opts->explicit_path);
		files = calloc(1, sizeof(*files));
		if (!files || !(files[0] = strdup(opts->explicit_path)))
			goto oom;
		n = 1;
	} else if (!empty(env)) {
		const char *p = env;

		for (;;) {
			const char *end = strchr(p, ':');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			char *f;
			size_t i;

			if (len > 0) {
				f = fluxstate__strndup(p, len);
				if (!f)
					goto oom;
				for (i = 0; i < n; i++)
					if (strcmp(files[i], f) == 0)
						break;
				if (i < n) {
					free(f); /* de-duplicated, first occurrence kept */
				} else if (push((void **)&files, &n, sizeof(*files)) < 0) {
					free(f);
					goto oom;
				} else {
					files[n - 1] = f;
				}
			}
			if (!end)
				break;
			p = end + 1;
		}
	} else {
		const char *home = getenv("HOME");
		char *path = home ? fluxstate__asprintf("%s/.kube/config", home) : strdup(".kube/config");

		if (!path)
			goto oom;
		/* client-go migrates ~/.kube/.kubeconfig by copying it; we only read it */
		if (stat(path, &st) < 0 && errno == ENOENT) {
			char *old = home ? fluxstate__asprintf("%s/.kube/.kubeconfig", home) : strdup(".kube/.kubeconfig");

			if (old && stat(old, &st) == 0) {
				free(path);
				path = old;
			} else {
				free(old);
			}
		}
		files = calloc(1, sizeof(*files));
		if (!files) {
			free(path);
			goto oom;
		}
		files[0] = path;
		n = 1;
	}
	*ret = files;
	*ret_n = n;
	return 0;
oom:
	strv_free(files, n);
	return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
}

/* One kubeconfig from a caller's buffer: no file chain, no in-cluster fallback. */
static int
load_memory(fluxstate_ctx *ctx, const struct fluxstate__load_options *opts, struct fluxstate__kubeconfig **ret)
{
	char *copy, *msg = NULL, *base = NULL;
	int r;

	if (opts->data_len > KUBECONFIG_MAX_BYTES)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "kubeconfig data is larger than %u bytes",
					KUBECONFIG_MAX_BYTES);
	/* a private NUL-terminated copy, wiped after parsing: it may hold secrets */
	copy = malloc(opts->data_len + 1);
	if (!copy)
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	memcpy(copy, opts->data, opts->data_len);
	copy[opts->data_len] = '\0';
	if (opts->base_dir && !(base = path_clean(opts->base_dir))) {
		fluxstate__free_secret_n(copy, opts->data_len + 1);
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	r = decode_data(copy, opts->data_len, "<memory>", base, ret, &msg);
	fluxstate__free_secret_n(copy, opts->data_len + 1);
	free(base);
	if (r == FLUXSTATE_ENOMEM) {
		free(msg);
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	if (r < 0) {
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, "error loading kubeconfig from memory: %s",
				     msg ? msg : "malformed");
		free(msg);
		return r;
	}
	return 0;
}

int
fluxstate__kubeconfig_load(fluxstate_ctx *ctx, const struct fluxstate__load_options *opts,
			   struct fluxstate__kubeconfig **ret)
{
	struct fluxstate__load_options none = { 0 };
	struct fluxstate__kubeconfig *merged;
	struct fluxstate__buf errs = { 0 };
	char **files = NULL;
	size_t n = 0, i, n_errs = 0;
	int r;

	if (!ret)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument");
	if (!opts)
		opts = &none;
	if (opts->data)
		return load_memory(ctx, opts, ret);
	r = file_chain(ctx, opts, &files, &n);
	if (r < 0)
		return r;
	merged = calloc(1, sizeof(*merged));
	if (!merged) {
		strv_free(files, n);
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		struct fluxstate__kubeconfig *one = NULL;
		char *msg = NULL;

		r = load_file(files[i], &one, &msg);
		if (r == 1)
			continue; /* missing files are skipped */
		if (r == FLUXSTATE_ENOMEM)
			goto oom;
		if (r < 0) {
			/* collected: every file is tried, then the load fails */
			if (fluxstate__buf_appendf(&errs, "%serror loading config file \"%s\": %s", n_errs ? ", " : "",
						   files[i], msg) < 0) {
				free(msg);
				goto oom;
			}
			free(msg);
			n_errs++;
			continue;
		}
		r = merge_into(merged, one);
		fluxstate__kubeconfig_free(one);
		if (r < 0)
			goto oom;
	}
	strv_free(files, n);
	if (n_errs) {
		fluxstate__kubeconfig_free(merged);
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, n_errs > 1 ? "[%s]" : "%s", errs.data);
		fluxstate__buf_clear(&errs);
		return r;
	}
	*ret = merged;
	return 0;
oom:
	strv_free(files, n);
	fluxstate__buf_clear(&errs);
	fluxstate__kubeconfig_free(merged);
	return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------------------
 * resolving: selection, overrides, validation, the connection
 * ------------------------------------------------------------------------ */

static const struct kc_cluster *
find_cluster(const struct fluxstate__kubeconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; kc && name && i < kc->n_clusters; i++)
		if (strcmp(kc->clusters[i].name, name) == 0)
			return &kc->clusters[i];
	return NULL;
}

static const struct kc_user *
find_user(const struct fluxstate__kubeconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; kc && name && i < kc->n_users; i++)
		if (strcmp(kc->users[i].name, name) == 0)
			return &kc->users[i];
	return NULL;
}

static const struct kc_context *
find_context(const struct fluxstate__kubeconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; kc && name && i < kc->n_contexts; i++)
		if (strcmp(kc->contexts[i].name, name) == 0)
			return &kc->contexts[i];
	return NULL;
}

/* Go's url.getScheme: "" when there is none, -1 for "missing protocol scheme". */
static int
url_scheme(const char *s, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
			if (i == 0)
				return 0;
			continue;
		}
		if (c == ':') {
			if (i == 0)
				return -1;
			if (i >= outlen)
				return 0;
			for (size_t k = 0; k < i; k++)
				out[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
			out[i] = '\0';
			return 0;
		}
		return 0;
	}
	return 0;
}

struct errlist {
	struct fluxstate__buf buf;
	size_t n;
	int enomem;
};

static void
errlist_add(struct errlist *l, const char *fmt, ...) FLUXSTATE_PRINTF(2, 3);

static void
errlist_add(struct errlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		l->enomem = 1;
		va_end(ap);
		return;
	}
	va_end(ap);
	if (fluxstate__buf_appendf(&l->buf, "%s%s", l->n ? ", " : "", s) < 0)
		l->enomem = 1;
	free(s);
	l->n++;
}

static void
check_openable(struct errlist *l, const char *path, const char *what, const char *owner)
{
	FILE *f = fopen(path, "r");

	if (f) {
		fclose(f);
		return;
	}
	errlist_add(l, "unable to read %s %s for %s due to open %s: %s", what, path, owner, path, fluxstate__errno_text(errno));
}

/* The selected cluster after overrides (client_config.go getCluster). */
struct eff_cluster {
	const char *server;
	const char *tls_server_name;
	int insecure;
	const char *ca_file;
	const unsigned char *ca_data;
	size_t ca_data_len;
	const char *proxy_url;
	int disable_compression;
	const char *exec_ext_json;
};

static int
cluster_is_empty(const struct eff_cluster *c)
{
	return empty(c->server) && empty(c->tls_server_name) && !c->insecure && empty(c->ca_file) &&
	       c->ca_data_len == 0 && empty(c->proxy_url) && !c->disable_compression && !c->exec_ext_json;
}

static int
proxy_scheme_ok(const char *url, char *scheme, size_t len)
{
	if (url_scheme(url, scheme, len) < 0)
		return -1;
	return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 || strcmp(scheme, "socks5") == 0;
}

/*
 * What is wrong with the host[:port] in [rest, host_end), as Go's url.Parse
 * sees it plus a port in range (so a bad URL fails at load, not as a vague
 * libcurl error later): NULL if nothing, else @buf filled.
 */
static const char *
host_port_problem(const char *rest, const char *host_end, char *buf, size_t len)
{
	const char *port = NULL, *rb = NULL, *d;
	long v = 0;

	if (*rest == '[') {
		rb = memchr(rest, ']', (size_t)(host_end - rest));
		if (!rb) {
			snprintf(buf, len, "missing ']' in host");
			return buf;
		}
		if (rb + 1 < host_end && rb[1] != ':') {
			snprintf(buf, len, "invalid port \"%.*s\" after host", (int)(host_end - rb - 1), rb + 1);
			return buf;
		}
		port = rb + 1 < host_end ? rb + 1 : NULL;
	} else {
		port = memchr(rest, ':', (size_t)(host_end - rest));
	}
	if (rb ? rb == rest + 1 : (port ? port : host_end) == rest) {
		snprintf(buf, len, "no host");
		return buf;
	}
	if (!port)
		return NULL;
	for (d = port + 1; d < host_end && v <= 65535; d++) {
		if (*d < '0' || *d > '9')
			break;
		v = v * 10 + (*d - '0');
	}
	if (d < host_end || (port + 1 < host_end && (v == 0 || v > 65535))) {
		snprintf(buf, len, "invalid port \"%.*s\" after host", (int)(host_end - port), port);
		return buf;
	}
	return NULL;
}

static void
validate_cluster(struct errlist *l, const char *name, const struct eff_cluster *c, int *ret_empty_cluster)
{
	*ret_empty_cluster = 0;
	if (cluster_is_empty(c)) {
		*ret_empty_cluster = 1;
		errlist_add(l, "cluster has no server defined");
		return;
	}
	if (empty(c->server)) {
		if (empty(name))
			errlist_add(l, "default cluster has no server defined");
		else
			errlist_add(l, "no server found for cluster \"%s\"", name);
	}
	if (!empty(c->proxy_url)) {
		char scheme[32];
		int ok = proxy_scheme_ok(c->proxy_url, scheme, sizeof(scheme));
		char *shown = fluxstate__url_redacted(c->proxy_url);

		if (!shown) {
			l->enomem = 1;
		} else if (ok < 0) {
			errlist_add(l, "invalid 'proxy-url' \"%s\" for cluster \"%s\": could not parse: %s", shown,
				    name, shown);
		} else if (!ok) {
			errlist_add(l,
				    "invalid 'proxy-url' \"%s\" for cluster \"%s\": unsupported scheme \"%s\", must be http, https, or socks5",
				    shown, name, scheme);
		} else {
			/* checked on the redacted form: a problem quoted from it cannot show the password */
			const char *sep = strstr(shown, "://");
			const char *auth = sep ? sep + 3 : shown + strlen(shown);
			const char *end = auth + strcspn(auth, "/?#"), *at;
			char problem[128];

			for (at = end; at > auth && at[-1] != '@'; at--)
				;
			if (host_port_problem(at, end, problem, sizeof(problem)))
				errlist_add(l, "invalid 'proxy-url' \"%s\" for cluster \"%s\": %s", shown, name, problem);
		}
		free(shown);
	}
	if (!empty(c->ca_file) && c->ca_data_len)
		errlist_add(l,
			    "certificate-authority-data and certificate-authority are both specified for %s. certificate-authority-data will override.",
			    name);
	if (!empty(c->ca_file))
		check_openable(l, c->ca_file, "certificate-authority", name);
}

static void
validate_user(struct errlist *l, const char *name, const struct kc_user *u)
{
	size_t n_methods = 0, i;

	if (!u)
		return;
	if (!empty(u->token))
		n_methods++;
	if (!empty(u->username) || !empty(u->password))
		n_methods++;
	if (!empty(u->cert_file) || u->cert_data_len) {
		if (!empty(u->cert_file) && u->cert_data_len)
			errlist_add(l, "client-cert-data and client-cert are both specified for %s. client-cert-data will override.",
				    name);
		if (!empty(u->key_file) && u->key_data_len)
			errlist_add(l, "client-key-data and client-key are both specified for %s; client-key-data will override",
				    name);
		if (empty(u->key_file) && !u->key_data_len)
			errlist_add(l,
				    "client-key-data or client-key must be specified for %s to use the clientCert authentication method.",
				    name);
		if (!empty(u->cert_file))
			check_openable(l, u->cert_file, "client-cert", name);
		if (!empty(u->key_file))
			check_openable(l, u->key_file, "client-key", name);
	}
	if (u->exec) {
		if (u->has_auth_provider)
			errlist_add(l, "authProvider cannot be provided in combination with an exec plugin for %s", name);
		if (empty(u->exec->command))
			errlist_add(l, "command must be specified for %s to use exec authentication plugin", name);
		if (empty(u->exec->api_version))
			errlist_add(l, "apiVersion must be specified for %s to use exec authentication plugin", name);
		for (i = 0; i < u->exec->n_env; i++)
			if (empty(u->exec->env[i].key))
				errlist_add(l, "env variable name must be specified for %s to use exec authentication plugin",
					    name);
		{
			/* v1beta1 (and v1alpha1) default to IfAvailable; v1 must say */
			const char *mode = u->exec->interactive_mode;

			if (empty(mode) && (fluxstate__streq(u->exec->api_version, EXEC_V1BETA1) ||
					    fluxstate__streq(u->exec->api_version, EXEC_V1ALPHA1)))
				mode = "IfAvailable";
			if (empty(mode))
				errlist_add(l, "interactiveMode must be specified for %s to use exec authentication plugin",
					    name);
			else if (strcmp(mode, "Never") && strcmp(mode, "IfAvailable") && strcmp(mode, "Always"))
				errlist_add(l, "invalid interactiveMode for %s: \"%s\"", name, mode);
		}
	}
	if (n_methods > 1)
		errlist_add(l, "more than one authentication method found for %s; found [token basicAuth], only one is allowed",
			    name);
	if ((!empty(u->as_uid) || u->n_groups || u->n_extra) && empty(u->as))
		errlist_add(l, "requesting uid, groups or user-extra for %s without impersonating a user", name);
}

static int
read_whole(const char *path, char **ret, size_t *ret_len)
{
	return fluxstate__read_file(path, KUBECONFIG_MAX_BYTES, ret, ret_len);
}

static char *
dup_bytes(const unsigned char *p, size_t n)
{
	unsigned char *c = malloc(n + 1);

	if (!c)
		return NULL;
	memcpy(c, p, n);
	c[n] = '\0';
	return (char *)c;
}

/* Go's http header value rule: no control bytes except horizontal tab. */
static int
valid_header_value(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

static char *
trim_space(const char *s, size_t len)
{
	while (len && strchr(" \t\r\n\v\f", s[0])) {
		s++;
		len--;
	}
	while (len && strchr(" \t\r\n\v\f", s[len - 1]))
		len--;
	return fluxstate__strndup(s, len);
}

/* CA bytes must hold a CERTIFICATE PEM block (transport.go rootCertPool). */
static int
check_ca_pem(fluxstate_ctx *ctx, const unsigned char *pem, size_t len, const char *source)
{
	char *s = dup_bytes(pem, len);
	int r = 0;

	if (!s)
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	if (!strstr(s, "-----BEGIN "))
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG,
				     "unable to load root certificates: unable to parse bytes as PEM block (from %s)", source);
	else if (!strstr(s, "-----BEGIN CERTIFICATE-----"))
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG,
				     "unable to load root certificates: no valid certificate authority data seen (from %s)",
				     source);
	fluxstate__free_secret_n(s, len);
	return r;
}

/* server -> conn->server (scheme://host[:port]) and path_prefix. */
static int
parse_server(fluxstate_ctx *ctx, const char *server, struct fluxstate__conn *conn)
{
	char scheme[32], problem[128];
	const char *rest, *host_end, *path_end;
	char *with_scheme = NULL, *path = NULL, *clean;
	int r = 0;

	if (url_scheme(server, scheme, sizeof(scheme)) < 0 || !scheme[0] ||
	    strncmp(server + strlen(scheme), "://", 3) != 0) {
		/* no scheme: client-go decides TLS before any CA is known, so plain http */
		with_scheme = fluxstate__asprintf("http://%s", server);
		if (!with_scheme)
			return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		server = with_scheme;
		strcpy(scheme, "http");
	}
	{
		/* user information may hold a password: never echo it, never use it */
		size_t pw_start, pw_len;

		if (fluxstate__url_password_span(server, &pw_start, &pw_len) ||
		    memchr(server, '@', strcspn(server, "?#"))) {
			char *shown = fluxstate__url_redacted(server);

			r = fluxstate__error(ctx, shown ? FLUXSTATE_ECONFIG : FLUXSTATE_ENOMEM,
					     "server \"%s\": the URL must be scheme://host[:port][/path] without user information",
					     shown ? shown : "");
			free(shown);
			goto out;
		}
	}
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, "server \"%s\": unsupported protocol scheme \"%s\"", server,
				     scheme);
		goto out;
	}
	rest = strstr(server, "://") + 3;
	host_end = rest + strcspn(rest, "/?#");
	if (host_end == rest) {
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, "parse \"%s\": no host", server);
		goto out;
	}
	for (const char *p = rest; p < host_end; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, "server URL contains a space or control character");
			goto out;
		}
	if (host_port_problem(rest, host_end, problem, sizeof(problem))) {
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, "parse \"%s\": %s", server, problem);
		goto out;
	}
	conn->server = fluxstate__asprintf("%s://%.*s", scheme, (int)(host_end - rest), rest);
	path_end = host_end + strcspn(host_end, "?#");
	path = fluxstate__strndup(host_end, (size_t)(path_end - host_end));
	if (!conn->server || !path) {
		r = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(path) > 1) {
		size_t n;

		clean = path_clean(path);
		if (!clean) {
			r = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
			goto out;
		}
		n = strlen(clean);
		if (n == 1)
			clean[0] = '\0';
		conn->path_prefix = clean;
	} else {
		conn->path_prefix = strdup("");
		if (!conn->path_prefix)
			r = fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
out:
	free(path);
	free(with_scheme);
	return r;
}

static char **
strv_copy(char *const *v, size_t n)
{
	char **c = calloc(n + 1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	for (i = 0; i < n; i++)
		if (!(c[i] = strdup(v[i]))) {
			strv_free(c, i);
			return NULL;
		}
	return c;
}

/* cleanANSIEscapeCodes: the plugin's hint is printed, escapes defused. */
static char *
clean_ansi(const char *s)
{
	struct fluxstate__buf b = { 0 };

	if (!s)
		return NULL;
	for (; *s; s++) {
		int r = *s == '\x1b' ? fluxstate__buf_append(&b, "U+001B", 6) : fluxstate__buf_append(&b, s, 1);

		if (r < 0) {
			fluxstate__buf_clear(&b);
			return NULL;
		}
	}
	return fluxstate__buf_steal(&b);
}

static int
build_exec(fluxstate_ctx *ctx, const struct kc_exec *e, const char *cluster_json, struct fluxstate__exec_config **ret)
{
	struct fluxstate__exec_config *x;
	const char *mode = e->interactive_mode;
	size_t i;

	if (!fluxstate__streq(e->api_version, EXEC_V1) && !fluxstate__streq(e->api_version, EXEC_V1BETA1))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "exec plugin: invalid apiVersion \"%s\"", e->api_version);
	x = calloc(1, sizeof(*x));
	if (!x)
		return FLUXSTATE_ENOMEM;
	*ret = x;
	if (empty(mode))
		mode = "IfAvailable"; /* v1beta1 default; v1 was validated */
	x->interactive_mode = strcmp(mode, "Never") == 0    ? FLUXSTATE__INTERACTIVE_NEVER
			      : strcmp(mode, "Always") == 0 ? FLUXSTATE__INTERACTIVE_ALWAYS
							    : FLUXSTATE__INTERACTIVE_IF_AVAILABLE;
	x->provide_cluster_info = e->provide_cluster_info;
	if (!(x->command = strdup(e->command)) || !(x->api_version = strdup(e->api_version)) ||
	    !(x->args = strv_copy(e->args, e->n_args)) || (e->install_hint && !(x->install_hint = clean_ansi(e->install_hint))) ||
	    (cluster_json && !(x->cluster_config_json = strdup(cluster_json))))
		return FLUXSTATE_ENOMEM;
	x->env = calloc(e->n_env + 1, sizeof(*x->env));
	if (!x->env)
		return FLUXSTATE_ENOMEM;
	for (i = 0; i < e->n_env; i++)
		if (!(x->env[i] = fluxstate__asprintf("%s=%s", e->env[i].key, e->env[i].value ? e->env[i].value : "")))
			return FLUXSTATE_ENOMEM;
	return 0;
}

static const char *
ap_config(const struct kc_user *u, const char *key)
{
	size_t i;

	for (i = u->n_ap_config; i > 0; i--)
		if (strcmp(u->ap_config[i - 1].key, key) == 0)
			return u->ap_config[i - 1].value;
	return NULL;
}

static int
auth_provider(fluxstate_ctx *ctx, const struct kc_user *u, const char *user_name, int other_auth,
	      struct fluxstate__conn *conn)
{
	const char *name = u->ap_name ? u->ap_name : "";

	if (strcmp(name, "gcp") == 0)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
					"The gcp auth plugin has been removed.\nPlease use the \"gke-gcloud-auth-plugin\" kubectl/client-go credential plugin instead.\nSee https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke for further details");
	if (strcmp(name, "azure") == 0)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
					"The azure auth plugin has been removed.\nPlease use the https://github.com/Azure/kubelogin kubectl/client-go credential plugin instead.\nSee https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins for further details");
	if (strcmp(name, "oidc") != 0)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "no Auth Provider found for name \"%s\"", name);
	if (empty(ap_config(u, "idp-issuer-url")))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "Must provide idp-issuer-url");
	if (empty(ap_config(u, "client-id")))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "Must provide client-id");
	if (other_auth)
		return 0; /* an Authorization header already set wins over the oidc wrapper */
	if (empty(ap_config(u, "id-token")))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
					"auth-provider oidc for user \"%s\" has no id-token; refreshing it with the refresh-token is not supported (run kubectl once, or use an exec plugin such as kubelogin)",
					user_name);
	if (!valid_header_value(ap_config(u, "id-token")))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "net/http: invalid header field value for \"Authorization\"");
	conn->auth_provider = strdup("oidc");
	conn->oidc_id_token = strdup(ap_config(u, "id-token"));
	if (!conn->auth_provider || !conn->oidc_id_token)
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	return 0;
}

/* Credentials, only for https servers (rest.IsConfigTransportTLS). */
static int
fill_auth(fluxstate_ctx *ctx, const struct kc_user *u, const char *user_name, const struct eff_cluster *c,
	  struct fluxstate__conn *conn)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if (!u)
		return 0;
	if (!empty(u->token)) {
		conn->token = strdup(u->token);
		if (!conn->token)
			return FLUXSTATE_ENOMEM;
		if (!empty(u->token_file) && !(conn->token_file = strdup(u->token_file)))
			return FLUXSTATE_ENOMEM;
		/* with a token file the file wins whenever it is readable */
		if (!conn->token_file && !valid_header_value(u->token))
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
						"net/http: invalid header field value for \"Authorization\" (the token of user \"%s\" contains a line break or control character)",
						user_name);
	} else if (!empty(u->token_file)) {
		r = read_whole(u->token_file, &data, &len);
		if (r < 0)
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "open %s: %s", u->token_file,
						r == -EISDIR ? "is a directory" : fluxstate__errno_text(-r));
		conn->token = trim_space(data, len);
		fluxstate__free_secret_n(data, len);
		if (!conn->token || !(conn->token_file = strdup(u->token_file)))
			return FLUXSTATE_ENOMEM;
		if (!*conn->token || !valid_header_value(conn->token))
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
						"read empty or invalid token from file %s: net/http: invalid header field value for \"Authorization\"",
						u->token_file);
	}
	if (!empty(u->username) || !empty(u->password)) {
		if (!empty(u->token_file))
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
						"username/password or bearer token may be set, but not both");
		conn->has_basic = 1;
		conn->username = strdup(u->username ? u->username : "");
		conn->password = strdup(u->password ? u->password : "");
		if (!conn->username || !conn->password)
			return FLUXSTATE_ENOMEM;
	}
	if (!empty(u->cert_file) || u->cert_data_len) {
		if (u->cert_data_len) {
			conn->client_cert_pem = (unsigned char *)dup_bytes(u->cert_data, u->cert_data_len);
			conn->client_cert_pem_len = u->cert_data_len;
			conn->client_cert_source = strdup("client-certificate-data");
		} else {
			r = read_whole(u->cert_file, &data, &len);
			if (r < 0)
				return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "unable to read client-cert %s for %s due to %s",
							u->cert_file, user_name, r == -EISDIR ? "is a directory" : fluxstate__errno_text(-r));
			conn->client_cert_pem = (unsigned char *)data;
			conn->client_cert_pem_len = len;
			conn->client_cert_source = strdup(u->cert_file);
		}
		if (u->key_data_len) {
			conn->client_key_pem = (unsigned char *)dup_bytes(u->key_data, u->key_data_len);
			conn->client_key_pem_len = u->key_data_len;
		} else {
			r = read_whole(u->key_file, &data, &len);
			if (r < 0)
				return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "unable to read client-key %s for %s due to %s",
							u->key_file, user_name, r == -EISDIR ? "is a directory" : fluxstate__errno_text(-r));
			conn->client_key_pem = (unsigned char *)data;
			conn->client_key_pem_len = len;
		}
		if (!conn->client_cert_pem || !conn->client_key_pem || !conn->client_cert_source)
			return FLUXSTATE_ENOMEM;
		if (fluxstate__pem_key_is_encrypted(conn->client_key_pem, conn->client_key_pem_len))
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
						"tls: failed to parse private key: the client key of user \"%s\" is encrypted",
						user_name);
	}
	if (u->has_auth_provider) {
		r = auth_provider(ctx, u, user_name, conn->token || conn->has_basic, conn);
		if (r < 0)
			return r;
	}
	if (u->exec) {
		r = build_exec(ctx, u->exec, c->exec_ext_json, &conn->exec);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
fill_tls(fluxstate_ctx *ctx, const struct eff_cluster *c, struct fluxstate__conn *conn)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if ((c->ca_data_len || !empty(c->ca_file)) && c->insecure)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
					"specifying a root certificates file with the insecure flag is not allowed");
	conn->insecure_skip_tls_verify = c->insecure;
	if (!empty(c->tls_server_name) && !(conn->tls_server_name = strdup(c->tls_server_name)))
		return FLUXSTATE_ENOMEM;
	if (c->ca_data_len) {
		conn->ca_pem = (unsigned char *)dup_bytes(c->ca_data, c->ca_data_len);
		conn->ca_pem_len = c->ca_data_len;
		conn->ca_source = strdup("certificate-authority-data");
	} else if (!empty(c->ca_file)) {
		r = read_whole(c->ca_file, &data, &len);
		if (r < 0)
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "unable to read certificate-authority %s due to %s",
						c->ca_file, r == -EISDIR ? "is a directory" : fluxstate__errno_text(-r));
		conn->ca_pem = (unsigned char *)data;
		conn->ca_pem_len = len;
		conn->ca_source = strdup(c->ca_file);
	} else {
		return 0;
	}
	if (!conn->ca_pem || !conn->ca_source)
		return FLUXSTATE_ENOMEM;
	return check_ca_pem(ctx, conn->ca_pem, conn->ca_pem_len, conn->ca_source);
}

static int
fill_impersonation(const struct kc_user *u, struct fluxstate__conn *conn)
{
	size_t i, j, n = 0;

	if (!u || empty(u->as))
		return 0;
	if (!(conn->impersonate_user = strdup(u->as)))
		return FLUXSTATE_ENOMEM;
	if (!empty(u->as_uid) && !(conn->impersonate_uid = strdup(u->as_uid)))
		return FLUXSTATE_ENOMEM;
	if (u->n_groups && !(conn->impersonate_groups = strv_copy(u->as_groups, u->n_groups)))
		return FLUXSTATE_ENOMEM;
	for (i = 0; i < u->n_extra; i++)
		n += u->extra[i].n;
	if (n) {
		conn->impersonate_extra = calloc(n + 1, sizeof(char *));
		if (!conn->impersonate_extra)
			return FLUXSTATE_ENOMEM;
		n = 0;
		for (i = 0; i < u->n_extra; i++)
			for (j = 0; j < u->extra[i].n; j++)
				if (!(conn->impersonate_extra[n++] =
					      fluxstate__asprintf("%s=%s", u->extra[i].key, u->extra[i].values[j])))
					return FLUXSTATE_ENOMEM;
	}
	return 0;
}

/* In-cluster (rest.InClusterConfig), with the overrides it honours. */
static int
in_cluster_possible(const struct fluxstate__load_options *opts, char **ret_dir)
{
	const char *dir = opts && opts->serviceaccount_dir ? opts->serviceaccount_dir : FLUXSTATE_SERVICEACCOUNT_DIR;
	const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");
	char *tok;
	struct stat st;
	int ok;

	if (empty(h) || empty(p))
		return 0;
	tok = fluxstate__asprintf("%s/token", dir);
	if (!tok)
		return -1;
	ok = stat(tok, &st) == 0 && !S_ISDIR(st.st_mode);
	free(tok);
	if (ok && !(*ret_dir = strdup(dir)))
		return -1;
	return ok;
}

static int
resolve_in_cluster(fluxstate_ctx *ctx, const char *dir, const struct fluxstate__load_options *opts,
		   struct fluxstate__conn *conn)
{
	const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");
	const char *pod_ns = getenv("POD_NAMESPACE");
	char *path, *data = NULL;
	size_t len = 0;
	int r;

	conn->in_cluster = 1;
	if (!empty(opts->server)) {
		r = parse_server(ctx, opts->server, conn);
		if (r < 0)
			return r;
	} else {
		char *url = strchr(h, ':') ? fluxstate__asprintf("https://[%s]:%s", h, p)
					    : fluxstate__asprintf("https://%s:%s", h, p);

		if (!url)
			return FLUXSTATE_ENOMEM;
		r = parse_server(ctx, url, conn);
		free(url);
		if (r < 0)
			return r;
	}
	path = fluxstate__asprintf("%s/token", dir);
	if (!path)
		return FLUXSTATE_ENOMEM;
	r = read_whole(path, &data, &len);
	if (r < 0) {
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, "open %s: %s", path, fluxstate__errno_text(-r));
		free(path);
		return r;
	}
	conn->token = trim_space(data, len);
	fluxstate__free_secret_n(data, len);
	conn->token_file = path; /* projected tokens rotate: re-read */
	if (!conn->token)
		return FLUXSTATE_ENOMEM;
	if (!empty(opts->token)) {
		/* --token replaces the service account's token (and its file) */
		fluxstate__free_secret(conn->token);
		free(conn->token_file);
		conn->token_file = NULL;
		if (!(conn->token = strdup(opts->token)))
			return FLUXSTATE_ENOMEM;
	}
	if (!empty(opts->certificate_authority)) {
		struct eff_cluster c = { 0 };

		c.ca_file = opts->certificate_authority;
		r = fill_tls(ctx, &c, conn);
		if (r < 0)
			return r;
	} else {
		path = fluxstate__asprintf("%s/ca.crt", dir);
		if (!path)
			return FLUXSTATE_ENOMEM;
		/* an unreadable ca.crt only means system roots (client-go logs it) */
		if (read_whole(path, &data, &len) == 0) {
			conn->ca_pem = (unsigned char *)data;
			conn->ca_pem_len = len;
			conn->ca_source = path;
			path = NULL;
		} else {
			fluxstate__log(ctx, "in-cluster: cannot read %s, using the system roots", path);
		}
		free(path);
	}
	if (!empty(opts->namespace)) {
		conn->namespace = strdup(opts->namespace);
	} else if (!empty(pod_ns)) {
		conn->namespace = strdup(pod_ns);
	} else {
		path = fluxstate__asprintf("%s/namespace", dir);
		if (!path)
			return FLUXSTATE_ENOMEM;
		if (read_whole(path, &data, &len) == 0) {
			conn->namespace = trim_space(data, len);
			free(data);
			if (conn->namespace && !*conn->namespace) {
				free(conn->namespace);
				conn->namespace = NULL;
			}
		}
		free(path);
		if (!conn->namespace)
			conn->namespace = strdup("default");
	}
	return conn->namespace ? 0 : FLUXSTATE_ENOMEM;
}

static int
user_overrides(const struct fluxstate__load_options *opts)
{
	return !empty(opts->client_certificate) || !empty(opts->client_key) || !empty(opts->token) ||
	       !empty(opts->impersonate_user) || !empty(opts->impersonate_uid) ||
	       (opts->impersonate_groups && opts->impersonate_groups[0]);
}

/*
 * kubectl's --client-certificate/--client-key/--token/--as/--as-uid/--as-group
 * (client-go getAuthInfo: the override AuthInfo merged over the user, a
 * non-empty field wins; kubectl 1.27 and 1.33 observed by tests/parity). The
 * strings stay owned by @opts and the kubeconfig (@u is a shallow copy).
 */
static void
apply_user_overrides(struct kc_user *u, const struct fluxstate__load_options *opts)
{
	/* a file flag leaves the user's -data: both set is kubectl's "both specified" error */
	if (!empty(opts->client_certificate))
		u->cert_file = (char *)opts->client_certificate;
	if (!empty(opts->client_key))
		u->key_file = (char *)opts->client_key;
	if (!empty(opts->token))
		u->token = (char *)opts->token;
	if (!empty(opts->impersonate_user))
		u->as = (char *)opts->impersonate_user;
	if (!empty(opts->impersonate_uid))
		u->as_uid = (char *)opts->impersonate_uid;
	if (opts->impersonate_groups && opts->impersonate_groups[0]) {
		size_t n = 0;

		while (opts->impersonate_groups[n])
			n++;
		u->as_groups = (char **)opts->impersonate_groups;
		u->n_groups = n;
	}
}

int
fluxstate__kubeconfig_resolve(fluxstate_ctx *ctx, const struct fluxstate__kubeconfig *kc,
			      const struct fluxstate__load_options *opts, struct fluxstate__conn **ret)
{
	struct fluxstate__load_options none = { 0 };
	const struct kc_context *context;
	const struct kc_cluster *cluster;
	const struct kc_user *user;
	const char *context_name, *cluster_name, *user_name;
	struct eff_cluster c = { 0 };
	struct kc_user eu = { 0 };
	struct errlist errs;
	struct fluxstate__conn *conn;
	char *sa_dir = NULL;
	int r, empty_cluster;

	if (!ret)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "invalid argument");
	if (!opts)
		opts = &none;
	memset(&errs, 0, sizeof(errs));

	context_name = !empty(opts->context) ? opts->context : kc ? kc->current_context : NULL;
	context = find_context(kc, context_name);
	user_name = !empty(opts->user) ? opts->user : context ? context->user : NULL;
	cluster_name = !empty(opts->cluster) ? opts->cluster : context ? context->cluster : NULL;
	user = find_user(kc, user_name);
	cluster = find_cluster(kc, cluster_name);

	/* client_config.go ClientConfig: explicit names first, in this order */
	if (!empty(opts->user) && !user)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "auth info \"%s\" does not exist", opts->user);
	if (!empty(opts->context) && !context)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "context \"%s\" does not exist", opts->context);
	if (!empty(opts->cluster) && !cluster)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "cluster \"%s\" does not exist", opts->cluster);
	/*
	 * Divergence (intended): kubectl treats a context's dangling cluster
	 * or user reference as empty (then localhost:8080 or a password
	 * prompt); silently talking to something else is worse than failing.
	 */
	if (context && !empty(context->cluster) && !cluster && empty(opts->server))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "cluster \"%s\" referenced by context \"%s\" not found",
					context->cluster, context->name);
	if (context && !empty(context->user) && !user && empty(opts->user))
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG, "user \"%s\" referenced by context \"%s\" not found",
					context->user, context->name);

	/* user overrides: field by field on top of the selected user (mergo.WithOverride) */
	if (user_overrides(opts)) {
		if (user)
			eu = *user;
		eu.name = (char *)(user_name ? user_name : "");
		apply_user_overrides(&eu, opts);
		user = &eu;
	}
	if (cluster) {
		c.server = cluster->server;
		c.tls_server_name = cluster->tls_server_name;
		c.insecure = cluster->insecure;
		c.ca_file = cluster->ca_file;
		c.ca_data = cluster->ca_data;
		c.ca_data_len = cluster->ca_data_len;
		c.proxy_url = cluster->proxy_url;
		c.disable_compression = cluster->disable_compression;
		c.exec_ext_json = cluster->exec_ext_json;
	}
	if (!empty(opts->server))
		c.server = opts->server;
	if (opts->insecure_skip_tls_verify || !empty(opts->certificate_authority)) {
		c.insecure = opts->insecure_skip_tls_verify;
		c.ca_file = opts->certificate_authority;
		c.ca_data = NULL;
		c.ca_data_len = 0;
	}
	if (opts->disable_compression)
		c.disable_compression = 1;
	/* --server drops the kubeconfig's tls-server-name unless one is given too */
	if (!empty(opts->tls_server_name) || !empty(opts->server))
		c.tls_server_name = opts->tls_server_name;

	/* ConfirmUsable: the selected user and cluster only */
	if (!empty(context_name) && !context)
		errlist_add(&errs, "context was not found for specified context: %s", context_name);
	validate_user(&errs, user_name ? user_name : "", user);
	{
		/* a missing current context makes the cluster empty: say only the cause */
		size_t before = errs.n;

		if (before && !empty(context_name) && !context) {
			struct errlist tmp;

			memset(&tmp, 0, sizeof(tmp));
			validate_cluster(&tmp, cluster_name ? cluster_name : "", &c, &empty_cluster);
			if (!empty_cluster && tmp.n)
				errlist_add(&errs, "%s", tmp.buf.data);
			if (tmp.enomem)
				errs.enomem = 1;
			errs.n += tmp.n > 1 ? tmp.n - 1 : 0;
			fluxstate__buf_clear(&tmp.buf);
			empty_cluster = 0;
		} else {
			validate_cluster(&errs, cluster_name ? cluster_name : "", &c, &empty_cluster);
		}
	}
	if (errs.enomem) {
		fluxstate__buf_clear(&errs.buf);
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	}
	if (errs.n == 1 && empty_cluster && !opts->data) {
		/* an empty result: in-cluster config if possible */
		fluxstate__buf_clear(&errs.buf);
		r = in_cluster_possible(opts, &sa_dir);
		if (r < 0)
			return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		if (r == 0)
			return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
						"invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
		conn = calloc(1, sizeof(*conn));
		if (!conn) {
			free(sa_dir);
			return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		}
		r = resolve_in_cluster(ctx, sa_dir, opts, conn);
		free(sa_dir);
		goto done;
	}
	if (errs.n) {
		r = fluxstate__error(ctx, FLUXSTATE_ECONFIG, errs.n > 1 ? "invalid configuration: [%s]" : "invalid configuration: %s",
				     errs.buf.data);
		fluxstate__buf_clear(&errs.buf);
		return r;
	}
	fluxstate__buf_clear(&errs.buf);

	conn = calloc(1, sizeof(*conn));
	if (!conn)
		return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
	r = 0;
	if ((context && !(conn->context_name = strdup(context->name))) ||
	    (cluster_name && !(conn->cluster_name = strdup(cluster_name))) ||
	    (user_name && !(conn->user_name = strdup(user_name))))
		r = FLUXSTATE_ENOMEM;
	if (r == 0) {
		const char *ns = !empty(opts->namespace) ? opts->namespace
				 : context && !empty(context->namespace) ? context->namespace
									: "default";

		if (!(conn->namespace = strdup(ns)))
			r = FLUXSTATE_ENOMEM;
	}
	if (r == 0)
		r = parse_server(ctx, c.server, conn);
	if (r == 0 && !empty(c.proxy_url) && !(conn->proxy_url = strdup(c.proxy_url)))
		r = FLUXSTATE_ENOMEM;
	conn->disable_compression = c.disable_compression;
	if (r == 0)
		r = fill_impersonation(user, conn);
	/* credentials and server identity only over TLS (rest.IsConfigTransportTLS) */
	if (r == 0 && fluxstate__has_prefix(conn->server, "https://")) {
		r = fill_tls(ctx, &c, conn);
		if (r == 0)
			r = fill_auth(ctx, user, user_name ? user_name : "", &c, conn);
	}
done:
	if (r < 0) {
		fluxstate__conn_free(conn);
		if (r == FLUXSTATE_ENOMEM)
			return fluxstate__error(ctx, FLUXSTATE_ENOMEM, "out of memory");
		return r;
	}
	*ret = conn;
	return 0;
}
