/*
 * vforge repo add-update: publish a build's update targets (BOOT, ROOT and
 * HASH images) into a TUF repository and add the build to the manifest.json
 * target with its rollout waves (docs/update-manifest.md).
 */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/base/fs.h"
#include "keys/key.h"
#include "repo/metadata.h"
#include "repo/repo.h"
#include "repo/update_manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest build.json and waves file read. */
#define MAX_BUILD_JSON ((uint64_t)16 << 20)
#define MAX_WAVES_FILE ((uint64_t)1 << 20)

enum { OPT_BUILD = 256, OPT_WAVES, OPT_MAX_VERSION, OPT_JSON, OPT_HELP };

static const char help_text[] =
	"usage: vforge repo add-update <repo> --key REF... --build <outdir>/build.json\n"
	"                              [--waves FILE|default] [--max-version V] [--json]\n"
	"\n"
	"Copy a build's update targets (<name>-<arch>-<version>-boot.ext4.zst,\n"
	"-root.ext4.zst and -root.verity.zst, each checked against build.json's size\n"
	"and sha256) into the repository and add the build to the manifest.json\n"
	"target, then sign and publish targets, snapshot and timestamp.\n"
	"\n"
	"  --build FILE       build.json written by vforge build; the outputs are read\n"
	"                     from its directory\n"
	"  --waves FILE       the rollout plan: {\"waves\": [{\"start_after\": \"1h\" or an\n"
	"                     RFC 3339 time, \"fleet_percentage\": 1..100}, ...]}, the last\n"
	"                     at 100; 'default' (the default): 1h 1%, 4h 5%, 1d 15%,\n"
	"                     2d 40%, 4d 60%, 5d 90%, 6d 100%, starting now\n"
	"  --max-version V    max_version for every update of this variant and arch\n"
	"                     (default: the greatest of the new version and the current\n"
	"                     max_version); lower than the version pulls releases back\n"
	"  --json             print the summary as JSON\n" VF_CLI_REPO_HELP
	"See docs/update-manifest.md.\n";

struct args {
	struct vf_cli_repo_args common;
	const char *repo;
	const char *build;
	const char *waves; /* NULL: default */
	const char *max_version;
	bool json;
};

/* One update target: the build output, as build.json describes it and as copied. */
struct image {
	const char *role;   /* "boot", "root", "hash" */
	const char *suffix;
	char *name;         /* <name>-<arch>-<version><suffix> */
	char *path;         /* in the build directory */
	uint64_t size;      /* from build.json */
	char sha256[65];    /* from build.json, lower case */
};

static int parse(const struct vf_cli_cmd *cmd, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		VF_CLI_REPO_LONGOPTS,
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "waves", required_argument, NULL, OPT_WAVES },
		{ "max-version", required_argument, NULL, OPT_MAX_VERSION },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct vf_err err = { 0 };
	int opt, r;

	memset(a, 0, sizeof(*a));
	vf_cli_repo_args_init(&a->common);
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if ((r = vf_cli_repo_arg(cmd, opt, optarg, &a->common)) != 1) {
			if (r)
				return r;
			continue;
		}
		switch (opt) {
		case OPT_BUILD:
			a->build = optarg;
			break;
		case OPT_WAVES:
			a->waves = strcmp(optarg, "default") == 0 ? NULL : optarg;
			break;
		case OPT_MAX_VERSION:
			if (vf_update_manifest_version_check(optarg, &err))
				return vf_cli_usage(cmd, "add-update: --max-version: %s", err.msg);
			a->max_version = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
		case OPT_HELP:
			fputs(help_text, stdout);
			return -1;
		default:
			return vf_cli_bad_option(cmd, "add-update", opt, argv);
		}
	}
	if (optind >= argc)
		return vf_cli_usage(cmd, "add-update: missing <repo>");
	a->repo = argv[optind++];
	if (optind < argc)
		return vf_cli_usage(cmd, "add-update: unexpected operand '%s'", argv[optind]);
	if (!a->build)
		return vf_cli_usage(cmd, "add-update: --build <outdir>/build.json is required");
	if (!a->common.n_keys)
		return vf_cli_usage(cmd, "add-update: at least one --key is required");
	return VF_EXIT_OK;
}

