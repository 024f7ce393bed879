/* vforge: entry point, command table, shared CLI helpers. */
#include "builder/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VF_VERSION
#define VF_VERSION "0.0.0-unknown"
#endif

static const struct vf_cli_cmd commands[] = {
	{
		"help", "show help for vforge or one command",
		"vforge help [<command>]",
		"Without a command, list the commands. With one, show its options.\n",
		cmd_help,
	},
	{
		"version", "print the version",
		"vforge version",
		"Print \"vforge <version>\".\n",
		cmd_version,
	},
	{
		"resolve", "compose a variant manifest and its includes, and print it",
		"vforge resolve <variant> [--json]",
		"<variant> is a manifest file or a directory holding variant.json. Includes are\n"
		"resolved depth-first and merged (docs/manifest.md); the result is validated and\n"
		"printed: name, version, arch, packages with the file that declared each, files,\n"
		"kernel command line, SELinux rules, policy, layout and update settings.\n"
		"  --json    print the composed manifest as JSON (sorted keys)\n",
		cmd_resolve,
	},
	{
		"lint", "compose a variant's file tree and check it against the policy",
		"vforge lint <variant> [--json]",
		"Reads every package (checking its sha256 pin), composes the hermetic file tree\n"
		"with every check a build makes (hostile archives, conflicts, SELinux labels) and\n"
		"runs the policy (no shells, interpreters or package managers; no world-writable\n"
		"files outside tmp; no setuid binaries unless allowed), without writing an image.\n"
		"Exit 0 only when everything holds; 3 when the policy is violated.\n"
		"  --json    print the result as one JSON object\n",
		cmd_lint,
	},
	{
		"build", "build a variant's disk image and update targets, bit for bit reproducibly",
		"vforge build <variant> -o <outdir> [--seed HEX] [--threads N] [--minimize] [--json]",
		"Composes the variant's file tree, writes ROOT and BOOT as ext4 (libext2fs), the\n"
		"dm-verity tree of ROOT into HASH, an A/B GPT disk (libfdisk), zstd update targets\n"
		"and build.json into <outdir>. Every UUID, salt and hash seed is derived from the\n"
		"seed, every time is SOURCE_DATE_EPOCH: the same inputs give the same bytes.\n"
		"Outputs appear only when the whole build succeeded.\n"
		"  -o, --output DIR   where the outputs go (created if missing)\n"
		"  --seed HEX         the build seed (default: derived from name, arch, version)\n"
		"  --threads N        threads for hashing (default: online CPUs; output identical)\n"
		"  --minimize         size ROOT to the smallest fit plus a margin\n"
		"  --json             print build.json instead of the summary\n",
		cmd_build,
	},
	{
		"boot-test", "boot a disk image's bank in qemu and check that its init reports success",
		"vforge boot-test <disk.img> [--bank a|b] [--timeout S] [--qemu PATH] [--kvm]\n"
		"                 [--console FILE] [--json]",
		vf_cli_boot_test_help,
		cmd_boot_test,
	},
	{
		"delegation", "delegate targets to other roles or to hash bins in a repository",
		"vforge delegation add <repo> <role> (--paths PATTERN... | --bins N) --key KEY...\n"
		"                      [--threshold N] [--terminating] [--from DELEGATOR]\n"
		"                      (--signing-key REF... | --stage) [--now EPOCH] [--expires ROLE=WHEN]\n"
		"vforge delegation remove <repo> <role> [--from DELEGATOR] (--signing-key REF... | --stage)",
		vf_cli_delegation_help,
		cmd_delegation,
	},
	{
		"diff", "explain how two disk images, update targets, build reports or metadata differ",
		"vforge diff <a> <b> [--json] [--max-findings N]",
		vf_cli_diff_help,
		cmd_diff,
	},
	{
		"fetch", "refresh trusted TUF metadata from a repository and download verified targets",
		"vforge fetch --metadata-dir DIR --metadata-url URL [--trusted-root <root.json>]\n"
		"             [--targets-url URL --target NAME... -o DIR] [--max-root-rotations N]\n"
		"             [--now WHEN] [--timeout S] [--connect-timeout S] [--json]",
		vf_cli_fetch_help,
		cmd_fetch,
	},
	{
		"inspect", "show a disk image's partitions, file systems and verity, and verify it",
		"vforge inspect <image> [--json]",
		"Reads the GPT, each ext4 file system's summary, the verity superblock of HASH-A,\n"
		"the kernel command line from BOOT-A, and checks ROOT-A against HASH-A with the\n"
		"root hash of that command line. Exit 3 when ROOT-A does not verify.\n"
		"  --json    print the result as JSON\n",
		cmd_inspect,
	},
	{
		"metadata", "sign any role's metadata offline, merge signatures, show who still must sign",
		"vforge metadata sign <file> --key REF [--key REF...] [--root <root.json> | --delegator <file>]\n"
		"                      [--role NAME] [--now EPOCH]\n"
		"vforge metadata merge <a.json> <b.json> [<c.json>...] -o <out.json>\n"
		"                      [--root <root.json> | --delegator <file>] [--role NAME]\n"
		"vforge metadata status <file> (--root <root.json> | --delegator <file>) [--role NAME]\n"
		"                      [--now EPOCH] [--json]",
		VF_CLI_METADATA_HELP,
		cmd_metadata,
	},
	{
		"pack", "write a deterministic package archive (tar.zst) from a directory",
		"vforge pack <dir> -o <pkg.tar.zst> [--owner UID:GID] [--mtime EPOCH] [--level N]",
		"Entries are sorted, owners numeric (no user or group names), times clamped,\n"
		"no atime or ctime: the same directory gives the same bytes on any machine.\n"
		"Prints the archive's sha256, for the manifest's pin.\n"
		"  -o, --output FILE     the archive to write (atomically)\n"
		"  --owner UID:GID       record every entry with this owner (default: as on disk)\n"
		"  --mtime EPOCH         clamp every mtime to EPOCH (default: SOURCE_DATE_EPOCH\n"
		"                        if set, else set every mtime to 0)\n"
		"  --level N             zstd level, 1 to 22 (default 19)\n",
		cmd_pack,
	},
	{
		"key", "generate a signing key, or print a key's TUF keyid",
		"vforge key generate --type ed25519|ecdsa-p256|rsa-3072 -o <path> [--json]\n"
		"vforge key id <key> [--json]",
		"generate writes the private key to <path> (PKCS#8 PEM, mode 0600) and the\n"
		"public key to <path>.pub (PEM), never overwriting a file, and prints the keyid.\n"
		"id prints the TUF keyid of <key>: a public or private key file, a\n"
		"pkcs11:token=...;object=...[;pin-value=...] URI or exec:<command> (docs/keys.md).\n"
		"The keyid is the sha256 of the canonical JSON of the key object\n"
		"{\"keytype\", \"keyval\": {\"public\"}, \"scheme\"}, as securesystemslib computes it.\n"
		"  --type TYPE         ed25519, ecdsa-p256 (ecdsa-sha2-nistp256) or rsa-3072\n"
		"                      (rsassa-pss-sha256)\n"
		"  -o, --output PATH   the private key file to create\n"
		"  --json              print {\"keyid\", \"key\"}: the key object for root.json\n",
		cmd_key,
	},
	{
		"root", "build root.json offline: keys, thresholds, expiry, signatures",
		"vforge root init <root.json> [--expires WHEN] [--now EPOCH]\n"
		"vforge root add-key <root.json> <key> --role ROLE[,ROLE...]\n"
		"vforge root remove-key <root.json> <keyid> [--role ROLE[,ROLE...]]\n"
		"vforge root set-threshold <root.json> <role> <n>\n"
		"vforge root expire <root.json> <when> [--now EPOCH]\n"
		"vforge root bump-version <root.json>\n"
		"vforge root sign <root.json> --key REF [--key REF...] [--previous <previous-root.json>]\n"
		"vforge root merge <a.json> <b.json> -o <out.json> [--previous <previous-root.json>]\n"
		"vforge root verify <root.json> [--trusted <previous-root.json>] [--now EPOCH] [--json]\n"
		"vforge root rotate <repo> --new-root <N+1.root.json> --key REF... [--now EPOCH]",
		VF_CLI_ROOT_HELP,
		cmd_root,
	},
	{
		"repo", "create, update, re-sign, validate a TUF repository",
		"vforge repo create <repo> --root <root.json> --key REF... [--target FILE[=NAME]...] [--dir DIR]\n"
		"vforge repo add-targets <repo> --key REF... [FILE[=NAME]...] [--dir DIR] [--remove NAME...]\n"
		"                        [--role ROLE]\n"
		"vforge repo add-update <repo> --key REF... --build <build.json> [--waves FILE|default]\n"
		"                       [--max-version V]\n"
		"vforge repo refresh <repo> --key REF... [--role timestamp|snapshot|targets]...\n"
		"vforge repo stage <repo> [FILE[=NAME]...] [--dir DIR] [--remove NAME...] [--role ROLE]\n"
		"vforge repo publish-staged <repo> --key REF...\n"
		"vforge repo discard-staged <repo>\n"
		"vforge repo validate <repo> --root <trusted-root.json> [--now EPOCH] [--json]\n"
		"vforge repo expirations <repo> [--within DURATION] [--now EPOCH] [--json]",
		VF_CLI_REPO_CMD_HELP,
		cmd_repo,
	},
	{
		"update", "update a disk's inactive A/B bank from a TUF repository, or roll back",
		"vforge update check --image IMG --metadata-dir DIR --metadata-url URL --targets-url URL\n"
		"                    [--trusted-root <root.json>] [--seed N] [--ignore-waves] [--now WHEN] [--json]\n"
		"vforge update apply (the options of check) [--version V]\n"
		"vforge update status --image IMG [--json]\n"
		"vforge update rollback --image IMG",
		vf_cli_update_help,
		cmd_update,
	},
	{
		"verify-repro", "build a variant twice under different conditions and compare every output",
		"vforge verify-repro <variant> [--against <outdir>|<build.json>] [--work DIR] [--keep]\n"
		"                    [--json]",
		vf_cli_verify_repro_help,
		cmd_verify_repro,
	},
	{
		"verity", "format or verify a dm-verity hash tree (veritysetup-compatible)",
		"vforge verity format [options] <data_file> <hash_file>\n"
		"vforge verity verify [options] <data_file> <hash_file> <root_hash>",
		"Options (the same names and meanings as veritysetup):\n"
		"  --hash=sha256|sha512|sha1  hash algorithm (default sha256)\n"
		"  --data-block-size=N        data block size, 512..65536, a power of two (4096)\n"
		"  --hash-block-size=N        hash block size, 512..65536, a power of two (4096)\n"
		"  --data-blocks=N            hash only the first N data blocks (default: the\n"
		"                             whole file, which must be a multiple of the block size)\n"
		"  --hash-offset=BYTES        where the superblock (or tree) starts in the hash file;\n"
		"                             with the data file as hash file, the tree follows the data\n"
		"  -s, --salt=HEX|-           salt in hex, '-' for none (default: 32 random bytes)\n"
		"  --uuid=UUID                superblock UUID (default: random)\n"
		"  --no-superblock            write or expect no superblock\n"
		"  --format=0|1               1: normal, 0: Chrome OS (default 1)\n"
		"  --threads=N                threads for the leaf level (default: online CPUs)\n"
		"  --json                     print the result as one JSON object\n"
		"\n"
		"format writes the tree to <hash_file> (created 0600 under a temporary name and\n"
		"renamed when complete) and prints the parameters and the root hash.\n"
		"verify reads the parameters from the superblock when there is one, recomputes\n"
		"the tree top-down and exits 3 naming the first hash or data block that does\n"
		"not match.\n",
		cmd_verity,
	},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct vf_cli_cmd *vf_cli_cmd_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_synopsis(FILE *f, const char *synopsis)
{
	const char *line = synopsis;
	bool first = true;

	while (*line) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);

		fprintf(f, "%s%.*s\n", first ? "usage: " : "       ", len, line);
		first = false;
		line += len + (nl ? 1 : 0);
	}
}

