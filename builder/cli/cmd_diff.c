/* vforge diff: explain how two disk images, update targets, build reports or metadata differ. */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/diff/diff.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

const char vf_cli_diff_help[] =
	"Each input's kind is detected from its content: a GPT disk image, an ext4\n"
	"file system, a dm-verity hash file, zstd (decompressed into a private\n"
	"temporary directory, then compared by what it holds), JSON (build.json, TUF\n"
	"metadata: a structural diff naming JSON paths), otherwise raw bytes.\n"
	"\n"
	"Disks: size, GUID, the partitions by name (type, UUID, offsets, sizes,\n"
	"attributes) and each differing partition's contents. ext4: superblock and\n"
	"group descriptor fields, bitmaps, and every path: added, removed, type, mode,\n"
	"owner, size, content (the first differing byte range), times, links,\n"
	"symlink target, device, xattrs, inode number and flags, block layout; when\n"
	"all paths are the same, the structures whose blocks differ. Verity: the\n"
	"superblock fields, and whether only the tree differs because the data did.\n"
	"\n"
	"One line per scope and object, e.g.\n"
	"  ROOT-A: /usr/lib/os-release: content differs (bytes 10\u201342); mtime 1700000000 vs 1700003600\n"
	"in partition table order, then paths sorted. Nothing is printed for\n"
	"identical inputs. docs/diff.md has the details.\n"
	"\n"
	"  --json               print the findings as JSON\n"
	"  --max-findings N     stop after N findings (default 10000)\n"
	"\n"
	"Exit status: 0 identical, 3 different, 1 an input cannot be read, 2 usage.\n";

enum { OPT_JSON = 256, OPT_MAX, OPT_HELP };

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "max-findings", required_argument, NULL, OPT_MAX },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const struct vf_cli_cmd *self = vf_cli_cmd_find("diff");
	struct vf_diff_opts o = { 0 };
	struct vf_diff_report rep;
	struct vf_err err = { 0 };
	struct vf_buf text = VF_BUF_INIT;
	bool json = false;
	int c, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_MAX: {
			uint64_t v;

			if ((rc = vf_cli_parse_u64(self, "--max-findings", optarg, &v)))
				return rc;
			if (!v)
				return vf_cli_usage(self, "--max-findings: expected at least 1, got 0");
			o.max_findings = v;
			break;
		}
		case 'h':
		case OPT_HELP:
			vf_cli_help(self);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(self, NULL, c, argv);
		}
	}
	if (argc - optind != 2)
		return vf_cli_usage(self, "expected two files to compare, got %d", argc - optind);
	if (vf_diff_files(argv[optind], argv[optind + 1], &o, &rep, &err))
		return vf_cli_fail(&err);
	rc = rep.n_findings || rep.truncated ? VF_EXIT_VERIFY : VF_EXIT_OK;
	if (json) {
		json_t *j = vf_diff_report_json(&rep, argv[optind], argv[optind + 1]);

		if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
			vf_err_set(&err, ENOMEM, "cannot write the JSON report");
			rc = vf_cli_fail(&err);
		} else {
			putchar('\n');
		}
		json_decref(j);
	} else if (vf_diff_report_format_text(&rep, &text)) {
		vf_err_set(&err, ENOMEM, "out of memory");
		rc = vf_cli_fail(&err);
	} else if (text.len) {
		fwrite(text.data, 1, text.len, stdout);
	}
	vf_buf_release(&text);
	vf_diff_report_release(&rep);
	return rc;
}
