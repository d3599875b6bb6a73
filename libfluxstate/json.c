/* STUB: replaced by the transport work (issue 3). */
#include "fluxstate-private.h"
