/* STUB: to be written. */
#include "fluxstate-private.h"
