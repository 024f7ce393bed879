/* vforge key generate|id: make signing keys and print TUF keyids. */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/base/hex.h"
#include "keys/digest.h"
#include "keys/key.h"
#include "repo/cjson.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_TYPE = 256, OPT_JSON, OPT_HELP };

/* TUF's key object as vforge writes it into root.json (no keyid_hash_algorithms). */
static json_t *key_object(const struct vf_key *k, const char *public_text)
{
	return json_pack("{s:s, s:{s:s}, s:s}", "keytype", vf_key_keytype(k), "keyval", "public",
			 public_text, "scheme", vf_key_scheme(k));
}

/*
 * Print the keyid: sha256 of the canonical JSON of the key object, as
 * securesystemslib computes it; with --json, the key object as well.
 */
static int print_key(const struct vf_key *k, bool json)
{
	struct vf_err err = { 0 };
	struct vf_buf canon = VF_BUF_INIT;
	char *public_text = NULL, hex[2 * 32 + 1];
	json_t *obj = NULL, *out = NULL;
	uint8_t id[32];
	int rc = VF_EXIT_FAIL;

	if (vf_key_public_text(k, &public_text, &err))
		goto fail;
	obj = key_object(k, public_text);
	if (!obj) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	if (vf_cjson_encode(obj, &canon, &err)) {
		vf_err_prefix(&err, "keyid");
		goto fail;
	}
	if (vf_digest_buffer(vf_digest_alg_get("sha256"), canon.data, canon.len, id)) {
		vf_err_set(&err, EIO, "keyid: sha256 failed");
		goto fail;
	}
	vf_hex_format(id, sizeof(id), hex);
	if (!json) {
		printf("%s\n", hex);
		rc = VF_EXIT_OK;
		goto out;
	}
	out = json_pack("{s:s, s:O}", "keyid", hex, "key", obj);
	if (!out || json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
		vf_err_set(&err, EIO, "cannot write JSON");
		goto fail;
	}
	putchar('\n');
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	json_decref(out);
	json_decref(obj);
	vf_buf_release(&canon);
	free(public_text);
	return rc;
}

static int key_generate(const struct vf_cli_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct vf_err err = { 0 };
	const char *type_text = NULL, *out = NULL;
	enum vf_key_type type;
	struct vf_key *k = NULL;
	bool json = false;
	int c, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TYPE:
			type_text = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(self);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(self, NULL, c, argv);
		}
	}
	if (optind < argc)
		return vf_cli_usage(self, "generate: unexpected argument '%s'", argv[optind]);
	if (!type_text)
		return vf_cli_usage(self, "generate: missing --type ed25519|ecdsa-p256|rsa-3072");
	if (vf_key_type_parse(type_text, &type, &err))
		return vf_cli_usage(self, "--type: %s", err.msg);
	if (!out || !out[0])
		return vf_cli_usage(self, "generate: missing -o <path>");

	if (vf_key_generate(type, out, &err) || vf_key_load(out, &k, &err))
		return vf_cli_fail(&err);
	rc = print_key(k, json);
	vf_key_free(k);
	return rc;
}

/* A key reference: a key file (public or private), a pkcs11: URI or exec:<command>. */
static int key_id(const struct vf_cli_cmd *self, int argc, char **argv)
{
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	struct vf_key *k = NULL;
	const char *ref = NULL;
	bool json = false;
	int rc;

	if ((rc = vf_cli_parse_json_operand(self, argc, argv, "key", &json, &ref)))
		return rc < 0 ? VF_EXIT_OK : rc;
	if (!ref[0])
		return vf_cli_usage(self, "id: empty key reference");
	if (strncmp(ref, "pkcs11:", 7) == 0 || strncmp(ref, "exec:", 5) == 0) {
		if (vf_signer_open(ref, &s, &err))
			return vf_cli_fail(&err);
		rc = print_key(vf_signer_key(s), json);
		vf_signer_free(s);
		return rc;
	}
	if (vf_key_load(ref, &k, &err))
		return vf_cli_fail(&err);
	rc = print_key(k, json);
	vf_key_free(k);
	return rc;
}

int cmd_key(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("key");

	if (argc < 2)
		return vf_cli_usage(self, "missing the subcommand: generate or id");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vf_cli_help(self);
		return VF_EXIT_OK;
	}
	if (strcmp(argv[1], "generate") == 0)
		return key_generate(self, argc - 1, argv + 1);
	if (strcmp(argv[1], "id") == 0)
		return key_id(self, argc - 1, argv + 1);
	return vf_cli_usage(self, "unknown subcommand '%s': expected generate or id", argv[1]);
}
