/*
 * The scenario matrix: run the simulator on tests/scenarios/<name>, probe it
 * over HTTPS through the public API, and check the scenario's `expect:`
 * (state, namespace, installer, version, findings that must match, findings
 * that must not). One scenario per invocation; TAP output.
 *
 * Usage: test-scenario NAME [JSON-OUT]   (JSON-OUT: also write the report JSON there)
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>
#include <yajl/yajl_tree.h>

#include <fluxstate/fluxstate.h>

#include "kubesim.h"

static int n_checks, n_failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check(int ok, const char *fmt, ...)
{
	va_list ap;

	n_checks++;
	if (!ok)
		n_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", n_checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- the scenario's expect: block (libyaml document API) ---- */

static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *
scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *const severities[] = { "info", "warning", "error" };
static const char *const flag_names[] = { "blocks-reinstall", "blocks-flux-install", "finalizer-blocked", "not-visible",
					   "not-flux-v2" };
#define N_FLAG_NAMES (sizeof(flag_names) / sizeof(flag_names[0]))

/* Does finding @f match every key of the expectation mapping @m? */
static int
finding_matches(yaml_document_t *doc, yaml_node_t *m, const fluxstate_finding *f)
{
	yaml_node_pair_t *p;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *key = scalar(yaml_document_get_node(doc, p->key));
		yaml_node_t *value = yaml_document_get_node(doc, p->value);
		const char *want = scalar(value);
		const char *have = NULL;
		yaml_node_item_t *it;
		int sev;
		size_t i;

		/* flags: [a, b]: each listed flag is set (as the bindings' tests read it) */
		if (key && strcmp(key, "flags") == 0 && value && value->type == YAML_SEQUENCE_NODE) {
			for (it = value->data.sequence.items.start; it < value->data.sequence.items.top; it++) {
				const char *flag = scalar(yaml_document_get_node(doc, *it));

				for (i = 0; flag && i < N_FLAG_NAMES; i++)
					if (strcmp(flag, flag_names[i]) == 0)
						break;
				if (!flag || i == N_FLAG_NAMES || !(fluxstate_finding_get_flags(f) & (1u << i)))
					return 0;
			}
			continue;
		}
		if (!key || !want)
			return 0;
		if (strcmp(key, "kind") == 0)
			have = fluxstate_finding_get_kind(f);
		else if (strcmp(key, "apiVersion") == 0)
			have = fluxstate_finding_get_api_version(f);
		else if (strcmp(key, "namespace") == 0)
			have = fluxstate_finding_get_namespace(f);
		else if (strcmp(key, "name") == 0)
			have = fluxstate_finding_get_name(f);
		else if (strcmp(key, "category") == 0)
			have = fluxstate_finding_get_category(f);
		else if (strcmp(key, "problem") == 0)
			have = fluxstate_finding_get_problem(f);
		else if (strcmp(key, "severity") == 0) {
			sev = fluxstate_finding_get_severity(f);
			have = sev >= 0 && sev <= 2 ? severities[sev] : "?";
		} else {
			fprintf(stderr, "# unknown expectation key %s\n", key);
			return 0;
		}
		if (!have || strcmp(have, want) != 0)
			return 0;
	}
	return 1;
}

static void
describe_expectation(yaml_document_t *doc, yaml_node_t *m, char *buf, size_t len)
{
	yaml_node_pair_t *p;
	size_t off = 0;

	buf[0] = '\0';
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top && off < len; p++) {
		const char *v = scalar(yaml_document_get_node(doc, p->value));

		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", off ? " " : "",
					scalar(yaml_document_get_node(doc, p->key)), v ? v : "[...]");
	}
}

