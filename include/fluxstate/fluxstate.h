/*
 * libfluxstate - what state is Flux (fluxcd.io) in on this Kubernetes cluster?
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_H
#define FLUXSTATE_H

#include <stddef.h>
#include <fluxstate/fluxstate-version.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @mainpage libfluxstate
 *
 * libfluxstate turns a kubeconfig into a classified Flux install state
 * (none, residual, partial, healthy, or unknown when it could not see
 * enough) plus the findings that explain it.
 *
 * Typical use:
 * @code
 * fluxstate_ctx *ctx;
 * fluxstate_report *report;
 *
 * if (fluxstate_ctx_new(&ctx) < 0)
 *         return -1;
 * if (fluxstate_ctx_load_kubeconfig(ctx, NULL, NULL) < 0 ||
 *     fluxstate_ctx_probe(ctx, &report) < 0) {
 *         fprintf(stderr, "%s\n", fluxstate_ctx_get_error(ctx));
 *         fluxstate_ctx_free(ctx);
 *         return -1;
 * }
 * printf("%s\n", fluxstate_state_to_string(fluxstate_report_get_state(report)));
 * fluxstate_report_free(report);
 * fluxstate_ctx_free(ctx);
 * @endcode
 *
 * Threading: a fluxstate_ctx and everything obtained from it may be used by
 * one thread at a time; different contexts are independent and may be used
 * from different threads at once. The library has no mutable global state
 * except libcurl's global initialisation, which runs once (pthread_once)
 * inside the first fluxstate_ctx_new(). On libcurl builds without the
 * "threadsafe" feature the first context must not be created while other
 * threads use libcurl.
 *
 * Strings: all strings are UTF-8 and NUL-terminated. Strings returned as
 * `const char *` are borrowed from their owner; strings returned through a
 * `char **ret_*` argument belong to the caller and are released with
 * fluxstate_free().
 *
 * Secrets: tokens, passwords and keys never appear in error messages, log
 * messages or any string this library returns.
 */

/**
 * @defgroup types Handles
 * @{
 */

/** A cluster connection and its options. */
typedef struct fluxstate_ctx fluxstate_ctx;
/** The result of one probe. */
typedef struct fluxstate_report fluxstate_report;
/** One finding; borrowed from its report. */
typedef struct fluxstate_finding fluxstate_finding;
/** One Flux controller Deployment; borrowed from its report. */
typedef struct fluxstate_component fluxstate_component;
/** The steps that make a residual cluster `none` again (@since 0.2). */
typedef struct fluxstate_cleanup_plan fluxstate_cleanup_plan;
/** One step of a cleanup plan; borrowed from its plan (@since 0.2). */
typedef struct fluxstate_cleanup_step fluxstate_cleanup_step;

/** @} */

/**
 * @defgroup errors Errors
 * Functions that can fail return an int: 0 (or a count) on success and one of
 * these negative codes on failure. Codes are never renumbered, only appended.
 * @{
 */
/** Error codes: 0 is success, each failure a distinct negative value. */
enum fluxstate_error {
	FLUXSTATE_OK = 0,
	FLUXSTATE_ERROR = -1,     /**< anything else; read fluxstate_ctx_get_error() */
	FLUXSTATE_ENOMEM = -2,    /**< out of memory */
	FLUXSTATE_EINVAL = -3,    /**< caller bug: bad argument */
	FLUXSTATE_ECONFIG = -4,   /**< kubeconfig missing, unreadable or malformed */
	FLUXSTATE_ENETWORK = -5,  /**< transport or TLS failure (libcurl) */
	FLUXSTATE_EAUTH = -6,     /**< 401 from the API server, or credentials unobtainable; a 403 on
				       a detection's read is not this error but a blind spot (an
				       access/not-visible finding, state unknown when it matters);
				       a cleanup write refused by RBAC (403) is */
	FLUXSTATE_EPROTOCOL = -7, /**< malformed reply from the API server */
	FLUXSTATE_ETIMEDOUT = -8, /**< the operation's deadline passed */
	FLUXSTATE_ECANCELED = -9, /**< fluxstate_ctx_cancel() stopped the operation (@since 0.2) */
	FLUXSTATE_ECONFLICT = -10, /**< an object changed between a cleanup plan and its apply (@since 0.2) */
	FLUXSTATE_EREFUSED = -11  /**< the library refuses the operation in this state (@since 0.2) */
};

/**
 * A short static description of an error code.
 *
 * @param code A FLUXSTATE_E* code (or any int).
 * @return A static string, never NULL ("unknown error" for unknown codes).
 * @since 0.1
 */
const char *fluxstate_strerror(int code);

/** @} */

/**
 * @defgroup state Install states
 * @{
 */
/** The install states a probe reports (fluxstate_report_get_state()). */
enum fluxstate_install_state {
	FLUXSTATE_INSTALL_UNKNOWN = 0,  /**< could not see enough to decide */
	FLUXSTATE_INSTALL_NONE = 1,     /**< no trace of Flux: bootstrap freely */
	FLUXSTATE_INSTALL_RESIDUAL = 2, /**< no controller runs, but leftovers exist: clean up first */
	FLUXSTATE_INSTALL_PARTIAL = 3,  /**< controllers exist but the install is broken: repair */
	FLUXSTATE_INSTALL_HEALTHY = 4   /**< every present controller is available: leave alone */
};

/**
 * The lower-case name of an install state ("unknown", "none", "residual",
 * "partial", "healthy").
 *
 * @param state A FLUXSTATE_INSTALL_* value.
 * @return A static string; "unknown" for values out of range. Never NULL.
 * @since 0.1
 */
const char *fluxstate_state_to_string(int state);

/**
 * Parse a state name as printed by fluxstate_state_to_string().
 *
 * @param name A state name (ASCII case-insensitive).
 * @return The FLUXSTATE_INSTALL_* value, or FLUXSTATE_EINVAL if @p name is
 *         NULL or not a state name.
 * @since 0.1
 */
