/*
 * Small shared pieces: libext2fs error codes to errno and messages, ext4
 * time encoding, xattr name indexes, option validation.
 */
#include "builder/ext4/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vf_ext4_errno(errcode_t code)
{
	/* libext2fs passes plain errno values through unchanged */
	if (code > 0 && code < 4096)
		return (int)code;
	switch (code) {
	case EXT2_ET_NO_MEMORY:
		return ENOMEM;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_TOOSMALL:
	case EXT2_ET_TOO_MANY_INODES:
	case EXT2_ET_JOURNAL_TOO_SMALL:
	case EXT2_ET_RES_GDT_BLOCKS:
		return ENOSPC;
	case EXT2_ET_FILE_NOT_FOUND:
		return ENOENT;
	case EXT2_ET_NO_DIRECTORY:
		return ENOTDIR;
	case EXT2_ET_FILE_TOO_BIG:
		return EFBIG;
	case EXT2_ET_SYMLINK_LOOP:
		return ELOOP;
	case EXT2_ET_BAD_MAGIC:
	case EXT2_ET_SB_CSUM_INVALID:
	case EXT2_ET_CORRUPT_SUPERBLOCK:
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
	case EXT2_ET_UNEXPECTED_BLOCK_SIZE:
		return EINVAL;
	case EXT2_ET_INVALID_ARGUMENT:
		return EINVAL;
	default:
		return EIO;
	}
}

/* error_message() knows libext2fs's codes only once their table is registered. */
static pthread_once_t error_table_once = PTHREAD_ONCE_INIT;

static void register_error_table(void)
{
	initialize_ext2_error_table();
}

int vf_ext4_errcode(struct vf_err *err, errcode_t code, const char *fmt, ...)
{
	char what[VF_ERR_MSG_MAX];
	va_list ap;

	pthread_once(&error_table_once, register_error_table);

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vf_err_set(err, vf_ext4_errno(code), "%s: %s", what, error_message(code));
}

void vf_ext4_time_encode(int64_t t, uint32_t *ret_lo, uint32_t *ret_extra)
{
	/* the low 32 bits are read back as signed; the epoch bits add 2^32 each */
	int64_t lo = (int32_t)(uint32_t)((uint64_t)t & 0xffffffffu);
	uint64_t epoch = (uint64_t)(t - lo) >> 32;

	*ret_lo = (uint32_t)((uint64_t)t & 0xffffffffu);
	*ret_extra = (uint32_t)(epoch & EXT4_EPOCH_MASK);
}

/* libext2fs's prefixes (lib/ext2fs/ext_attr.c), most specific first. */
static const struct {
	const char *prefix;
	int index;
} xattr_prefixes[] = {
	{ "system.posix_acl_access", 2 },
	{ "system.posix_acl_default", 3 },
	{ "security.", 6 },
	{ "trusted.", 4 },
	{ "user.", 1 },
};

int vf_ext4_xattr_index(const char *name, const char **ret_suffix)
{
	for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++) {
		size_t len = strlen(xattr_prefixes[i].prefix);

		if (!strncmp(name, xattr_prefixes[i].prefix, len)) {
			*ret_suffix = name + len;
			return xattr_prefixes[i].index;
		}
	}
	*ret_suffix = name;
	return -1;
}

int vf_ext4_params_init(struct vf_ext4_params *p, const struct vf_ext4_opts *opts,
			bool check_size, struct vf_err *err)
{
	memset(p, 0, sizeof(*p));
	if (!opts)
		return vf_err_set(err, EINVAL, "no options");
	p->block_size = opts->block_size ? opts->block_size : 4096;
	if (p->block_size != 1024 && p->block_size != 2048 && p->block_size != 4096)
		return vf_err_set(err, EINVAL, "block size %u is not 1024, 2048 or 4096",
				  p->block_size);
	p->inode_size = opts->inode_size ? opts->inode_size : 256;
	if (p->inode_size != 128 && p->inode_size != 256)
		return vf_err_set(err, EINVAL, "inode size %u is not 128 or 256", p->inode_size);
	if (opts->label && strlen(opts->label) > 16)
		return vf_err_set(err, EINVAL, "label '%s' is %zu bytes long; at most 16 fit",
				  opts->label, strlen(opts->label));
	if (opts->label)
		strcpy(p->label, opts->label);
	if (opts->reserved_percent > 50)
		return vf_err_set(err, EINVAL, "reserved blocks %u%% is more than 50%%",
				  opts->reserved_percent);
	if (opts->timestamp < 0 || opts->timestamp > VF_EXT4_TIME_MAX ||
	    (p->inode_size == 128 && opts->timestamp > INT32_MAX))
		return vf_err_set(err, EINVAL, "timestamp %lld is outside 0..%lld",
				  (long long)opts->timestamp,
				  (long long)(p->inode_size == 128 ? INT32_MAX : VF_EXT4_TIME_MAX));
	if (opts->inodes > UINT32_MAX)
		return vf_err_set(err, EINVAL, "%llu inodes requested; at most %u are possible",
				  (unsigned long long)opts->inodes, UINT32_MAX);
	if (check_size) {
		if (!opts->size || opts->size % p->block_size)
			return vf_err_set(err, EINVAL,
					  "size %llu is not a positive multiple of the block size %u",
					  (unsigned long long)opts->size, p->block_size);
		if (opts->size / p->block_size >= (UINT64_C(1) << 48))
			return vf_err_set(err, EINVAL, "size %llu is too large for ext4",
					  (unsigned long long)opts->size);
	}
	p->size = opts->size;
	if (opts->in_place && opts->offset % p->block_size)
		return vf_err_set(err, EINVAL, "offset %llu is not a multiple of the block size %u",
				  (unsigned long long)opts->offset, p->block_size);
	p->offset = opts->in_place ? opts->offset : 0;
	p->on_data = opts->on_data;
	p->on_data_ctx = opts->on_data_ctx;
	p->release_contents = opts->release_contents;
	p->inodes = opts->inodes;
	p->journal = opts->journal;
	memcpy(p->uuid, opts->uuid, 16);
	memcpy(p->hash_seed, opts->hash_seed, 16);
	p->timestamp = opts->timestamp;
	p->reserved_percent = opts->reserved_percent;
	return 0;
}
