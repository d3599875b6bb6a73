/*
 * The kubeconfig parity corpus (tests/kubeconfig/cases, rules in
 * docs/kubeconfig-parity.md), one test per row (or group
 * of rows) that concerns loading and resolution. Rows about what goes on
 * the wire are checked on the resolved connection the transport uses; rows
 * about exec plugins at run time (37-40) belong to the transport tests.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define C (kc_last.conn)

/* 1: first file wins per name, whole entry; relative paths per origin file */
static void
test_01_merge_first_file_wins_whole_entry(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "01-merge-a.yaml");
	kc_put_case("sub/b.yaml", "01-merge-b.yaml");
	setenv("KUBECONFIG", "a.yaml:sub/b.yaml", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->context_name, "x");
	assert_string_equal(C->cluster_name, "shared");
	assert_string_equal(C->server, "https://a.example:6443");
	assert_null(C->tls_server_name);
	assert_int_equal(C->insecure_skip_tls_verify, 0);
	assert_string_equal(C->ca_source, kc_path("pki/ca.crt"));
	assert_non_null(C->ca_pem);
	assert_string_equal(C->token, "SECRET-a");

	/* b's own context: its user's tokenFile resolves against sub/ */
	kc_put_text("sub/b-token", "SECRET-from-b-file\n");
	kc_opts.context = "ctx-b";
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->server, "https://only-b.example");
	assert_string_equal(C->token_file, kc_path("sub/b-token"));
	assert_string_equal(C->token, "SECRET-from-b-file");
}

/* 2: first non-empty current-context */
static void
test_02_first_nonempty_current_context(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "02-cc-a.yaml");
	kc_put_case("b.yaml", "02-cc-b.yaml");
	setenv("KUBECONFIG", "a.yaml:b.yaml", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->context_name, "ctx-b");
	assert_string_equal(C->server, "https://a.example");
}

/* 3: empty KUBECONFIG entries are skipped; duplicates read once */
static void
test_03_empty_entries_skipped(void **state)
{
	(void)state;
	kc_put_case("ok.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", ":ok.yaml::ok.yaml:", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->token, "SECRET-ok");
	assert_int_equal(fluxstate__kubeconfig_n_contexts(kc_last.kc), 2);
}

/* 4: entries are not trimmed */
static void
test_04_entries_not_trimmed(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "03-ok.yaml");
	kc_put_case("c.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", "a.yaml : c.yaml", 1);
	assert_load_error(kc_load(NULL),
			  "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	/* the names really are "a.yaml " and " c.yaml" */
	kc_put_case("a.yaml ", "03-ok.yaml");
	assert_load_ok(kc_load(NULL));
}

