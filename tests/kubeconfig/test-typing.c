/*
 * YAML typing (go-yaml v2 resolution + encoding/json typing), base64 with
 * Go's error offsets, the YAML -> JSON tree itself, merge and override
 * rules beyond the corpus, in-cluster details, and the conn helpers.
 * Expected messages were taken from kubectl 1.33 on the same inputs.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "yamlnode.h"

#define C (kc_last.conn)

static const char cc_prefix[] = "error loading config file \"config\": json: cannot unmarshal ";
static const char cc_suffix[] = " into Go struct field Config.current-context of type string";

static void
expect_current_context_type(const char *value, const char *kind)
{
	char buf[512], msg[512];

	snprintf(buf, sizeof(buf), "current-context: %s\n", value);
	snprintf(msg, sizeof(msg), "%s%s%s", cc_prefix, kind, cc_suffix);
	if (kc_load_text(buf) != FLUXSTATE_ECONFIG || strcmp(kc_last.error, msg) != 0)
		fail_msg("current-context: %s -> \"%s\", want \"%s\"", value, kc_last.error, msg);
}

static void
expect_current_context_string(const char *value, const char *want)
{
	char buf[512], msg[512];

	snprintf(buf, sizeof(buf), "current-context: %s\n", value);
	snprintf(msg, sizeof(msg), "invalid configuration: context was not found for specified context: %s", want);
	if (kc_load_text(buf) != FLUXSTATE_ECONFIG || strcmp(kc_last.error, msg) != 0)
		fail_msg("current-context: %s -> \"%s\", want \"%s\"", value, kc_last.error, msg);
}

/* The 28 variants of the spec, plus the corners checked against kubectl. */
static void
test_typed_scalars_in_string_field(void **state)
{
	static const char *const bools[] = { "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
					     "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
					     "ON", "off", "Off", "OFF", "!!bool \"yes\"", NULL };
	static const char *const numbers[] = { "123", "+1", "-0", "017", "0o17", "0x1F", "0b101", "1_000", "1.10",
					       "1e3", "08", ".5", "+.5", "1.", "0.", "0_1", "+_1", "0x_1F", "+0b1",
					       "-0b1", "9223372036854775808", "18446744073709551616",
					       "!!int \"12\"", "!!float 1", NULL };
	const char *const *p;

	(void)state;
	for (p = bools; *p; p++)
		expect_current_context_type(*p, "bool");
	for (p = numbers; *p; p++)
		expect_current_context_type(*p, "number");
}

static void
test_strings_that_look_typed(void **state)
{
	(void)state;
	expect_current_context_string("tRue", "tRue");
	expect_current_context_string("12:30", "12:30");
	expect_current_context_string("2024-01-01", "2024-01-01");
	expect_current_context_string("!!timestamp 2001-01-01", "2001-01-01");
	expect_current_context_string("!!str 123", "123");
	expect_current_context_string("\"yes\"", "yes");
	expect_current_context_string("'0x1F'", "0x1F");
	expect_current_context_string("1e999", "1e999"); /* float overflow stays text */
	expect_current_context_string("0x", "0x");
	expect_current_context_string(".e1", ".e1");
	expect_current_context_string("1e", "1e");
	expect_current_context_string("_1", "_1");
	expect_current_context_string("0xG", "0xG");
	expect_current_context_string("! 12", "12");
	expect_current_context_string("!!binary aGVsbG8=", "hello");
	expect_current_context_string("|\n  block", "block\n");
}

