/*
 * vforge repo validate|expirations: check a repository from a trusted root as
 * a TUF client would, printing every problem; list when each role expires.
 */
#include "builder/cli/cli.h"

#include "repo/metadata.h"
#include "repo/repo.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_ROOT = 256, OPT_JSON, OPT_HELP, OPT_WITHIN };

static void fmt_time(time_t t, char out[32])
{
	char tmp[VF_TUF_TIME_LEN + 1];

	if (vf_tuf_time_format(t, tmp) == 0)
		snprintf(out, 32, "%s", tmp);
	else
		snprintf(out, 32, "@%lld", (long long)t);
}

/* "5d 3h", "3h 20m", "20m 5s", "45s" for a positive number of seconds. */
static void fmt_span(int64_t s, char out[48])
{
	if (s >= 86400)
		snprintf(out, 48, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, 48, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, 48, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, 48, "%llds", (long long)s);
}

/* "812 bytes", "1.2 kB", "3.4 GB" (powers of 1000). */
static void fmt_size(uint64_t n, char out[32])
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
	double x = (double)n;
	size_t u = 0;

	if (n < 1000) {
		snprintf(out, 32, "%llu byte%s", (unsigned long long)n, n == 1 ? "" : "s");
		return;
	}
	x /= 1000;
	while (x >= 999.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		x /= 1000;
		u++;
	}
	snprintf(out, 32, "%.1f %s", x, units[u]);
}

static int print_json(json_t *doc)
{
	char *text;

	if (!doc)
		goto fail;
	text = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(doc);
	if (!text)
		goto fail;
	printf("%s\n", text);
	free(text);
	return VF_EXIT_OK;
fail:
	fprintf(stderr, "vforge: error: cannot build the JSON output\n");
	return VF_EXIT_FAIL;
}

/* ---- validate ---------------------------------------------------------------------------- */

struct collect {
	bool json;
	json_t *problems; /* with --json */
	bool failed;      /* a problem could not be added to the JSON */
};

/*
 * Print text from a repository (role names, target paths) with control
 * characters as \xNN: one problem stays one line whatever the metadata holds.
 */
static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

static void on_problem(void *ctx, const char *file, const char *msg)
{
	struct collect *c = ctx;

	if (!c->json) {
		fputs("problem: ", stdout);
		put_clean(stdout, file);
		fputs(": ", stdout);
		put_clean(stdout, msg);
		putchar('\n');
		return;
	}
	if (json_array_append_new(c->problems,
				  json_pack("{s:s, s:s}", "file", file, "message", msg)))
		c->failed = true;
}

/* What the repository holds now (read again after validation, for the summary). */
struct summary {
	struct vf_repo_expiry *roles;
	size_t n_roles;
	uint64_t n_targets, target_bytes;
	bool has_targets;
};

static void summarise(const char *dir, struct summary *s)
{
	struct vf_err err = { 0 };

	memset(s, 0, sizeof(*s));
	if (vf_repo_expirations(dir, &s->roles, &s->n_roles, &err))
		return;
	s->has_targets = true;
	/* roles after root, timestamp and snapshot are targets roles */
	for (size_t i = 3; i < s->n_roles; i++) {
		struct vf_tuf_md *md = NULL;
		char *path = NULL;

		if (asprintf(&path, "%s/%s", dir, s->roles[i].file) < 0 ||
		    vf_tuf_md_load(path, VF_TUF_TARGETS, VF_TUF_PARSE_OPAQUE_KEYIDS, &md, &err)) {
			free(path);
			s->has_targets = false;
			return;
		}
		free(path);
		s->n_targets += md->n_targets;
		for (size_t k = 0; k < md->n_targets; k++)
			s->target_bytes += md->targets[k]->length;
		vf_tuf_md_free(md);
	}
}

static uint64_t role_version(const struct summary *s, const char *role)
{
	for (size_t i = 0; i < s->n_roles; i++)
		if (strcmp(s->roles[i].role, role) == 0)
			return s->roles[i].version;
	return 0;
}

