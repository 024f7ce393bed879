/* vforge fetch: refresh a TUF client's trusted state and download verified targets. */
#include "builder/cli/cli.h"

#include "repo/client.h"
#include "repo/fetcher.h"
#include "repo/metadata.h"
#include "repo/repo.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char vf_cli_fetch_help[] =
	"A TUF client (specification 1.0, section 5): updates the trusted metadata in\n"
	"--metadata-dir from --metadata-url (root chain, timestamp, snapshot, targets)\n"
	"with every check the specification names, then downloads each --target into\n"
	"-o DIR, verified against its length and hashes. The trusted state changes only\n"
	"when the whole refresh verifies. docs/fetch.md has the details.\n"
	"\n"
	"  --metadata-dir DIR     the trusted state: root.json, timestamp.json, ...\n"
	"                         (created on first use with --trusted-root)\n"
	"  --metadata-url URL     where the repository's metadata is (http://, https://,\n"
	"                         file://)\n"
	"  --trusted-root FILE    first use: the root.json to trust when DIR has none;\n"
	"                         ignored once DIR holds one\n"
	"  --targets-url URL      where the repository's targets are\n"
	"  --target NAME          a target to download (repeatable; needs --targets-url\n"
	"                         and -o); found through delegations as well\n"
	"  -o, --output DIR       write targets to DIR/NAME (subdirectories created); a\n"
	"                         file already there with the right length and hashes\n"
	"                         is kept and not downloaded again\n"
	"  --max-root-rotations N at most N new root versions in one refresh (default 256)\n"
	"  --now WHEN             the current time for expiry checks: seconds since 1970,\n"
	"                         RFC 3339, or a duration from now (30d: \"will it still\n"
	"                         verify in 30 days?\"); default the system clock\n"
	"                         (SOURCE_DATE_EPOCH is ignored: a client's clock must\n"
	"                         not be frozen by the environment)\n"
	"  --timeout S            give up on any download after S seconds (default none:\n"
	"                         sizes bound them)\n"
	"  --connect-timeout S    give up connecting after S seconds (default 30)\n"
	"  --json                 print the result as JSON\n"
	"Exit status: 0 success, 1 failure (network, files), 2 usage, 3 verification\n"
	"failed (the message names the role, the check and the values).\n";

enum {
	OPT_METADATA_DIR = 256, OPT_METADATA_URL, OPT_TRUSTED_ROOT, OPT_TARGETS_URL, OPT_TARGET,
	OPT_MAX_ROOT_ROTATIONS, OPT_NOW, OPT_TIMEOUT, OPT_CONNECT_TIMEOUT, OPT_JSON, OPT_HELP
};

struct args {
	const char *metadata_dir, *metadata_url, *trusted_root, *targets_url, *output, *now_text;
	const char **targets;
	size_t n_targets;
	uint64_t max_root_rotations;
	unsigned timeout_s, connect_timeout_s;
	bool json;
};

/* One downloaded (or already present) target, for the report. */
struct result {
	const char *name;
	const char *role;  /* borrowed from the client */
	char *path;
	uint64_t length;
	bool cached;
};

/* The schemes the fetcher speaks (repo/fetcher.h), checked early for a usage error. */
static bool url_ok(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8) ||
	       !strncasecmp(url, "file://", 7);
}

