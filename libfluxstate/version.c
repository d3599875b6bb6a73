/*
 * Runtime version: what a ctypes or cgo caller can see of the library it loaded.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fluxstate-private.h"

FLUXSTATE_EXPORT unsigned int
fluxstate_version(void)
{
	return FLUXSTATE_VERSION_HEX;
}

FLUXSTATE_EXPORT const char *
fluxstate_version_string(void)
{
	return FLUXSTATE_VERSION;
}
