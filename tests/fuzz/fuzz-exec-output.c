/*
 * libFuzzer harness for what an exec credential plugin prints: the input
 * (after a first byte choosing v1 or v1beta1) is decoded as the plugin's
 * stdout, JSON or YAML, exactly as exec-credential.c does after a run.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec-credential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fluxstate__exec_config ec = { 0 };
	struct fluxstate__conn conn = { 0 };
	struct fluxstate__exec_state st = { 0 };
	char *msg = NULL;
	int r;

	if (size < 1)
		return 0;
	ec.api_version = (char *)((data[0] & 1) ? "client.authentication.k8s.io/v1beta1"
					       : "client.authentication.k8s.io/v1");
	conn.exec = &ec;
	r = fluxstate__exec_decode_output(&conn, (const char *)data + 1, size - 1, &st, &msg);
	if (r == 0) {
		/* a success always carries a token or a whole certificate/key pair */
		if (msg || (!st.token && !st.cert_pem) || (!st.cert_pem != !st.key_pem))
			abort();
	} else if (!msg || !*msg) {
		abort(); /* every failure says why */
	}
	free(msg);
	fluxstate__exec_state_clear(&st);
	return 0;
}
