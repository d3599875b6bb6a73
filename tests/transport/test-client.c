/*
 * Integration tests for client.c and exec-credential.c against the
 * simulator (tests/kubesim) over HTTPS: every auth method, TLS options,
 * proxy, paging, retries, errors, deadline, concurrency, watch.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec-credential.h"
#include "fluxstate-private.h"
#include "kubesim.h"

#define ADMIN_TOKEN "admin-token-0123456789abcdef"
#define EXEC_TOKEN "exec-token-fedcba9876543210"
#define BASIC_PASSWORD "pw-secret-5678-zzz"

static struct kubesim sim;
static struct kubesim plain;   /* plain-http simulator, stopped in teardown too */
static char logs[1 << 20];     /* everything the library traced */
static size_t logs_len;
static char tmpdir[64];
static pid_t raw_pid;          /* start_raw_server()'s child, killed in teardown too */

static pid_t start_helper(const char *name, const char *log_path, const char *const *extra, int *port);
static int count_items(const struct fluxstate__json *item, void *userdata);

static void
log_fn(const char *message, void *userdata)
{
	size_t n = strlen(message);

	(void)userdata;
	if (getenv("TRANSPORT_VERBOSE"))
		fprintf(stderr, "# %s\n", message);
	if (logs_len + n + 2 < sizeof(logs)) {
		memcpy(logs + logs_len, message, n);
		logs_len += n;
		logs[logs_len++] = '\n';
		logs[logs_len] = '\0';
	}
}

/* Secrets must never show up in traces or messages. */
static void
assert_no_secret(const char *text)
{
	static const char *secrets[] = { ADMIN_TOKEN, EXEC_TOKEN, BASIC_PASSWORD, "not-the-right-token",
					 "PRIVATE KEY", "MII" };
	size_t i;

	if (!text)
		return;
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(text, secrets[i]))
			fail_msg("secret %zu leaked into: %.200s", i, text);
}

