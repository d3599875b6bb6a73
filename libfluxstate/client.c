/*
 * The HTTP client: authenticated GETs against one API server over one
 * libcurl multi handle (connections and HTTP/2 streams shared by every
 * query, kept across runs). Responses are parsed as they stream in.
 *
 * Per query: pages (limit/continue), one restart from scratch on 410
 * Expired, 429/5xx retried with an integer Retry-After (at most 10 times,
 * never past the deadline), metadata-only Accept with a plain JSON
 * fallback, Status and text bodies turned into messages.
 *
 * After a 410 restart the item_fn sees the first items again:
 * result.restarted tells the caller to drop what it collected before
 * (nothing is buffered here, so a list is never held in memory).
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <fluxstate/fluxstate-version.h>

#include "exec-credential.h"
#include "fluxstate-private.h"
#include "tls.h"

#define MAX_RETRIES 10
#define MAX_ERROR_BODY (64 * 1024)
#define MAX_HOST_CONNECTIONS 8
#define DEFAULT_PAGE_SIZE 500u

#define ACCEPT_JSON "application/json"
#define ACCEPT_META_LIST                                                                                    \
	"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"                                 \
	"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1,application/json"
#define ACCEPT_META_ONE                                                                                     \
	"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,"                                     \
	"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1,application/json"

#if defined(__x86_64__)
#define FLUXSTATE_ARCH "amd64"
#elif defined(__aarch64__)
#define FLUXSTATE_ARCH "arm64"
#elif defined(__i386__)
#define FLUXSTATE_ARCH "386"
#elif defined(__arm__)
#define FLUXSTATE_ARCH "arm"
#elif defined(__powerpc64__)
#define FLUXSTATE_ARCH "ppc64le"
#elif defined(__s390x__)
#define FLUXSTATE_ARCH "s390x"
#else
#define FLUXSTATE_ARCH "unknown"
#endif

enum op_state {
	OP_PENDING,   /* next request not started yet (maybe waiting for not_before) */
	OP_RUNNING,   /* easy handle in the multi */
	OP_DONE
};

struct op {
	struct fluxstate__client *client;
	struct op *next;
	struct fluxstate__query q;
	fluxstate__item_fn item_fn;
	void *userdata;
	struct fluxstate__result *res;

	int watch;                    /* a watch request (fluxstate__client_watch) */
	const char *watch_rv;
	int fired;                    /* watch: an event arrived */
	unsigned int watch_backoff_ms;  /* watch: wait before the next re-establishment */

	enum op_state state;
	uint64_t not_before;          /* retry wait */
	unsigned int retries;
	int meta_fallback;            /* metadata-only refused: plain JSON now */
	char *cont;                   /* continue token of the next page */

	/* the request in flight */
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *log_path;               /* path?query for traces */
	uint64_t t0;
	unsigned int exec_generation; /* exec credentials this request carried (0 = none) */
	char errbuf[CURL_ERROR_SIZE];
	long status;                  /* from the status line, set by the header callback */
	struct fluxstate__json_stream *stream;
	int stream_failed;
	struct fluxstate__buf body;   /* non-2xx body, capped */
	char *retry_after;
	char *location;
	char *content_type;           /* named when a 2xx body is not JSON */
	size_t page_items;
	long long promised_more;      /* remainingItemCount of the page before: items still to come */
};

struct fluxstate__client {
	fluxstate_ctx *ctx;
	const struct fluxstate__conn *conn;
	CURLM *multi;
	CURLSH *share;                /* TLS sessions resumed across this client's connections */
	struct fluxstate__tls *tls;   /* CA store + client certificate parsed once (NULL: PEM blobs) */
	struct op *ops;               /* queued by _add, run by _run */
	unsigned int n_requests;
	int send_credentials;         /* https only (client-go IsConfigTransportTLS) */
	char *base_url;               /* scheme://host[:port] (tls-server-name as host) + path prefix */
	char *host_header;            /* "Host: server-host:port" when tls-server-name is used */
	struct curl_slist *connect_to;
	char *proxy;
	char *proxy_password;         /* to scrub from libcurl's messages, which quote the proxy URL */
	char *proxy_shown;            /* scheme://host:port of the proxy in use (messages), or NULL */
	int no_env_proxy;             /* loopback server: $HTTPS_PROXY/$HTTP_PROXY do not apply */
	char *user_agent;
	int watch_fired;
	struct fluxstate__exec_state exec;
	fluxstate__fake_transport_fn fake;  /* tests: answers instead of libcurl */
	void *fake_userdata;
};

void
fluxstate__result_clear(struct fluxstate__result *r)
{
	if (!r)
		return;
	free(r->reason);
	free(r->message);
	free(r->resource_version);
	memset(r, 0, sizeof(*r));
}

unsigned int
fluxstate__client_n_requests(const struct fluxstate__client *client)
{
	return client ? client->n_requests : 0;
}

/* scheme://host[:port] of a proxy URL: what a message may show (no user, no password). */
static char *
proxy_display(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		out = fluxstate__asprintf("%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	} else {
		out = fluxstate__strdup("(an unparsable proxy URL)");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/* Go's ProxyFromEnvironment never proxies localhost or a loopback address. */
static int
is_loopback_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof(buf) + 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

/* $NO_PROXY names @host (as curl applies it: "*", the host, or a domain suffix; CIDRs not judged). */
static int
no_proxy_names(const char *host)
{
	const char *np = getenv("NO_PROXY"), *p;
	size_t hl = strlen(host);

	if (!np || !*np)
		np = getenv("no_proxy");
	for (p = np; p && *p;) {
		size_t n = strcspn(p, ","), m;
		const char *e = p;

		while (n && isspace((unsigned char)*e)) {
			e++;
			n--;
		}
		m = n;
		while (m && isspace((unsigned char)e[m - 1]))
			m--;
		if (m && e[0] == '.') {
			e++;
			m--;
		}
		if ((m == 1 && e[0] == '*') || memchr(e, '/', m) ||
		    (m && m <= hl && strncasecmp(host + hl - m, e, m) == 0 && (m == hl || host[hl - m - 1] == '.')))
			return 1;
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	return 0;
}

static int tls_blobs_forced; /* tests: the PEM blobs even where tls.c could serve */

void
fluxstate__client_force_tls_blobs(int on)
{
	tls_blobs_forced = on;
}

/* libcurl may dial an https proxy: it calls the SSL_CTX callback for that handshake too. */
static int
may_use_https_proxy(const struct fluxstate__client *c)
{
	static const char *const vars[] = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	size_t i;

	if (c->proxy)
		return strncasecmp(c->proxy, "https://", 8) == 0;
	for (i = 0; !c->no_env_proxy && i < sizeof(vars) / sizeof(vars[0]); i++)
		if (getenv(vars[i]) && strncasecmp(getenv(vars[i]), "https://", 8) == 0)
			return 1;
	return 0;
}

/*
 * Parse the CA and client certificate once for all connections (tls.c),
 * where libcurl's OpenSSL is ours and no https proxy could receive the
 * server's client certificate or trust; otherwise the blobs, per connection.
 */
static int
client_tls_new(struct fluxstate__client *c)
{
	CURL *probe;
	char *cainfo = NULL, *capath = NULL;
	int r = 0;

	if (tls_blobs_forced || !c->send_credentials || may_use_https_proxy(c) || !fluxstate__tls_backend_shared())
		return 0;
	probe = curl_easy_init();
	if (!probe)
		return FLUXSTATE_ENOMEM;
	if (curl_easy_setopt(probe, CURLOPT_SSL_CTX_FUNCTION, NULL) == CURLE_OK) {
#if LIBCURL_VERSION_NUM >= 0x075400
		/* the system roots libcurl loads when the kubeconfig names no CA (7.84+) */
		curl_easy_getinfo(probe, CURLINFO_CAINFO, &cainfo);
		curl_easy_getinfo(probe, CURLINFO_CAPATH, &capath);
#endif
		r = fluxstate__tls_new(c->conn, cainfo, capath, &c->tls);
	}
	curl_easy_cleanup(probe);
	return r;
}

static CURLcode
ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *userdata)
{
	(void)easy;
	return fluxstate__tls_install(userdata, ssl_ctx) < 0 ? CURLE_OUT_OF_MEMORY : CURLE_OK;
}

/* Split scheme://host[:port] into host (with IPv6 brackets) and port. */
static int
split_server(const char *server, char **host, long *port)
{
	const char *p = strstr(server, "://"), *h, *end, *colon;
	int https = fluxstate__has_prefix(server, "https://");

	h = p ? p + 3 : server;
	end = h + strcspn(h, "/?#");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb)
			return FLUXSTATE_ECONFIG;
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
	}
	*host = fluxstate__strndup(h, (size_t)((colon ? colon : end) - h));
	if (!*host)
		return FLUXSTATE_ENOMEM;
	/* "host:" has the scheme's port, like "host" (the loader checked the digits) */
	*port = colon && colon + 1 < end ? strtol(colon + 1, NULL, 10) : (https ? 443 : 80);
	return 0;
}