int fluxstate_state_from_string(const char *name);

/** @} */

/**
 * @defgroup version Library version
 * @{
 */

/**
 * The runtime library version as FLUXSTATE_VERSION_HEX would encode it:
 * (major << 16) | (minor << 8) | micro. Never fails.
 * @since 0.1
 */
unsigned int fluxstate_version(void);

/**
 * The runtime library version as a static string, e.g. "0.1.0". Never NULL.
 * @since 0.1
 */
const char *fluxstate_version_string(void);

/** @} */

/**
 * @defgroup ctx Context
 * Construct with fluxstate_ctx_new(), configure with the setters, load a
 * kubeconfig with fluxstate_ctx_load_kubeconfig(), then probe.
 * @{
 */

/**
 * Allocate a new context with default options.
 *
 * @param[out] ret On success, a new context owned by the caller; release it
 *             with fluxstate_ctx_free(). Left untouched on failure.
 * @return 0, or a negative error code.
 * @retval FLUXSTATE_EINVAL @p ret is NULL.
 * @retval FLUXSTATE_ENOMEM Out of memory, or libcurl failed to initialise.
 * @since 0.1
 */
int fluxstate_ctx_new(fluxstate_ctx **ret);

/**
 * Release a context and everything it owns. Reports obtained from it stay
 * valid. NULL is a no-op.
 * @since 0.1
 */
void fluxstate_ctx_free(fluxstate_ctx *ctx);

/**
 * The message describing the last failure on @p ctx.
 *
 * @return A string owned by @p ctx, valid until the next call on @p ctx;
 *         "" if nothing has failed yet; a static string if @p ctx is NULL.
 * @since 0.1
 */
const char *fluxstate_ctx_get_error(const fluxstate_ctx *ctx);

/**
 * Override the kubeconfig context (kubectl --context). Must be called before
 * fluxstate_ctx_load_kubeconfig(); a context argument given to that call wins.
 *
 * @param ctx The context.
 * @param name Context name, copied; NULL clears the override.
 * @return 0, FLUXSTATE_EINVAL (NULL ctx, or a kubeconfig is already loaded),
 *         or FLUXSTATE_ENOMEM.
 * @since 0.1
 */
int fluxstate_ctx_set_context(fluxstate_ctx *ctx, const char *name);

/**
 * Override the kubeconfig cluster (kubectl --cluster). Same rules as
 * fluxstate_ctx_set_context().
 * @since 0.1
 */
int fluxstate_ctx_set_cluster(fluxstate_ctx *ctx, const char *name);

/**
 * Override the kubeconfig user (kubectl --user). Same rules as
 * fluxstate_ctx_set_context().
 * @since 0.1
 */
int fluxstate_ctx_set_user(fluxstate_ctx *ctx, const char *name);

/**
 * Override the API server URL (kubectl --server). Like client-go, this drops
 * the cluster's tls-server-name unless fluxstate_ctx_set_tls_server_name()
 * is also given. Same rules as fluxstate_ctx_set_context().
 * @since 0.1
 */
int fluxstate_ctx_set_server(fluxstate_ctx *ctx, const char *url);

/**
 * Override the TLS server name (kubectl --tls-server-name). Same rules as
 * fluxstate_ctx_set_context().
 * @since 0.1
 */
int fluxstate_ctx_set_tls_server_name(fluxstate_ctx *ctx, const char *name);

/**
 * The namespace Flux is expected in, as `flux --namespace`. NULL (the
 * default) auto-detects it from the controllers' labels, falling back to
 * $FLUX_SYSTEM_NAMESPACE and then "flux-system". May be called at any time;
 * it applies to the next probe.
 *
 * @param ctx The context.
 * @param ns Namespace name, copied; NULL restores auto-detection.
 * @return 0, FLUXSTATE_EINVAL (NULL ctx or an invalid DNS label) or
 *         FLUXSTATE_ENOMEM.
 * @since 0.1
 */
int fluxstate_ctx_set_flux_namespace(fluxstate_ctx *ctx, const char *ns);

/**
 * The deadline for one whole operation (a probe, with every request,
 * retry and exec credential plugin it runs), in milliseconds. Default
 * 30000. 0 is rejected. May be called at any time; it applies to the next
 * probe. fluxstate_ctx_wait_for_change() takes its own timeout.
 *
 * @return 0 or FLUXSTATE_EINVAL (NULL @p ctx, or 0).
 * @since 0.1
 */
int fluxstate_ctx_set_timeout_ms(fluxstate_ctx *ctx, unsigned int timeout_ms);

/**
 * The connect timeout in milliseconds: TCP connect, proxy handshake and TLS
 * handshake of one connection, never longer than what is left of the
 * operation's deadline. Default 10000. 0 is rejected. May be called at any
 * time; it applies to the next connection.
 *
 * @return 0 or FLUXSTATE_EINVAL (NULL @p ctx, or 0).
 * @since 0.1
 */
int fluxstate_ctx_set_connect_timeout_ms(fluxstate_ctx *ctx, unsigned int timeout_ms);

/**
 * Receives one line of request trace (method, path, status, duration).
 * Never contains credentials.
 *
 * @param message NUL-terminated, without trailing newline; valid only
 *        during the call.
 * @param userdata As given to fluxstate_ctx_set_log_fn().
 */
typedef void (*fluxstate_log_fn)(const char *message, void *userdata);

/**
 * Install a trace handler. The library never prints; without a handler
 * traces are dropped. The handler is called from the thread that called
 * into the library, only during calls on @p ctx.
 *
 * @param ctx The context.
 * @param fn Handler, or NULL to remove it.
 * @param userdata Passed back to @p fn.
 * @return 0 or FLUXSTATE_EINVAL.
 * @since 0.1
 */
