/*
 * Error codes and install-state names.
 *
 * SPDX-License-Identifier: MIT
 */
#include <strings.h>

#include "fluxstate-private.h"

FLUXSTATE_EXPORT const char *
fluxstate_strerror(int code)
{
	switch (code) {
	case FLUXSTATE_OK:
		return "success";
	case FLUXSTATE_ERROR:
		return "error";
	case FLUXSTATE_ENOMEM:
		return "out of memory";
	case FLUXSTATE_EINVAL:
		return "invalid argument";
	case FLUXSTATE_ECONFIG:
		return "kubeconfig error";
	case FLUXSTATE_ENETWORK:
		return "cannot reach the API server";
	case FLUXSTATE_EAUTH:
		return "not authorized by the API server";
	case FLUXSTATE_EPROTOCOL:
		return "malformed reply from the API server";
	case FLUXSTATE_ETIMEDOUT:
		return "timed out";
	case FLUXSTATE_ECANCELED:
		return "canceled";
	case FLUXSTATE_ECONFLICT:
		return "changed since the plan was made";
	case FLUXSTATE_EREFUSED:
		return "refused in this state";
	default:
		return "unknown error";
	}
}

static const char *const state_names[] = {
	[FLUXSTATE_INSTALL_UNKNOWN] = "unknown",
	[FLUXSTATE_INSTALL_NONE] = "none",
	[FLUXSTATE_INSTALL_RESIDUAL] = "residual",
	[FLUXSTATE_INSTALL_PARTIAL] = "partial",
	[FLUXSTATE_INSTALL_HEALTHY] = "healthy",
};

FLUXSTATE_EXPORT const char *
fluxstate_state_to_string(int state)
{
	if (state < 0 || (size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

FLUXSTATE_EXPORT int
fluxstate_state_from_string(const char *name)
{
	size_t i;

	if (!name)
		return FLUXSTATE_EINVAL;
	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcasecmp(name, state_names[i]) == 0)
			return (int)i;
	return FLUXSTATE_EINVAL;
}
