/*
 * fluxstate: what state is Flux in on this cluster? The command line and
 * the `check` and `config` commands; what every command shares is in
 * common.c, the other commands live in their own files. Public API only.
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
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
	"      --insecure-skip-tls-verify  do not verify the server's certificate\n"
	"      --certificate-authority PATH  CA bundle that verifies the server\n"
	"      --client-certificate PATH     client certificate file (TLS)\n"
	"      --client-key PATH      client key file (TLS)\n"
	"      --token TOKEN          bearer token\n"
	"      --as USER              impersonate this user\n"
	"      --as-group GROUP       impersonate this group (repeatable)\n"
	"      --as-uid UID           impersonate this UID\n"
	"      --disable-compression  do not ask the server for compressed responses\n"
	"      --request-timeout DURATION  limit for one request (0: none, the default)\n"
	"  -n, --namespace NS         the namespace Flux is in (default: detected,\n"
	"                             $FLUX_SYSTEM_NAMESPACE, flux-system)\n"
	"      --timeout DURATION     deadline of the whole probe, e.g. 30s, 2m, 1m30s or\n"
	"                             plain seconds (default 30s; 5m with --wait-for)\n"
	"\n"
	"Checks:\n"
	"      --expect STATE[,STATE...]   exit 0 only if the state is one of these\n"
	"      --wait-for STATE[,STATE...] watch until the state is one of these\n"
	"      --all-contexts         probe every context of the kubeconfig at once\n"
	"      --flux-version VERSION can this Flux release (e.g. v2.9.4) be installed\n"
	"                             here? exit 0 yes, 1 no, 3 unknown\n"
	"      --force                cleanup(-plan): also remove a partial install\n"
	"      --keep-namespace       cleanup(-plan): keep the Flux namespace\n"
	"  -y, --yes                  cleanup: do not ask for confirmation\n"
	"      --dry-run=server       cleanup: only the server-side dry run\n"
	"\n"
	"Output:\n"
	"  -o, --output FORMAT        text (default), json or yaml\n"
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
	"authenticate or timed out, 5 --wait-for timed out, 130/143 interrupted by\n"
	"SIGINT/SIGTERM. See fluxstate(1).\n";

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
print_report(const fluxstate_report *report, enum cli_output format)
{
	char *json = NULL;
	int r;

	r = fluxstate_report_to_json(report, &json);
	if (r < 0) {
		cli_error("cannot render the report as JSON: %s", fluxstate_strerror(r));
		return CLI_EXIT_UNREACHABLE;
	}
	cli_print_document(stdout, json, format);
	fluxstate_free(json);
	return CLI_EXIT_OK;
}

/* check --flux-version: can that release be installed here? Exit 0 yes, 1 no, 3 unknown. */
static int
check_install(const struct cli_options *opts, const fluxstate_report *report, const struct cli_style *style)
{
	char *reason = NULL;
	int r = fluxstate_report_check_install(report, opts->flux_version, &reason);

	if (r < 0) {
		cli_error("--flux-version: %s", reason ? reason : fluxstate_strerror(r));
		fluxstate_free(reason);
		return CLI_EXIT_USAGE;
	}
	if (!opts->quiet && opts->output == CLI_OUTPUT_TEXT)
		printf("%s %s\n", r ? style->ok : style->fail, reason);
	if (!r)
		cli_error("cannot install Flux %s: %s", opts->flux_version, reason);
	fluxstate_free(reason);
	if (r)
		return CLI_EXIT_OK;
	return fluxstate_report_get_state(report) == FLUXSTATE_INSTALL_UNKNOWN ? CLI_EXIT_UNKNOWN
										: CLI_EXIT_UNEXPECTED;
}