static void
dump_report(const fluxstate_report *r)
{
	size_t i;

	printf("# state %s: %s\n", fluxstate_state_to_string(fluxstate_report_get_state(r)),
	       fluxstate_report_get_summary(r));
	for (i = 0; i < fluxstate_report_get_n_findings(r); i++) {
		const fluxstate_finding *f = fluxstate_report_get_finding(r, i);
		const char *ns = fluxstate_finding_get_namespace(f);

		printf("#   [%s] %s/%s %s%s%s %s: %s\n", severities[fluxstate_finding_get_severity(f)],
		       fluxstate_finding_get_category(f), fluxstate_finding_get_problem(f),
		       fluxstate_finding_get_kind(f), ns ? " " : "", ns ? ns : "", fluxstate_finding_get_name(f),
		       fluxstate_finding_get_reason(f));
	}
}

static void
check_list(yaml_document_t *doc, yaml_node_t *list, const fluxstate_report *r, int want_present)
{
	yaml_node_item_t *it;
	char desc[512];

	if (!list)
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		check(0, "expect.%s is a list", want_present ? "findings" : "absent");
		return;
	}
	for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(doc, *it);
		size_t i, hits = 0;

		if (!m || m->type != YAML_MAPPING_NODE) {
			check(0, "expectation entries are mappings");
			continue;
		}
		for (i = 0; i < fluxstate_report_get_n_findings(r); i++)
			hits += finding_matches(doc, m, fluxstate_report_get_finding(r, i));
		describe_expectation(doc, m, desc, sizeof(desc));
		if (want_present)
			check(hits > 0, "a finding matches {%s}", desc);
		else
			check(hits == 0, "no finding matches {%s}", desc);
	}
}

static int
str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Every object is seen once: a list replayed after 410 Expired must not double a finding. */
static void
check_no_duplicate(const fluxstate_report *r)
{
	size_t i, j, n = fluxstate_report_get_n_findings(r), dups = 0;

	for (i = 0; i < n; i++) {
		const fluxstate_finding *a = fluxstate_report_get_finding(r, i);

		for (j = i + 1; j < n; j++) {
			const fluxstate_finding *b = fluxstate_report_get_finding(r, j);

			if (str_eq(fluxstate_finding_get_category(a), fluxstate_finding_get_category(b)) &&
			    str_eq(fluxstate_finding_get_problem(a), fluxstate_finding_get_problem(b)) &&
			    str_eq(fluxstate_finding_get_kind(a), fluxstate_finding_get_kind(b)) &&
			    str_eq(fluxstate_finding_get_namespace(a), fluxstate_finding_get_namespace(b)) &&
			    str_eq(fluxstate_finding_get_name(a), fluxstate_finding_get_name(b)) &&
			    str_eq(fluxstate_finding_get_reason(a), fluxstate_finding_get_reason(b))) {
				printf("# duplicate finding: %s %s\n", fluxstate_finding_get_kind(a),
				       fluxstate_finding_get_name(a) ? fluxstate_finding_get_name(a) : "");
				dups++;
			}
		}
	}
	check(dups == 0, "no finding is reported twice (%zu duplicates)", dups);
}

