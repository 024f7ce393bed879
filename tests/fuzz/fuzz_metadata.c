/*
 * libFuzzer target: parse TUF metadata of any type (strict and opaque-keyid
 * modes, chosen by the input's length) and, when it parses, check that it
 * writes back to a document that parses to the same signed bytes. Built by
 * `make check-fuzz`; the seed corpus is tests/fuzz/corpus/fuzz_metadata/.
 */
#include "repo/metadata.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags = size % 2 ? VF_TUF_PARSE_OPAQUE_KEYIDS : 0;
	struct vf_buf pretty = VF_BUF_INIT, signed1 = VF_BUF_INIT, signed2 = VF_BUF_INIT;
	struct vf_tuf_md *md = NULL, *again = NULL;
	struct vf_err err = { 0 };

	if (vf_tuf_md_parse(data, size, 0, flags, &md, &err)) {
		/* a failure always says why, and leaves nothing behind */
		if (!err.msg[0] || err.code >= 0 || md)
			abort();
		return 0;
	}
	if (!md || md->type < VF_TUF_ROOT || md->type > VF_TUF_TIMESTAMP || md->version < 1)
		abort();
	/* what parses, writes; what is written, parses to the same signed bytes */
	if (vf_tuf_md_format_signed(md, &signed1, &err) ||
	    vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &pretty, &err) ||
	    vf_tuf_md_parse(pretty.data, pretty.len, md->type, flags, &again, &err) ||
	    vf_tuf_md_format_signed(again, &signed2, &err))
		abort();
	if (signed1.len != signed2.len || memcmp(signed1.data, signed2.data, signed1.len))
		abort();
	if (again->n_sigs != md->n_sigs || again->n_targets != md->n_targets ||
	    again->n_meta != md->n_meta)
		abort();
	/* sorted, unique arrays */
	for (size_t i = 1; i < md->n_targets; i++)
		if (strcmp(md->targets[i - 1]->path, md->targets[i]->path) >= 0)
			abort();
	for (size_t i = 1; i < md->keys.n; i++)
		if (strcmp(md->keys.v[i - 1].keyid, md->keys.v[i].keyid) >= 0)
			abort();
	vf_buf_release(&pretty);
	vf_buf_release(&signed1);
	vf_buf_release(&signed2);
	vf_tuf_md_free(again);
	vf_tuf_md_free(md);
	return 0;
}