/* 5: all files missing -> empty config (kubectl: localhost:8080) */
static void
test_05_all_missing_is_no_configuration(void **state)
{
	(void)state;
	setenv("KUBECONFIG", "m1.yaml:m2.yaml", 1);
	assert_load_error(kc_load(NULL),
			  "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	/* and $HOME/.kube/config missing with no KUBECONFIG: the same */
	unsetenv("KUBECONFIG");
	assert_load_error_contains(kc_load(NULL), "no configuration has been provided");
}

/* 6: an explicit file must exist */
static void
test_06_explicit_missing(void **state)
{
	(void)state;
	assert_load_error(kc_load("nope.yaml"), "stat nope.yaml: no such file or directory");
}

/* 7: an explicit file ignores KUBECONFIG, and is not split on ':' */
static void
test_07_explicit_ignores_kubeconfig(void **state)
{
	(void)state;
	kc_put_text("other.yaml", "clusters: [\n");
	kc_put_case("ok.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", "other.yaml", 1);
	assert_load_ok(kc_load("ok.yaml"));
	assert_string_equal(C->token, "SECRET-ok");
	assert_load_error(kc_load("ok.yaml:other.yaml"), "stat ok.yaml:other.yaml: no such file or directory");
}

/* 8: a directory in the list is fatal */
static void
test_08_directory_in_list_is_fatal(void **state)
{
	(void)state;
	mkdir("sub", 0755);
	kc_put_case("c.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", "sub:c.yaml", 1);
	assert_load_error(kc_load(NULL), "error loading config file \"sub\": read sub: is a directory");
	/* only ENOENT counts as missing (os.IsNotExist) */
	setenv("KUBECONFIG", "c.yaml/sub", 1);
	assert_load_error(kc_load(NULL), "error loading config file \"c.yaml/sub\": open c.yaml/sub: not a directory");
}

/* 8b: an unreadable file is fatal too (skipped when running as root) */
static void
test_08_unreadable_is_fatal(void **state)
{
	(void)state;
	if (geteuid() == 0) {
		/* root reads anything: check the collection of several errors instead */
		kc_put_text("bad1.yaml", "clusters: [\n");
		kc_put_text("bad2.yaml", "current-context: yes\n");
		setenv("KUBECONFIG", "bad1.yaml:bad2.yaml", 1);
		assert_load_error(kc_load(NULL),
				  "[error loading config file \"bad1.yaml\": yaml: line 1: did not find expected node content, error loading config file \"bad2.yaml\": json: cannot unmarshal bool into Go struct field Config.current-context of type string]");
		return;
	}
	kc_put_case("locked.yaml", "03-ok.yaml");
	chmod("locked.yaml", 0);
	setenv("KUBECONFIG", "locked.yaml", 1);
	assert_load_error(kc_load(NULL), "error loading config file \"locked.yaml\": open locked.yaml: permission denied");
}

/* 9: a syntax error names the file and line */
static void
test_09_syntax_error(void **state)
{
	(void)state;
	kc_put_case("bad.yaml", "09-bad.yaml");
	kc_put_case("ok.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", "ok.yaml:bad.yaml", 1);
	assert_load_error(kc_load(NULL),
			  "error loading config file \"bad.yaml\": yaml: line 1: did not find expected node content");
}

/* 10: empty file, "---" only, multi-document */
static void
test_10_empty_and_multidoc(void **state)
{
	(void)state;
	kc_put_case("empty.yaml", "10-empty.yaml");
	kc_put_case("dashes.yaml", "10-dashes.yaml");
	kc_put_case("ok.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", "empty.yaml:dashes.yaml:ok.yaml", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->token, "SECRET-ok");
	assert_load_error_contains(kc_load("empty.yaml"), "no configuration has been provided");
	assert_load_error_contains(kc_load("dashes.yaml"), "no configuration has been provided");

	kc_put_case("multi.yaml", "10-multidoc.yaml");
	assert_load_ok(kc_load("multi.yaml"));
	assert_string_equal(C->context_name, "x");
	assert_string_equal(C->token, "SECRET-first");
}

/* 11: duplicate names in one list */
static void
test_11_duplicate_names(void **state)
{
	(void)state;
	kc_put_case("dup.yaml", "11-dup-cluster.yaml");
	assert_load_error(kc_load("dup.yaml"),
			  "error loading config file \"dup.yaml\": error converting *[]NamedCluster into *map[string]*api.Cluster: duplicate name \"c\" in list");
	assert_load_error(kc_load_text("users: [{name: u}, {name: u, user: {token: SECRET-x}}]\n"),
			  "error loading config file \"config\": error converting *[]NamedAuthInfo into *map[string]*api.AuthInfo: duplicate name \"u\" in list");
	assert_load_error(kc_load_text("contexts: [{name: a}, {name: a}]\n"),
			  "error loading config file \"config\": error converting *[]NamedContext into *map[string]*api.Context: duplicate name \"a\" in list");
	/* an unnamed entry is named "" */
	assert_load_error_contains(kc_load_text("clusters: [{cluster: {}}, {name: \"\"}]\n"), "duplicate name \"\" in list");
}

/* 12: duplicate keys: last wins */
static void
test_12_duplicate_keys_last_wins(void **state)
{
	(void)state;
	kc_put_case("c.yaml", "12-dup-key.yaml");
	assert_load_ok(kc_load("c.yaml"));
	assert_string_equal(C->token, "SECRET-t2");
}

/* 13: an unquoted y is a bool */
static void
test_13_name_y_is_bool(void **state)
{
	(void)state;
	kc_put_case("c.yaml", "13-name-y.yaml");
	assert_load_error(kc_load("c.yaml"),
			  "error loading config file \"c.yaml\": json: cannot unmarshal bool into Go struct field NamedContext.contexts.name of type string");
}

/* 14: typed scalars in the token field */
static void
test_14_typed_token(void **state)
{
	static const struct {
		const char *value;
		const char *kind;
	} v[] = { { "12345", "number" }, { "0x1F", "number" }, { "true", "bool" }, { "1e3", "number" } };
	char buf[512], msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(buf, sizeof(buf), "@STD@users: [{name: u, user: {token: %s}}]\n", v[i].value);
		snprintf(msg, sizeof(msg),
			 "error loading config file \"config\": json: cannot unmarshal %s into Go struct field AuthInfo.users.user.token of type string",
			 v[i].kind);
		assert_load_error(kc_load_text(buf), msg);
	}
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {token: \"12345\"}}]\n"));
	assert_string_equal(C->token, "12345");
}

/* 15: null token / null user = no credentials (anonymous, never a prompt) */
static void
test_15_null_is_absent(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "15-token-null.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_null(C->token);
	assert_int_equal(C->has_basic, 0);
	assert_string_equal(fluxstate__conn_auth_method(C), "none");
	kc_put_case("b.yaml", "15-user-null.yaml");
	assert_load_ok(kc_load("b.yaml"));
	assert_string_equal(fluxstate__conn_auth_method(C), "none");
}

