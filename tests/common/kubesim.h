/*
 * Test harness: run the Kubernetes API simulator (tests/kubesim/kubesim.py)
 * as a child process for C tests.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_TEST_KUBESIM_H
#define FLUXSTATE_TEST_KUBESIM_H

#include <sys/types.h>

struct kubesim {
	pid_t pid;
	char dir[256];          /* private temp dir, removed by kubesim_stop() */
	char kubeconfig[320];   /* kubeconfig the simulator wrote for its user */
	char log_path[320];     /* JSON-lines request log */
	char url[128];          /* https://127.0.0.1:PORT (or http:// with --plain-http) */
	int port;
};

/*
 * Start the simulator. @args is a NULL-terminated list of extra arguments
 * (e.g. "--scenario", "/path", or "--state", "f.yaml", "--config", "c.yaml").
 * --listen, --kubeconfig-out and --log are added here.
 *
 * Returns 0 when it listens, -1 on any failure (message on stderr).
 */
int kubesim_start(struct kubesim *sim, const char *const *args);

/* Start on tests/scenarios/<name> ($FLUXSTATE_SCENARIOS). Same returns. */
int kubesim_start_scenario(struct kubesim *sim, const char *name);

/*
 * Start on scenario @name with @config_yaml (YAML text) as an extra
 * --config, whose keys replace the scenario's (faults, deny, ...). Same returns.
 */
int kubesim_start_scenario_config(struct kubesim *sim, const char *name, const char *config_yaml);
/* SIGTERM, wait, remove the temp dir. Safe on a zeroed or stopped sim. */
void kubesim_stop(struct kubesim *sim);

/* Number of request-log lines containing @needle (NULL: all lines). */
int kubesim_count_requests(const struct kubesim *sim, const char *needle);

/* POST @body to the control endpoint /_kubesim/<action> (apply, delete, reset). 0 or -1. */
int kubesim_control(const struct kubesim *sim, const char *action, const char *body);

/* Path of scenario @name in a static buffer. */
const char *kubesim_scenario_path(const char *name);

#endif
