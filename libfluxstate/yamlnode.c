/*
 * YAML -> JSON value, the way client-go sees a kubeconfig: sigs.k8s.io/yaml
 * runs go-yaml v2 (YAML 1.1 resolution) and converts the result to JSON
 * before encoding/json decodes it. libyaml does the scanning; this file
 * builds a graph of the first document, then expands it into a tree with
 * go-yaml's resolution, merge-key and duplicate-key rules.
 *
 * Error messages never quote scalar values: they may be secrets.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fluxstate-private.h"
#include "yamlnode.h"

/* Expanded nodes allowed per document: stops alias bombs. */
#define YAML_NODE_BUDGET 2000000L
#define YAML_MAX_DEPTH 512

enum raw_kind { RAW_SCALAR, RAW_SEQ, RAW_MAP, RAW_ALIAS_PLACEHOLDER };

struct raw {
	enum raw_kind kind;
	char *value;            /* scalar */
	size_t len;
	char *tag;              /* NULL = none */
	int plain;              /* plain (unquoted, untagged) scalar */
	struct raw **kids;      /* seq items / map key,value pairs */
	size_t n, cap;
	int complete;
	size_t line;
};

struct anchor {
	char *name;
	struct raw *node;
};

struct builder {
	struct raw **all;
	size_t n_all, cap_all;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	struct raw **stack;
	size_t depth, cap_stack;
	struct raw *root;
	long budget;
	char *error;
	int enomem;
};

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c;
	void *n;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 8;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

static void
set_error(struct builder *b, const char *fmt, ...) FLUXSTATE_PRINTF(2, 3);

static void
set_error(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	if (b->error || b->enomem)
		return;
	va_start(ap, fmt);
	if (vasprintf(&b->error, fmt, ap) < 0) {
		b->error = NULL;
		b->enomem = 1;
	}
	va_end(ap);
}

