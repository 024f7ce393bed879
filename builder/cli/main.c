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
	(void)argv;
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