static int
cmd_check(const struct cli_options *opts)
{
	struct cli_style style;
	fluxstate_ctx *ctx;
	fluxstate_report *report = NULL;
	int r, state;

	r = cli_ctx_open(opts, NULL, &ctx, NULL);
	if (r != CLI_EXIT_OK)
		return r;
	r = fluxstate_ctx_probe(ctx, &report);
	if (r < 0) {
		r = cli_fail_ctx(ctx, r, "probe failed", NULL);
		cli_ctx_close(ctx);
		return r;
	}
	cli_style_init(&style, opts->color);
	r = CLI_EXIT_OK;
	if (!opts->quiet) {
		if (opts->output != CLI_OUTPUT_TEXT)
			r = print_report(report, opts->output);
		else
			cli_print_report_text(stdout, report, fluxstate_ctx_get_current_context(ctx), &style);
	}
	state = fluxstate_report_get_state(report);
	if (r == CLI_EXIT_OK && opts->flux_version) {
		r = check_install(opts, report, &style);
	} else if (r == CLI_EXIT_OK) {
		r = cli_exit_for_state(opts, state, opts->expect_mask);
		if (r != CLI_EXIT_OK && opts->expect_mask)
			explain_unexpected(report, opts->expect_mask);
		else if (r == CLI_EXIT_UNKNOWN)
			cli_error("state is unknown (could not see enough): %s", fluxstate_report_get_summary(report));
	}
	fluxstate_report_free(report);
	cli_ctx_close(ctx);
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
		r = cli_fail_ctx(ctx, r, "cannot describe the connection", NULL);
		cli_ctx_close(ctx);
		return r;
	}
	r = CLI_EXIT_OK;
	if (!opts->quiet && cli_print_config(stdout, json, opts->output) < 0) {
		cli_error("cannot render the connection description (not valid JSON)");
		r = CLI_EXIT_UNREACHABLE;
	}
	fluxstate_free(json);
	cli_ctx_close(ctx);
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
	OPT_INSECURE,
	OPT_CERTIFICATE_AUTHORITY,
	OPT_CLIENT_CERTIFICATE,
	OPT_CLIENT_KEY,
	OPT_TOKEN,
	OPT_AS,
	OPT_AS_GROUP,
	OPT_AS_UID,
	OPT_REQUEST_TIMEOUT,
	OPT_DISABLE_COMPRESSION,
	OPT_FLUX_VERSION,
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
	{ "insecure-skip-tls-verify", optional_argument, NULL, OPT_INSECURE },
	{ "certificate-authority", required_argument, NULL, OPT_CERTIFICATE_AUTHORITY },
	{ "client-certificate", required_argument, NULL, OPT_CLIENT_CERTIFICATE },
	{ "client-key", required_argument, NULL, OPT_CLIENT_KEY },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "as", required_argument, NULL, OPT_AS },
	{ "as-group", required_argument, NULL, OPT_AS_GROUP },
	{ "as-uid", required_argument, NULL, OPT_AS_UID },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "disable-compression", optional_argument, NULL, OPT_DISABLE_COMPRESSION },
	{ "flux-version", required_argument, NULL, OPT_FLUX_VERSION },
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

/* A boolean flag as pflag takes it: --flag, or --flag=true|false (strconv.ParseBool). */
static int
parse_bool_flag(const char *flag, const char *arg, int *ret)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	if (!arg) {
		*ret = 1;
		return 0;
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(arg, yes[i]) == 0) {
			*ret = 1;
			return 0;
		}
		if (strcmp(arg, no[i]) == 0) {
			*ret = 0;
			return 0;
		}
	}
	cli_error("--%s: invalid boolean \"%s\" (expected true or false)", flag, arg);
	return -1;
}

/*
 * pflag reads "-o=json" as "-o json" (getopt: value "=json"), also inside a
 * group ("-qo=json"): drop the '=' when the value was attached to its flag.
 */
static const char *
short_value(const char *arg, char **argv, int ind)
{
	const char *elem = ind > 0 ? argv[ind - 1] : NULL;

	if (arg[0] == '=' && elem && arg > elem && arg < elem + strlen(elem))
		return arg + 1;
	return arg;
}

/* Non-empty string flag (kubectl rejects empty paths and names just the same). */
static int
string_flag(const char *flag, const char *arg, const char **ret)
{
	if (!*arg) {
		cli_error("--%s: empty value", flag);
		return -1;
	}
	*ret = arg;
	return 0;
}

