/*
 * fluxstate_report_check_install(): the pre-install check is pure, so each
 * case is a report built by hand (state, versions, findings) and the
 * verdict with its reason. The Kubernetes minimums are the release table's
 * (libfluxstate/flux-releases.tsv).
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "detect.h"

static struct fluxstate_report *
report(int state, const char *version, const char *server)
{
	struct fluxstate_report *r = fluxstate__report_new();

	assert_non_null(r);
	r->state = state;
	r->version = version ? strdup(version) : NULL;
	r->server_version = server ? strdup(server) : NULL;
	return r;
}

/* The verdict, and the reason must contain @needle. */
static void
expect(const struct fluxstate_report *r, const char *version, int verdict, const char *needle)
{
	char *reason = NULL;
	int got = fluxstate_report_check_install(r, version, &reason);

	if (got != verdict || !reason || !strstr(reason, needle))
		fail_msg("%s: got %d \"%s\", want %d \"...%s...\"", version, got, reason ? reason : "(null)", verdict,
			 needle);
	fluxstate_free(reason);
}

static void
test_none(void **state)
{
	struct fluxstate_report *r = report(FLUXSTATE_INSTALL_NONE, NULL, "v1.33.1+k3s1");

	(void)state;
	expect(r, "v2.9.4", 1, "Flux v2.9.4 can be installed: no Flux is installed, and Kubernetes v1.33.1+k3s1 meets its minimum v1.33.0");
	expect(r, "2.9.4", 1, "Flux v2.9.4 can be installed");
	expect(r, "v2.0.0", 1, "can be installed");
	fluxstate_report_free(r);
	/* the server below the release's minimum */
	r = report(FLUXSTATE_INSTALL_NONE, NULL, "v1.29.1");
	expect(r, "v2.9.4", 0, "Kubernetes v1.29.1 is older than v1.33.0, the minimum of Flux v2.9.4");
	expect(r, "v2.2.2", 1, "can be installed");
	fluxstate_report_free(r);
	/* an unknown server version cannot be promised anything */
	r = report(FLUXSTATE_INSTALL_NONE, NULL, NULL);
	expect(r, "v2.9.4", 0, "the Kubernetes server version is unknown");
	fluxstate_report_free(r);
}

static void
test_installed(void **state)
{
	struct fluxstate_report *r = report(FLUXSTATE_INSTALL_HEALTHY, "v2.7.5", "v1.33.1");

	(void)state;
	expect(r, "v2.7.5", 1, "the same release is installed (re-apply)");
	expect(r, "v2.9.4", 0, "Flux v2.7.5 is installed (healthy), not v2.9.4: that is an upgrade or downgrade");
	fluxstate_report_free(r);
	r = report(FLUXSTATE_INSTALL_PARTIAL, "v2.7.5", "v1.33.1");
	expect(r, "v2.7.5", 1, "re-apply");
	fluxstate_report_free(r);
	/* a re-apply that a Terminating namespace would break */
	r = report(FLUXSTATE_INSTALL_PARTIAL, "v2.7.5", "v1.33.1");
	assert_non_null(fluxstate__report_add_finding(r, "Namespace", "v1", NULL, "flux-system", "namespace", "terminating",
						      FLUXSTATE_SEVERITY_ERROR, FLUXSTATE_FLAG_BLOCKS_REINSTALL,
						      "namespace flux-system is Terminating"));
	expect(r, "v2.7.5", 0, "an install would fail until this is gone: namespace flux-system is Terminating");
	fluxstate_report_free(r);
	r = report(FLUXSTATE_INSTALL_PARTIAL, NULL, "v1.33.1");
	expect(r, "v2.7.5", 0, "Flux of an unknown version is installed");
	fluxstate_report_free(r);
}

static void
test_residual_and_unknown(void **state)
{
	struct fluxstate_report *r = report(FLUXSTATE_INSTALL_RESIDUAL, "v2.7.5", "v1.33.1");

	(void)state;
	expect(r, "v2.7.5", 0, "clean up first");
	fluxstate_report_free(r);
	r = report(FLUXSTATE_INSTALL_UNKNOWN, NULL, "v1.33.1");
	expect(r, "v2.9.4", 0, "the state is unknown");
	fluxstate_report_free(r);
}

static void
test_bad_arguments(void **state)
{
	static const char *const bad[] = { "2.9", "v2.9.4-rc.1", "latest", "v2..4", "", "v2.9.4 ", "vv2.9.4" };
	struct fluxstate_report *r = report(FLUXSTATE_INSTALL_NONE, NULL, "v1.33.1");
	char *reason = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fluxstate_report_check_install(r, bad[i], &reason), FLUXSTATE_EINVAL);
		assert_non_null(strstr(reason, "expected a release such as v2.9.4"));
		fluxstate_free(reason);
	}
	/* well formed but not a release the table knows */
	assert_int_equal(fluxstate_report_check_install(r, "v2.9.99", &reason), FLUXSTATE_EINVAL);
	assert_non_null(strstr(reason, "is not in the library's release table (v2.0.0 to"));
	fluxstate_free(reason);
	assert_int_equal(fluxstate_report_check_install(r, "v3.0.0", NULL), FLUXSTATE_EINVAL);
	assert_int_equal(fluxstate_report_check_install(NULL, "v2.9.4", &reason), FLUXSTATE_EINVAL);
	fluxstate_free(reason);
	assert_int_equal(fluxstate_report_check_install(r, NULL, NULL), FLUXSTATE_EINVAL);
	/* the reason is optional */
	assert_int_equal(fluxstate_report_check_install(r, "v2.9.4", NULL), 1);
	fluxstate_report_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_installed),
		cmocka_unit_test(test_residual_and_unknown),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests_name("preinstall", tests, NULL, NULL);
}
