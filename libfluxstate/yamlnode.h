/*
 * yamlnode.c: one YAML document -> the JSON value sigs.k8s.io/yaml would
 * produce from it (go-yaml v2 / YAML 1.1 scalar resolution, merge keys and
 * aliases expanded, duplicate keys last-wins, object keys sorted as Go's
 * json.Marshal writes them). kubeconfig.c then decodes that value with
 * encoding/json's typing rules.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_YAMLNODE_H
#define FLUXSTATE_YAMLNODE_H

#include <stddef.h>

enum fluxstate__ynode_type {
	FLUXSTATE__Y_NULL,
	FLUXSTATE__Y_BOOL,
	FLUXSTATE__Y_NUMBER,
	FLUXSTATE__Y_STRING,
	FLUXSTATE__Y_ARRAY,
	FLUXSTATE__Y_OBJECT
};

struct fluxstate__ynode_member {
	char *key;
	struct fluxstate__ynode *value;
};

struct fluxstate__ynode {
	enum fluxstate__ynode_type type;
	char *text;     /* STRING: value (NUL-terminated, may hold inner NULs: see len); NUMBER: as written */
	size_t len;     /* length of text */
	int boolean;    /* BOOL */
	struct fluxstate__ynode **items;          /* ARRAY */
	struct fluxstate__ynode_member *members;  /* OBJECT: unique keys, sorted bytewise */
	size_t n;
};

/*
 * Parse the first document of @data. On success *ret is the value (a NULL
 * node for an empty stream). On failure returns FLUXSTATE_ECONFIG with
 * *ret_error set to a go-yaml-like message ("yaml: line 3: ...") that never
 * quotes scalar values, or FLUXSTATE_ENOMEM.
 */
int fluxstate__yaml_parse(const char *data, size_t len, struct fluxstate__ynode **ret, char **ret_error);
void fluxstate__ynode_free(struct fluxstate__ynode *node);
/* Member @key of an object or NULL. */
const struct fluxstate__ynode *fluxstate__ynode_get(const struct fluxstate__ynode *obj, const char *key);
/* Compact JSON as Go's json.Marshal writes it (sorted keys, HTML-safe escapes). NULL on ENOMEM. */
char *fluxstate__ynode_to_json(const struct fluxstate__ynode *node);

/*
 * Append @s as a JSON string the way Go's encoding/json writes it (HTMLEscape
 * on: <, >, & as \u003c, \u003e, \u0026; invalid UTF-8 as \ufffd).
 */
int fluxstate__json_append_go_string(struct fluxstate__buf *out, const char *s, size_t len);

#endif