void vf_cli_help(const struct vf_cli_cmd *cmd)
{
	print_synopsis(stdout, cmd->synopsis);
	printf("\n%s\n%s", cmd->summary, cmd->help[0] ? "\n" : "");
	fputs(cmd->help, stdout);
}

static void print_main_usage(FILE *f)
{
	fprintf(f, "usage: vforge [--version] [--help] <command> [<args>]\n\n"
		   "vforge builds reproducible, dm-verity protected OS images and signs\n"
		   "and publishes their TUF update repositories.\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'vforge help <command>' or 'vforge <command> --help' for details.\n");
}

int vf_cli_usage(const struct vf_cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vforge %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_synopsis(stderr, cmd->synopsis);
	fprintf(stderr, "Try 'vforge %s --help' for more information.\n", cmd->name);
	return VF_EXIT_USAGE;
}

int vf_cli_exit_code(int rc)
{
	if (rc == 0)
		return VF_EXIT_OK;
	if (rc == -VF_EVERIFY)
		return VF_EXIT_VERIFY;
	return VF_EXIT_FAIL;
}

int vf_cli_bad_option(const struct vf_cli_cmd *cmd, const char *sub, int opt, char **argv)
{
	const char *name = argv[optind - 1];

	if (opt == ':')
		return sub ? vf_cli_usage(cmd, "%s: option '%s' needs a value", sub, name)
			   : vf_cli_usage(cmd, "option '%s' needs a value", name);
	return sub ? vf_cli_usage(cmd, "%s: unknown option '%s'", sub, name)
		   : vf_cli_usage(cmd, "unknown option '%s'", name);
}

