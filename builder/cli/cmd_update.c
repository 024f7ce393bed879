/*
 * vforge update check|apply|status|rollback: the A/B updater (builder/update)
 * fed by the TUF client (repo/client.h). docs/update.md.
 */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/update/update.h"
#include "repo/client.h"
#include "repo/fetcher.h"
#include "repo/repo.h"
#include "repo/update_manifest.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char vf_cli_update_help[] =
	"Updates the inactive A/B bank of a disk (an image file or a block device) from\n"
	"a TUF repository published with 'vforge repo add-update'. docs/update.md.\n"
	"\n"
	"  check     refresh the TUF metadata, read manifest.json and print the update\n"
	"            the active bank should take (or \"up to date\"); exit 0 either way\n"
	"  apply     the same, then stream the update's boot, root and hash images into\n"
	"            the inactive bank, verify ROOT against HASH and the root hash in the\n"
	"            new BOOT's command line, and make that bank boot next (priority 2,\n"
	"            one try); the active bank is never written\n"
	"  status    both banks: release, A/B attributes, root hash, which is active\n"
	"            (the running, known-good bank) and which boots next\n"
	"  rollback  make the bank that does not boot next boot next again\n"
	"\n"
	"  --image IMG            the disk (image file or block device)\n"
	"  --metadata-dir DIR     the TUF trusted state (created on first use)\n"
	"  --metadata-url URL     the repository's metadata (http://, https://, file://)\n"
	"  --targets-url URL      the repository's targets\n"
	"  --trusted-root FILE    first use: the root.json to trust when DIR has none\n"
	"  --seed N               the device's wave seed, 0..2047 (default: from the disk\n"
	"                         GUID, which every copy of one image shares: devices\n"
	"                         should pass their own)\n"
	"  --ignore-waves         take an update before its wave reaches this seed\n"
	"  --version V            apply: install exactly version V (also a downgrade)\n"
	"  --now WHEN             the clock: seconds since 1970, RFC 3339 or a duration\n"
	"                         from now (default the system clock)\n"
	"  --json                 print the result as JSON\n"
	"Exit status: 0 success (also when there is no update), 1 failure, 2 usage,\n"
	"3 verification failed (TUF metadata or targets, the release file, verity).\n";

enum {
	OPT_IMAGE = 256, OPT_METADATA_DIR, OPT_METADATA_URL, OPT_TARGETS_URL, OPT_TRUSTED_ROOT,
	OPT_SEED, OPT_IGNORE_WAVES, OPT_VERSION, OPT_NOW, OPT_JSON, OPT_HELP
};

enum verb { CHECK, APPLY, STATUS, ROLLBACK };

struct args {
	enum verb verb;
	const char *image, *metadata_dir, *metadata_url, *targets_url, *trusted_root;
	const char *version, *now_text;
	bool has_seed, ignore_waves, json;
	uint32_t seed;
};

