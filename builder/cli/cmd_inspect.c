/* vforge inspect: read a disk image back and check ROOT-A against HASH-A. */
#include "builder/cli/cli.h"

#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/image/inspect.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *uuid_json(const uint8_t u[16])
{
	char t[VF_UUID_TEXT_LEN + 1];

	vf_uuid_format(u, t);
	return json_string(t);
}

static int print_json(const struct vf_inspect *r)
{
	json_t *root = json_object(), *parts = json_array();
	char hex[2 * VF_DIGEST_MAX + 1];
	char *text;

	for (size_t i = 0; i < r->table.n_parts; i++) {
		const struct vf_inspect_part *p = &r->parts[i];
		const char *tn = vf_gpt_type_name(p->gpt.type);
		json_t *o = json_pack("{s:s,s:o,s:s,s:o,s:I,s:I,s:I}", "name", p->gpt.name, "type",
				      uuid_json(p->gpt.type), "type_name", tn ? tn : "", "uuid",
				      uuid_json(p->gpt.uuid), "first_lba", (json_int_t)p->gpt.first_lba,
				      "size", (json_int_t)(p->gpt.size_lba * VF_GPT_SECTOR),
				      "attributes", (json_int_t)p->gpt.attrs);

		if (p->has_ext4)
			json_object_set_new(o, "ext4", json_pack("{s:o,s:s,s:I,s:I,s:I,s:I,s:b}",
				"uuid", uuid_json(p->ext4.uuid), "label", p->ext4.label,
				"blocks", (json_int_t)p->ext4.blocks,
				"free_blocks", (json_int_t)p->ext4.free_blocks,
				"inodes", (json_int_t)p->ext4.inodes,
				"free_inodes", (json_int_t)p->ext4.free_inodes,
				"journal", p->ext4.journal));
		json_array_append_new(parts, o);
	}
	json_object_set_new(root, "disk_guid", uuid_json(r->table.disk_guid));
	json_object_set_new(root, "disk_size", json_integer((json_int_t)r->table.disk_size));
	json_object_set_new(root, "partitions", parts);
	if (r->has_verity) {
		vf_hex_format(r->verity.salt, r->verity.salt_size, hex);
		json_object_set_new(root, "verity", json_pack("{s:o,s:i,s:s,s:I,s:i,s:i,s:s}",
			"uuid", uuid_json(r->verity.uuid), "hash_type", (int)r->verity.hash_type,
			"hash_algorithm", r->verity.hash_name,
			"data_blocks", (json_int_t)r->verity.data_blocks,
			"data_block_size", (int)r->verity.data_block_size,
			"hash_block_size", (int)r->verity.hash_block_size, "salt", hex));
	}
	json_object_set_new(root, "kernel_cmdline", r->cmdline ? json_string(r->cmdline) : json_null());
	if (r->has_root_hash) {
		vf_hex_format(r->root_hash, r->root_hash_size, hex);
		json_object_set_new(root, "root_hash", json_string(hex));
	}
	json_object_set_new(root, "verified", json_boolean(r->verified));
	if (!r->verified)
		json_object_set_new(root, "verify_error", json_string(r->verify_error));
	text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(root);
	if (!text)
		return VF_EXIT_FAIL;
	printf("%s\n", text);
	free(text);
	return VF_EXIT_OK;
}

static void print_text(const struct vf_inspect *r)
{
	char u[VF_UUID_TEXT_LEN + 1], hex[2 * VF_DIGEST_MAX + 1];

	vf_uuid_format(r->table.disk_guid, u);
	printf("disk: %llu bytes, GUID %s\n", (unsigned long long)r->table.disk_size, u);
	printf("%-3s %-11s %-16s %10s %10s  %-36s  %s\n", "#", "name", "type", "start MiB", "size MiB",
	       "uuid", "attributes / file system");
	for (size_t i = 0; i < r->table.n_parts; i++) {
		const struct vf_inspect_part *p = &r->parts[i];
		const char *tn = vf_gpt_type_name(p->gpt.type);

		vf_uuid_format(p->gpt.uuid, u);
		printf("%-3zu %-11s %-16s %10llu %10llu  %s  ", i + 1, p->gpt.name, tn ? tn : "?",
		       (unsigned long long)(p->gpt.first_lba * VF_GPT_SECTOR >> 20),
		       (unsigned long long)(p->gpt.size_lba * VF_GPT_SECTOR >> 20), u);
		if (p->gpt.attrs)
			printf("attrs 0x%016llx ", (unsigned long long)p->gpt.attrs);
		if (p->has_ext4)
			printf("ext4 '%s' %llu/%llu blocks free%s", p->ext4.label,
			       (unsigned long long)p->ext4.free_blocks,
			       (unsigned long long)p->ext4.blocks, p->ext4.journal ? ", journal" : "");
		printf("\n");
	}
	if (r->has_verity) {
		vf_hex_format(r->verity.salt, r->verity.salt_size, hex);
		printf("verity (HASH-A): format %u, %s, %llu data blocks of %u, hash blocks of %u, salt %s\n",
		       r->verity.hash_type, r->verity.hash_name,
		       (unsigned long long)r->verity.data_blocks, r->verity.data_block_size,
		       r->verity.hash_block_size, hex);
	}
	if (r->cmdline)
		printf("kernel command line (BOOT-A): %s\n", r->cmdline);
	if (r->has_root_hash) {
		vf_hex_format(r->root_hash, r->root_hash_size, hex);
		printf("root hash: %s\n", hex);
	}
	printf("ROOT-A against HASH-A: %s\n", r->verified ? "verified" : r->verify_error);
}

int cmd_inspect(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("inspect");
	struct vf_inspect r;
	struct vf_err err = { 0 };
	const char *image = NULL;
	bool json = false;
	int rc;

	if ((rc = vf_cli_parse_json_operand(self, argc, argv, "<image>", &json, &image)))
		return rc < 0 ? VF_EXIT_OK : rc;
	if (vf_image_inspect(image, vf_cli_online_cpus(), &r, &err))
		return vf_cli_fail(&err);
	rc = json ? print_json(&r) : (print_text(&r), VF_EXIT_OK);
	if (!rc && !r.verified) {
		fprintf(stderr, "vforge: error: image '%s': ROOT-A does not verify: %s\n", image,
			r.verify_error);
		rc = VF_EXIT_VERIFY;
	}
	vf_image_inspect_release(&r);
	return rc;
}
