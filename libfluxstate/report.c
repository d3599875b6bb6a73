/* STUB: replaced by the detection work (issue 4). */
#include "fluxstate-private.h"

FLUXSTATE_EXPORT void fluxstate_report_free(fluxstate_report *r) { (void)r; }
FLUXSTATE_EXPORT int fluxstate_report_get_state(const fluxstate_report *r) { (void)r; return 0; }
FLUXSTATE_EXPORT const char *fluxstate_report_get_summary(const fluxstate_report *r) { (void)r; return ""; }
FLUXSTATE_EXPORT const char *fluxstate_report_get_action(const fluxstate_report *r) { (void)r; return "investigate"; }
FLUXSTATE_EXPORT const char *fluxstate_report_get_namespace(const fluxstate_report *r) { (void)r; return NULL; }
FLUXSTATE_EXPORT const char *fluxstate_report_get_installer(const fluxstate_report *r) { (void)r; return "unknown"; }
FLUXSTATE_EXPORT const char *fluxstate_report_get_version(const fluxstate_report *r) { (void)r; return NULL; }
FLUXSTATE_EXPORT const char *fluxstate_report_get_server_version(const fluxstate_report *r) { (void)r; return NULL; }
FLUXSTATE_EXPORT int fluxstate_report_get_server_supported(const fluxstate_report *r) { (void)r; return FLUXSTATE_ERROR; }
FLUXSTATE_EXPORT size_t fluxstate_report_get_n_findings(const fluxstate_report *r) { (void)r; return 0; }
FLUXSTATE_EXPORT const fluxstate_finding *fluxstate_report_get_finding(const fluxstate_report *r, size_t i) { (void)r; (void)i; return NULL; }
FLUXSTATE_EXPORT int fluxstate_report_to_json(const fluxstate_report *r, char **ret) { (void)r; (void)ret; return FLUXSTATE_ERROR; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_kind(const fluxstate_finding *f) { (void)f; return ""; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_api_version(const fluxstate_finding *f) { (void)f; return ""; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_namespace(const fluxstate_finding *f) { (void)f; return NULL; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_name(const fluxstate_finding *f) { (void)f; return ""; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_category(const fluxstate_finding *f) { (void)f; return ""; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_problem(const fluxstate_finding *f) { (void)f; return ""; }
FLUXSTATE_EXPORT const char *fluxstate_finding_get_reason(const fluxstate_finding *f) { (void)f; return ""; }
FLUXSTATE_EXPORT int fluxstate_finding_get_severity(const fluxstate_finding *f) { (void)f; return 0; }
FLUXSTATE_EXPORT unsigned int fluxstate_finding_get_flags(const fluxstate_finding *f) { (void)f; return 0; }