static int parse(const struct vf_cli_cmd *cmd, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "metadata-dir", required_argument, NULL, OPT_METADATA_DIR },
		{ "metadata-url", required_argument, NULL, OPT_METADATA_URL },
		{ "targets-url", required_argument, NULL, OPT_TARGETS_URL },
		{ "trusted-root", required_argument, NULL, OPT_TRUSTED_ROOT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "ignore-waves", no_argument, NULL, OPT_IGNORE_WAVES },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const verbs[] = { "check", "apply", "status", "rollback" };
	const char *verb;
	bool remote;
	int opt, r;

	if (argc < 2)
		return vf_cli_usage(cmd, "missing subcommand (check, apply, status, rollback)");
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		vf_cli_help(cmd);
		return -1;
	}
	a->verb = (enum verb)-1;
	for (int i = 0; i < 4; i++)
		if (strcmp(verb, verbs[i]) == 0)
			a->verb = (enum verb)i;
	if ((int)a->verb < 0)
		return vf_cli_usage(cmd, "unknown subcommand '%s' (check, apply, status, rollback)",
				    verb);
	remote = a->verb == CHECK || a->verb == APPLY;
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case OPT_IMAGE:
			a->image = optarg;
			break;
		case OPT_METADATA_DIR:
			a->metadata_dir = optarg;
			ok = remote;
			break;
		case OPT_METADATA_URL:
			a->metadata_url = optarg;
			ok = remote;
			break;
		case OPT_TARGETS_URL:
			a->targets_url = optarg;
			ok = remote;
			break;
		case OPT_TRUSTED_ROOT:
			a->trusted_root = optarg;
			ok = remote;
			break;
		case OPT_SEED: {
			uint64_t v;

			if ((r = vf_cli_parse_u64(cmd, "--seed", optarg, &v)))
				return r;
			if (v >= VF_WAVES_MAX_SEED)
				return vf_cli_usage(cmd, "--seed: from 0 to %u, got %s",
						    VF_WAVES_MAX_SEED - 1, optarg);
			a->seed = (uint32_t)v;
			a->has_seed = true;
			ok = remote || a->verb == STATUS;
			break;
		}
		case OPT_IGNORE_WAVES:
			a->ignore_waves = true;
			ok = remote;
			break;
		case OPT_VERSION:
			a->version = optarg;
			ok = a->verb == APPLY;
			break;
		case OPT_NOW:
			a->now_text = optarg;
			ok = remote;
			break;
		case OPT_JSON:
			a->json = true;
			ok = a->verb != ROLLBACK;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return -1;
		default:
			return vf_cli_bad_option(cmd, NULL, opt, argv);
		}
		if (!ok)
			return vf_cli_usage(cmd, "%s: option '%s' does not apply", verb,
					    argv[optind - 1]);
	}
	if (optind < argc)
		return vf_cli_usage(cmd, "unexpected operand '%s'", argv[optind]);
	if (!a->image)
		return vf_cli_usage(cmd, "%s: --image is required", verb);
	if (remote && (!a->metadata_dir || !a->metadata_url || !a->targets_url))
		return vf_cli_usage(cmd, "%s: --metadata-dir, --metadata-url and --targets-url are "
				    "required", verb);
	if (a->version) {
		struct vf_err e = { 0 };

		if (vf_update_manifest_version_check(a->version, &e))
			return vf_cli_usage(cmd, "--version: %s", e.msg);
	}
	return VF_EXIT_OK;
}

/* ---- the TUF side ------------------------------------------------------------------- */

struct remote {
	struct vf_fetcher *f;
	struct vf_client *c;
};

static void remote_release(struct remote *rm)
{
	vf_client_free(rm->c);
	vf_fetcher_free(rm->f);
}

static int remote_open(const struct args *a, time_t now, struct remote *rm, struct vf_err *err)
{
	struct vf_client_opts co = {
		.metadata_dir = a->metadata_dir,
		.metadata_url = a->metadata_url,
		.targets_url = a->targets_url,
		.trusted_root = a->trusted_root,
		.now = now,
	};
	int r;

	if ((r = vf_cli_client_metadata_dir(a->metadata_dir, a->trusted_root, err)) || (r = vf_fetcher_new(NULL, &rm->f, err)))
		return r;
	co.fetcher = rm->f;
	if ((r = vf_client_open(&co, &rm->c, err)))
		return vf_err_prefix(err, "trusted state '%s'", a->metadata_dir);
	return vf_client_refresh(rm->c, err);
}

/* The updater's pull: find the target through the client, stream it verified. */
static int pull_target(void *ctx, const char *name, vf_fetch_sink sink, void *sink_ctx,
		       struct vf_err *err)
{
	struct remote *rm = ctx;
	const struct vf_tuf_target *t = NULL;
	int r;

	if ((r = vf_client_find_target(rm->c, name, &t, NULL, err)))
		return r;
	return vf_client_stream_target(rm->c, t, sink, sink_ctx, err);
}