/* Read a whole regular file of at most `max` bytes into `out`. */
static int read_file(const char *path, uint64_t max, struct vf_buf *out, struct vf_err *err)
{
	struct stat st;
	int64_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = vf_err_set(err, EINVAL, "'%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = vf_err_set(err, EFBIG, "'%s': %llu bytes, more than the %llu allowed", path,
				(unsigned long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	if (vf_buf_grow(out, (size_t)st.st_size + 1)) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	n = vf_fs_pread_full(fd, out->data, (size_t)st.st_size + 1, 0);
	if (n < 0) {
		rc = vf_err_sys(err, (int)-n, "cannot read '%s'", path);
		goto out;
	}
	if ((uint64_t)n > (uint64_t)st.st_size) {
		rc = vf_err_set(err, EIO, "'%s' grew while being read", path);
		goto out;
	}
	out->len = (size_t)n;
	out->data[n] = '\0';
out:
	close(fd);
	return rc;
}

/* A string member `key` of `obj`, for build.json; the message names the path. */
static int get_str(json_t *obj, const char *path, const char *key, const char **ret,
		   struct vf_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) || !*json_string_value(v)) {
		vf_err_set(err, EINVAL, "%s%s%s: expected a non-empty string", path,
			   *path ? "." : "", key);
		return -EINVAL;
	}
	*ret = json_string_value(v);
	return 0;
}

/* The directory part of a path ("." for a bare name); malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static bool is_lower_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Find the output `img->name` in build.json's outputs; fill size and sha256. */
static int find_output(json_t *doc, struct image *img, struct vf_err *err)
{
	json_t *outputs = json_object_get(doc, "outputs"), *o;
	size_t i;

	if (!json_is_array(outputs))
		return vf_err_set(err, EINVAL, "outputs: expected an array");
	json_array_foreach(outputs, i, o) {
		json_t *name = json_object_get(o, "name"), *size, *sha;

		if (!json_is_string(name) || strcmp(json_string_value(name), img->name) != 0)
			continue;
		size = json_object_get(o, "size");
		sha = json_object_get(o, "sha256");
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return vf_err_set(err, EINVAL, "outputs[%zu].size: expected an integer >= 0",
					  i);
		if (!json_is_string(sha) || !is_lower_hex64(json_string_value(sha)))
			return vf_err_set(err, EINVAL, "outputs[%zu].sha256: expected 64 lower-case "
					  "hex digits", i);
		img->size = (uint64_t)json_integer_value(size);
		memcpy(img->sha256, json_string_value(sha), 65);
		return 0;
	}
	return vf_err_set(err, ENOENT, "outputs: no entry named '%s' (the %s image)", img->name,
			  img->role);
}

/* Compare a file's length and sha256 with build.json's. */
static int check_sums(const struct image *img, uint64_t len, const char *sha256,
		      struct vf_err *err)
{
	if (len != img->size)
		return vf_err_set(err, VF_EVERIFY, "build output '%s': %llu bytes, build.json says "
				  "%llu", img->path, (unsigned long long)len,
				  (unsigned long long)img->size);
	if (strcmp(sha256, img->sha256) != 0)
		return vf_err_set(err, VF_EVERIFY, "build output '%s': sha256 %s, build.json says %s",
				  img->path, sha256, img->sha256);
	return 0;
}

/*
 * Read build.json: the variant's name, arch and version, and its three update
 * targets, each present in the build directory with build.json's size and
 * sha256.
 */
