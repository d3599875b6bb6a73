/*
 * fluxstate: what state is Flux in on this cluster? The command line, the
 * exit-code contract and the `check` command; the other commands live in
 * their own files. Public API only.
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_WAIT_TIMEOUT_MS (5u * 60u * 1000u) /* flux check's --timeout default */
#define DEFAULT_CLEANUP_TIMEOUT_MS (2u * 60u * 1000u)

static const char usage_text[] =
	"Usage: fluxstate [check] [options]\n"
	"       fluxstate config [options]\n"
	"       fluxstate cleanup-plan [--force] [--keep-namespace] [options]\n"
	"       fluxstate cleanup [--yes] [--dry-run=server] [--force] [--keep-namespace] [options]\n"
	"\n"
	"Tell what state Flux is in on a Kubernetes cluster: none, residual, partial,\n"
	"healthy or unknown, with the findings that explain it.\n"
	"\n"
	"Commands:\n"
	"  check           detect and print the state (the default)\n"
	"  config          print the resolved connection, secrets redacted\n"
	"  cleanup-plan    print a shell script that removes Flux leftovers (residual;\n"
	"                  partial with --force); it changes nothing itself\n"
	"  cleanup         carry out that plan: server-side dry run, then each step,\n"
	"                  then wait until the state is none (asks first on a terminal)\n"
	"\n"
	"Connection (as kubectl):\n"
	"      --kubeconfig PATH      kubeconfig file (default: $KUBECONFIG, ~/.kube/config)\n"
	"      --context NAME         kubeconfig context to use\n"
	"      --cluster NAME         kubeconfig cluster to use\n"
	"      --user NAME            kubeconfig user to use\n"
	"  -s, --server URL           API server URL\n"
	"      --tls-server-name NAME server name for certificate validation\n"
	"  -n, --namespace NS         the namespace Flux is in (default: detected,\n"
	"                             $FLUX_SYSTEM_NAMESPACE, flux-system)\n"
	"      --timeout DURATION     deadline, e.g. 30s, 2m, 1m30s or plain seconds\n"
	"                             (default 30s; 5m with --wait-for)\n"
	"\n"
	"Checks:\n"
	"      --expect STATE[,STATE...]   exit 0 only if the state is one of these\n"
	"      --wait-for STATE[,STATE...] watch until the state is one of these\n"
	"      --all-contexts         probe every context of the kubeconfig at once\n"
	"      --force                cleanup(-plan): also remove a partial install\n"
	"      --keep-namespace       cleanup(-plan): keep the Flux namespace\n"
	"  -y, --yes                  cleanup: do not ask for confirmation\n"
	"      --dry-run=server       cleanup: only the server-side dry run\n"
	"\n"
	"Output:\n"
	"  -o, --output FORMAT        text (default) or json\n"
	"  -q, --quiet                print nothing on stdout; use the exit code\n"
	"      --no-color             no colour (also NO_COLOR=1); colour is only used\n"
	"                             when stdout is a terminal\n"
	"  -v, --verbose              trace requests to stderr (never secrets)\n"
	"  -h, --help                 show this help\n"
	"      --version              show the version\n"
	"\n"
	"States: none, residual, partial, healthy, unknown.\n"
	"Exit codes: 0 ok / state as expected, 1 state not as expected, 2 usage or\n"
	"kubeconfig error, 3 unknown (could not see enough), 4 cannot reach or\n"
	"authenticate or timed out, 5 --wait-for timed out. See fluxstate(1).\n";

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

