/* Checking a partition table before it is written: no libfdisk here. */
#include "builder/gpt/gpt.h"

#include "builder/base/uuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sectors of one partition array: 128 entries of 128 bytes. */
#define ARRAY_SECTORS (VF_GPT_ENTRIES * 128u / VF_GPT_SECTOR)

typedef unsigned long long ull;

uint64_t vf_gpt_last_usable_lba(uint64_t disk_size)
{
	uint64_t sectors = disk_size / VF_GPT_SECTOR;

	/* the backup header is the last sector, its array the ARRAY_SECTORS before it */
	if (sectors < VF_GPT_FIRST_LBA + ARRAY_SECTORS + 2)
		return 0;
	return sectors - ARRAY_SECTORS - 2;
}

/* The name's length, or -1 when its 37 bytes hold no NUL. */
static int name_len(const struct vf_gpt_part *p)
{
	const char *nul = memchr(p->name, '\0', sizeof(p->name));

	return nul ? (int)(nul - p->name) : -1;
}

static int check_name(const struct vf_gpt_part *p, size_t i, struct vf_err *err)
{
	int len = name_len(p);

	if (len < 0)
		return vf_err_set(err, EINVAL, "partition %zu: name '%.*s...' is longer than %d "
				  "characters", i + 1, VF_GPT_NAME_MAX, p->name, VF_GPT_NAME_MAX);
	for (int k = 0; k < len; k++) {
		unsigned char c = (unsigned char)p->name[k];

		if (c < 0x20 || c > 0x7e)
			return vf_err_set(err, EINVAL, "partition %zu: name byte %d is 0x%02x, not "
					  "printable ASCII", i + 1, k, c);
	}
	return 0;
}

/* Everything about one partition alone. */
static int check_part(const struct vf_gpt_table *t, size_t i, uint64_t last, struct vf_err *err)
{
	const struct vf_gpt_part *p = &t->parts[i];
	uint64_t end;
	int r;

	if ((r = check_name(p, i, err)))
		return r;
	if (vf_uuid_is_null(p->type))
		return vf_err_set(err, EINVAL, "partition %zu '%s': type GUID is all zeros, which "
				  "marks an unused entry", i + 1, p->name);
	if (vf_uuid_is_null(p->uuid))
		return vf_err_set(err, EINVAL, "partition %zu '%s': partition UUID is all zeros",
				  i + 1, p->name);
	if (memcmp(p->uuid, t->disk_guid, 16) == 0)
		return vf_err_set(err, EINVAL, "partition %zu '%s': partition UUID is the disk GUID",
				  i + 1, p->name);
	if (p->size_lba == 0)
		return vf_err_set(err, EINVAL, "partition %zu '%s': size is zero", i + 1, p->name);
	if (p->first_lba % VF_GPT_ALIGN_LBA)
		return vf_err_set(err, EINVAL, "partition %zu '%s': start sector %llu is not a "
				  "multiple of %u (1 MiB)", i + 1, p->name, (ull)p->first_lba,
				  VF_GPT_ALIGN_LBA);
	if (p->size_lba % VF_GPT_ALIGN_LBA)
		return vf_err_set(err, EINVAL, "partition %zu '%s': size of %llu sectors is not a "
				  "multiple of %u (1 MiB)", i + 1, p->name, (ull)p->size_lba,
				  VF_GPT_ALIGN_LBA);
	if (p->first_lba < VF_GPT_FIRST_LBA)
		return vf_err_set(err, EINVAL, "partition %zu '%s': starts at sector %llu, before "
				  "the first usable sector %u", i + 1, p->name, (ull)p->first_lba,
				  VF_GPT_FIRST_LBA);
	if (p->size_lba - 1 > UINT64_MAX - p->first_lba)
		return vf_err_set(err, EINVAL, "partition %zu '%s': start sector %llu plus %llu "
				  "sectors ends past 2^64", i + 1, p->name, (ull)p->first_lba,
				  (ull)p->size_lba);
	end = p->first_lba + p->size_lba - 1;
	if (end > last)
		return vf_err_set(err, EINVAL, "partition %zu '%s' (sectors %llu-%llu) ends after "
				  "the last usable sector %llu of a disk of %llu bytes", i + 1,
				  p->name, (ull)p->first_lba, (ull)end, (ull)last,
				  (ull)t->disk_size);
	if (p->attrs & VF_GPT_ATTR_RESERVED)
		return vf_err_set(err, EINVAL, "partition %zu '%s': attributes 0x%016llx set bits "
				  "reserved by UEFI (3-47): 0x%016llx", i + 1, p->name,
				  (ull)p->attrs, (ull)(p->attrs & VF_GPT_ATTR_RESERVED));
	return 0;
}