int fluxstate_ctx_set_log_fn(fluxstate_ctx *ctx, fluxstate_log_fn fn, void *userdata);

/**
 * Load the kubeconfig and resolve the connection exactly like kubectl:
 * an explicit @p path (which must exist), else the $KUBECONFIG list, else
 * $HOME/.kube/config, else the in-cluster service account. Overrides set
 * earlier apply. Can be called once per context.
 *
 * @param ctx The context.
 * @param path Kubeconfig file, or NULL for the default rules.
 * @param context Context to use (kubectl --context), or NULL for the
 *        override or current-context.
 * @return 0 or a negative error code; details in fluxstate_ctx_get_error().
 * @retval FLUXSTATE_ECONFIG The kubeconfig is missing, unreadable,
 *         malformed, or names something that does not exist.
 * @retval FLUXSTATE_EINVAL A kubeconfig was already loaded on @p ctx.
 * @since 0.1
 */
int fluxstate_ctx_load_kubeconfig(fluxstate_ctx *ctx, const char *path, const char *context);

/**
 * Number of contexts in the loaded (merged) kubeconfig.
 *
 * @return The count; 0 before a successful load or for in-cluster config.
 * @since 0.1
 */
size_t fluxstate_ctx_get_n_contexts(const fluxstate_ctx *ctx);

/**
 * Name of context @p i of the loaded kubeconfig, in file order.
 *
 * @return A string owned by @p ctx, or NULL if @p i is out of range.
 * @since 0.1
 */
const char *fluxstate_ctx_get_context_name(const fluxstate_ctx *ctx, size_t i);

/**
 * Name of the context in use after loading (override or current-context).
 *
 * @return A string owned by @p ctx, or NULL (nothing loaded, in-cluster).
 * @since 0.1
 */
const char *fluxstate_ctx_get_current_context(const fluxstate_ctx *ctx);

/**
 * Describe the resolved connection as JSON, secrets redacted: context,
 * cluster, user, server, tls-server-name, CA source, auth method,
 * namespace, proxy. This is what kubectl would use.
 *
 * @param ctx The context, with a kubeconfig loaded.
 * @param[out] ret_json On success a NUL-terminated JSON object owned by the
 *             caller; release it with fluxstate_free().
 * @return 0 or a negative error code.
 * @retval FLUXSTATE_EINVAL No kubeconfig loaded yet, or NULL arguments.
 * @since 0.1
 */
int fluxstate_ctx_describe_connection(fluxstate_ctx *ctx, char **ret_json);

/**
 * Look at the cluster and classify the Flux installation.
 *
 * The states (docs/states.md has the full contract and the evidence):
 * - NONE: no Flux controller, CRD (by label or by name), custom resource,
 *   Flux-labelled RBAC, namespace, quota, policy, service account or service
 *   anywhere visible. A namespace without Flux labels that holds only user
 *   objects is still NONE, reported as an informational "pre-created" finding.
 * - RESIDUAL: no Flux controller Deployment, but Flux traces exist.
 * - PARTIAL: at least one Flux controller exists, but the install is not
 *   healthy (a controller unavailable, a CRD missing or not Established,
 *   something Terminating, versions skewed, FluxInstance not Ready, the
 *   server older than the Flux version's minimum).
 * - HEALTHY: every Flux controller present is available, its CRDs are
 *   Established, nothing is Terminating, versions agree.
 * - UNKNOWN: something that could change the answer was not seen.
 *
 * Access problems on individual reads (403, 404, a list cut off, an answer
 * that is not a list) do not fail the probe: each is a finding with
 * FLUXSTATE_FLAG_NOT_VISIBLE, and the state is FLUXSTATE_INSTALL_UNKNOWN
 * whenever what was not seen could change the answer. NONE and HEALTHY are
 * never reported through such a blind spot.
 *
 * @param ctx The context, with a kubeconfig loaded.
 * @param[out] ret On success, a new report owned by the caller; release it
 *             with fluxstate_report_free(). Left untouched on failure.
 * @return 0 or a negative error code; details in fluxstate_ctx_get_error().
 * @retval FLUXSTATE_EINVAL No kubeconfig loaded, or NULL arguments.
 * @retval FLUXSTATE_ECONFIG The connection cannot be used as configured
 *         (e.g. insecure-skip-tls-verify together with a CA).
 * @retval FLUXSTATE_ENETWORK The API server could not be reached, or no
 *         request got an answer (also a connect timeout, a TLS or proxy
 *         failure, every connection reset).
 * @retval FLUXSTATE_EAUTH The API server rejected the credentials (401), or
 *         they could not be obtained (exec plugin failed).
 * @retval FLUXSTATE_EPROTOCOL Every read got a malformed answer, a 404 or
 *         something that is not a list (the address does not serve the
 *         Kubernetes API).
 * @retval FLUXSTATE_ETIMEDOUT The deadline passed before every read
 *         finished (even when the others were answered: a view cut short by
 *         time is not reported as a blind spot), or before any answer.
 * @retval FLUXSTATE_ENOMEM Out of memory.
 * @since 0.1
 */
int fluxstate_ctx_probe(fluxstate_ctx *ctx, fluxstate_report **ret);

/**
 * Block until a resource that decides the install state changes after
 * @p since was taken (Kubernetes watch requests, not polling), or until
 * @p timeout_ms passes. Probe again afterwards to learn the new state.
 *
 * @param ctx The context that made @p since.
 * @param since A report from fluxstate_ctx_probe() on this context.
 * @param timeout_ms How long to wait at most; 0 is rejected.
 * @return 0 when a change was seen, else a negative error code; details
 *         in fluxstate_ctx_get_error().
 * @retval FLUXSTATE_ETIMEDOUT Nothing changed before @p timeout_ms.
 * @retval FLUXSTATE_EINVAL Bad arguments, or @p since gives nothing to
 *         watch (every read of its probe failed): probe again instead.
 * @retval FLUXSTATE_ENETWORK, FLUXSTATE_EAUTH A watch failed for good
 *         (same meaning as for fluxstate_ctx_probe()).
 * @since 0.1
 */
