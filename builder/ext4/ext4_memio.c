/*
 * An io_manager over memory, for sizing a file system without a file.
 *
 * Written bytes are kept in 1 KiB units in a sorted array; everything never
 * written reads as zeros. Sizing writes only a few blocks (the journal's
 * superblock and extent tree blocks, an inode or two), so a sorted array with
 * binary search is plenty.
 */
#include "builder/ext4/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UNIT 1024u

struct memio {
	uint64_t *keys;   /* unit numbers, ascending */
	uint8_t *data;    /* UNIT bytes per key */
	size_t n, cap;
};

static struct memio *priv(io_channel ch)
{
	return ch->private_data;
}

static size_t lookup(const struct memio *m, uint64_t key, bool *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < m->n && m->keys[lo] == key;
	return lo;
}

/* The unit `key`, created zeroed if needed; NULL on ENOMEM. */
static uint8_t *unit_for_write(struct memio *m, uint64_t key)
{
	bool found;
	size_t i = lookup(m, key, &found);

	if (found)
		return m->data + i * UNIT;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		uint64_t *k = realloc(m->keys, cap * sizeof(*k));
		uint8_t *d;

		if (!k)
			return NULL;
		m->keys = k;
		if (!(d = realloc(m->data, cap * UNIT)))
			return NULL;
		m->data = d;
		m->cap = cap;
	}
	memmove(m->keys + i + 1, m->keys + i, (m->n - i) * sizeof(*m->keys));
	memmove(m->data + (i + 1) * UNIT, m->data + i * UNIT, (m->n - i) * UNIT);
	m->keys[i] = key;
	memset(m->data + i * UNIT, 0, UNIT);
	m->n++;
	return m->data + i * UNIT;
}

static errcode_t mem_rw(io_channel ch, uint64_t off, size_t len, void *buf, bool write)
{
	struct memio *m = priv(ch);
	uint8_t *p = buf;

	while (len) {
		uint64_t key = off / UNIT;
		size_t in = (size_t)(off % UNIT), n = UNIT - in < len ? UNIT - in : len;

		if (write) {
			uint8_t *u = unit_for_write(m, key);

			if (!u)
				return EXT2_ET_NO_MEMORY;
			memcpy(u + in, p, n);
		} else {
			bool found;
			size_t i = lookup(m, key, &found);

			if (found)
				memcpy(p, m->data + i * UNIT + in, n);
			else
				memset(p, 0, n);
		}
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

static size_t io_bytes(io_channel ch, int count)
{
	return count < 0 ? (size_t)-(int64_t)count : (size_t)count * (size_t)ch->block_size;
}

static errcode_t mem_open(const char *name, int flags, io_channel *ret)
{
	io_channel ch = NULL;
	struct memio *m = NULL;

	(void)flags;
	if (!name)
		return EXT2_ET_BAD_DEVICE_NAME;
	if (!(ch = calloc(1, sizeof(*ch))) || !(m = calloc(1, sizeof(*m))) ||
	    !(ch->name = strdup(name))) {
		free(m);
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = vf_ext4_mem_io_manager();
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = m;
	*ret = ch;
	return 0;
}

static errcode_t mem_close(io_channel ch)
{
	struct memio *m = priv(ch);

	if (--ch->refcount > 0)
		return 0;
	free(m->keys);
	free(m->data);
	free(m);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t mem_set_blksize(io_channel ch, int blksize)
{
	ch->block_size = blksize;
	return 0;
}

static errcode_t mem_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
	return mem_rw(ch, block * (uint64_t)ch->block_size, io_bytes(ch, count), data, false);
}

static errcode_t mem_write_blk64(io_channel ch, unsigned long long block, int count,
				 const void *data)
{
	return mem_rw(ch, block * (uint64_t)ch->block_size, io_bytes(ch, count), (void *)data,
		      true);
}

static errcode_t mem_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
	return mem_read_blk64(ch, block, count, data);
}

static errcode_t mem_write_blk(io_channel ch, unsigned long block, int count, const void *data)
{
	return mem_write_blk64(ch, block, count, data);
}

static errcode_t mem_write_byte(io_channel ch, unsigned long offset, int count, const void *data)
{
	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return mem_rw(ch, offset, (size_t)count, (void *)data, true);
}

static errcode_t mem_flush(io_channel ch)
{
	(void)ch;
	return 0;
}

static errcode_t mem_set_option(io_channel ch, const char *option, const char *arg)
{
	(void)ch;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t mem_zeroout(io_channel ch, unsigned long long block, unsigned long long count)
{
	static const uint8_t zero[UNIT];
	uint64_t off = block * (uint64_t)ch->block_size;
	uint64_t len = count * (uint64_t)ch->block_size;

	/* only units that exist need clearing; the rest already read as zeros */
	for (uint64_t at = off; at < off + len;) {
		uint64_t n = UNIT - at % UNIT < off + len - at ? UNIT - at % UNIT : off + len - at;
		bool found;

		lookup(priv(ch), at / UNIT, &found);
		if (found) {
			errcode_t e = mem_rw(ch, at, (size_t)n, (void *)zero, true);

			if (e)
				return e;
		}
		at += n;
	}
	return 0;
}

static struct struct_io_manager mem_io = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "vforge memory I/O manager",
	.open = mem_open,
	.close = mem_close,
	.set_blksize = mem_set_blksize,
	.read_blk = mem_read_blk,
	.write_blk = mem_write_blk,
	.flush = mem_flush,
	.write_byte = mem_write_byte,
	.set_option = mem_set_option,
	.read_blk64 = mem_read_blk64,
	.write_blk64 = mem_write_blk64,
	.zeroout = mem_zeroout,
};

io_manager vf_ext4_mem_io_manager(void)
{
	return &mem_io;
}
