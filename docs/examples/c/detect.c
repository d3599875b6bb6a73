/*
 * A small libfluxstate consumer: probe the cluster of a kubeconfig and
 * print the state and the findings. Built only with pkg-config:
 *
 *   cc -o detect detect.c $(pkg-config --cflags --libs fluxstate)
 *   ./detect [KUBECONFIG]
 *
 * The Python (bindings/python/examples/detect.py) and Go
 * (bindings/go/examples/detect) versions print exactly the same text.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <fluxstate/fluxstate.h>

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static const char *
severity_name(int severity)
{
	switch (severity) {
	case FLUXSTATE_SEVERITY_INFO:
		return "info";
	case FLUXSTATE_SEVERITY_WARNING:
		return "warning";
	default:
		return "error";
	}
}

static void
print_flags(unsigned int flags)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ FLUXSTATE_FLAG_BLOCKS_REINSTALL, "blocks-reinstall" },
		{ FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL, "blocks-flux-install" },
		{ FLUXSTATE_FLAG_FINALIZER_BLOCKED, "finalizer-blocked" },
		{ FLUXSTATE_FLAG_NOT_VISIBLE, "not-visible" },
	};
	const char *sep = "";
	size_t i;

	putchar('[');
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			printf("%s%s", sep, names[i].name);
			sep = ",";
		}
	}
	putchar(']');
}

int
main(int argc, char **argv)
{
	fluxstate_ctx *ctx = NULL;
	fluxstate_report *report = NULL;
	size_t i, n;
	int r;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [KUBECONFIG]\n", argv[0]);
		return 2;
	}
	r = fluxstate_ctx_new(&ctx);
	if (r < 0) {
		fprintf(stderr, "detect: %s\n", fluxstate_strerror(r));
		return 1;
	}
	if (fluxstate_ctx_load_kubeconfig(ctx, argc > 1 ? argv[1] : NULL, NULL) < 0 ||
	    fluxstate_ctx_probe(ctx, &report) < 0) {
		fprintf(stderr, "detect: %s\n", fluxstate_ctx_get_error(ctx));
		fluxstate_ctx_free(ctx);
		return 1;
	}
	/* The report does not need its context any more. */
	fluxstate_ctx_free(ctx);

	printf("state: %s\n", fluxstate_state_to_string(fluxstate_report_get_state(report)));
	printf("summary: %s\n", fluxstate_report_get_summary(report));
	printf("action: %s\n", fluxstate_report_get_action(report));
	printf("namespace: %s\n", or_dash(fluxstate_report_get_namespace(report)));
	printf("installer: %s\n", fluxstate_report_get_installer(report));
	printf("version: %s\n", or_dash(fluxstate_report_get_version(report)));
	n = fluxstate_report_get_n_findings(report);
	printf("findings: %zu\n", n);
	for (i = 0; i < n; i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(report, i);

		printf("- %s %s/%s %s %s %s ",
		       severity_name(fluxstate_finding_get_severity(f)),
		       fluxstate_finding_get_category(f), fluxstate_finding_get_problem(f),
		       fluxstate_finding_get_kind(f), or_dash(fluxstate_finding_get_namespace(f)),
		       or_dash(fluxstate_finding_get_name(f)));
		print_flags(fluxstate_finding_get_flags(f));
		printf("\n  %s\n", fluxstate_finding_get_reason(f));
	}
	fluxstate_report_free(report);
	return 0;
}
