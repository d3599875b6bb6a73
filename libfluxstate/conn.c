/* STUB: replaced by the kubeconfig work (issue 3). */
#include "fluxstate-private.h"

void
fluxstate__conn_free(struct fluxstate__conn *conn)
{
	(void)conn;
}

int
fluxstate__conn_describe(const struct fluxstate__conn *conn, char **ret_json)
{
	(void)conn;
	(void)ret_json;
	return FLUXSTATE_ERROR;
}

const char *
fluxstate__conn_auth_method(const struct fluxstate__conn *conn)
{
	(void)conn;
	return "none";
}