/* 16: YAML 1.1 booleans in bool fields; quoted or numeric is an error */
static void
test_16_bool_field_forms(void **state)
{
	static const char *const yes[] = { "yes", "on", "y", "True", "TRUE", "Y", "ON", NULL };
	static const char *const no[] = { "no", "off", "n", "False", "N", NULL };
	const char *const *p;
	char buf[512];

	(void)state;
	for (p = yes; *p; p++) {
		snprintf(buf, sizeof(buf),
			 "clusters: [{name: c, cluster: {server: https://h, insecure-skip-tls-verify: %s}}]\n"
			 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
			 *p);
		assert_load_ok(kc_load_text(buf));
		assert_int_equal(C->insecure_skip_tls_verify, 1);
	}
	for (p = no; *p; p++) {
		snprintf(buf, sizeof(buf),
			 "clusters: [{name: c, cluster: {server: https://h, insecure-skip-tls-verify: %s}}]\n"
			 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
			 *p);
		assert_load_ok(kc_load_text(buf));
		assert_int_equal(C->insecure_skip_tls_verify, 0);
	}
	assert_load_error(kc_load_text("clusters: [{name: c, cluster: {insecure-skip-tls-verify: \"true\"}}]\n"),
			  "error loading config file \"config\": json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify of type bool");
	assert_load_error(kc_load_text("clusters: [{name: c, cluster: {insecure-skip-tls-verify: 1}}]\n"),
			  "error loading config file \"config\": json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify of type bool");
	assert_load_error(kc_load_text("clusters: [{name: c, cluster: {disable-compression: \"yes\"}}]\n"),
			  "error loading config file \"config\": json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.disable-compression of type bool");
	assert_load_error(kc_load_text("users: [{name: u, user: {exec: {provideClusterInfo: 0}}}]\n"),
			  "error loading config file \"config\": json: cannot unmarshal number into Go struct field ExecConfig.users.user.exec.provideClusterInfo of type bool");
}

/* 17: block-scalar base64 (newlines ignored) */
static void
test_17_block_scalar_ca_data(void **state)
{
	char *b64 = kc_file_base64("ca.crt");
	char buf[8192];
	size_t i, o = 0;

	(void)state;
	o += (size_t)snprintf(buf, sizeof(buf), "clusters:\n- name: c\n  cluster:\n    server: https://h\n"
						"    certificate-authority-data: |\n");
	for (i = 0; i < strlen(b64); i += 76)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "      %.76s\n", b64 + i);
	snprintf(buf + o, sizeof(buf) - o, "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
	free(b64);
	assert_load_ok(kc_load_text(buf));
	assert_string_equal(C->ca_source, "certificate-authority-data");
	assert_true(C->ca_pem_len > 100);
	assert_memory_equal(C->ca_pem, "-----BEGIN CERTIFICATE-----", 27);
}

/* 18: -data must be standard, padded base64; "" is absent */
static void
test_18_bad_base64(void **state)
{
	static const struct {
		const char *data;
		const char *msg;
	} v[] = {
		{ "\"aGVs bG8=\"", "illegal base64 data at input byte 4" },
		{ "aGVsbG8", "illegal base64 data at input byte 4" },
		{ "aGVsbG8-_w==", "illegal base64 data at input byte 7" },
		{ "\"-----BEGIN CERTIFICATE-----\"", "illegal base64 data at input byte 0" },
		{ "aGVsbA==aGVs", "illegal base64 data at input byte 8" },
		{ "aGVsbA=", "illegal base64 data at input byte 7" },
		{ "=", "illegal base64 data at input byte 0" },
	};
	char buf[512], msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(buf, sizeof(buf), "clusters: [{name: c, cluster: {certificate-authority-data: %s}}]\n", v[i].data);
		snprintf(msg, sizeof(msg), "error loading config file \"config\": %s", v[i].msg);
		assert_load_error(kc_load_text(buf), msg);
	}
	/* also client key data; the bad byte is the only thing said about it */
	assert_load_error(kc_load_text("users: [{name: u, user: {client-key-data: \"SECRET key\"}}]\n"),
			  "error loading config file \"config\": illegal base64 data at input byte 6");
	assert_load_error(kc_load_text("users: [{name: u, user: {client-key-data: 12}}]\n"),
			  "error loading config file \"config\": json: cannot unmarshal number into Go struct field AuthInfo.users.user.client-key-data of type []uint8");
	/* "" = absent: the system roots are used */
	assert_load_ok(kc_load_text("clusters: [{name: c, cluster: {server: https://h, certificate-authority-data: \"\"}}]\n"
				    "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"));
	assert_null(C->ca_pem);
}

/* 19: CA data that decodes but holds no certificate */
static void
test_19_ca_data_without_certificate(void **state)
{
	char *key = kc_file_base64("client.key");
	char buf[2048];

	(void)state;
	snprintf(buf, sizeof(buf),
		 "clusters: [{name: c, cluster: {server: https://h, certificate-authority-data: %s}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
		 key);
	free(key);
	assert_load_error_contains(kc_load_text(buf), "unable to load root certificates: no valid certificate authority data seen");
	assert_load_error_contains(kc_load_text("clusters: [{name: c, cluster: {server: https://h, certificate-authority-data: aGVsbG8=}}]\n"
						"contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"),
				   "unable to load root certificates: unable to parse bytes as PEM block");
}