int fluxstate_ctx_wait_for_change(fluxstate_ctx *ctx, const fluxstate_report *since,
				  unsigned int timeout_ms);

/**
 * @name Connection options (kubectl's flags)
 * Like the overrides above, these must be set before
 * fluxstate_ctx_load_kubeconfig() or fluxstate_ctx_load_kubeconfig_from_memory()
 * (afterwards they fail with FLUXSTATE_EINVAL) and mean what kubectl's
 * flag of the same name means: they are merged field by field on top of the
 * kubeconfig's selected cluster and user, as client-go's ConfigOverrides.
 * String arguments are copied; NULL (or 0) clears the option. Each returns
 * 0, FLUXSTATE_EINVAL (NULL @p ctx, a kubeconfig already loaded, or a bad
 * value, named in fluxstate_ctx_get_error()) or FLUXSTATE_ENOMEM.
 * Conflicts between options and the kubeconfig (e.g. a CA together with
 * insecure-skip-tls-verify) are reported by the load, as kubectl does.
 * @{
 */

/**
 * Skip verification of the server's certificate (kubectl
 * --insecure-skip-tls-verify). Clears the kubeconfig's CA first, so it works
 * against a kubeconfig that has one; together with
 * fluxstate_ctx_set_certificate_authority() the load fails with
 * FLUXSTATE_ECONFIG.
 * @param ctx The context.
 * @param insecure Non-zero to skip verification; 0 to clear the option.
 * @since 0.2
 */
int fluxstate_ctx_set_insecure_skip_tls_verify(fluxstate_ctx *ctx, int insecure);

/**
 * The CA bundle file (PEM) that verifies the server (kubectl
 * --certificate-authority). Replaces the kubeconfig's CA file and data and
 * its insecure-skip-tls-verify. An unreadable file fails the load with
 * FLUXSTATE_ECONFIG.
 * @since 0.2
 */
int fluxstate_ctx_set_certificate_authority(fluxstate_ctx *ctx, const char *path);

/**
 * The client certificate file (PEM) for TLS client authentication (kubectl
 * --client-certificate). Replaces the user's client-certificate file; as in
 * kubectl, a user that has client-certificate-data too fails the load
 * ("client-cert-data and client-cert are both specified", FLUXSTATE_ECONFIG).
 * Needs a key (the user's or fluxstate_ctx_set_client_key()).
 * @since 0.2
 */
int fluxstate_ctx_set_client_certificate(fluxstate_ctx *ctx, const char *path);

/**
 * The client key file (PEM) for the client certificate (kubectl
 * --client-key). Replaces the user's client-key file; with client-key-data
 * in the user too the load fails, as in kubectl.
 * @since 0.2
 */
int fluxstate_ctx_set_client_key(fluxstate_ctx *ctx, const char *path);

/**
 * A bearer token (kubectl --token). Replaces the user's token field; as in
 * kubectl, it combines with the user's other fields (a client certificate
 * is still presented; an exec plugin or auth-provider is no longer run; a
 * user with username/password is a FLUXSTATE_ECONFIG error). The token is a
 * secret: it is wiped when the context is freed and never appears in any
 * message. A token with a line break or control character is rejected.
 * @since 0.2
 */
int fluxstate_ctx_set_token(fluxstate_ctx *ctx, const char *token);

/**
 * Impersonate this user (kubectl --as): sent as the Impersonate-User
 * header; replaces the kubeconfig user's `as` (and, as in kubectl, the
 * groups and uid it had stay unless also given).
 * @since 0.2
 */
int fluxstate_ctx_set_impersonate_user(fluxstate_ctx *ctx, const char *user);

/**
 * Add a group to impersonate (kubectl --as-group, repeatable). The groups
 * given this way replace the kubeconfig user's `as-groups`. NULL removes
 * every group added so far. Needs an impersonated user (the load fails with
 * FLUXSTATE_ECONFIG otherwise, as kubectl does).
 * @since 0.2
 */
int fluxstate_ctx_add_impersonate_group(fluxstate_ctx *ctx, const char *group);

/**
 * The UID to impersonate (kubectl --as-uid). Needs an impersonated user.
 * @since 0.2
 */
int fluxstate_ctx_set_impersonate_uid(fluxstate_ctx *ctx, const char *uid);

/**
 * The timeout of one HTTP request (kubectl --request-timeout), in
 * milliseconds, beside the whole operation's deadline
 * (fluxstate_ctx_set_timeout_ms(), which still bounds everything). A read
 * whose request runs out of time is not seen (a blind spot, so the state is
 * unknown) or, when every read fails, the probe fails. Watches of
 * fluxstate_ctx_wait_for_change() are long-lived and not bound by it.
 * @param ctx The context.
 * @param timeout_ms Milliseconds; 0 = no per-request timeout (the default).
 * @since 0.2
 */
int fluxstate_ctx_set_request_timeout_ms(fluxstate_ctx *ctx, unsigned int timeout_ms);

/**
 * Do not ask the server for compressed responses (kubectl
 * --disable-compression); overrides the cluster's disable-compression when
 * non-zero.
 * @since 0.2
 */
int fluxstate_ctx_set_disable_compression(fluxstate_ctx *ctx, int disable);

/** @} */

