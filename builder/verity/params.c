/* Parameters, geometry and the superblock of a verity tree. */
#include "builder/verity/verity.h"

#include "builder/base/hex.h"
#include "builder/base/uuid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint8_t sb_signature[8] = { 'v', 'e', 'r', 'i', 't', 'y', 0, 0 };

void vf_verity_params_init(struct vf_verity_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->hash_name, sizeof(p->hash_name), "sha256");
	p->hash_type = 1;
	p->data_block_size = 4096;
	p->hash_block_size = 4096;
	p->superblock = true;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static unsigned log2_down(uint64_t v)
{
	unsigned n = 0;

	while (v >>= 1)
		n++;
	return n;
}

static int check_block_size(const char *what, uint32_t v, struct vf_err *err)
{
	if (v < VF_VERITY_MIN_BLOCK || v > VF_VERITY_MAX_BLOCK || !is_pow2(v))
		return vf_err_set(err, EINVAL,
				  "%s %u is invalid: expected a power of two from %u to %u",
				  what, v, VF_VERITY_MIN_BLOCK, VF_VERITY_MAX_BLOCK);
	return 0;
}

int vf_verity_params_check(const struct vf_verity_params *p, struct vf_err *err)
{
	const struct vf_digest_alg *alg;
	int r;

	alg = vf_digest_alg_get(p->hash_name);
	if (!alg || strcmp(p->hash_name, "sha384") == 0)
		return vf_err_set(err, EINVAL,
				  "unknown hash '%s': expected sha256, sha512 or sha1", p->hash_name);
	if (p->hash_type > 1)
		return vf_err_set(err, EINVAL, "format %u is invalid: expected 0 or 1",
				  p->hash_type);
	if ((r = check_block_size("data block size", p->data_block_size, err)))
		return r;
	if ((r = check_block_size("hash block size", p->hash_block_size, err)))
		return r;
	if (p->hash_block_size / vf_digest_alg_size(alg) < 2)
		return vf_err_set(err, EINVAL, "hash block size %u cannot hold two %s digests",
				  p->hash_block_size, p->hash_name);
	if (p->salt_size > VF_VERITY_MAX_SALT)
		return vf_err_set(err, EINVAL, "salt of %u bytes is too long: at most %u",
				  p->salt_size, VF_VERITY_MAX_SALT);
	if (p->superblock && p->hash_offset % 512)
		return vf_err_set(err, EINVAL,
				  "hash offset %llu is not a multiple of 512 bytes",
				  (unsigned long long)p->hash_offset);
	if (!p->superblock && p->hash_offset % p->hash_block_size)
		return vf_err_set(err, EINVAL,
				  "hash offset %llu is not a multiple of the hash block size %u "
				  "(required without a superblock)",
				  (unsigned long long)p->hash_offset, p->hash_block_size);
	return 0;
}

int vf_verity_salt_parse(const char *text, struct vf_verity_params *p, struct vf_err *err)
{
	size_t len = 0;
	int r;

	if (strcmp(text, "-") == 0) {
		p->salt_size = 0;
		return 0;
	}
	r = vf_hex_parse(text, p->salt, sizeof(p->salt), &len);
	if (r == -E2BIG)
		return vf_err_set(err, EINVAL, "salt of %zu bytes is too long: at most %u",
				  strlen(text) / 2, VF_VERITY_MAX_SALT);
	if (r)
		return vf_err_set(err, EINVAL,
				  "salt '%.80s' is not an even number of hex digits (or '-' for none)",
				  text);
	p->salt_size = (uint16_t)len;
	return 0;
}

int vf_verity_salt_random(struct vf_verity_params *p, uint16_t size, struct vf_err *err)
{
	if (size > VF_VERITY_MAX_SALT)
		return vf_err_set(err, EINVAL, "salt of %u bytes is too long", size);
	p->salt_size = size;
	return vf_random_bytes(p->salt, size, err);
}

int vf_verity_uuid_random(struct vf_verity_params *p, struct vf_err *err)
{
	int r = vf_random_bytes(p->uuid, sizeof(p->uuid), err);

	if (!r)
		vf_uuid_make_v4(p->uuid);
	return r;
}

int vf_verity_geometry_build(const struct vf_verity_params *p,
			     struct vf_verity_geometry *ret, struct vf_err *err)
{
	struct vf_verity_geometry g;
	const struct vf_digest_alg *alg;
	unsigned bits, i;
	uint64_t pos;
	int r;