int
fluxstate__client_new(fluxstate_ctx *ctx, const struct fluxstate__conn *conn, struct fluxstate__client **ret)
{
	struct fluxstate__client *c;
	curl_version_info_data *vi;
	char *host = NULL;
	long port = 0;
	int r;

	if (!conn || !conn->server)
		return fluxstate__error(ctx, FLUXSTATE_EINVAL, "no connection to create a client for");
	vi = curl_version_info(CURLVERSION_NOW);
	if (!vi || !vi->ssl_version || strncmp(vi->ssl_version, "OpenSSL", 7) != 0)
		return fluxstate__error(ctx, FLUXSTATE_ERROR,
					"libcurl uses %s; libfluxstate needs the OpenSSL flavour for in-memory certificates",
					vi && vi->ssl_version ? vi->ssl_version : "no TLS backend");
	if (conn->insecure_skip_tls_verify && conn->ca_pem)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
					"specifying a root certificates file with the insecure flag is not allowed");
	if ((conn->token || conn->token_file) && conn->has_basic)
		return fluxstate__error(ctx, FLUXSTATE_ECONFIG,
					"username/password or bearer token may be set, but not both");
	c = calloc(1, sizeof(*c));
	if (!c)
		return FLUXSTATE_ENOMEM;
	c->ctx = ctx;
	c->conn = conn;
	c->send_credentials = fluxstate__has_prefix(conn->server, "https://");
	r = split_server(conn->server, &host, &port);
	if (r < 0) {
		free(c);
		return fluxstate__error(ctx, r == FLUXSTATE_ENOMEM ? r : FLUXSTATE_ECONFIG, "invalid server URL %s",
					conn->server);
	}
	if (conn->tls_server_name && *conn->tls_server_name && c->send_credentials) {
		/* the URL names the TLS name (SNI, verification); CONNECT_TO sends it to the server */
		char *ct = fluxstate__asprintf("%s:%ld:%s:%ld", conn->tls_server_name, port, host, port);

		c->base_url = fluxstate__asprintf("https://%s:%ld%s", conn->tls_server_name, port,
						  conn->path_prefix ? conn->path_prefix : "");
		c->host_header = (port == 443) ? fluxstate__asprintf("Host: %s", host)
					       : fluxstate__asprintf("Host: %s:%ld", host, port);
		if (ct)
			c->connect_to = curl_slist_append(NULL, ct);
		free(ct);
		if (!c->connect_to || !c->host_header)
			r = FLUXSTATE_ENOMEM;
	} else {
		c->base_url = fluxstate__asprintf("%s%s", conn->server, conn->path_prefix ? conn->path_prefix : "");
	}
	if (!(conn->proxy_url && *conn->proxy_url) && r == 0) {
		/* the environment's proxy, by Go's rules: never for loopback, HTTPS_PROXY before https_proxy */
		const char *env = c->send_credentials ? getenv("HTTPS_PROXY") : getenv("HTTP_PROXY");

		if (!env || !*env)
			env = c->send_credentials ? getenv("https_proxy") : getenv("http_proxy");
		c->no_env_proxy = is_loopback_host(host);
		if (env && *env && !c->no_env_proxy && !no_proxy_names(host) && !(c->proxy_shown = proxy_display(env)))
			r = FLUXSTATE_ENOMEM;
	}
	free(host);
	if (conn->proxy_url && *conn->proxy_url) {
		if (!(c->proxy_shown = proxy_display(conn->proxy_url)))
			r = FLUXSTATE_ENOMEM;
		c->proxy = fluxstate__has_prefix(conn->proxy_url, "socks5://")
				   ? fluxstate__asprintf("socks5h://%s", conn->proxy_url + 9)
				   : fluxstate__strdup(conn->proxy_url);
		if (!c->proxy)
			r = FLUXSTATE_ENOMEM;
		{
			size_t start, len;

			if (fluxstate__url_password_span(conn->proxy_url, &start, &len) &&
			    !(c->proxy_password = fluxstate__strndup(conn->proxy_url + start, len)))
				r = FLUXSTATE_ENOMEM;
		}
	}
	c->user_agent = fluxstate__asprintf("fluxstate/%s (linux/%s)", FLUXSTATE_VERSION, FLUXSTATE_ARCH);
	c->multi = curl_multi_init();
	/*
	 * Each easy handle has its own TLS session cache: against an HTTP/1.1
	 * server every parallel connection did a full handshake. Shared, they
	 * resume. One client runs in one thread at a time: no lock callbacks.
	 */
	c->share = curl_share_init();
	if (c->share && curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		curl_share_cleanup(c->share);
		c->share = NULL;
	}
	if (r == 0)
		r = client_tls_new(c);
	if (r < 0 || !c->base_url || !c->user_agent || !c->multi || !c->share) {
		fluxstate__client_free(c);
		return FLUXSTATE_ENOMEM;
	}
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);
	*ret = c;
	return 0;
}