/**
 * Load a kubeconfig from a buffer instead of files (client-go's
 * RESTConfigFromKubeConfig), for callers that keep it in a secret store or
 * receive it over an API. $KUBECONFIG, ~/.kube/config and the in-cluster
 * configuration are not consulted. Overrides and connection options set
 * earlier apply. Can be called once per context, like
 * fluxstate_ctx_load_kubeconfig().
 *
 * @param ctx The context.
 * @param data The kubeconfig (YAML or JSON); need not be NUL-terminated.
 *        Copied; the copy is wiped after parsing (it may hold secrets).
 * @param len Length of @p data in bytes.
 * @param base_dir Directory against which relative file paths in the
 *        kubeconfig (certificate-authority, client-certificate,
 *        client-key, tokenFile, an exec command containing '/') are
 *        resolved; NULL rejects relative paths with FLUXSTATE_ECONFIG
 *        naming the field.
 * @param context Context to use, or NULL for the override or
 *        current-context.
 * @return 0 or a negative error code; details in fluxstate_ctx_get_error().
 * @retval FLUXSTATE_ECONFIG The kubeconfig is malformed, names something
 *         that does not exist, or has a relative path without @p base_dir.
 * @retval FLUXSTATE_EINVAL NULL @p ctx or @p data, or a kubeconfig is
 *         already loaded on @p ctx.
 * @since 0.2
 */
int fluxstate_ctx_load_kubeconfig_from_memory(fluxstate_ctx *ctx, const char *data, size_t len,
					      const char *base_dir, const char *context);

/**
 * Stop a running fluxstate_ctx_probe() or fluxstate_ctx_wait_for_change()
 * on @p ctx: it returns FLUXSTATE_ECANCELED within about 100 ms, and an exec
 * credential plugin it is waiting for is killed. Thread-safe and
 * async-signal-safe: may be called from another thread or from a signal
 * handler (it only sets an atomic flag and writes one byte to a pipe).
 * A cancel while nothing runs makes the next probe or wait on @p ctx return
 * FLUXSTATE_ECANCELED at once; the request is then consumed, so call it
 * only to stop. NULL is a no-op. @p ctx must not be freed concurrently.
 * @since 0.2
 */
void fluxstate_ctx_cancel(fluxstate_ctx *ctx);

/** @} */

/**
 * @defgroup report Report
 * A report is immutable and independent of the context that produced it.
 * @{
 */

/**
 * Release a report and its findings. NULL is a no-op.
 * @since 0.1
 */
void fluxstate_report_free(fluxstate_report *report);

/**
 * @return The FLUXSTATE_INSTALL_* state; FLUXSTATE_INSTALL_UNKNOWN for NULL.
 * @since 0.1
 */
int fluxstate_report_get_state(const fluxstate_report *report);

/**
 * One line saying why the state was chosen.
 * @return A string owned by the report; "" for NULL.
 * @since 0.1
 */
const char *fluxstate_report_get_summary(const fluxstate_report *report);

/**
 * What to do next: "bootstrap", "cleanup", "repair", "none" (leave alone)
 * or "investigate" (state unknown).
 * @return A string owned by the report; "investigate" for NULL.
 * @since 0.1
 */
const char *fluxstate_report_get_action(const fluxstate_report *report);

/**
 * The namespace inspected for Flux (option, detected, or "flux-system").
 * @return A string owned by the report, or NULL for a NULL report.
 * @since 0.1
 */
const char *fluxstate_report_get_namespace(const fluxstate_report *report);

/**
 * How Flux was installed: "flux-cli", "flux-bootstrap", "install-yaml",
 * "helm", "flux-operator" or "unknown" (also when nothing is installed).
 * @return A string owned by the report; "unknown" for NULL.
 * @since 0.1
 */
const char *fluxstate_report_get_installer(const fluxstate_report *report);

/**
 * The overall Flux version (e.g. "v2.7.5").
 * @return A string owned by the report, or NULL if none could be told (and
 *         for a NULL report).
 * @since 0.1
 */
const char *fluxstate_report_get_version(const fluxstate_report *report);

/**
 * The Kubernetes server gitVersion (e.g. "v1.29.1+k3s1").
 * @return A string owned by the report, or NULL if unknown (and for a NULL
 *         report).
 * @since 0.1
 */
const char *fluxstate_report_get_server_version(const fluxstate_report *report);

/**
 * Whether the server version satisfies the installed Flux version's minimum.
 * @return 1 yes, 0 no, FLUXSTATE_ERROR when it cannot be told (no Flux
 *         version, unknown server version), FLUXSTATE_EINVAL for NULL.
 * @since 0.1
 */
int fluxstate_report_get_server_supported(const fluxstate_report *report);

/**
 * Where the inspected namespace came from: "option"
 * (fluxstate_ctx_set_flux_namespace()), "detected" (from the controllers'
 * or the CRDs' labels), "environment" ($FLUX_SYSTEM_NAMESPACE) or "default"
 * ("flux-system").
 * @return A static string; "default" for a NULL report.
 * @since 0.1
 */
const char *fluxstate_report_get_namespace_source(const fluxstate_report *report);

/**
 * The app.kubernetes.io/managed-by label Flux itself reads (of the
 * gitrepositories CRD, else of a controller), e.g. "Helm" or
 * "flux-operator".
 * @return A string owned by the report, or NULL when there is none (and
 *         for a NULL report).
 * @since 0.1
 */
const char *fluxstate_report_get_managed_by(const fluxstate_report *report);

/**
 * Whether Flux was installed by `flux bootstrap`: the gitrepositories CRD
 * carries the kustomize.toolkit.fluxcd.io/namespace label (`flux check`'s
 * rule), or the installer is "flux-bootstrap" (the sync Kustomization
 * `<ns>/<ns>`, kustomize-controller's labels). Always 1 when
 * fluxstate_report_get_installer() says "flux-bootstrap", so the two never
 * contradict each other (before 0.2 only `flux check`'s rule counted).
 * @return 1 or 0; FLUXSTATE_EINVAL for a NULL report.
 * @since 0.1
 */
int fluxstate_report_get_bootstrapped(const fluxstate_report *report);

/**
 * The minimum Kubernetes version the installed Flux version needs, as
 * `flux check --pre` states it, without a leading "v" (e.g. "1.32.0"; the
 * report JSON's kubernetes.fluxMinimum).
 * @return A string owned by the report, or NULL when it is not known (no
 *         Flux version, or one outside the library's table; and for a NULL
 *         report).
 * @since 0.1
 */
