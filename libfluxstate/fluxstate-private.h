/*
 * Internal interfaces of libfluxstate. Nothing here is exported.
 *
 * Data flows one way:
 *   kubeconfig.c (files -> struct fluxstate__kubeconfig -> struct fluxstate__conn)
 *   -> client.c (struct fluxstate__conn -> authenticated HTTPS requests, libcurl multi)
 *   -> observe.c (concurrent lists -> struct fluxstate__observations)
 *   -> classify.c (pure: observations -> struct fluxstate_report)
 *   -> report.c (accessors, JSON)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_PRIVATE_H
#define FLUXSTATE_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fluxstate/fluxstate.h>

#define FLUXSTATE_EXPORT __attribute__((visibility("default")))
#define FLUXSTATE_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define FLUXSTATE_DEFAULT_TIMEOUT_MS 30000u
#define FLUXSTATE_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define FLUXSTATE_DEFAULT_FLUX_NAMESPACE "flux-system"
#define FLUXSTATE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* ------------------------------------------------------------------------
 * util.c: memory, strings, buffers, errors
 * ------------------------------------------------------------------------ */

/* Growable byte buffer; always NUL-terminated when data != NULL. */
struct fluxstate__buf {
	char *data;
	size_t len;
	size_t cap;
};
int fluxstate__buf_append(struct fluxstate__buf *b, const void *data, size_t len); /* 0 or -ENOMEM code */
int fluxstate__buf_appendf(struct fluxstate__buf *b, const char *fmt, ...) FLUXSTATE_PRINTF(2, 3);
char *fluxstate__buf_steal(struct fluxstate__buf *b); /* returns data ("" if empty), resets b; NULL on ENOMEM */
void fluxstate__buf_clear(struct fluxstate__buf *b);  /* frees */
void fluxstate__buf_wipe(struct fluxstate__buf *b);   /* zeroes then frees: for secrets */

char *fluxstate__strdup(const char *s);                     /* NULL in -> NULL out */
char *fluxstate__strndup(const char *s, size_t n);
char *fluxstate__asprintf(const char *fmt, ...) FLUXSTATE_PRINTF(1, 2);
int fluxstate__streq(const char *a, const char *b);         /* NULL-safe equality */
int fluxstate__has_prefix(const char *s, const char *prefix);
int fluxstate__has_suffix(const char *s, const char *suffix);
void fluxstate__wipe(void *p, size_t len);                   /* not optimised away */
void fluxstate__free_secret(char *s);                        /* wipe strlen(s) then free */
void fluxstate__free_secret_n(void *p, size_t len);
int fluxstate__read_file(const char *path, size_t max, char **ret, size_t *ret_len); /* 0 or -errno */
const char *fluxstate__errno_text(int e); /* Go-style lower-case strerror, thread-safe (per-thread buffer) */
int fluxstate__pem_key_is_encrypted(const void *pem, size_t len); /* PKCS#8 or legacy encrypted PEM key */
int fluxstate__url_password_span(const char *url, size_t *ret_start, size_t *ret_len); /* 1 if it has one */
char *fluxstate__url_redacted(const char *url);                 /* password shown as xxxxx */
uint64_t fluxstate__now_ms(void);                            /* CLOCK_MONOTONIC */
/* Short non-reversible fingerprint of a secret for logs: "sha256:<8 hex>". Caller frees. */
char *fluxstate__fingerprint(const void *secret, size_t len);

/* Set the context's error message and return code (for `return fluxstate__error(...)`). */
int fluxstate__error(fluxstate_ctx *ctx, int code, const char *fmt, ...) FLUXSTATE_PRINTF(3, 4);
int fluxstate__verror(fluxstate_ctx *ctx, int code, const char *fmt, va_list ap)
	FLUXSTATE_PRINTF(3, 0);
/* Emit one trace line to the ctx's log handler, if any. */
void fluxstate__log(fluxstate_ctx *ctx, const char *fmt, ...) FLUXSTATE_PRINTF(2, 3);

/* base64.c: standard alphabet, padding required, \r and \n ignored (client-go []byte rules). */
int fluxstate__base64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len,
			     size_t *ret_bad_offset); /* 0, FLUXSTATE_EINVAL (bad byte at *ret_bad_offset), ENOMEM */
