/* Synthetic ELF64 kernel modules for the initramfs unit tests. */
#ifndef VF_TESTS_INITRAMFS_ELF_TEST_H
#define VF_TESTS_INITRAMFS_ELF_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Where the pieces of a made ELF file are. */
struct elf_layout {
	size_t modinfo_off, strtab_off, shoff, len;
	size_t shdr_modinfo;   /* offset of .modinfo's section header */
	size_t shdr_strtab;
};

static inline void put_le(uint8_t *p, uint64_t v, unsigned n, bool be)
{
	for (unsigned i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

/*
 * An ELF64 ET_REL file: sections [0] null, [1] <name1> holding `info`
 * (`info_len` bytes), [2] .shstrtab. Caller frees *ret.
 */
static inline uint8_t *make_elf_named(const char *name1, const void *info, size_t info_len,
				      bool be, struct elf_layout *lay, size_t *ret_len)
{
	size_t n1 = strlen(name1);
	size_t strtab_len = 1 + n1 + 1 + sizeof(".shstrtab");
	struct elf_layout l;
	uint8_t *p;

	l.modinfo_off = 64;
	l.strtab_off = l.modinfo_off + info_len;
	l.shoff = (l.strtab_off + strtab_len + 7) / 8 * 8;
	l.len = l.shoff + 3 * 64;
	l.shdr_modinfo = l.shoff + 64;
	l.shdr_strtab = l.shoff + 128;
	p = calloc(1, l.len);
	if (!p)
		abort();
	memcpy(p, "\x7f" "ELF", 4);
	p[4] = 2;             /* ELFCLASS64 */
	p[5] = be ? 2 : 1;    /* byte order */
	p[6] = 1;             /* EV_CURRENT */
	put_le(p + 16, 1, 2, be);    /* ET_REL */
	put_le(p + 18, 62, 2, be);   /* EM_X86_64 */
	put_le(p + 20, 1, 4, be);
	put_le(p + 0x28, l.shoff, 8, be);
	put_le(p + 0x34, 64, 2, be); /* e_ehsize */
	put_le(p + 0x3a, 64, 2, be); /* e_shentsize */
	put_le(p + 0x3c, 3, 2, be);  /* e_shnum */
	put_le(p + 0x3e, 2, 2, be);  /* e_shstrndx */
	memcpy(p + l.modinfo_off, info, info_len);
	/* "\0<name1>\0.shstrtab\0" */
	memcpy(p + l.strtab_off + 1, name1, n1);
	memcpy(p + l.strtab_off + 1 + n1 + 1, ".shstrtab", sizeof(".shstrtab"));
	/* [1] */
	put_le(p + l.shdr_modinfo, 1, 4, be);                 /* sh_name */
	put_le(p + l.shdr_modinfo + 4, 1, 4, be);             /* SHT_PROGBITS */
	put_le(p + l.shdr_modinfo + 24, l.modinfo_off, 8, be);
	put_le(p + l.shdr_modinfo + 32, info_len, 8, be);
	/* [2] */
	put_le(p + l.shdr_strtab, 1 + n1 + 1, 4, be);
	put_le(p + l.shdr_strtab + 4, 3, 4, be);              /* SHT_STRTAB */
	put_le(p + l.shdr_strtab + 24, l.strtab_off, 8, be);
	put_le(p + l.shdr_strtab + 32, strtab_len, 8, be);
	if (lay)
		*lay = l;
	*ret_len = l.len;
	return p;
}

/* A module whose .modinfo holds the NUL-separated strings of `info` (a C literal with \0s). */
#define MAKE_MODULE(info, be, lay, len) make_elf_named(".modinfo", (info), sizeof(info), (be), (lay), (len))

#endif