static void
wipe_slist(struct curl_slist *l)
{
	struct curl_slist *i;

	for (i = l; i; i = i->next)
		fluxstate__wipe(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

/* Drop the request in flight (handle, headers, parser, body). */
static void
op_reset_request(struct op *op)
{
	if (op->easy) {
		curl_multi_remove_handle(op->client->multi, op->easy);
		curl_easy_cleanup(op->easy);
		op->easy = NULL;
	}
	wipe_slist(op->headers);
	op->headers = NULL;
	free(op->url);
	op->url = NULL;
	free(op->log_path);
	op->log_path = NULL;
	fluxstate__json_stream_free(op->stream);
	op->stream = NULL;
	op->stream_failed = 0;
	fluxstate__buf_clear(&op->body);
	free(op->retry_after);
	op->retry_after = NULL;
	free(op->location);
	op->location = NULL;
	free(op->content_type);
	op->content_type = NULL;
	op->status = 0;
	op->page_items = 0;
	op->exec_generation = 0;
}

static void
op_free(struct op *op)
{
	op_reset_request(op);
	free(op->cont);
	free(op);
}

void
fluxstate__client_free(struct fluxstate__client *client)
{
	struct op *op, *next;

	if (!client)
		return;
	for (op = client->ops; op; op = next) {
		next = op->next;
		op_free(op);
	}
	if (client->multi)
		curl_multi_cleanup(client->multi);
	if (client->share)
		curl_share_cleanup(client->share); /* after every easy handle that used it */
	fluxstate__tls_free(client->tls);
	curl_slist_free_all(client->connect_to);
	free(client->base_url);
	free(client->host_header);
	fluxstate__free_secret(client->proxy); /* may carry user:password */
	fluxstate__free_secret(client->proxy_password);
	free(client->proxy_shown);
	free(client->user_agent);
	fluxstate__exec_state_clear(&client->exec);
	free(client);
}

int
fluxstate__client_add(struct fluxstate__client *client, const struct fluxstate__query *q, fluxstate__item_fn item_fn,
		      void *userdata, struct fluxstate__result *ret)
{
	struct op *op, **tail;

	if (!client || !q || !ret || (!q->raw_path && (!q->resource || !q->version)))
		return FLUXSTATE_EINVAL;
	if (q->raw_path && q->raw_path[0] != '/')
		return FLUXSTATE_EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return FLUXSTATE_ENOMEM;
	memset(ret, 0, sizeof(*ret));
	op->client = client;
	op->q = *q;
	op->item_fn = item_fn;
	op->userdata = userdata;
	op->res = ret;
	for (tail = &client->ops; *tail; tail = &(*tail)->next)
		;
	*tail = op;
	return 0;
}

/* ------------------------------------------------------------------------
 * Building a request
 * ------------------------------------------------------------------------ */

static int
is_list(const struct op *op)
{
	return !op->q.raw_path && !op->q.name;
}

static int
append_escaped(struct fluxstate__buf *b, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	int r;

	if (!e)
		return FLUXSTATE_ENOMEM;
	r = fluxstate__buf_append(b, e, strlen(e));
	curl_free(e);
	return r;
}

/* The path and query of the next request (without the server prefix). */
static char *
build_path(const struct op *op)
{
	const struct fluxstate__query *q = &op->q;
	struct fluxstate__buf b = { 0 };
	char sep = '?';
	int r = 0;

	if (q->raw_path)
		return fluxstate__strdup(q->raw_path);
	if (!q->group || !*q->group)
		r = fluxstate__buf_appendf(&b, "/api/%s", q->version);
	else
		r = fluxstate__buf_appendf(&b, "/apis/%s/%s", q->group, q->version);
	if (!r && q->namespace && *q->namespace) {
		r = fluxstate__buf_appendf(&b, "/namespaces/");
		r = r ? r : append_escaped(&b, q->namespace);
	}
	r = r ? r : fluxstate__buf_appendf(&b, "/%s", q->resource);
	if (!r && q->name) {
		r = fluxstate__buf_appendf(&b, "/");
		r = r ? r : append_escaped(&b, q->name);
	}
#define ADD_PARAM(k, v)                                                             \
	do {                                                                        \
		if (!r) {                                                           \
			r = fluxstate__buf_appendf(&b, "%c%s=", sep, k);             \
			r = r ? r : append_escaped(&b, v);                          \
			sep = '&';                                                  \
		}                                                                   \
	} while (0)
	if (q->dry_run)
		ADD_PARAM("dryRun", "All");
	if (q->field_selector && *q->field_selector)
		ADD_PARAM("fieldSelector", q->field_selector);
	if (q->label_selector && *q->label_selector)
		ADD_PARAM("labelSelector", q->label_selector);
	if (op->watch) {
		ADD_PARAM("watch", "true");
		if (op->watch_rv && *op->watch_rv)
			ADD_PARAM("resourceVersion", op->watch_rv);
		ADD_PARAM("allowWatchBookmarks", "false");
	} else if (is_list(op)) {
		char limit[16];

		if (op->cont && *op->cont)
			ADD_PARAM("continue", op->cont);
		snprintf(limit, sizeof(limit), "%u", q->page_size ? q->page_size : DEFAULT_PAGE_SIZE);
		ADD_PARAM("limit", limit);
	}
#undef ADD_PARAM
	if (r) {
		fluxstate__buf_clear(&b);
		return NULL;
	}
	return fluxstate__buf_steal(&b);
}

static int
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Header key escaping for Impersonate-Extra-<key> (client-go headerKeyEscape). */
static int
append_header_key(struct fluxstate__buf *b, const char *key, size_t len)
{
	static const char ok[] = "!#$&'*+-.^_`|~";
	size_t i;
	int r = 0;

	for (i = 0; !r && i < len; i++) {
		unsigned char ch = (unsigned char)key[i];

		if (isalnum(ch) || (ch && strchr(ok, ch)))
			r = fluxstate__buf_append(b, &key[i], 1);
		else
			r = fluxstate__buf_appendf(b, "%%%02X", ch);
	}
	return r;
}

static int
add_header(struct curl_slist **l, const char *h)
{
	struct curl_slist *n;

	if (!h)
		return FLUXSTATE_ENOMEM;
	n = curl_slist_append(*l, h);
	if (!n)
		return FLUXSTATE_ENOMEM;
	*l = n;
	return 0;
}

/* Set a secret header and wipe the temporary copy. */
static int
add_secret_header(struct curl_slist **l, char *h)
{
	int r = add_header(l, h);

	fluxstate__free_secret(h);
	return r;
}

static int
op_fail(struct op *op, int code, const char *fmt, ...) FLUXSTATE_PRINTF(3, 4);

static int
op_fail(struct op *op, int code, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	op->res->code = code;
	free(op->res->message);
	op->res->message = fluxstate__strdup(msg);
	op->state = OP_DONE;
	if (op->watch)
		op->client->watch_fired = 1; /* a failed watch ends the wait */
	op_reset_request(op);
	return code;
}

/* Authorization and impersonation headers (only to https servers). */
static int
add_credentials(struct op *op, uint64_t deadline, const unsigned char **cert, size_t *cert_len,
		const unsigned char **key, size_t *key_len)
{
	struct fluxstate__client *c = op->client;
	const struct fluxstate__conn *conn = c->conn;
	int r = 0;

	*cert = conn->client_cert_pem;
	*cert_len = conn->client_cert_pem_len;
	*key = conn->client_key_pem;
	*key_len = conn->client_key_pem_len;

	if (conn->token_file) {
		char *data = NULL, *s, *e;
		size_t len = 0;
		int rr = fluxstate__read_file(conn->token_file, 1024 * 1024, &data, &len);

		if (rr == 0) {
			for (s = data; *s && isspace((unsigned char)*s); s++)
				;
			for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
				;
			*e = '\0';
			if (!*s || has_ctl(s)) {
				const char *why = *s ? "holds an invalid header value" : "is empty";

				fluxstate__free_secret_n(data, len);
				return op_fail(op, FLUXSTATE_EAUTH, "the token file %s %s", conn->token_file, why);
			}
			r = add_secret_header(&op->headers, fluxstate__asprintf("Authorization: Bearer %s", s));
			fluxstate__free_secret_n(data, len);
		} else if (conn->token) {
			goto token;
		} else {
			return op_fail(op, FLUXSTATE_EAUTH, "open %s: %s", conn->token_file, fluxstate__errno_text(-rr));
		}
	} else if (conn->token) {
token:
		if (has_ctl(conn->token))
			return op_fail(op, FLUXSTATE_EAUTH,
				       "net/http: invalid header field value for \"Authorization\"");
		r = add_secret_header(&op->headers, fluxstate__asprintf("Authorization: Bearer %s", conn->token));
	} else if (conn->has_basic) {
		char *up = fluxstate__asprintf("%s:%s", conn->username ? conn->username : "",
					       conn->password ? conn->password : "");
		char *b64 = up ? fluxstate__base64_encode(up, strlen(up)) : NULL;

		fluxstate__free_secret(up);
		if (!b64)
			return FLUXSTATE_ENOMEM;
		r = add_secret_header(&op->headers, fluxstate__asprintf("Authorization: Basic %s", b64));
		fluxstate__free_secret(b64);
	} else if (conn->oidc_id_token) {
		if (has_ctl(conn->oidc_id_token))
			return op_fail(op, FLUXSTATE_EAUTH,
				       "net/http: invalid header field value for \"Authorization\"");
		r = add_secret_header(&op->headers,
				      fluxstate__asprintf("Authorization: Bearer %s", conn->oidc_id_token));
	} else if (conn->exec && !conn->client_cert_pem) {
		char *msg = NULL;
		int rr = fluxstate__exec_credential_get(c->ctx, conn, &c->exec, deadline, &msg);

		if (rr < 0) {
			rr = op_fail(op, rr, "%s", msg ? msg : "getting credentials: failed");
			free(msg);
			return rr;
		}
		op->exec_generation = c->exec.generation;
		if (c->exec.token) {
			if (has_ctl(c->exec.token))
				return op_fail(op, FLUXSTATE_EAUTH,
					       "net/http: invalid header field value for \"Authorization\"");
			r = add_secret_header(&op->headers,
					      fluxstate__asprintf("Authorization: Bearer %s", c->exec.token));
		}
		if (c->exec.cert_pem) {
			*cert = c->exec.cert_pem;
			*cert_len = c->exec.cert_pem_len;
			*key = c->exec.key_pem;
			*key_len = c->exec.key_pem_len;
		}
	}
	return r;
}

/* Impersonation headers: built separately so every temporary is freed. */
static int
add_impersonation(struct op *op)
{
	const struct fluxstate__conn *conn = op->client->conn;
	char **p;
	int r = 0;

	if (!conn->impersonate_user)
		return 0;
#define HDR(...)                                                                     \
	do {                                                                         \
		char *h_ = fluxstate__asprintf(__VA_ARGS__);                         \
		if (!r) {                                                            \
			if (h_ && has_ctl(h_))                                       \
				r = FLUXSTATE_EINVAL;                                \
			else                                                         \
				r = add_header(&op->headers, h_);                    \
		}                                                                    \
		free(h_);                                                            \
	} while (0)
	HDR("Impersonate-User: %s", conn->impersonate_user);
	if (conn->impersonate_uid)
		HDR("Impersonate-Uid: %s", conn->impersonate_uid);
	for (p = conn->impersonate_groups; p && *p; p++)
		HDR("Impersonate-Group: %s", *p);
	for (p = conn->impersonate_extra; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		struct fluxstate__buf k = { 0 };

		if (!eq)
			continue;
		r = r ? r : append_header_key(&k, *p, (size_t)(eq - *p));
		if (!r)
			HDR("Impersonate-Extra-%s: %s", k.data ? k.data : "", eq + 1);
		fluxstate__buf_clear(&k);
	}
#undef HDR
	if (r == FLUXSTATE_EINVAL)
		return op_fail(op, FLUXSTATE_ECONFIG, "an impersonation value holds a control character");
	return r;
}

static size_t
header_cb(char *buf, size_t size, size_t n, void *userdata)
{
	struct op *op = userdata;
	size_t len = size * n, vlen;
	const char *v;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after 1xx or a reused handle): forget the last one's headers */
		const char *sp = memchr(buf, ' ', len);

		op->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		free(op->retry_after);
		op->retry_after = NULL;
		free(op->location);
		op->location = NULL;
		free(op->content_type);
		op->content_type = NULL;
		return len;
	}
	v = memchr(buf, ':', len);
	if (!v)
		return len;
	vlen = len - (size_t)(v + 1 - buf);
	v++;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (strncasecmp(buf, "Retry-After:", 12) == 0) {
		free(op->retry_after);
		op->retry_after = fluxstate__strndup(v, vlen);
	} else if (strncasecmp(buf, "Location:", 9) == 0) {
		free(op->location);
		op->location = fluxstate__strndup(v, vlen);
	} else if (strncasecmp(buf, "Content-Type:", 13) == 0) {
		free(op->content_type);
		op->content_type = fluxstate__strndup(v, vlen < 100 ? vlen : 100);
	}
	return len;
}