static int
group_setup(void **state)
{
	static const char *args[] = { "--state", NULL, "--config", NULL, "--cert-dir", NULL, NULL };
	static char st[512], cfg[512], certs[128];
	int r;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/transport-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(st, sizeof(st), "%s/state.yaml", TRANSPORT_DIR);
	snprintf(cfg, sizeof(cfg), "%s/sim-config.yaml", TRANSPORT_DIR);
	/* the simulator's CA and server certificate also serve the test's own TLS helpers */
	snprintf(certs, sizeof(certs), "%s/certs", tmpdir);
	args[1] = st;
	args[3] = cfg;
	args[5] = certs;
	r = kubesim_start(&sim, args);
	if (r < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	assert_no_secret(logs);
	if (raw_pid > 0 && kill(raw_pid, SIGKILL) == 0)
		waitpid(raw_pid, NULL, 0);
	kubesim_stop(&plain);
	kubesim_stop(&sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static fluxstate_ctx *
new_ctx_for(const struct kubesim *s, const char *context)
{
	fluxstate_ctx *ctx = NULL;

	assert_int_equal(fluxstate_ctx_new(&ctx), 0);
	assert_int_equal(fluxstate_ctx_set_log_fn(ctx, log_fn, NULL), 0);
	if (fluxstate_ctx_load_kubeconfig(ctx, s->kubeconfig, context) < 0)
		fail_msg("loading %s: %s", s->kubeconfig, fluxstate_ctx_get_error(ctx));
	return ctx;
}

static fluxstate_ctx *
new_ctx(const char *context)
{
	return new_ctx_for(&sim, context);
}

/*
 * A context from the simulator's kubeconfig merged after @yaml (written to
 * a file first in $KUBECONFIG), so users and contexts defined there go
 * through the real loader against the simulator's cluster "kubesim".
 */
static fluxstate_ctx *
new_ctx_merged(const char *yaml, const char *context)
{
	fluxstate_ctx *ctx = NULL;
	char extra[128], list[512];
	FILE *f;
	int r;

	snprintf(extra, sizeof(extra), "%s/extra-kubeconfig.yaml", tmpdir);
	f = fopen(extra, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	snprintf(list, sizeof(list), "%s:%s", extra, sim.kubeconfig);
	setenv("KUBECONFIG", list, 1);
	assert_int_equal(fluxstate_ctx_new(&ctx), 0);
	assert_int_equal(fluxstate_ctx_set_log_fn(ctx, log_fn, NULL), 0);
	r = fluxstate_ctx_load_kubeconfig(ctx, NULL, context);
	unsetenv("KUBECONFIG");
	if (r < 0)
		fail_msg("loading %s: %s", list, fluxstate_ctx_get_error(ctx));
	return ctx;
}

/* Drop the client so the next one sees changes made to ctx->conn. */
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

struct items {
	int n;
	int with_data;
	int partial;
	char first[64];
};

static int
items_fn(const struct fluxstate__json *item, void *userdata)
{
	struct items *it = userdata;
	const char *kind = fluxstate__json_str(fluxstate__json_get(item, "kind"));

	if (it->n == 0)
		snprintf(it->first, sizeof(it->first), "%s",
			 fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL))
				 ? fluxstate__json_str(fluxstate__json_path(item, "metadata", "name", NULL))
				 : "");
	it->n++;
	if (fluxstate__json_get(item, "data"))
		it->with_data++;
	if (fluxstate__streq(kind, "PartialObjectMetadata"))
		it->partial++;
	return 0;
}

/* List configmaps in @ns with one client run. */
static void
list_cm(fluxstate_ctx *ctx, const char *ns, unsigned int page_size, int metadata_only, unsigned int timeout_ms,
	struct fluxstate__result *res, struct items *it)
{
	struct fluxstate__client *c = ctx->client ? ctx->client : client_of(ctx);
	struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = ns,
				      .page_size = page_size, .metadata_only = metadata_only };

	memset(it, 0, sizeof(*it));
	assert_int_equal(fluxstate__client_add(c, &q, items_fn, it, res), 0);
	assert_int_equal(fluxstate__client_run(c, fluxstate__now_ms() + timeout_ms), 0);
	assert_no_secret(res->message);
	assert_no_secret(fluxstate_ctx_get_error(ctx));
}

/* Request-log lines containing every needle. */
static int
log_lines(const struct kubesim *s, ...)
{
	FILE *f = fopen(s->log_path, "r");
	char line[16384];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		va_list ap;
		const char *needle;
		int all = 1;

		va_start(ap, s);
		while ((needle = va_arg(ap, const char *)))
			if (!strstr(line, needle))
				all = 0;
		va_end(ap);
		n += all;
	}
	fclose(f);
	return n;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *
read_text(const char *path)
{
	char *data = NULL;
	size_t len;

	if (fluxstate__read_file(path, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}

/* ------------------------------------------------------------------------ */

static void
test_token_and_paging(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	list_cm(ctx, "paging", 3, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	assert_int_equal(res.n_items, 7);
	assert_int_equal(res.n_requests, 3);
	assert_int_equal(res.http_status, 200);
	assert_non_null(res.resource_version);
	assert_false(res.restarted);
	assert_string_equal(it.first, "cm-00");
	assert_int_equal(log_lines(&sim, "/namespaces/paging/configmaps", "limit=3", "\"user\": \"admin\"", NULL), 3);
	assert_int_equal(log_lines(&sim, "/namespaces/paging/configmaps", "continue=", NULL), 2);
	assert_int_equal(log_lines(&sim, "/namespaces/paging/configmaps", "limit=3", "fluxstate/0.1.0 (linux/", NULL), 3);
	assert_int_equal(log_lines(&sim, "/namespaces/paging/configmaps", "limit=3", "\"accept-encoding\": \"gzip\"", NULL), 3);
	assert_non_null(strstr(logs, "GET /api/v1/namespaces/paging/configmaps?limit=3 -> 200"));
	/* default page size */
	fluxstate__result_clear(&res);
	list_cm(ctx, "paging", 0, 0, 10000, &res, &it);
	assert_int_equal(it.n, 7);
	assert_int_equal(log_lines(&sim, "/namespaces/paging/configmaps", "limit=500", NULL), 1);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_basic_auth(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-basic-user");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	assert_true(ctx->conn->has_basic);
	list_cm(ctx, "conc", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 2);
	assert_int_equal(log_lines(&sim, "/namespaces/conc/configmaps", "\"user\": \"basic-user\"", "Basic sha256:",
				   NULL), 1);
	fluxstate__result_clear(&res);
	/* a wrong password: 401 -> EAUTH */
	fluxstate__free_secret(ctx->conn->password);
	ctx->conn->password = strdup("wrong-password");
	client_of(ctx);
	list_cm(ctx, "conc", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EAUTH);
	assert_int_equal(res.http_status, 401);
	assert_string_equal(res.reason, "Unauthorized");
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_client_cert(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-cert-user");
	struct fluxstate__result res;
	struct items it;
	int before = log_lines(&sim, "\"clientCertCN\": \"cert-user\"", "/namespaces/t429text/", NULL);

	(void)state;
	assert_non_null(ctx->conn->client_cert_pem);
	assert_null(ctx->conn->token);
	list_cm(ctx, "paging", 100, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	assert_int_equal(log_lines(&sim, "/namespaces/paging/configmaps", "\"clientCertCN\": \"cert-user\"",
				   "limit=100", NULL), 1);
	assert_int_equal(log_lines(&sim, "limit=100", "authorization", NULL), 0);
	fluxstate__result_clear(&res);
	/* token + certificate: both are sent */
	ctx->conn->token = strdup(ADMIN_TOKEN);
	client_of(ctx);
	list_cm(ctx, "paging", 101, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(log_lines(&sim, "limit=101", "\"clientCertCN\": \"cert-user\"", "Bearer sha256:", NULL), 1);
	fluxstate__result_clear(&res);
	(void)before;
	/* an encrypted key that got past the loader: an error, not a crash in libcurl */
	{
		char path[512], *key;
		size_t len;

		snprintf(path, sizeof(path), "%s/../kubeconfig/cases/pki/client-encrypted.key", TRANSPORT_DIR);
		assert_int_equal(fluxstate__read_file(path, 1 << 20, &key, &len), 0);
		fluxstate__free_secret_n(ctx->conn->client_key_pem, ctx->conn->client_key_pem_len);
		ctx->conn->client_key_pem = (unsigned char *)key;
		ctx->conn->client_key_pem_len = len;
		client_of(ctx);
		list_cm(ctx, "paging", 102, 0, 10000, &res, &it);
		print_message("# encrypted key: %d %s\n", res.code, res.message);
		assert_int_equal(res.code, FLUXSTATE_ENETWORK);
		assert_int_equal(log_lines(&sim, "limit=102", NULL), 0);
		fluxstate__result_clear(&res);
	}
	fluxstate_ctx_free(ctx);
}

static void
test_token_file(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	write_file(path, "  " ADMIN_TOKEN "\n\n");
	ctx->conn->token_file = strdup(path);
	fluxstate__free_secret(ctx->conn->token);
	ctx->conn->token = NULL;
	client_of(ctx);
	list_cm(ctx, "paging", 200, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	fluxstate__result_clear(&res);

	/* re-read on every use: a wrong token now gives 401 */
	write_file(path, "something-else\n");
	list_cm(ctx, "paging", 200, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EAUTH);
	assert_int_equal(res.http_status, 401);
	fluxstate__result_clear(&res);

	/* whitespace only: an error before any request */
	write_file(path, " \n\t\n");
	list_cm(ctx, "paging", 200, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EAUTH);
	assert_int_equal(res.n_requests, 0);
	if (!strstr(res.message, "is empty"))
		fail_msg("message: %s", res.message);
	fluxstate__result_clear(&res);

	/* unreadable file: the token field is the fallback; without it an error */
	unlink(path);
	list_cm(ctx, "paging", 200, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EAUTH);
	assert_non_null(strstr(res.message, ": no such file or directory"));
	fluxstate__result_clear(&res);
	ctx->conn->token = strdup(ADMIN_TOKEN);
	client_of(ctx);
	list_cm(ctx, "paging", 200, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

/* Replace the connection's credentials with an exec plugin. */
static void
use_exec(fluxstate_ctx *ctx, const char *mode, const char *api_version, int provide_cluster_info, const char *plugin_dir)
{
	struct fluxstate__exec_config *e = calloc(1, sizeof(*e));
	char buf[256];

	assert_non_null(e);
	fluxstate__free_secret(ctx->conn->token);
	ctx->conn->token = NULL;
	snprintf(buf, sizeof(buf), "%s/fake-exec-plugin.sh", TRANSPORT_DIR);
	e->command = strdup(buf);
	e->args = calloc(4, sizeof(char *));
	e->args[0] = strdup(mode);
	e->args[1] = strdup(api_version);
	e->args[2] = strdup("arg with spaces");
	e->env = calloc(3, sizeof(char *));
	e->env[0] = strdup("FAKE_TOKEN=" EXEC_TOKEN);
	snprintf(buf, sizeof(buf), "FAKE_PLUGIN_DIR=%s", plugin_dir);
	e->env[1] = strdup(buf);
	e->api_version = strdup(api_version);
	e->install_hint = strdup("install the fake plugin\x1b[0m");
	e->provide_cluster_info = provide_cluster_info;
	e->interactive_mode = FLUXSTATE__INTERACTIVE_NEVER;
	e->cluster_config_json = provide_cluster_info ? strdup("{\"audience\":\"x\"}") : NULL;
	ctx->conn->exec = e;
	client_of(ctx);
}

static int
plugin_runs(const char *dir)
{
	char path[256], *t;
	int n = 0;

	snprintf(path, sizeof(path), "%s/runs", dir);
	t = read_text(path);
	for (char *p = t; p && *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

static void
plugin_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	mkdir(buf, 0700);
}

static void
test_exec_v1(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char dir[128], path[192], *info, *args;

	(void)state;
	plugin_dir(dir, sizeof(dir), "exec-v1");
	use_exec(ctx, "ok", "client.authentication.k8s.io/v1", 0, dir);
	list_cm(ctx, "paging", 300, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	assert_int_equal(log_lines(&sim, "limit=300", "\"user\": \"exec-user\"", NULL), 1);
	fluxstate__result_clear(&res);
	/* cached until expiry: a second run does not start the plugin again */
	list_cm(ctx, "paging", 300, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(plugin_runs(dir), 1);
	fluxstate__result_clear(&res);

	snprintf(path, sizeof(path), "%s/exec-info", dir);
	info = read_text(path);
	assert_non_null(info);
	assert_string_equal(info, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
				  "\"spec\":{\"interactive\":false}}\n");
	free(info);
	snprintf(path, sizeof(path), "%s/args", dir);
	args = read_text(path);
	assert_string_equal(args, "ok\nclient.authentication.k8s.io/v1\narg with spaces\n");
	free(args);
	/* no connection, pipe or file of the library leaks into the plugin (the shell's own script fd aside) */
	snprintf(path, sizeof(path), "%s/fds", dir);
	args = read_text(path);
	snprintf(path, sizeof(path), "%s/fds-what", dir);
	info = read_text(path);
	if (!args || !info)
		fail_msg("the plugin recorded no descriptors");
	{
		char *tok, *save = NULL;

		for (tok = strtok_r(args, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			char want[32], *line;

			if (strcmp(tok, "0") == 0 || strcmp(tok, "1") == 0 || strcmp(tok, "2") == 0)
				continue;
			snprintf(want, sizeof(want), "%s=", tok);
			line = strstr(info, want);
			if (!line || (line != info && line[-1] != '\n') ||
			    strncmp(strchr(line, '\n') - strlen("fake-exec-plugin.sh"), "fake-exec-plugin.sh",
				    strlen("fake-exec-plugin.sh")) != 0)
				fail_msg("descriptor %s leaked into the plugin:\n%s", tok, info);
		}
	}
	free(args);
	free(info);
	fluxstate_ctx_free(ctx);
}

static void
test_exec_v1beta1_cluster_info(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char dir[128], path[192], *info, prefix[512];

	(void)state;
	plugin_dir(dir, sizeof(dir), "exec-v1beta1");
	use_exec(ctx, "ok", "client.authentication.k8s.io/v1beta1", 1, dir);
	list_cm(ctx, "paging", 301, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(log_lines(&sim, "limit=301", "\"user\": \"exec-user\"", NULL), 1);
	fluxstate__result_clear(&res);
	snprintf(path, sizeof(path), "%s/exec-info", dir);
	info = read_text(path);
	assert_non_null(info);
	snprintf(prefix, sizeof(prefix),
		 "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
		 "\"spec\":{\"cluster\":{\"server\":\"%s\",\"certificate-authority-data\":\"LS0t", sim.url);
	assert_true(strncmp(info, prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(info, "\"config\":{\"audience\":\"x\"}},\"interactive\":false}}\n"));
	free(info);
	/* <, > and & as Go's encoding/json writes them (kubectl's exec info is byte-for-byte this) */
	ctx->conn->proxy_url = strdup("http://proxy.test:3128/?a=<1>&b=\x01\n");
	info = fluxstate__exec_info_json(ctx->conn, 0);
	assert_non_null(info);
	if (!strstr(info, "\"proxy-url\":\"http://proxy.test:3128/?a=\\u003c1\\u003e\\u0026b=\\u0001\\n\""))
		fail_msg("exec info: %s", info);
	free(info);
	fluxstate_ctx_free(ctx);
}

static void
test_exec_yaml_and_expiry(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char dir[128];

	(void)state;
	plugin_dir(dir, sizeof(dir), "exec-yaml");
	use_exec(ctx, "yaml", "client.authentication.k8s.io/v1", 0, dir);
	list_cm(ctx, "paging", 302, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	fluxstate__result_clear(&res);

	/*
	 * A credential that arrives already expired: used for the rest of its
	 * operation (3 pages, one run), not fetched again for every request;
	 * the next operation runs the plugin again.
	 */
	plugin_dir(dir, sizeof(dir), "exec-expired");
	fluxstate_ctx_free(ctx);
	ctx = new_ctx("kubesim-admin");
	use_exec(ctx, "expired", "client.authentication.k8s.io/v1", 0, dir);
	list_cm(ctx, "paging", 3, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.n_requests, 3);
	assert_int_equal(plugin_runs(dir), 1);
	fluxstate__result_clear(&res);
	list_cm(ctx, "paging", 3, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(plugin_runs(dir), 2);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_exec_rerun_on_401(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char dir[128];

	(void)state;
	plugin_dir(dir, sizeof(dir), "exec-401");
	use_exec(ctx, "bad-first", "client.authentication.k8s.io/v1", 0, dir);
	list_cm(ctx, "paging", 303, 0, 10000, &res, &it);
	/* the 401 is reported (the request is not retried), the plugin re-ran once */
	assert_int_equal(res.code, FLUXSTATE_EAUTH);
	assert_int_equal(res.http_status, 401);
	assert_int_equal(res.n_requests, 1);
	assert_int_equal(plugin_runs(dir), 2);
	fluxstate__result_clear(&res);
	/* the refreshed credential works for the next run */
	list_cm(ctx, "paging", 303, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(plugin_runs(dir), 2);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

/* A failing plugin runs once per operation, not once for each of its requests. */
static void
test_exec_failure_once_per_operation(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__client *c;
	struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = "paging" };
	struct fluxstate__result res[3];
	struct items it[3];
	char dir[128];
	size_t i;

	(void)state;
	plugin_dir(dir, sizeof(dir), "exec-fail-once");
	use_exec(ctx, "fail", "client.authentication.k8s.io/v1", 0, dir);
	c = ctx->client ? ctx->client : client_of(ctx);
	memset(res, 0, sizeof(res));
	memset(it, 0, sizeof(it));
	for (i = 0; i < 3; i++)
		assert_int_equal(fluxstate__client_add(c, &q, items_fn, &it[i], &res[i]), 0);
	assert_int_equal(fluxstate__client_run(c, fluxstate__now_ms() + 10000), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(res[i].code, FLUXSTATE_EAUTH);
		assert_non_null(strstr(res[i].message, "failed with exit code 3"));
		fluxstate__result_clear(&res[i]);
	}
	assert_int_equal(plugin_runs(dir), 1);
	/* the next operation tries again */
	list_cm(ctx, "paging", 304, 0, 10000, &res[0], &it[0]);
	assert_int_equal(res[0].code, FLUXSTATE_EAUTH);
	fluxstate__result_clear(&res[0]);
	assert_int_equal(plugin_runs(dir), 2);
	fluxstate_ctx_free(ctx);
}

static void
test_exec_errors(void **state)
{
	static const struct {
		const char *mode, *message;
	} cases[] = {
		{ "wrong-version", "getting credentials: exec plugin is configured to use API version "
				   "client.authentication.k8s.io/v1, plugin returned version client.authentication.k8s.io/v1beta1" },
		{ "no-status", "getting credentials: exec plugin didn't return a status field" },
		{ "empty-status", "getting credentials: exec plugin didn't return a token or cert/key pair" },
		{ "cert-only", "getting credentials: exec plugin returned only certificate or key, not both" },
		{ "fail", "getting credentials: exec: executable " },
		{ "garbage", "getting credentials: decoding stdout: couldn't get version/kind; json parse error: " },
		{ "cert-encrypted", "getting credentials: tls: failed to parse private key: "
				    "the key the exec plugin returned is encrypted" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fluxstate_ctx *ctx = new_ctx("kubesim-admin");
		struct fluxstate__result res;
		struct items it;
		char dir[128];

		plugin_dir(dir, sizeof(dir), cases[i].mode);
		use_exec(ctx, cases[i].mode, "client.authentication.k8s.io/v1", 0, dir);
		list_cm(ctx, "paging", 304, 0, 10000, &res, &it);
		assert_int_equal(res.code, FLUXSTATE_EAUTH);
		assert_int_equal(res.n_requests, 0);
		if (strncmp(res.message, cases[i].message, strlen(cases[i].message)) != 0)
			fail_msg("%s: %s", cases[i].mode, res.message);
		if (strcmp(cases[i].mode, "fail") == 0)
			assert_non_null(strstr(res.message, "failed with exit code 3"));
		fluxstate__result_clear(&res);
		fluxstate_ctx_free(ctx);
	}
	/* not installed: client-go's long message with the escaped install hint */
	{
		fluxstate_ctx *ctx = new_ctx("kubesim-admin");
		struct fluxstate__result res;
		struct items it;
		char dir[128];

		plugin_dir(dir, sizeof(dir), "missing");
		use_exec(ctx, "ok", "client.authentication.k8s.io/v1", 0, dir);
		free(ctx->conn->exec->command);
		ctx->conn->exec->command = strdup("no-such-credential-plugin-xyz");
		client_of(ctx);
		list_cm(ctx, "paging", 304, 0, 10000, &res, &it);
		assert_int_equal(res.code, FLUXSTATE_EAUTH);
		assert_string_equal(res.message,
				    "getting credentials: exec: executable no-such-credential-plugin-xyz not found\n\n"
				    "It looks like you are trying to use a client-go credential plugin that is not installed.\n\n"
				    "To learn more about this feature, consult the documentation available at:\n"
				    "      https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
				    "#client-go-credential-plugins\n\ninstall the fake pluginU+001B[0m");
		fluxstate__result_clear(&res);
		fluxstate_ctx_free(ctx);
	}
	/* interactiveMode Always without a terminal on stdin */
	if (!isatty(STDIN_FILENO)) {
		fluxstate_ctx *ctx = new_ctx("kubesim-admin");
		struct fluxstate__result res;
		struct items it;
		char dir[128];

		plugin_dir(dir, sizeof(dir), "always");
		use_exec(ctx, "ok", "client.authentication.k8s.io/v1", 0, dir);
		ctx->conn->exec->interactive_mode = FLUXSTATE__INTERACTIVE_ALWAYS;
		list_cm(ctx, "paging", 304, 0, 10000, &res, &it);
		assert_int_equal(res.code, FLUXSTATE_EAUTH);
		assert_string_equal(res.message, "getting credentials: exec plugin cannot support interactive mode: "
						 "standard input is not a terminal");
		assert_int_equal(plugin_runs(dir), 0);
		fluxstate__result_clear(&res);
		fluxstate_ctx_free(ctx);
	}
	assert_int_equal(log_lines(&sim, "limit=304", NULL), 0);
}

/* A plugin that hangs, or closes stdout and keeps running, cannot outlast the deadline. */
static void
test_exec_deadline(void **state)
{
	static const char *const modes[] = { "hang", "close-stdout", "hang-with-child" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		fluxstate_ctx *ctx = new_ctx("kubesim-admin");
		struct fluxstate__result res;
		struct items it;
		char dir[128];
		uint64_t t0, took;

		plugin_dir(dir, sizeof(dir), modes[i]);
		use_exec(ctx, modes[i], "client.authentication.k8s.io/v1", 0, dir);
		t0 = fluxstate__now_ms();
		list_cm(ctx, "paging", 314, 0, 800, &res, &it);
		took = fluxstate__now_ms() - t0;
		print_message("# exec %s: %d after %llu ms: %s\n", modes[i], res.code, (unsigned long long)took,
			      res.message);
		assert_int_equal(res.code, FLUXSTATE_ETIMEDOUT);
		assert_int_equal(res.n_requests, 0);
		assert_true(took >= 750 && took < 2500);
		assert_non_null(strstr(res.message, "did not finish before the deadline"));
		assert_int_equal(plugin_runs(dir), 1);
		if (strcmp(modes[i], "hang-with-child") == 0) {
			/* what the plugin started dies with it (its process group is killed) */
			char path[192], *pid_text;
			long child;
			int dead = 0, tries;

			snprintf(path, sizeof(path), "%s/child-pid", dir);
			pid_text = read_text(path);
			assert_non_null(pid_text);
			child = strtol(pid_text, NULL, 10);
			free(pid_text);
			assert_true(child > 1);
			for (tries = 0; tries < 100 && !dead; tries++) {
				char stat_path[64], *st;

				snprintf(stat_path, sizeof(stat_path), "/proc/%ld/stat", child);
				st = read_text(stat_path);
				/* gone, or a zombie waiting for init to reap it */
				dead = !st || (strchr(st, ')') && strncmp(strrchr(st, ')'), ") Z", 3) == 0);
				free(st);
				if (!dead)
					usleep(20000);
			}
			if (!dead) {
				kill((pid_t)child, SIGKILL);
				fail_msg("the plugin's child %ld outlived the timeout", child);
			}
		}
		fluxstate__result_clear(&res);
		fluxstate_ctx_free(ctx);
	}
	assert_int_equal(log_lines(&sim, "limit=314", NULL), 0);
}

static void
test_impersonation(void **state)
{
	fluxstate_ctx *ctx = new_ctx_merged(
		"users:\n- name: imp\n  user:\n    token: " ADMIN_TOKEN "\n    as: jane\n    as-uid: \"1234\"\n"
		"    as-groups: [devs, ops]\n    as-user-extra: {scopes/x: [view, edit], reason: [audit]}\n"
		"contexts: [{name: imp, context: {cluster: kubesim, user: imp}}]\n",
		"imp");
	struct fluxstate__result res;
	struct items it;
	char log_path[128], cert[128], key[128], url[64], *log;
	const char *extra[] = { "--cert", cert, "--key", key, NULL };
	int port = 0;
	pid_t pid;

	(void)state;
	/* the simulator sees who is impersonated (it logs the user and first group) */
	list_cm(ctx, "paging", 305, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(log_lines(&sim, "limit=305", "\"impersonate-user\": \"jane\"", "\"impersonate-group\": \"devs, ops\"",
				   NULL), 1);
	fluxstate__result_clear(&res);

	/* every header, as sent, recorded by header-echo.py (same CA, same name) */
	snprintf(log_path, sizeof(log_path), "%s/echo.log", tmpdir);
	snprintf(cert, sizeof(cert), "%s/certs/server.crt", tmpdir);
	snprintf(key, sizeof(key), "%s/certs/server.key", tmpdir);
	pid = start_helper("header-echo.py", log_path, extra, &port);
	free(ctx->conn->server);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	ctx->conn->server = strdup(url);
	client_of(ctx);
	list_cm(ctx, "paging", 316, 0, 10000, &res, &it);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	assert_int_equal(res.code, 0);
	fluxstate__result_clear(&res);
	log = read_text(log_path);
	if (!log)
		fail_msg("header-echo.py logged nothing");
	assert_non_null(strstr(log, "[\"Authorization\", \"Bearer sha256:"));
	assert_non_null(strstr(log, "[\"Impersonate-User\", \"jane\"]"));
	assert_non_null(strstr(log, "[\"Impersonate-Uid\", \"1234\"]"));
	assert_non_null(strstr(log, "[\"Impersonate-Group\", \"devs\"], [\"Impersonate-Group\", \"ops\"]"));
	assert_non_null(strstr(log, "[\"Impersonate-Extra-reason\", \"audit\"]"));
	assert_non_null(strstr(log, "[\"Impersonate-Extra-scopes%2Fx\", \"view\"], [\"Impersonate-Extra-scopes%2Fx\", \"edit\"]"));
	assert_no_secret(log);
	free(log);
	fluxstate_ctx_free(ctx);
}

/* auth-provider oidc: the id-token is the bearer token */
static void
test_oidc_id_token(void **state)
{
	fluxstate_ctx *ctx = new_ctx_merged(
		"users:\n- name: oidc\n  user:\n    auth-provider:\n      name: oidc\n      config:\n"
		"        client-id: fluxstate\n        idp-issuer-url: https://issuer.example\n"
		"        id-token: " EXEC_TOKEN "\n        refresh-token: SECRET-refresh\n"
		"contexts: [{name: oidc, context: {cluster: kubesim, user: oidc}}]\n",
		"oidc");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	assert_string_equal(fluxstate__conn_auth_method(ctx->conn), "oidc");
	list_cm(ctx, "paging", 315, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	assert_int_equal(log_lines(&sim, "limit=315", "\"user\": \"exec-user\"", "Bearer sha256:", NULL), 1);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_tls_server_name(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char host[64];

	(void)state;
	ctx->conn->tls_server_name = strdup("kubesim.test");
	client_of(ctx);
	list_cm(ctx, "paging", 306, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	snprintf(host, sizeof(host), "\"host\": \"127.0.0.1:%d\"", sim.port);
	assert_int_equal(log_lines(&sim, "limit=306", "\"sni\": \"kubesim.test\"", host, NULL), 1);
	fluxstate__result_clear(&res);
	/* a name the certificate does not carry: verification fails */
	free(ctx->conn->tls_server_name);
	ctx->conn->tls_server_name = strdup("wrong.example");
	client_of(ctx);
	list_cm(ctx, "paging", 307, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	assert_non_null(res.message);
	print_message("# wrong tls-server-name: %s\n", res.message);
	fluxstate__result_clear(&res);
	/* the CA is the only trust anchor: another CA fails, insecure works */
	free(ctx->conn->tls_server_name);
	ctx->conn->tls_server_name = NULL;
	ctx->conn->insecure_skip_tls_verify = 1;
	fluxstate__free_secret_n(ctx->conn->ca_pem, ctx->conn->ca_pem_len);
	ctx->conn->ca_pem = NULL;
	ctx->conn->ca_pem_len = 0;
	client_of(ctx);
	list_cm(ctx, "paging", 308, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	fluxstate__result_clear(&res);
	ctx->conn->insecure_skip_tls_verify = 0;
	client_of(ctx); /* system roots only: the simulator's CA is unknown */
	list_cm(ctx, "paging", 309, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

/*
 * Start the Python helper tests/transport/@name (or the program at path
 * @name) with --log @log_path and @extra (NULL-terminated, may be NULL);
 * returns its pid, port in *port.
 */
static pid_t
start_helper(const char *name, const char *log_path, const char *const *extra, int *port)
{
	int fds[2];
	pid_t pid;
	char buf[256] = "", script[256];
	size_t len = 0;

	snprintf(script, sizeof(script), "%s/%s", TRANSPORT_DIR, name);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a .py helper runs under python3; anything else is a program (a path) */
		int py = fluxstate__has_suffix(name, ".py");
		const char *argv[16] = { "python3", script, "--log", log_path };
		size_t n = 4;

		if (!py) {
			argv[0] = name;
			argv[1] = "--log";
			argv[2] = log_path;
			n = 3;
		}
		while (extra && *extra && n < 15)
			argv[n++] = *extra++;
		argv[n] = NULL;
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(py ? "/usr/bin/python3" : name, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 && !strchr(buf, '\n')) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	close(fds[0]);
	if (sscanf(buf, "listening on 127.0.0.1:%d", port) != 1) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		fail_msg("%s did not start: %s", name, buf);
	}
	return pid;
}

static pid_t
start_proxy(const char *log_path, int *port)
{
	return start_helper("connect-proxy.py", log_path, NULL, port);
}

static void
test_proxy_url(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char log_path[128], url[64], want[64], *plog;
	int port = 0;
	pid_t pid;

	(void)state;
	snprintf(log_path, sizeof(log_path), "%s/proxy.log", tmpdir);
	pid = start_proxy(log_path, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	ctx->conn->proxy_url = strdup(url);
	client_of(ctx);
	/* a proxy-url is used even for hosts $NO_PROXY names (Go's http.ProxyURL ignores it) */
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	list_cm(ctx, "paging", 310, 0, 10000, &res, &it);
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	plog = read_text(log_path);
	snprintf(want, sizeof(want), "CONNECT 127.0.0.1:%d HTTP/1.1", sim.port);
	assert_non_null(plog);
	assert_non_null(strstr(plog, want));
	free(plog);
	fluxstate__result_clear(&res);

	/* socks5:// resolves names on the proxy (curl's socks5h) */
	pid = start_proxy(log_path, &port);
	free(ctx->conn->proxy_url);
	snprintf(url, sizeof(url), "socks5://127.0.0.1:%d", port);
	ctx->conn->proxy_url = strdup(url);
	client_of(ctx);
	list_cm(ctx, "paging", 313, 0, 10000, &res, &it);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 7);
	plog = read_text(log_path);
	/* an IP literal goes as an IPv4 address even with socks5h */
	snprintf(want, sizeof(want), "SOCKS5 ipv4 127.0.0.1:%d", sim.port);
	assert_non_null(plog);
	if (!strstr(plog, want))
		fail_msg("proxy log: %s", plog);
	free(plog);
	fluxstate__result_clear(&res);
	/* https:// proxy, verified like the API server (client-go uses one TLS config for both) */
	{
		char cert[128], key[128];
		const char *extra[] = { "--tls", cert, key, NULL };

		snprintf(cert, sizeof(cert), "%s/certs/server.crt", tmpdir);
		snprintf(key, sizeof(key), "%s/certs/server.key", tmpdir);
		unlink(log_path);
		pid = start_helper("connect-proxy.py", log_path, extra, &port);
		free(ctx->conn->proxy_url);
		snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
		ctx->conn->proxy_url = strdup(url);
		client_of(ctx);
		list_cm(ctx, "paging", 317, 0, 10000, &res, &it);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		plog = read_text(log_path);
		if (res.code != 0)
			fail_msg("https proxy: %s; proxy log: %s", res.message, plog ? plog : "(none)");
		assert_int_equal(it.n, 7);
		snprintf(want, sizeof(want), "TLS\nCONNECT 127.0.0.1:%d HTTP/1.1", sim.port);
		assert_non_null(plog);
		assert_non_null(strstr(plog, want));
		free(plog);
		fluxstate__result_clear(&res);
	}
	/* a proxy URL libcurl cannot parse: its message quotes the URL, never the password */
	free(ctx->conn->proxy_url);
	ctx->conn->proxy_url = strdup("http://user:" BASIC_PASSWORD "/x@127.0.0.1:1");
	client_of(ctx);
	list_cm(ctx, "paging", 318, 0, 10000, &res, &it); /* list_cm checks the message for secrets */
	print_message("# unparsable proxy: %s\n", res.message);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	assert_non_null(strstr(res.message, "xxxxx"));
	fluxstate__result_clear(&res);
	/* a proxy that is not there: a network error naming the proxy, but no secret */
	free(ctx->conn->proxy_url);
	snprintf(url, sizeof(url), "http://user:" BASIC_PASSWORD "@127.0.0.1:%d", port); /* stopped now */
	ctx->conn->proxy_url = strdup(url);
	client_of(ctx);
	list_cm(ctx, "paging", 311, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	snprintf(want, sizeof(want), "through the proxy http://127.0.0.1:%d: ", port);
	print_message("# proxy gone: %s\n", res.message);
	if (!strstr(res.message, want) || strstr(res.message, "user"))
		fail_msg("message: %s", res.message);
	fluxstate__result_clear(&res);

	/*
	 * $HTTPS_PROXY does not apply to a loopback API server (Go's
	 * ProxyFromEnvironment, so kubectl): the request goes straight there
	 * although the proxy named is not even listening.
	 */
	free(ctx->conn->proxy_url);
	ctx->conn->proxy_url = NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	setenv("HTTPS_PROXY", url, 1);
	setenv("https_proxy", url, 1);
	client_of(ctx);
	list_cm(ctx, "paging", 319, 0, 10000, &res, &it);
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	if (res.code != 0)
		fail_msg("loopback through $HTTPS_PROXY: %s", res.message);
	assert_int_equal(it.n, 7);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_path_prefix(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	free(ctx->conn->path_prefix);
	ctx->conn->path_prefix = strdup("/pfx");
	client_of(ctx);
	list_cm(ctx, "paging", 312, 0, 10000, &res, &it);
	/* the simulator serves no prefix: the prefixed path reached it and was not found */
	assert_int_equal(res.code, 0);
	assert_true(res.not_found);
	assert_int_equal(log_lines(&sim, "\"path\": \"/pfx/api/v1/namespaces/paging/configmaps\"", "limit=312", NULL), 1);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_restart_on_410(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	list_cm(ctx, "restart", 2, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_true(res.restarted);
	assert_int_equal(res.n_items, 5);   /* the consistent second listing */
	assert_int_equal(it.n, 2 + 5);      /* item_fn saw the first page before the restart */
	assert_int_equal(res.n_requests, 2 + 3);
	assert_int_equal(log_lines(&sim, "/namespaces/restart/configmaps", "\"status\": 410", NULL), 1);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_retry_429_and_5xx(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	uint64_t t0;

	(void)state;
	list_cm(ctx, "t429", 0, 0, 20000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 2);
	assert_int_equal(res.n_requests, 3);
	fluxstate__result_clear(&res);

	/* APF's text 429 with Retry-After: 1 */
	t0 = fluxstate__now_ms();
	list_cm(ctx, "t429text", 0, 0, 20000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.n_requests, 2);
	assert_true(fluxstate__now_ms() - t0 >= 1000);
	fluxstate__result_clear(&res);

	/* always 503: at most 10 retries */
	t0 = fluxstate__now_ms();
	list_cm(ctx, "t5xx", 0, 0, 30000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ERROR);
	assert_int_equal(res.http_status, 503);
	assert_int_equal(res.n_requests, 11);
	assert_string_equal(res.reason, "ServiceUnavailable");
	print_message("# 503 x11 took %llu ms: %s\n", (unsigned long long)(fluxstate__now_ms() - t0), res.message);
	fluxstate__result_clear(&res);

	/* never past the deadline: Retry-After 5 s with 2 s left is not waited for */
	t0 = fluxstate__now_ms();
	list_cm(ctx, "t429long", 0, 0, 2000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ERROR);
	assert_int_equal(res.http_status, 429);
	assert_int_equal(res.n_requests, 1);
	assert_true(fluxstate__now_ms() - t0 < 1000);
	/* APF answers in plain text: the message quotes it */
	assert_string_equal(res.message, "the server responded 429: Too many requests, please try again later.");
	assert_string_equal(res.reason, "TooManyRequests");
	fluxstate__result_clear(&res);

	/* 500 without Retry-After: not retried */
	list_cm(ctx, "t500", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ERROR);
	assert_int_equal(res.n_requests, 1);
	assert_int_equal(res.http_status, 500);
	assert_non_null(strstr(res.message, "kubesim injected fault"));
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_forbidden_and_not_found(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__client *c = client_of(ctx);
	struct fluxstate__result res, res2, res3;
	struct items it, it2, it3;
	struct fluxstate__query q2 = { .group = "nope.example.com", .version = "v1", .resource = "things" };
	struct fluxstate__query q3 = { .version = "v1", .resource = "configmaps", .namespace = "paging", .name = "nope" };

	(void)state;
	(void)c;
	list_cm(ctx, "tdeny", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EAUTH);
	assert_int_equal(res.http_status, 403);
	assert_string_equal(res.reason, "Forbidden");
	assert_string_equal(res.message, "configmaps is forbidden: User \"admin\" cannot list resource \"configmaps\" "
					 "in API group \"\" in the namespace \"tdeny\"");
	fluxstate__result_clear(&res);

	memset(&it2, 0, sizeof(it2));
	memset(&it3, 0, sizeof(it3));
	assert_int_equal(fluxstate__client_add(ctx->client, &q2, items_fn, &it2, &res2), 0);
	assert_int_equal(fluxstate__client_add(ctx->client, &q3, items_fn, &it3, &res3), 0);
	assert_int_equal(fluxstate__client_run(ctx->client, fluxstate__now_ms() + 10000), 0);
	assert_int_equal(res2.code, 0);
	assert_true(res2.not_found);
	assert_int_equal(res2.http_status, 404);
	assert_string_equal(res2.message, "the server could not find the requested resource");
	assert_int_equal(res3.code, 0);
	assert_true(res3.not_found);
	assert_string_equal(res3.message, "configmaps \"nope\" not found");
	assert_int_equal(it2.n + it3.n, 0);
	fluxstate__result_clear(&res2);
	fluxstate__result_clear(&res3);
	fluxstate_ctx_free(ctx);
}

static void
test_metadata_only(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	list_cm(ctx, "tmeta", 0, 1, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(it.n, 2);
	assert_int_equal(it.partial, 2);
	assert_int_equal(it.with_data, 0);
	assert_int_equal(log_lines(&sim, "/namespaces/tmeta/configmaps", "as=PartialObjectMetadataList", NULL), 1);
	fluxstate__result_clear(&res);

	/* 406: fall back to plain JSON */
	list_cm(ctx, "tmeta406", 0, 1, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.n_requests, 2);
	assert_int_equal(it.n, 2);
	assert_int_equal(it.with_data, 2);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_plain_http_sends_no_credentials(void **state)
{
	static const char *args[] = { "--state", NULL, "--config", NULL, "--plain-http", NULL };
	char st[512], cfg[512];
	fluxstate_ctx *ctx;
	struct fluxstate__result res;
	struct items it;

	(void)state;
	memset(&plain, 0, sizeof(plain));
	snprintf(st, sizeof(st), "%s/state.yaml", TRANSPORT_DIR);
	snprintf(cfg, sizeof(cfg), "%s/sim-config.yaml", TRANSPORT_DIR);
	args[1] = st;
	args[3] = cfg;
	assert_int_equal(kubesim_start(&plain, args), 0);
	ctx = new_ctx_for(&plain, "kubesim-admin");
	/* the loader already drops credentials for http: put them back to check the client */
	if (!ctx->conn->token)
		ctx->conn->token = strdup(ADMIN_TOKEN);
	ctx->conn->impersonate_user = strdup("jane");
	client_of(ctx);
	list_cm(ctx, "paging", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EAUTH); /* no credentials: 401 */
	assert_int_equal(log_lines(&plain, "/namespaces/paging/configmaps", NULL), 1);
	assert_int_equal(log_lines(&plain, "authorization", NULL), 0);
	assert_int_equal(log_lines(&plain, "impersonate", NULL), 0);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
	kubesim_stop(&plain);
}

static void
test_redirect_not_followed(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	list_cm(ctx, "tredir", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ERROR);
	assert_int_equal(res.http_status, 302);
	assert_int_equal(res.n_requests, 1);
	assert_non_null(strstr(res.message, "redirected (302) to elsewhere.example"));
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_broken_bodies(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	list_cm(ctx, "ttrunc", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EPROTOCOL);
	print_message("# truncated: %s\n", res.message);
	fluxstate__result_clear(&res);
	list_cm(ctx, "tmal", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_EPROTOCOL);
	assert_non_null(strstr(res.message, "malformed JSON"));
	fluxstate__result_clear(&res);
	list_cm(ctx, "treset", 0, 0, 10000, &res, &it);
	print_message("# reset: %d %s\n", res.code, res.message);
	assert_true(res.code == FLUXSTATE_ENETWORK || res.code == FLUXSTATE_EPROTOCOL);
	fluxstate__result_clear(&res);
	/* the client still works afterwards */
	list_cm(ctx, "conc", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_deadline(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	uint64_t t0 = fluxstate__now_ms(), took;

	(void)state;
	list_cm(ctx, "tslow", 0, 0, 700, &res, &it);
	took = fluxstate__now_ms() - t0;
	assert_int_equal(res.code, FLUXSTATE_ETIMEDOUT);
	assert_true(took >= 650 && took < 2000);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

/*
 * A raw TCP server for what the simulator does not do. "stall-body":
 * 200 with a Content-Length, one list item and then silence; "silent":
 * accepts and never says a word (a TLS handshake that never ends);
 * "same-continue": every page names the same continue token; "html": a
 * web page, as something that is not an API server would answer.
 */
static pid_t
start_raw_server(const char *mode, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 8), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char reply[] =
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
			"{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":["
			"{\"metadata\":{\"name\":\"first\"}},{\"metadata\":{\"na";

		int null = open("/dev/null", O_RDWR);

		/* never hold the test runner's pipes open */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		for (;;) {
			char req[8192];
			size_t got = 0;
			int fd = accept(ls, NULL, NULL);

			if (fd < 0)
				_exit(1);
			if (strcmp(mode, "silent") == 0)
				continue; /* keep fd open, never answer */
			while (got < sizeof(req) - 1) {
				ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

				if (n <= 0)
					break;
				got += (size_t)n;
				req[got] = '\0';
				if (strstr(req, "\r\n\r\n"))
					break;
			}
			if (strcmp(mode, "watch-drop") == 0) {
				/*
				 * 1st watch: cut mid-event (connection closed); 2nd: the
				 * chunked body ends mid-event; 3rd: an event.
				 */
				static int n_conn;
				static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
							   "Transfer-Encoding: chunked\r\n\r\n";
				static const char half[] = "10\r\n{\"type\":\"ADDED\",\r\n";
				static const char end[] = "0\r\n\r\n";
				static const char event[] =
					"3e\r\n{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}},\"extra\":1}\n\r\n";
				int ok = write(fd, head, sizeof(head) - 1) > 0;

				n_conn++;
				ok = ok && write(fd, n_conn < 3 ? half : event, n_conn < 3 ? sizeof(half) - 1 : sizeof(event) - 1) > 0;
				if (ok && n_conn == 2)
					ok = write(fd, end, sizeof(end) - 1) > 0;
				if (!ok)
					_exit(1);
				if (n_conn != 3)
					close(fd);
				continue;
			}
			if (strcmp(mode, "html") == 0) {
				static const char page[] =
					"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
					"Content-Length: 29\r\n\r\n<html><body>hi</body></html>\n";

				if (write(fd, page, sizeof(page) - 1) < 0)
					_exit(1);
				close(fd);
				continue;
			}
			if (strcmp(mode, "same-continue") == 0) {
				static const char page[] =
					"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
					"Content-Length: 114\r\n\r\n"
					"{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"1\",\"continue\":\"again\"},"
					"\"items\":[{\"metadata\":{\"name\":\"a\"}}]}";

				if (write(fd, page, sizeof(page) - 1) < 0)
					_exit(1);
				close(fd);
				continue;
			}
			if (write(fd, reply, sizeof(reply) - 1) < 0)
				_exit(1);
			/* and then nothing more: fd stays open */
		}
	}
	close(ls);
	raw_pid = pid;
	return pid;
}

/* Start a raw server in @mode and point @ctx at it through a fresh client. */
static pid_t
use_raw_server(fluxstate_ctx *ctx, const char *mode, const char *scheme)
{
	char url[64];
	int port = 0;
	pid_t pid = start_raw_server(mode, &port);

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", scheme, port);
	free(ctx->conn->server);
	ctx->conn->server = strdup(url);
	client_of(ctx);
	return pid;
}

static void
stop_raw_server(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void
test_stalled_server(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	uint64_t t0, took;
	pid_t pid;

	(void)state;
	/* headers and one item, then the body stalls: the deadline ends it */
	pid = use_raw_server(ctx, "stall-body", "http");
	t0 = fluxstate__now_ms();
	list_cm(ctx, "paging", 0, 0, 800, &res, &it);
	took = fluxstate__now_ms() - t0;
	stop_raw_server(pid);
	print_message("# stalled body: %d after %llu ms: %s\n", res.code, (unsigned long long)took, res.message);
	assert_int_equal(res.code, FLUXSTATE_ETIMEDOUT);
	assert_true(took >= 750 && took < 2000);
	assert_int_equal(it.n, 1); /* streamed: the item before the stall was handed out */
	assert_non_null(strstr(res.message, "while reading /api/v1/namespaces/paging/configmaps?limit=500"));
	fluxstate__result_clear(&res);

	/* a server that hands out the same page forever: an error at the second page, not a loop */
	pid = use_raw_server(ctx, "same-continue", "http");
	t0 = fluxstate__now_ms();
	list_cm(ctx, "paging", 0, 0, 3000, &res, &it);
	took = fluxstate__now_ms() - t0;
	stop_raw_server(pid);
	print_message("# same continue: %d after %llu ms: %s\n", res.code, (unsigned long long)took, res.message);
	assert_int_equal(res.code, FLUXSTATE_EPROTOCOL);
	assert_int_equal(res.n_requests, 2);
	assert_string_equal(res.message, "the server answered continue=again with the same continue token");
	fluxstate__result_clear(&res);

	/* not an API server at all: the message says what came back */
	pid = use_raw_server(ctx, "html", "http");
	list_cm(ctx, "paging", 0, 0, 3000, &res, &it);
	stop_raw_server(pid);
	print_message("# html: %s\n", res.message);
	assert_int_equal(res.code, FLUXSTATE_EPROTOCOL);
	assert_non_null(strstr(res.message, "the server answered text/html; charset=utf-8, not JSON "
					    "(is this a Kubernetes API server?): "));
	fluxstate__result_clear(&res);

	/* a TLS handshake that never ends: the connect timeout, well before the deadline */
	assert_int_equal(fluxstate_ctx_set_connect_timeout_ms(ctx, 300), 0);
	pid = use_raw_server(ctx, "silent", "https");
	t0 = fluxstate__now_ms();
	list_cm(ctx, "paging", 0, 0, 5000, &res, &it);
	took = fluxstate__now_ms() - t0;
	print_message("# silent server: %d after %llu ms: %s\n", res.code, (unsigned long long)took, res.message);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	assert_true(took >= 250 && took < 1500);
	assert_non_null(strstr(res.message, "timed out connecting to the server (connect timeout 300 ms)"));
	fluxstate__result_clear(&res);

	/* without a shorter connect timeout the operation's deadline applies */
	assert_int_equal(fluxstate_ctx_set_connect_timeout_ms(ctx, 60000), 0);
	t0 = fluxstate__now_ms();
	list_cm(ctx, "paging", 0, 0, 700, &res, &it);
	took = fluxstate__now_ms() - t0;
	stop_raw_server(pid);
	assert_int_equal(res.code, FLUXSTATE_ETIMEDOUT);
	assert_true(took >= 650 && took < 2000);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_connection_refused(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;

	(void)state;
	free(ctx->conn->server);
	ctx->conn->server = strdup("https://127.0.0.1:1");
	client_of(ctx);
	list_cm(ctx, "paging", 0, 0, 5000, &res, &it);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	assert_non_null(res.message);
	print_message("# refused: %s\n", res.message);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static void
test_concurrency(void **state)
{
	enum { N = 24 };
	static const char *nss[] = { "paging", "conc", "tmeta", "restart" };
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__client *c = client_of(ctx);
	struct fluxstate__result res[N];
	struct items it[N];
	struct fluxstate__query q[N];
	unsigned int before = fluxstate__client_n_requests(c);
	uint64_t t0;
	int i, total = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		memset(&q[i], 0, sizeof(q[i]));
		memset(&it[i], 0, sizeof(it[i]));
		q[i].version = "v1";
		q[i].resource = "configmaps";
		q[i].namespace = nss[i % 4];
		q[i].page_size = 400 + (unsigned int)i;
		assert_int_equal(fluxstate__client_add(c, &q[i], items_fn, &it[i], &res[i]), 0);
	}
	t0 = fluxstate__now_ms();
	assert_int_equal(fluxstate__client_run(c, fluxstate__now_ms() + 20000), 0);
	print_message("# %d concurrent lists in %llu ms\n", N, (unsigned long long)(fluxstate__now_ms() - t0));
	for (i = 0; i < N; i++) {
		assert_int_equal(res[i].code, 0);
		assert_int_equal(it[i].n, i % 4 == 0 ? 7 : i % 4 == 3 ? 5 : 2);
		total += (int)res[i].n_requests;
		fluxstate__result_clear(&res[i]);
	}
	assert_int_equal(total, N);
	assert_int_equal(fluxstate__client_n_requests(c) - before, N);
	/* the same client keeps working for a second run */
	memset(&it[0], 0, sizeof(it[0]));
	assert_int_equal(fluxstate__client_add(c, &q[0], items_fn, &it[0], &res[0]), 0);
	assert_int_equal(fluxstate__client_run(c, fluxstate__now_ms() + 10000), 0);
	assert_int_equal(res[0].code, 0);
	fluxstate__result_clear(&res[0]);
	fluxstate_ctx_free(ctx);
}

/*
 * HTTP/2 where the server offers it: concurrent lists share one connection
 * as multiplexed streams (PIPEWAIT), as client-go's transport does.
 * tests/transport/h2-server.go is built with the Go toolchain the Go
 * binding needs anyway.
 */
static void
test_http2_multiplexed(void **state)
{
	enum { N = 8 };
	static const char *const nss[N] = { "a", "b", "c", "d", "e", "f", "g", "h" };
	fluxstate_ctx *ctx;
	struct fluxstate__client *c;
	struct fluxstate__result res[N];
	struct fluxstate__query q[N];
	int n_items[N];
	char exe[128], cmd[512], log_path[128], cert[128], key[128], url[64], line[256], first_peer[64] = "";
	const char *extra[] = { "--cert", cert, "--key", key, NULL };
	int port = 0, i, lines = 0, h2 = 0, same_peer = 0;
	uint64_t t0, took;
	pid_t pid;
	FILE *f;

	(void)state;
	if (!getenv("GOCACHE") && !getenv("HOME") && !getenv("XDG_CACHE_HOME")) {
		/* go refuses to build without a cache directory */
		snprintf(cmd, sizeof(cmd), "%s/gocache", tmpdir);
		setenv("GOCACHE", cmd, 1);
	}
	snprintf(exe, sizeof(exe), "%s/h2-server", tmpdir);
	snprintf(cmd, sizeof(cmd), "cd '%s' && go build -o '%s' '%s/h2-server.go'", tmpdir, exe, TRANSPORT_DIR);
	if (system(cmd) != 0)
		fail_msg("cannot build h2-server.go with go (needed by the Go binding too): %s", cmd);
	snprintf(log_path, sizeof(log_path), "%s/h2.log", tmpdir);
	snprintf(cert, sizeof(cert), "%s/certs/server.crt", tmpdir);
	snprintf(key, sizeof(key), "%s/certs/server.key", tmpdir);
	pid = start_helper(exe, log_path, extra, &port);

	ctx = new_ctx("kubesim-admin");
	free(ctx->conn->server);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	ctx->conn->server = strdup(url);
	c = client_of(ctx);
	for (i = 0; i < N; i++) {
		memset(&q[i], 0, sizeof(q[i]));
		q[i].version = "v1";
		q[i].resource = "configmaps";
		q[i].namespace = nss[i];
		n_items[i] = 0;
		assert_int_equal(fluxstate__client_add(c, &q[i], count_items, &n_items[i], &res[i]), 0);
	}
	t0 = fluxstate__now_ms();
	assert_int_equal(fluxstate__client_run(c, fluxstate__now_ms() + 10000), 0);
	took = fluxstate__now_ms() - t0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (i = 0; i < N; i++) {
		if (res[i].code != 0)
			fail_msg("list %d: %s", i, res[i].message);
		assert_int_equal(n_items[i], 1);
		fluxstate__result_clear(&res[i]);
	}
	f = fopen(log_path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char proto[32], peer[64];

		if (sscanf(line, "%31s %63s", proto, peer) != 2)
			continue;
		lines++;
		h2 += strcmp(proto, "HTTP/2.0") == 0;
		if (!first_peer[0])
			snprintf(first_peer, sizeof(first_peer), "%s", peer);
		same_peer += strcmp(peer, first_peer) == 0;
	}
	fclose(f);
	print_message("# %d lists over HTTP/2 in %llu ms: %d requests, %d h2, %d on one connection\n", N,
		      (unsigned long long)took, lines, h2, same_peer);
	assert_int_equal(lines, N);
	assert_int_equal(h2, N);
	assert_int_equal(same_peer, N); /* one connection, N streams */
	fluxstate_ctx_free(ctx);
}

struct thread_run {
	pthread_t tid;
	int rc_new, rc_load, rc_run, code;
	int items;
	unsigned int page_size;
};

static int
count_items(const struct fluxstate__json *item, void *userdata)
{
	(void)item;
	(*(int *)userdata)++;
	return 0;
}

/* One context per thread, its own client, lists and exec-free auth: no cmocka calls here. */
static void *
thread_main(void *arg)
{
	struct thread_run *t = arg;
	fluxstate_ctx *ctx = NULL;
	struct fluxstate__client *c = NULL;
	int round;

	t->rc_new = fluxstate_ctx_new(&ctx);
	if (t->rc_new < 0)
		return NULL;
	t->rc_load = fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, "kubesim-admin");
	if (t->rc_load == 0)
		t->rc_run = fluxstate__ctx_client(ctx, &c);
	for (round = 0; t->rc_load == 0 && t->rc_run == 0 && round < 5; round++) {
		struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = "paging",
					      .page_size = t->page_size };
		struct fluxstate__result res;

		t->rc_run = fluxstate__client_add(c, &q, count_items, &t->items, &res);
		if (t->rc_run == 0)
			t->rc_run = fluxstate__client_run(c, fluxstate__now_ms() + 20000);
		if (res.code && !t->code)
			t->code = res.code;
		fluxstate__result_clear(&res);
	}
	fluxstate_ctx_free(ctx);
	return NULL;
}

/* The header's promise: separate contexts may be used from different threads at once. */
static void
test_contexts_on_threads(void **state)
{
	enum { N = 6 };
	struct thread_run t[N];
	int i;

	(void)state;
	memset(t, 0, sizeof(t));
	for (i = 0; i < N; i++) {
		t[i].page_size = 2 + (unsigned int)i % 3;
		assert_int_equal(pthread_create(&t[i].tid, NULL, thread_main, &t[i]), 0);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(pthread_join(t[i].tid, NULL), 0);
		assert_int_equal(t[i].rc_new, 0);
		assert_int_equal(t[i].rc_load, 0);
		assert_int_equal(t[i].rc_run, 0);
		assert_int_equal(t[i].code, 0);
		assert_int_equal(t[i].items, 5 * 7);
	}
}

static void
test_watch(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = "conc" };
	const char *rvs[1];
	char *rv;
	uint64_t t0;

	(void)state;
	list_cm(ctx, "conc", 0, 0, 10000, &res, &it);
	assert_int_equal(res.code, 0);
	assert_non_null(res.resource_version);
	rv = strdup(res.resource_version);
	fluxstate__result_clear(&res);
	rvs[0] = rv;

	/* nothing changes: the deadline ends the wait */
	t0 = fluxstate__now_ms();
	assert_int_equal(fluxstate__client_watch(ctx->client, &q, rvs, 1, fluxstate__now_ms() + 800), FLUXSTATE_ETIMEDOUT);
	assert_true(fluxstate__now_ms() - t0 >= 750);
	assert_true(log_lines(&sim, "/namespaces/conc/configmaps", "watch=true", "allowWatchBookmarks=false", NULL) >= 1);

	/* a change after that version: the watch returns at once */
	assert_int_equal(kubesim_control(&sim, "apply",
					 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"new\","
					 "\"namespace\":\"conc\"},\"data\":{\"a\":\"b\"}}"),
			 0);
	t0 = fluxstate__now_ms();
	assert_int_equal(fluxstate__client_watch(ctx->client, &q, rvs, 1, fluxstate__now_ms() + 5000), 0);
	assert_true(fluxstate__now_ms() - t0 < 3000);
	assert_int_equal(kubesim_control(&sim, "delete",
					 "{\"kind\":\"ConfigMap\",\"namespace\":\"conc\",\"name\":\"new\"}"),
			 0);
	/* a version too old for the server: an ERROR 410 event ends the wait (state may have changed) */
	rvs[0] = "5";
	t0 = fluxstate__now_ms();
	assert_int_equal(fluxstate__client_watch(ctx->client, &q, rvs, 1, fluxstate__now_ms() + 5000), 0);
	assert_true(fluxstate__now_ms() - t0 < 3000);
	assert_int_equal(log_lines(&sim, "/namespaces/conc/configmaps", "resourceVersion=5&", NULL), 1);
	free(rv);
	fluxstate_ctx_free(ctx);
}

/*
 * A watch the server drops (cut mid-event, or a stream that ends
 * mid-event) is watched again after a backoff, not reported as malformed
 * JSON: the third watch gets the event.
 */
static void
test_watch_reestablished(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = "conc" };
	const char *rvs[1] = { "7" };
	uint64_t t0, took;
	pid_t pid;
	int rc;

	(void)state;
	pid = use_raw_server(ctx, "watch-drop", "http");
	t0 = fluxstate__now_ms();
	rc = fluxstate__client_watch(ctx->client, &q, rvs, 1, fluxstate__now_ms() + 10000);
	took = fluxstate__now_ms() - t0;
	stop_raw_server(pid);
	print_message("# dropped watch: %d after %llu ms: %s\n", rc, (unsigned long long)took, fluxstate_ctx_get_error(ctx));
	assert_int_equal(rc, 0);
	assert_true(took >= 2300 && took < 6000); /* backoff 0.8 s, then 1.6 s */
	fluxstate_ctx_free(ctx);
}

static long
vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * A list of many MB streamed end to end (gzip and plain): items are
 * counted, never kept, and peak memory stays far below the body size.
 */
static void
test_big_list_streams(void **state)
{
	enum { N = 3000, PER_APPLY = 250, VALUE = 4000 };
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	char *value = malloc(VALUE + 1);
	long before, after;
	int i, round;

	(void)state;
	memset(value, 'x', VALUE);
	value[VALUE] = '\0';
	assert_int_equal(kubesim_control(&sim, "apply", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
							 "\"metadata\":{\"name\":\"big\"}}"), 0);
	for (i = 0; i < N; i += PER_APPLY) {
		struct fluxstate__buf b = { 0 };
		int j;

		for (j = i; j < i + PER_APPLY; j++)
			assert_int_equal(fluxstate__buf_appendf(&b, "---\n{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
								 "\"metadata\":{\"name\":\"big-%05d\",\"namespace\":\"big\"},"
								 "\"data\":{\"v\":\"%d-%s\"}}\n", j, j, value), 0);
		assert_int_equal(kubesim_control(&sim, "apply", b.data), 0);
		fluxstate__buf_clear(&b);
	}
	free(value);
	for (round = 0; round < 2; round++) {
		ctx->conn->disable_compression = round;
		client_of(ctx);
		before = vm_hwm_kb();
		list_cm(ctx, "big", 5000, 0, 60000, &res, &it);
		after = vm_hwm_kb();
		assert_int_equal(res.code, 0);
		assert_int_equal(it.n, N);
		assert_int_equal(it.with_data, N);
		assert_int_equal(res.n_requests, 1);
		print_message("# %d items (%s, ~%d MB): VmHWM %ld -> %ld kB\n", N, round ? "plain" : "gzip",
			      N * VALUE / (1024 * 1024), before, after);
		if (before > 0 && after > 0 && !getenv("ASAN_OPTIONS") &&
		    !(getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")))
			assert_true(after - before < 5 * 1024); /* the body is ~12 MB */
		fluxstate__result_clear(&res);
	}
	assert_int_equal(log_lines(&sim, "/namespaces/big/configmaps", "\"status\": 200", NULL), 2);
	assert_int_equal(log_lines(&sim, "/namespaces/big/configmaps", "\"accept-encoding\": \"gzip\"", NULL), 1);
	assert_non_null(strstr(logs, "GET /api/v1/namespaces/big/configmaps?limit=5000 -> 200"));
	assert_non_null(strstr(logs, "3000 items)"));
	fluxstate_ctx_free(ctx);
}

/* ---- fluxstate_ctx_cancel() and the per-request timeout ---- */

struct canceller {
	fluxstate_ctx *ctx;
	unsigned int after_ms;
	pthread_t thread;
};

static void *
cancel_later(void *arg)
{
	struct canceller *c = arg;

	usleep(c->after_ms * 1000u);
	fluxstate_ctx_cancel(c->ctx);
	return NULL;
}

static void
start_canceller(struct canceller *c, fluxstate_ctx *ctx, unsigned int after_ms)
{
	c->ctx = ctx;
	c->after_ms = after_ms;
	assert_int_equal(pthread_create(&c->thread, NULL, cancel_later, c), 0);
}

/* Run one list with a 20 s deadline; return the client_run code and the time taken. */
static int
run_list_long(fluxstate_ctx *ctx, struct fluxstate__result *res, uint64_t *took)
{
	struct fluxstate__client *c = ctx->client ? ctx->client : client_of(ctx);
	struct fluxstate__query q = { .version = "v1", .resource = "configmaps", .namespace = "paging" };
	struct items it = { 0 };
	uint64_t t0 = fluxstate__now_ms();
	int r;

	assert_int_equal(fluxstate__client_add(c, &q, items_fn, &it, res), 0);
	r = fluxstate__client_run(c, t0 + 20000);
	*took = fluxstate__now_ms() - t0;
	return r;
}

/* From another thread: a TLS handshake that never ends, then an exec plugin that hangs. */
static void
test_cancel_from_another_thread(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct canceller c;
	uint64_t took;
	char dir[128];
	pid_t pid;
	int r;

	(void)state;
	pid = use_raw_server(ctx, "silent", "https");
	start_canceller(&c, ctx, 300);
	r = run_list_long(ctx, &res, &took);
	pthread_join(c.thread, NULL);
	stop_raw_server(pid);
	print_message("# cancel during a silent handshake: %d after %llu ms\n", r, (unsigned long long)took);
	assert_int_equal(r, FLUXSTATE_ECANCELED);
	assert_true(took >= 250 && took < 5000); /* long before the 20 s deadline */
	fluxstate__result_clear(&res);
	assert_int_equal(fluxstate__ctx_take_cancel(ctx), 1); /* the request is still pending until consumed */
	fluxstate_ctx_free(ctx);

	ctx = new_ctx("kubesim-admin");
	plugin_dir(dir, sizeof(dir), "cancel-hang");
	use_exec(ctx, "hang", "client.authentication.k8s.io/v1", 0, dir);
	start_canceller(&c, ctx, 300);
	r = run_list_long(ctx, &res, &took);
	pthread_join(c.thread, NULL);
	print_message("# cancel during an exec plugin wait: %d after %llu ms: %s\n", r, (unsigned long long)took,
		      res.message);
	assert_int_equal(r, FLUXSTATE_ECANCELED);
	assert_true(took >= 250 && took < 5000);
	assert_int_equal(res.code, FLUXSTATE_ECANCELED);
	assert_non_null(strstr(res.message, "was stopped: canceled"));
	assert_int_equal(plugin_runs(dir), 1);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

static fluxstate_ctx *volatile alarm_ctx;

static void
on_alarm(int sig)
{
	(void)sig;
	fluxstate_ctx_cancel(alarm_ctx); /* async-signal-safe by contract */
}

/* The public calls: a pending cancel stops the next probe at once and is then consumed; a signal handler may cancel. */
static void
test_cancel_probe_and_signal(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	fluxstate_report *report = NULL;
	struct sigaction sa = { 0 }, old;
	uint64_t t0, took;
	pid_t pid;

	(void)state;
	fluxstate_ctx_cancel(ctx);
	fluxstate_ctx_cancel(ctx); /* twice is one request */
	t0 = fluxstate__now_ms();
	assert_int_equal(fluxstate_ctx_probe(ctx, &report), FLUXSTATE_ECANCELED);
	assert_true(fluxstate__now_ms() - t0 < 1000);
	assert_null(report);
	assert_string_equal(fluxstate_strerror(FLUXSTATE_ECANCELED), "canceled");
	/* consumed: the next probe runs */
	assert_int_equal(fluxstate_ctx_probe(ctx, &report), 0);
	assert_non_null(report);
	/* a wait too */
	fluxstate_ctx_cancel(ctx);
	assert_int_equal(fluxstate_ctx_wait_for_change(ctx, report, 10000), FLUXSTATE_ECANCELED);
	fluxstate_report_free(report);
	report = NULL;
	fluxstate_ctx_cancel(NULL); /* no-op */

	/* from a signal handler, during a probe of a server that never answers */
	pid = use_raw_server(ctx, "silent", "https");
	assert_int_equal(fluxstate_ctx_set_timeout_ms(ctx, 20000), 0);
	alarm_ctx = ctx;
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	t0 = fluxstate__now_ms();
	alarm(1);
	assert_int_equal(fluxstate_ctx_probe(ctx, &report), FLUXSTATE_ECANCELED);
	took = fluxstate__now_ms() - t0;
	sigaction(SIGALRM, &old, NULL);
	stop_raw_server(pid);
	print_message("# cancel from SIGALRM: after %llu ms: %s\n", (unsigned long long)took, fluxstate_ctx_get_error(ctx));
	assert_true(took >= 900 && took < 6000);
	assert_null(report);
	fluxstate_ctx_free(ctx);
}

/* --request-timeout: one request gives up long before the operation's deadline. */
static void
test_request_timeout(void **state)
{
	fluxstate_ctx *ctx = new_ctx("kubesim-admin");
	struct fluxstate__result res;
	struct items it;
	uint64_t t0, took;
	pid_t pid;

	(void)state;
	ctx->request_timeout_ms = 400;
	pid = use_raw_server(ctx, "stall-body", "http");
	t0 = fluxstate__now_ms();
	list_cm(ctx, "paging", 0, 0, 20000, &res, &it);
	took = fluxstate__now_ms() - t0;
	stop_raw_server(pid);
	print_message("# request timeout 400 ms, deadline 20 s: %d after %llu ms: %s\n", res.code,
		      (unsigned long long)took, res.message);
	assert_int_equal(res.code, FLUXSTATE_ENETWORK);
	assert_true(took < 15000); /* the per-request limit ended it, not the deadline */
	assert_non_null(strstr(res.message, "the request timeout (400 ms) passed waiting for /api/v1/namespaces/paging/configmaps"));
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
	/* against the simulator a generous per-request limit changes nothing */
	ctx = new_ctx("kubesim-admin");
	ctx->request_timeout_ms = 10000;
	list_cm(ctx, "paging", 420, 0, 20000, &res, &it); /* its own page size: other tests count limit=500 */
	assert_int_equal(res.code, 0);
	fluxstate__result_clear(&res);
	fluxstate_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_and_paging),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_exec_v1),
		cmocka_unit_test(test_exec_v1beta1_cluster_info),
		cmocka_unit_test(test_exec_yaml_and_expiry),
		cmocka_unit_test(test_exec_rerun_on_401),
		cmocka_unit_test(test_exec_errors),
		cmocka_unit_test(test_exec_failure_once_per_operation),
		cmocka_unit_test(test_exec_deadline),
		cmocka_unit_test(test_impersonation),
		cmocka_unit_test(test_oidc_id_token),
		cmocka_unit_test(test_tls_server_name),
		cmocka_unit_test(test_proxy_url),
		cmocka_unit_test(test_path_prefix),
		cmocka_unit_test(test_restart_on_410),
		cmocka_unit_test(test_retry_429_and_5xx),
		cmocka_unit_test(test_forbidden_and_not_found),
		cmocka_unit_test(test_metadata_only),
		cmocka_unit_test(test_plain_http_sends_no_credentials),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test(test_broken_bodies),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_stalled_server),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_http2_multiplexed),
		cmocka_unit_test(test_contexts_on_threads),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_watch_reestablished),
		cmocka_unit_test(test_big_list_streams),
		/* last: they add requests to the log the counts above read */
		cmocka_unit_test(test_cancel_from_another_thread),
		cmocka_unit_test(test_cancel_probe_and_signal),
		cmocka_unit_test(test_request_timeout),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TRANSPORT_TESTS")) /* e.g. TRANSPORT_TESTS='test_exec*' while working on one area */
		cmocka_set_test_filter(getenv("TRANSPORT_TESTS"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
