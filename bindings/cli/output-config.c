/*
 * `fluxstate config`: the library's redacted connection description, as
 * JSON unchanged or as aligned "key: value" lines (nested objects as
 * dotted keys), so the text follows whatever fields the library reports.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "cli.h"

struct line {
	char *key;
	char *value;
};

struct lines {
	struct line *v;
	size_t n, cap;
	int oom;
};

static void
lines_add(struct lines *l, const char *prefix, const char *key, const char *value)
{
	size_t klen = strlen(prefix) + strlen(key) + 2;
	char *k, *v;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct line *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv) {
			l->oom = 1;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	k = malloc(klen);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		l->oom = 1;
		return;
	}
	snprintf(k, klen, "%s%s%s", prefix, *prefix ? "." : "", key);
	l->v[l->n].key = k;
	l->v[l->n].value = v;
	l->n++;
}

/* A scalar or array as one value string; NULL for objects. Caller frees. */
static char *
scalar_text(yajl_val v)
{
	if (YAJL_IS_STRING(v)) {
		const char *s = YAJL_GET_STRING(v);

		return strdup(s && *s ? s : "\"\"");
	}
	if (YAJL_IS_NUMBER(v))
		return strdup(YAJL_GET_NUMBER(v));
	if (YAJL_IS_TRUE(v))
		return strdup("true");
	if (YAJL_IS_FALSE(v))
		return strdup("false");
	if (YAJL_IS_NULL(v))
		return strdup("-");
	if (YAJL_IS_ARRAY(v)) {
		size_t i, len = 1;
		char *out, **parts;

		parts = calloc(v->u.array.len + 1, sizeof(*parts));
		if (!parts)
			return NULL;
		for (i = 0; i < v->u.array.len; i++) {
			parts[i] = YAJL_IS_OBJECT(v->u.array.values[i]) ? strdup("{…}")
								       : scalar_text(v->u.array.values[i]);
			len += (parts[i] ? strlen(parts[i]) : 0) + 2;
		}
		out = malloc(len);
		if (out) {
			out[0] = '\0';
			for (i = 0; i < v->u.array.len; i++) {
				if (i)
					strcat(out, ", ");
				if (parts[i])
					strcat(out, parts[i]);
			}
			if (v->u.array.len == 0)
				strcpy(out, "-");
		}
		for (i = 0; i < v->u.array.len; i++)
			free(parts[i]);
		free(parts);
		return out;
	}
	return NULL;
}

static void
flatten(struct lines *l, const char *prefix, yajl_val obj)
{
	size_t i;

	for (i = 0; i < obj->u.object.len; i++) {
		const char *key = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];

		if (YAJL_IS_OBJECT(v)) {
			size_t plen = strlen(prefix) + strlen(key) + 2;
			char *p = malloc(plen);

			if (!p) {
				l->oom = 1;
				return;
			}
			snprintf(p, plen, "%s%s%s", prefix, *prefix ? "." : "", key);
			if (v->u.object.len == 0)
				lines_add(l, prefix, key, "-");
			else
				flatten(l, p, v);
			free(p);
		} else {
			char *text = scalar_text(v);

			if (!text) {
				l->oom = 1;
				return;
			}
			lines_add(l, prefix, key, text);
			free(text);
		}
	}
}

/* Returns 0, or -1 when @json is not a JSON object. */
int
cli_print_config(FILE *out, const char *json, enum cli_output format)
{
	struct lines l = { 0 };
	char errbuf[256];
	yajl_val root;
	size_t i, width = 0;

	root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return -1;
	}
	if (format != CLI_OUTPUT_TEXT) {
		yajl_tree_free(root);
		return cli_print_document(out, json, format);
	}
	flatten(&l, "", root);
	for (i = 0; i < l.n; i++)
		if (strlen(l.v[i].key) > width)
			width = strlen(l.v[i].key);
	for (i = 0; i < l.n; i++)
		fprintf(out, "%s:%*s %s\n", l.v[i].key, (int)(width - strlen(l.v[i].key)), "", l.v[i].value);
	for (i = 0; i < l.n; i++) {
		free(l.v[i].key);
		free(l.v[i].value);
	}
	free(l.v);
	yajl_tree_free(root);
	return l.oom ? -1 : 0;
}