const char *fluxstate_report_get_flux_minimum(const fluxstate_report *report);

/**
 * The number of Flux controller Deployments found in the inspected
 * namespace (the "components" of `flux check`).
 * @return The count; 0 for a NULL report.
 * @since 0.1
 */
size_t fluxstate_report_get_n_components(const fluxstate_report *report);

/**
 * Component @p i, in the order of the report JSON's "components".
 * @return A handle owned by the report, or NULL if @p i is out of range.
 * @since 0.1
 */
const fluxstate_component *fluxstate_report_get_component(const fluxstate_report *report, size_t i);

/**
 * The number of findings.
 * @return The count; 0 for a NULL report.
 * @since 0.1
 */
size_t fluxstate_report_get_n_findings(const fluxstate_report *report);

/**
 * Finding @p i, most important first.
 * @return A handle owned by the report, or NULL if @p i is out of range.
 * @since 0.1
 */
const fluxstate_finding *fluxstate_report_get_finding(const fluxstate_report *report, size_t i);

/**
 * The whole report as JSON, described by docs/report.schema.json
 * (schema "fluxstate.report/v1").
 *
 * @param report The report.
 * @param[out] ret_json On success a NUL-terminated string owned by the
 *             caller; release it with fluxstate_free().
 * @return 0, FLUXSTATE_EINVAL or FLUXSTATE_ENOMEM.
 * @since 0.1
 */
int fluxstate_report_to_json(const fluxstate_report *report, char **ret_json);

/**
 * Whether Flux @p flux_version can be installed on the cluster @p report
 * describes (a pre-install check, beyond `flux check --pre`): the state must
 * allow it (none; or healthy or partial with that same version, a
 * re-apply) and the server's Kubernetes version must meet that release's
 * minimum (from the library's release table). Pure: no I/O.
 *
 * @param report A report from fluxstate_ctx_probe().
 * @param flux_version A release such as "v2.9.4" (the leading "v" may be
 *        omitted).
 * @param[out] ret_reason Optional (may be NULL). On a 1 or 0 result, one
 *        line saying why; on FLUXSTATE_EINVAL, what is wrong with the
 *        arguments. Owned by the caller; release with fluxstate_free().
 * @return 1 can be installed, 0 cannot (also when the state is unknown or
 *         the server version is unknown: the check cannot promise it).
 * @retval FLUXSTATE_EINVAL NULL @p report or @p flux_version, a malformed
 *         version, or a release the table does not know.
 * @retval FLUXSTATE_ENOMEM Out of memory.
 * @since 0.2
 */
int fluxstate_report_check_install(const fluxstate_report *report, const char *flux_version,
				   char **ret_reason);

/** @} */

/**
 * @defgroup finding Findings
 * Every string getter returns a string owned by the report the finding
 * came from, valid until fluxstate_report_free(). For a NULL finding the
 * string getters return "" (the namespace getter NULL), the severity is
 * FLUXSTATE_SEVERITY_INFO and the flags are 0; none of them fails.
 * @{
 */

/** Severity of a finding. */
enum fluxstate_severity {
	FLUXSTATE_SEVERITY_INFO = 0,    /**< notable, does not affect the state */
	FLUXSTATE_SEVERITY_WARNING = 1, /**< worth fixing; install still works */
	FLUXSTATE_SEVERITY_ERROR = 2    /**< decides or explains a non-healthy state */
};

/** Flags a finding may carry (bit mask, append-only). */
enum fluxstate_finding_flag {
	FLUXSTATE_FLAG_BLOCKS_REINSTALL = 1 << 0,     /**< Terminating namespace/CRD: a reinstall fails until it is gone */
	FLUXSTATE_FLAG_BLOCKS_FLUX_INSTALL = 1 << 1,  /**< makes `flux install` refuse (bootstrapped-labelled CRD) */
	FLUXSTATE_FLAG_FINALIZER_BLOCKED = 1 << 2,    /**< a finalizer nobody will remove keeps it */
	FLUXSTATE_FLAG_NOT_VISIBLE = 1 << 3,          /**< describes something the caller could not see */
	/**
	 * Not part of a Flux v2 install (Flux v1's fluxd or helm-operator and
	 * their CRDs): it never decides the state and no cleanup may touch it
	 * (deleting helm-operator's CRD deletes every v1 HelmRelease).
	 * Category "flux-v1". @since 0.2
	 */
	FLUXSTATE_FLAG_NOT_FLUX_V2 = 1 << 4
};

/** Kubernetes kind, e.g. "CustomResourceDefinition". Never NULL. @since 0.1 */
const char *fluxstate_finding_get_kind(const fluxstate_finding *finding);
/** apiVersion, e.g. "apiextensions.k8s.io/v1"; "" when not applicable. @since 0.1 */
const char *fluxstate_finding_get_api_version(const fluxstate_finding *finding);
/** Namespace, or NULL for cluster-scoped objects. @since 0.1 */
const char *fluxstate_finding_get_namespace(const fluxstate_finding *finding);
/** Object name; "" when the finding is about a whole resource type. @since 0.1 */
const char *fluxstate_finding_get_name(const fluxstate_finding *finding);
/**
 * What the object is: "controller", "crd", "custom-resource", "rbac",
 * "namespace", "service-account", "service", "network-policy",
 * "resource-quota", "secret", "configmap", "helm-release", "operator",
 * "flux-instance", "server", "access", or (@since 0.2) "flux-v1": Flux v1
 * still present (problem "present", flag FLUXSTATE_FLAG_NOT_FLUX_V2).
 * Never NULL.
 * @since 0.1
 */
