/*
 * Exec credential plugins (client.authentication.k8s.io v1 and v1beta1),
 * run the way client-go runs them: no shell, the whole parent environment
 * plus the configured env plus KUBERNETES_EXEC_INFO, stdin only when
 * interactive, stderr passed through, stdout decoded as JSON or YAML.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec-credential.h"
#include "yamlnode.h"

extern char **environ;

#define EXEC_MAX_OUTPUT (1024 * 1024)

static const char exec_docs[] =
	"It looks like you are trying to use a client-go credential plugin that is not installed.\n\n"
	"To learn more about this feature, consult the documentation available at:\n"
	"      https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins";

char *
fluxstate__exec_info_json(const struct fluxstate__conn *conn, int interactive)
{
	const struct fluxstate__exec_config *ec = conn->exec;
	struct fluxstate__buf b = { 0 };
	int r;

	r = fluxstate__buf_appendf(&b, "{\"kind\":\"ExecCredential\",\"apiVersion\":");
	r = r ? r : fluxstate__json_append_go_string(&b, ec->api_version, strlen(ec->api_version));
	r = r ? r : fluxstate__buf_appendf(&b, ",\"spec\":{");
	if (!r && ec->provide_cluster_info) {
		char *server = fluxstate__asprintf("%s%s", conn->server, conn->path_prefix ? conn->path_prefix : "");

		r = server ? 0 : FLUXSTATE_ENOMEM;
		r = r ? r : fluxstate__buf_appendf(&b, "\"cluster\":{\"server\":");
		r = r ? r : fluxstate__json_append_go_string(&b, server, strlen(server));
		free(server);
		if (!r && conn->tls_server_name) {
			r = fluxstate__buf_appendf(&b, ",\"tls-server-name\":");
			r = r ? r : fluxstate__json_append_go_string(&b, conn->tls_server_name,
								      strlen(conn->tls_server_name));
		}
		if (!r && conn->insecure_skip_tls_verify)
			r = fluxstate__buf_appendf(&b, ",\"insecure-skip-tls-verify\":true");
		if (!r && conn->ca_pem && conn->ca_pem_len) {
			char *ca = fluxstate__base64_encode(conn->ca_pem, conn->ca_pem_len);

			r = ca ? fluxstate__buf_appendf(&b, ",\"certificate-authority-data\":\"%s\"", ca) : FLUXSTATE_ENOMEM;
			free(ca);
		}
		if (!r && conn->proxy_url) {
			r = fluxstate__buf_appendf(&b, ",\"proxy-url\":");
			r = r ? r : fluxstate__json_append_go_string(&b, conn->proxy_url, strlen(conn->proxy_url));
		}
		if (!r && conn->disable_compression)
			r = fluxstate__buf_appendf(&b, ",\"disable-compression\":true");
		r = r ? r : fluxstate__buf_appendf(&b, ",\"config\":%s},",
						 ec->cluster_config_json ? ec->cluster_config_json : "null");
	}
	r = r ? r : fluxstate__buf_appendf(&b, "\"interactive\":%s}}\n", interactive ? "true" : "false");
	if (r) {
		fluxstate__buf_clear(&b);
		return NULL;
	}
	return fluxstate__buf_steal(&b);
}

void
fluxstate__exec_state_clear(struct fluxstate__exec_state *st)
{
	unsigned int gen = st->generation, runs = st->n_runs, refreshed = st->refreshed_for;

	fluxstate__free_secret(st->token);
	fluxstate__free_secret_n(st->cert_pem, st->cert_pem_len);
	fluxstate__free_secret_n(st->key_pem, st->key_pem_len);
	free(st->failed_message);
	memset(st, 0, sizeof(*st));
	st->generation = gen;
	st->n_runs = runs;
	st->refreshed_for = refreshed;
}

/* RFC 3339 as Go writes it: 2006-01-02T15:04:05[.frac](Z|±hh:mm). */
static int
parse_rfc3339(const char *s, time_t *ret)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;
	time_t t;

	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = (hh * 60L + mm) * 60L * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ret = t - off;
	return 0;
}