char *fluxstate__base64_encode(const void *in, size_t len);

/* ------------------------------------------------------------------------
 * json.c: a small DOM built with yajl, and a streaming list parser
 * ------------------------------------------------------------------------ */

enum fluxstate__json_type {
	FLUXSTATE__JSON_NULL,
	FLUXSTATE__JSON_BOOL,
	FLUXSTATE__JSON_NUMBER,
	FLUXSTATE__JSON_STRING,
	FLUXSTATE__JSON_ARRAY,
	FLUXSTATE__JSON_OBJECT
};

struct fluxstate__json {
	enum fluxstate__json_type type;
	char *key;       /* member name when the parent is an object, else NULL */
	char *text;      /* STRING: value; NUMBER: the number as written */
	int boolean;     /* BOOL */
	struct fluxstate__json *first, *last; /* children of ARRAY/OBJECT, in order */
	struct fluxstate__json *next;
	size_t n;        /* number of children */
};

/* Member @key of an object, or NULL (also when @obj is not an object or NULL). */
const struct fluxstate__json *fluxstate__json_get(const struct fluxstate__json *obj, const char *key);
/* Walk object members: fluxstate__json_path(item, "metadata", "labels", NULL). */
const struct fluxstate__json *fluxstate__json_path(const struct fluxstate__json *root, ...);
/* String value or NULL when @node is not a string. */
const char *fluxstate__json_str(const struct fluxstate__json *node);
/* Integer value of a NUMBER node; 0 on success, FLUXSTATE_EINVAL otherwise. */
int fluxstate__json_int(const struct fluxstate__json *node, long long *ret);
void fluxstate__json_free(struct fluxstate__json *node);
/* Parse one whole document (small documents only: kubeconfig exec output, Status, /version). */
int fluxstate__json_parse(const char *text, size_t len, struct fluxstate__json **ret, char **ret_error);

/*
 * Streaming parser for list responses ({"kind":..., "metadata":{...}, "items":[...]}).
 * Each element of the top-level "items" array is built as a DOM, passed to
 * @item_fn and freed right after: a list is never held whole in memory.
 * Everything outside "items" is kept and returned by _finish().
 * Subtrees under keys "managedFields" and "openAPIV3Schema" are skipped
 * (they are large and never needed).
 * With @multiple set, the input is a sequence of top-level documents (a
 * watch stream); each whole document is passed to @item_fn.
 */
struct fluxstate__json_stream;
typedef int (*fluxstate__json_item_fn)(const struct fluxstate__json *item, void *userdata); /* non-0 aborts */
int fluxstate__json_stream_new(int multiple, fluxstate__json_item_fn item_fn, void *userdata,
			       struct fluxstate__json_stream **ret);
int fluxstate__json_stream_feed(struct fluxstate__json_stream *s, const void *data, size_t len);
int fluxstate__json_stream_finish(struct fluxstate__json_stream *s, struct fluxstate__json **ret_top);
const char *fluxstate__json_stream_error(const struct fluxstate__json_stream *s); /* after a failure */
void fluxstate__json_stream_free(struct fluxstate__json_stream *s);

/* ------------------------------------------------------------------------
 * kubeconfig.c: files -> merged kubeconfig -> resolved connection (client-go rules)
 * ------------------------------------------------------------------------ */

struct fluxstate__kubeconfig; /* merged view of all files; owns names for listing contexts */

struct fluxstate__load_options {
	const char *explicit_path;      /* --kubeconfig; NULL: $KUBECONFIG list, else $HOME/.kube/config */
	const char *context;            /* overrides; NULL = none */
	const char *cluster;
	const char *user;
	const char *namespace;
	const char *server;
	const char *tls_server_name;
	const char *serviceaccount_dir; /* NULL = FLUXSTATE_SERVICEACCOUNT_DIR (tests point it elsewhere) */
	const char *certificate_authority; /* --certificate-authority: clears the kubeconfig CA/insecure */
	int insecure_skip_tls_verify;   /* --insecure-skip-tls-verify: clears the kubeconfig CA */
	int disable_compression;        /* --disable-compression (only ever turns it on) */
	/* user overrides, merged field by field over the selected user (client-go ConfigOverrides.AuthInfo) */
	const char *client_certificate; /* replaces client-certificate (a -data beside it: kubectl's error) */
	const char *client_key;         /* replaces client-key (likewise) */
	const char *token;              /* replaces token */
	const char *impersonate_user;   /* --as */
	const char *impersonate_uid;    /* --as-uid */
	char *const *impersonate_groups; /* --as-group..., NULL-terminated; replaces as-groups */
	/* kubeconfig from memory (fluxstate_ctx_load_kubeconfig_from_memory) */
	const char *data;               /* non-NULL: this buffer instead of any file */
	size_t data_len;
	const char *base_dir;           /* relative paths in @data resolve here; NULL: rejected */
};

