/*
 * The pre-install check (fluxstate_report_check_install): can this Flux
 * release be installed on the cluster a report describes? Pure: reads the
 * report and the release table, nothing else.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "detect.h"

/* A release as the table names it: v?MAJOR.MINOR.PATCH, nothing more. */
static int
release_form(const char *s)
{
	int dots = 0, digits = 0;

	if (*s == 'v')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			digits++;
		} else if (*s == '.' && digits) {
			dots++;
			digits = 0;
		} else {
			return 0;
		}
	}
	return dots == 2 && digits;
}

static int
version_less(const char *a, const char *b)
{
	int a1, a2, a3, b1, b2, b3;

	fluxstate__parse_semver(a, &a1, &a2, &a3);
	fluxstate__parse_semver(b, &b1, &b2, &b3);
	return a1 != b1 ? a1 < b1 : a2 != b2 ? a2 < b2 : a3 < b3;
}

static int
answer(char **ret_reason, int verdict, char *reason)
{
	if (!reason)
		return FLUXSTATE_ENOMEM;
	if (ret_reason)
		*ret_reason = reason;
	else
		free(reason);
	return verdict;
}

FLUXSTATE_EXPORT int
fluxstate_report_check_install(const fluxstate_report *report, const char *flux_version, char **ret_reason)
{
	const struct fluxstate__release *rel;
	const char *min, *installed, *server;
	char *want;
	int same, r;
	size_t i;

	if (ret_reason)
		*ret_reason = NULL;
	if (!report || !flux_version)
		return answer(ret_reason, FLUXSTATE_EINVAL,
			      fluxstate__strdup(!report ? "invalid argument: report is NULL"
							: "invalid argument: Flux version is NULL"));
	if (!release_form(flux_version))
		return answer(ret_reason, FLUXSTATE_EINVAL,
			      fluxstate__asprintf("invalid Flux version \"%s\": expected a release such as v2.9.4",
						  flux_version));
	rel = fluxstate__release_lookup(flux_version);
	if (!rel)
		return answer(ret_reason, FLUXSTATE_EINVAL,
			      fluxstate__asprintf("Flux %s is not in the library's release table (%s to %s)", flux_version,
						  fluxstate__releases[0].flux,
						  fluxstate__releases[fluxstate__n_releases - 1].flux));
	min = rel->kube_minimum;
	want = fluxstate__normalize_version(flux_version);
	if (!want)
		return FLUXSTATE_ENOMEM;
	installed = report->version;
	same = installed && strcmp(installed, want) == 0;
	server = report->server_version;

	switch (report->state) {
	case FLUXSTATE_INSTALL_NONE:
		break;
	case FLUXSTATE_INSTALL_HEALTHY:
	case FLUXSTATE_INSTALL_PARTIAL:
		if (same)
			break; /* re-applying the same release repairs or keeps it */
		r = answer(ret_reason, 0,
			   fluxstate__asprintf("Flux %s is installed (%s), not %s: that is an upgrade or downgrade, not an install",
					       installed ? installed : "of an unknown version",
					       fluxstate_state_to_string(report->state), want));
		free(want);
		return r;
	case FLUXSTATE_INSTALL_RESIDUAL:
		r = answer(ret_reason, 0,
			   fluxstate__strdup("leftovers of an earlier Flux install are present (residual): clean up first"));
		free(want);
		return r;
	default:
		r = answer(ret_reason, 0,
			   fluxstate__strdup("the state is unknown (could not see enough): cannot tell whether an install is safe"));
		free(want);
		return r;
	}
	for (i = 0; i < report->n_findings; i++)
		if (report->findings[i].flags & FLUXSTATE_FLAG_BLOCKS_REINSTALL) {
			r = answer(ret_reason, 0,
				   fluxstate__asprintf("an install would fail until this is gone: %s",
						       report->findings[i].reason));
			free(want);
			return r;
		}
	if (fluxstate__parse_semver(server, &r, &r, &r) < 0) {
		r = answer(ret_reason, 0,
			   fluxstate__asprintf("the Kubernetes server version is unknown: cannot check Flux %s's minimum v%s",
					       want, min));
	} else if (version_less(server, min)) {
		r = answer(ret_reason, 0,
			   fluxstate__asprintf("Kubernetes %s is older than v%s, the minimum of Flux %s", server, min, want));
	} else {
		r = answer(ret_reason, 1,
			   fluxstate__asprintf("Flux %s can be installed: %s, and Kubernetes %s meets its minimum v%s", want,
					       report->state == FLUXSTATE_INSTALL_NONE ? "no Flux is installed"
										: "the same release is installed (re-apply)",
					       server, min));
	}
	free(want);
	return r;
}
