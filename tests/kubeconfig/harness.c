/*
 * Fixture for the kubeconfig unit tests (see harness.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#ifndef CASES_DIR
#error "CASES_DIR must name tests/kubeconfig/cases"
#endif

char kc_dir[256];
struct fluxstate__load_options kc_opts;
struct kc_run kc_last;
static char old_cwd[4096];
static char *saved_home;

static const char *const cleared_env[] = {
	"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE", "KUBERNETES_MASTER", NULL
};

static void
run_clear(void)
{
	fluxstate__conn_free(kc_last.conn);
	fluxstate__kubeconfig_free(kc_last.kc);
	memset(&kc_last, 0, sizeof(kc_last));
}

int
kc_setup(void **state)
{
	const char *const *e;
	char tmpl[] = "/tmp/fluxstate-kc-XXXXXX";

	(void)state;
	if (!getcwd(old_cwd, sizeof(old_cwd)))
		return -1;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(kc_dir, sizeof(kc_dir), "%s", tmpl);
	if (chdir(kc_dir) < 0)
		return -1;
	free(saved_home);
	saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", kc_dir, 1);
	for (e = cleared_env; *e; e++)
		unsetenv(*e);
	memset(&kc_opts, 0, sizeof(kc_opts));
	memset(&kc_last, 0, sizeof(kc_last));
	/* the PKI every case may refer to as pki/... */
	mkdir("pki", 0755);
	{
		static const char *const files[] = { "ca.crt", "client.crt", "client.key", NULL };
		const char *const *f;

		for (f = files; *f; f++) {
			char src[4096], *data = NULL;
			size_t len = 0;

			snprintf(src, sizeof(src), "%s/pki/%s", CASES_DIR, *f);
			if (fluxstate__read_file(src, 1 << 20, &data, &len) < 0)
				return -1;
			snprintf(src, sizeof(src), "pki/%s", *f);
			kc_put_raw(src, data, len);
			free(data);
		}
	}
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

int
kc_teardown(void **state)
{
	const char *const *e;

	(void)state;
	run_clear();
	if (chdir(old_cwd) < 0)
		return -1;
	nftw(kc_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (e = cleared_env; *e; e++)
		unsetenv(*e);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
	saved_home = NULL;
	return 0;
}

const char *
kc_path(const char *rel)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "%s/%s", kc_dir, rel);
	return buf;
}

static void
mkparents(const char *rel)
{
	char tmp[4096];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", rel);
	for (p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
}

void
kc_put_raw(const char *rel, const void *data, size_t len)
{
	FILE *f;

	mkparents(rel);
	f = fopen(rel, "wb");
	if (!f)
		fail_msg("cannot write %s: %s", rel, strerror(errno));
	if (len && fwrite(data, 1, len, f) != len)
		fail_msg("short write to %s", rel);
	fclose(f);
}

char *
kc_file_base64(const char *pki_name)
{
	char src[4096], *data = NULL, *b64;
	size_t len = 0;

	snprintf(src, sizeof(src), "%s/pki/%s", CASES_DIR, pki_name);
	if (fluxstate__read_file(src, 1 << 20, &data, &len) < 0)
		fail_msg("cannot read %s", src);
	b64 = fluxstate__base64_encode(data, len);
	free(data);
	return b64;
}

static const char std_nocc[] = "apiVersion: v1\n"
			       "kind: Config\n"
			       "clusters:\n"
			       "- name: c\n"
			       "  cluster:\n"
			       "    server: https://127.0.0.1:16443\n"
			       "    certificate-authority-data: @CA_DATA@\n"
			       "contexts:\n"
			       "- name: x\n"
			       "  context: {cluster: c, user: u}\n"
			       "- name: bad-ns\n"
			       "  context: {cluster: c, user: u, namespace: Bad_NS}\n";

static char *
expand(const char *text)
{
	struct fluxstate__buf out = { 0 };
	char *ca = kc_file_base64("ca.crt"), *cert = kc_file_base64("client.crt"), *key = kc_file_base64("client.key");
	const char *p = text;

	while (*p) {
		if (strncmp(p, "@STD@", 5) == 0) {
			fluxstate__buf_appendf(&out, "%scurrent-context: x\n", std_nocc);
			p += 5;
		} else if (strncmp(p, "@STD_NOCC@", 10) == 0) {
			fluxstate__buf_appendf(&out, "%s", std_nocc);
			p += 10;
		} else if (strncmp(p, "@CA_DATA@", 9) == 0) {
			fluxstate__buf_appendf(&out, "%s", ca);
			p += 9;
		} else if (strncmp(p, "@CERT_DATA@", 11) == 0) {
			fluxstate__buf_appendf(&out, "%s", cert);
			p += 11;
		} else if (strncmp(p, "@KEY_DATA@", 10) == 0) {
			fluxstate__buf_appendf(&out, "%s", key);
			p += 10;
		} else {
			fluxstate__buf_append(&out, p, 1);
			p++;
		}
	}
	free(ca);
	free(cert);
	free(key);
	/* a second pass: @STD@ itself holds @CA_DATA@ */
	if (out.data && strchr(out.data, '@') && strstr(out.data, "@CA_DATA@")) {
		char *again = expand(out.data);

		fluxstate__buf_clear(&out);
		return again;
	}
	return fluxstate__buf_steal(&out);
}

void
kc_put_text(const char *rel, const char *text)
{
	char *t = expand(text);

	kc_put_raw(rel, t, strlen(t));
	free(t);
}

void
kc_put_case(const char *rel, const char *name)
{
	char src[4096], *data = NULL;
	size_t len = 0;

	snprintf(src, sizeof(src), "%s/%s", CASES_DIR, name);
	if (fluxstate__read_file(src, 1 << 20, &data, &len) < 0)
		fail_msg("cannot read case %s", src);
	kc_put_text(rel, data);
	free(data);
}

int
kc_load(const char *path)
{
	fluxstate_ctx *ctx = NULL;
	struct fluxstate__load_options o = kc_opts;

	run_clear();
	if (fluxstate_ctx_new(&ctx) < 0)
		fail_msg("fluxstate_ctx_new failed");
	o.explicit_path = path;
	kc_last.rc = fluxstate__kubeconfig_load(ctx, &o, &kc_last.kc);
	if (kc_last.rc == 0)
		kc_last.rc = fluxstate__kubeconfig_resolve(ctx, kc_last.kc, &o, &kc_last.conn);
	snprintf(kc_last.error, sizeof(kc_last.error), "%s", fluxstate_ctx_get_error(ctx));
	fluxstate_ctx_free(ctx);
	/* every secret in the cases is spelled SECRET-...: never in a message */
	if (strstr(kc_last.error, "SECRET") || strstr(kc_last.error, "PRIVATE KEY"))
		fail_msg("a secret leaked into the error message: %s", kc_last.error);
	if (kc_last.conn) {
		char *json = NULL;

		if (fluxstate__conn_describe(kc_last.conn, &json) < 0)
			fail_msg("conn_describe failed");
		if (strstr(json, "SECRET") || strstr(json, "PRIVATE"))
			fail_msg("a secret leaked into the description: %s", json);
		free(json);
	}
	return kc_last.rc;
}

int
kc_load_text(const char *text)
{
	kc_put_text("config", text);
	return kc_load("config");
}