static void
test_null_forms_and_special_floats(void **state)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", "!!null \"\"", NULL };
	const char *const *p;
	char buf[256];

	(void)state;
	for (p = nulls; *p; p++) {
		snprintf(buf, sizeof(buf), "current-context: %s\n", *p);
		assert_load_error_contains(kc_load_text(buf), "no configuration has been provided");
	}
	assert_load_error(kc_load_text("current-context: .inf\n"), "error loading config file \"config\": json: unsupported value: +Inf");
	assert_load_error(kc_load_text("current-context: -.Inf\n"), "error loading config file \"config\": json: unsupported value: -Inf");
	/* anywhere in the document, even in an unknown field */
	assert_load_error(kc_load_text("whatever: [.NaN]\n"), "error loading config file \"config\": json: unsupported value: NaN");
	assert_load_error(kc_load_text("current-context: !!int x\n"),
			  "error loading config file \"config\": yaml: line 1: cannot decode a scalar as a !!int");
	assert_load_error(kc_load_text("current-context: !!binary aGVsbG8\n"),
			  "error loading config file \"config\": yaml: !!binary value contains invalid base64 data");
}

static void
test_structural_type_errors(void **state)
{
	static const struct {
		const char *yaml;
		const char *msg;
	} v[] = {
		{ "- a\n- b\n",
		  "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }" },
		{ "hello\n",
		  "couldn't get version/kind; json parse error: json: cannot unmarshal string into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }" },
		{ "apiVersion: 5\n",
		  "couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .apiVersion of type string" },
		{ "clusters: {a: 1}\n", "json: cannot unmarshal object into Go struct field Config.clusters of type []v1.NamedCluster" },
		{ "clusters: [\"x\"]\n", "json: cannot unmarshal string into Go struct field Config.clusters of type v1.NamedCluster" },
		{ "users: [{name: u, user: {as-user-extra: {scopes: [1]}}}]\n",
		  "json: cannot unmarshal number into Go struct field AuthInfo.users.user.as-user-extra of type string" },
		{ "users: [{name: u, user: {auth-provider: {name: x, config: {a: 1}}}}]\n",
		  "json: cannot unmarshal number into Go struct field AuthProviderConfig.users.user.auth-provider.config of type string" },
		{ "users: [{name: u, user: {exec: {env: [{name: 1}]}}}]\n",
		  "json: cannot unmarshal number into Go struct field ExecEnvVar.users.user.exec.env.name of type string" },
		{ "users: [{name: u, user: {exec: {env: \"x\"}}}]\n",
		  "json: cannot unmarshal string into Go struct field ExecConfig.users.user.exec.env of type []v1.ExecEnvVar" },
		{ "users: [{name: u, user: {as-groups: g}}]\n",
		  "json: cannot unmarshal string into Go struct field AuthInfo.users.user.as-groups of type []string" },
		{ "contexts: [{name: x, context: {namespace: on}}]\n",
		  "json: cannot unmarshal bool into Go struct field Context.contexts.context.namespace of type string" },
		{ "clusters: [{name: c, cluster: {server: 8080}}]\n",
		  "json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.server of type string" },
		{ "clusters:\n- name: c\n  cluster: {server: \"https://a\", extensions: [{name: e, extension: 1}, {name: e, extension: 2}]}\n",
		  "error converting *[]NamedExtension into *map[string]runtime.Object: duplicate name \"e\" in list" },
		/* the first error in key order wins, as encoding/json reports it */
		{ "users: [{name: u, user: {username: 1, as: true}}]\n",
		  "json: cannot unmarshal bool into Go struct field AuthInfo.users.user.as of type string" },
	};
	char msg[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(msg, sizeof(msg), "error loading config file \"config\": %s", v[i].msg);
		assert_load_error(kc_load_text(v[i].yaml), msg);
	}
}

