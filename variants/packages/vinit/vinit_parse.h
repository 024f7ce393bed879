/**
 * @file vinit_parse.h
 * @brief The pure parsing half of vinit, the initramfs /init: no system calls, no globals.
 *
 * Everything vinit reads from a source it does not control goes through these functions: the
 * kernel command line (the dm-mod.create= value vforge writes), the device-mapper table in it,
 * and the GPT of each disk (to turn PARTUUID=<uuid> into a partition and its name). They take
 * buffers with their lengths, never read or write past them, and report a refusal as a negative
 * errno with a one-line reason in a caller-owned struct vinit_err. The unit test
 * tests/unit/vinit/test_vinit_parse.c compiles vinit_parse.c on the host.
 */
#ifndef VINIT_PARSE_H
#define VINIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Why a parse was refused: a lowercase phrase without a full stop. */
struct vinit_err {
	char msg[256];
};

/** Longest kernel command line vinit reads (the x86 limit is 2048; COMMAND_LINE_SIZE). */
#define VINIT_CMDLINE_MAX 4096
/** Longest dm-mod.create= value (without its quotes). */
#define VINIT_VALUE_MAX 3072
/** DM_NAME_LEN and DM_UUID_LEN of linux/dm-ioctl.h, including the NUL. */
#define VINIT_DM_NAME_LEN 128
#define VINIT_DM_UUID_LEN 129
/** A target type name (DM_MAX_TYPE_NAME). */
#define VINIT_DM_TYPE_LEN 16
/** Parameters of the one target, as words; a verity table has 10 to 20 of them. */
#define VINIT_MAX_WORDS 32
/** Longest word: a salt of 256 bytes in hex is 512 characters. */
#define VINIT_WORD_MAX 520
/** Largest minor number the dm-mod.create= minor field may ask for (MINORBITS = 20). */
#define VINIT_MINOR_MAX ((1u << 20) - 1)

/**
 * Find `key` (e.g. "dm-mod.create") among the space-separated parameters of a kernel command
 * line of `len` bytes (need not be NUL-terminated; a trailing newline is ignored) and copy its
 * value, without surrounding double quotes, into `out` (NUL-terminated).
 *
 * Parameters split on spaces, tabs and newlines outside double quotes, as the kernel's
 * next_arg() does; a value is either bare or one quoted string. Parsing stops at a lone "--"
 * (what follows belongs to init). Returns 0, -ENOENT when the key is absent, -EINVAL when it
 * occurs more than once, a quote is not closed, or a value holds a quote elsewhere than around
 * it, -ENAMETOOLONG when the value (or the command line) is longer than `outsz` - 1
 * (VINIT_CMDLINE_MAX).
 */
int vinit_cmdline_value(const char *cmdline, size_t len, const char *key, char *out, size_t outsz,
			struct vinit_err *err);

/** One mapped device of a dm-mod.create= value: "<name>,<uuid>,<minor>,<flags>,<table>". */
struct vinit_dm_create {
	char name[VINIT_DM_NAME_LEN];
	char uuid[VINIT_DM_UUID_LEN]; /**< "" when not given */
	bool has_minor;               /**< the minor field was a number: ask for that minor */
	uint32_t minor;
	bool read_only;               /**< flags "ro" (else "rw") */
	uint64_t start;               /**< the table line: start sector, */
	uint64_t length;              /**< length in sectors, */
	char target[VINIT_DM_TYPE_LEN]; /**< target type, */
	size_t n_words;               /**< and its parameters, split on blanks */
	char words[VINIT_MAX_WORDS][VINIT_WORD_MAX];
};

/**
 * Parse a dm-mod.create= value (see the kernel's Documentation/admin-guide/device-mapper/
 * dm-init.rst) holding exactly one device with exactly one table line. Refused with -EINVAL:
 * several devices (';'), several tables (','), an empty or overlong name, an overlong uuid, a
 * minor that is not a decimal number up to VINIT_MINOR_MAX, flags other than "ro"/"rw", a
 * start or length that is not a decimal number, a zero length, a missing or overlong target;
 * -E2BIG: more than VINIT_MAX_WORDS parameters or a word longer than VINIT_WORD_MAX - 1.
 * `*ret` is written only on success.
 */
int vinit_dm_create_parse(const char *value, struct vinit_dm_create *ret, struct vinit_err *err);

/** The fields of a verity target's parameters vinit uses (pointers into the words). */
struct vinit_verity {
	const char *data_dev;   /**< word 1: "PARTUUID=<uuid>" or "<major>:<minor>" */
	const char *hash_dev;   /**< word 2 */
	const char *root_hash;  /**< word 8, lowercase or uppercase hex */
};