/* 20: CA file and data together */
static void
test_20_ca_file_and_data(void **state)
{
	(void)state;
	kc_put_case("c.yaml", "20-ca-both.yaml");
	assert_load_error(kc_load("c.yaml"),
			  "invalid configuration: certificate-authority-data and certificate-authority are both specified for c. certificate-authority-data will override.");
}

/* 21: insecure with a CA */
static void
test_21_insecure_with_ca(void **state)
{
	(void)state;
	kc_put_case("c.yaml", "21-insecure-ca.yaml");
	assert_load_error(kc_load("c.yaml"), "specifying a root certificates file with the insecure flag is not allowed");
}

/* 22: relative paths against the defining file, whatever the cwd */
static void
test_22_relative_to_file(void **state)
{
	(void)state;
	kc_put_case("merge/sub/rel.yaml", "22-rel.yaml");
	mkdir("elsewhere", 0755);
	assert_int_equal(chdir("elsewhere"), 0);
	assert_load_ok(kc_load("../merge/sub/rel.yaml"));
	assert_int_equal(chdir(kc_dir), 0);
	assert_string_equal(C->ca_source, kc_path("pki/ca.crt"));
	assert_string_equal(C->client_cert_source, kc_path("pki/client.crt"));
	assert_non_null(C->client_key_pem);
	assert_string_equal(fluxstate__conn_auth_method(C), "client-certificate");
}

/* 23: no ~ or $HOME expansion */
static void
test_23_no_tilde_expansion(void **state)
{
	char msg[2048];

	(void)state;
	kc_put_case("cfg/c.yaml", "23-tilde.yaml");
	kc_put_raw("ca.crt", "x", 1); /* $HOME/ca.crt exists, and must not be used */
	snprintf(msg, sizeof(msg),
		 "invalid configuration: unable to read certificate-authority %s/cfg/~/ca.crt for c due to open %s/cfg/~/ca.crt: no such file or directory",
		 kc_dir, kc_dir);
	assert_load_error(kc_load("cfg/c.yaml"), msg);
}

/* 24: exec.command with '/' is relative to the file; a bare name stays for $PATH */
static void
test_24_exec_command_paths(void **state)
{
	(void)state;
	kc_put_case("cfg/c.yaml", "24-exec-rel.yaml");
	assert_load_ok(kc_load("cfg/c.yaml"));
	assert_non_null(C->exec);
	assert_string_equal(C->exec->command, kc_path("cfg/bin/plugin"));
	assert_string_equal(C->exec->args[0], "arg one");
	assert_string_equal(C->exec->args[1], "--flag");
	assert_null(C->exec->args[2]);
	assert_string_equal(C->exec->env[0], "PLUGIN_MODE=token");
	assert_null(C->exec->env[1]);
	assert_string_equal(C->exec->api_version, "client.authentication.k8s.io/v1");
	assert_int_equal(C->exec->interactive_mode, FLUXSTATE__INTERACTIVE_NEVER);
	assert_string_equal(fluxstate__conn_auth_method(C), "exec");
	kc_opts.user = "onpath";
	assert_load_ok(kc_load("cfg/c.yaml"));
	assert_string_equal(C->exec->command, "plugin-on-path");
	assert_int_equal(C->exec->interactive_mode, FLUXSTATE__INTERACTIVE_IF_AVAILABLE);
}

/* 25: token and tokenFile both kept; the transport prefers the file */
static void
test_25_token_and_token_file(void **state)
{
	(void)state;
	kc_put_case("c.yaml", "25-token-file.yaml");
	kc_put_text("tokfile", "SECRET-from-token-file\n\n");
	assert_load_ok(kc_load("c.yaml"));
	assert_string_equal(C->token, "SECRET-from-token-field");
	assert_string_equal(C->token_file, kc_path("tokfile"));
	/* missing file: still fine, the token field is the fallback */
	unlink("tokfile");
	assert_load_ok(kc_load("c.yaml"));
	assert_string_equal(C->token, "SECRET-from-token-field");
	/* tokenFile alone and missing: client-go reads it at load */
	{
		char msg[2048];

		snprintf(msg, sizeof(msg), "open %s: no such file or directory", kc_path("gone"));
		assert_load_error(kc_load_text("@STD@users: [{name: u, user: {tokenFile: gone}}]\n"), msg);
	}
}

/* 26: a whitespace-only token file (kubectl: invalid header at request time) */
static void
test_26_whitespace_token_file(void **state)
{
	(void)state;
	kc_put_case("c.yaml", "26-ws-token-file.yaml");
	kc_put_text("ws-only-file", " \n\t\n");
	assert_load_error_contains(kc_load("c.yaml"), "invalid header field value for \"Authorization\"");
	/* trimmed when not blank */
	kc_put_text("ws-only-file", "  SECRET-trimmed \n");
	assert_load_ok(kc_load("c.yaml"));
	assert_string_equal(C->token, "SECRET-trimmed");
	assert_string_equal(fluxstate__conn_auth_method(C), "token-file");
}

