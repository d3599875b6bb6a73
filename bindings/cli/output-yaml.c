/*
 * -o yaml: the same document as -o json, written as block YAML in
 * kubectl's layout (list items at their key's indentation). Key order is
 * kept; a string is written plain only when YAML cannot read it as
 * anything else, and double-quoted (JSON escapes are valid YAML) otherwise.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#include "cli.h"

static int
plain_safe(const char *s)
{
	static const char *const reserved[] = { "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~" };
	size_t i, n = strlen(s);
	int numberish = 1;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == ' ' || c == '.' || c == '_' || c == '/' || c == '-' || c == '@' || c == '+' ||
		      c == '(' || c == ')' || c == ',' || c == '=' || c >= 0x80))
			return 0;
		if (!(isdigit(c) || c == '.' || c == '_' || c == '+' || c == '-' || c == 'e' || c == 'E'))
			numberish = 0;
	}
	return !numberish;
}

static void
put_string(FILE *out, const char *s)
{
	if (plain_safe(s))
		fputs(s, out);
	else
		cli_put_json_string(out, s);
}

static void
put_scalar(FILE *out, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		put_string(out, YAJL_GET_STRING(v) ? YAJL_GET_STRING(v) : "");
	else if (YAJL_IS_NUMBER(v))
		fputs(YAJL_GET_NUMBER(v), out);
	else if (YAJL_IS_TRUE(v))
		fputs("true", out);
	else if (YAJL_IS_FALSE(v))
		fputs("false", out);
	else if (YAJL_IS_OBJECT(v))
		fputs("{}", out);
	else if (YAJL_IS_ARRAY(v))
		fputs("[]", out);
	else
		fputs("null", out);
}

static int
is_block(yajl_val v)
{
	return (YAJL_IS_OBJECT(v) && v->u.object.len) || (YAJL_IS_ARRAY(v) && v->u.array.len);
}

static void put_array(FILE *out, yajl_val v, int indent, int inline_first);

/* @inline_first: the cursor already stands after "- " for the first key. */
static void
put_object(FILE *out, yajl_val v, int indent, int inline_first)
{
	size_t i;

	for (i = 0; i < v->u.object.len; i++) {
		yajl_val child = v->u.object.values[i];

		if (i > 0 || !inline_first)
			fprintf(out, "%*s", indent, "");
		put_string(out, v->u.object.keys[i]);
		fputc(':', out);
		if (!is_block(child)) {
			fputc(' ', out);
			put_scalar(out, child);
			fputc('\n', out);
		} else if (YAJL_IS_OBJECT(child)) {
			fputc('\n', out);
			put_object(out, child, indent + 2, 0);
		} else {
			fputc('\n', out);
			put_array(out, child, indent, 0);
		}
	}
}

static void
put_array(FILE *out, yajl_val v, int indent, int inline_first)
{
	size_t i;

	for (i = 0; i < v->u.array.len; i++) {
		yajl_val item = v->u.array.values[i];

		if (i > 0 || !inline_first)
			fprintf(out, "%*s", indent, "");
		fputs("- ", out);
		if (!is_block(item)) {
			put_scalar(out, item);
			fputc('\n', out);
		} else if (YAJL_IS_OBJECT(item)) {
			put_object(out, item, indent + 2, 1);
		} else {
			put_array(out, item, indent + 2, 1);
		}
	}
}

int
cli_print_yaml(FILE *out, const char *json, int as_list_item)
{
	char errbuf[256];
	yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));

	if (!root)
		return -1;
	if (as_list_item) {
		fputs("- ", out);
		if (YAJL_IS_OBJECT(root) && root->u.object.len)
			put_object(out, root, 2, 1);
		else if (YAJL_IS_ARRAY(root) && root->u.array.len)
			put_array(out, root, 2, 1);
		else {
			put_scalar(out, root);
			fputc('\n', out);
		}
	} else if (YAJL_IS_OBJECT(root) && root->u.object.len) {
		put_object(out, root, 0, 0);
	} else if (YAJL_IS_ARRAY(root) && root->u.array.len) {
		put_array(out, root, 0, 0);
	} else {
		put_scalar(out, root);
		fputc('\n', out);
	}
	yajl_tree_free(root);
	return 0;
}
