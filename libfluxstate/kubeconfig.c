/* STUB: replaced by the kubeconfig work (issue 3). */
#include "fluxstate-private.h"

int
fluxstate__kubeconfig_load(fluxstate_ctx *ctx, const struct fluxstate__load_options *opts,
			   struct fluxstate__kubeconfig **ret)
{
	(void)opts;
	(void)ret;
	return fluxstate__error(ctx, FLUXSTATE_ERROR, "kubeconfig loading is not implemented yet");
}

int
fluxstate__kubeconfig_resolve(fluxstate_ctx *ctx, const struct fluxstate__kubeconfig *kc,
			      const struct fluxstate__load_options *opts, struct fluxstate__conn **ret)
{
	(void)kc;
	(void)opts;
	(void)ret;
	return fluxstate__error(ctx, FLUXSTATE_ERROR, "kubeconfig loading is not implemented yet");
}

size_t
fluxstate__kubeconfig_n_contexts(const struct fluxstate__kubeconfig *kc)
{
	(void)kc;
	return 0;
}

const char *
fluxstate__kubeconfig_context_name(const struct fluxstate__kubeconfig *kc, size_t i)
{
	(void)kc;
	(void)i;
	return NULL;
}

void
fluxstate__kubeconfig_free(struct fluxstate__kubeconfig *kc)
{
	(void)kc;
}
