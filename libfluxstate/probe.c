/* STUB: replaced by the detection work (issue 4). */
#include "fluxstate-private.h"

FLUXSTATE_EXPORT int
fluxstate_ctx_probe(fluxstate_ctx *ctx, fluxstate_report **ret)
{
	(void)ret;
	if (!ctx)
		return FLUXSTATE_EINVAL;
	return fluxstate__error(ctx, FLUXSTATE_ERROR, "probe not implemented yet");
}

FLUXSTATE_EXPORT int
fluxstate_ctx_wait_for_change(fluxstate_ctx *ctx, const fluxstate_report *since, unsigned int timeout_ms)
{
	(void)since;
	(void)timeout_ms;
	if (!ctx)
		return FLUXSTATE_EINVAL;
	return fluxstate__error(ctx, FLUXSTATE_ERROR, "wait not implemented yet");
}
