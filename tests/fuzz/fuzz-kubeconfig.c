/*
 * libFuzzer harness for the kubeconfig loader: the input is one kubeconfig
 * file (passed by path, as an memfd), loaded and resolved like
 * fluxstate_ctx_load_kubeconfig() does, then described.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fluxstate-private.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* nothing outside the input may steer the load */
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
	setenv("HOME", "/nonexistent-fluxstate-fuzz", 1);
	/* a tokenFile of /dev/stdin must not block */
	if (!freopen("/dev/null", "r", stdin))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fluxstate__load_options opts = { 0 };
	struct fluxstate__kubeconfig *kc = NULL;
	struct fluxstate__conn *conn = NULL;
	fluxstate_ctx *ctx = NULL;
	char path[64];
	char *json = NULL;
	int fd;

	fd = memfd_create("kubeconfig", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (fluxstate_ctx_new(&ctx) < 0) {
		close(fd);
		return 0;
	}
	opts.explicit_path = path;
	opts.serviceaccount_dir = "/nonexistent-fluxstate-fuzz";
	if (fluxstate__kubeconfig_load(ctx, &opts, &kc) == 0) {
		size_t i, n = fluxstate__kubeconfig_n_contexts(kc);

		for (i = 0; i < n; i++)
			if (!fluxstate__kubeconfig_context_name(kc, i))
				abort();
		if (fluxstate__kubeconfig_resolve(ctx, kc, &opts, &conn) == 0) {
			if (fluxstate__conn_describe(conn, &json) != 0)
				abort();
			(void)fluxstate__conn_auth_method(conn);
			free(json);
		} else if (!fluxstate_ctx_get_error(ctx)[0]) {
			abort(); /* every failure says why */
		}
	} else if (!fluxstate_ctx_get_error(ctx)[0]) {
		abort();
	}
	fluxstate__conn_free(conn);
	fluxstate__kubeconfig_free(kc);
	fluxstate_ctx_free(ctx);
	close(fd);
	return 0;
}
