/*
 * The report object: findings, components, the public accessors, and the
 * JSON form described by docs/report.schema.json ("fluxstate.report/v1").
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "detect.h"

#define REPORT_SCHEMA "fluxstate.report/v1"

struct fluxstate_report *
fluxstate__report_new(void)
{
	struct fluxstate_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->state = FLUXSTATE_INSTALL_UNKNOWN;
	r->action = "investigate";
	r->installer = "unknown";
	r->namespace_source = "default";
	r->supported = -1;
	return r;
}

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*v, ncap * size);
	if (!p)
		return -1;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*v = p;
	*cap = ncap;
	return 0;
}

static void
finding_clear(struct fluxstate_finding *f)
{
	free(f->kind);
	free(f->api_version);
	free(f->namespace);
	free(f->name);
	free(f->reason);
}

struct fluxstate_finding *
fluxstate__report_add_finding(struct fluxstate_report *r, const char *kind, const char *api_version,
			      const char *namespace, const char *name, const char *category,
			      const char *problem, int severity, unsigned int flags,
			      const char *reason_fmt, ...)
{
	struct fluxstate_finding *f;
	char *reason = NULL;
	va_list ap;
	int rc;

	if (grow((void **)&r->findings, &r->cap_findings, r->n_findings, sizeof(*r->findings)) < 0)
		return NULL;
	f = &r->findings[r->n_findings];
	memset(f, 0, sizeof(*f));
	va_start(ap, reason_fmt);
	rc = vasprintf(&reason, reason_fmt, ap);
	va_end(ap);
	if (rc < 0)
		return NULL;
	f->reason = reason;
	f->kind = fluxstate__strdup(kind ? kind : "");
	f->api_version = fluxstate__strdup(api_version ? api_version : "");
	f->namespace = namespace ? fluxstate__strdup(namespace) : NULL;
	f->name = fluxstate__strdup(name ? name : "");
	f->category = category;
	f->problem = problem;
	f->severity = severity;
	f->flags = flags;
	f->seq = (unsigned int)r->n_findings;
	if (!f->kind || !f->api_version || (namespace && !f->namespace) || !f->name) {
		finding_clear(f);
		return NULL;
	}
	r->n_findings++;
	return f;
}

struct fluxstate_component *
fluxstate__report_add_component(struct fluxstate_report *r)
{
	if (grow((void **)&r->components, &r->cap_components, r->n_components, sizeof(*r->components)) < 0)
		return NULL;
	return &r->components[r->n_components++];
}

static int
finding_cmp(const void *a, const void *b)
{
	const struct fluxstate_finding *fa = a, *fb = b;

	if (fa->severity != fb->severity)
		return fb->severity - fa->severity;
	return fa->seq < fb->seq ? -1 : fa->seq > fb->seq;
}

void
fluxstate__report_sort(struct fluxstate_report *r)
{
	if (r->n_findings > 1)
		qsort(r->findings, r->n_findings, sizeof(*r->findings), finding_cmp);
}

static void
watch_clear(struct fluxstate__watch_target *w)
{
	free(w->group);
	free(w->version);
	free(w->resource);
	free(w->namespace);
	free(w->label_selector);
	free(w->resource_version);
}

int
fluxstate__report_copy_watch(struct fluxstate_report *r, const struct fluxstate__watch_target *w, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	r->watch = calloc(n, sizeof(*r->watch));
	if (!r->watch)
		return FLUXSTATE_ENOMEM;
	for (i = 0; i < n; i++) {
		struct fluxstate__watch_target *d = &r->watch[i];

		r->n_watch = i + 1;
		d->group = fluxstate__strdup(w[i].group);
		d->version = fluxstate__strdup(w[i].version);
		d->resource = fluxstate__strdup(w[i].resource);
		d->namespace = fluxstate__strdup(w[i].namespace);
		d->label_selector = fluxstate__strdup(w[i].label_selector);
		d->resource_version = fluxstate__strdup(w[i].resource_version);
		if ((w[i].group && !d->group) || (w[i].version && !d->version) ||
		    (w[i].resource && !d->resource) || (w[i].namespace && !d->namespace) ||
		    (w[i].label_selector && !d->label_selector) ||
		    (w[i].resource_version && !d->resource_version))
			return FLUXSTATE_ENOMEM;
	}
	return 0;
}

const char *
fluxstate__flag_name(unsigned int flag)
{
	switch (flag) {
	case FLUXSTATE_FLAG_BLOCKS_REINSTALL:
		return "blocks-reinstall";
	case FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL:
		return "blocks-flux-install";
	case FLUXSTATE_FLAG_FINALIZER_BLOCKED:
		return "finalizer-blocked";
	case FLUXSTATE_FLAG_NOT_VISIBLE:
		return "not-visible";
	case FLUXSTATE_FLAG_NOT_FLUX_V2:
		return "not-flux-v2";
	default:
		return NULL;
	}
}

FLUXSTATE_EXPORT void
fluxstate_report_free(fluxstate_report *r)
{
	size_t i;

	if (!r)
		return;
	free(r->summary);
	free(r->namespace);
	free(r->managed_by);
	free(r->version);
	free(r->server_version);
	free(r->flux_minimum);
	for (i = 0; i < r->n_components; i++) {
		free(r->components[i].name);
		free(r->components[i].namespace);
		free(r->components[i].version);
		free(r->components[i].image);
		free(r->components[i].reason);
	}
	free(r->components);
	for (i = 0; i < r->n_findings; i++)
		finding_clear(&r->findings[i]);
	free(r->findings);
	for (i = 0; i < r->n_watch; i++)
		watch_clear(&r->watch[i]);
	free(r->watch);
	free(r);
}

FLUXSTATE_EXPORT int
fluxstate_report_get_state(const fluxstate_report *r)
{
	return r ? r->state : FLUXSTATE_INSTALL_UNKNOWN;
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_summary(const fluxstate_report *r)
{
	return r && r->summary ? r->summary : "";
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_action(const fluxstate_report *r)
{
	return r ? r->action : "investigate";
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_namespace(const fluxstate_report *r)
{
	return r ? r->namespace : NULL;
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_installer(const fluxstate_report *r)
{
	return r ? r->installer : "unknown";
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_version(const fluxstate_report *r)
{
	return r ? r->version : NULL;
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_server_version(const fluxstate_report *r)
{
	return r ? r->server_version : NULL;
}

FLUXSTATE_EXPORT int
fluxstate_report_get_server_supported(const fluxstate_report *r)
{
	if (!r)
		return FLUXSTATE_EINVAL;
	return r->supported < 0 ? FLUXSTATE_ERROR : r->supported;
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_namespace_source(const fluxstate_report *r)
{
	return r && r->namespace_source ? r->namespace_source : "default";
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_managed_by(const fluxstate_report *r)
{
	return r ? r->managed_by : NULL;
}

FLUXSTATE_EXPORT int
fluxstate_report_get_bootstrapped(const fluxstate_report *r)
{
	return r ? !!r->bootstrapped : FLUXSTATE_EINVAL;
}

FLUXSTATE_EXPORT const char *
fluxstate_report_get_flux_minimum(const fluxstate_report *r)
{
	return r ? r->flux_minimum : NULL;
}

FLUXSTATE_EXPORT size_t
fluxstate_report_get_n_components(const fluxstate_report *r)
{
	return r ? r->n_components : 0;
}

FLUXSTATE_EXPORT const fluxstate_component *
fluxstate_report_get_component(const fluxstate_report *r, size_t i)
{
	if (!r || i >= r->n_components)
		return NULL;
	return &r->components[i];
}

FLUXSTATE_EXPORT const char *
fluxstate_component_get_name(const fluxstate_component *c)
{
	return c ? c->name : NULL;
}

FLUXSTATE_EXPORT const char *
fluxstate_component_get_namespace(const fluxstate_component *c)
{
	return c ? c->namespace : NULL;
}

FLUXSTATE_EXPORT const char *
fluxstate_component_get_version(const fluxstate_component *c)
{
	return c ? c->version : NULL;
}

FLUXSTATE_EXPORT const char *
fluxstate_component_get_image(const fluxstate_component *c)
{
	return c ? c->image : NULL;
}

FLUXSTATE_EXPORT int
fluxstate_component_get_ready(const fluxstate_component *c)
{
	return c ? !!c->ready : FLUXSTATE_EINVAL;
}

FLUXSTATE_EXPORT const char *
fluxstate_component_get_reason(const fluxstate_component *c)
{
	return c && c->reason ? c->reason : "";
}

FLUXSTATE_EXPORT size_t
fluxstate_report_get_n_findings(const fluxstate_report *r)
{
	return r ? r->n_findings : 0;
}

FLUXSTATE_EXPORT const fluxstate_finding *
fluxstate_report_get_finding(const fluxstate_report *r, size_t i)
{
	if (!r || i >= r->n_findings)
		return NULL;
	return &r->findings[i];
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_kind(const fluxstate_finding *f)
{
	return f ? f->kind : "";
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_api_version(const fluxstate_finding *f)
{
	return f ? f->api_version : "";
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_namespace(const fluxstate_finding *f)
{
	return f ? f->namespace : NULL;
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_name(const fluxstate_finding *f)
{
	return f ? f->name : "";
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_category(const fluxstate_finding *f)
{
	return f ? f->category : "";
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_problem(const fluxstate_finding *f)
{
	return f ? f->problem : "";
}

FLUXSTATE_EXPORT const char *
fluxstate_finding_get_reason(const fluxstate_finding *f)
{
	return f ? f->reason : "";
}

FLUXSTATE_EXPORT int
fluxstate_finding_get_severity(const fluxstate_finding *f)
{
	return f ? f->severity : FLUXSTATE_SEVERITY_INFO;
}

FLUXSTATE_EXPORT unsigned int
fluxstate_finding_get_flags(const fluxstate_finding *f)
{
	return f ? f->flags : 0;
}

/* ---- JSON ---- */

