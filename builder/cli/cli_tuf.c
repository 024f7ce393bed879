/* vforge CLI: options and helpers shared by the TUF commands (root, repo). */
#include "builder/cli/cli.h"

#include "keys/key.h"
#include "repo/repo.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void vf_cli_repo_args_init(struct vf_cli_repo_args *a)
{
	memset(a, 0, sizeof(*a));
	a->lock_wait_s = 60;
}

void vf_cli_repo_args_release(struct vf_cli_repo_args *a)
{
	free(a->keys);
	a->keys = NULL;
	a->n_keys = 0;
}

int vf_cli_repo_arg(const struct vf_cli_cmd *cmd, int opt, const char *arg,
		    struct vf_cli_repo_args *a)
{
	switch (opt) {
	case VF_CLI_OPT_KEY: {
		const char **k = realloc(a->keys, (a->n_keys + 1) * sizeof(*k));

		if (!k) {
			fprintf(stderr, "vforge: error: out of memory\n");
			return VF_EXIT_FAIL;
		}
		k[a->n_keys++] = arg;
		a->keys = k;
		return 0;
	}
	case VF_CLI_OPT_NOW:
		a->now_text = arg;
		return 0;
	case VF_CLI_OPT_EXPIRES: {
		const char *eq = strchr(arg, '=');
		char role[16];
		enum vf_tuf_type t;

		if (!eq || (size_t)(eq - arg) >= sizeof(role))
			return vf_cli_usage(cmd, "--expires: expected ROLE=WHEN (targets=90d), "
					    "got '%s'", arg);
		memcpy(role, arg, (size_t)(eq - arg));
		role[eq - arg] = '\0';
		t = vf_tuf_type_from_name(role);
		if (!t || t == VF_TUF_ROOT)
			return vf_cli_usage(cmd, "--expires: role must be targets, snapshot or "
					    "timestamp, got '%s' (root expiry: vforge root expire)",
					    role);
		a->expires_text[t - 1] = eq + 1;
		return 0;
	}
	case VF_CLI_OPT_LOCK_WAIT: {
		uint64_t v;
		int r = vf_cli_parse_u64(cmd, "--lock-wait", arg, &v);

		if (r)
			return r;
		if (v > 86400)
			return vf_cli_usage(cmd, "--lock-wait: at most 86400 seconds, got %s", arg);
		a->lock_wait_s = (int)v;
		return 0;
	}
	}
	return 1;
}

int vf_cli_now(const struct vf_cli_cmd *cmd, const char *now_text, time_t *ret)
{
	bool has;
	int64_t v;
	int r;

	if (now_text) {
		uint64_t n;

		if ((r = vf_cli_parse_u64(cmd, "--now", now_text, &n)))
			return r;
		if (n > (1ULL << 53) - 1)
			return vf_cli_usage(cmd, "--now: expected seconds since 1970 below 2^53, "
					    "got %s", now_text);
		*ret = (time_t)n;
		return 0;
	}
	if ((r = vf_cli_source_date_epoch(&has, &v)))
		return r;
	*ret = has ? (time_t)v : time(NULL);
	return 0;
}

void vf_cli_free_signers(struct vf_signer **s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		vf_signer_free(s[i]);
	free(s);
}

int vf_cli_open_signers(const char *const *refs, size_t n, struct vf_signer ***ret,
			struct vf_err *err)
{
	struct vf_signer **s;
	int r;

	*ret = NULL;
	if (!n)
		return 0;
	s = calloc(n, sizeof(*s));
	if (!s)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if ((r = vf_signer_open(refs[i], &s[i], err))) {
			vf_cli_free_signers(s, i);
			return r;
		}
	}
	*ret = s;
	return 0;
}

int vf_cli_repo_setup(const struct vf_cli_cmd *cmd, const struct vf_cli_repo_args *a,
		      struct vf_repo_opts *opts, struct vf_signer ***ret_signers)
{
	struct vf_err err = { 0 };
	int r;

	memset(opts, 0, sizeof(*opts));
	*ret_signers = NULL;
	if ((r = vf_cli_now(cmd, a->now_text, &opts->now)))
		return r;
	opts->lock_wait_s = a->lock_wait_s;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const char *role = vf_tuf_type_name((enum vf_tuf_type)(i + 1));
		time_t t;

		if (!a->expires_text[i])
			continue;
		if (vf_repo_parse_when(a->expires_text[i], opts->now, &t, &err)) {
			vf_err_prefix(&err, "--expires %s", role);
			return vf_cli_usage(cmd, "%s", err.msg);
		}
		if (t <= opts->now)
			return vf_cli_usage(cmd, "--expires %s=%s: that is not after now (%lld)", role,
					    a->expires_text[i], (long long)opts->now);
		opts->expires[i] = t;
	}
	if (vf_cli_open_signers(a->keys, a->n_keys, ret_signers, &err))
		return vf_cli_fail(&err);
	return 0;
}

/* ---- shared by the TUF client commands (fetch, update) ------------------------------- */

int vf_cli_client_now(const struct vf_cli_cmd *cmd, const char *text, time_t *ret)
{
	struct vf_err err = { 0 };
	time_t now = time(NULL);

	if (!text) {
		*ret = now;
		return 0;
	}
	if (text[0] >= '0' && text[0] <= '9' && text[strspn(text, "0123456789")] == '\0') {
		uint64_t n;
		int r = vf_cli_parse_u64(cmd, "--now", text, &n);

		if (r)
			return r;
		if (n > (1ULL << 53) - 1)
			return vf_cli_usage(cmd, "--now: expected seconds since 1970 below 2^53, "
					    "got %s", text);
		*ret = (time_t)n;
		return 0;
	}
	if (vf_repo_parse_when(text, now, ret, &err))
		return vf_cli_usage(cmd, "--now: %s", err.msg);
	return 0;
}

int vf_cli_client_metadata_dir(const char *dir, const char *trusted_root, struct vf_err *err)
{
	struct stat st;
	char *root = NULL;
	int r = 0;

	if (stat(dir, &st)) {
		if (errno == ENOENT && !trusted_root)
			return vf_err_set(err, ENOENT, "metadata directory '%s' does not exist: on "
					  "first use, give the root to trust with --trusted-root", dir);
		if (errno != ENOENT)
			return vf_err_sys(err, errno, "metadata directory '%s'", dir);
		if (mkdir(dir, 0755))
			return vf_err_sys(err, errno, "cannot create the metadata directory '%s'",
					  dir);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return vf_err_set(err, ENOTDIR, "metadata directory '%s' is not a directory", dir);
	if (trusted_root)
		return 0;
	if (asprintf(&root, "%s/root.json", dir) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (access(root, F_OK))
		r = vf_err_set(err, ENOENT, "'%s' holds no trusted root.json: on first use, "
			       "give the root to trust with --trusted-root", dir);
	free(root);
	return r;
}