static const char *
json_string(yajl_val v, const char **path)
{
	v = yajl_tree_get(v, path, yajl_t_any);
	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static int
json_true(yajl_val v, const char **path)
{
	return YAJL_IS_TRUE(yajl_tree_get(v, path, yajl_t_any));
}

/* The C accessors say what the report JSON says (the bindings read the JSON, C callers the accessors). */
static void
check_accessors(const fluxstate_report *r, const char *json)
{
	const char *p_ns[] = { "namespace", NULL }, *p_nss[] = { "namespaceSource", NULL };
	const char *p_inst[] = { "installer", NULL }, *p_mb[] = { "managedBy", NULL };
	const char *p_boot[] = { "bootstrapped", NULL }, *p_ver[] = { "version", NULL };
	const char *p_sv[] = { "kubernetes", "serverVersion", NULL };
	const char *p_min[] = { "kubernetes", "fluxMinimum", NULL };
	const char *p_comp[] = { "components", NULL }, *p_find[] = { "findings", NULL };
	const char *c_name[] = { "name", NULL }, *c_ns[] = { "namespace", NULL }, *c_ver[] = { "version", NULL };
	const char *c_img[] = { "image", NULL }, *c_ready[] = { "ready", NULL }, *c_reason[] = { "reason", NULL };
	char err[256];
	yajl_val root = yajl_tree_parse(json, err, sizeof(err)), comps, finds;
	size_t i, bad = 0;

	check(root != NULL, "the report JSON parses (%s)", root ? "ok" : err);
	if (!root)
		return;
	bad += !str_eq(fluxstate_report_get_namespace(r), json_string(root, p_ns));
	bad += !str_eq(fluxstate_report_get_namespace_source(r), json_string(root, p_nss));
	bad += !str_eq(fluxstate_report_get_installer(r), json_string(root, p_inst));
	bad += !str_eq(fluxstate_report_get_managed_by(r), json_string(root, p_mb));
	bad += fluxstate_report_get_bootstrapped(r) != json_true(root, p_boot);
	bad += !str_eq(fluxstate_report_get_version(r), json_string(root, p_ver));
	bad += !str_eq(fluxstate_report_get_server_version(r), json_string(root, p_sv));
	bad += !str_eq(fluxstate_report_get_flux_minimum(r), json_string(root, p_min));
	finds = yajl_tree_get(root, p_find, yajl_t_array);
	bad += !finds || finds->u.array.len != fluxstate_report_get_n_findings(r);
	comps = yajl_tree_get(root, p_comp, yajl_t_array);
	if (!comps || comps->u.array.len != fluxstate_report_get_n_components(r)) {
		bad++;
	} else {
		for (i = 0; i < comps->u.array.len; i++) {
			const fluxstate_component *c = fluxstate_report_get_component(r, i);
			yajl_val o = comps->u.array.values[i];

			bad += !str_eq(fluxstate_component_get_name(c), json_string(o, c_name));
			bad += !str_eq(fluxstate_component_get_namespace(c), json_string(o, c_ns));
			bad += !str_eq(fluxstate_component_get_version(c), json_string(o, c_ver));
			bad += !str_eq(fluxstate_component_get_image(c), json_string(o, c_img));
			bad += fluxstate_component_get_ready(c) != json_true(o, c_ready);
			bad += !str_eq(fluxstate_component_get_reason(c), json_string(o, c_reason));
		}
		bad += fluxstate_report_get_component(r, comps->u.array.len) != NULL;
	}
	check(bad == 0, "the C accessors agree with the report JSON (%zu components, %zu differences)",
	      fluxstate_report_get_n_components(r), bad);
	yajl_tree_free(root);
}

static void
check_field(yaml_document_t *doc, yaml_node_t *expect, const char *key, const char *have)
{
	const char *want = scalar(map_get(doc, expect, key));

	if (!want)
		return;
	check(have && strcmp(have, want) == 0, "%s is %s (got %s)", key, want, have ? have : "null");
}

/* Blank the digits of "requests": a fault that fires once (410, 429) costs requests only the first time. */
static void
blank_requests(char *json)
{
	char *p = json ? strstr(json, "\"requests\":") : NULL;

	for (p = p ? p + 11 : NULL; p && *p >= '0' && *p <= '9'; p++)
		*p = '#';
}

/*
 * The same cluster gives the same report, byte for byte (but for the request
 * count): probe again with a fresh context (new connections, reads finishing
 * in another order).
 */
static void
check_deterministic(const struct kubesim *sim, const char *json)
{
	fluxstate_ctx *ctx = NULL;
	fluxstate_report *again = NULL;
	char *json2 = NULL, *first;
	int same;

	if (!json)
		return;
	if (fluxstate_ctx_new(&ctx) == 0 && fluxstate_ctx_load_kubeconfig(ctx, sim->kubeconfig, NULL) == 0 &&
	    fluxstate_ctx_probe(ctx, &again) == 0)
		fluxstate_report_to_json(again, &json2);
	first = strdup(json);
	blank_requests(first);
	blank_requests(json2);
	same = first && json2 && strcmp(first, json2) == 0;
	if (!same && json2)
		printf("# first:  %s\n# second: %s\n", first, json2);
	check(same, "a second probe of the same cluster gives byte-identical JSON");
	free(first);
	fluxstate_free(json2);
	fluxstate_report_free(again);
	fluxstate_ctx_free(ctx);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct kubesim sim = { 0 };
	fluxstate_ctx *ctx = NULL;
	fluxstate_report *report = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *expect;
	char path[1200];
	FILE *f;
	double t0, t1;
	char *json = NULL;
	int rc;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s SCENARIO [JSON-OUT]\n", argv[0]);
		return 2;
	}
	/* the probe honours it; the scenarios assume the default */
	unsetenv("FLUX_SYSTEM_NAMESPACE");

	snprintf(path, sizeof(path), "%s/scenario.yaml", kubesim_scenario_path(argv[1]));
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return 1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s: invalid YAML: %s\n", path, parser.problem ? parser.problem : "?");
		yaml_parser_delete(&parser);
		fclose(f);
		return 1;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	root = yaml_document_get_root_node(&doc);
	expect = map_get(&doc, root, "expect");
	if (!expect || !scalar(map_get(&doc, expect, "state"))) {
		fprintf(stderr, "%s: no expect.state\n", path);
		yaml_document_delete(&doc);
		return 1;
	}

	rc = kubesim_start_scenario(&sim, argv[1]);
	if (rc < 0) {
		printf("1..1\nnot ok 1 - the simulator starts on %s\n", argv[1]);
		yaml_document_delete(&doc);
		return 1;
	}

	if (fluxstate_ctx_new(&ctx) < 0) {
		kubesim_stop(&sim);
		yaml_document_delete(&doc);
		return 1;
	}
	rc = fluxstate_ctx_load_kubeconfig(ctx, sim.kubeconfig, NULL);
	check(rc == 0, "load the simulator's kubeconfig (%s)", rc ? fluxstate_ctx_get_error(ctx) : "ok");
	t0 = now_ms();
	if (rc == 0) {
		rc = fluxstate_ctx_probe(ctx, &report);
		check(rc == 0, "probe succeeds (%s)", rc ? fluxstate_ctx_get_error(ctx) : "ok");
	}
	t1 = now_ms();
	if (report) {
		const char *want = scalar(map_get(&doc, expect, "state"));
		const char *have = fluxstate_state_to_string(fluxstate_report_get_state(report));

		dump_report(report);
		check(strcmp(have, want) == 0, "state is %s (got %s)", want, have);
		check_field(&doc, expect, "namespace", fluxstate_report_get_namespace(report));
		check_field(&doc, expect, "installer", fluxstate_report_get_installer(report));
		check_field(&doc, expect, "version", fluxstate_report_get_version(report));
		check_list(&doc, map_get(&doc, expect, "findings"), report, 1);
		check_list(&doc, map_get(&doc, expect, "absent"), report, 0);
		check_no_duplicate(report);
		check(fluxstate_report_to_json(report, &json) == 0 && json && strstr(json, "\"fluxstate.report/v1\""),
		      "the report serialises to JSON");
		if (json)
			check_accessors(report, json);
		if (argc == 3 && json) {
			FILE *out = fopen(argv[2], "w");

			check(out && fputs(json, out) >= 0 && fclose(out) == 0, "write the report JSON to %s", argv[2]);
		}
		printf("# detection: %d HTTP requests (simulator log: %d), %.1f ms\n",
		       json && strstr(json, "\"requests\":") ? atoi(strstr(json, "\"requests\":") + 11) : -1,
		       kubesim_count_requests(&sim, NULL), t1 - t0);
		check_deterministic(&sim, json);
		fluxstate_free(json);
		fluxstate_report_free(report);
	}
	fluxstate_ctx_free(ctx);
	kubesim_stop(&sim);
	yaml_document_delete(&doc);
	printf("1..%d\n", n_checks);
	return n_failed ? 1 : 0;
}