static void
test_yaml_syntax_errors(void **state)
{
	(void)state;
	assert_load_error(kc_load_text("clusters:\n- name: c\n  cluster:\n\tserver: https://x\n"),
			  "error loading config file \"config\": yaml: line 4: found character that cannot start any token");
	assert_load_error(kc_load_text("a:\n  b: 1\n\t\n"),
			  "error loading config file \"config\": yaml: line 3: found a tab character that violates indentation");
	assert_load_error(kc_load_text("users:\n- name: u\n  user:\n    token: |\n\tabc\n"),
			  "error loading config file \"config\": yaml: line 5: found a tab character where an indentation space is expected");
	assert_load_error(kc_load_text("current-context: -\n"),
			  "error loading config file \"config\": yaml: block sequence entries are not allowed in this context");
	assert_load_error(kc_load_text("a: *nope\n"), "error loading config file \"config\": yaml: unknown anchor 'nope' referenced");
	assert_load_error_contains(kc_load_text("a: &x [*x]\n"), "yaml: anchor 'x' value contains itself");
	kc_put_raw("bin.yaml", "a: \xff\xfe\xfd\n", 7);
	assert_load_error_contains(kc_load("bin.yaml"), "error loading config file \"bin.yaml\": yaml: ");
}

/* An alias bomb must stop, not eat the machine. */
static void
test_alias_bomb_is_bounded(void **state)
{
	static const char bomb[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
				   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
				   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
				   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
				   "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";

	(void)state;
	assert_load_error(kc_load_text(bomb), "error loading config file \"config\": yaml: document contains excessive aliasing");
}

static void
test_deep_nesting_is_bounded(void **state)
{
	char *buf = malloc(20001);

	(void)state;
	memset(buf, '[', 20000);
	buf[20000] = '\0';
	kc_put_raw("deep.yaml", buf, 20000);
	free(buf);
	assert_load_error_contains(kc_load("deep.yaml"), "exceeded max depth");
}

static char *
to_json(const char *yaml)
{
	struct fluxstate__ynode *n = NULL;
	char *err = NULL, *json;
	int r = fluxstate__yaml_parse(yaml, strlen(yaml), &n, &err);

	if (r < 0) {
		json = fluxstate__asprintf("ERROR %s", err);
		free(err);
		return json;
	}
	json = fluxstate__ynode_to_json(n);
	fluxstate__ynode_free(n);
	return json;
}

#define assert_json(yaml, want)                          \
	do {                                             \
		char *_j = to_json(yaml);                \
		assert_string_equal(_j, want);           \
		free(_j);                                \
	} while (0)

static void
test_yaml_to_json_tree(void **state)
{
	(void)state;
	assert_json("", "null");
	assert_json("---\n", "null");
	assert_json("b: 1\na: [yes, ~, x, 0x1F, 1e3, 1.5, -0, 017, 1_000]\n",
		    "{\"a\":[true,null,\"x\",31,1000,1.5,0,15,1000],\"b\":1}");
	/* duplicate keys: last wins; keys sorted bytewise */
	assert_json("k: 1\nK: 2\nk: 3\n", "{\"K\":2,\"k\":3}");
	/* non-string keys become strings */
	assert_json("1: a\ntrue: b\nyes: c\n0x10: d\n", "{\"1\":\"a\",\"16\":\"d\",\"true\":\"c\"}");
	/* merge keys: explicit keys after << override; a sequence's first map wins */
	assert_json("base: &b {x: 1, q: 1}\nm: {<<: *b, q: 2}\n", "{\"base\":{\"q\":1,\"x\":1},\"m\":{\"q\":2,\"x\":1}}");
	/* YAML 1.1: a key y is the bool true */
	assert_json("y: 1\n", "{\"true\":1}");
	assert_json("m: {q: 0, <<: {q: 9, z: 9}}\n", "{\"m\":{\"q\":9,\"z\":9}}");
	assert_json("m:\n  <<: [{a: 1}, {a: 2, b: 2}]\n", "{\"m\":{\"a\":1,\"b\":2}}");
	assert_json("m: {\"<<\": {a: 1}}\n", "{\"m\":{\"\\u003c\\u003c\":{\"a\":1}}}");
	assert_json("m: {<<: 1}\n", "ERROR yaml: line 1: map merge requires map or sequence of maps as the value");
	/* Go's json escaping */
	assert_json("s: \"<a&b>\\t\\u2028\\x01\"\n", "{\"s\":\"\\u003ca\\u0026b\\u003e\\t\\u2028\\u0001\"}");
	/* only the first document */
	assert_json("a: 1\n---\nb: 2\n", "{\"a\":1}");
	assert_json("? [a, b]\n: c\n", "ERROR yaml: line 1: invalid map key: a collection cannot be a key");
	assert_json("~: x\n", "ERROR yaml: line 1: unsupported map key of type null");
}

static void
test_base64_go_offsets(void **state)
{
	static const struct {
		const char *in;
		long bad;       /* -1 = valid */
		const char *out;
	} v[] = {
		{ "", -1, "" },
		{ "aGVsbG8=", -1, "hello" },
		{ "aGVs\r\nbG8=\n", -1, "hello" },
		{ "YWJj", -1, "abc" },
		{ "YWI=", -1, "ab" },
		{ "\n", -1, "" },
		{ "aGVsbA=\n=", -1, "hell" },
		{ "aGVs bG8=", 4, NULL },
		{ "aGVsbG8", 4, NULL },
		{ "aGVsbG8-_w==", 7, NULL },
		{ "aGVsbA==aGVs", 8, NULL },
		{ "aGVsbA=", 7, NULL },
		{ "=", 0, NULL },
		{ "aGVsbA==\\n", 8, NULL },
		{ "aGVsbG8=====", 8, NULL },
		{ "YQ==YQ==", 4, NULL },
		{ "aGVsbA== ", 8, NULL },
		{ "a===", 1, NULL },
		{ "aa=a", 2, NULL },
		{ "a\nb\nc", 2, NULL },
		{ "ab\n\n=", 5, NULL },
		{ "YQ=", 3, NULL },
		{ "YQ\n=", 4, NULL },
		{ "Y\nQ", 1, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned char *out = NULL;
		size_t len = 0, bad = 999;
		int r = fluxstate__base64_decode(v[i].in, strlen(v[i].in), &out, &len, &bad);

		if (v[i].bad < 0) {
			if (r != 0)
				fail_msg("\"%s\": unexpected error at %zu", v[i].in, bad);
			assert_int_equal(len, strlen(v[i].out));
			assert_memory_equal(out, v[i].out, len);
			free(out);
		} else {
			if (r != FLUXSTATE_EINVAL)
				fail_msg("\"%s\": accepted", v[i].in);
			if ((long)bad != v[i].bad)
				fail_msg("\"%s\": bad byte %zu, Go says %ld", v[i].in, bad, v[i].bad);
		}
	}
}

/* Merging beyond row 1: users and contexts also first-wins; listing order */
static void
test_merge_lists_contexts_in_file_order(void **state)
{
	(void)state;
	kc_put_text("a.yaml", "contexts: [{name: z, context: {cluster: c}}, {name: a, context: {cluster: c}}]\n"
			      "users: [{name: u, user: {token: SECRET-first}}]\n");
	kc_put_text("b.yaml", "@STD@users: [{name: u, user: {token: SECRET-second}}]\n");
	setenv("KUBECONFIG", "a.yaml:b.yaml:a.yaml", 1);
	kc_opts.context = "x";
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->token, "SECRET-first");
	assert_int_equal(fluxstate__kubeconfig_n_contexts(kc_last.kc), 4);
	assert_string_equal(fluxstate__kubeconfig_context_name(kc_last.kc, 0), "z");
	assert_string_equal(fluxstate__kubeconfig_context_name(kc_last.kc, 1), "a");
	assert_string_equal(fluxstate__kubeconfig_context_name(kc_last.kc, 2), "x");
	assert_string_equal(fluxstate__kubeconfig_context_name(kc_last.kc, 3), "bad-ns");
	assert_null(fluxstate__kubeconfig_context_name(kc_last.kc, 4));
	assert_int_equal(fluxstate__kubeconfig_n_contexts(NULL), 0);
	assert_null(fluxstate__kubeconfig_context_name(NULL, 0));
	fluxstate__kubeconfig_free(NULL);
	fluxstate__conn_free(NULL);
}

/* $HOME/.kube/config, and the old ~/.kube/.kubeconfig read (never written) */
static void
test_home_default_and_migration(void **state)
{
	struct stat st;

	(void)state;
	kc_put_text(".kube/.kubeconfig", "@STD@users: [{name: u, user: {token: SECRET-old}}]\n");
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->token, "SECRET-old");
	assert_int_not_equal(stat(".kube/config", &st), 0);
	kc_put_text(".kube/config", "@STD@users: [{name: u, user: {token: SECRET-home}}]\n");
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->token, "SECRET-home");
	/* KUBECONFIG set but empty counts as unset */
	setenv("KUBECONFIG", "", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->token, "SECRET-home");
}