static int parse(const struct vf_cli_cmd *cmd, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "metadata-dir", required_argument, NULL, OPT_METADATA_DIR },
		{ "metadata-url", required_argument, NULL, OPT_METADATA_URL },
		{ "trusted-root", required_argument, NULL, OPT_TRUSTED_ROOT },
		{ "targets-url", required_argument, NULL, OPT_TARGETS_URL },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "output", required_argument, NULL, 'o' },
		{ "max-root-rotations", required_argument, NULL, OPT_MAX_ROOT_ROTATIONS },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_METADATA_DIR:
			a->metadata_dir = optarg;
			break;
		case OPT_METADATA_URL:
			a->metadata_url = optarg;
			break;
		case OPT_TRUSTED_ROOT:
			a->trusted_root = optarg;
			break;
		case OPT_TARGETS_URL:
			a->targets_url = optarg;
			break;
		case OPT_TARGET: {
			const char **v = realloc(a->targets, (a->n_targets + 1) * sizeof(*v));

			if (!v) {
				fprintf(stderr, "vforge: error: out of memory\n");
				return VF_EXIT_FAIL;
			}
			v[a->n_targets++] = optarg;
			a->targets = v;
			break;
		}
		case 'o':
			a->output = optarg;
			break;
		case OPT_MAX_ROOT_ROTATIONS:
			if ((r = vf_cli_parse_u64(cmd, "--max-root-rotations", optarg,
						  &a->max_root_rotations)))
				return r;
			if (a->max_root_rotations < 1 || a->max_root_rotations > 1000000)
				return vf_cli_usage(cmd, "--max-root-rotations: from 1 to 1000000, "
						    "got %s", optarg);
			break;
		case OPT_NOW:
			a->now_text = optarg;
			break;
		case OPT_TIMEOUT:
			if ((r = vf_cli_parse_seconds(cmd, "--timeout", optarg, &a->timeout_s)))
				return r;
			break;
		case OPT_CONNECT_TIMEOUT:
			if ((r = vf_cli_parse_seconds(cmd, "--connect-timeout", optarg,
					       &a->connect_timeout_s)))
				return r;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return -1;
		default:
			return vf_cli_bad_option(cmd, NULL, opt, argv);
		}
	}
	if (optind < argc)
		return vf_cli_usage(cmd, "unexpected operand '%s'", argv[optind]);
	if (!a->metadata_dir)
		return vf_cli_usage(cmd, "--metadata-dir is required");
	if (!a->metadata_url)
		return vf_cli_usage(cmd, "--metadata-url is required");
	if (!url_ok(a->metadata_url))
		return vf_cli_usage(cmd, "--metadata-url: expected an http://, https:// or file:// "
				    "URL, got '%s'", a->metadata_url);
	if (a->targets_url && !url_ok(a->targets_url))
		return vf_cli_usage(cmd, "--targets-url: expected an http://, https:// or file:// "
				    "URL, got '%s'", a->targets_url);
	if (a->n_targets && !a->targets_url)
		return vf_cli_usage(cmd, "--target needs --targets-url");
	if (a->n_targets && !a->output)
		return vf_cli_usage(cmd, "--target needs -o DIR");
	if (a->output && !a->n_targets)
		return vf_cli_usage(cmd, "-o needs at least one --target");
	return VF_EXIT_OK;
}

static void print_text(struct vf_client *c, const struct result *res, size_t n)
{
	const struct vf_client_change *ch;
	size_t n_ch = 0;

	ch = vf_client_changes(c, &n_ch);
	for (size_t i = 0; i < n_ch; i++) {
		const char *name = vf_tuf_type_name(ch[i].type);
		unsigned long long o = ch[i].old_version, v = ch[i].new_version;

		if (o == v)
			printf("%-10s version %llu (unchanged)\n", name, v);
		else if (!o)
			printf("%-10s version %llu (new)\n", name, v);
		else
			printf("%-10s version %llu -> %llu\n", name, o, v);
	}
	for (size_t i = 0; i < n; i++)
		printf("target %s: %s, %llu bytes, '%s' (role %s)\n", res[i].name,
		       res[i].cached ? "already present" : "downloaded",
		       (unsigned long long)res[i].length, res[i].path, res[i].role);
}

