/*
 * JSON: a small DOM built with yajl's callback parser, and a streaming
 * parser for list responses and watch streams that hands out one item at
 * a time, so a list is never held whole in memory (as text or as a tree).
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "fluxstate-private.h"

/* Deeper documents are refused: no Kubernetes object nests this far. */
#define JSON_MAX_DEPTH 256
/*
 * Input one value may span, and memory it may take while it is built: a
 * list item, a watch event or a whole single document. The API server
 * stores objects of at most ~1.5 MiB; a server streaming one endless
 * object must not exhaust memory.
 */
#define JSON_MAX_VALUE_BYTES (16u << 20)

const struct fluxstate__json *
fluxstate__json_get(const struct fluxstate__json *obj, const char *key)
{
	const struct fluxstate__json *c;

	if (!obj || obj->type != FLUXSTATE__JSON_OBJECT || !key)
		return NULL;
	for (c = obj->first; c; c = c->next)
		if (c->key && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const struct fluxstate__json *
fluxstate__json_path(const struct fluxstate__json *root, ...)
{
	va_list ap;
	const char *key;

	va_start(ap, root);
	while (root && (key = va_arg(ap, const char *)))
		root = fluxstate__json_get(root, key);
	va_end(ap);
	return root;
}

const char *
fluxstate__json_str(const struct fluxstate__json *node)
{
	return node && node->type == FLUXSTATE__JSON_STRING ? node->text : NULL;
}

int
fluxstate__json_int(const struct fluxstate__json *node, long long *ret)
{
	char *end;
	long long v;

	if (!node || node->type != FLUXSTATE__JSON_NUMBER || !node->text || !node->text[0])
		return FLUXSTATE_EINVAL;
	errno = 0;
	v = strtoll(node->text, &end, 10);
	if (errno != 0 || *end != '\0')
		return FLUXSTATE_EINVAL; /* fraction, exponent or out of range */
	*ret = v;
	return 0;
}

void
fluxstate__json_free(struct fluxstate__json *node)
{
	/* Iterative over siblings, recursive over depth (bounded by JSON_MAX_DEPTH). */
	while (node) {
		struct fluxstate__json *next = node->next;

		fluxstate__json_free(node->first);
		free(node); /* key and text live in the node's own allocation */
		node = next;
	}
}

/* ------------------------------------------------------------------------
 * The builder shared by the DOM parser and the stream parser
 * ------------------------------------------------------------------------ */

struct fluxstate__json_stream {
	yajl_handle yajl;
	int multiple;
	int skip_subtrees;                  /* drop managedFields/openAPIV3Schema */
	fluxstate__json_item_fn item_fn;
	void *userdata;

	struct fluxstate__json *top;        /* the (first) top-level document */
	int top_done;
	struct fluxstate__json **stack;     /* open containers */
	size_t depth, cap;
	struct fluxstate__buf key;          /* pending member name, when has_key */
	int has_key;
	size_t skip;                        /* >0: inside a skipped subtree */
	struct fluxstate__json *items;      /* top-level "items" array (kept empty) */

	size_t doc_bytes;                   /* built for the document (items excluded) */
	size_t item_bytes;                  /* built for the list item in progress */
	uint64_t fed;                       /* input bytes handed to yajl so far */
	/*
	 * yajl re-scans a token that spans two yajl_parse() calls from its
	 * start on every call, so a long string fed in 16 KiB pieces costs
	 * quadratic time. The stream holds back an unfinished token here and
	 * hands it to yajl when it ends: every byte is then scanned a bounded
	 * number of times. lex_* is where the held-back token stands.
	 */
	struct fluxstate__buf held;
	int lex_in_string, lex_escape;
	uint64_t value_start;               /* input offset where the value in progress began */

	int failed;                         /* FLUXSTATE_E* of the first failure */
	int item_rc;                        /* what item_fn returned when it aborted */
	char *error;
	size_t n_docs;
};

static int
stream_fail(struct fluxstate__json_stream *s, int code, const char *msg)
{
	if (!s->failed) {
		s->failed = code;
		free(s->error);
		s->error = fluxstate__strdup(msg);
	}
	return 0; /* tells yajl to stop */
}

/* The pending member name opens a subtree that is never needed (it is then dropped). */
static int
skip_pending_key(struct fluxstate__json_stream *s)
{
	int skip = s->skip_subtrees && s->has_key &&
		   (strcmp(s->key.data, "managedFields") == 0 || strcmp(s->key.data, "openAPIV3Schema") == 0);

	if (skip)
		s->has_key = 0;
	return skip;
}

/* A value is done: either it closes a document or an item of "items". */
static int
value_done(struct fluxstate__json_stream *s, struct fluxstate__json *node)
{
	int rc;

	if (s->depth == 0) {
		/* a whole top-level document */
		s->n_docs++;
		if (s->multiple) {
			rc = s->item_fn ? s->item_fn(node, s->userdata) : 0;
			fluxstate__json_free(node);
			s->doc_bytes = 0;
			s->value_start = s->fed + yajl_get_bytes_consumed(s->yajl);
			if (rc) {
				s->item_rc = rc;
				return stream_fail(s, rc < 0 ? rc : FLUXSTATE_ERROR, "stopped by the item callback");
			}
			return 1;
		}
		s->top = node;
		s->top_done = 1;
		return 1;
	}
	if (s->items && s->stack[s->depth - 1] == s->items) {
		rc = s->item_fn ? s->item_fn(node, s->userdata) : 0;
		fluxstate__json_free(node);
		s->item_bytes = 0;
		s->value_start = s->fed + yajl_get_bytes_consumed(s->yajl);
		if (rc) {
			s->item_rc = rc;
			return stream_fail(s, rc < 0 ? rc : FLUXSTATE_ERROR, "stopped by the item callback");
		}
	}
	return 1;
}

/* Count @len more bytes against the value being built; 0 when it grew too big. */
static int
account(struct fluxstate__json_stream *s, size_t len)
{
	int in_item = s->items && s->depth >= 2 && s->stack[1] == s->items;
	size_t *used = in_item ? &s->item_bytes : &s->doc_bytes;

	if (len > JSON_MAX_VALUE_BYTES - *used) {
		stream_fail(s, FLUXSTATE_EPROTOCOL,
			    in_item ? "a list item larger than 16 MiB" : "a JSON document larger than 16 MiB");
		return 0;
	}
	*used += len;
	return 1;
}

/*
 * Create a node, link it under the open container (unless it is a list
 * item). The node, its member name and its @text share one allocation:
 * a list of 100k items is millions of values, and one malloc each instead
 * of three is most of the client's CPU saved.
 */
static struct fluxstate__json *
add_node(struct fluxstate__json_stream *s, enum fluxstate__json_type type, const char *text, size_t len)
{
	struct fluxstate__json *n, *parent;
	size_t key_size = s->has_key ? s->key.len + 1 : 0, text_size = text ? len + 1 : 0;
	char *tail;

	if (!s->multiple && s->top_done && s->depth == 0) {
		stream_fail(s, FLUXSTATE_EPROTOCOL, "trailing data after the JSON document");
		return NULL;
	}
	if (!account(s, sizeof(*n)))
		return NULL;
	n = calloc(1, sizeof(*n) + key_size + text_size);
	if (!n) {
		stream_fail(s, FLUXSTATE_ENOMEM, "out of memory");
		return NULL;
	}
	n->type = type;
	tail = (char *)(n + 1);
	if (s->has_key) {
		n->key = memcpy(tail, s->key.data, key_size);
		tail += key_size;
		s->has_key = 0;
	}
	if (text) {
		n->text = tail;
		memcpy(n->text, text, len); /* calloc wrote the terminating NUL */
	}
	if (s->depth == 0)
		return n;
	parent = s->stack[s->depth - 1];
	if (parent == s->items)
		return n; /* an item: built standalone, handed out when complete */
	if (parent->last)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	parent->n++;
	return n;
}

static int
on_scalar(struct fluxstate__json_stream *s, enum fluxstate__json_type type, const char *text, size_t len,
	  int boolean)
{
	struct fluxstate__json *n;
	int linked;

	if (s->skip || skip_pending_key(s))
		return 1;
	linked = s->depth > 0 && s->stack[s->depth - 1] != s->items;
	if (!account(s, len))
		return 0;
	n = add_node(s, type, text, len);
	if (!n)
		return 0;
	n->boolean = boolean;
	if (linked)
		return 1;
	return value_done(s, n);
}

static int
cb_null(void *ctx)
{
	return on_scalar(ctx, FLUXSTATE__JSON_NULL, NULL, 0, 0);
}

static int
cb_boolean(void *ctx, int b)
{
	return on_scalar(ctx, FLUXSTATE__JSON_BOOL, NULL, 0, !!b);
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	return on_scalar(ctx, FLUXSTATE__JSON_NUMBER, s, len, 0);
}

static int
cb_string(void *ctx, const unsigned char *str, size_t len)
{
	return on_scalar(ctx, FLUXSTATE__JSON_STRING, (const char *)str, len, 0);
}

static int
on_start(struct fluxstate__json_stream *s, enum fluxstate__json_type type)
{
	struct fluxstate__json *n;
	int is_items;

	if (s->skip) {
		s->skip++;
		return 1;
	}
	if (skip_pending_key(s)) {
		s->skip = 1;
		return 1;
	}
	if (s->depth >= JSON_MAX_DEPTH)
		return stream_fail(s, FLUXSTATE_EPROTOCOL, "JSON nested too deeply");
	is_items = !s->multiple && s->item_fn && type == FLUXSTATE__JSON_ARRAY && s->depth == 1 &&
		   !s->items && s->stack[0]->type == FLUXSTATE__JSON_OBJECT && s->has_key &&
		   strcmp(s->key.data, "items") == 0;
	if (s->depth == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct fluxstate__json **st = realloc(s->stack, cap * sizeof(*st));

		if (!st)
			return stream_fail(s, FLUXSTATE_ENOMEM, "out of memory");
		s->stack = st;
		s->cap = cap;
	}
	n = add_node(s, type, NULL, 0);
	if (!n)
		return 0;
	if (is_items)
		s->items = n;
	s->stack[s->depth++] = n;
	return 1;
}

static int
on_end(struct fluxstate__json_stream *s)
{
	struct fluxstate__json *n;

	if (s->skip) {
		s->skip--;
		return 1;
	}
	n = s->stack[--s->depth];
	if (s->depth > 0 && s->stack[s->depth - 1] != s->items)
		return 1; /* linked into its parent */
	return value_done(s, n);
}

static int
cb_start_map(void *ctx)
{
	return on_start(ctx, FLUXSTATE__JSON_OBJECT);
}

static int
cb_start_array(void *ctx)
{
	return on_start(ctx, FLUXSTATE__JSON_ARRAY);
}

static int
cb_end(void *ctx)
{
	return on_end(ctx);
}

static int
cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct fluxstate__json_stream *s = ctx;

	if (s->skip)
		return 1;
	if (!account(s, len))
		return 0;
	s->key.len = 0;
	if (fluxstate__buf_append(&s->key, key, len) < 0)
		return stream_fail(s, FLUXSTATE_ENOMEM, "out of memory");
	s->has_key = 1;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_boolean,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

int
fluxstate__json_stream_new(int multiple, fluxstate__json_item_fn item_fn, void *userdata,
			   struct fluxstate__json_stream **ret)
{
	struct fluxstate__json_stream *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return FLUXSTATE_ENOMEM;
	s->multiple = !!multiple;
	s->skip_subtrees = 1;
	s->item_fn = item_fn;
	s->userdata = userdata;
	s->yajl = yajl_alloc(&callbacks, NULL, s);
	if (!s->yajl) {
		free(s);
		return FLUXSTATE_ENOMEM;
	}
	if (s->multiple)
		yajl_config(s->yajl, yajl_allow_multiple_values, 1);
	*ret = s;
	return 0;
}

/* Record yajl's own message (it quotes a bit of input: JSON only, no headers). */
static void
stream_yajl_error(struct fluxstate__json_stream *s, const unsigned char *data, size_t len)
{
	unsigned char *msg = yajl_get_error(s->yajl, 0, data, len);
	char *m = msg ? (char *)msg : "parse error", *nl;

	/* yajl's messages end in a newline; keep one line */
	while ((nl = strchr(m, '\n')))
		*nl = ' ';
	while (*m && m[strlen(m) - 1] == ' ')
		m[strlen(m) - 1] = '\0';
	stream_fail(s, FLUXSTATE_EPROTOCOL, m);
	if (msg)
		yajl_free_error(s->yajl, msg);
}

/* Hand @len bytes to yajl. */
static int
parse_chunk(struct fluxstate__json_stream *s, const unsigned char *data, size_t len)
{
	yajl_status st;

	if (s->failed || len == 0)
		return s->failed;
	st = yajl_parse(s->yajl, data, len);
	s->fed += len;
	if (st != yajl_status_ok && !s->failed)
		stream_yajl_error(s, data, len);
	return s->failed;
}

/* Characters of a number or a true/false/null literal. */
static int
is_word_char(unsigned char ch)
{
	return isalnum(ch) || ch == '-' || ch == '+' || ch == '.';
}

/*
 * Follow the lexer through @p and find the token (string, number, literal)
 * still open at its end: *ret_open says there is one, *ret_carried that it
 * is the held token going on through all of @p; otherwise the result is
 * where it starts in @p. This sees every byte of every list, so strings
 * are crossed in tight loops and words are looked for only at the end.
 */
static size_t
scan_open_token(struct fluxstate__json_stream *s, const unsigned char *p, size_t len, int *ret_open,
		int *ret_carried)
{
	const unsigned char *quote, *backslash;
	size_t i = 0, start = 0;
	int carried = s->held.len > 0;

	if (carried && !s->lex_in_string) {
		/* the held number or literal */
		while (i < len && is_word_char(p[i]))
			i++;
		if (i == len) {
			*ret_open = *ret_carried = 1;
			return 0;
		}
		carried = 0;
	}
	while (i < len) {
		if (!s->lex_in_string) {
			quote = memchr(p + i, '"', len - i);
			if (!quote)
				break;
			i = (size_t)(quote - p);
			start = i++;
			s->lex_in_string = 1;
			carried = 0;
			continue;
		}
		if (s->lex_escape) {
			s->lex_escape = 0;
			i++;
			continue;
		}
		quote = memchr(p + i, '"', len - i);
		backslash = memchr(p + i, '\\', (quote ? (size_t)(quote - p) : len) - i);
		if (backslash) {
			i = (size_t)(backslash - p) + 1;
			s->lex_escape = 1;
		} else if (quote) {
			i = (size_t)(quote - p) + 1;
			s->lex_in_string = carried = 0;
		} else {
			break;
		}
	}
	if (s->lex_in_string) {
		*ret_open = 1;
		*ret_carried = carried;
		return start;
	}
	/* outside a string: a number or literal running to the end of @p */
	start = len;
	while (start > 0 && is_word_char(p[start - 1]))
		start--;
	*ret_open = start < len;
	*ret_carried = 0;
	return start;
}

int
fluxstate__json_stream_feed(struct fluxstate__json_stream *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	int open, carried;
	size_t start;

	if (s->failed)
		return s->failed;
	if (len == 0)
		return 0;
	start = scan_open_token(s, p, len, &open, &carried);
	if (open && carried) {
		/* the held token goes on past this piece: nothing for yajl yet */
		if (fluxstate__buf_append(&s->held, data, len) < 0)
			stream_fail(s, FLUXSTATE_ENOMEM, "out of memory");
	} else {
		size_t upto = open ? start : len;

		/* yajl sees the held token's start once more, then its end: linear */
		if (parse_chunk(s, (const unsigned char *)s->held.data, s->held.len) == 0)
			parse_chunk(s, p, upto);
		s->held.len = 0;
		if (!s->failed && open && fluxstate__buf_append(&s->held, p + upto, len - upto) < 0)
			stream_fail(s, FLUXSTATE_ENOMEM, "out of memory");
	}
	/* yajl buffers a token until it ends: bound the input one value may span */
	if (!s->failed && s->fed + s->held.len - s->value_start > JSON_MAX_VALUE_BYTES)
		stream_fail(s, FLUXSTATE_EPROTOCOL, "a JSON value longer than 16 MiB");
	return s->failed;
}

int
fluxstate__json_stream_finish(struct fluxstate__json_stream *s, struct fluxstate__json **ret_top)
{
	yajl_status st;

	if (ret_top)
		*ret_top = NULL;
	if (s->failed)
		return s->failed;
	if (parse_chunk(s, (const unsigned char *)s->held.data, s->held.len) < 0)
		return s->failed;
	s->held.len = 0;
	st = yajl_complete_parse(s->yajl);
	if (st != yajl_status_ok) {
		if (!s->failed)
			stream_yajl_error(s, NULL, 0);
		return s->failed;
	}
	if (s->depth > 0 || (!s->multiple && !s->top_done)) {
		stream_fail(s, FLUXSTATE_EPROTOCOL, s->n_docs || s->depth ? "truncated JSON document" : "empty JSON document");
		return s->failed;
	}
	if (ret_top && !s->multiple) {
		*ret_top = s->top;
		s->top = NULL;
	}
	return 0;
}

const char *
fluxstate__json_stream_error(const struct fluxstate__json_stream *s)
{
	return s && s->error ? s->error : "unknown JSON error";
}

void
fluxstate__json_stream_free(struct fluxstate__json_stream *s)
{
	if (!s)
		return;
	if (s->yajl)
		yajl_free(s->yajl);
	/* the bottom of the stack owns everything linked; standalone items are roots too */
	if (s->depth > 0) {
		size_t i;

		for (i = s->depth; i-- > 0;) {
			/* free each root: the document root, and an unfinished item under "items" */
			if (i == 0 || s->stack[i - 1] == s->items)
				fluxstate__json_free(s->stack[i]);
		}
	}
	fluxstate__json_free(s->top);
	free(s->stack);
	fluxstate__buf_clear(&s->key);
	free(s->error);
	fluxstate__buf_clear(&s->held);
	free(s);
}

int
fluxstate__json_parse(const char *text, size_t len, struct fluxstate__json **ret, char **ret_error)
{
	struct fluxstate__json_stream *s;
	int rc;

	*ret = NULL;
	if (ret_error)
		*ret_error = NULL;
	rc = fluxstate__json_stream_new(0, NULL, NULL, &s);
	if (rc < 0)
		return rc;
	s->skip_subtrees = 0; /* small whole documents: keep everything */
	rc = fluxstate__json_stream_feed(s, text, len);
	if (rc == 0)
		rc = fluxstate__json_stream_finish(s, ret);
	if (rc < 0 && ret_error)
		*ret_error = fluxstate__strdup(fluxstate__json_stream_error(s));
	fluxstate__json_stream_free(s);
	return rc;
}
