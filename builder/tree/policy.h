/**
 * @file policy.h
 * @brief SELinux labelling and the attack-surface policy of a tree.
 *
 * Labelling follows SELinux file_contexts semantics: each rule's regex must
 * match the whole absolute path ("/usr/bin/init"; the root is "/"), an
 * optional file type restricts the rule, and the last matching rule wins.
 * Every entry gets a `security.selinux` xattr (the label, NUL-terminated as
 * the kernel stores it); entries no rule matches get the default label.
 *
 * The policy reduces the attack surface: by default it forbids shells,
 * interpreters and package managers in any bin/sbin directory, world-writable
 * files outside tmp directories, and setuid/setgid binaries; `allow` globs
 * name exceptions. Violations are collected, all of them, with the package
 * that brought each one.
 */
#ifndef VF_TREE_POLICY_H
#define VF_TREE_POLICY_H

#include "builder/base/err.h"
#include "builder/tree/tree.h"

#include <stdbool.h>
#include <stddef.h>

/** One file_contexts rule (borrowed strings). */
struct vf_label_rule {
	const char *regex;  /**< POSIX extended regex, implicitly anchored ^(...)$ */
	const char *type;   /**< NULL or "file","dir","symlink","char","block","fifo","socket" */
	const char *label;  /**< the context, e.g. "system_u:object_r:os_t:s0" */
};

/**
 * Label every entry. A rule whose regex does not compile is an error naming
 * the rule index and the regex. `default_label` may be NULL: then an entry no
 * rule matches is an error naming its path.
 */
int vf_tree_label(struct vf_tree *t, const struct vf_label_rule *rules, size_t n_rules,
		  const char *default_label, struct vf_err *err);

/** The policy to check (borrowed strings; globs match absolute paths, `**` crosses '/'). */
struct vf_policy {
	bool defaults;               /**< apply the built-in forbid list */
	const char *const *forbid;   /**< extra forbidden globs */
	size_t n_forbid;
	const char *const *allow;    /**< exceptions */
	size_t n_allow;
};

/** One violation (owned by the report). */
struct vf_policy_violation {
	char *path;    /**< absolute path */
	char *origin;  /**< package that brought it, or "manifest" */
	char *reason;  /**< e.g. "shell 'bash' in a bin directory", "setuid binary", "world-writable file" */
};

/** Every violation, in path order. */
struct vf_policy_report {
	struct vf_policy_violation *v;
	size_t n;
};

/** Check the tree; *ret lists every violation (n == 0: all holds). */
int vf_policy_check(const struct vf_tree *t, const struct vf_policy *p,
		    struct vf_policy_report *ret, struct vf_err *err);

/** Free a report's contents; accepts an empty report. */
void vf_policy_report_release(struct vf_policy_report *r);

/**
 * Glob matching used by `remove` and the policy: `*` and `?` do not cross
 * '/', `**` does, `[...]` classes as in fnmatch. Both sides absolute or both
 * relative. Returns true on a match.
 */
bool vf_glob_match(const char *glob, const char *path);

#endif