/* --insecure-skip-tls-verify / --certificate-authority clear the kubeconfig CA */
static void
test_ca_and_insecure_overrides(void **state)
{
	(void)state;
	kc_put_text("c.yaml", "@STD@users: [{name: u, user: {token: SECRET-x}}]\n");
	kc_opts.insecure_skip_tls_verify = 1;
	assert_load_ok(kc_load("c.yaml"));
	assert_int_equal(C->insecure_skip_tls_verify, 1);
	assert_null(C->ca_pem);
	kc_opts.insecure_skip_tls_verify = 0;
	kc_opts.certificate_authority = "pki/ca.crt";
	kc_put_text("i.yaml", "clusters: [{name: c, cluster: {server: https://h, insecure-skip-tls-verify: true}}]\n"
			      "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
	assert_load_ok(kc_load("i.yaml"));
	assert_int_equal(C->insecure_skip_tls_verify, 0);
	assert_string_equal(C->ca_source, "pki/ca.crt");
	kc_opts.insecure_skip_tls_verify = 1;
	assert_load_error(kc_load("i.yaml"), "specifying a root certificates file with the insecure flag is not allowed");
}

/* --server alone makes a config without contexts usable */
static void
test_server_override_alone(void **state)
{
	(void)state;
	kc_opts.server = "https://10.1.2.3:6443/p";
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->server, "https://10.1.2.3:6443");
	assert_string_equal(C->path_prefix, "/p");
	assert_string_equal(C->namespace, "default");
	assert_null(C->context_name);
	kc_opts.server = "ftp://h";
	assert_load_error(kc_load(NULL), "server \"ftp://h\": unsupported protocol scheme \"ftp\"");
	kc_opts.server = "https://user:SECRET-pw@h";
	assert_load_error_contains(kc_load(NULL), "without user information");
	/* the harness fails any message that shows the password */
	kc_opts.server = "ftp://user:SECRET-pw@h/x";
	assert_load_error(kc_load(NULL),
			  "server \"ftp://user:xxxxx@h/x\": the URL must be scheme://host[:port][/path] without user information");
	/* a password holding '/' is still a password */
	kc_opts.server = "https://u:SECRET/pw@h:1";
	assert_load_error(kc_load(NULL),
			  "server \"https://u:xxxxx@h:1\": the URL must be scheme://host[:port][/path] without user information");
}