int vf_cli_fail(const struct vf_err *err)
{
	fprintf(stderr, "vforge: error: %s\n", err->msg[0] ? err->msg : "unknown failure");
	return vf_cli_exit_code(err->code ? err->code : -EIO);
}

int vf_cli_parse_u64(const struct vf_cli_cmd *cmd, const char *opt, const char *text,
		     uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!text[0] || text[0] < '0' || text[0] > '9')
		return vf_cli_usage(cmd, "%s: '%s' is not a non-negative integer", opt, text);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return vf_cli_usage(cmd, "%s: '%s' is not a non-negative integer below 2^64", opt,
				    text);
	*ret = v;
	return VF_EXIT_OK;
}

int vf_cli_parse_seconds(const struct vf_cli_cmd *cmd, const char *opt, const char *text,
			 unsigned *ret)
{
	uint64_t v;
	int r = vf_cli_parse_u64(cmd, opt, text, &v);

	if (r)
		return r;
	if (v < 1 || v > 86400)
		return vf_cli_usage(cmd, "%s: from 1 to 86400 seconds, got %s", opt, text);
	*ret = (unsigned)v;
	return VF_EXIT_OK;
}

int vf_cli_parse_json_operand(const struct vf_cli_cmd *cmd, int argc, char **argv,
			      const char *operand, bool *json, const char **ret_arg)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, n;

	*json = false;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'h':
			vf_cli_help(cmd);
			return -1;
		default:
			return vf_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	n = argc - optind;
	if (n == 0)
		return vf_cli_usage(cmd, "missing %s: expected one %s, got 0 arguments", operand,
				    operand);
	if (n > 1)
		return vf_cli_usage(cmd, "too many arguments: expected one %s, got %d", operand, n);
	*ret_arg = argv[optind];
	return VF_EXIT_OK;
}