static int buf_sink(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	struct vf_buf *b = ctx;

	if (b->len + len > VF_UPDATE_MANIFEST_MAX)
		return vf_err_set(err, EFBIG, "%s is larger than %llu bytes", VF_UPDATE_MANIFEST_NAME,
				  (unsigned long long)VF_UPDATE_MANIFEST_MAX);
	if (vf_buf_add(b, data, len))
		return vf_err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* ---- printing ----------------------------------------------------------------------- */

static const char *bank_label(int k)
{
	return k == 0 ? "A" : k == 1 ? "B" : NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *uuid_json(const uint8_t u[16])
{
	char text[VF_UUID_TEXT_LEN + 1];

	vf_uuid_format(u, text);
	return json_string(text);
}

static json_t *bank_json(const struct vf_updater_bank *b)
{
	static const char *const roles[] = { "boot", "root", "hash" };
	json_t *o = json_object(), *parts = json_object();
	char hex[2 * VF_DIGEST_MAX + 1];

	if (!o || !parts) {
		json_decref(o);
		json_decref(parts);
		return NULL;
	}
	json_object_set_new(o, "bank", json_string(b->name == 'A' ? "A" : "B"));
	json_object_set_new(o, "present", json_boolean(b->present));
	json_object_set_new(o, "variant", str_or_null(b->has_release ? b->release.variant : NULL));
	json_object_set_new(o, "arch", str_or_null(b->has_release ? b->release.arch : NULL));
	json_object_set_new(o, "version", str_or_null(b->has_release ? b->release.version : NULL));
	json_object_set_new(o, "empty_reason", str_or_null(b->has_release ? NULL : b->why_empty));
	json_object_set_new(o, "priority", json_integer(b->priority));
	json_object_set_new(o, "tries", json_integer(b->tries));
	json_object_set_new(o, "successful", json_boolean(b->successful));
	json_object_set_new(o, "bootable", json_boolean(b->bootable));
	if (b->has_root_hash)
		vf_hex_format(b->root_hash, b->root_hash_size, hex);
	json_object_set_new(o, "root_hash", str_or_null(b->has_root_hash ? hex : NULL));
	for (int k = 0; b->present && k < VF_UPDATER_ROLES; k++)
		json_object_set_new(parts, roles[k],
				    json_pack("{s:s, s:o, s:I}", "name", b->part[k].name, "uuid",
					      uuid_json(b->part[k].uuid), "attributes",
					      (json_int_t)b->part[k].attrs));
	json_object_set_new(o, "partitions", parts);
	return o;
}

static json_t *status_json(const char *image, const struct vf_updater_status *st, uint32_t seed)
{
	json_t *banks = json_pack("[o, o]", bank_json(&st->bank[0]), bank_json(&st->bank[1]));

	if (!banks)
		return NULL;
	return json_pack("{s:s, s:o, s:I, s:o, s:o, s:o}", "image", image, "disk_guid",
			 uuid_json(st->disk_guid), "seed", (json_int_t)seed, "active",
			 str_or_null(bank_label(st->active)), "next",
			 str_or_null(bank_label(st->next)), "banks", banks);
}

static int print_json(json_t *j)
{
	int ok = j && json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0;

	json_decref(j);
	if (!ok) {
		fprintf(stderr, "vforge: error: cannot write the JSON report\n");
		return VF_EXIT_FAIL;
	}
	putchar('\n');
	return VF_EXIT_OK;
}

static void print_bank(const struct vf_updater_status *st, int k)
{
	const struct vf_updater_bank *b = &st->bank[k];
	char hex[2 * VF_DIGEST_MAX + 1];

	if (!b->present) {
		printf("bank %c: missing (%s)\n", b->name, b->why_empty);
		return;
	}
	if (b->has_release)
		printf("bank %c: %s %s %s", b->name, b->release.variant, b->release.arch,
		       b->release.version);
	else
		printf("bank %c: empty", b->name);
	printf("%s%s\n", st->active == k ? " [active]" : "", st->next == k ? " [next]" : "");
	printf("  priority %u, tries %u, %s, %s\n", b->priority, b->tries,
	       b->successful ? "successful" : "not successful",
	       b->bootable ? "bootable" : "not bootable");
	if (!b->has_release)
		printf("  empty: %s\n", b->why_empty);
	if (b->has_root_hash) {
		vf_hex_format(b->root_hash, b->root_hash_size, hex);
		printf("  root hash %s\n", hex);
	}
	for (int r = 0; r < VF_UPDATER_ROLES; r++) {
		char u[VF_UUID_TEXT_LEN + 1];

		vf_uuid_format(b->part[r].uuid, u);
		printf("  %-7s %s\n", b->part[r].name, u);
	}
}

static void print_status(const char *image, const struct vf_updater_status *st, uint32_t seed)
{
	char g[VF_UUID_TEXT_LEN + 1];

	vf_uuid_format(st->disk_guid, g);
	printf("image '%s': disk GUID %s, wave seed %u\n", image, g, seed);
	print_bank(st, 0);
	print_bank(st, 1);
	printf("active: %s, next boot: %s\n", st->active < 0 ? "none" : bank_label(st->active),
	       st->next < 0 ? "none" : bank_label(st->next));
}

/* ---- the verbs ---------------------------------------------------------------------- */

static int do_status(const struct args *a)
{
	struct vf_updater_status st;
	struct vf_err err = { 0 };
	uint32_t seed;

	if (vf_updater_status_read(a->image, &st, &err))
		return vf_cli_fail(&err);
	seed = a->has_seed ? a->seed : vf_updater_seed(st.disk_guid);
	if (a->json)
		return print_json(status_json(a->image, &st, seed));
	print_status(a->image, &st, seed);
	return VF_EXIT_OK;
}

static int do_rollback(const struct args *a)
{
	struct vf_updater_status st;
	struct vf_err err = { 0 };
	int bank = -1;

	if (vf_updater_rollback(a->image, &bank, &err))
		return vf_cli_fail(&err);
	if (vf_updater_status_read(a->image, &st, &err))
		return vf_cli_fail(&err);
	printf("rolled back: bank %s (%s %s) boots next\n", bank_label(bank),
	       st.bank[bank].release.variant, st.bank[bank].release.version);
	print_bank(&st, 0);
	print_bank(&st, 1);
	return VF_EXIT_OK;
}

/*
 * Whether the update is already in the inactive bank and boots next (applied,
 * not yet booted): then apply has nothing to do.
 */
static bool pending(const struct vf_updater_status *st, const struct vf_update *u)
{
	const struct vf_updater_bank *b;

	if (st->active < 0 || st->next < 0 || st->next == st->active)
		return false;
	b = &st->bank[st->next];
	return b->has_release && strcmp(b->release.variant, u->variant) == 0 &&
	       strcmp(b->release.arch, u->arch) == 0 && strcmp(b->release.version, u->version) == 0;
}

static json_t *update_json(const struct vf_update *u)
{
	if (!u)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "variant", u->variant, "arch",
			 u->arch, "version", u->version, "max_version", u->max_version, "images",
			 "boot", u->images.boot, "root", u->images.root, "hash", u->images.hash);
}

static int do_remote(const struct vf_cli_cmd *cmd, const struct args *a)
{
	struct vf_updater_status st;
	struct vf_err err = { 0 };
	struct remote rm = { 0 };
	struct vf_buf text = VF_BUF_INIT;
	struct vf_update_manifest *m = NULL;
	const struct vf_update *u = NULL;
	const struct vf_tuf_target *t = NULL;
	const struct vf_updater_bank *cur;
	struct vf_updater_apply_result res;
	uint32_t seed;
	time_t now;
	int rc;

	if ((rc = vf_cli_client_now(cmd, a->now_text, &now)))
		return rc;
	if (vf_updater_status_read(a->image, &st, &err))
		goto fail;
	seed = a->has_seed ? a->seed : vf_updater_seed(st.disk_guid);
	if (remote_open(a, now, &rm, &err))
		goto fail;
	if (vf_client_find_target(rm.c, VF_UPDATE_MANIFEST_NAME, &t, NULL, &err) ||
	    vf_client_stream_target(rm.c, t, buf_sink, &text, &err)) {
		vf_err_prefix(&err, "target %s", VF_UPDATE_MANIFEST_NAME);
		goto fail;
	}
	if (vf_updater_find(&st, text.data, text.len, seed, now, a->ignore_waves, a->version, &m,
			    &u, &err))
		goto fail;
	cur = &st.bank[st.active];

	if (a->verb == CHECK || !u || pending(&st, u)) {
		bool is_pending = u && pending(&st, u);

		if (a->json) {
			rc = print_json(json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:I, s:o, s:b}",
						  "image", a->image, "active", bank_label(st.active),
						  "current", "variant", cur->release.variant, "arch",
						  cur->release.arch, "version", cur->release.version,
						  "seed", (json_int_t)seed, "update", update_json(u),
						  "installed", is_pending));
			goto out;
		}
		printf("bank %c: %s %s %s (wave seed %u)\n", cur->name, cur->release.variant,
		       cur->release.arch, cur->release.version, seed);
		if (!u)
			printf("up to date: no update for %s %s %s\n", cur->release.variant,
			       cur->release.arch, cur->release.version);
		else if (is_pending)
			printf("%s is installed in bank %c and boots next\n", u->version,
			       st.bank[st.next].name);
		else
			printf("update available: %s %s %s (max_version %s)\n", u->variant, u->arch,
			       u->version, u->max_version);
		rc = VF_EXIT_OK;
		goto out;
	}

	/* apply */
	{
		struct vf_updater_apply_opts o = {
			.variant = u->variant,
			.arch = u->arch,
			.version = u->version,
			.target = { u->images.boot, u->images.root, u->images.hash },
			.pull = pull_target,
			.pull_ctx = &rm,
			.threads = vf_cli_online_cpus(),
		};
		char hex[2 * VF_DIGEST_MAX + 1];
		char bank;

		if (!a->json)
			printf("installing %s %s %s into bank %c (bank %c, %s, stays active)\n",
			       u->variant, u->arch, u->version, 'A' + (1 - st.active), cur->name,
			       cur->release.version);
		fflush(stdout);
		if (vf_updater_apply(a->image, &o, &res, &err))
			goto fail;
		bank = (char)('A' + res.bank);
		vf_hex_format(res.root_hash, res.root_hash_size, hex);
		if (a->json) {
			rc = print_json(json_pack("{s:s, s:s, s:o, s:s, s:s, s:{s:I, s:I, s:I}}",
						  "image", a->image, "bank", res.bank ? "B" : "A",
						  "update", update_json(u), "root_hash", hex,
						  "active", bank_label(st.active), "written",
						  "boot", (json_int_t)res.written[0],
						  "root", (json_int_t)res.written[1],
						  "hash", (json_int_t)res.written[2]));
			goto out;
		}
		printf("wrote BOOT-%c %llu bytes, ROOT-%c %llu bytes, HASH-%c %llu bytes\n", bank,
		       (unsigned long long)res.written[0], bank, (unsigned long long)res.written[1],
		       bank, (unsigned long long)res.written[2]);
		printf("ROOT-%c verified against HASH-%c, root hash %s\n", bank, bank, hex);
		printf("bank %c boots next (priority 2, 1 try); bank %c is the fallback (priority 1)\n",
		       bank, cur->name);
		rc = VF_EXIT_OK;
	}
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_update_manifest_free(m);
	vf_buf_release(&text);
	remote_release(&rm);
	return rc;
}

int cmd_update(int argc, char **argv)
{
	const struct vf_cli_cmd *cmd = vf_cli_cmd_find("update");
	struct args a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(cmd, argc, argv, &a);
	if (rc)
		return rc < 0 ? VF_EXIT_OK : rc;
	switch (a.verb) {
	case STATUS:
		rc = do_status(&a);
		break;
	case ROLLBACK:
		rc = do_rollback(&a);
		break;
	default:
		rc = do_remote(cmd, &a);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vforge: error: cannot write to stdout\n");
		return VF_EXIT_FAIL;
	}
	return rc;
}