static void
test_in_cluster_details(void **state)
{
	char dir[512];

	(void)state;
	kc_put_text("sa/token", "SECRET-sa\n");
	snprintf(dir, sizeof(dir), "%s", kc_path("sa"));
	kc_opts.serviceaccount_dir = dir;
	setenv("KUBECONFIG", "missing.yaml", 1);
	/* only the host: not possible */
	setenv("KUBERNETES_SERVICE_HOST", "::1", 1);
	assert_load_error_contains(kc_load(NULL), "no configuration has been provided");
	setenv("KUBERNETES_SERVICE_PORT", "16443", 1);
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->server, "https://[::1]:16443");
	assert_string_equal(C->namespace, "default");  /* no namespace file */
	assert_null(C->ca_pem);                        /* unreadable ca.crt: system roots */
	assert_string_equal(fluxstate__conn_auth_method(C), "token-file");
	kc_opts.namespace = "ns-override";
	kc_opts.server = "https://override:1";
	assert_load_ok(kc_load(NULL));
	assert_string_equal(C->namespace, "ns-override");
	assert_string_equal(C->server, "https://override:1");
	/* --server alone is a usable config: no in-cluster */
	assert_int_equal(C->in_cluster, 0);
	kc_opts.server = NULL;
	kc_opts.namespace = NULL;
	/* a token path that is a directory: not possible */
	unlink("sa/token");
	mkdir("sa/token", 0755);
	assert_load_error_contains(kc_load(NULL), "no configuration has been provided");
	rmdir("sa/token");
	/* a context pointing nowhere is not "empty": no in-cluster fallback */
	kc_put_text("sa/token", "SECRET-sa\n");
	assert_load_error(kc_load_text("current-context: nope\n"),
			  "invalid configuration: context was not found for specified context: nope");
}

