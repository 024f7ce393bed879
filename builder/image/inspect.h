/**
 * @file inspect.h
 * @brief Read a disk image back: partitions, file systems, verity, command line.
 *
 * vf_image_inspect() reads the GPT, a summary of every ext4 file system it
 * finds, the verity superblock of HASH-A, the kernel command line from
 * BOOT-A, the root hash from its dm-mod.create= table, and checks ROOT-A
 * against HASH-A with that root hash (the whole data area, top-down).
 */
#ifndef VF_IMAGE_INSPECT_H
#define VF_IMAGE_INSPECT_H

#include "builder/base/err.h"
#include "builder/ext4/ext4.h"
#include "builder/gpt/gpt.h"
#include "builder/verity/verity.h"

#include <stdbool.h>

struct vf_inspect_part {
	struct vf_gpt_part gpt;
	bool has_ext4;
	struct vf_ext4_info ext4;
};

struct vf_inspect {
	struct vf_gpt_table table;       /**< as read */
	struct vf_inspect_part *parts;   /**< one per table entry */
	bool has_verity;                 /**< HASH-A holds a verity superblock */
	struct vf_verity_params verity;  /**< from that superblock */
	char *cmdline;                   /**< BOOT-A's command line, or NULL */
	bool has_root_hash;              /**< found in dm-mod.create= */
	uint8_t root_hash[VF_DIGEST_MAX];
	size_t root_hash_size;
	bool verified;                   /**< ROOT-A matches HASH-A and the root hash */
	struct vf_verity_failure failure;
	char verify_error[VF_ERR_MSG_MAX]; /**< why not, when !verified */
};

/**
 * Inspect `path`. Returns 0 when the image could be read (verification
 * result in ret->verified), or a negative errno when it could not.
 */
int vf_image_inspect(const char *path, unsigned threads, struct vf_inspect *ret,
		     struct vf_err *err);

/** Free what an inspection holds. */
void vf_image_inspect_release(struct vf_inspect *r);

#endif
