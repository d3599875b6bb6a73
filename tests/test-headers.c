/* The public header must compile as strict C89 (see meson: -std=c89 -pedantic). */
#include <fluxstate/fluxstate.h>
#include <stdio.h>

int
main(void)
{
	int state = FLUXSTATE_INSTALL_UNKNOWN;

#if !FLUXSTATE_CHECK_VERSION(0, 1, 0)
#error "version macros broken"
#endif
	if (fluxstate_version() != FLUXSTATE_VERSION_HEX) {
		printf("header version %s != library %s\n", FLUXSTATE_VERSION, fluxstate_version_string());
		return 1;
	}
	if (state != 0 || FLUXSTATE_OK != 0 || FLUXSTATE_ETIMEDOUT != -8)
		return 1;
	printf("ok - fluxstate.h compiles as C89, version %s\n", fluxstate_version_string());
	return 0;
}