static void
test_conn_describe_redacts(void **state)
{
	char *json = NULL;

	(void)state;
	assert_load_ok(kc_load_text("clusters: [{name: c, cluster: {server: https://h, certificate-authority-data: @CA_DATA@,"
				    " proxy-url: \"http://pu:SECRET-proxy@127.0.0.1:3128\"}}]\n"
				    "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
				    "users: [{name: u, user: {username: admin, password: SECRET-pw, as: jane, as-groups: [g]}}]\n"));
	assert_int_equal(fluxstate__conn_describe(C, &json), 0);
	assert_non_null(strstr(json, "\"auth\":\"basic\""));
	assert_non_null(strstr(json, "\"proxyUrl\":\"http://pu:xxxxx@127.0.0.1:3128\""));
	assert_non_null(strstr(json, "\"impersonateGroups\":[\"g\"]"));
	assert_non_null(strstr(json, "\"credentialsSent\":true"));
	assert_null(strstr(json, "SECRET"));
	free(json);
	assert_int_equal(fluxstate__conn_describe(NULL, &json), FLUXSTATE_EINVAL);
	assert_string_equal(fluxstate__conn_auth_method(NULL), "none");
}

/* Malformed host or port: a load error naming the URL, not a vague transport error later */
static void
test_server_url_forms(void **state)
{
	static const struct {
		const char *server, *error;
	} bad[] = {
		{ "https://h:99999", "parse \"https://h:99999\": invalid port \":99999\" after host" },
		{ "https://127.0.0.1:abc", "parse \"https://127.0.0.1:abc\": invalid port \":abc\" after host" },
		{ "https://127.0.0.1:0", "parse \"https://127.0.0.1:0\": invalid port \":0\" after host" },
		{ "https://127.0.0.1:-1/p", "parse \"https://127.0.0.1:-1/p\": invalid port \":-1\" after host" },
		{ "https://[::1", "parse \"https://[::1\": missing ']' in host" },
		{ "https://[::1]x", "parse \"https://[::1]x\": invalid port \"x\" after host" },
		{ "https://:443", "parse \"https://:443\": no host" },
		{ "https://[]:1", "parse \"https://[]:1\": no host" },
	};
	static const struct {
		const char *server, *want;
	} ok[] = {
		{ "https://127.0.0.1:65535/", "https://127.0.0.1:65535" },
		{ "https://[::1]:6443", "https://[::1]:6443" },
		{ "https://h:/p", "https://h:" },
		{ "https://h", "https://h" },
	};
	char buf[512], msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "clusters: [{name: c, cluster: {server: \"%s\"}}]\n"
					   "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n", bad[i].server);
		assert_load_error(kc_load_text(buf), bad[i].error);
	}
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), "clusters: [{name: c, cluster: {server: \"%s\"}}]\n"
					   "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n", ok[i].server);
		assert_load_ok(kc_load_text(buf));
		assert_string_equal(C->server, ok[i].want);
	}
	/* proxy-url: the same checks, the password never shown (the harness fails any SECRET) */
	{
		static const struct {
			const char *proxy, *error;
		} p[] = {
			{ "http://u:SECRET-pw@h:abc", "invalid 'proxy-url' \"http://u:xxxxx@h:abc\" for cluster \"c\": invalid port \":abc\" after host" },
			{ "http://u:SECRET-pw@[::1", "invalid 'proxy-url' \"http://u:xxxxx@[::1\" for cluster \"c\": missing ']' in host" },
			{ "socks5://", "invalid 'proxy-url' \"socks5://\" for cluster \"c\": no host" },
			{ "http://h:99999", "invalid 'proxy-url' \"http://h:99999\" for cluster \"c\": invalid port \":99999\" after host" },
		};

		for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
			snprintf(buf, sizeof(buf), "clusters: [{name: c, cluster: {server: https://h, proxy-url: \"%s\"}}]\n"
						   "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n", p[i].proxy);
			snprintf(msg, sizeof(msg), "invalid configuration: %s", p[i].error);
			assert_load_error(kc_load_text(buf), msg);
		}
		/* a password holding '/' loads (the URL is ambiguous), and is redacted in the description */
		assert_load_ok(kc_load_text("clusters: [{name: c, cluster: {server: https://h, proxy-url: \"http://u:SECRET/pw@h:1\"}}]\n"
					    "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"));
	}
	/* the --server override goes through the same checks */
	kc_opts.server = "https://h:123456";
	assert_load_error(kc_load_text("clusters: [{name: c, cluster: {server: https://h}}]\n"
				       "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"),
			  "parse \"https://h:123456\": invalid port \":123456\" after host");
}