bool vf_cli_show_progress(void)
{
	return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

void vf_cli_progress(void *label, uint64_t done, uint64_t total)
{
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	fprintf(stderr, "\r%s: %3u%% (%llu/%llu)", (const char *)label, pct,
		(unsigned long long)done, (unsigned long long)total);
}

void vf_cli_progress_done(void)
{
	fprintf(stderr, "\r\033[K");
}

int vf_cli_source_date_epoch(bool *has, int64_t *ret)
{
	const char *v = getenv("SOURCE_DATE_EPOCH");
	unsigned long long n;
	char *end;

	*has = false;
	if (!v || !*v)
		return VF_EXIT_OK;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || errno || *end || n > (1ULL << 53) - 1) {
		fprintf(stderr, "vforge: error: SOURCE_DATE_EPOCH='%.40s' is not an integer "
			"from 0 to 2^53-1\n", v);
		return VF_EXIT_FAIL;
	}
	*has = true;
	*ret = (int64_t)n;
	return VF_EXIT_OK;
}

unsigned vf_cli_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

int cmd_help(int argc, char **argv)
{
	const struct vf_cli_cmd *cmd;

	if (argc < 2) {
		print_main_usage(stdout);
		return VF_EXIT_OK;
	}
	if (argc > 2)
		return vf_cli_usage(vf_cli_cmd_find("help"), "too many arguments");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vf_cli_help(vf_cli_cmd_find("help"));
		return VF_EXIT_OK;
	}
	cmd = vf_cli_cmd_find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "vforge: '%s' is not a vforge command. See 'vforge help'.\n", argv[1]);
		return VF_EXIT_USAGE;
	}
	vf_cli_help(cmd);
	return VF_EXIT_OK;
}

int cmd_version(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		vf_cli_help(vf_cli_cmd_find("version"));
		return VF_EXIT_OK;
	}
	if (argc > 1)
		return vf_cli_usage(vf_cli_cmd_find("version"), "too many arguments");
	printf("vforge %s\n", VF_VERSION);
	return VF_EXIT_OK;
}

/* Flush stdout and report write errors (a full disk, a closed pipe). */
static int finish(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vforge: error: cannot write to standard output: %s\n",
			strerror(errno));
		return code ? code : VF_EXIT_FAIL;
	}
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct vf_cli_cmd *cmd;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_main_usage(stdout);
			return finish(VF_EXIT_OK);
		case 'V':
			printf("vforge %s\n", VF_VERSION);
			return finish(VF_EXIT_OK);
		default:
			fprintf(stderr, "vforge: unknown option '%s'\n", argv[optind - 1]);
			print_main_usage(stderr);
			return VF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_main_usage(stderr);
		return VF_EXIT_USAGE;
	}
	cmd = vf_cli_cmd_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "vforge: '%s' is not a vforge command. See 'vforge help'.\n",
			argv[optind]);
		return VF_EXIT_USAGE;
	}
	/* each command parses its own options from a fresh getopt state */
	argv += optind;
	argc -= optind;
	optind = 0;
	return finish(cmd->run(argc, argv));
}
