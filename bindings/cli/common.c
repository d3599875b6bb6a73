/*
 * What every fluxstate subcommand shares: error messages, the exit-code
 * contract, opening a context from the command line, and stopping on
 * SIGINT/SIGTERM. Public API only.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fluxstate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------------
 * --timeout is the whole command's: it counts from the exec, so loading
 * the libraries and starting up (0.1-0.2 s on a busy machine) come out of
 * it, not on top of it.
 * ------------------------------------------------------------------------ */

static unsigned long long
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

unsigned long long
cli_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/*
 * When the process started, on CLOCK_MONOTONIC: field 22 of /proc/self/stat
 * is the start in clock ticks since boot (CLOCK_BOOTTIME's base). Without
 * /proc: the first call, early in main().
 */
unsigned long long
cli_started_ms(void)
{
	static unsigned long long started;
	unsigned long long now, boot, ticks;
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n = 0;
	FILE *f;
	int field;

	if (started)
		return started;
	now = cli_now_ms();
	boot = clock_ms(CLOCK_BOOTTIME);
	started = now;
	f = fopen("/proc/self/stat", "re");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	/* the command name (field 2) may hold spaces and parentheses: count from its last ')' */
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p && hz > 0 && sscanf(p + 1, "%llu", &ticks) == 1) {
		unsigned long long at = ticks * 1000ull / (unsigned long long)hz;

		if (at <= boot && boot - at <= now)
			started = now - (boot - at);
	}
	return started;
}

unsigned int
cli_time_left_ms(unsigned int timeout_ms)
{
	unsigned long long used = cli_now_ms() - cli_started_ms();

	return used < timeout_ms ? (unsigned int)(timeout_ms - used) : 1u;
}

/* ------------------------------------------------------------------------
 * SIGINT/SIGTERM: a thread waits for them (sigwait) and cancels every open
 * context under a lock, so a context is never cancelled while it is freed.
 * ------------------------------------------------------------------------ */

#define MAX_OPEN_CTX 256

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static fluxstate_ctx *open_ctx[MAX_OPEN_CTX];
static int interrupted_by; /* the signal, 0 if none; under open_lock */

static void *
signal_thread(void *arg)
{
	sigset_t *set = arg;
	size_t i;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		pthread_mutex_lock(&open_lock);
		if (interrupted_by) {
			/* a second Ctrl-C: stop waiting for a clean exit */
			pthread_mutex_unlock(&open_lock);
			_exit(128 + sig);
		}
		interrupted_by = sig;
		for (i = 0; i < MAX_OPEN_CTX; i++)
			if (open_ctx[i])
				fluxstate_ctx_cancel(open_ctx[i]);
		pthread_mutex_unlock(&open_lock);
	}
	return NULL;
}

void
cli_signals_init(void)
{
	static sigset_t set;
	pthread_t t;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* blocked here, so in every thread created later: only signal_thread takes them */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || pthread_create(&t, NULL, signal_thread, &set) != 0) {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* no thread: the default action, exit at once */
		return;
	}
	pthread_detach(t);
}

int
cli_interrupted(void)
{
	int sig;

	pthread_mutex_lock(&open_lock);
	sig = interrupted_by;
	pthread_mutex_unlock(&open_lock);
	return sig;
}

static void
register_ctx(fluxstate_ctx *ctx)
{
	size_t i;

	pthread_mutex_lock(&open_lock);
	for (i = 0; i < MAX_OPEN_CTX; i++)
		if (!open_ctx[i]) {
			open_ctx[i] = ctx;
			break;
		}
	/* interrupted while it was being opened: stop its first operation */
	if (interrupted_by)
		fluxstate_ctx_cancel(ctx);
	pthread_mutex_unlock(&open_lock);
}