enum fluxstate__interactive_mode {
	FLUXSTATE__INTERACTIVE_NEVER,
	FLUXSTATE__INTERACTIVE_IF_AVAILABLE,
	FLUXSTATE__INTERACTIVE_ALWAYS
};

struct fluxstate__exec_config {
	char *command;                  /* resolved against the kubeconfig dir when it contains '/' */
	char **args;                    /* NULL-terminated */
	char **env;                     /* NULL-terminated "NAME=value" */
	char *api_version;              /* client.authentication.k8s.io/v1 or /v1beta1 */
	char *install_hint;
	int provide_cluster_info;
	enum fluxstate__interactive_mode interactive_mode;
	char *cluster_config_json;      /* extensions[client.authentication.k8s.io/exec] as JSON, or NULL */
};

/* Everything needed to talk to one API server as one user. Owns all strings; secrets wiped on free. */
struct fluxstate__conn {
	char *context_name;             /* NULL for in-cluster */
	char *cluster_name;
	char *user_name;
	char *namespace;                /* override > context > "default" (in-cluster: POD_NAMESPACE > file) */
	int in_cluster;

	char *server;                   /* scheme://host[:port], no path, no trailing '/' */
	char *path_prefix;              /* "" or "/prefix" (no trailing '/') */
	char *tls_server_name;          /* NULL = none */
	int insecure_skip_tls_verify;
	unsigned char *ca_pem;          /* CA bundle (PEM bytes), NULL = system roots */
	size_t ca_pem_len;
	char *ca_source;                /* file path, "certificate-authority-data", or NULL */
	char *proxy_url;                /* NULL = environment rules */
	int disable_compression;

	char *token;                    /* bearer token (verbatim), NULL = none */
	char *token_file;               /* re-read on use; wins when readable */
	char *username;                 /* basic auth when has_basic */
	char *password;
	int has_basic;
	unsigned char *client_cert_pem;
	size_t client_cert_pem_len;
	unsigned char *client_key_pem;
	size_t client_key_pem_len;
	char *client_cert_source;       /* file path, "client-certificate-data", or NULL */
	struct fluxstate__exec_config *exec; /* NULL = none; used only without token/basic/cert */
	char *auth_provider;            /* "oidc" when an auth-provider id-token is used */
	char *oidc_id_token;

	char *impersonate_user;
	char *impersonate_uid;
	char **impersonate_groups;      /* NULL-terminated */
	char **impersonate_extra;       /* NULL-terminated "key=value" pairs, one per value */
};

int fluxstate__kubeconfig_load(fluxstate_ctx *ctx, const struct fluxstate__load_options *opts,
			       struct fluxstate__kubeconfig **ret);
/* Select context/cluster/user, apply overrides, validate like client-go's ConfirmUsable. */
int fluxstate__kubeconfig_resolve(fluxstate_ctx *ctx, const struct fluxstate__kubeconfig *kc,
				  const struct fluxstate__load_options *opts, struct fluxstate__conn **ret);
size_t fluxstate__kubeconfig_n_contexts(const struct fluxstate__kubeconfig *kc);
const char *fluxstate__kubeconfig_context_name(const struct fluxstate__kubeconfig *kc, size_t i);
void fluxstate__kubeconfig_free(struct fluxstate__kubeconfig *kc);

void fluxstate__conn_free(struct fluxstate__conn *conn);
/* JSON description with secrets redacted (fluxstate_ctx_describe_connection). */
int fluxstate__conn_describe(const struct fluxstate__conn *conn, char **ret_json);
/* "token", "token-file", "basic", "client-certificate", "token+client-certificate", "exec", "oidc", "none" */
const char *fluxstate__conn_auth_method(const struct fluxstate__conn *conn);