static int
item_cb(const struct fluxstate__json *item, void *userdata)
{
	struct op *op = userdata;

	if (op->watch) {
		const char *type = fluxstate__json_str(fluxstate__json_get(item, "type"));
		long long code = 0;

		if (fluxstate__streq(type, "ADDED") || fluxstate__streq(type, "MODIFIED") ||
		    fluxstate__streq(type, "DELETED")) {
			op->fired = 1;
			return 1; /* stop reading: one event is enough */
		}
		if (fluxstate__streq(type, "ERROR")) {
			const struct fluxstate__json *obj = fluxstate__json_get(item, "object");

			fluxstate__json_int(fluxstate__json_get(obj, "code"), &code);
			if (code == 410) {
				op->fired = 1; /* too old: the state may have changed */
				return 1;
			}
			free(op->res->message);
			op->res->message = fluxstate__asprintf(
				"watch error: %s", fluxstate__json_str(fluxstate__json_get(obj, "message"))
							   ? fluxstate__json_str(fluxstate__json_get(obj, "message"))
							   : "unknown");
			op->res->code = FLUXSTATE_ERROR;
			return 1;
		}
		return 0; /* BOOKMARK and the like */
	}
	op->page_items++;
	op->res->n_items++;
	return op->item_fn ? op->item_fn(item, op->userdata) : 0;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct op *op = userdata;
	size_t len = size * n;

	if (op->status >= 200 && op->status < 300) {
		if (!op->stream) {
			/* lists and watch streams hand out items; single documents are kept whole (small) */
			int multiple = op->watch;
			int r = fluxstate__json_stream_new(multiple, is_list(op) || op->watch ? item_cb : NULL, op,
							   &op->stream);

			if (r < 0)
				return 0;
		}
		if (fluxstate__json_stream_feed(op->stream, data, len) < 0) {
			op->stream_failed = 1;
			return 0; /* abort the transfer */
		}
		return len;
	}
	if (op->body.len < MAX_ERROR_BODY) {
		size_t take = len < MAX_ERROR_BODY - op->body.len ? len : MAX_ERROR_BODY - op->body.len;

		if (fluxstate__buf_append(&op->body, data, take) < 0)
			return 0;
	}
	return len;
}

/*
 * A 2xx body that does not parse: say what the server sent when it is not
 * JSON at all (an HTML page from something that is not an API server).
 */
static void
fail_bad_json(struct op *op, int code, const char *parse_error)
{
	const char *ct = op->content_type;

	if (ct && *ct && strncasecmp(ct, "application/json", 16) != 0 && !has_ctl(ct))
		op_fail(op, code, "the server answered %s, not JSON (is this a Kubernetes API server?): %s", ct,
			parse_error);
	else
		op_fail(op, code, "malformed JSON from the server: %s", parse_error);
}