/* 27: the token field is verbatim: a trailing newline is an invalid header */
static void
test_27_token_verbatim(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "27-token-block.yaml");
	assert_load_error_contains(kc_load("a.yaml"), "invalid header field value for \"Authorization\"");
	kc_put_case("b.yaml", "27-token-spaced.yaml");
	assert_load_ok(kc_load("b.yaml"));
	assert_string_equal(C->token, "  SECRET-spaced  ");
}

/* 28, 28b: token + basic; tokenFile + basic */
static void
test_28_token_and_basic(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "28-token-basic.yaml");
	assert_load_error(kc_load("a.yaml"),
			  "invalid configuration: more than one authentication method found for u; found [token basicAuth], only one is allowed");
	kc_put_case("b.yaml", "28b-tokenfile-basic.yaml");
	kc_put_text("tokfile", "SECRET-tf\n");
	assert_load_error(kc_load("b.yaml"), "username/password or bearer token may be set, but not both");
}

/* 29: username alone is basic auth "admin:" */
static void
test_29_username_only(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "29-username.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_int_equal(C->has_basic, 1);
	assert_string_equal(C->username, "admin");
	assert_string_equal(C->password, "");
	assert_string_equal(fluxstate__conn_auth_method(C), "basic");
}

/* 30: token and client certificate together */
static void
test_30_token_with_cert(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "30-token-cert.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->token, "SECRET-t1");
	assert_non_null(C->client_cert_pem);
	assert_non_null(C->client_key_pem);
	assert_string_equal(fluxstate__conn_auth_method(C), "token+client-certificate");
}

/* 31: cert file + data; cert without key; data only works */
static void
test_31_cert_rules(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "31-cert-both.yaml");
	assert_load_error(kc_load("a.yaml"),
			  "invalid configuration: client-cert-data and client-cert are both specified for u. client-cert-data will override.");
	kc_put_case("b.yaml", "31-cert-nokey.yaml");
	assert_load_error(kc_load("b.yaml"),
			  "invalid configuration: client-key-data or client-key must be specified for u to use the clientCert authentication method.");
	kc_put_case("c.yaml", "31-cert-data.yaml");
	assert_load_ok(kc_load("c.yaml"));
	assert_string_equal(C->client_cert_source, "client-certificate-data");
	assert_memory_equal(C->client_cert_pem, "-----BEGIN CERTIFICATE-----", 27);
	/* key file + key data; unreadable key file */
	assert_load_error(kc_load_text("@STD@users: [{name: u, user: {client-certificate-data: @CERT_DATA@, client-key: pki/client.key, client-key-data: @KEY_DATA@}}]\n"),
			  "invalid configuration: client-key-data and client-key are both specified for u; client-key-data will override");
	{
		char msg[2048];

		snprintf(msg, sizeof(msg),
			 "invalid configuration: unable to read client-key %s for u due to open %s: no such file or directory",
			 kc_path("nokey"), kc_path("nokey"));
		assert_load_error(kc_load_text("@STD@users: [{name: u, user: {client-certificate-data: @CERT_DATA@, client-key: nokey}}]\n"),
				  msg);
	}
}

/* 32: static credentials win over exec (the transport never starts it) */
static void
test_32_static_wins_over_exec(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "32-token-exec.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_non_null(C->exec);
	assert_string_equal(fluxstate__conn_auth_method(C), "token");
	kc_put_case("b.yaml", "32-cert-exec.yaml");
	assert_load_ok(kc_load("b.yaml"));
	assert_string_equal(fluxstate__conn_auth_method(C), "client-certificate");
}

/* 33: auth-provider + exec */
static void
test_33_auth_provider_with_exec(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "33-ap-exec.yaml");
	assert_load_error(kc_load("a.yaml"),
			  "invalid configuration: authProvider cannot be provided in combination with an exec plugin for u");
}

/* 34: removed and unknown auth providers; oidc id-token */
static void
test_34_auth_providers(void **state)
{
	(void)state;
	kc_put_case("gcp.yaml", "34-ap-gcp.yaml");
	assert_load_error_contains(kc_load("gcp.yaml"), "The gcp auth plugin has been removed.\nPlease use the \"gke-gcloud-auth-plugin\"");
	kc_put_case("azure.yaml", "34-ap-azure.yaml");
	assert_load_error_contains(kc_load("azure.yaml"), "The azure auth plugin has been removed.");
	kc_put_case("nope.yaml", "34-ap-nope.yaml");
	assert_load_error(kc_load("nope.yaml"), "no Auth Provider found for name \"nope\"");
	kc_put_case("oidc.yaml", "34-ap-oidc.yaml");
	assert_load_ok(kc_load("oidc.yaml"));
	assert_string_equal(C->auth_provider, "oidc");
	assert_string_equal(C->oidc_id_token, "SECRET-id-token");
	assert_string_equal(fluxstate__conn_auth_method(C), "oidc");
	assert_load_error(kc_load_text("@STD@users: [{name: u, user: {auth-provider: {name: oidc, config: {client-id: k}}}}]\n"),
			  "Must provide idp-issuer-url");
}