/* ------------------------------------------------------------------------
 * client.c (+ exec-credential.c): authenticated requests over one libcurl multi handle
 * ------------------------------------------------------------------------ */

struct fluxstate__client;

int fluxstate__client_new(fluxstate_ctx *ctx, const struct fluxstate__conn *conn,
			  struct fluxstate__client **ret);
void fluxstate__client_free(struct fluxstate__client *client);

/* One read. All strings are borrowed and must outlive fluxstate__client_run(). */
struct fluxstate__query {
	const char *raw_path;           /* e.g. "/version": GET it, pass the whole document to item_fn */
	const char *group;              /* NULL or "" = core (/api/v1), else /apis/<group>/<version> */
	const char *version;
	const char *resource;           /* plural, e.g. "deployments" */
	const char *namespace;          /* NULL = cluster-scoped, or all namespaces */
	const char *name;               /* non-NULL: GET one object; 404 -> result.not_found, not an error */
	const char *label_selector;
	const char *field_selector;
	int metadata_only;              /* PartialObjectMetadata(List) with plain-JSON fallback */
	unsigned int page_size;         /* limit=; 0 = 500 */
	/* writes (cleanup): one object by name; 2xx hands the answer to item_fn */
	const char *method;             /* NULL = GET; "DELETE" or "PATCH" */
	const char *body;               /* NULL = none */
	const char *content_type;       /* of body, e.g. "application/json-patch+json" */
	int dry_run;                    /* ?dryRun=All: the server checks everything and persists nothing */
	const char *list_kind;          /* e.g. "Deployment": every page must be a DeploymentList (or a
					   PartialObjectMetadataList when metadata_only); NULL = any *List */
};

struct fluxstate__result {
	int code;                       /* 0 or a FLUXSTATE_E* code */
	long http_status;               /* last HTTP status seen, 0 if none */
	char *reason;                   /* Status reason ("Forbidden", "NotFound", ...), or NULL */
	char *message;                  /* why it failed (no secrets), or NULL */
	char *resource_version;         /* list resourceVersion (for watch), or NULL */
	size_t n_items;                 /* items passed to item_fn */
	int not_found;                  /* 404: object or resource type does not exist */
	int restarted;                  /* the list restarted once after 410 Expired */
	int conflict;                   /* a write was answered 409 Conflict or 422 (a failed patch test op) */
	unsigned int n_requests;        /* HTTP requests this query took (pages, retries) */
	int reached;                    /* furthest a request got: 1 TCP connected, 2 TLS done too */
	int timed_out;                  /* it failed by a timeout (connect timeout or deadline) */
};
void fluxstate__result_clear(struct fluxstate__result *r);

/* Called once per list item (or once with the whole document for raw_path/name). */
typedef int (*fluxstate__item_fn)(const struct fluxstate__json *item, void *userdata);

/* Queue a query; it runs on the next fluxstate__client_run(). @ret is filled then. */
int fluxstate__client_add(struct fluxstate__client *client, const struct fluxstate__query *q,
			  fluxstate__item_fn item_fn, void *userdata, struct fluxstate__result *ret);
/*
 * Run every queued query concurrently (HTTP/2 multiplexed where offered)
 * until all finish or @deadline_ms (fluxstate__now_ms() clock) passes.
 * Per-query failures are recorded in their results; the return value is 0
 * unless something global failed (out of memory, curl multi error).
 */
int fluxstate__client_run(struct fluxstate__client *client, uint64_t deadline_ms);

/*
 * Watch the given collections starting at their resourceVersions; return 0
 * as soon as any event (ADDED/MODIFIED/DELETED) arrives on any of them,
 * FLUXSTATE_ETIMEDOUT at @deadline_ms, or another error code.
 */
int fluxstate__client_watch(struct fluxstate__client *client, const struct fluxstate__query *queries,
			    const char *const *resource_versions, size_t n, uint64_t deadline_ms);

/*
 * Testing hook (tests/fuzz/fuzz-client.c): answer every request without
 * libcurl or a network, through the client's own header, body, paging,
 * retry, 410 and watch handling. @fn fills *ret for the request @path
 * ("/api/v1/...?limit=..."); returning < 0 ends that query with an error.
 * Retry and re-watch waits are skipped. NULL @fn restores libcurl.
 */
