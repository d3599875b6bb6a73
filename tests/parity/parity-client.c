/*
 * The library side of the kubectl parity test: load a kubeconfig through
 * the public API (like `fluxstate --kubeconfig PATH [--context C]`), then
 * probe once so that requests reach the simulator. Exit status: 0 probe
 * ran (whatever it found), 1 the probe failed, 2 loading failed.
 *
 * Usage: parity-client KUBECONFIG|- [CONTEXT]   ("-" = the default rules)
 * PARITY_SERVER in the environment = the --server override.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fluxstate/fluxstate.h>

int
main(int argc, char **argv)
{
	fluxstate_ctx *ctx = NULL;
	fluxstate_report *report = NULL;
	const char *path, *context;
	int r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: parity-client KUBECONFIG|- [CONTEXT]\n");
		return 64;
	}
	path = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
	context = argc == 3 ? argv[2] : NULL;
	if (fluxstate_ctx_new(&ctx) < 0)
		return 70;
	fluxstate_ctx_set_timeout_ms(ctx, 8000);
	fluxstate_ctx_set_connect_timeout_ms(ctx, 3000);
	if (getenv("PARITY_SERVER") && fluxstate_ctx_set_server(ctx, getenv("PARITY_SERVER")) < 0) {
		printf("override-error: %s\n", fluxstate_ctx_get_error(ctx));
		fluxstate_ctx_free(ctx);
		return 2;
	}
	r = fluxstate_ctx_load_kubeconfig(ctx, path, context);
	if (r < 0) {
		printf("load-error: %s\n", fluxstate_ctx_get_error(ctx));
		fluxstate_ctx_free(ctx);
		return 2;
	}
	r = fluxstate_ctx_probe(ctx, &report);
	if (r < 0) {
		printf("probe-error: %s\n", fluxstate_ctx_get_error(ctx));
		fluxstate_ctx_free(ctx);
		return 1;
	}
	printf("state: %s\n", fluxstate_state_to_string(fluxstate_report_get_state(report)));
	fluxstate_report_free(report);
	fluxstate_ctx_free(ctx);
	return 0;
}