void
cli_ctx_close(fluxstate_ctx *ctx)
{
	size_t i;

	if (!ctx)
		return;
	pthread_mutex_lock(&open_lock);
	for (i = 0; i < MAX_OPEN_CTX; i++)
		if (open_ctx[i] == ctx)
			open_ctx[i] = NULL;
	pthread_mutex_unlock(&open_lock);
	fluxstate_ctx_free(ctx);
}

int
cli_exit_for_error(int code)
{
	switch (code) {
	case FLUXSTATE_ECONFIG:
	case FLUXSTATE_EINVAL:
		return CLI_EXIT_USAGE;
	case FLUXSTATE_ECANCELED:
		/* as shells report a command killed by a signal: 130 for SIGINT, 143 for SIGTERM */
		return 128 + (cli_interrupted() ? cli_interrupted() : SIGINT);
	default:
		/* ENETWORK, EAUTH, ETIMEDOUT, EPROTOCOL, ENOMEM, ERROR: the
		 * probe did not complete, so nothing about the state is known. */
		return CLI_EXIT_UNREACHABLE;
	}
}

/* Library messages are one line and never contain secrets. */
static void
trace_to_stderr(const char *message, void *userdata)
{
	const char *context = userdata;

	if (context)
		fprintf(stderr, "fluxstate: trace: [%s] %s\n", context, message);
	else
		fprintf(stderr, "fluxstate: trace: %s\n", message);
}

int
cli_fail_ctx(fluxstate_ctx *ctx, int r, const char *what, char **ret_msg)
{
	const char *msg = fluxstate_ctx_get_error(ctx);

	if (r == FLUXSTATE_ECANCELED)
		msg = cli_interrupted() == SIGTERM ? "terminated" : "interrupted";
	if (ret_msg)
		*ret_msg = strdup(msg && *msg ? msg : fluxstate_strerror(r));
	else if (msg && *msg)
		cli_error("%s", msg);
	else
		cli_error("%s: %s", what, fluxstate_strerror(r));
	return cli_exit_for_error(r);
}

/* The connection options (kubectl's flags), in kubectl's order. */
static int
set_connection_options(fluxstate_ctx *ctx, const struct cli_options *opts)
{
	size_t i;
	int r = 0;

	if ((opts->context && (r = fluxstate_ctx_set_context(ctx, opts->context)) < 0) ||
	    (opts->cluster && (r = fluxstate_ctx_set_cluster(ctx, opts->cluster)) < 0) ||
	    (opts->user && (r = fluxstate_ctx_set_user(ctx, opts->user)) < 0) ||
	    (opts->server && (r = fluxstate_ctx_set_server(ctx, opts->server)) < 0) ||
	    (opts->tls_server_name && (r = fluxstate_ctx_set_tls_server_name(ctx, opts->tls_server_name)) < 0) ||
	    (opts->insecure && (r = fluxstate_ctx_set_insecure_skip_tls_verify(ctx, 1)) < 0) ||
	    (opts->certificate_authority &&
	     (r = fluxstate_ctx_set_certificate_authority(ctx, opts->certificate_authority)) < 0) ||
	    (opts->client_certificate &&
	     (r = fluxstate_ctx_set_client_certificate(ctx, opts->client_certificate)) < 0) ||
	    (opts->client_key && (r = fluxstate_ctx_set_client_key(ctx, opts->client_key)) < 0) ||
	    (opts->token && (r = fluxstate_ctx_set_token(ctx, opts->token)) < 0) ||
	    (opts->as && (r = fluxstate_ctx_set_impersonate_user(ctx, opts->as)) < 0) ||
	    (opts->as_uid && (r = fluxstate_ctx_set_impersonate_uid(ctx, opts->as_uid)) < 0) ||
	    (opts->request_timeout_ms && (r = fluxstate_ctx_set_request_timeout_ms(ctx, opts->request_timeout_ms)) < 0) ||
	    (opts->disable_compression && (r = fluxstate_ctx_set_disable_compression(ctx, 1)) < 0))
		return r;
	for (i = 0; i < opts->n_as_groups; i++)
		if ((r = fluxstate_ctx_add_impersonate_group(ctx, opts->as_groups[i])) < 0)
			return r;
	return 0;
}