static void print_summary(const struct summary *s)
{
	size_t n_del = s->n_roles > 4 ? s->n_roles - 4 : 0;
	char size[32];

	printf("repository valid: root v%llu, timestamp v%llu, snapshot v%llu, targets v%llu, "
	       "%zu delegated role%s",
	       (unsigned long long)role_version(s, "root"),
	       (unsigned long long)role_version(s, "timestamp"),
	       (unsigned long long)role_version(s, "snapshot"),
	       (unsigned long long)role_version(s, "targets"), n_del, n_del == 1 ? "" : "s");
	if (s->has_targets) {
		fmt_size(s->target_bytes, size);
		printf(", %llu target%s (%s) checked", (unsigned long long)s->n_targets,
		       s->n_targets == 1 ? "" : "s", size);
	}
	putchar('\n');
}

static json_t *roles_json(const struct summary *s)
{
	json_t *a = json_array();
	char t[32];

	for (size_t i = 0; a && i < s->n_roles; i++) {
		fmt_time(s->roles[i].expires, t);
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:s}", "role",
						       s->roles[i].role, "file", s->roles[i].file,
						       "version", (json_int_t)s->roles[i].version,
						       "expires", t))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int vf_cli_repo_validate(const struct vf_cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "now", required_argument, NULL, VF_CLI_OPT_NOW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct collect c = { 0 };
	struct summary s = { 0 };
	struct vf_err err = { 0 };
	struct vf_tuf_md *root = NULL;
	const char *root_path = NULL, *now_text = NULL, *dir;
	size_t n = 0;
	time_t now;
	int opt, r, rc;

	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_ROOT:
			root_path = optarg;
			break;
		case VF_CLI_OPT_NOW:
			now_text = optarg;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(cmd, "validate", opt, argv);
		}
	}
	if (optind == argc)
		return vf_cli_usage(cmd, "validate: missing <repo>");
	if (argc - optind > 1)
		return vf_cli_usage(cmd, "validate: unexpected argument '%s'", argv[optind + 1]);
	dir = argv[optind];
	if (!root_path)
		return vf_cli_usage(cmd, "validate: missing --root <trusted-root.json> (the root "
				    "clients trust, e.g. the repository's 1.root.json)");
	if ((rc = vf_cli_now(cmd, now_text, &now)))
		return rc;
	if (vf_tuf_md_load(root_path, VF_TUF_ROOT, VF_TUF_PARSE_OPAQUE_KEYIDS, &root, &err)) {
		vf_err_prefix(&err, "trusted root");
		return vf_cli_fail(&err);
	}
	if (c.json && !(c.problems = json_array())) {
		vf_tuf_md_free(root);
		fprintf(stderr, "vforge: error: out of memory\n");
		return VF_EXIT_FAIL;
	}

	r = vf_repo_validate(dir, root, now, on_problem, &c, &n, &err);
	vf_tuf_md_free(root);
	if (r && r != -VF_EVERIFY) {
		json_decref(c.problems);
		return vf_cli_fail(&err);
	}
	summarise(dir, &s);
	if (c.json) {
		json_t *doc = json_pack("{s:b, s:o, s:o*}", "valid", r == 0, "problems", c.problems,
					"roles", roles_json(&s));

		if (doc && !r && s.has_targets) {
			json_object_set_new(doc, "targets", json_integer((json_int_t)s.n_targets));
			json_object_set_new(doc, "target_bytes",
					    json_integer((json_int_t)s.target_bytes));
		}
		if (c.failed) {
			json_decref(doc);
			doc = NULL;
		}
		rc = print_json(doc);
	} else {
		if (!r)
			print_summary(&s);
		else
			printf("%zu problem%s\n", n, n == 1 ? "" : "s");
		rc = VF_EXIT_OK;
	}
	vf_repo_expirations_free(s.roles, s.n_roles);
	if (rc)
		return rc;
	return r ? vf_cli_fail(&err) : VF_EXIT_OK;
}

/* ---- expirations ------------------------------------------------------------------------- */