static int
add_as_group(struct cli_options *opts, const char *group)
{
	const char **v = realloc(opts->as_groups, (opts->n_as_groups + 1) * sizeof(*v));

	if (!v) {
		cli_error("out of memory");
		return -1;
	}
	opts->as_groups = v;
	v[opts->n_as_groups++] = group;
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
			opts->server = short_value(optarg, argv, optind);
			break;
		case OPT_TLS_SERVER_NAME:
			opts->tls_server_name = optarg;
			break;
		case 'n':
			opts->namespace = short_value(optarg, argv, optind);
			break;
		case OPT_INSECURE:
			if (parse_bool_flag("insecure-skip-tls-verify", optarg, &opts->insecure) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_DISABLE_COMPRESSION:
			if (parse_bool_flag("disable-compression", optarg, &opts->disable_compression) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_CERTIFICATE_AUTHORITY:
			if (string_flag("certificate-authority", optarg, &opts->certificate_authority) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_CLIENT_CERTIFICATE:
			if (string_flag("client-certificate", optarg, &opts->client_certificate) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_CLIENT_KEY:
			if (string_flag("client-key", optarg, &opts->client_key) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_TOKEN:
			if (string_flag("token", optarg, &opts->token) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_AS:
			if (string_flag("as", optarg, &opts->as) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_AS_UID:
			if (string_flag("as-uid", optarg, &opts->as_uid) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_AS_GROUP:
			if (!*optarg) {
				cli_error("--as-group: empty value");
				return CLI_EXIT_USAGE;
			}
			if (add_as_group(opts, optarg) < 0)
				return CLI_EXIT_UNREACHABLE;
			break;
		case OPT_REQUEST_TIMEOUT:
			/* kubectl: "0" means no timeout; else a duration or plain seconds */
			if (strcmp(optarg, "0") != 0 && cli_parse_duration_ms(optarg, &opts->request_timeout_ms) < 0) {
				cli_error("--request-timeout: invalid duration \"%s\" (expected e.g. 5s, 1m, 500ms, plain seconds, or 0 for none)",
					  optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_FLUX_VERSION:
			if (string_flag("flux-version", optarg, &opts->flux_version) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_duration_ms(optarg, &wait_timeout_ms) < 0) {
				cli_error("--timeout: invalid duration \"%s\" (expected e.g. 30s, 2m, 1m30s, 500ms or plain seconds, greater than 0)",
					  optarg);
				return CLI_EXIT_USAGE;
			}
			opts->timeout_ms = wait_timeout_ms;
			break;
		case 'o': {
			const char *format = short_value(optarg, argv, optind);

			if (strcmp(format, "text") == 0) {
				opts->output = CLI_OUTPUT_TEXT;
			} else if (strcmp(format, "json") == 0) {
				opts->output = CLI_OUTPUT_JSON;
			} else if (strcmp(format, "yaml") == 0) {
				opts->output = CLI_OUTPUT_YAML;
			} else {
				cli_error("--output: unknown format \"%s\" (expected text, json or yaml)", format);
				return CLI_EXIT_USAGE;
			}
			break;
		}
		case OPT_NO_COLOR:
			no_color = 1;
			break;
		case 'v':
			/* "-v 7" and "--v 7", as kubectl's -v takes its level */
			if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++];
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
	if (opts->command == CLI_CMD_CLEANUP_PLAN && opts->output != CLI_OUTPUT_TEXT) {
		cli_error("cleanup-plan prints a shell script; --output %s does not apply",
			  opts->output == CLI_OUTPUT_JSON ? "json" : "yaml");
		return CLI_EXIT_USAGE;
	}
	if (opts->command == CLI_CMD_CLEANUP && opts->output == CLI_OUTPUT_YAML) {
		cli_error("cleanup prints a stream of JSON events with --output json; --output yaml does not apply");
		return CLI_EXIT_USAGE;
	}
	if (opts->flux_version && (opts->command != CLI_CMD_CHECK || opts->expect_mask || opts->wait_mask ||
				   opts->all_contexts)) {
		cli_error("--flux-version only applies to check, without --expect, --wait-for or --all-contexts");
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

	cli_started_ms(); /* --timeout counts from here at the latest */
	cli_signals_init();
	r = parse_args(argc, argv, &opts);
	if (r >= 0) {
		free(opts.as_groups);
		return r;
	}
	cli_check_environment();
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
	free(opts.as_groups);
	return r;
}