/* Start the next request of @op. */
static int
op_start(struct op *op, uint64_t deadline)
{
	struct fluxstate__client *c = op->client;
	const struct fluxstate__conn *conn = c->conn;
	const unsigned char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	uint64_t now = fluxstate__now_ms(), left;
	const char *accept;
	char *path, *h;
	int r;

	op_reset_request(op);
	if (now >= deadline)
		return op_fail(op, FLUXSTATE_ETIMEDOUT, "the deadline passed before the request could be sent");
	left = deadline - now;
	path = build_path(op);
	if (!path)
		return FLUXSTATE_ENOMEM;
	op->log_path = path;
	op->url = fluxstate__asprintf("%s%s", c->base_url, path);
	if (!op->url)
		return FLUXSTATE_ENOMEM;

	/* a watch streams single objects: asked for as=PartialObjectMetadataList, a
	 * real kube-apiserver ends the watch at once with an empty 200 (client-go's
	 * metadata client watches with as=PartialObjectMetadata too) */
	if (op->q.metadata_only && !op->meta_fallback && !op->q.raw_path)
		accept = op->q.name || op->watch ? ACCEPT_META_ONE : ACCEPT_META_LIST;
	else
		accept = ACCEPT_JSON;
	h = fluxstate__asprintf("Accept: %s", accept);
	r = add_header(&op->headers, h);
	free(h);
	if (!r && c->host_header)
		r = add_header(&op->headers, c->host_header);
	if (!r && op->q.body) {
		h = fluxstate__asprintf("Content-Type: %s", op->q.content_type ? op->q.content_type : ACCEPT_JSON);
		r = h ? add_header(&op->headers, h) : FLUXSTATE_ENOMEM;
		free(h);
		/* no 100-continue round trip for a small body */
		r = r ? r : add_header(&op->headers, "Expect:");
	}
	if (r)
		return r;
	if (c->send_credentials) {
		r = add_credentials(op, deadline, &cert, &cert_len, &key, &key_len);
		if (r || op->state == OP_DONE)
			return op->state == OP_DONE ? 0 : r;
		r = add_impersonation(op);
		if (r || op->state == OP_DONE)
			return op->state == OP_DONE ? 0 : r;
	}

	if (c->fake) {
		op->t0 = now;
		op->state = OP_RUNNING; /* answered by fake_deliver(), no libcurl handle */
		c->n_requests++;
		op->res->n_requests++;
		return 0;
	}
	if (fluxstate__tls_error(c->tls))
		return op_fail(op, FLUXSTATE_ENETWORK, "%s", fluxstate__tls_error(c->tls));
	op->easy = curl_easy_init();
	if (!op->easy)
		return FLUXSTATE_ENOMEM;
	curl_easy_setopt(op->easy, CURLOPT_URL, op->url);
	curl_easy_setopt(op->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(op->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(op->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(op->easy, CURLOPT_PRIVATE, op);
	curl_easy_setopt(op->easy, CURLOPT_SHARE, c->share);
	curl_easy_setopt(op->easy, CURLOPT_ERRORBUFFER, op->errbuf);
	op->errbuf[0] = '\0';
	curl_easy_setopt(op->easy, CURLOPT_HTTPHEADER, op->headers);
	if (op->q.method)
		curl_easy_setopt(op->easy, CURLOPT_CUSTOMREQUEST, op->q.method);
	if (op->q.body) {
		curl_easy_setopt(op->easy, CURLOPT_POSTFIELDS, op->q.body);
		curl_easy_setopt(op->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(op->q.body));
	}
	curl_easy_setopt(op->easy, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(op->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(op->easy, CURLOPT_HEADERDATA, op);
	curl_easy_setopt(op->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(op->easy, CURLOPT_WRITEDATA, op);
	/* --request-timeout bounds each request (not a watch), inside the operation's deadline */
	curl_easy_setopt(op->easy, CURLOPT_TIMEOUT_MS,
			 (long)(c->ctx->request_timeout_ms && !op->watch && c->ctx->request_timeout_ms < left
					? c->ctx->request_timeout_ms
					: left));
	curl_easy_setopt(op->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(c->ctx->connect_timeout_ms && c->ctx->connect_timeout_ms < left
					? c->ctx->connect_timeout_ms
					: left));
	curl_easy_setopt(op->easy, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(op->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(op->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(op->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (!conn->disable_compression)
		curl_easy_setopt(op->easy, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (c->connect_to)
		curl_easy_setopt(op->easy, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->no_env_proxy && !c->proxy)
		curl_easy_setopt(op->easy, CURLOPT_PROXY, ""); /* ignore $HTTPS_PROXY/$HTTP_PROXY */
	if (c->proxy) {
		curl_easy_setopt(op->easy, CURLOPT_PROXY, c->proxy);
		/* proxy-url wins over $NO_PROXY, as Go's http.ProxyURL (libcurl would still read it) */
		curl_easy_setopt(op->easy, CURLOPT_NOPROXY, "");
	}
	if (c->tls && (curl_easy_setopt(op->easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb) != CURLE_OK ||
		       curl_easy_setopt(op->easy, CURLOPT_SSL_CTX_DATA, c->tls) != CURLE_OK))
		return op_fail(op, FLUXSTATE_ENETWORK, "libcurl cannot take a prepared TLS context");
	if (conn->insecure_skip_tls_verify) {
		curl_easy_setopt(op->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(op->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (fluxstate__tls_has_store(c->tls)) {
		/* the store parsed once (tls.c) replaces libcurl's CA options */
		curl_easy_setopt(op->easy, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(op->easy, CURLOPT_CAPATH, NULL);
	} else if (conn->ca_pem && conn->ca_pem_len) {
		struct curl_blob blob = { .data = conn->ca_pem, .len = conn->ca_pem_len, .flags = CURL_BLOB_COPY };

		/* only the configured CA: not Debian's CAPATH nor the default bundle */
		curl_easy_setopt(op->easy, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(op->easy, CURLOPT_CAPATH, NULL);
		if (curl_easy_setopt(op->easy, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK)
			return op_fail(op, FLUXSTATE_ENETWORK, "libcurl cannot use an in-memory CA certificate");
	}
	if (c->proxy && fluxstate__has_prefix(c->proxy, "https://")) {
		/*
		 * Go dials an https proxy with the transport's TLS config, so
		 * client-go verifies the proxy like the API server: the
		 * kubeconfig CA only (or nothing when insecure), not the system
		 * store curl would use.
		 */
		if (conn->insecure_skip_tls_verify) {
			curl_easy_setopt(op->easy, CURLOPT_PROXY_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(op->easy, CURLOPT_PROXY_SSL_VERIFYHOST, 0L);
		} else if (conn->ca_pem && conn->ca_pem_len) {
			struct curl_blob blob = { .data = conn->ca_pem, .len = conn->ca_pem_len, .flags = CURL_BLOB_COPY };

			curl_easy_setopt(op->easy, CURLOPT_PROXY_CAINFO, NULL);
			curl_easy_setopt(op->easy, CURLOPT_PROXY_CAPATH, NULL);
			if (curl_easy_setopt(op->easy, CURLOPT_PROXY_CAINFO_BLOB, &blob) != CURLE_OK)
				return op_fail(op, FLUXSTATE_ENETWORK, "libcurl cannot use an in-memory CA for the proxy");
		}
	}
	if (c->send_credentials && cert && key &&
	    !(cert == conn->client_cert_pem && fluxstate__tls_has_identity(c->tls))) {
		struct curl_blob cb = { .data = (void *)cert, .len = cert_len, .flags = CURL_BLOB_COPY };
		struct curl_blob kb = { .data = (void *)key, .len = key_len, .flags = CURL_BLOB_COPY };

		curl_easy_setopt(op->easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(op->easy, CURLOPT_SSLKEYTYPE, "PEM");
		/* libcurl 7.88 calls strlen(NULL) on an encrypted key blob without a passphrase */
		curl_easy_setopt(op->easy, CURLOPT_KEYPASSWD, "");
		if (curl_easy_setopt(op->easy, CURLOPT_SSLCERT_BLOB, &cb) != CURLE_OK ||
		    curl_easy_setopt(op->easy, CURLOPT_SSLKEY_BLOB, &kb) != CURLE_OK)
			return op_fail(op, FLUXSTATE_ENETWORK, "libcurl cannot use an in-memory client certificate");
	}
	if (curl_multi_add_handle(c->multi, op->easy) != CURLM_OK)
		return op_fail(op, FLUXSTATE_ENETWORK, "libcurl refused the request");
	op->state = OP_RUNNING;
	c->n_requests++;
	op->res->n_requests++;
	return 0;
}

/* ------------------------------------------------------------------------
 * Reading a response
 * ------------------------------------------------------------------------ */

/* Printable, one line, bounded: for messages built from a text body. */
static char *
clean_text(const char *s, size_t len)
{
	struct fluxstate__buf b = { 0 };
	size_t i;

	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	for (i = 0; i < len && b.len < 300; i++) {
		char ch = s[i];

		if ((unsigned char)ch < 0x20 || ch == 0x7f)
			ch = ' ';
		fluxstate__buf_append(&b, &ch, 1);
	}
	if (i < len)
		fluxstate__buf_append(&b, "...", 3);
	return fluxstate__buf_steal(&b);
}

int
fluxstate__client_decode_error(long http_status, const char *body, size_t len, char **ret_reason, char **ret_message)
{
	struct fluxstate__json *doc = NULL;
	const struct fluxstate__json *cause;
	const char *msg = NULL, *reason = NULL;
	char *r_reason = NULL, *r_message = NULL;
	int is_json = 0;

	*ret_reason = NULL;
	*ret_message = NULL;
	if (body && len && fluxstate__json_parse(body, len, &doc, NULL) == 0 &&
	    fluxstate__streq(fluxstate__json_str(fluxstate__json_get(doc, "kind")), "Status")) {
		is_json = 1;
		msg = fluxstate__json_str(fluxstate__json_get(doc, "message"));
		reason = fluxstate__json_str(fluxstate__json_get(doc, "reason"));
		if (reason && *reason)
			r_reason = clean_text(reason, strlen(reason));
		if (msg && *msg)
			r_message = clean_text(msg, strlen(msg));
		/* a 422 says little; its first cause says what (e.g. which patch test failed) */
		cause = fluxstate__json_path(doc, "details", "causes", NULL);
		cause = cause && cause->type == FLUXSTATE__JSON_ARRAY ? cause->first : NULL;
		msg = fluxstate__json_str(fluxstate__json_get(cause, "message"));
		if (r_message && msg && *msg) {
			char *c = clean_text(msg, strlen(msg)), *both = c ? fluxstate__asprintf("%s: %s", r_message, c) : NULL;

			free(c);
			if (both) {
				free(r_message);
				r_message = both;
			}
		}
	}
	fluxstate__json_free(doc);
	if (!r_reason) {
		const char *r = http_status == 401 ? "Unauthorized" : http_status == 403 ? "Forbidden"
				: http_status == 404 ? "NotFound" : http_status == 410 ? "Expired"
				: http_status == 429 ? "TooManyRequests" : http_status == 406 ? "NotAcceptable"
				: http_status >= 500 ? "InternalError" : NULL;
		r_reason = fluxstate__strdup(r);
	}
	if (!r_message) {
		char *text = body && len && !is_json ? clean_text(body, len) : NULL;

		if (http_status == 404 && (!text || strcmp(text, "404 page not found") == 0))
			r_message = fluxstate__strdup("the server could not find the requested resource");
		else if (text && *text)
			r_message = fluxstate__asprintf("the server responded %ld: %s", http_status, text);
		else
			r_message = fluxstate__asprintf("the server responded %ld%s%s", http_status,
							r_reason ? " " : "", r_reason ? r_reason : "");
		free(text);
	}
	if (!r_message) {
		free(r_reason);
		return FLUXSTATE_ENOMEM;
	}
	*ret_reason = r_reason;
	*ret_message = r_message;
	return 0;
}

/* Fill reason/message from the error body (Status JSON or text). */
static void
decode_error_body(struct op *op)
{
	free(op->res->reason);
	free(op->res->message);
	fluxstate__client_decode_error(op->status, op->body.data, op->body.len, &op->res->reason, &op->res->message);
}

static void
op_log(struct op *op, const char *outcome)
{
	fluxstate__log(op->client->ctx, "GET %s%s -> %s (%llu ms, %zu items)",
		       op->client->conn->path_prefix ? op->client->conn->path_prefix : "",
		       op->log_path ? op->log_path : "?", outcome,
		       (unsigned long long)(fluxstate__now_ms() - op->t0), op->page_items);
}

/* Replace every @secret in @text with xxxxx, in place (the result is never longer). */
static void
scrub_secret(char *text, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (!n)
		return;
	for (p = text; (p = strstr(p, secret)); ) {
		if (n >= 5) {
			memcpy(p, "xxxxx", 5);
			memmove(p + 5, p + n, strlen(p + n) + 1);
			p += 5;
		} else {
			memset(p, 'x', n); /* too short for "xxxxx" in place */
			p += n;
		}
	}
}

/* Integer Retry-After in seconds, or -1. */
static long
retry_after_seconds(const char *v)
{
	char *end;
	long s;

	if (!v || !*v)
		return -1;
	errno = 0;
	s = strtol(v, &end, 10);
	if (errno || *end || s < 0)
		return -1;
	return s;
}

/* The kind of a list page: <Kind>List when the caller named the kind (or a metadata-only list), else any *List. */
static int
list_kind_ok(const struct op *op, const char *kind)
{
	size_t n;

	if (!fluxstate__has_suffix(kind, "List"))
		return 0;
	if (!op->q.list_kind || (op->q.metadata_only && strcmp(kind, "PartialObjectMetadataList") == 0))
		return 1;
	n = strlen(op->q.list_kind);
	return strncmp(kind, op->q.list_kind, n) == 0 && strcmp(kind + n, "List") == 0;
}

/* Why a 2xx list page is not a Kubernetes list (every apiserver page is one), or NULL. */
static const char *
not_a_list(const struct op *op, const struct fluxstate__json *top, const char *kind)
{
	if (!top || top->type != FLUXSTATE__JSON_OBJECT)
		return "not a JSON object";
	if (kind && !list_kind_ok(op, kind))
		return "another kind";
	if (!kind && op->q.list_kind)
		return "no kind";
	if (!fluxstate__json_str(fluxstate__json_path(top, "metadata", "resourceVersion", NULL)))
		return "no metadata.resourceVersion";
	return NULL;
}

static void
finish_ok(struct op *op, struct fluxstate__json *top)
{
	const char *kind = fluxstate__json_str(fluxstate__json_get(top, "kind"));
	const char *cont, *rv, *why;

	if (op->watch) {
		/* the server closed the watch: watch again from the same version (not in a hot loop) */
		op->state = OP_PENDING;
		op->not_before = fluxstate__now_ms() + 200;
		return;
	}
	if (!is_list(op)) {
		int rc;

		if (!top) {
			op_fail(op, FLUXSTATE_EPROTOCOL, "empty response");
			return;
		}
		op->res->n_items++;
		op->page_items++;
		rc = op->item_fn ? op->item_fn(top, op->userdata) : 0;
		if (rc) {
			op_fail(op, rc < 0 ? rc : FLUXSTATE_ERROR, "stopped by the item callback");
			return;
		}
		op->state = OP_DONE;
		return;
	}
	/*
	 * Every page is checked like the first: a continuation page that is not
	 * a list ({} or an HTML page from a proxy, another kind) would otherwise
	 * end the list early, and what it hid would read as absent.
	 */
	why = not_a_list(op, top, kind);
	if (why) {
		op_fail(op, FLUXSTATE_EPROTOCOL, "%s is not a Kubernetes list (%s%s%s)",
			op->cont ? "a continuation page (continue=)" : "the answer", why,
			strcmp(why, "another kind") == 0 ? ": " : "", strcmp(why, "another kind") == 0 ? kind : "");
		return;
	}
	cont = fluxstate__json_str(fluxstate__json_path(top, "metadata", "continue", NULL));
	/*
	 * A continuation page that ends the list with nothing, after the page
	 * before said more items would follow: kube-apiserver v1.34 was seen to
	 * answer a continue token it no longer holds a snapshot for this way.
	 * (remainingItemCount is an estimate, but "N more" then "none at all"
	 * is not a list that can be trusted.)
	 */
	if (op->cont && op->page_items == 0 && !(cont && *cont) && op->promised_more > 0) {
		op_fail(op, FLUXSTATE_EPROTOCOL, "a continuation page (continue=) ended the list with no items, "
			"though the page before said %lld more would follow", op->promised_more);
		return;
	}
	if (fluxstate__json_int(fluxstate__json_path(top, "metadata", "remainingItemCount", NULL),
				&op->promised_more) < 0)
		op->promised_more = 0;
	rv = fluxstate__json_str(fluxstate__json_path(top, "metadata", "resourceVersion", NULL));
	if (rv && !op->res->resource_version)
		op->res->resource_version = fluxstate__strdup(rv);
	if (cont && *cont && fluxstate__streq(cont, op->cont)) {
		/* the same page again and again until the deadline: say what is wrong instead */
		op_fail(op, FLUXSTATE_EPROTOCOL, "the server answered continue=%.64s with the same continue token",
			op->cont);
		return;
	}
	free(op->cont);
	op->cont = cont && *cont ? fluxstate__strdup(cont) : NULL;
	if (op->cont) {
		op->state = OP_PENDING; /* next page */
		op->not_before = 0;
		return;
	}
	op->state = OP_DONE;
}

/* Record how far the request in flight got (what a failure message can claim). */
static void
note_reached(struct op *op)
{
	curl_off_t tls = 0;
	char *ip = NULL;
	int tcp, r;

	if (!op->easy)
		return;
	/* libcurl 7.88 sets the peer address once TCP connects, the connect time only after TLS */
	curl_easy_getinfo(op->easy, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(op->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
	tcp = ip && *ip;
	r = op->status || tls > 0 || (tcp && !op->client->send_credentials) ? 2 : tcp ? 1 : 0;
	if (r > op->res->reached)
		op->res->reached = r;
}

/*
 * A watch that broke (connection dropped or reset, stream cut mid-event,
 * a 5xx/429): watch again from the same version after a backoff, as
 * client-go's reflector does (0.8 s doubling to 30 s), until the deadline
 * ends the wait. The failure is kept as the reason if nothing changes.
 */
static void
op_rewatch(struct op *op, uint64_t deadline, const char *why)
{
	uint64_t now = fluxstate__now_ms();
	char *reason = fluxstate__strdup(why); /* @why may be the message it replaces */

	op_log(op, "watch broken, re-establishing");
	free(op->res->message);
	op->res->message = reason;
	op->watch_backoff_ms = op->watch_backoff_ms ? op->watch_backoff_ms * 2 : 800;
	if (op->watch_backoff_ms > 30000)
		op->watch_backoff_ms = 30000;
	op->state = OP_PENDING;
	op->not_before = now + op->watch_backoff_ms < deadline ? now + op->watch_backoff_ms : deadline;
	op_reset_request(op);
}

/* A transfer finished: decide what comes next for @op. */
static void
op_done(struct op *op, CURLcode cc, uint64_t deadline)
{
	struct fluxstate__client *c = op->client;
	char outcome[64];
	long status = 0;
	long ra;

	if (op->easy)
		curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status)
		op->status = status;
	op->res->http_status = op->status;
	note_reached(op);

	if (op->watch && op->fired) {
		op_log(op, "event");
		op->state = OP_DONE;
		c->watch_fired = 1;
		op_reset_request(op);
		return;
	}
	if (op->stream_failed || (cc == CURLE_WRITE_ERROR && op->stream)) {
		const char *e = op->stream ? fluxstate__json_stream_error(op->stream) : "out of memory";

		op_log(op, "bad JSON");
		if (op->res->code && op->watch) { /* a watch ERROR event */
			char *m = op->res->message;

			op->res->message = NULL;
			op_fail(op, op->res->code, "%s", m ? m : "watch error");
			free(m);
			return;
		}
		if (op->watch && strcmp(e, "stopped by the item callback") != 0 && strcmp(e, "out of memory") != 0) {
			char *why = fluxstate__asprintf("the watch stream broke: %s", e);

			op_rewatch(op, deadline, why ? why : "the watch stream broke");
			free(why);
			return;
		}
		if (strcmp(e, "stopped by the item callback") == 0)
			op_fail(op, FLUXSTATE_ERROR, "stopped by the item callback");
		else if (strcmp(e, "out of memory") == 0)
			op_fail(op, FLUXSTATE_ENOMEM, "out of memory");
		else
			fail_bad_json(op, FLUXSTATE_EPROTOCOL, e);
		return;
	}
	if (cc != CURLE_OK) {
		scrub_secret(op->errbuf, c->proxy_password);
		snprintf(outcome, sizeof(outcome), "curl error %d", (int)cc);
		op_log(op, outcome);
		if (op->watch && !(cc == CURLE_OPERATION_TIMEDOUT && fluxstate__now_ms() + 5 >= deadline)) {
			char *why = fluxstate__asprintf("the watch connection broke: %s",
							op->errbuf[0] ? op->errbuf : curl_easy_strerror(cc));

			op_rewatch(op, deadline, why ? why : "the watch connection broke");
			free(why);
			return;
		}
		op->res->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
		if (cc == CURLE_OPERATION_TIMEDOUT && fluxstate__now_ms() + 5 >= deadline)
			op_fail(op, FLUXSTATE_ETIMEDOUT, "the deadline passed after %llu ms waiting for %s",
				(unsigned long long)(fluxstate__now_ms() - op->t0), op->log_path);
		else if (cc == CURLE_OPERATION_TIMEDOUT && c->ctx->request_timeout_ms && !op->watch &&
			 fluxstate__now_ms() - op->t0 + 5 >= c->ctx->request_timeout_ms)
			op_fail(op, FLUXSTATE_ENETWORK, "the request timeout (%u ms) passed waiting for %s",
				c->ctx->request_timeout_ms, op->log_path);
		else if (cc == CURLE_OPERATION_TIMEDOUT && !op->status)
			op_fail(op, FLUXSTATE_ENETWORK, "timed out connecting to the server (connect timeout %u ms): %s",
				c->ctx->connect_timeout_ms, op->errbuf[0] ? op->errbuf : curl_easy_strerror(cc));
		else if (cc == CURLE_PARTIAL_FILE)
			op_fail(op, FLUXSTATE_EPROTOCOL, "truncated response from the server: %s",
				op->errbuf[0] ? op->errbuf : curl_easy_strerror(cc));
		else if (c->proxy_shown && !op->status)
			op_fail(op, FLUXSTATE_ENETWORK, "through the proxy %s: %s", c->proxy_shown,
				op->errbuf[0] ? op->errbuf : curl_easy_strerror(cc));
		else
			op_fail(op, FLUXSTATE_ENETWORK, "%s", op->errbuf[0] ? op->errbuf : curl_easy_strerror(cc));
		return;
	}

	if (op->status >= 200 && op->status < 300) {
		struct fluxstate__json *top = NULL;
		int r;

		if (!op->stream) {
			r = fluxstate__json_stream_new(op->watch, is_list(op) || op->watch ? item_cb : NULL, op,
						       &op->stream);
			if (r < 0) {
				op_fail(op, r, "out of memory");
				return;
			}
		}
		r = fluxstate__json_stream_finish(op->stream, &top);
		if (r < 0 && op->watch && r != FLUXSTATE_ENOMEM) {
			/* the server ended the stream in the middle of an event */
			char *why = fluxstate__asprintf("the watch stream ended mid-event: %s",
							fluxstate__json_stream_error(op->stream));

			op_rewatch(op, deadline, why ? why : "the watch stream ended mid-event");
			free(why);
			return;
		}
		if (r < 0) {
			op_log(op, "bad JSON");
			fail_bad_json(op, r == FLUXSTATE_ENOMEM ? r : FLUXSTATE_EPROTOCOL,
				      fluxstate__json_stream_error(op->stream));
			return;
		}
		snprintf(outcome, sizeof(outcome), "%ld", op->status);
		op_log(op, outcome);
		finish_ok(op, top);
		fluxstate__json_free(top);
		op_reset_request(op);
		return;
	}

	decode_error_body(op);
	snprintf(outcome, sizeof(outcome), "%ld", op->status);
	op_log(op, outcome);

	if (op->status >= 300 && op->status < 400) {
		char *host = NULL;
		CURLU *u = curl_url();

		if (u && op->location && curl_url_set(u, CURLUPART_URL, op->location, 0) == CURLUE_OK)
			curl_url_get(u, CURLUPART_HOST, &host, 0);
		curl_url_cleanup(u);
		op_fail(op, FLUXSTATE_ERROR, "the server redirected (%ld) to %s; redirects are not followed",
			op->status, host ? host : op->location ? "a relative location" : "nowhere");
		curl_free(host);
		return;
	}
	switch (op->status) {
	case 401:
		if (op->exec_generation)
			fluxstate__exec_credential_refresh(c->ctx, c->conn, &c->exec, op->exec_generation, deadline);
		op_fail(op, FLUXSTATE_EAUTH, "%s", op->res->message);
		return;
	case 403:
		op_fail(op, FLUXSTATE_EAUTH, "%s", op->res->message);
		return;
	case 404:
		if (op->watch) {
			op_fail(op, FLUXSTATE_ERROR, "%s", op->res->message);
			return;
		}
		op->res->not_found = 1;
		op->res->code = 0;
		op->state = OP_DONE;
		op_reset_request(op);
		return;
	case 409:
	case 422:
		if (op->q.method) {
			/* a precondition or a patch's test op failed: the object is not what the caller saw */
			op->res->conflict = 1;
			op_fail(op, FLUXSTATE_ECONFLICT, "%s", op->res->message ? op->res->message : "conflict");
			return;
		}
		break;
	case 406:
		if (op->q.metadata_only && !op->meta_fallback) {
			op->meta_fallback = 1;
			op->state = OP_PENDING;
			op->not_before = 0;
			op_reset_request(op);
			return;
		}
		break;
	case 410:
		if (op->watch) {
			op->fired = 1;
			c->watch_fired = 1;
			op->state = OP_DONE;
			op_reset_request(op);
			return;
		}
		if (is_list(op) && op->cont && !op->res->restarted) {
			/* never mix pages from two snapshots: start over, once */
			free(op->cont);
			op->cont = NULL;
			op->res->restarted = 1;
			op->promised_more = 0;
			free(op->res->resource_version);
			op->res->resource_version = NULL;
			op->res->n_items = 0;
			op->state = OP_PENDING;
			op->not_before = 0;
			op_reset_request(op);
			return;
		}
		break;
	default:
		break;
	}
	if (op->watch && (op->status == 429 || op->status >= 500)) {
		op_rewatch(op, deadline, op->res->message ? op->res->message : "the watch request failed");
		return;
	}
	if (op->status == 429 || op->status >= 500) {
		ra = retry_after_seconds(op->retry_after);
		if (ra >= 0 && op->retries < MAX_RETRIES) {
			uint64_t wait = ra ? (uint64_t)ra * 1000 : 100; /* 0: a short pause, not a busy loop */

			if (fluxstate__now_ms() + wait < deadline) {
				op->retries++;
				op->state = OP_PENDING;
				op->not_before = fluxstate__now_ms() + wait;
				op_reset_request(op);
				return;
			}
		}
	}
	op_fail(op, FLUXSTATE_ERROR, "%s", op->res->message ? op->res->message : "request failed");
}

void
fluxstate__client_set_fake_transport(struct fluxstate__client *client, fluxstate__fake_transport_fn fn,
				     void *userdata)
{
	client->fake = fn;
	client->fake_userdata = userdata;
}

/* Answer a running @op from the fake transport, through the callbacks libcurl would call. */
static void
fake_deliver(struct op *op, uint64_t deadline)
{
	struct fluxstate__client *c = op->client;
	struct fluxstate__fake_response r = { 0 };
	CURLcode cc = CURLE_OK;
	char line[64];
	const char *h, *body;
	size_t off;

	if (c->fake(c->fake_userdata, op->log_path ? op->log_path : "", &r) < 0) {
		op_fail(op, FLUXSTATE_ENETWORK, "the fake transport has no more answers");
		return;
	}
	if (!r.status) {
		snprintf(op->errbuf, sizeof(op->errbuf), "Recv failure: Connection reset by peer (fake)");
		op_done(op, CURLE_RECV_ERROR, deadline);
		return;
	}
	snprintf(line, sizeof(line), "HTTP/1.1 %ld Fake\r\n", r.status);
	header_cb(line, 1, strlen(line), op);
	for (h = r.headers; h && *h;) {
		size_t n = strcspn(h, "\n");

		n += h[n] == '\n';
		header_cb((char *)h, 1, n, op);
		h += n;
	}
	body = r.body;
	for (off = 0; off < r.body_len && cc == CURLE_OK;) {
		size_t n = r.chunk && r.chunk < r.body_len - off ? r.chunk : r.body_len - off;

		if (write_cb((char *)body + off, 1, n, op) != n)
			cc = CURLE_WRITE_ERROR;
		off += n;
	}
	if (cc == CURLE_OK && r.truncated) {
		snprintf(op->errbuf, sizeof(op->errbuf), "transfer closed with outstanding read data remaining (fake)");
		cc = CURLE_PARTIAL_FILE;
	}
	op_done(op, cc, deadline);
}

/* Drive every op until all are done, a watch fired, or the deadline passed. */
static int
run_ops(struct fluxstate__client *c, uint64_t deadline)
{
	CURLMcode mc;
	int running, rc = 0;

	for (;;) {
		uint64_t now = fluxstate__now_ms(), wake = deadline;
		int active = 0;
		struct op *op;
		CURLMsg *msg;
		int left;

		for (op = c->ops; op && !c->watch_fired; op = op->next) {
			if (op->state == OP_PENDING) {
				if (op->not_before > now && !c->fake) {
					if (op->not_before < wake)
						wake = op->not_before;
					active = 1;
					continue;
				}
				rc = op_start(op, deadline);
				if (rc < 0 && op->state != OP_DONE)
					return rc; /* out of memory */
				rc = 0;
			}
			if (op->state != OP_DONE)
				active = 1;
		}
		if (!active || c->watch_fired)
			break;
		if (fluxstate__ctx_canceled(c->ctx))
			return fluxstate__error(c->ctx, FLUXSTATE_ECANCELED, "canceled");
		if (now >= deadline)
			break;
		if (c->fake) {
			for (op = c->ops; op && !c->watch_fired; op = op->next)
				if (op->state == OP_RUNNING)
					fake_deliver(op, deadline);
			continue;
		}
		mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK)
			return FLUXSTATE_ERROR;
		{
			int changed = 0;

			while ((msg = curl_multi_info_read(c->multi, &left))) {
				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&op);
				op_done(op, msg->data.result, deadline);
				changed = 1;
			}
			if (changed)
				continue; /* start next pages and recompute the wake-up time first */
		}
		now = fluxstate__now_ms();
		if (now >= deadline)
			continue; /* let the loop fail what is left */
		{
			uint64_t t = (wake > now ? wake - now : 0);
			int has_pending = 0;

			for (op = c->ops; op; op = op->next)
				if (op->state == OP_PENDING && op->not_before <= now)
					has_pending = 1;
			if (has_pending)
				continue;
			{
				/* fluxstate_ctx_cancel() wakes this wait */
				struct curl_waitfd cancel = { .fd = fluxstate__ctx_cancel_fd(c->ctx), .events = CURL_WAIT_POLLIN };

				mc = curl_multi_poll(c->multi, &cancel, 1, (int)(t > 1000 ? 1000 : t), NULL);
				if (mc != CURLM_OK)
					return FLUXSTATE_ERROR;
				if (cancel.revents)
					fluxstate__ctx_cancel_woke(c->ctx);
			}
		}
	}
	/* also when the cancel ended every request (an exec plugin stopped) */
	if (fluxstate__ctx_canceled(c->ctx))
		return fluxstate__error(c->ctx, FLUXSTATE_ECANCELED, "canceled");
	return 0;
}

/* Fail what is still open at the deadline; free all ops. */
static void
finish_ops(struct fluxstate__client *c, uint64_t t_start)
{
	struct op *op, *next;

	for (op = c->ops; op; op = next) {
		next = op->next;
		if (op->state != OP_DONE && !op->watch) {
			note_reached(op);
			op->res->timed_out = 1;
			if (op->state == OP_RUNNING && op->log_path)
				op_fail(op, FLUXSTATE_ETIMEDOUT, "the deadline passed after %llu ms while reading %s%s",
					(unsigned long long)(fluxstate__now_ms() - t_start),
					op->client->conn->path_prefix ? op->client->conn->path_prefix : "", op->log_path);
			else
				op_fail(op, FLUXSTATE_ETIMEDOUT, "the deadline passed after %llu ms",
					(unsigned long long)(fluxstate__now_ms() - t_start));
		}
		op_free(op);
	}
	c->ops = NULL;
}

int
fluxstate__client_run(struct fluxstate__client *client, uint64_t deadline_ms)
{
	uint64_t t0 = fluxstate__now_ms();
	int rc;

	if (!client)
		return FLUXSTATE_EINVAL;
	client->watch_fired = 0;
	rc = run_ops(client, deadline_ms);
	finish_ops(client, t0);
	return rc;
}

int
fluxstate__client_watch(struct fluxstate__client *client, const struct fluxstate__query *queries,
			const char *const *resource_versions, size_t n, uint64_t deadline_ms)
{
	struct fluxstate__result *results;
	struct op *op, *next;
	size_t i;
	int rc;

	if (!client || (!queries && n))
		return FLUXSTATE_EINVAL;
	if (client->ops)
		return fluxstate__error(client->ctx, FLUXSTATE_EINVAL, "queries are queued; run them before watching");
	if (n == 0)
		return fluxstate__error(client->ctx, FLUXSTATE_EINVAL, "nothing to watch");
	results = calloc(n, sizeof(*results));
	if (!results)
		return FLUXSTATE_ENOMEM;
	for (i = 0; i < n; i++) {
		rc = fluxstate__client_add(client, &queries[i], NULL, NULL, &results[i]);
		if (rc < 0)
			goto out;
	}
	for (op = client->ops, i = 0; op; op = op->next, i++) {
		op->watch = 1;
		op->watch_rv = resource_versions ? resource_versions[i] : NULL;
	}
	client->watch_fired = 0;
	rc = run_ops(client, deadline_ms);
	for (op = client->ops; rc == 0 && op; op = op->next)
		if (op->fired)
			goto done;
	if (rc == 0) {
		/* a watch that failed for good ends the wait with its error */
		rc = FLUXSTATE_ETIMEDOUT;
		for (op = client->ops; op; op = op->next)
			if (op->state == OP_DONE && op->res->code < 0) {
				rc = fluxstate__error(client->ctx, op->res->code, "watching %s: %s",
						      op->q.resource ? op->q.resource : "?",
						      op->res->message ? op->res->message : fluxstate_strerror(op->res->code));
				break;
			}
		for (op = client->ops; rc == FLUXSTATE_ETIMEDOUT && op; op = op->next)
			if (op->res->message && op->watch_backoff_ms) {
				/* a watch kept breaking: say so, it may be why nothing was seen */
				rc = fluxstate__error(client->ctx, rc, "no change before the deadline (watching %s: %s)",
						      op->q.resource ? op->q.resource : "?", op->res->message);
				break;
			}
		if (rc == FLUXSTATE_ETIMEDOUT && !op)
			fluxstate__error(client->ctx, rc, "no change before the deadline");
	}
done:
	for (op = client->ops; op; op = next) {
		next = op->next;
		op_free(op);
	}
	client->ops = NULL;
out:
	for (i = 0; i < n; i++)
		fluxstate__result_clear(&results[i]);
	free(results);
	if (rc < 0 && client->ops) {
		for (op = client->ops; op; op = next) {
			next = op->next;
			op_free(op);
		}
		client->ops = NULL;
	}
	return rc;
}