int vf_cli_repo_expirations(const struct vf_cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "within", required_argument, NULL, OPT_WITHIN },
		{ "now", required_argument, NULL, VF_CLI_OPT_NOW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *within_text = NULL, *now_text = NULL, *dir;
	struct vf_repo_expiry *v = NULL;
	struct vf_err err = { 0 };
	size_t n = 0, n_exp = 0, w = 4;
	int64_t within = 0;
	bool json = false;
	time_t now, limit;
	char nowt[32], t[32], span[48];
	int opt, rc;

	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_WITHIN:
			within_text = optarg;
			break;
		case VF_CLI_OPT_NOW:
			now_text = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(cmd, "expirations", opt, argv);
		}
	}
	if (optind == argc)
		return vf_cli_usage(cmd, "expirations: missing <repo>");
	if (argc - optind > 1)
		return vf_cli_usage(cmd, "expirations: unexpected argument '%s'", argv[optind + 1]);
	dir = argv[optind];
	if (within_text && vf_repo_parse_duration(within_text, &within, &err))
		return vf_cli_usage(cmd, "--within: %s", err.msg);
	if ((rc = vf_cli_now(cmd, now_text, &now)))
		return rc;
	if (vf_repo_expirations(dir, &v, &n, &err))
		return vf_cli_fail(&err);
	limit = now + (time_t)within;
	fmt_time(now, nowt);

	for (size_t i = 0; i < n; i++) {
		if (strlen(v[i].role) > w)
			w = strlen(v[i].role);
		n_exp += v[i].expires <= limit;
	}
	if (json) {
		json_t *roles = json_array(), *expiring = json_array(), *doc;

		for (size_t i = 0; roles && expiring && i < n; i++) {
			fmt_time(v[i].expires, t);
			json_array_append_new(roles, json_pack("{s:s, s:s, s:I, s:s, s:I}", "role",
							       v[i].role, "file", v[i].file,
							       "version", (json_int_t)v[i].version,
							       "expires", t, "expires_in_seconds",
							       (json_int_t)(v[i].expires - now)));
			if (v[i].expires <= limit)
				json_array_append_new(expiring, json_string(v[i].role));
		}
		doc = json_pack("{s:s, s:I, s:o*, s:o*}", "now", nowt, "within_seconds",
				(json_int_t)within, "roles", roles, "expiring", expiring);
		if ((rc = print_json(doc)))
			goto out;
	} else {
		for (size_t i = 0; i < n; i++) {
			fmt_time(v[i].expires, t);
			if (v[i].expires <= now)
				snprintf(span, sizeof(span), "EXPIRED");
			else
				fmt_span((int64_t)(v[i].expires - now), span);
			put_clean(stdout, v[i].role);
			printf("%*s  v%-6llu %s  %s%s%s%s\n", (int)(w - strlen(v[i].role)), "",
			       (unsigned long long)v[i].version, t,
			       v[i].expires <= now ? "" : "expires in ", span,
			       within_text && v[i].expires <= limit && v[i].expires > now ?
				       ", within " : "",
			       within_text && v[i].expires <= limit && v[i].expires > now ?
				       within_text : "");
		}
	}
	rc = VF_EXIT_OK;
	if (n_exp) {
		bool first = true;

		fmt_time(limit, t);
		if (within_text)
			fprintf(stderr, "vforge: error: %zu role%s expire%s within %s (by %s):", n_exp,
				n_exp == 1 ? "" : "s", n_exp == 1 ? "s" : "", within_text, t);
		else
			fprintf(stderr, "vforge: error: %zu role%s expired:", n_exp,
				n_exp == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			if (v[i].expires > limit)
				continue;
			fmt_time(v[i].expires, t);
			fputs(first ? " " : ", ", stderr);
			put_clean(stderr, v[i].role);
			fprintf(stderr, " (%s)", t);
			first = false;
		}
		fputc('\n', stderr);
		rc = VF_EXIT_FAIL;
	}
out:
	vf_repo_expirations_free(v, n);
	return rc;
}
