/*
 * Shared fixture for the kubeconfig unit tests: each test runs in a fresh
 * temporary directory (also $HOME) with the case files it copies there,
 * KUBECONFIG and the in-cluster variables unset.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef KC_HARNESS_H
#define KC_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fluxstate-private.h"

struct kc_run {
	int rc;
	char error[1024];
	struct fluxstate__conn *conn;
	struct fluxstate__kubeconfig *kc;
};

extern char kc_dir[256];
extern struct fluxstate__load_options kc_opts;
extern struct kc_run kc_last;

int kc_setup(void **state);
int kc_teardown(void **state);

/* Copy tests/kubeconfig/cases/@name to @rel in the temp dir, expanding @STD@ & co. */
void kc_put_case(const char *rel, const char *name);
/* Write @text (expanded the same way) to @rel. */
void kc_put_text(const char *rel, const char *text);
/* Write raw bytes, no expansion. */
void kc_put_raw(const char *rel, const void *data, size_t len);
/* A temp-dir path (static buffer, valid until the next call). */
const char *kc_path(const char *rel);
char *kc_file_base64(const char *pki_name);

/* load + resolve with kc_opts (explicit path @path, or NULL). Returns rc. */
int kc_load(const char *path);
/* Shorthand: write @text to "config" and load it explicitly. */
int kc_load_text(const char *text);

#define assert_load_ok(expr)                                                         \
	do {                                                                         \
		int _r = (expr);                                                     \
		if (_r != 0)                                                         \
			fail_msg("load failed (%d): %s", _r, kc_last.error);       \
	} while (0)

#define assert_load_error(expr, msg)                                                 \
	do {                                                                         \
		int _r = (expr);                                                     \
		if (_r != FLUXSTATE_ECONFIG)                                         \
			fail_msg("expected ECONFIG \"%s\", got %d (%s)", (msg), _r, \
				 kc_last.error);                                     \
		assert_string_equal(kc_last.error, (msg));                           \
	} while (0)

#define assert_load_error_contains(expr, msg)                                        \
	do {                                                                         \
		int _r = (expr);                                                     \
		if (_r != FLUXSTATE_ECONFIG)                                         \
			fail_msg("expected ECONFIG ~\"%s\", got %d (%s)", (msg), _r, \
				 kc_last.error);                                     \
		if (!strstr(kc_last.error, (msg)))                                   \
			fail_msg("error \"%s\" lacks \"%s\"", kc_last.error, (msg));  \
	} while (0)

#endif