int
cli_ctx_open(const struct cli_options *opts, const char *context, fluxstate_ctx **ret, char **ret_msg)
{
	fluxstate_ctx *ctx;
	int r;

	r = fluxstate_ctx_new(&ctx);
	if (r < 0) {
		if (ret_msg)
			*ret_msg = strdup(fluxstate_strerror(r));
		else
			cli_error("cannot create a context: %s", fluxstate_strerror(r));
		return CLI_EXIT_UNREACHABLE;
	}
	register_ctx(ctx);
	if (opts->verbose)
		fluxstate_ctx_set_log_fn(ctx, trace_to_stderr, opts->all_contexts ? (void *)context : NULL);
	if ((opts->timeout_ms && (r = fluxstate_ctx_set_timeout_ms(ctx, cli_time_left_ms(opts->timeout_ms))) < 0) ||
	    (r = set_connection_options(ctx, opts)) < 0 ||
	    (opts->namespace && (r = fluxstate_ctx_set_flux_namespace(ctx, opts->namespace)) < 0) ||
	    (r = fluxstate_ctx_load_kubeconfig(ctx, opts->kubeconfig, context)) < 0) {
		r = cli_fail_ctx(ctx, r, "cannot load the kubeconfig", ret_msg);
		cli_ctx_close(ctx);
		return r;
	}
	if (opts->verbose && !opts->all_contexts) {
		const char *cur = fluxstate_ctx_get_current_context(ctx);

		fprintf(stderr, "fluxstate: trace: using context %s\n", cur ? cur : "(in-cluster)");
	}
	*ret = ctx;
	return CLI_EXIT_OK;
}

const char *
cli_mask_to_string(unsigned int mask, char *buf, size_t size)
{
	static const int order[] = {
		FLUXSTATE_INSTALL_NONE, FLUXSTATE_INSTALL_RESIDUAL, FLUXSTATE_INSTALL_PARTIAL,
		FLUXSTATE_INSTALL_HEALTHY, FLUXSTATE_INSTALL_UNKNOWN,
	};
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(mask & CLI_STATE_BIT(order[i])))
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
					len ? "," : "", fluxstate_state_to_string(order[i]));
	}
	return buf;
}

int
cli_exit_for_state(const struct cli_options *opts, int state, unsigned int mask)
{
	(void)opts;
	if (mask && (mask & CLI_STATE_BIT(state)))
		return CLI_EXIT_OK;
	if (state == FLUXSTATE_INSTALL_UNKNOWN)
		return CLI_EXIT_UNKNOWN;
	return mask ? CLI_EXIT_UNEXPECTED : CLI_EXIT_OK;
}

void
cli_put_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

int
cli_print_document(FILE *out, const char *json, enum cli_output format)
{
	size_t len = strlen(json);

	if (format == CLI_OUTPUT_YAML)
		return cli_print_yaml(out, json, 0);
	fputs(json, out);
	if (len == 0 || json[len - 1] != '\n')
		fputc('\n', out);
	return 0;
}

void
cli_check_environment(void)
{
	const char *ns = getenv("FLUX_SYSTEM_NAMESPACE");
	fluxstate_ctx *ctx;

	/* flux ignores an invalid value with a warning; so does the library.
	 * The library's own namespace check says what is valid. */
	if (!ns || !*ns || fluxstate_ctx_new(&ctx) < 0)
		return;
	if (fluxstate_ctx_set_flux_namespace(ctx, ns) == FLUXSTATE_EINVAL)
		cli_error("warning: ignoring FLUX_SYSTEM_NAMESPACE=\"%s\": not a valid namespace name (a DNS-1123 label: lower-case letters, digits and '-', at most 63)",
			  ns);
	fluxstate_ctx_free(ctx);
}
