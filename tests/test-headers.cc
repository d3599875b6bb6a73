// The public header must be includable from C++.
#include <fluxstate/fluxstate.h>
#include <cstdio>
#include <cstring>

int
main()
{
	fluxstate_ctx *ctx = nullptr;

	if (fluxstate_ctx_new(&ctx) != FLUXSTATE_OK)
		return 1;
	fluxstate_ctx_free(ctx);
	if (std::strcmp(fluxstate_state_to_string(FLUXSTATE_INSTALL_HEALTHY), "healthy") != 0)
		return 1;
	std::printf("ok - fluxstate.h compiles as C++\n");
	return 0;
}