/* Environment: parent + configured env (appended: later wins for getenv-style lookups) + exec info. */
static char **
build_envp(const struct fluxstate__exec_config *ec, const char *info)
{
	size_t n = 0, m = 0, i, j;
	char **envp;

	while (environ && environ[n])
		n++;
	while (ec->env && ec->env[m])
		m++;
	envp = calloc(n + m + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	/* Drop parent entries that the config redefines, so the child sees one value. */
	for (i = 0, j = 0; i < n; i++) {
		size_t k, keylen = strcspn(environ[i], "=");
		int overridden = strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) == 0;

		for (k = 0; k < m && !overridden; k++)
			overridden = strncmp(ec->env[k], environ[i], keylen) == 0 && ec->env[k][keylen] == '=';
		if (!overridden)
			envp[j++] = environ[i];
	}
	for (i = 0; i < m; i++)
		envp[j++] = ec->env[i];
	envp[j++] = (char *)info;
	envp[j] = NULL;
	return envp;
}

static char *
escape_hint(const char *s)
{
	struct fluxstate__buf b = { 0 };

	for (; s && *s; s++) {
		if (*s == 0x1b)
			fluxstate__buf_appendf(&b, "U+001B");
		else
			fluxstate__buf_append(&b, s, 1);
	}
	return fluxstate__buf_steal(&b);
}

/* Go's exec.LookPath: a name with '/' as is, else the first executable file in $PATH. */
static char *
look_path(const char *cmd)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0 ? fluxstate__strdup(cmd) : NULL;
	for (p = path ? path : ""; p && *p; p = *end ? end + 1 : end) {
		char *full;
		size_t n;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		n = (size_t)(end - p);
		full = n ? fluxstate__asprintf("%.*s/%s", (int)n, p, cmd) : fluxstate__asprintf("./%s", cmd);
		if (full && access(full, X_OK) == 0) {
			struct stat stt;

			if (stat(full, &stt) == 0 && S_ISREG(stt.st_mode))
				return full;
		}
		free(full);
	}
	return NULL;
}