int
cli_exit_for_error(int code)
{
	switch (code) {
	case FLUXSTATE_ECONFIG:
	case FLUXSTATE_EINVAL:
		return CLI_EXIT_USAGE;
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

/* Reports the failure on stderr, or in *ret_msg when given. Returns the exit code. */
static int
fail_ctx(fluxstate_ctx *ctx, int r, const char *what, char **ret_msg)
{
	const char *msg = fluxstate_ctx_get_error(ctx);

	if (ret_msg)
		*ret_msg = strdup(msg && *msg ? msg : fluxstate_strerror(r));
	else if (msg && *msg)
		cli_error("%s", msg);
	else
		cli_error("%s: %s", what, fluxstate_strerror(r));
	return cli_exit_for_error(r);
}

/*
 * A context configured from the command line with its kubeconfig loaded.
 * @context overrides --context (for --all-contexts). A failure goes to
 * stderr, or into *ret_msg (caller frees) when that is not NULL.
 * Returns an exit code.
 */
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
	if (opts->verbose)
		fluxstate_ctx_set_log_fn(ctx, trace_to_stderr, opts->all_contexts ? (void *)context : NULL);
	if ((opts->timeout_ms && (r = fluxstate_ctx_set_timeout_ms(ctx, opts->timeout_ms)) < 0) ||
	    (opts->context && (r = fluxstate_ctx_set_context(ctx, opts->context)) < 0) ||
	    (opts->cluster && (r = fluxstate_ctx_set_cluster(ctx, opts->cluster)) < 0) ||
	    (opts->user && (r = fluxstate_ctx_set_user(ctx, opts->user)) < 0) ||
	    (opts->server && (r = fluxstate_ctx_set_server(ctx, opts->server)) < 0) ||
	    (opts->tls_server_name && (r = fluxstate_ctx_set_tls_server_name(ctx, opts->tls_server_name)) < 0) ||
	    (opts->namespace && (r = fluxstate_ctx_set_flux_namespace(ctx, opts->namespace)) < 0) ||
	    (r = fluxstate_ctx_load_kubeconfig(ctx, opts->kubeconfig, context)) < 0) {
		r = fail_ctx(ctx, r, "cannot load the kubeconfig", ret_msg);
		fluxstate_ctx_free(ctx);
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

/* Exit code for a probed state, given what --expect (or --wait-for) asked for. */
int
cli_exit_for_state(const struct cli_options *opts, int state, unsigned int mask)
{
	if (mask && (mask & CLI_STATE_BIT(state)))
		return CLI_EXIT_OK;
	if (state == FLUXSTATE_INSTALL_UNKNOWN)
		return CLI_EXIT_UNKNOWN;
	return mask ? CLI_EXIT_UNEXPECTED : CLI_EXIT_OK;
}

static void
explain_unexpected(const fluxstate_report *report, unsigned int mask)
{
	char want[64];
	int state = fluxstate_report_get_state(report);

	cli_error("state is %s%s, expected %s: %s", fluxstate_state_to_string(state),
		  state == FLUXSTATE_INSTALL_UNKNOWN ? " (could not see enough)" : "",
		  cli_mask_to_string(mask, want, sizeof(want)), fluxstate_report_get_summary(report));
}

static int
print_json(const fluxstate_report *report)
{
	char *json = NULL;
	size_t len;
	int r;

	r = fluxstate_report_to_json(report, &json);
	if (r < 0) {
		cli_error("cannot render the report as JSON: %s", fluxstate_strerror(r));
		return CLI_EXIT_UNREACHABLE;
	}
	len = strlen(json);
	fputs(json, stdout);
	if (len == 0 || json[len - 1] != '\n')
		fputc('\n', stdout);
	fluxstate_free(json);
	return CLI_EXIT_OK;
}

static int
cmd_check(const struct cli_options *opts)
{
	fluxstate_ctx *ctx;
	fluxstate_report *report = NULL;
	int r, state;

	r = cli_ctx_open(opts, NULL, &ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	r = fluxstate_ctx_probe(ctx, &report);
	if (r < 0) {
		r = fail_ctx(ctx, r, "probe failed", NULL);
		fluxstate_ctx_free(ctx);
		return r;
	}
	r = CLI_EXIT_OK;
	if (!opts->quiet) {
		if (opts->output == CLI_OUTPUT_JSON) {
			r = print_json(report);
		} else {
			struct cli_style style;

			cli_style_init(&style, opts->color);
			cli_print_report_text(stdout, report, fluxstate_ctx_get_current_context(ctx), &style);
		}
	}
	state = fluxstate_report_get_state(report);
	if (r == CLI_EXIT_OK) {
		r = cli_exit_for_state(opts, state, opts->expect_mask);
		if (r != CLI_EXIT_OK && opts->expect_mask)
			explain_unexpected(report, opts->expect_mask);
		else if (r == CLI_EXIT_UNKNOWN)
			cli_error("state is unknown (could not see enough): %s", fluxstate_report_get_summary(report));
	}
	fluxstate_report_free(report);
	fluxstate_ctx_free(ctx);
	return r;
}

static int
cmd_config(const struct cli_options *opts)
{
	fluxstate_ctx *ctx;
	char *json = NULL;
	int r;

	r = cli_ctx_open(opts, NULL, &ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	r = fluxstate_ctx_describe_connection(ctx, &json);
	if (r < 0) {
		r = fail_ctx(ctx, r, "cannot describe the connection", NULL);
		fluxstate_ctx_free(ctx);
		return r;
	}
	r = CLI_EXIT_OK;
	if (!opts->quiet && cli_print_config(stdout, json, opts->output == CLI_OUTPUT_JSON) < 0) {
		cli_error("cannot render the connection description (not valid JSON)");
		r = CLI_EXIT_UNREACHABLE;
	}
	fluxstate_free(json);
	fluxstate_ctx_free(ctx);
	return r;
}

/* "none,residual" -> bit mask. Returns 0 on a bad name (after an error message). */
static unsigned int
parse_state_list(const char *flag, const char *text)
{
	unsigned int mask = 0;
	const char *p = text;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[32];
		int state;

		while (n && (*p == ' ')) {
			p++;
			n--;
		}
		while (n && p[n - 1] == ' ')
			n--;
		if (n == 0 || n >= sizeof(name)) {
			cli_error("%s: expected a comma-separated list of states (none, residual, partial, healthy, unknown), got \"%s\"",
				  flag, text);
			return 0;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		state = fluxstate_state_from_string(name);
		if (state < 0) {
			cli_error("%s: unknown state \"%s\" (expected none, residual, partial, healthy or unknown)",
				  flag, name);
			return 0;
		}
		mask |= CLI_STATE_BIT(state);
		if (!end)
			return mask;
		p = end + 1;
	}
}

static int
resolve_color(int no_color_flag)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no_color_flag || (nc && *nc))
		return 0;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(STDOUT_FILENO);
}

enum {
	OPT_KUBECONFIG = 0x100,
	OPT_CONTEXT,
	OPT_CLUSTER,
	OPT_USER,
	OPT_TLS_SERVER_NAME,
	OPT_TIMEOUT,
	OPT_NO_COLOR,
	OPT_EXPECT,
	OPT_WAIT_FOR,
	OPT_ALL_CONTEXTS,
	OPT_FORCE,
	OPT_VERSION,
	OPT_KEEP_NAMESPACE,
	OPT_DRY_RUN,
};

static const struct option long_options[] = {
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "user", required_argument, NULL, OPT_USER },
	{ "server", required_argument, NULL, 's' },
	{ "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME },
	{ "namespace", required_argument, NULL, 'n' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "output", required_argument, NULL, 'o' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "v", optional_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "wait-for", required_argument, NULL, OPT_WAIT_FOR },
	{ "all-contexts", no_argument, NULL, OPT_ALL_CONTEXTS },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "keep-namespace", no_argument, NULL, OPT_KEEP_NAMESPACE },
	{ "yes", no_argument, NULL, 'y' },
	{ "dry-run", required_argument, NULL, OPT_DRY_RUN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* -v, -v=6, --v=6 (kubectl's spelling): any level above 0 turns tracing on. */
static int
parse_verbosity(const char *arg, int *ret)
{
	char *end;
	long level;

	if (!arg) {
		*ret = 1;
		return 0;
	}
	if (*arg == '=')
		arg++;
	level = strtol(arg, &end, 10);
	if (!*arg || *end || level < 0 || level > 10) {
		cli_error("-v: expected a level from 0 to 10, got \"%s\"", arg);
		return -1;
	}
	*ret = level > 0;
	return 0;
}

/* Returns -1 to continue, or an exit code. */
static int
parse_args(int argc, char **argv, struct cli_options *opts)
{
	int no_color = 0, c;
	unsigned int wait_timeout_ms = 0;

	memset(opts, 0, sizeof(*opts));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:n:o:v::qhy", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG:
			if (!*optarg) {
				cli_error("--kubeconfig: empty path");
				return CLI_EXIT_USAGE;
			}
			opts->kubeconfig = optarg;
			break;
		case OPT_CONTEXT:
			opts->context = optarg;
			break;
		case OPT_CLUSTER:
			opts->cluster = optarg;
			break;
		case OPT_USER:
			opts->user = optarg;
			break;
		case 's':
			opts->server = optarg;
			break;
		case OPT_TLS_SERVER_NAME:
			opts->tls_server_name = optarg;
			break;
		case 'n':
			opts->namespace = optarg;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_duration_ms(optarg, &wait_timeout_ms) < 0) {
				cli_error("--timeout: invalid duration \"%s\" (expected e.g. 30s, 2m, 1m30s, 500ms or plain seconds, greater than 0)",
					  optarg);
				return CLI_EXIT_USAGE;
			}
			opts->timeout_ms = wait_timeout_ms;
			break;
		case 'o':
			if (strcmp(optarg, "text") == 0) {
				opts->output = CLI_OUTPUT_TEXT;
			} else if (strcmp(optarg, "json") == 0) {
				opts->output = CLI_OUTPUT_JSON;
			} else {
				cli_error("--output: unknown format \"%s\" (expected text or json)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_NO_COLOR:
			no_color = 1;
			break;
		case 'v':
			if (parse_verbosity(optarg, &opts->verbose) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'q':
			opts->quiet = 1;
			break;
		case OPT_EXPECT:
			opts->expect_mask = parse_state_list("--expect", optarg);
			if (!opts->expect_mask)
				return CLI_EXIT_USAGE;
			break;
		case OPT_WAIT_FOR:
			opts->wait_mask = parse_state_list("--wait-for", optarg);
			if (!opts->wait_mask)
				return CLI_EXIT_USAGE;
			break;
		case OPT_ALL_CONTEXTS:
			opts->all_contexts = 1;
			break;
		case OPT_FORCE:
			opts->force = 1;
			break;
		case OPT_KEEP_NAMESPACE:
			opts->keep_namespace = 1;
			break;
		case 'y':
			opts->yes = 1;
			break;
		case OPT_DRY_RUN:
			if (strcmp(optarg, "server") != 0) {
				cli_error("--dry-run: only \"server\" is supported (fluxstate cleanup-plan is the client-side plan), got \"%s\"",
					  optarg);
				return CLI_EXIT_USAGE;
			}
			opts->dry_run_server = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("fluxstate %s (libfluxstate %s)\n", FLUXSTATE_VERSION, fluxstate_version_string());
			return CLI_EXIT_OK;
		case ':':
			cli_error("%s needs a value", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		default:
			if (optopt > 0 && optopt < 0x100)
				cli_error("unknown option \"-%c\" (see fluxstate --help)", optopt);
			else
				cli_error("unknown option \"%s\" (see fluxstate --help)", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}

	if (optind < argc) {
		const char *cmd = argv[optind++];

		if (strcmp(cmd, "check") == 0) {
			opts->command = CLI_CMD_CHECK;
		} else if (strcmp(cmd, "config") == 0) {
			opts->command = CLI_CMD_CONFIG;
		} else if (strcmp(cmd, "cleanup-plan") == 0) {
			opts->command = CLI_CMD_CLEANUP_PLAN;
		} else if (strcmp(cmd, "cleanup") == 0) {
			opts->command = CLI_CMD_CLEANUP;
		} else if (strcmp(cmd, "help") == 0) {
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		} else if (strcmp(cmd, "version") == 0) {
			printf("fluxstate %s (libfluxstate %s)\n", FLUXSTATE_VERSION, fluxstate_version_string());
			return CLI_EXIT_OK;
		} else {
			cli_error("unknown command \"%s\" (expected check, config, cleanup-plan or cleanup)", cmd);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument \"%s\"", argv[optind]);
		return CLI_EXIT_USAGE;
	}

	/* Combinations that have no sensible meaning are refused, not ignored. */
	if ((opts->force || opts->keep_namespace) && opts->command != CLI_CMD_CLEANUP_PLAN &&
	    opts->command != CLI_CMD_CLEANUP) {
		cli_error("--force and --keep-namespace only apply to cleanup-plan and cleanup");
		return CLI_EXIT_USAGE;
	}
	if ((opts->yes || opts->dry_run_server) && opts->command != CLI_CMD_CLEANUP) {
		cli_error("--yes and --dry-run only apply to cleanup");
		return CLI_EXIT_USAGE;
	}
	if (opts->command != CLI_CMD_CHECK &&
	    (opts->expect_mask || opts->wait_mask || opts->all_contexts)) {
		cli_error("--expect, --wait-for and --all-contexts only apply to check");
		return CLI_EXIT_USAGE;
	}
	if (opts->command == CLI_CMD_CLEANUP_PLAN && opts->output == CLI_OUTPUT_JSON) {
		cli_error("cleanup-plan prints a shell script; --output json does not apply");
		return CLI_EXIT_USAGE;
	}
	if (opts->expect_mask && opts->wait_mask) {
		cli_error("--expect and --wait-for cannot be combined (--wait-for already expects its states)");
		return CLI_EXIT_USAGE;
	}
	if (opts->all_contexts && opts->wait_mask) {
		cli_error("--wait-for works on one context; it cannot be combined with --all-contexts");
		return CLI_EXIT_USAGE;
	}
	if (opts->all_contexts &&
	    (opts->context || opts->cluster || opts->user || opts->server || opts->tls_server_name)) {
		cli_error("--all-contexts cannot be combined with --context, --cluster, --user, --server or --tls-server-name");
		return CLI_EXIT_USAGE;
	}
	/* --timeout bounds the whole wait; each probe within it gets the rest. */
	if (opts->wait_mask && !opts->timeout_ms)
		opts->timeout_ms = DEFAULT_WAIT_TIMEOUT_MS;
	/* a cleanup waits for the namespace and CRDs to finish terminating */
	if (opts->command == CLI_CMD_CLEANUP && !opts->timeout_ms)
		opts->timeout_ms = DEFAULT_CLEANUP_TIMEOUT_MS;
	opts->color = resolve_color(no_color);
	return -1;
}

int
main(int argc, char **argv)
{
	struct cli_options opts;
	int r;

	r = parse_args(argc, argv, &opts);
	if (r >= 0)
		return r;
	switch (opts.command) {
	case CLI_CMD_CONFIG:
		r = cmd_config(&opts);
		break;
	case CLI_CMD_CLEANUP_PLAN:
		r = cli_cleanup_plan(&opts);
		break;
	case CLI_CMD_CLEANUP:
		r = cli_cleanup(&opts);
		break;
	case CLI_CMD_CHECK:
	default:
		if (opts.all_contexts)
			r = cli_all_contexts(&opts);
		else if (opts.wait_mask)
			r = cli_wait_for(&opts);
		else
			r = cmd_check(&opts);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write to stdout");
		if (r == CLI_EXIT_OK)
			r = CLI_EXIT_UNREACHABLE;
	}
	return r;
}