/* A partition's sectors, sorted by first sector, then by index. */
struct span {
	uint64_t first, last;
	size_t index;
};

static int by_start(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int overlap_error(const struct vf_gpt_table *t, size_t a, size_t b, struct vf_err *err)
{
	const struct vf_gpt_part *p, *q;

	if (a > b) {
		size_t tmp = a;

		a = b;
		b = tmp;
	}
	p = &t->parts[a];
	q = &t->parts[b];
	return vf_err_set(err, EINVAL, "partition %zu '%s' (sectors %llu-%llu) overlaps partition "
			  "%zu '%s' (sectors %llu-%llu)", a + 1, p->name, (ull)p->first_lba,
			  (ull)(p->first_lba + p->size_lba - 1), b + 1, q->name, (ull)q->first_lba,
			  (ull)(q->first_lba + q->size_lba - 1));
}

/*
 * Overlaps, found by walking the partitions in start order and remembering
 * the one reaching furthest (so a partition inside a bigger one is caught).
 * Called only after check_part() passed for every partition.
 */
static int check_overlaps(const struct vf_gpt_table *t, struct vf_err *err)
{
	struct span spans[VF_GPT_ENTRIES];
	size_t reach = 0;

	for (size_t i = 0; i < t->n_parts; i++) {
		spans[i].first = t->parts[i].first_lba;
		spans[i].last = t->parts[i].first_lba + t->parts[i].size_lba - 1;
		spans[i].index = i;
	}
	qsort(spans, t->n_parts, sizeof(spans[0]), by_start);
	for (size_t k = 1; k < t->n_parts; k++) {
		if (spans[k].first <= spans[reach].last)
			return overlap_error(t, spans[reach].index, spans[k].index, err);
		if (spans[k].last > spans[reach].last)
			reach = k;
	}
	return 0;
}

static int check_duplicates(const struct vf_gpt_table *t, struct vf_err *err)
{
	char text[VF_UUID_TEXT_LEN + 1];

	for (size_t i = 0; i < t->n_parts; i++) {
		const struct vf_gpt_part *p = &t->parts[i];

		for (size_t k = i + 1; k < t->n_parts; k++) {
			const struct vf_gpt_part *q = &t->parts[k];

			if (p->name[0] && strcmp(p->name, q->name) == 0)
				return vf_err_set(err, EINVAL, "partitions %zu and %zu are both named "
						  "'%s'", i + 1, k + 1, p->name);
			if (memcmp(p->uuid, q->uuid, 16) == 0) {
				vf_uuid_format(p->uuid, text);
				return vf_err_set(err, EINVAL, "partitions %zu '%s' and %zu '%s' have "
						  "the same UUID %s", i + 1, p->name, k + 1,
						  q->name, text);
			}
		}
	}
	return 0;
}

int vf_gpt_check(const struct vf_gpt_table *t, struct vf_err *err)
{
	uint64_t last;
	int r;

	if (!t)
		return vf_err_set(err, EINVAL, "no partition table");
	if (t->disk_size % VF_GPT_SECTOR)
		return vf_err_set(err, EINVAL, "disk size of %llu bytes is not a multiple of %u",
				  (ull)t->disk_size, VF_GPT_SECTOR);
	last = vf_gpt_last_usable_lba(t->disk_size);
	if (!last)
		return vf_err_set(err, EINVAL, "disk size of %llu bytes is too small for a GPT "
				  "whose first usable sector is %u: at least %llu bytes needed",
				  (ull)t->disk_size, VF_GPT_FIRST_LBA,
				  (ull)(VF_GPT_FIRST_LBA + ARRAY_SECTORS + 2) * VF_GPT_SECTOR);
	if (vf_uuid_is_null(t->disk_guid))
		return vf_err_set(err, EINVAL, "disk GUID is all zeros");
	if (t->n_parts > VF_GPT_ENTRIES)
		return vf_err_set(err, EINVAL, "%zu partitions, but a GPT holds at most %u",
				  t->n_parts, VF_GPT_ENTRIES);
	if (t->n_parts && !t->parts)
		return vf_err_set(err, EINVAL, "%zu partitions but no partition array", t->n_parts);
	for (size_t i = 0; i < t->n_parts; i++)
		if ((r = check_part(t, i, last, err)))
			return r;
	if (t->n_parts > 1 && (r = check_overlaps(t, err)))
		return r;
	return check_duplicates(t, err);
}