/* An encrypted client key: client-go cannot parse it, and libcurl would crash on it */
static void
test_encrypted_client_key(void **state)
{
	static const char *const keys[] = { "pki/client-encrypted.key", "pki/client-encrypted-legacy.key" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *b64;
		char buf[4096];

		kc_put_case("enc.key", keys[i]);
		assert_load_error(kc_load_text("@STD@users: [{name: u, user: {client-certificate-data: @CERT_DATA@, client-key: enc.key}}]\n"),
				  "tls: failed to parse private key: the client key of user \"u\" is encrypted");
		b64 = kc_file_base64(keys[i] + 4);
		snprintf(buf, sizeof(buf), "@STD@users: [{name: u, user: {client-certificate-data: @CERT_DATA@, client-key-data: %s}}]\n",
			 b64);
		free(b64);
		assert_load_error(kc_load_text(buf), "tls: failed to parse private key: the client key of user \"u\" is encrypted");
	}
	/* the plain key still loads */
	assert_load_ok(kc_load_text("@STD@users: [{name: u, user: {client-certificate-data: @CERT_DATA@, client-key-data: @KEY_DATA@}}]\n"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, kc_setup, kc_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_typed_scalars_in_string_field),
		T(test_strings_that_look_typed),
		T(test_null_forms_and_special_floats),
		T(test_structural_type_errors),
		T(test_yaml_syntax_errors),
		T(test_alias_bomb_is_bounded),
		T(test_deep_nesting_is_bounded),
		T(test_yaml_to_json_tree),
		T(test_base64_go_offsets),
		T(test_merge_lists_contexts_in_file_order),
		T(test_home_default_and_migration),
		T(test_ca_and_insecure_overrides),
		T(test_server_override_alone),
		T(test_in_cluster_details),
		T(test_conn_describe_redacts),
		T(test_encrypted_client_key),
		T(test_server_url_forms),
	};

	return cmocka_run_group_tests_name("kubeconfig-typing", tests, NULL, NULL);
}