static int
gen_str(yajl_gen g, const char *s)
{
	if (!s)
		return yajl_gen_null(g);
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static int
gen_kv(yajl_gen g, const char *key, const char *value)
{
	int rc = gen_str(g, key);

	return rc != yajl_gen_status_ok ? rc : gen_str(g, value);
}

static const char *const severity_names[] = { "info", "warning", "error" };

static int
gen_report(yajl_gen g, const struct fluxstate_report *r)
{
	size_t i;
	unsigned int bit;
	int s = 0;

#define G(x) do { if ((x) != yajl_gen_status_ok) return -1; } while (0)
	G(yajl_gen_map_open(g));
	G(gen_kv(g, "schema", REPORT_SCHEMA));
	G(gen_kv(g, "state", fluxstate_state_to_string(r->state)));
	G(gen_kv(g, "summary", r->summary ? r->summary : ""));
	G(gen_kv(g, "action", r->action));
	G(gen_kv(g, "namespace", r->namespace));
	G(gen_kv(g, "namespaceSource", r->namespace_source));
	G(gen_kv(g, "installer", r->installer));
	G(gen_kv(g, "managedBy", r->managed_by));
	G(gen_str(g, "bootstrapped"));
	G(yajl_gen_bool(g, r->bootstrapped));
	G(gen_kv(g, "version", r->version));

	G(gen_str(g, "kubernetes"));
	G(yajl_gen_map_open(g));
	G(gen_kv(g, "serverVersion", r->server_version));
	G(gen_kv(g, "fluxMinimum", r->flux_minimum));
	G(gen_str(g, "supported"));
	G(r->supported < 0 ? yajl_gen_null(g) : yajl_gen_bool(g, r->supported));
	G(yajl_gen_map_close(g));

	G(gen_str(g, "components"));
	G(yajl_gen_array_open(g));
	for (i = 0; i < r->n_components; i++) {
		const struct fluxstate_component *c = &r->components[i];

		G(yajl_gen_map_open(g));
		G(gen_kv(g, "name", c->name));
		G(gen_kv(g, "namespace", c->namespace));
		G(gen_kv(g, "version", c->version));
		G(gen_kv(g, "image", c->image));
		G(gen_str(g, "ready"));
		G(yajl_gen_bool(g, c->ready));
		G(gen_kv(g, "reason", c->reason ? c->reason : ""));
		G(yajl_gen_map_close(g));
	}
	G(yajl_gen_array_close(g));

	G(gen_str(g, "findings"));
	G(yajl_gen_array_open(g));
	for (i = 0; i < r->n_findings; i++) {
		const struct fluxstate_finding *f = &r->findings[i];

		G(yajl_gen_map_open(g));
		G(gen_kv(g, "kind", f->kind));
		G(gen_kv(g, "apiVersion", f->api_version));
		G(gen_kv(g, "namespace", f->namespace));
		G(gen_kv(g, "name", f->name));
		G(gen_kv(g, "category", f->category));
		G(gen_kv(g, "problem", f->problem));
		s = f->severity < 0 || f->severity > 2 ? 0 : f->severity;
		G(gen_kv(g, "severity", severity_names[s]));
		G(gen_kv(g, "reason", f->reason));
		G(gen_str(g, "flags"));
		G(yajl_gen_array_open(g));
		for (bit = 1; bit && bit <= FLUXSTATE_FLAG_NOT_FLUX_V2; bit <<= 1)
			if ((f->flags & bit) && fluxstate__flag_name(bit))
				G(gen_str(g, fluxstate__flag_name(bit)));
		G(yajl_gen_array_close(g));
		G(yajl_gen_map_close(g));
	}
	G(yajl_gen_array_close(g));

	G(gen_str(g, "requests"));
	G(yajl_gen_integer(g, r->requests));
	G(yajl_gen_map_close(g));
#undef G
	return 0;
}

FLUXSTATE_EXPORT int
fluxstate_report_to_json(const fluxstate_report *r, char **ret_json)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen g;
	char *out;

	if (!r || !ret_json)
		return FLUXSTATE_EINVAL;
	g = yajl_gen_alloc(NULL);
	if (!g)
		return FLUXSTATE_ENOMEM;
	/* non-ASCII stays UTF-8; "/" need not be escaped */
	if (gen_report(g, r) < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return FLUXSTATE_ENOMEM;
	}
	out = fluxstate__strndup((const char *)buf, len);
	yajl_gen_free(g);
	if (!out)
		return FLUXSTATE_ENOMEM;
	*ret_json = out;
	return 0;
}