static struct raw *
raw_new(struct builder *b, enum raw_kind kind, size_t line)
{
	struct raw *r;

	if (grow((void **)&b->all, &b->cap_all, b->n_all + 1, sizeof(*b->all)) < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->kind = kind;
	r->line = line;
	b->all[b->n_all++] = r;
	return r;
}

static void
raw_free(struct raw *r)
{
	if (!r)
		return;
	if (r->value)
		fluxstate__free_secret_n(r->value, r->len);
	free(r->tag);
	free(r->kids);
	free(r);
}

/* Attach a finished or opened node to the open collection (or make it the root). */
static int
attach(struct builder *b, struct raw *node)
{
	struct raw *parent;

	if (b->depth == 0) {
		if (!b->root)
			b->root = node;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (grow((void **)&parent->kids, &parent->cap, parent->n + 1, sizeof(*parent->kids)) < 0)
		return -1;
	parent->kids[parent->n++] = node;
	return 0;
}

static int
add_anchor(struct builder *b, const yaml_char_t *name, struct raw *node)
{
	char *copy;

	if (!name)
		return 0;
	if (grow((void **)&b->anchors, &b->cap_anchors, b->n_anchors + 1, sizeof(*b->anchors)) < 0)
		return -1;
	copy = strdup((const char *)name);
	if (!copy)
		return -1;
	b->anchors[b->n_anchors].name = copy;
	b->anchors[b->n_anchors].node = node;
	b->n_anchors++;
	return 0;
}

static struct raw *
find_anchor(struct builder *b, const char *name)
{
	size_t i;

	/* a redefined anchor refers to its latest definition */
	for (i = b->n_anchors; i > 0; i--)
		if (strcmp(b->anchors[i - 1].name, name) == 0)
			return b->anchors[i - 1].node;
	return NULL;
}

/* go-yaml v2's parser.fail(): which line it reports. */
static void
set_parser_error(struct builder *b, const yaml_parser_t *p)
{
	size_t line = 0;
	const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";

	if (p->error == YAML_MEMORY_ERROR) {
		b->enomem = 1;
		return;
	}
	if (p->problem_mark.line != 0) {
		line = p->problem_mark.line;
		if (p->error == YAML_SCANNER_ERROR)
			line++;
	} else if (p->context_mark.line != 0) {
		line = p->context_mark.line;
	}
	if (line)
		set_error(b, "yaml: line %zu: %s", line, problem);
	else
		set_error(b, "yaml: %s", problem);
}

static int
build_graph(struct builder *b, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, in_doc = 0, r = 0;

	if (!yaml_parser_initialize(&parser)) {
		b->enomem = 1;
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		struct raw *node = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			set_parser_error(b, &parser);
			r = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			in_doc = 1;
			break;
		case YAML_DOCUMENT_END_EVENT:
			/* only the first document counts; the rest is never read */
			if (in_doc)
				done = 1;
			break;
		case YAML_SCALAR_EVENT:
			node = raw_new(b, RAW_SCALAR, ev.start_mark.line + 1);
			if (!node)
				goto oom;
			node->value = malloc(ev.data.scalar.length + 1);
			if (!node->value)
				goto oom;
			memcpy(node->value, ev.data.scalar.value, ev.data.scalar.length);
			node->value[ev.data.scalar.length] = '\0';
			node->len = ev.data.scalar.length;
			if (ev.data.scalar.tag) {
				node->tag = strdup((const char *)ev.data.scalar.tag);
				if (!node->tag)
					goto oom;
			}
			node->plain = ev.data.scalar.plain_implicit && !ev.data.scalar.tag;
			node->complete = 1;
			if (add_anchor(b, ev.data.scalar.anchor, node) < 0 || attach(b, node) < 0)
				goto oom;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			int seq = ev.type == YAML_SEQUENCE_START_EVENT;
			const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;

			if (b->depth >= YAML_MAX_DEPTH) {
				set_error(b, "yaml: line %zu: exceeded max depth of %d", (size_t)ev.start_mark.line + 1,
					  YAML_MAX_DEPTH);
				r = -1;
				done = 1;
				break;
			}
			node = raw_new(b, seq ? RAW_SEQ : RAW_MAP, ev.start_mark.line + 1);
			if (!node || add_anchor(b, anchor, node) < 0 || attach(b, node) < 0)
				goto oom;
			if (grow((void **)&b->stack, &b->cap_stack, b->depth + 1, sizeof(*b->stack)) < 0)
				goto oom;
			b->stack[b->depth++] = node;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b->depth > 0)
				b->stack[--b->depth]->complete = 1;
			break;
		case YAML_ALIAS_EVENT:
			node = find_anchor(b, (const char *)ev.data.alias.anchor);
			if (!node) {
				set_error(b, "yaml: unknown anchor '%s' referenced", ev.data.alias.anchor);
				r = -1;
				done = 1;
				break;
			}
			if (!node->complete) {
				set_error(b, "yaml: anchor '%s' value contains itself", ev.data.alias.anchor);
				r = -1;
				done = 1;
				break;
			}
			if (attach(b, node) < 0)
				goto oom;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		continue;
oom:
		yaml_event_delete(&ev);
		b->enomem = 1;
		r = -1;
		break;
	}
	yaml_parser_delete(&parser);
	return r;
}

/* ---- scalar resolution (go-yaml v2 resolve.go) ---- */

enum rtype { R_NULL, R_BOOL, R_INT, R_FLOAT, R_STR, R_BINARY };

struct resolved {
	enum rtype type;
	int boolean;
	int is_unsigned;
	long long ival;
	unsigned long long uval;
	double fval;
};

static int
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* strconv.ParseInt / ParseUint with base 0 (after '_' removal). */
static int
parse_go_int(const char *s, int allow_sign, long long *ret_i, unsigned long long *ret_u, int *ret_unsigned)
{
	int neg = 0, base = 10, any = 0;
	unsigned long long v = 0;
	const char *p = s;

	if (allow_sign && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p += 1;
	}
	for (; *p; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return 0;
		if (d >= base)
			return 0;
		if (v > (~0ULL - (unsigned long long)d) / (unsigned long long)base)
			return 0;
		v = v * (unsigned long long)base + (unsigned long long)d;
		any = 1;
	}
	if (!any)
		return 0;
	if (neg) {
		if (v > 9223372036854775808ULL)
			return 0;
		*ret_i = v == 9223372036854775808ULL ? (-9223372036854775807LL - 1) : -(long long)v;
		*ret_unsigned = 0;
		return 1;
	}
	if (v <= 9223372036854775807ULL) {
		*ret_i = (long long)v;
		*ret_unsigned = 0;
		return 1;
	}
	if (allow_sign)
		return 0; /* ParseInt overflows; the caller tries ParseUint */
	*ret_u = v;
	*ret_unsigned = 1;
	return 1;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int
yaml_style_float(const char *p)
{
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* strconv.ParseFloat for the forms that reach it; overflow is a failure. */
static int
parse_float(const char *s, double *ret)
{
	char *end;
	double d;

	if (!*s || strpbrk(s, "xXpPnNiI_"))
		return 0;
	errno = 0;
	d = strtod(s, &end);
	if (*end || (errno == ERANGE && isinf(d)))
		return 0;
	*ret = d;
	return 1;
}

static void
resolve_plain(const char *in, struct resolved *r)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", NULL };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", NULL };
	static const char *const nul[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const nan[] = { ".nan", ".NaN", ".NAN", NULL };
	static const char *const pinf[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
	static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
	char c = in[0];

	memset(r, 0, sizeof(*r));
	r->type = R_STR;
	if (in_list(in, nul)) {
		r->type = R_NULL;
		return;
	}
	if (!strchr("+-0123456789yYnNtTfFoO~.", c))
		return;
	if (in_list(in, yes) || in_list(in, no)) {
		r->type = R_BOOL;
		r->boolean = in_list(in, yes);
		return;
	}
	if (in_list(in, nan) || in_list(in, pinf) || in_list(in, ninf)) {
		r->type = R_FLOAT;
		r->fval = in_list(in, nan) ? NAN : in_list(in, pinf) ? INFINITY : -INFINITY;
		return;
	}
	if (c == '.') {
		if (parse_float(in, &r->fval))
			r->type = R_FLOAT;
		return;
	}
	if (strchr("+-0123456789", c)) {
		char plain[128];
		size_t i, o = 0;

		for (i = 0; in[i] && o < sizeof(plain) - 1; i++)
			if (in[i] != '_')
				plain[o++] = in[i];
		if (in[i])
			return; /* absurdly long: only a float could match; treat as text */
		plain[o] = '\0';
		if (parse_go_int(plain, 1, &r->ival, &r->uval, &r->is_unsigned) ||
		    parse_go_int(plain, 0, &r->ival, &r->uval, &r->is_unsigned)) {
			r->type = R_INT;
			return;
		}
		if (yaml_style_float(plain) && parse_float(plain, &r->fval)) {
			r->type = R_FLOAT;
			return;
		}
	}
}

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Resolve a scalar as go-yaml v2's decoder.scalar() does. */
static int
resolve_scalar(struct builder *b, const struct raw *s, struct resolved *r)
{
	const char *tag = s->tag;
	const char *want;

	memset(r, 0, sizeof(*r));
	if (s->plain) {
		resolve_plain(s->value, r);
		return 0;
	}
	if (!tag || strcmp(tag, "!") == 0 || !fluxstate__has_prefix(tag, TAG_PREFIX)) {
		r->type = R_STR;
		return 0;
	}
	want = tag + strlen(TAG_PREFIX);
	if (strcmp(want, "str") == 0 || strcmp(want, "timestamp") == 0) {
		r->type = R_STR;
		return 0;
	}
	if (strcmp(want, "binary") == 0) {
		r->type = R_BINARY;
		return 0;
	}
	if (strcmp(want, "null") && strcmp(want, "bool") && strcmp(want, "int") && strcmp(want, "float")) {
		r->type = R_STR; /* not a resolvable tag: kept as text */
		return 0;
	}
	resolve_plain(s->value, r);
	if ((strcmp(want, "null") == 0 && r->type == R_NULL) || (strcmp(want, "bool") == 0 && r->type == R_BOOL) ||
	    (strcmp(want, "int") == 0 && r->type == R_INT) ||
	    (strcmp(want, "float") == 0 && (r->type == R_FLOAT || r->type == R_INT))) {
		if (strcmp(want, "float") == 0 && r->type == R_INT) {
			r->fval = r->is_unsigned ? (double)r->uval : (double)r->ival;
			r->type = R_FLOAT;
		}
		return 0;
	}
	set_error(b, "yaml: line %zu: cannot decode a scalar as a !!%s", s->line, want);
	return -1;
}

/* ---- expansion into the JSON tree ---- */

static struct fluxstate__ynode *
ynode_new(enum fluxstate__ynode_type type)
{
	struct fluxstate__ynode *n = calloc(1, sizeof(*n));

	if (n)
		n->type = type;
	return n;
}

void
fluxstate__ynode_free(struct fluxstate__ynode *node)
{
	size_t i;

	if (!node)
		return;
	if (node->text)
		fluxstate__free_secret_n(node->text, node->len);
	for (i = 0; node->items && i < node->n; i++)
		fluxstate__ynode_free(node->items[i]);
	for (i = 0; node->members && i < node->n; i++) {
		free(node->members[i].key);
		fluxstate__ynode_free(node->members[i].value);
	}
	free(node->items);
	free(node->members);
	free(node);
}

/* Go's shortest round-trip float text, formatted as encoding/json does. */
static char *
format_float(double f)
{
	char buf[64];
	int p;
	double a = fabs(f);

	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	if (a != 0 && (a < 1e-6 || a >= 1e21))
		return strdup(buf);
	if (strchr(buf, 'e')) {
		/* json uses 'f' in this range: print digits without exponent */
		char out[400];

		snprintf(out, sizeof(out), "%.*f", 17, f);
		/* trim to the shortest that round-trips */
		for (p = 0; p <= 17; p++) {
			snprintf(out, sizeof(out), "%.*f", p, f);
			if (strtod(out, NULL) == f)
				break;
		}
		return strdup(out);
	}
	return strdup(buf);
}

static char *
number_text(const struct resolved *r)
{
	if (r->type == R_INT)
		return r->is_unsigned ? fluxstate__asprintf("%llu", r->uval) : fluxstate__asprintf("%lld", r->ival);
	return format_float(r->fval);
}

static int expand(struct builder *b, const struct raw *raw, int depth, struct fluxstate__ynode **ret);

struct pending {
	char *key;
	struct fluxstate__ynode *value;
	size_t seq;
};

struct members {
	struct pending *v;
	size_t n, cap;
};

static int
members_add(struct members *m, char *key, struct fluxstate__ynode *value)
{
	if (grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v)) < 0)
		return -1;
	m->v[m->n].key = key;
	m->v[m->n].value = value;
	m->v[m->n].seq = m->n;
	m->n++;
	return 0;
}

static int
pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Move the members of an expanded object into @m (merge key). */
static int
members_take(struct members *m, struct fluxstate__ynode *obj)
{
	size_t i;

	for (i = 0; i < obj->n; i++) {
		if (members_add(m, obj->members[i].key, obj->members[i].value) < 0) {
			/* give the rest back so obj frees them */
			memmove(obj->members, obj->members + i, (obj->n - i) * sizeof(*obj->members));
			obj->n -= i;
			return -1;
		}
	}
	obj->n = 0;
	return 0;
}

static const struct raw *
deref_merge_target(const struct raw *r)
{
	return r;
}

static int
merge_into(struct builder *b, struct members *m, const struct raw *v, int depth, size_t line)
{
	struct fluxstate__ynode *obj = NULL;
	size_t i;
	int r;

	v = deref_merge_target(v);
	if (v->kind == RAW_MAP) {
		r = expand(b, v, depth + 1, &obj);
		if (r < 0)
			return r;
		r = members_take(m, obj);
		fluxstate__ynode_free(obj);
		if (r < 0)
			b->enomem = 1;
		return r;
	}
	if (v->kind == RAW_SEQ) {
		for (i = 0; i < v->n; i++)
			if (v->kids[i]->kind != RAW_MAP)
				goto bad;
		/* earlier maps take precedence: apply them last */
		for (i = v->n; i > 0; i--) {
			r = merge_into(b, m, v->kids[i - 1], depth + 1, line);
			if (r < 0)
				return r;
		}
		return 0;
	}
bad:
	set_error(b, "yaml: line %zu: map merge requires map or sequence of maps as the value", line);
	return -1;
}

/* A map key as sigs.k8s.io/yaml turns it into a JSON object key. */
static int
key_string(struct builder *b, const struct raw *k, char **ret, int *ret_merge)
{
	struct resolved r;

	*ret_merge = 0;
	if (k->kind != RAW_SCALAR) {
		set_error(b, "yaml: line %zu: invalid map key: a collection cannot be a key", k->line);
		return -1;
	}
	if (k->plain && strcmp(k->value, "<<") == 0) {
		*ret_merge = 1;
		return 0;
	}
	if (resolve_scalar(b, k, &r) < 0)
		return -1;
	switch (r.type) {
	case R_STR:
		*ret = strdup(k->value);
		break;
	case R_BOOL:
		*ret = strdup(r.boolean ? "true" : "false");
		break;
	case R_INT:
		*ret = number_text(&r);
		break;
	case R_FLOAT:
		if (isnan(r.fval))
			*ret = strdup(".nan");
		else if (isinf(r.fval))
			*ret = strdup(r.fval > 0 ? ".inf" : "-.inf");
		else
			*ret = fluxstate__asprintf("%g", (double)(float)r.fval);
		break;
	case R_NULL:
	case R_BINARY:
	default:
		set_error(b, "yaml: line %zu: unsupported map key of type %s", k->line,
			  r.type == R_NULL ? "null" : "binary");
		return -1;
	}
	if (!*ret) {
		b->enomem = 1;
		return -1;
	}
	return 0;
}

static int
expand_map(struct builder *b, const struct raw *raw, int depth, struct fluxstate__ynode *obj)
{
	struct members m = { 0 };
	size_t i, o;
	int r = 0;

	for (i = 0; i + 1 < raw->n; i += 2) {
		char *key = NULL;
		int is_merge;
		struct fluxstate__ynode *v = NULL;

		r = key_string(b, raw->kids[i], &key, &is_merge);
		if (r < 0)
			break;
		if (is_merge) {
			r = merge_into(b, &m, raw->kids[i + 1], depth, raw->kids[i]->line);
			if (r < 0)
				break;
			continue;
		}
		r = expand(b, raw->kids[i + 1], depth + 1, &v);
		if (r < 0) {
			free(key);
			break;
		}
		if (members_add(&m, key, v) < 0) {
			free(key);
			fluxstate__ynode_free(v);
			b->enomem = 1;
			r = -1;
			break;
		}
	}
	if (r < 0) {
		for (i = 0; i < m.n; i++) {
			free(m.v[i].key);
			fluxstate__ynode_free(m.v[i].value);
		}
		free(m.v);
		return r;
	}
	/* duplicate keys: the last one wins; json.Marshal sorts keys */
	if (m.n)
		qsort(m.v, m.n, sizeof(*m.v), pending_cmp);
	obj->members = calloc(m.n ? m.n : 1, sizeof(*obj->members));
	if (!obj->members) {
		for (i = 0; i < m.n; i++) {
			free(m.v[i].key);
			fluxstate__ynode_free(m.v[i].value);
		}
		free(m.v);
		b->enomem = 1;
		return -1;
	}
	for (i = 0, o = 0; i < m.n; i++) {
		if (i + 1 < m.n && strcmp(m.v[i].key, m.v[i + 1].key) == 0) {
			free(m.v[i].key);
			fluxstate__ynode_free(m.v[i].value);
			continue;
		}
		obj->members[o].key = m.v[i].key;
		obj->members[o].value = m.v[i].value;
		o++;
	}
	obj->n = o;
	free(m.v);
	return 0;
}

static int
expand(struct builder *b, const struct raw *raw, int depth, struct fluxstate__ynode **ret)
{
	struct fluxstate__ynode *n = NULL;
	struct resolved r;
	size_t i;

	if (--b->budget < 0) {
		set_error(b, "yaml: document contains excessive aliasing");
		return -1;
	}
	if (depth > YAML_MAX_DEPTH) {
		set_error(b, "yaml: line %zu: exceeded max depth of %d", raw->line, YAML_MAX_DEPTH);
		return -1;
	}
	switch (raw->kind) {
	case RAW_SCALAR:
		if (resolve_scalar(b, raw, &r) < 0)
			return -1;
		switch (r.type) {
		case R_NULL:
			n = ynode_new(FLUXSTATE__Y_NULL);
			break;
		case R_BOOL:
			n = ynode_new(FLUXSTATE__Y_BOOL);
			if (n)
				n->boolean = r.boolean;
			break;
		case R_INT:
		case R_FLOAT:
			if (r.type == R_FLOAT && (isnan(r.fval) || isinf(r.fval))) {
				/* json.Marshal cannot write it */
				set_error(b, "json: unsupported value: %s",
					  isnan(r.fval) ? "NaN" : r.fval > 0 ? "+Inf" : "-Inf");
				return -1;
			}
			n = ynode_new(FLUXSTATE__Y_NUMBER);
			if (n) {
				n->text = number_text(&r);
				if (!n->text) {
					free(n);
					n = NULL;
				} else {
					n->len = strlen(n->text);
				}
			}
			break;
		case R_STR:
			n = ynode_new(FLUXSTATE__Y_STRING);
			if (n) {
				n->text = malloc(raw->len + 1);
				if (!n->text) {
					free(n);
					n = NULL;
				} else {
					memcpy(n->text, raw->value, raw->len + 1);
					n->len = raw->len;
				}
			}
			break;
		case R_BINARY: {
			unsigned char *out = NULL;
			size_t out_len = 0;
			int rc = fluxstate__base64_decode(raw->value, raw->len, &out, &out_len, NULL);

			if (rc == FLUXSTATE_ENOMEM)
				break;
			if (rc < 0) {
				set_error(b, "yaml: !!binary value contains invalid base64 data");
				return -1;
			}
			n = ynode_new(FLUXSTATE__Y_STRING);
			if (!n) {
				fluxstate__free_secret_n(out, out_len);
				break;
			}
			n->text = realloc(out, out_len + 1);
			if (!n->text) {
				fluxstate__free_secret_n(out, out_len);
				free(n);
				n = NULL;
				break;
			}
			n->text[out_len] = '\0';
			n->len = out_len;
			break;
		}
		}
		break;
	case RAW_SEQ:
		n = ynode_new(FLUXSTATE__Y_ARRAY);
		if (!n)
			break;
		n->items = calloc(raw->n ? raw->n : 1, sizeof(*n->items));
		if (!n->items) {
			free(n);
			n = NULL;
			break;
		}
		for (i = 0; i < raw->n; i++) {
			if (expand(b, raw->kids[i], depth + 1, &n->items[i]) < 0) {
				fluxstate__ynode_free(n);
				return -1;
			}
			n->n = i + 1;
		}
		break;
	case RAW_MAP:
		n = ynode_new(FLUXSTATE__Y_OBJECT);
		if (!n)
			break;
		if (expand_map(b, raw, depth, n) < 0) {
			fluxstate__ynode_free(n);
			return -1;
		}
		break;
	default:
		break;
	}
	if (!n) {
		b->enomem = 1;
		return -1;
	}
	*ret = n;
	return 0;
}

int
fluxstate__yaml_parse(const char *data, size_t len, struct fluxstate__ynode **ret, char **ret_error)
{
	struct builder b = { 0 };
	struct fluxstate__ynode *root = NULL;
	size_t i;
	int r;

	*ret_error = NULL;
	b.budget = YAML_NODE_BUDGET;
	r = build_graph(&b, data, len);
	if (r == 0) {
		if (b.root)
			r = expand(&b, b.root, 0, &root);
		else if (!(root = ynode_new(FLUXSTATE__Y_NULL)))
			b.enomem = 1, r = -1;
	}
	for (i = 0; i < b.n_all; i++)
		raw_free(b.all[i]);
	for (i = 0; i < b.n_anchors; i++)
		free(b.anchors[i].name);
	free(b.all);
	free(b.anchors);
	free(b.stack);
	if (r < 0 || b.enomem || b.error) {
		fluxstate__ynode_free(root);
		if (b.enomem || !b.error) {
			free(b.error);
			return FLUXSTATE_ENOMEM;
		}
		*ret_error = b.error;
		return FLUXSTATE_ECONFIG;
	}
	*ret = root;
	return 0;
}

const struct fluxstate__ynode *
fluxstate__ynode_get(const struct fluxstate__ynode *obj, const char *key)
{
	size_t lo = 0, hi;

	if (!obj || obj->type != FLUXSTATE__Y_OBJECT)
		return NULL;
	hi = obj->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(obj->members[mid].key, key);

		if (c == 0)
			return obj->members[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
fluxstate__json_append_go_string(struct fluxstate__buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	int r = fluxstate__buf_append(out, "\"", 1);

	while (r == 0 && i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			char esc[7];

			if (c == '"' || c == '\\') {
				esc[0] = '\\';
				esc[1] = (char)c;
				r = fluxstate__buf_append(out, esc, 2);
			} else if (c == '\n') {
				r = fluxstate__buf_append(out, "\\n", 2);
			} else if (c == '\r') {
				r = fluxstate__buf_append(out, "\\r", 2);
			} else if (c == '\t') {
				r = fluxstate__buf_append(out, "\\t", 2);
			} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				r = fluxstate__buf_append(out, esc, 6);
			} else {
				r = fluxstate__buf_append(out, &s[i], 1);
			}
			i++;
			continue;
		}
		{
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
			size_t k;
			unsigned int cp;
			int ok = n >= 2 && n <= 4 && c < 0xf5 && i + n <= len;

			cp = n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
			for (k = 1; ok && k < n; k++) {
				unsigned char cc = (unsigned char)s[i + k];

				if ((cc & 0xc0) != 0x80)
					ok = 0;
				cp = (cp << 6) | (cc & 0x3f);
			}
			if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
				   cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
				ok = 0;
			if (!ok) {
				r = fluxstate__buf_append(out, "\\ufffd", 6);
				i++;
			} else if (cp == 0x2028 || cp == 0x2029) {
				r = fluxstate__buf_append(out, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
				i += n;
			} else {
				r = fluxstate__buf_append(out, &s[i], n);
				i += n;
			}
		}
	}
	return r < 0 ? r : fluxstate__buf_append(out, "\"", 1);
}

static int
to_json(struct fluxstate__buf *out, const struct fluxstate__ynode *n)
{
	size_t i;
	int r = 0;

	switch (n->type) {
	case FLUXSTATE__Y_NULL:
		return fluxstate__buf_append(out, "null", 4);
	case FLUXSTATE__Y_BOOL:
		return n->boolean ? fluxstate__buf_append(out, "true", 4) : fluxstate__buf_append(out, "false", 5);
	case FLUXSTATE__Y_NUMBER:
		return fluxstate__buf_append(out, n->text, n->len);
	case FLUXSTATE__Y_STRING:
		return fluxstate__json_append_go_string(out, n->text, n->len);
	case FLUXSTATE__Y_ARRAY:
		r = fluxstate__buf_append(out, "[", 1);
		for (i = 0; r == 0 && i < n->n; i++) {
			if (i)
				r = fluxstate__buf_append(out, ",", 1);
			if (r == 0)
				r = to_json(out, n->items[i]);
		}
		return r < 0 ? r : fluxstate__buf_append(out, "]", 1);
	case FLUXSTATE__Y_OBJECT:
		r = fluxstate__buf_append(out, "{", 1);
		for (i = 0; r == 0 && i < n->n; i++) {
			if (i)
				r = fluxstate__buf_append(out, ",", 1);
			if (r == 0)
				r = fluxstate__json_append_go_string(out, n->members[i].key, strlen(n->members[i].key));
			if (r == 0)
				r = fluxstate__buf_append(out, ":", 1);
			if (r == 0)
				r = to_json(out, n->members[i].value);
		}
		return r < 0 ? r : fluxstate__buf_append(out, "}", 1);
	}
	return 0;
}

char *
fluxstate__ynode_to_json(const struct fluxstate__ynode *node)
{
	struct fluxstate__buf out = { 0 };

	if (!node || to_json(&out, node) < 0) {
		fluxstate__buf_wipe(&out);
		return node ? NULL : strdup("null");
	}
	return fluxstate__buf_steal(&out);
}