struct fluxstate__fake_response {
	long status;                    /* 0: no answer (the connection was reset) */
	const char *headers;            /* "Name: value\r\n" lines, or NULL */
	const void *body;
	size_t body_len;
	size_t chunk;                   /* body delivered in pieces of this size (0 = whole) */
	int truncated;                  /* the connection drops after the body */
};
typedef int (*fluxstate__fake_transport_fn)(void *userdata, const char *path, struct fluxstate__fake_response *ret);
void fluxstate__client_set_fake_transport(struct fluxstate__client *client, fluxstate__fake_transport_fn fn,
					  void *userdata);
/* Tests: clients created from now on hand libcurl PEM blobs per connection, as before tls.c. */
void fluxstate__client_force_tls_blobs(int on);

/* Total HTTP requests made by this client (for traces and benchmarks). */
unsigned int fluxstate__client_n_requests(const struct fluxstate__client *client);

/* Reason and message (no secrets, one line) for a non-2xx response body:
 * a Status object or text. 0 or ENOMEM; caller frees both (reason may be NULL). */
int fluxstate__client_decode_error(long http_status, const char *body, size_t len, char **ret_reason,
				   char **ret_message);

/* ------------------------------------------------------------------------
 * The context (ctx.c)
 * ------------------------------------------------------------------------ */

struct fluxstate_ctx {
	char error[1024];

	/* overrides, set before load */
	char *opt_context;
	char *opt_cluster;
	char *opt_user;
	char *opt_server;
	char *opt_tls_server_name;
	char *serviceaccount_dir;       /* tests only; NULL = default */
	/* connection options (kubectl flags), set before load */
	int opt_insecure;
	char *opt_certificate_authority;
	char *opt_client_certificate;
	char *opt_client_key;
	char *opt_token;                /* secret: wiped on free */
	char *opt_as;
	char *opt_as_uid;
	char **opt_as_groups;           /* NULL-terminated, or NULL */
	size_t n_opt_as_groups;
	int opt_disable_compression;
	unsigned int request_timeout_ms; /* 0 = none */

	/* fluxstate_ctx_cancel(): a flag and a self-pipe the wait loops poll */
	volatile int cancel_requested;  /* accessed with __atomic builtins */
	int cancel_pipe[2];             /* non-blocking; -1 when it could not be made */

	/* detection options */
	char *flux_namespace;           /* NULL = auto-detect */
	unsigned int timeout_ms;
	unsigned int connect_timeout_ms;

	fluxstate_log_fn log_fn;
	void *log_userdata;

	/* after fluxstate_ctx_load_kubeconfig() */
	struct fluxstate__kubeconfig *kubeconfig; /* NULL for in-cluster */
	struct fluxstate__conn *conn;
	struct fluxstate__client *client;         /* created on first use */
};

/* A DNS-1123 label (a namespace name): lower-case alphanumerics and '-', at most 63. */
int fluxstate__is_dns_label(const char *s);

/* The client for ctx->conn, created on first use. */
int fluxstate__ctx_client(fluxstate_ctx *ctx, struct fluxstate__client **ret);

/* Cancellation (ctx.c). _canceled() only looks; _take_cancel() consumes the
 * request (flag and pipe) and returns whether there was one. The fd becomes
 * readable when a cancel is requested: poll it beside what you wait for. */
int fluxstate__ctx_canceled(const fluxstate_ctx *ctx);
int fluxstate__ctx_take_cancel(fluxstate_ctx *ctx);
int fluxstate__ctx_cancel_fd(const fluxstate_ctx *ctx);
/* Call after a poll that included the cancel fd; the loop checks _canceled() before each wait. */
void fluxstate__ctx_cancel_woke(fluxstate_ctx *ctx);
/* Wrap an operation: ECANCELED at once if a cancel is pending; after it, a
 * ECANCELED result consumes the request. */
int fluxstate__ctx_begin_op(fluxstate_ctx *ctx);
int fluxstate__ctx_end_op(fluxstate_ctx *ctx, int rc);

#endif /* FLUXSTATE_PRIVATE_H */
