/* STUB: replaced by the transport work (issue 3). */
#include "fluxstate-private.h"

int
fluxstate__client_new(fluxstate_ctx *ctx, const struct fluxstate__conn *conn, struct fluxstate__client **ret)
{
	(void)conn;
	(void)ret;
	return fluxstate__error(ctx, FLUXSTATE_ERROR, "client not implemented yet");
}

void
fluxstate__client_free(struct fluxstate__client *client)
{
	(void)client;
}