/* 35: exec interactiveMode rules */
static void
test_35_exec_interactive_mode(void **state)
{
	(void)state;
	kc_put_case("v1.yaml", "35-exec-v1.yaml");
	assert_load_error(kc_load("v1.yaml"),
			  "invalid configuration: interactiveMode must be specified for u to use exec authentication plugin");
	kc_put_case("v1beta1.yaml", "35-exec-v1beta1.yaml");
	assert_load_ok(kc_load("v1beta1.yaml"));
	assert_int_equal(C->exec->interactive_mode, FLUXSTATE__INTERACTIVE_IF_AVAILABLE);
	assert_int_equal(C->exec->provide_cluster_info, 1);
	assert_string_equal(C->exec->install_hint, "install U+001B[31mplugU+001B[0m");
	kc_put_case("bad.yaml", "35-exec-bad-mode.yaml");
	assert_load_error(kc_load("bad.yaml"),
			  "invalid configuration: [env variable name must be specified for u to use exec authentication plugin, invalid interactiveMode for u: \"Sometimes\"]");
	kc_put_case("empty.yaml", "35-exec-empty.yaml");
	assert_load_error(kc_load("empty.yaml"),
			  "invalid configuration: [command must be specified for u to use exec authentication plugin, apiVersion must be specified for u to use exec authentication plugin]");
}

/* 36: v1alpha1 is gone */
static void
test_36_exec_v1alpha1(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "36-exec-v1alpha1.yaml");
	assert_load_error(kc_load("a.yaml"), "exec plugin: invalid apiVersion \"client.authentication.k8s.io/v1alpha1\"");
}

/* 41, 42: no credentials over plain http (impersonation still applies) */
static void
test_41_42_plain_http_has_no_credentials(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "41-http.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->server, "http://127.0.0.1:16445");
	assert_null(C->token);
	assert_null(C->token_file);
	assert_string_equal(fluxstate__conn_auth_method(C), "none");
	assert_string_equal(C->impersonate_user, "jane");
	kc_put_case("b.yaml", "42-noscheme.yaml");
	assert_load_ok(kc_load("b.yaml"));
	assert_string_equal(C->server, "http://127.0.0.1:16445");
	assert_null(C->token);
	assert_string_equal(fluxstate__conn_auth_method(C), "none");
}

/* 43: path prefix kept, query and fragment dropped */
static void
test_43_path_prefix(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "43-prefix.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->server, "https://127.0.0.1:16443");
	assert_string_equal(C->path_prefix, "/prefix");
	assert_load_ok(kc_load_text("clusters: [{name: c, cluster: {server: \"https://h:1/\"}}]\n"
				    "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"));
	assert_string_equal(C->path_prefix, "");
	assert_load_ok(kc_load_text("clusters: [{name: c, cluster: {server: \"https://[::1]:6443//a//b/\"}}]\n"
				    "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"));
	assert_string_equal(C->server, "https://[::1]:6443");
	assert_string_equal(C->path_prefix, "/a/b");
}

/* 44: tls-server-name kept; --server drops it unless given too */
static void
test_44_tls_server_name_and_server_override(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "44-tls-server-name.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->tls_server_name, "only-this-name.example");
	kc_opts.server = "https://127.0.0.1:16444";
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->server, "https://127.0.0.1:16444");
	assert_null(C->tls_server_name);
	kc_opts.tls_server_name = "other.example";
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->tls_server_name, "other.example");
	kc_opts.server = NULL;
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->server, "https://127.0.0.1:16443");
	assert_string_equal(C->tls_server_name, "other.example");
}

/* 45: proxy-url schemes */
static void
test_45_proxy_url(void **state)
{
	static const char *const ok[] = { "http://127.0.0.1:18080", "https://p.example", "socks5://127.0.0.1:1080",
					  "HTTP://p.example", NULL };
	const char *const *p;
	char buf[512];

	(void)state;
	kc_put_case("a.yaml", "45-proxy.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->proxy_url, "http://127.0.0.1:18080");
	kc_put_case("b.yaml", "45-proxy-ftp.yaml");
	assert_load_error(kc_load("b.yaml"),
			  "invalid configuration: invalid 'proxy-url' \"ftp://proxyuser:xxxxx@127.0.0.1:21\" for cluster \"c\": unsupported scheme \"ftp\", must be http, https, or socks5");
	for (p = ok; *p; p++) {
		snprintf(buf, sizeof(buf),
			 "clusters: [{name: c, cluster: {server: https://h, proxy-url: \"%s\"}}]\n"
			 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
			 *p);
		assert_load_ok(kc_load_text(buf));
		assert_string_equal(C->proxy_url, *p);
	}
	assert_load_error(kc_load_text("clusters: [{name: c, cluster: {server: https://h, proxy-url: \"127.0.0.1:3128\"}}]\n"
				       "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"),
			  "invalid configuration: invalid 'proxy-url' \"127.0.0.1:3128\" for cluster \"c\": unsupported scheme \"\", must be http, https, or socks5");
}

/* 46: dangling references (intended divergence: kubectl uses empty entries) */
static void
test_46_dangling_references(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "46-ghost-user.yaml");
	assert_load_error(kc_load("a.yaml"), "user \"ghost\" referenced by context \"x\" not found");
	kc_put_case("b.yaml", "46-ghost-cluster.yaml");
	assert_load_error(kc_load("b.yaml"), "cluster \"ghost\" referenced by context \"x\" not found");
}

