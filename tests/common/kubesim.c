/*
 * Test harness: spawn tests/kubesim/kubesim.py, wait for its
 * "listening on URL" line, and clean up after it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kubesim.h"

#define START_TIMEOUT_MS 15000

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

const char *
kubesim_scenario_path(const char *name)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s", env_or("FLUXSTATE_SCENARIOS", "tests/scenarios"), name);
	return path;
}

static void
remove_tree(const char *dir)
{
	char cmd[512];

	if (!dir[0] || strncmp(dir, "/tmp/kubesim-", 13) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "kubesim: could not remove %s\n", dir);
}

/* Read the child's stdout until the "listening on" line or a timeout. */
static int
wait_listening(struct kubesim *sim, int fd)
{
	char buf[4096];
	size_t len = 0;
	int elapsed = 0;

	while (elapsed < START_TIMEOUT_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *nl, *at;
		ssize_t n;

		if (poll(&p, 1, 100) == 0) {
			elapsed += 100;
			continue;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return -1; /* exited before listening */
		len += (size_t)n;
		buf[len] = '\0';
		at = strstr(buf, "listening on ");
		if (at && (nl = strchr(at, '\n'))) {
			const char *colon;

			*nl = '\0';
			snprintf(sim->url, sizeof(sim->url), "%s", at + strlen("listening on "));
			colon = strrchr(sim->url, ':');
			sim->port = colon ? atoi(colon + 1) : 0;
			return sim->port > 0 ? 0 : -1;
		}
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	fprintf(stderr, "kubesim: no 'listening on' line within %d ms\n", START_TIMEOUT_MS);
	return -1;
}

int
kubesim_start(struct kubesim *sim, const char *const *args)
{
	const char *script = env_or("FLUXSTATE_KUBESIM", "tests/kubesim/kubesim.py");
	const char *argv[64];
	int out[2], status, n = 0, i;
	pid_t pid;

	memset(sim, 0, sizeof(*sim));
	snprintf(sim->dir, sizeof(sim->dir), "/tmp/kubesim-XXXXXX");
	if (!mkdtemp(sim->dir)) {
		perror("kubesim: mkdtemp");
		sim->dir[0] = '\0';
		return -1;
	}
	snprintf(sim->kubeconfig, sizeof(sim->kubeconfig), "%s/kubeconfig", sim->dir);
	snprintf(sim->log_path, sizeof(sim->log_path), "%s/requests.jsonl", sim->dir);

	argv[n++] = "/usr/bin/python3";
	argv[n++] = script;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--kubeconfig-out";
	argv[n++] = sim->kubeconfig;
	argv[n++] = "--log";
	argv[n++] = sim->log_path;
	for (i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	if (pipe2(out, O_CLOEXEC) < 0) {
		perror("kubesim: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("kubesim: fork");
		return -1;
	}
	if (pid == 0) {
		/* The sanitizer runtime must not be preloaded into python. */
		unsetenv("LD_PRELOAD");
		dup2(out[1], STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	sim->pid = pid;
	if (wait_listening(sim, out[0]) == 0) {
		close(out[0]);
		return 0;
	}
	close(out[0]);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	sim->pid = 0;
	remove_tree(sim->dir);
	sim->dir[0] = '\0';
	fprintf(stderr, "kubesim: failed to start (%s)\n", script);
	return -1;
}

int
kubesim_start_scenario(struct kubesim *sim, const char *name)
{
	const char *args[] = { "--scenario", kubesim_scenario_path(name), NULL };

	return kubesim_start(sim, args);
}

int
kubesim_start_scenario_config(struct kubesim *sim, const char *name, const char *config_yaml)
{
	char path[] = "/tmp/fluxstate-kubesim-config-XXXXXX";
	const char *args[] = { "--scenario", kubesim_scenario_path(name), "--config", path, NULL };
	int fd = mkstemp(path), rc;
	FILE *f;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	rc = f ? fputs(config_yaml, f) : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0) {
		unlink(path);
		return -1;
	}
	rc = kubesim_start(sim, args);
	unlink(path);
	return rc;
}

void
kubesim_stop(struct kubesim *sim)
{
	int status;

	if (sim->pid > 0) {
		kill(sim->pid, SIGTERM);
		waitpid(sim->pid, &status, 0);
		sim->pid = 0;
	}
	remove_tree(sim->dir);
	sim->dir[0] = '\0';
}

int
kubesim_count_requests(const struct kubesim *sim, const char *needle)
{
	char line[16384];
	FILE *f = fopen(sim->log_path, "re");
	int count = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!needle || strstr(line, needle))
			count++;
	fclose(f);
	return count;
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

int
kubesim_control(const struct kubesim *sim, const char *action, const char *body)
{
	char url[256];
	long code = 0;
	CURL *h = curl_easy_init();
	CURLcode rc;

	if (!h)
		return -1;
	snprintf(url, sizeof(url), "%s/_kubesim/%s", sim->url, action);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	/* test control channel on loopback: the simulator's throwaway CA is not worth loading here */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return rc == CURLE_OK && code >= 200 && code < 300 ? 0 : -1;
}
