/*
 * Cleanup internals: the plan object (cleanup-plan.c, pure) and what
 * carrying it out needs (cleanup-apply.c).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FLUXSTATE_CLEANUP_H
#define FLUXSTATE_CLEANUP_H

#include "detect.h"

struct fluxstate_cleanup_step {
	const char *phase;              /* static vocabulary */
	const char *verb;               /* "remove-finalizers", "delete", "keep" */
	char *kind;
	char *api_version;
	char *namespace;                /* NULL: cluster-scoped */
	char *name;
	char *reason;
	int destructive;

	/* where and how to write it (not for kept objects) */
	char *group;                    /* "" = core */
	char *version;
	char *resource;                 /* plural */
	char *uid;                      /* delete precondition; NULL if unseen */
	char *resource_version;         /* what the plan saw */
	char **finalizers;              /* remove-finalizers: the list the patch's test op compares */
	size_t n_finalizers;
	int guard_rv;                   /* delete: resourceVersion precondition too (objects nobody but users change) */
};

struct fluxstate_cleanup_plan {
	int state;
	char *namespace;
	struct fluxstate_cleanup_step *steps;
	size_t n_steps, cap_steps;
	struct fluxstate_cleanup_step *kept;
	size_t n_kept, cap_kept;
};

/*
 * The pure planner: the observations of one detection and their report
 * (classified from exactly those observations) -> the plan.
 * @return 0, FLUXSTATE_ENOMEM, or FLUXSTATE_EREFUSED with *ret_why (caller frees).
 */
int fluxstate__cleanup_plan(const struct fluxstate__observations *obs, const struct fluxstate_report *report,
			    unsigned int flags, struct fluxstate_cleanup_plan **ret, char **ret_why);

#endif /* FLUXSTATE_CLEANUP_H */