/* 47: current-context names a missing context */
static void
test_47_current_context_missing(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "47-cc-nope.yaml");
	assert_load_error(kc_load("a.yaml"), "invalid configuration: context was not found for specified context: nope");
}

/* 48: explicit names that do not exist */
static void
test_48_explicit_names_missing(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "03-ok.yaml");
	kc_opts.context = "nope";
	assert_load_error(kc_load("a.yaml"), "context \"nope\" does not exist");
	kc_opts.context = NULL;
	kc_opts.cluster = "nope";
	assert_load_error(kc_load("a.yaml"), "cluster \"nope\" does not exist");
	kc_opts.cluster = NULL;
	kc_opts.user = "nope";
	assert_load_error(kc_load("a.yaml"), "auth info \"nope\" does not exist");
	/* user is checked first */
	kc_opts.context = "nope";
	assert_load_error(kc_load("a.yaml"), "auth info \"nope\" does not exist");
}

/* 49: namespace: override > context > default; not validated */
static void
test_49_namespace(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "49-ns.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->namespace, "default");
	kc_opts.context = "bad-ns";
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->namespace, "Bad_NS");
	kc_opts.namespace = "other";
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->namespace, "other");
}

/* 50: impersonation extras without a user */
static void
test_50_groups_without_as(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "50-groups-no-as.yaml");
	assert_load_error(kc_load("a.yaml"),
			  "invalid configuration: requesting uid, groups or user-extra for u without impersonating a user");
}

/* 51: full impersonation */
static void
test_51_impersonation(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "51-impersonate.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->impersonate_user, "jane");
	assert_string_equal(C->impersonate_uid, "1234");
	assert_string_equal(C->impersonate_groups[0], "g1");
	assert_string_equal(C->impersonate_groups[1], "g2");
	assert_null(C->impersonate_groups[2]);
	/* keys sorted (Go map order is irrelevant: one header per value) */
	assert_string_equal(C->impersonate_extra[0], "reason=why");
	assert_string_equal(C->impersonate_extra[1], "scopes=a");
	assert_string_equal(C->impersonate_extra[2], "scopes=b");
	assert_null(C->impersonate_extra[3]);
}

/* 52: apiVersion/kind */
static void
test_52_api_version_and_kind(void **state)
{
	(void)state;
	kc_put_case("v2.yaml", "52-v2.yaml");
	assert_load_error(kc_load("v2.yaml"),
			  "error loading config file \"v2.yaml\": no kind \"Config\" is registered for version \"v2\" in scheme \"k8s.io/client-go/tools/clientcmd/api/latest/latest.go:50\"");
	kc_put_case("pod.yaml", "52-pod.yaml");
	assert_load_error(kc_load("pod.yaml"),
			  "error loading config file \"pod.yaml\": no kind \"Pod\" is registered for version \"v1\" in scheme \"k8s.io/client-go/tools/clientcmd/api/latest/latest.go:50\"");
	kc_put_case("absent.yaml", "52-absent.yaml");
	assert_load_ok(kc_load("absent.yaml"));
}

/* 53: unknown keys ignored, keys case-sensitive */
static void
test_53_unknown_and_case_sensitive(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "53-unknown.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->token, "SECRET-t1");
	kc_put_case("b.yaml", "53-Server.yaml");
	assert_load_error(kc_load("b.yaml"), "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	/* with any other cluster field, the missing server is named */
	assert_load_error(kc_load_text("clusters: [{name: c, cluster: {Server: https://h, insecure-skip-tls-verify: true}}]\n"
				       "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"),
			  "invalid configuration: no server found for cluster \"c\"");
}

/* 54: anchors, aliases, merge keys */
static void
test_54_anchors_and_merge_keys(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "54-anchors.yaml");
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->cluster_name, "c2"); /* *c2 merged first wins over the later map */
	assert_string_equal(C->server, "https://merged.example:6443");
	assert_string_equal(C->namespace, "from-merge");
	assert_string_equal(C->ca_source, "certificate-authority-data");
	kc_opts.cluster = "c1";
	assert_load_ok(kc_load("a.yaml"));
	assert_string_equal(C->server, "https://127.0.0.1:16443");
}

