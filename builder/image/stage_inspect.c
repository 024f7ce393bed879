/* Reading a disk image back (inspect.h). */
#include "builder/image/inspect.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_MAX (64u * 1024u)

void vf_image_inspect_release(struct vf_inspect *r)
{
	if (!r)
		return;
	vf_gpt_table_release(&r->table);
	free(r->parts);
	free(r->cmdline);
	memset(r, 0, sizeof(*r));
}

static const struct vf_inspect_part *part_named(const struct vf_inspect *r, const char *name)
{
	for (size_t i = 0; i < r->table.n_parts; i++)
		if (strcmp(r->parts[i].gpt.name, name) == 0)
			return &r->parts[i];
	return NULL;
}

/*
 * The root hash from "dm-mod.create=\"name,uuid,minor,flags,<start> <len> verity
 * <version> <dev> <hashdev> <dbs> <hbs> <blocks> <hash_start> <alg> <root> <salt> ...\"".
 */
static bool root_hash_from_cmdline(const char *cmdline, uint8_t *out, size_t *len)
{
	const char *p = strstr(cmdline, " verity ");
	char tok[10][160];
	int n;

	if (!strstr(cmdline, "dm-mod.create=") || !p)
		return false;
	n = sscanf(p, " verity %159s %159s %159s %159s %159s %159s %159s %159s %159s %159s",
		   tok[0], tok[1], tok[2], tok[3], tok[4], tok[5], tok[6], tok[7], tok[8], tok[9]);
	if (n < 9)
		return false;
	return vf_hex_parse(tok[8], out, VF_DIGEST_MAX, len) == 0 && *len > 0;
}

static void verify_root(const char *path, unsigned threads, struct vf_inspect *r)
{
	const struct vf_inspect_part *root = part_named(r, "ROOT-A"), *hash = part_named(r, "HASH-A");
	struct vf_verity_opts o = { .threads = threads };
	struct vf_err e = { 0 };
	struct vf_verity_params p = r->verity;
	int fd;

	if (!root || !hash || !r->has_verity || !r->has_root_hash) {
		snprintf(r->verify_error, sizeof(r->verify_error),
			 "no %s to verify ROOT-A with",
			 !root || !hash ? "ROOT-A/HASH-A partitions" :
			 !r->has_verity ? "verity superblock in HASH-A" :
			 "root hash in BOOT-A's command line");
		return;
	}
	if (p.data_blocks * p.data_block_size > root->gpt.size_lba * VF_GPT_SECTOR) {
		snprintf(r->verify_error, sizeof(r->verify_error),
			 "the verity superblock covers %llu bytes, ROOT-A has %llu",
			 (unsigned long long)(p.data_blocks * p.data_block_size),
			 (unsigned long long)(root->gpt.size_lba * VF_GPT_SECTOR));
		return;
	}
	p.hash_offset = hash->gpt.first_lba * VF_GPT_SECTOR;
	o.data_offset = root->gpt.first_lba * VF_GPT_SECTOR;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(r->verify_error, sizeof(r->verify_error), "cannot open '%s'", path);
		return;
	}
	if (vf_verity_tree_verify(fd, fd, &p, &o, r->root_hash, r->root_hash_size, &r->failure, &e) == 0)
		r->verified = true;
	else
		snprintf(r->verify_error, sizeof(r->verify_error), "%s", e.msg);
	close(fd);
}

int vf_image_inspect(const char *path, unsigned threads, struct vf_inspect *ret,
		     struct vf_err *err)
{
	struct vf_inspect r;
	const struct vf_inspect_part *hash, *boot;
	int r_ = 0;

	memset(&r, 0, sizeof(r));
	if ((r_ = vf_gpt_read(path, &r.table, err)))
		return vf_err_prefix(err, "image '%s'", path);
	r.parts = calloc(r.table.n_parts ? r.table.n_parts : 1, sizeof(*r.parts));
	if (!r.parts) {
		vf_image_inspect_release(&r);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < r.table.n_parts; i++) {
		struct vf_err ignore = { 0 };

		r.parts[i].gpt = r.table.parts[i];
		r.parts[i].has_ext4 = vf_ext4_read_info(path, r.table.parts[i].first_lba * VF_GPT_SECTOR,
							 &r.parts[i].ext4, &ignore) == 0;
	}
	hash = part_named(&r, "HASH-A");
	if (hash) {
		struct vf_err ignore = { 0 };

		r.has_verity = vf_verity_sb_load(path, hash->gpt.first_lba * VF_GPT_SECTOR, &r.verity,
						 &ignore) == 0;
	}
	boot = part_named(&r, "BOOT-A");
	if (boot && boot->has_ext4) {
		struct vf_err ignore = { 0 };
		uint8_t *data = NULL;
		size_t len = 0;

		if (vf_ext4_read_file(path, boot->gpt.first_lba * VF_GPT_SECTOR, "/cmdline", CMDLINE_MAX,
				      &data, &len, &ignore) == 0) {
			r.cmdline = calloc(1, len + 1);
			if (r.cmdline) {
				memcpy(r.cmdline, data, len);
				r.cmdline[strcspn(r.cmdline, "\n")] = '\0';
				r.has_root_hash = root_hash_from_cmdline(r.cmdline, r.root_hash,
									 &r.root_hash_size);
			}
			free(data);
		}
	}
	verify_root(path, threads, &r);
	*ret = r;
	return 0;
}