const char *fluxstate_finding_get_category(const fluxstate_finding *finding);
/**
 * What is wrong or notable: "present", "missing", "unavailable",
 * "terminating", "finalizer-blocked", "orphaned", "skewed", "pre-created",
 * "not-established", "not-ready", "duplicate", "unsupported-server",
 * "other-install" or "not-visible". Never NULL.
 * @since 0.1
 */
const char *fluxstate_finding_get_problem(const fluxstate_finding *finding);
/** One line with the evidence that decided. Never NULL. @since 0.1 */
const char *fluxstate_finding_get_reason(const fluxstate_finding *finding);
/** A FLUXSTATE_SEVERITY_* value. @since 0.1 */
int fluxstate_finding_get_severity(const fluxstate_finding *finding);
/** A mask of FLUXSTATE_FLAG_* values. @since 0.1 */
unsigned int fluxstate_finding_get_flags(const fluxstate_finding *finding);

/** @} */

/**
 * @defgroup component Components
 * String getters return strings owned by the report the component came
 * from, valid until fluxstate_report_free(); for a NULL component they
 * return NULL (the reason "").
 * @{
 */

/** Deployment name, e.g. "source-controller". @since 0.1 */
const char *fluxstate_component_get_name(const fluxstate_component *component);
/** Deployment namespace. @since 0.1 */
const char *fluxstate_component_get_namespace(const fluxstate_component *component);
/**
 * Flux version of this component (from its version label, else mapped
 * from its image tag), or NULL when it cannot be told.
 * @since 0.1
 */
const char *fluxstate_component_get_version(const fluxstate_component *component);
/** The controller's container image, or NULL. @since 0.1 */
const char *fluxstate_component_get_image(const fluxstate_component *component);
/**
 * Whether the Deployment is ready (kstatus Current, and at least one
 * replica wanted).
 * @return 1 or 0; FLUXSTATE_EINVAL for NULL.
 * @since 0.1
 */
int fluxstate_component_get_ready(const fluxstate_component *component);
/** Why, e.g. "Deployment is available. Replicas: 1" or "Available: 0/1". Never NULL. @since 0.1 */
const char *fluxstate_component_get_reason(const fluxstate_component *component);

/** @} */

/**
 * @defgroup cleanup Cleanup
 * Make a residual cluster `none` again, as `flux uninstall` would, without
 * the flux CLI and without the controllers that would remove finalizers.
 *
 * fluxstate_ctx_plan_cleanup() reads the cluster again (one detection, with
 * every Flux custom resource listed, metadata only) and hands those facts to
 * a pure planner: the plan names each object it would change, in this order:
 * Flux controllers (partial, with FLUXSTATE_CLEANUP_FORCE), finalizers of
 * Flux custom resources, the custom resources, the CRDs, cluster RBAC,
 * namespaced leftovers, the namespace. Objects that are not Flux v2
 * evidence (user Secrets, a namespace Flux did not create, Flux v1, other
 * tools' objects) are never steps; the plan lists them as kept.
 *
 * fluxstate_ctx_apply_cleanup() first runs every step as a server-side dry
 * run (dryRun=All), then for real, one by one. Every write is guarded: a
 * finalizer removal is a JSON patch whose `test` operations compare
 * metadata.resourceVersion and metadata.finalizers with what the plan saw,
 * and a delete carries the planned uid (and resourceVersion) as
 * preconditions, so an object changed since the plan fails with
 * FLUXSTATE_ECONFLICT instead of being overwritten.
 * @{
 */

/** Flags of fluxstate_ctx_plan_cleanup() and fluxstate_ctx_apply_cleanup() (bit mask, append-only). */
enum fluxstate_cleanup_flag {
	FLUXSTATE_CLEANUP_FORCE = 1 << 0,          /**< plan: also a partial install (its controllers go first) */
	FLUXSTATE_CLEANUP_KEEP_NAMESPACE = 1 << 1, /**< plan: keep the Flux namespace (flux uninstall --keep-namespace) */
	FLUXSTATE_CLEANUP_DRY_RUN = 1 << 2,        /**< apply: only the server-side dry run; changes nothing */
	FLUXSTATE_CLEANUP_WAIT = 1 << 3            /**< apply: afterwards, wait (up to the ctx timeout) until the state is none */
};

/**
 * Called by fluxstate_ctx_apply_cleanup() after each step.
 *
 * @param step The step (borrowed from the plan).
 * @param index Its index in the plan.
 * @param dry_run 1 during the server-side dry run, 0 for the real change.
 * @param result 0 done (or the object was already gone), else the
 *        FLUXSTATE_E* code of this step: FLUXSTATE_EAUTH refused by RBAC,
 *        FLUXSTATE_ECONFLICT changed since the plan, ...
 * @param message One line: what happened ("deleted", "already gone", or
 *        the server's reason). Valid during the call only.
 * @param userdata As passed to fluxstate_ctx_apply_cleanup().
 * @since 0.2
 */
typedef void (*fluxstate_cleanup_progress_fn)(const fluxstate_cleanup_step *step, size_t index, int dry_run,
					      int result, const char *message, void *userdata);

/**
 * Plan the cleanup of the install @p report describes.
 *
 * Refuses (FLUXSTATE_EREFUSED) a healthy or unknown state, a partial one
 * without FLUXSTATE_CLEANUP_FORCE, a cluster where another Flux install
 * runs, and a plan that a blind spot (a list that failed) could make
 * incomplete. A state of none gives an empty plan without reading.
 *
 * @param ctx A context with a kubeconfig loaded.
 * @param report The report the caller decided on (fluxstate_ctx_probe()).
 *        The plan is made from a fresh read; if that read classifies
 *        differently, the call fails with FLUXSTATE_ECONFLICT.
 * @param flags FLUXSTATE_CLEANUP_FORCE, FLUXSTATE_CLEANUP_KEEP_NAMESPACE.
 * @param[out] ret A new plan owned by the caller; free it with
 *        fluxstate_cleanup_plan_free(). Untouched on failure.
 * @return 0 or a negative FLUXSTATE_E* code (the probe's codes, plus
 *         FLUXSTATE_EREFUSED and FLUXSTATE_ECONFLICT); details in
 *         fluxstate_ctx_get_error().
 * @since 0.2
 */