/* Run the plugin; stdout into *out. 0, or an error with *msg set. */
static int
run_plugin(fluxstate_ctx *ctx, const struct fluxstate__conn *conn, uint64_t deadline_ms, struct fluxstate__buf *out,
	   char **msg)
{
	const struct fluxstate__exec_config *ec = conn->exec;
	int interactive = 0, pipefd[2] = { -1, -1 }, devnull = -1, status = 0, r, timed_out = 0, canceled = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *info = NULL, *info_env = NULL, **envp = NULL, **argv = NULL, *exe = NULL;
	size_t nargs = 0, i;
	pid_t pid;

	switch (ec->interactive_mode) {
	case FLUXSTATE__INTERACTIVE_NEVER:
		break;
	case FLUXSTATE__INTERACTIVE_IF_AVAILABLE:
		interactive = isatty(STDIN_FILENO);
		break;
	case FLUXSTATE__INTERACTIVE_ALWAYS:
		if (!isatty(STDIN_FILENO)) {
			*msg = fluxstate__strdup("getting credentials: exec plugin cannot support interactive mode: "
						 "standard input is not a terminal");
			return FLUXSTATE_EAUTH;
		}
		interactive = 1;
		break;
	}
	info = fluxstate__exec_info_json(conn, interactive);
	info_env = info ? fluxstate__asprintf("KUBERNETES_EXEC_INFO=%s", info) : NULL;
	envp = info_env ? build_envp(ec, info_env) : NULL;
	while (ec->args && ec->args[nargs])
		nargs++;
	argv = calloc(nargs + 2, sizeof(*argv));
	if (!envp || !argv) {
		r = FLUXSTATE_ENOMEM;
		goto out;
	}
	argv[0] = ec->command;
	for (i = 0; i < nargs; i++)
		argv[i + 1] = ec->args[i];

	if (pipe2(pipefd, O_CLOEXEC) < 0 || (!interactive && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)) {
		*msg = fluxstate__asprintf("getting credentials: exec: %s", fluxstate__errno_text(errno));
		r = FLUXSTATE_EAUTH;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	if (!interactive)
		posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO);
	/*
	 * Only stdin, stdout and stderr, as Go's os/exec: libcurl's sockets
	 * (and anything else the process opened without O_CLOEXEC) must not
	 * reach the plugin or outlive a request in a daemonised grandchild.
	 */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	/* bare names are looked up in the parent's PATH, like Go's exec.LookPath */
	/*
	 * Its own process group, so that a timeout kills what it started too
	 * (a helper it forked would otherwise outlive the probe). Not when
	 * interactive: it must stay in the terminal's foreground group.
	 */
	posix_spawnattr_init(&attr);
	if (!interactive) {
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&attr, 0);
	}
	exe = look_path(ec->command);
	r = exe ? posix_spawn(&pid, exe, &fa, &attr, argv, envp) : ENOENT;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (r != 0) {
		if (r == ENOENT || r == EACCES || r == ENOEXEC) {
			char *hint = escape_hint(ec->install_hint);

			*msg = fluxstate__asprintf("getting credentials: exec: executable %s not found\n\n%s%s%s",
						   ec->command, exec_docs, hint && *hint ? "\n\n" : "", hint ? hint : "");
			free(hint);
		} else {
			*msg = fluxstate__asprintf("getting credentials: exec: %s: %s", ec->command, fluxstate__errno_text(r));
		}
		r = FLUXSTATE_EAUTH;
		goto out;
	}

	for (;;) {
		/* [1]: fluxstate_ctx_cancel() wakes the wait */
		struct pollfd pfd[2] = { { .fd = pipefd[0], .events = POLLIN },
					 { .fd = fluxstate__ctx_cancel_fd(ctx), .events = POLLIN } };
		uint64_t now = fluxstate__now_ms();
		char chunk[4096];
		ssize_t n;

		if (fluxstate__ctx_canceled(ctx)) {
			timed_out = canceled = 1;
			break;
		}
		if (now >= deadline_ms) {
			timed_out = 1;
			break;
		}
		r = poll(pfd, 2, (int)(deadline_ms - now > 1000 ? 1000 : deadline_ms - now));
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && pfd[1].revents)
			fluxstate__ctx_cancel_woke(ctx);
		if (r <= 0 || !pfd[0].revents)
			continue;
		n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len + (size_t)n > EXEC_MAX_OUTPUT || fluxstate__buf_append(out, chunk, (size_t)n) < 0) {
			kill(interactive ? pid : -pid, SIGKILL);
			break;
		}
	}
	/* stdout closed is not the end: a plugin may close it and keep running */
	while (!timed_out) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (fluxstate__ctx_canceled(ctx))
			timed_out = canceled = 1;
		else if (fluxstate__now_ms() >= deadline_ms)
			timed_out = 1;
		else if (w == 0)
			poll(NULL, 0, 10);
	}
	if (timed_out) {
		kill(interactive ? pid : -pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (canceled) {
		*msg = fluxstate__asprintf("getting credentials: exec: executable %s was stopped: canceled", ec->command);
		r = FLUXSTATE_ECANCELED;
	} else if (timed_out) {
		*msg = fluxstate__asprintf("getting credentials: exec: executable %s did not finish before the deadline",
					   ec->command);
		r = FLUXSTATE_ETIMEDOUT;
	} else if (out->len > EXEC_MAX_OUTPUT) {
		*msg = fluxstate__asprintf("getting credentials: exec: executable %s wrote too much output", ec->command);
		r = FLUXSTATE_EAUTH;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		*msg = fluxstate__asprintf("getting credentials: exec: executable %s failed with exit code %d",
					   ec->command, WEXITSTATUS(status));
		r = FLUXSTATE_EAUTH;
	} else if (WIFSIGNALED(status)) {
		*msg = fluxstate__asprintf("getting credentials: exec: executable %s was killed by signal %d",
					   ec->command, WTERMSIG(status));
		r = FLUXSTATE_EAUTH;
	} else {
		r = 0;
	}
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	free(argv);
	free(envp);
	free(exe);
	fluxstate__free_secret(info_env);
	fluxstate__free_secret(info);
	if (r == FLUXSTATE_ENOMEM && !*msg)
		*msg = fluxstate__strdup("out of memory");
	return r;
}

int
fluxstate__exec_decode_output(const struct fluxstate__conn *conn, const char *out, size_t out_len,
			      struct fluxstate__exec_state *st, char **msg)
{
	struct fluxstate__json *doc = NULL;
	const struct fluxstate__json *status, *n;
	const char *api_version, *token, *cert, *key, *exp;
	char *err = NULL;
	int r;

	r = fluxstate__json_parse(out ? out : "", out_len, &doc, &err);
	if (r == FLUXSTATE_ENOMEM)
		goto oom;
	if (r < 0) {
		/* not JSON: YAML, as client-go's universal decoder accepts */
		struct fluxstate__ynode *y = NULL;
		char *yerr = NULL, *json;

		if (fluxstate__yaml_parse(out ? out : "", out_len, &y, &yerr) == 0 && y &&
		    y->type == FLUXSTATE__Y_OBJECT && (json = fluxstate__ynode_to_json(y))) {
			r = fluxstate__json_parse(json, strlen(json), &doc, NULL);
			fluxstate__free_secret(json);
		}
		fluxstate__ynode_free(y);
		free(yerr);
		if (r < 0) {
			*msg = fluxstate__asprintf("getting credentials: decoding stdout: couldn't get version/kind; "
						   "json parse error: %s", err ? err : "invalid JSON");
			free(err);
			return FLUXSTATE_EAUTH;
		}
	}
	free(err);
	api_version = fluxstate__json_str(fluxstate__json_get(doc, "apiVersion"));
	if (!api_version || !fluxstate__json_str(fluxstate__json_get(doc, "kind"))) {
		*msg = fluxstate__strdup("getting credentials: decoding stdout: couldn't get version/kind; "
					 "json parse error: Object 'Kind' is missing");
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	if (strcmp(api_version, conn->exec->api_version) != 0) {
		*msg = fluxstate__asprintf("getting credentials: exec plugin is configured to use API version %s, "
					   "plugin returned version %s", conn->exec->api_version, api_version);
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	if (!fluxstate__streq(fluxstate__json_str(fluxstate__json_get(doc, "kind")), "ExecCredential")) {
		*msg = fluxstate__asprintf("getting credentials: decoding stdout: no kind \"%s\" is registered for "
					   "version \"%s\"", fluxstate__json_str(fluxstate__json_get(doc, "kind")),
					   api_version);
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	status = fluxstate__json_get(doc, "status");
	if (!status || status->type != FLUXSTATE__JSON_OBJECT) {
		*msg = fluxstate__strdup("getting credentials: exec plugin didn't return a status field");
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	token = fluxstate__json_str(fluxstate__json_get(status, "token"));
	cert = fluxstate__json_str(fluxstate__json_get(status, "clientCertificateData"));
	key = fluxstate__json_str(fluxstate__json_get(status, "clientKeyData"));
	if (token && !*token)
		token = NULL;
	if (cert && !*cert)
		cert = NULL;
	if (key && !*key)
		key = NULL;
	if (!token && !cert && !key) {
		*msg = fluxstate__strdup("getting credentials: exec plugin didn't return a token or cert/key pair");
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	if (!!cert != !!key) {
		*msg = fluxstate__strdup("getting credentials: exec plugin returned only certificate or key, not both");
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	if (key && fluxstate__pem_key_is_encrypted(key, strlen(key))) {
		*msg = fluxstate__strdup("getting credentials: tls: failed to parse private key: "
					 "the key the exec plugin returned is encrypted");
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	exp = fluxstate__json_str(fluxstate__json_get(status, "expirationTimestamp"));
	n = fluxstate__json_get(status, "expirationTimestamp");
	st->expiry = 0;
	if (exp && parse_rfc3339(exp, &st->expiry) < 0) {
		*msg = fluxstate__asprintf("getting credentials: decoding stdout: invalid expirationTimestamp %s", exp);
		r = FLUXSTATE_EAUTH;
		goto done;
	} else if (n && n->type != FLUXSTATE__JSON_STRING && n->type != FLUXSTATE__JSON_NULL) {
		*msg = fluxstate__strdup("getting credentials: decoding stdout: expirationTimestamp is not a string");
		r = FLUXSTATE_EAUTH;
		goto done;
	}
	if (token && (st->token = fluxstate__strdup(token)) == NULL)
		goto oom;
	if (cert) {
		st->cert_pem_len = strlen(cert);
		st->cert_pem = (unsigned char *)fluxstate__strdup(cert);
		st->key_pem_len = strlen(key);
		st->key_pem = (unsigned char *)fluxstate__strdup(key);
		if (!st->cert_pem || !st->key_pem)
			goto oom;
	}
	r = 0;
done:
	/* the tree holds the secrets too: wipe them before freeing */
	if (doc) {
		struct fluxstate__json *s = (struct fluxstate__json *)fluxstate__json_get(doc, "status"), *c;

		for (c = s ? s->first : NULL; c; c = c->next)
			if (c->text)
				fluxstate__wipe(c->text, strlen(c->text));
	}
	fluxstate__json_free(doc);
	return r;
oom:
	r = FLUXSTATE_ENOMEM;
	*msg = fluxstate__strdup("out of memory");
	goto done;
}

static int
run_and_store(fluxstate_ctx *ctx, const struct fluxstate__conn *conn, struct fluxstate__exec_state *st,
	      uint64_t deadline_ms, char **ret_message)
{
	struct fluxstate__buf out = { 0 };
	uint64_t t0 = fluxstate__now_ms();
	int r;

	fluxstate__exec_state_clear(st);
	st->n_runs++;
	r = run_plugin(ctx, conn, deadline_ms, &out, ret_message);
	if (r == 0)
		r = fluxstate__exec_decode_output(conn, out.data, out.len, st, ret_message);
	fluxstate__buf_wipe(&out);
	if (r < 0) {
		fluxstate__exec_state_clear(st);
		fluxstate__log(ctx, "exec credential plugin %s failed (%llu ms)", conn->exec->command,
			       (unsigned long long)(fluxstate__now_ms() - t0));
		return r;
	}
	st->valid = 1;
	st->generation++;
	if (st->expiry && time(NULL) >= st->expiry)
		st->stale_deadline_ms = deadline_ms;
	fluxstate__log(ctx, "exec credential plugin %s -> %s%s%s (%llu ms)", conn->exec->command,
		       st->token ? "token" : "", st->token && st->cert_pem ? "+" : "",
		       st->cert_pem ? "client certificate" : "", (unsigned long long)(fluxstate__now_ms() - t0));
	return 0;
}

int
fluxstate__exec_credential_get(fluxstate_ctx *ctx, const struct fluxstate__conn *conn,
			       struct fluxstate__exec_state *st, uint64_t deadline_ms, char **ret_message)
{
	int r;

	*ret_message = NULL;
	if (st->valid && (st->expiry == 0 || time(NULL) < st->expiry || st->stale_deadline_ms == deadline_ms))
		return 0;
	if (st->failed_message && st->failed_deadline_ms == deadline_ms) {
		/* one failing run per operation, not one per request */
		*ret_message = fluxstate__strdup(st->failed_message);
		return *ret_message ? st->failed_code : FLUXSTATE_ENOMEM;
	}
	r = run_and_store(ctx, conn, st, deadline_ms, ret_message);
	if (r < 0 && r != FLUXSTATE_ENOMEM && *ret_message) {
		free(st->failed_message);
		st->failed_message = fluxstate__strdup(*ret_message);
		st->failed_code = r;
		st->failed_deadline_ms = deadline_ms;
	}
	return r;
}

int
fluxstate__exec_credential_refresh(fluxstate_ctx *ctx, const struct fluxstate__conn *conn,
				   struct fluxstate__exec_state *st, unsigned int generation, uint64_t deadline_ms)
{
	char *msg = NULL;

	if (st->refreshed_for == generation || generation != st->generation)
		return 0;
	st->refreshed_for = generation;
	run_and_store(ctx, conn, st, deadline_ms, &msg);
	free(msg);
	return 1;
}