/* 55: CRLF and a UTF-8 BOM */
static void
test_55_crlf_and_bom(void **state)
{
	char *ca = kc_file_base64("ca.crt");
	char buf[4096];
	int n;

	(void)state;
	n = snprintf(buf, sizeof(buf),
		     "\xef\xbb\xbf"
		     "apiVersion: v1\r\nclusters:\r\n- name: c\r\n  cluster:\r\n    server: https://h:1\r\n"
		     "    certificate-authority-data: %s\r\ncontexts:\r\n- name: x\r\n  context: {cluster: c, user: u}\r\n"
		     "current-context: x\r\nusers:\r\n- name: u\r\n  user:\r\n    token: SECRET-crlf\r\n",
		     ca);
	free(ca);
	kc_put_raw("crlf.yaml", buf, (size_t)n);
	assert_load_ok(kc_load("crlf.yaml"));
	assert_string_equal(C->token, "SECRET-crlf");
	assert_string_equal(C->server, "https://h:1");
}

/* 56: tab indentation */
static void
test_56_tab(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "56-tab.yaml");
	assert_load_error(kc_load("a.yaml"),
			  "error loading config file \"a.yaml\": yaml: line 5: found a tab character that violates indentation");
}

/* 57: in-cluster when the kubeconfig is empty; POD_NAMESPACE wins */
static void
test_57_in_cluster(void **state)
{
	(void)state;
	kc_put_case("a.yaml", "57-no-cc.yaml");
	kc_put_text("sa/token", "SECRET-sa-token-xyz\n");
	kc_put_text("sa/namespace", "from-sa-file\n");
	kc_put_case("sa/ca.crt", "pki/ca.crt");
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("KUBECONFIG", "a.yaml", 1);
	kc_opts.serviceaccount_dir = strdup(kc_path("sa"));
	assert_load_ok(kc_load(NULL));
	assert_int_equal(C->in_cluster, 1);
	assert_null(C->context_name);
	assert_string_equal(C->server, "https://10.0.0.1:443");
	assert_string_equal(C->token, "SECRET-sa-token-xyz");
	assert_string_equal(C->token_file, kc_path("sa/token"));
	assert_string_equal(C->namespace, "from-sa-file");
	assert_non_null(C->ca_pem);
	setenv("POD_NAMESPACE", "from-env", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->namespace, "from-env");
	/* a usable kubeconfig always wins */
	kc_put_case("ok.yaml", "03-ok.yaml");
	setenv("KUBECONFIG", "ok.yaml", 1);
	assert_load_ok(kc_load(NULL));
	assert_int_equal(C->in_cluster, 0);
	assert_string_equal(C->token, "SECRET-ok");
	free((char *)kc_opts.serviceaccount_dir);
	kc_opts.serviceaccount_dir = NULL;
}

#define T(f) cmocka_unit_test_setup_teardown(f, kc_setup, kc_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_01_merge_first_file_wins_whole_entry),
		T(test_02_first_nonempty_current_context),
		T(test_03_empty_entries_skipped),
		T(test_04_entries_not_trimmed),
		T(test_05_all_missing_is_no_configuration),
		T(test_06_explicit_missing),
		T(test_07_explicit_ignores_kubeconfig),
		T(test_08_directory_in_list_is_fatal),
		T(test_08_unreadable_is_fatal),
		T(test_09_syntax_error),
		T(test_10_empty_and_multidoc),
		T(test_11_duplicate_names),
		T(test_12_duplicate_keys_last_wins),
		T(test_13_name_y_is_bool),
		T(test_14_typed_token),
		T(test_15_null_is_absent),
		T(test_16_bool_field_forms),
		T(test_17_block_scalar_ca_data),
		T(test_18_bad_base64),
		T(test_19_ca_data_without_certificate),
		T(test_20_ca_file_and_data),
		T(test_21_insecure_with_ca),
		T(test_22_relative_to_file),
		T(test_23_no_tilde_expansion),
		T(test_24_exec_command_paths),
		T(test_25_token_and_token_file),
		T(test_26_whitespace_token_file),
		T(test_27_token_verbatim),
		T(test_28_token_and_basic),
		T(test_29_username_only),
		T(test_30_token_with_cert),
		T(test_31_cert_rules),
		T(test_32_static_wins_over_exec),
		T(test_33_auth_provider_with_exec),
		T(test_34_auth_providers),
		T(test_35_exec_interactive_mode),
		T(test_36_exec_v1alpha1),
		T(test_41_42_plain_http_has_no_credentials),
		T(test_43_path_prefix),
		T(test_44_tls_server_name_and_server_override),
		T(test_45_proxy_url),
		T(test_46_dangling_references),
		T(test_47_current_context_missing),
		T(test_48_explicit_names_missing),
		T(test_49_namespace),
		T(test_50_groups_without_as),
		T(test_51_impersonation),
		T(test_52_api_version_and_kind),
		T(test_53_unknown_and_case_sensitive),
		T(test_54_anchors_and_merge_keys),
		T(test_55_crlf_and_bom),
		T(test_56_tab),
		T(test_57_in_cluster),
	};

	return cmocka_run_group_tests_name("kubeconfig-corpus", tests, NULL, NULL);
}