static json_t *version_json(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

static int print_json(struct vf_client *c, const struct args *a, const struct result *res,
		      size_t n)
{
	const struct vf_client_change *ch;
	size_t n_ch = 0;
	json_t *j = json_object(), *roles = json_array(), *targets = json_array();
	bool ok = j && roles && targets;

	ch = vf_client_changes(c, &n_ch);
	for (size_t i = 0; ok && i < n_ch; i++) {
		json_t *o = json_pack("{s:s, s:o, s:o, s:b}", "role", vf_tuf_type_name(ch[i].type),
				      "old_version", version_json(ch[i].old_version),
				      "new_version", version_json(ch[i].new_version), "updated",
				      ch[i].old_version != ch[i].new_version);

		ok = o && !json_array_append_new(roles, o);
	}
	for (size_t i = 0; ok && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", res[i].name, "role",
				      res[i].role, "length", (json_int_t)res[i].length, "path",
				      res[i].path, "status",
				      res[i].cached ? "present" : "downloaded");

		ok = o && !json_array_append_new(targets, o);
	}
	ok = ok && !json_object_set_new(j, "metadata_dir", json_string(a->metadata_dir)) &&
	     !json_object_set_new(j, "metadata_url", json_string(a->metadata_url)) &&
	     !json_object_set(j, "roles", roles) && !json_object_set(j, "targets", targets);
	if (ok) {
		ok = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0;
		putchar('\n');
	}
	json_decref(roles);
	json_decref(targets);
	json_decref(j);
	if (!ok) {
		fprintf(stderr, "vforge: error: cannot write the JSON report\n");
		return VF_EXIT_FAIL;
	}
	return VF_EXIT_OK;
}

int cmd_fetch(int argc, char **argv)
{
	const struct vf_cli_cmd *cmd = vf_cli_cmd_find("fetch");
	struct vf_err err = { 0 };
	struct args a = { 0 };
	struct vf_fetcher *f = NULL;
	struct vf_client *c = NULL;
	struct result *res = NULL;
	size_t n_res = 0;
	time_t now;
	int rc;

	rc = parse(cmd, argc, argv, &a);
	if (rc) {
		rc = rc < 0 ? VF_EXIT_OK : rc;
		goto out;
	}
	if ((rc = vf_cli_client_now(cmd, a.now_text, &now)))
		goto out;
	if (vf_cli_client_metadata_dir(a.metadata_dir, a.trusted_root, &err))
		goto fail;

	/* fetch: a fetcher and the trusted state */
	{
		struct vf_fetcher_opts fo = {
			.connect_timeout_s = a.connect_timeout_s,
			.timeout_s = a.timeout_s,
		};
		struct vf_client_opts co = {
			.metadata_dir = a.metadata_dir,
			.metadata_url = a.metadata_url,
			.targets_url = a.targets_url,
			.trusted_root = a.trusted_root,
			.max_root_rotations = (unsigned)a.max_root_rotations,
			.now = now,
		};

		if (vf_fetcher_new(&fo, &f, &err))
			goto fail;
		co.fetcher = f;
		if (vf_client_open(&co, &c, &err)) {
			vf_err_prefix(&err, "trusted state '%s'", a.metadata_dir);
			goto fail;
		}
	}
	/* refresh: the top-level roles, all or nothing */
	if (vf_client_refresh(c, &err))
		goto fail;

	/* download: each target, found through the delegations */
	res = calloc(a.n_targets ? a.n_targets : 1, sizeof(*res));
	if (!res) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < a.n_targets; i++) {
		const struct vf_tuf_target *t = NULL;
		const char *role = NULL;
		struct result *r = &res[n_res];

		if (vf_client_find_target(c, a.targets[i], &t, &role, &err))
			goto fail;
		r->name = a.targets[i];
		r->role = role ? role : "targets";
		r->length = t->length;
		if (asprintf(&r->path, "%s/%s", a.output, t->path) < 0) {
			r->path = NULL;
			vf_err_set(&err, ENOMEM, "out of memory");
			goto fail;
		}
		n_res++;
		if (vf_client_download_target(c, t, r->path, &r->cached, &err))
			goto fail; /* the message names the target */
	}

	/* report */
	if (a.json) {
		rc = print_json(c, &a, res, n_res);
	} else {
		print_text(c, res, n_res);
		rc = VF_EXIT_OK;
	}
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	for (size_t i = 0; i < n_res; i++)
		free(res[i].path);
	free(res);
	vf_client_free(c);
	vf_fetcher_free(f);
	free(a.targets);
	return rc;
}