int fluxstate_ctx_plan_cleanup(fluxstate_ctx *ctx, const fluxstate_report *report, unsigned int flags,
			       fluxstate_cleanup_plan **ret);

/**
 * Carry out a plan: a server-side dry run of every step, then each step
 * for real (stopping at the first that fails), then a probe; with
 * FLUXSTATE_CLEANUP_WAIT, waits until the state is none or the ctx
 * timeout passes. With FLUXSTATE_CLEANUP_DRY_RUN only the dry run runs.
 *
 * @param ctx The context the plan was made with (or one for the same cluster).
 * @param plan The plan; not changed.
 * @param flags FLUXSTATE_CLEANUP_DRY_RUN, FLUXSTATE_CLEANUP_WAIT.
 * @param progress_fn Called after every step of both passes, or NULL.
 * @param userdata Passed to @p progress_fn.
 * @return The install state afterwards (FLUXSTATE_INSTALL_NONE when the
 *         cluster is clean; for a dry run, the plan's state), or a
 *         negative code: FLUXSTATE_EAUTH (a step was refused by RBAC),
 *         FLUXSTATE_ECONFLICT (an object changed since the plan), network
 *         and timeout codes. A failure in the dry run changed nothing; one
 *         in the real pass stops there, and the progress callbacks told
 *         which steps were done. FLUXSTATE_ETIMEDOUT with
 *         FLUXSTATE_CLEANUP_WAIT: every step was done, the state was not
 *         none in time.
 * @since 0.2
 */
int fluxstate_ctx_apply_cleanup(fluxstate_ctx *ctx, const fluxstate_cleanup_plan *plan, unsigned int flags,
				fluxstate_cleanup_progress_fn progress_fn, void *userdata);

/** Free a plan and its steps. NULL is a no-op. @since 0.2 */
void fluxstate_cleanup_plan_free(fluxstate_cleanup_plan *plan);
/** The FLUXSTATE_INSTALL_* state the plan was made for; FLUXSTATE_EINVAL for NULL. @since 0.2 */
int fluxstate_cleanup_plan_get_state(const fluxstate_cleanup_plan *plan);
/** The Flux namespace, or NULL. Owned by the plan. @since 0.2 */
const char *fluxstate_cleanup_plan_get_namespace(const fluxstate_cleanup_plan *plan);
/** Number of steps (0 for NULL). @since 0.2 */
size_t fluxstate_cleanup_plan_get_n_steps(const fluxstate_cleanup_plan *plan);
/** Step @p i in order, or NULL when out of range. Owned by the plan. @since 0.2 */
const fluxstate_cleanup_step *fluxstate_cleanup_plan_get_step(const fluxstate_cleanup_plan *plan, size_t i);
/** Number of objects the plan keeps on purpose (0 for NULL). @since 0.2 */
size_t fluxstate_cleanup_plan_get_n_kept(const fluxstate_cleanup_plan *plan);
/** Kept object @p i (its verb is "keep", its reason says why), or NULL. @since 0.2 */
const fluxstate_cleanup_step *fluxstate_cleanup_plan_get_kept(const fluxstate_cleanup_plan *plan, size_t i);
/**
 * The plan as JSON: {"state","namespace","steps":[…],"kept":[…]}, each step
 * {"phase","verb","kind","apiVersion","namespace","name","reason","destructive"}.
 * @param plan The plan.
 * @param[out] ret_json Free with fluxstate_free().
 * @return 0, FLUXSTATE_EINVAL or FLUXSTATE_ENOMEM.
 * @since 0.2
 */
int fluxstate_cleanup_plan_to_json(const fluxstate_cleanup_plan *plan, char **ret_json);

/*
 * Step getters: strings owned by the plan, "" for a NULL step (the
 * namespace NULL).
 */
/** "remove-finalizers", "delete" or "keep". @since 0.2 */
const char *fluxstate_cleanup_step_get_verb(const fluxstate_cleanup_step *step);
/** "controllers", "finalizers", "custom-resources", "crds", "cluster-rbac", "namespaced", "namespace" or "kept". @since 0.2 */
const char *fluxstate_cleanup_step_get_phase(const fluxstate_cleanup_step *step);
/** Kubernetes kind, e.g. "Kustomization". @since 0.2 */
const char *fluxstate_cleanup_step_get_kind(const fluxstate_cleanup_step *step);
/** apiVersion, e.g. "kustomize.toolkit.fluxcd.io/v1". @since 0.2 */
const char *fluxstate_cleanup_step_get_api_version(const fluxstate_cleanup_step *step);
/** Namespace, or NULL for cluster-scoped objects. @since 0.2 */
const char *fluxstate_cleanup_step_get_namespace(const fluxstate_cleanup_step *step);
/** Object name. @since 0.2 */
const char *fluxstate_cleanup_step_get_name(const fluxstate_cleanup_step *step);
/** Why: the evidence that makes it Flux's, and what the step does. @since 0.2 */
const char *fluxstate_cleanup_step_get_reason(const fluxstate_cleanup_step *step);
/**
 * Whether the step can destroy user data (a custom resource the user
 * wrote, a CRD and every object of its kind, a namespace and whatever is
 * in it).
 * @return 1 or 0; FLUXSTATE_EINVAL for NULL.
 * @since 0.2
 */
int fluxstate_cleanup_step_get_destructive(const fluxstate_cleanup_step *step);

/** @} */

/**
 * Release memory the library handed to the caller through a `char **ret_*`
 * argument. NULL is a no-op.
 * @since 0.1
 */
void fluxstate_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* FLUXSTATE_H */