	if ((r = vf_verity_params_check(p, err)))
		return r;
	if (p->data_blocks == 0)
		return vf_err_set(err, EINVAL, "there are no data blocks to hash");
	memset(&g, 0, sizeof(g));
	alg = vf_digest_alg_get(p->hash_name);
	g.digest_size = vf_digest_alg_size(alg);
	g.digest_stride = (size_t)1 << log2_down(g.digest_size);
	if (g.digest_stride < g.digest_size)
		g.digest_stride <<= 1;
	if (p->hash_type == 0)
		g.digest_stride = g.digest_size;
	bits = log2_down(p->hash_block_size / g.digest_size);
	g.hashes_per_block = 1u << bits;

	while (bits * g.levels < 64 && ((p->data_blocks - 1) >> (bits * g.levels)))
		g.levels++;
	if (g.levels > VF_VERITY_MAX_LEVELS)
		return vf_err_set(err, EINVAL, "the tree would need %u levels", g.levels);

	if (p->superblock)
		pos = (p->hash_offset + VF_VERITY_SB_SIZE + p->hash_block_size - 1) /
		      p->hash_block_size;
	else
		pos = p->hash_offset / p->hash_block_size;
	g.hash_start_block = pos;
	for (i = g.levels; i-- > 0;) {
		unsigned shift = (i + 1) * bits;
		uint64_t n;

		if (shift >= 64)
			n = 1;
		else
			n = (p->data_blocks >> shift) +
			    ((p->data_blocks & (((uint64_t)1 << shift) - 1)) != 0);
		g.level_start[i] = pos;
		g.level_blocks[i] = n;
		if (pos + n < pos)
			goto overflow;
		pos += n;
	}
	g.hash_blocks = pos - g.hash_start_block;
	if (pos > UINT64_MAX / p->hash_block_size)
		goto overflow;
	g.hash_end = pos * p->hash_block_size;
	if (g.levels == 0 && p->superblock) {
		/* no tree: veritysetup writes the superblock in one block of at most 4 KiB */
		g.hash_end = p->hash_offset +
			     (p->hash_block_size < 4096 ? p->hash_block_size : 4096);
	}
	*ret = g;
	return 0;
overflow:
	return vf_err_set(err, EOVERFLOW, "the hash tree for %llu data blocks overflows 64 bits",
			  (unsigned long long)p->data_blocks);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void vf_verity_sb_encode(const struct vf_verity_params *p, uint8_t out[VF_VERITY_SB_SIZE])
{
	memset(out, 0, VF_VERITY_SB_SIZE);
	memcpy(out, sb_signature, sizeof(sb_signature));
	put_le32(out + 8, 1);
	put_le32(out + 12, p->hash_type);
	memcpy(out + 16, p->uuid, 16);
	for (size_t i = 0; i < 31 && p->hash_name[i]; i++)
		out[32 + i] = (uint8_t)tolower((unsigned char)p->hash_name[i]);
	put_le32(out + 64, p->data_block_size);
	put_le32(out + 68, p->hash_block_size);
	put_le64(out + 72, p->data_blocks);
	out[80] = (uint8_t)(p->salt_size & 0xff);
	out[81] = (uint8_t)(p->salt_size >> 8);
	memcpy(out + 88, p->salt, p->salt_size);
}

int vf_verity_sb_decode(const uint8_t in[VF_VERITY_SB_SIZE], struct vf_verity_params *ret,
			struct vf_err *err)
{
	struct vf_verity_params p;
	uint32_t version;
	size_t i;
	int r;

	if (memcmp(in, sb_signature, sizeof(sb_signature)) != 0)
		return vf_err_set(err, EINVAL, "no verity superblock (signature is not \"verity\")");
	version = get_le32(in + 8);
	if (version != 1)
		return vf_err_set(err, EINVAL, "superblock version %u is unsupported: expected 1",
				  version);
	vf_verity_params_init(&p);
	p.hash_type = get_le32(in + 12);
	memcpy(p.uuid, in + 16, 16);
	for (i = 0; i < 32 && in[32 + i]; i++) {
		if (i == sizeof(p.hash_name) - 1 || !isprint(in[32 + i]))
			return vf_err_set(err, EINVAL, "superblock hash algorithm is not a valid name");
		p.hash_name[i] = (char)tolower(in[32 + i]);
	}
	p.hash_name[i] = '\0';
	p.data_block_size = get_le32(in + 64);
	p.hash_block_size = get_le32(in + 68);
	p.data_blocks = get_le64(in + 72);
	p.salt_size = (uint16_t)(in[80] | in[81] << 8);
	if (p.salt_size > VF_VERITY_MAX_SALT)
		return vf_err_set(err, EINVAL, "superblock salt size %u is over %u bytes",
				  p.salt_size, VF_VERITY_MAX_SALT);
	memcpy(p.salt, in + 88, p.salt_size);
	if ((r = vf_verity_params_check(&p, err)))
		return vf_err_prefix(err, "superblock");
	if (p.data_blocks == 0)
		return vf_err_set(err, EINVAL, "superblock records 0 data blocks");
	*ret = p;
	return 0;
}