static int load_build(const char *path, struct vf_update *u, struct image imgs[3],
		      struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	json_t *doc = NULL, *variant;
	const char *name = NULL, *arch = NULL, *version = NULL;
	json_error_t jerr;
	char *dir = NULL;
	int r;

	if ((r = read_file(path, MAX_BUILD_JSON, &text, err)))
		goto out;
	/* jansson, not vf_cjson_parse(): build.json holds 64-bit GPT attribute bits */
	doc = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		r = vf_err_set(err, EINVAL, "line %d, column %d: %s", jerr.line, jerr.column,
			       jerr.text);
		goto prefix;
	}
	if (!json_is_object(doc)) {
		r = vf_err_set(err, EINVAL, "expected an object");
		goto prefix;
	}
	variant = json_object_get(doc, "variant");
	if (!json_is_object(variant)) {
		r = vf_err_set(err, EINVAL, "variant: expected an object {name, version, arch}");
		goto prefix;
	}
	if ((r = get_str(variant, "variant", "name", &name, err)) ||
	    (r = get_str(variant, "variant", "arch", &arch, err)) ||
	    (r = get_str(variant, "variant", "version", &version, err)))
		goto prefix;
	if ((r = vf_update_manifest_version_check(version, err))) {
		vf_err_prefix(err, "variant.version");
		goto prefix;
	}
	if (!(dir = dir_of(path)) || !(u->variant = strdup(name)) || !(u->arch = strdup(arch)) ||
	    !(u->version = strdup(version))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		struct image *img = &imgs[i];
		struct vf_tuf_hashes h;
		uint64_t len;

		if (asprintf(&img->name, "%s-%s-%s%s", name, arch, version, img->suffix) < 0) {
			img->name = NULL;
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if (asprintf(&img->path, "%s/%s", dir, img->name) < 0) {
			img->path = NULL;
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if ((r = find_output(doc, img, err)))
			goto prefix;
		if ((r = vf_tuf_hashes_build_file(img->path, false, &len, &h, err)))
			goto out;
		if ((r = check_sums(img, len, h.sha256, err)))
			goto out;
	}
	u->images.boot = imgs[0].name;
	u->images.root = imgs[1].name;
	u->images.hash = imgs[2].name;
	goto out;
prefix:
	vf_err_prefix(err, "'%s'", path);
out:
	free(dir);
	json_decref(doc);
	vf_buf_release(&text);
	return r;
}

/* The waves: the default plan or a plan file, starting at `now`. */
static int load_waves(const char *file, time_t now, struct vf_waves *w, struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	int r;

	if (!file)
		return vf_waves_build_default(now, w, err);
	if ((r = read_file(file, MAX_WAVES_FILE, &text, err)))
		return vf_err_prefix(err, "--waves");
	r = vf_waves_parse_plan(text.data, text.len, now, w, err);
	vf_buf_release(&text);
	if (r)
		vf_err_prefix(err, "waves file '%s'", file);
	return r;
}

/* The repository's manifest.json, or a new one when it has none. */
static int load_manifest(struct vf_repo *r, struct vf_update_manifest **ret, bool *ret_new,
			 struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	int rc;

	*ret_new = false;
	/* absent from targets.json: a new manifest; any other failure to read it is an error
	 * (a missing file must not start the manifest afresh) */
	if (!vf_tuf_targets_find_target(vf_repo_targets(r), VF_UPDATE_MANIFEST_NAME)) {
		*ret_new = true;
		*ret = vf_update_manifest_new();
		return *ret ? 0 : vf_err_set(err, ENOMEM, "out of memory");
	}
	rc = vf_repo_read_target(r, VF_UPDATE_MANIFEST_NAME, VF_UPDATE_MANIFEST_MAX, &text, err);
	if (!rc)
		rc = vf_update_manifest_parse(text.data, text.len, ret, err);
	vf_buf_release(&text);
	if (rc)
		vf_err_prefix(err, "repository '%s': target %s", vf_repo_dir(r),
			      VF_UPDATE_MANIFEST_NAME);
	return rc;
}

/* Copy an image in; what was copied must still be what build.json describes. */
static int add_image(struct vf_repo *r, const struct image *img, struct vf_err *err)
{
	const struct vf_tuf_target *t;
	int rc;

	if ((rc = vf_repo_add_target_file(r, img->path, img->name, NULL, err)))
		return rc;
	t = vf_tuf_targets_find_target(vf_repo_targets(r), img->name);
	if (!t)
		return vf_err_set(err, EIO, "target '%s' is missing from targets.json after "
				  "adding it", img->name);
	return check_sums(img, t->length, t->hashes.sha256, err);
}

static void print_text(const struct vf_update_manifest *m, const struct vf_update *added,
		       const struct image imgs[3], uint64_t manifest_len, const struct vf_repo *r,
		       bool new_manifest)
{
	const struct vf_waves *w = &added->waves;
	size_t same = 0;
	char first[32] = "", last[32] = "";

	for (size_t i = 0; i < m->n_updates; i++)
		same += !strcmp(m->updates[i].variant, added->variant) &&
			!strcmp(m->updates[i].arch, added->arch);
	printf("%s: added %s %s %s (%s%zu update%s); max_version %s on the %zu update%s of "
	       "%s %s\n", VF_UPDATE_MANIFEST_NAME, added->variant, added->arch, added->version,
	       new_manifest ? "new manifest, " : "", m->n_updates,
	       m->n_updates == 1 ? "" : "s", added->max_version, same, same == 1 ? "" : "s",
	       added->variant, added->arch);
	for (int i = 0; i < 3; i++)
		printf("  %-48s %12llu bytes\n", imgs[i].name, (unsigned long long)imgs[i].size);
	printf("  %-48s %12llu bytes\n", VF_UPDATE_MANIFEST_NAME, (unsigned long long)manifest_len);
	if (w->n) {
		vf_waves_format_time(w->v[0].time, w->v[0].nsec, first);
		vf_waves_format_time(w->v[w->n - 1].time, w->v[w->n - 1].nsec, last);
		printf("waves: %zu, seed %u at %s to seed %u at %s\n", w->n, w->v[0].seed, first,
		       w->v[w->n - 1].seed, last);
	}
	printf("published: targets version %llu, snapshot version %llu, timestamp version %llu\n",
	       (unsigned long long)vf_repo_targets(r)->version,
	       (unsigned long long)vf_repo_snapshot(r)->version,
	       (unsigned long long)vf_repo_timestamp(r)->version);
}

static int print_json(const struct vf_update_manifest *m, const struct vf_update *added,
		      const struct image imgs[3], uint64_t manifest_len,
		      const char *manifest_sha256, const struct vf_repo *r)
{
	json_t *out = json_object(), *targets = json_array(), *waves = json_array();
	int rc = 0;

	if (!out || !targets || !waves) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < 3; i++)
		json_array_append_new(targets, json_pack("{s:s, s:s, s:I, s:s}", "image",
							 imgs[i].role, "name", imgs[i].name,
							 "length", (json_int_t)imgs[i].size,
							 "sha256", imgs[i].sha256));
	json_array_append_new(targets, json_pack("{s:s, s:I, s:s}", "name",
						 VF_UPDATE_MANIFEST_NAME, "length",
						 (json_int_t)manifest_len, "sha256",
						 manifest_sha256));
	for (size_t i = 0; i < added->waves.n; i++) {
		char t[32];

		vf_waves_format_time(added->waves.v[i].time, added->waves.v[i].nsec, t);
		json_array_append_new(waves, json_pack("{s:I, s:s}", "seed",
						       (json_int_t)added->waves.v[i].seed,
						       "time", t));
	}
	json_object_set_new(out, "variant", json_string(added->variant));
	json_object_set_new(out, "arch", json_string(added->arch));
	json_object_set_new(out, "version", json_string(added->version));
	json_object_set_new(out, "max_version", json_string(added->max_version));
	json_object_set_new(out, "updates", json_integer((json_int_t)m->n_updates));
	json_object_set_new(out, "targets", targets);
	json_object_set_new(out, "waves", waves);
	targets = waves = NULL;
	json_object_set_new(out, "published",
			    json_pack("{s:I, s:I, s:I}", "targets",
				      (json_int_t)vf_repo_targets(r)->version, "snapshot",
				      (json_int_t)vf_repo_snapshot(r)->version, "timestamp",
				      (json_int_t)vf_repo_timestamp(r)->version));
	if (json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
		rc = -EIO;
	putchar('\n');
out:
	json_decref(targets);
	json_decref(waves);
	json_decref(out);
	return rc;
}

int vf_cli_repo_add_update(const struct vf_cli_cmd *cmd, int argc, char **argv)
{
	struct image imgs[3] = {
		{ .role = "boot", .suffix = "-boot.ext4.zst" },
		{ .role = "root", .suffix = "-root.ext4.zst" },
		{ .role = "hash", .suffix = "-root.verity.zst" },
	};
	struct vf_err err = { 0 };
	struct vf_signer **signers = NULL;
	struct vf_update_manifest *m = NULL;
	const struct vf_update *added;
	struct vf_buf text = VF_BUF_INIT;
	struct vf_update u;
	struct vf_repo *r = NULL;
	struct vf_repo_opts opts;
	struct vf_tuf_hashes mh;
	bool new_manifest = false;
	struct args a;
	int rc;

	memset(&u, 0, sizeof(u));
	memset(&mh, 0, sizeof(mh));
	vf_waves_init(&u.waves);
	rc = parse(cmd, argc, argv, &a);
	if (rc) {
		vf_cli_repo_args_release(&a.common);
		return rc < 0 ? VF_EXIT_OK : rc;
	}
	if ((rc = vf_cli_repo_setup(cmd, &a.common, &opts, &signers)))
		goto out;
	/* everything about the build first: nothing is locked or copied until it holds */
	if (load_build(a.build, &u, imgs, &err)) {
		vf_err_prefix(&err, "build");
		goto fail;
	}
	u.max_version = (char *)a.max_version;
	if (load_waves(a.waves, opts.now, &u.waves, &err))
		goto fail;
	if (vf_repo_open(a.repo, &opts, &r, &err) || load_manifest(r, &m, &new_manifest, &err))
		goto fail;
	if (vf_update_manifest_add_update(m, &u, &err)) {
		vf_err_prefix(&err, "%s", VF_UPDATE_MANIFEST_NAME);
		goto fail;
	}
	added = &m->updates[m->n_updates - 1];
	for (int i = 0; i < 3; i++)
		if (add_image(r, &imgs[i], &err))
			goto fail;
	if (vf_update_manifest_format(m, &text, &err) ||
	    vf_tuf_hashes_build(text.data, text.len, false, &mh, &err) ||
	    vf_repo_add_target_data(r, VF_UPDATE_MANIFEST_NAME, text.data, text.len, NULL, &err)) {
		vf_err_prefix(&err, "%s", VF_UPDATE_MANIFEST_NAME);
		goto fail;
	}
	if (vf_repo_publish(r, signers, a.common.n_keys, 0, &err))
		goto fail;
	if (a.json) {
		if (print_json(m, added, imgs, text.len, mh.sha256, r)) {
			vf_err_set(&err, EIO, "cannot write JSON");
			goto fail;
		}
	} else {
		print_text(m, added, imgs, text.len, r, new_manifest);
	}
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_repo_close(r);
	vf_update_manifest_free(m);
	vf_buf_release(&text);
	free(u.variant);
	free(u.arch);
	free(u.version);
	vf_waves_release(&u.waves);
	for (int i = 0; i < 3; i++) {
		free(imgs[i].name);
		free(imgs[i].path);
	}
	vf_cli_free_signers(signers, a.common.n_keys);
	vf_cli_repo_args_release(&a.common);
	return rc;
}
