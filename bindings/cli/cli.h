/*
 * The fluxstate command: declarations shared by its source files.
 * Public API only: never include fluxstate-private.h here.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_CLI_H
#define FLUXSTATE_CLI_H

#include <stdio.h>
#include <fluxstate/fluxstate.h>

/* The exit-code contract (docs/cli.md, fluxstate(1)); never renumber. */
enum cli_exit {
	CLI_EXIT_OK = 0,          /* done; the state is known (and as expected) */
	CLI_EXIT_UNEXPECTED = 1,  /* the state is not one of those expected */
	CLI_EXIT_USAGE = 2,       /* bad command line, kubeconfig or config error */
	CLI_EXIT_UNKNOWN = 3,     /* the state is unknown: could not see enough */
	CLI_EXIT_UNREACHABLE = 4, /* cannot reach or authenticate, probe timed out, other failure */
	CLI_EXIT_WAIT_TIMEOUT = 5 /* --wait-for: the state was not reached in time */
	/* 128 + signal (130 SIGINT, 143 SIGTERM): interrupted, the probe was cancelled */
};

enum cli_output {
	CLI_OUTPUT_TEXT,
	CLI_OUTPUT_JSON,
	CLI_OUTPUT_YAML
};

enum cli_command {
	CLI_CMD_CHECK,
	CLI_CMD_CONFIG,
	CLI_CMD_CLEANUP_PLAN,
	CLI_CMD_CLEANUP
};

/* Everything the command line asked for. Strings borrow from argv. */
struct cli_options {
	enum cli_command command;
	const char *kubeconfig;
	const char *context;
	const char *cluster;
	const char *user;
	const char *server;
	const char *tls_server_name;
	const char *namespace;
	/* kubectl's connection flags */
	int insecure;                /* --insecure-skip-tls-verify */
	const char *certificate_authority;
	const char *client_certificate;
	const char *client_key;
	const char *token;
	const char *as;
	const char *as_uid;
	const char **as_groups;      /* --as-group, repeatable (the array is allocated) */
	size_t n_as_groups;
	unsigned int request_timeout_ms; /* --request-timeout; 0: none */
	int disable_compression;
	unsigned int timeout_ms;     /* 0: not given */
	const char *flux_version;    /* check --flux-version: the pre-install check */
	enum cli_output output;
	int color;                   /* resolved: 1 only on a terminal without NO_COLOR */
	int verbose;
	int quiet;
	int force;
	int keep_namespace;          /* cleanup, cleanup-plan */
	int yes;                     /* cleanup: no confirmation */
	int dry_run_server;          /* cleanup --dry-run=server */
	int all_contexts;
	unsigned int expect_mask;    /* bit (1 << FLUXSTATE_INSTALL_*); 0: none given */
	unsigned int wait_mask;      /* same, for --wait-for */
};

#define CLI_STATE_BIT(state) (1u << (unsigned int)(state))

/* common.c: what every subcommand uses */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_for_error(int code);
/*
 * A context configured from the command line with its kubeconfig loaded,
 * registered so that SIGINT/SIGTERM cancel it. @context overrides --context
 * (for --all-contexts). A failure goes to stderr, or into *ret_msg (caller
 * frees) when that is not NULL. Returns an exit code. Release the context
 * with cli_ctx_close().
 */
int cli_ctx_open(const struct cli_options *opts, const char *context, fluxstate_ctx **ret,
		 char **ret_msg);
void cli_ctx_close(fluxstate_ctx *ctx);
/* Reports a failed call on @ctx (stderr or *ret_msg); returns the exit code. */
int cli_fail_ctx(fluxstate_ctx *ctx, int r, const char *what, char **ret_msg);
int cli_exit_for_state(const struct cli_options *opts, int state, unsigned int mask);
const char *cli_mask_to_string(unsigned int mask, char *buf, size_t size);
/* Call first in main(): SIGINT/SIGTERM then cancel every open context. */
void cli_signals_init(void);
/* CLOCK_MONOTONIC in ms; when the process started (exec), on the same clock */
unsigned long long cli_now_ms(void);
unsigned long long cli_started_ms(void);
/* What is left of a --timeout that counts from the process's start (at least 1 ms). */
unsigned int cli_time_left_ms(unsigned int timeout_ms);
int cli_interrupted(void);     /* the signal that interrupted us, or 0 */
void cli_check_environment(void);
void cli_put_json_string(FILE *out, const char *s);
/* A JSON document as -o json or -o yaml asked. 0, or -1 if it is not JSON. */
int cli_print_document(FILE *out, const char *json, enum cli_output format);

/* output-yaml.c: JSON text -> block YAML (as one "- " list item if asked) */
int cli_print_yaml(FILE *out, const char *json, int as_list_item);

/* duration.c */
int cli_parse_duration_ms(const char *text, unsigned int *ret_ms);
void cli_format_duration(unsigned int ms, char *buf, size_t size);

/* output-text.c */
struct cli_style {
	const char *ok, *fail, *warn, *arrow, *reset, *bold;
};
void cli_style_init(struct cli_style *style, int color);
void cli_print_report_text(FILE *out, const fluxstate_report *report, const char *context,
			   const struct cli_style *style);
const char *cli_action_hint(const char *action);

/* output-config.c */
int cli_print_config(FILE *out, const char *json, enum cli_output format);

/* cleanup-plan.c */
int cli_cleanup_plan(const struct cli_options *opts);
int cli_cleanup_open_plan(const struct cli_options *opts, fluxstate_ctx **ret_ctx, fluxstate_report **ret_report,
			  fluxstate_cleanup_plan **ret_plan);

/* cleanup.c */
int cli_cleanup(const struct cli_options *opts);

/* all-contexts.c */
int cli_all_contexts(const struct cli_options *opts);

/* wait.c */
int cli_wait_for(const struct cli_options *opts);

#endif