/**
 * Check that `c` is a "verity" target with the 10 mandatory parameters (version 0 or 1, two
 * devices, block sizes, counts, algorithm, a hex root hash of 2..128 digits, salt or "-") and
 * point `ret` at the fields. -EINVAL otherwise: vinit never maps anything but a verity target.
 */
int vinit_verity_check(const struct vinit_dm_create *c, struct vinit_verity *ret,
		       struct vinit_err *err);

/**
 * The target parameters joined by single spaces into `out`. -ENAMETOOLONG when they do not
 * fit in `outsz` bytes with the NUL.
 */
int vinit_dm_params_format(const struct vinit_dm_create *c, char *out, size_t outsz,
			   struct vinit_err *err);

/** A device word of a table: which form it has. */
enum vinit_dev_kind {
	VINIT_DEV_PARTUUID, /**< PARTUUID=<uuid>: `uuid` holds the 16 bytes in text order */
	VINIT_DEV_NUMBER,   /**< <major>:<minor>: `major`, `minor` */
};

struct vinit_dev {
	enum vinit_dev_kind kind;
	uint8_t uuid[16];
	uint32_t major, minor;
};

/**
 * Parse a device word of a table: "PARTUUID=" with a 36-character UUID (either case; no
 * "/PARTNROFF=" suffix) or "<major>:<minor>" in decimal. -EINVAL for anything else (a path such
 * as /dev/vda2 is refused: vinit does not guess names).
 */
int vinit_dev_parse(const char *word, struct vinit_dev *ret, struct vinit_err *err);

/**
 * Parse a UUID in its 8-4-4-4-12 text form, either case, into its 16 bytes in text order.
 * Returns 0 or -EINVAL.
 */
int vinit_uuid_parse(const char *text, uint8_t out[16]);

/** CRC-32 (IEEE 802.3, reflected, as GPT uses it), continuing from `crc` (start with 0). */
uint32_t vinit_crc32(uint32_t crc, const void *data, size_t len);

/** The parts of a GPT header vinit uses, checked. */
struct vinit_gpt_header {
	uint64_t my_lba, alternate_lba, first_usable_lba, last_usable_lba, entries_lba;
	uint8_t disk_guid[16]; /**< as stored (mixed-endian) */
	uint32_t n_entries, entry_size, entries_crc;
};

/** Entry count and size bounds vinit accepts (the UEFI minimum is 128 entries of 128 bytes). */
#define VINIT_GPT_MAX_ENTRIES 1024u
#define VINIT_GPT_MAX_ENTRY_SIZE 1024u
#define VINIT_GPT_MAX_ARRAY (1024u * 1024u)

/**
 * Check and parse the primary GPT header: `sector` is LBA 1 of a disk with `sector_size`-byte
 * logical sectors (512..65536, a power of two). Refused with -EINVAL: no "EFI PART" signature,
 * a header size outside 92..sector_size, a wrong header CRC32, MyLBA other than 1, an entry
 * size not a multiple of 128 up to VINIT_GPT_MAX_ENTRY_SIZE, no entries or more than
 * VINIT_GPT_MAX_ENTRIES, an entries array larger than VINIT_GPT_MAX_ARRAY or starting before
 * LBA 2, usable LBAs out of order. `*ret` is written only on success.
 */
int vinit_gpt_header_parse(const uint8_t *sector, size_t sector_size, struct vinit_gpt_header *ret,
			   struct vinit_err *err);

/** Bytes of the entries array (n_entries * entry_size; fits in 32 bits after the checks). */
size_t vinit_gpt_entries_size(const struct vinit_gpt_header *h);

/** Check the entries array's CRC32 against the header: 0 or -EINVAL (-EINVAL also when short). */
int vinit_gpt_entries_check(const struct vinit_gpt_header *h, const uint8_t *entries, size_t len,
			    struct vinit_err *err);

/** One GPT entry, decoded. */
struct vinit_gpt_entry {
	uint8_t type[16];   /**< as stored */
	uint8_t uuid[16];   /**< unique partition GUID in TEXT order (converted from mixed-endian) */
	uint64_t first_lba, last_lba, attrs;
	char name[37];      /**< UTF-16LE name as ASCII ('?' for anything else), up to the first NUL */
};

/**
 * Decode entry `index` (0-based) of a checked array. Returns 1 for a used entry (type GUID not
 * zero), 0 for an unused one, -EINVAL when the index is out of bounds.
 */
int vinit_gpt_entry_get(const struct vinit_gpt_header *h, const uint8_t *entries, size_t len,
			uint32_t index, struct vinit_gpt_entry *ret);

/** The bank a data partition name denotes: 'A' for "ROOT-A", 'B' for "ROOT-B", else 0. */
char vinit_bank_of(const char *partition_name);

#endif
