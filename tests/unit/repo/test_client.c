/* repo/client: the TUF client workflow (specification section 5) over
 * repositories built here (by hand, so that every attack can be crafted, and
 * with vf_repo), served as file:// URLs: first use, updates, the root chain,
 * timestamp, snapshot and targets attacks, fast-forward recovery, opening the
 * trusted state. Every attack is refused with -VF_EVERIFY and a message
 * naming the file, the check and the values, and leaves each file of the
 * trusted directory byte for byte as it was. Delegations, target files,
 * foreign vectors and scale are in test_client_targets.c. */
#include "tests/unit/repo/client_world.h"

/* ---- first use and updates --------------------------------------------------------------- */

static void test_first_use(void **state)
{
	struct world w;
	struct vf_client *c;
	const struct vf_tuf_target *t;

	world_init(&w, *state, false);
	/* open alone reads and writes nothing but the trusted root */
	c = open_client(&w);
	assert_int_equal(vf_client_trusted(c, VF_TUF_ROOT)->version, 1);
	assert_null(vf_client_trusted(c, VF_TUF_TIMESTAMP));
	find_fails(c, "os.img", -EINVAL, "must be refreshed first");
	vf_test_assert_listing(w.client, "");
	OK(vf_client_refresh(c, err));
	check_changes(c, 0, 1, 0, 1, 0, 1, 0, 1);
	/* the exact bytes, unversioned names, nothing else */
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	same_file(&w, "root.json", "1.root.json");
	same_file(&w, "timestamp.json", "timestamp.json");
	same_file(&w, "snapshot.json", "1.snapshot.json");
	same_file(&w, "targets.json", "1.targets.json");
	assert_int_equal(vf_client_trusted(c, VF_TUF_TARGETS)->n_targets, 2);

	download(&w, c, "os.img", 1, 3000, false);
	download(&w, c, "docs/readme.txt", 2, 100, false);
	/* present with the right length and hashes: not downloaded again */
	download(&w, c, "os.img", 1, 3000, true);
	find_fails(c, "nope.txt", -ENOENT, "target 'nope.txt' is not in the repository "
		   "(searched: targets)");
	/* a target returned stays valid while the client lives */
	t = find(c, "os.img", "targets");
	vf_client_free(c);
	(void)t;

	/* the trusted root is ignored once root.json exists: a wrong one does not matter */
	vf_test_write_file(w.trusted, "junk", 4);
	c = refreshed(&w);
	check_changes(c, 1, 1, 1, 1, 1, 1, 1, 1);
	vf_client_free(c);
	world_free(&w);
}

static void test_update(void **state)
{
	struct world w;
	struct vf_client *c;
	struct stat st1, st2;
	char *tsf;

	world_init(&w, *state, false);
	refresh_ok(&w);
	tsf = vf_test_path(w.client, "timestamp.json");

	/* nothing new: no file is written again */
	assert_int_equal(stat(tsf, &st1), 0);
	c = refreshed(&w);
	check_changes(c, 1, 1, 1, 1, 1, 1, 1, 1);
	vf_client_free(c);
	assert_int_equal(stat(tsf, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);

	/* a new target */
	add_target(&w, w.targets, "new/thing.bin", 7, 777, false);
	bump_all(&w);
	c = refreshed(&w);
	check_changes(c, 1, 1, 1, 2, 1, 2, 1, 2);
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	same_file(&w, "targets.json", "2.targets.json");
	same_file(&w, "snapshot.json", "2.snapshot.json");
	download(&w, c, "new/thing.bin", 7, 777, false);
	vf_client_free(c);

	/* only timestamp and snapshot move: targets.json is kept (not downloaded) */
	{
		char *t2 = mfile(&w, "2.targets.json");

		assert_int_equal(unlink(t2), 0);
		free(t2);
	}
	bump_snap_ts(&w);
	c = refreshed(&w);
	check_changes(c, 1, 1, 2, 3, 2, 3, 2, 2);
	vf_client_free(c);

	/* equal timestamp version with other bytes: the trusted one stays */
	{
		struct vf_buf before, after;

		state_take(w.client, &before);
		w.ts->expires = EXPIRES - 1;
		pub_ts(&w);
		c = refreshed(&w);
		check_changes(c, 1, 1, 3, 3, 3, 3, 2, 2);
		vf_client_free(c);
		state_take(w.client, &after);
		state_same(&before, &after);
		vf_buf_release(&before);
		vf_buf_release(&after);
	}
	free(tsf);
	world_free(&w);
}

/* A repository made by vf_repo, updated twice; the client follows. */
static void test_vf_repo(void **state)
{
	struct world w = { 0 };
	struct vf_tuf_md *root = NULL;
	struct vf_repo_opts ro = { .now = NOW };
	struct vf_repo *r;
	struct vf_client *c;
	const struct vf_tuf_target *t;
	char *m;
	size_t len;
	uint8_t *data;

	/* a world used for its paths only */
	world_init(&w, *state, false);
	vf_test_rmtree(w.repo);
	root = make_root(&w, 1, (int[]){ K_ROOT }, 1, 1, K_TS);
	OK(vf_tuf_md_sign(root, &fx.s[K_ROOT], 1, err));
	OK(vf_repo_create(w.repo, root, &ro, &r, err));
	OK(vf_repo_add_target_data(r, "a.txt", "hello\n", 6, NULL, err));
	OK(vf_repo_add_target_data(r, "dir/b.bin", "0123456789", 10, NULL, err));
	OK(vf_repo_publish(r, fx.s, fx.n, 0, err));
	vf_repo_close(r);
	m = mfile(&w, "1.root.json");
	data = vf_test_read_file(m, &len);
	vf_test_write_file(w.trusted, data, len);
	free(data);
	free(m);
	m = vf_test_path(w.repo, "metadata");
	free(w.murl);
	w.murl = file_url(m);
	free(m);
	m = vf_test_path(w.repo, "targets");
	free(w.turl);
	w.turl = file_url(m);
	free(m);

	c = refreshed(&w);
	check_changes(c, 0, 1, 0, 1, 0, 1, 0, 1);
	t = find(c, "dir/b.bin", "targets");
	m = vf_test_path(w.out, "b.bin");
	OK(vf_client_download_target(c, t, m, NULL, err));
	data = vf_test_read_file(m, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(data, "0123456789", 10);
	free(data);
	free(m);
	vf_client_free(c);

	ro.now = NOW + 3600;
	OK(vf_repo_open(w.repo, &ro, &r, err));
	OK(vf_repo_add_target_data(r, "c.txt", "third", 5, NULL, err));
	OK(vf_repo_publish(r, fx.s, fx.n, 0, err));
	vf_repo_close(r);
	c = refreshed(&w);
	check_changes(c, 1, 1, 1, 2, 1, 2, 1, 2);
	find(c, "c.txt", "targets");
	vf_client_free(c);
	vf_tuf_md_free(root);
	world_free(&w);
}

/* ---- the root chain ---------------------------------------------------------------------- */

/* root v2: K_ROOT2 threshold 1; v3: K_ROOT3A + K_ROOT3B threshold 2. Cross-signed. */
static void rotate_twice(struct world *w, time_t v2_expires, time_t v3_expires)
{
	struct vf_tuf_md *r2 = make_root(w, 2, (int[]){ K_ROOT2 }, 1, 1, K_TS);
	struct vf_tuf_md *r3 = make_root(w, 3, (int[]){ K_ROOT3A, K_ROOT3B }, 2, 2, K_TS);

	r2->expires = v2_expires;
	r3->expires = v3_expires;
	free(save(w, r2, "root", (int[]){ K_ROOT, K_ROOT2 }, 2));
	free(save(w, r3, "root", (int[]){ K_ROOT2, K_ROOT3A, K_ROOT3B }, 3));
	vf_tuf_md_free(w->root);
	vf_tuf_md_free(r2);
	w->root = r3;
}

static void test_root_chain(void **state)
{
	struct world w;
	struct vf_client *c;

	world_init(&w, *state, false);
	refresh_ok(&w);
	/* v2 expired long ago: only the final root's expiry counts */
	rotate_twice(&w, PAST, EXPIRES);
	c = refreshed(&w);
	check_changes(c, 1, 3, 1, 1, 1, 1, 1, 1);
	assert_int_equal(vf_client_trusted(c, VF_TUF_ROOT)->version, 3);
	vf_client_free(c);
	same_file(&w, "root.json", "3.root.json");
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	world_free(&w);
}

static void test_root_chain_first_use_and_limit(void **state)
{
	struct world w;
	struct vf_client_opts o;
	struct vf_client *c;

	world_init(&w, *state, true);
	rotate_twice(&w, EXPIRES, EXPIRES);
	/* at most one rotation: stops at v2 (then the rest verifies under v2) */
	o = opts_of(&w);
	o.max_root_rotations = 1;
	OK(vf_client_open(&o, &c, err));
	OK(vf_client_refresh(c, err));
	assert_int_equal(vf_client_trusted(c, VF_TUF_ROOT)->version, 2);
	vf_client_free(c);
	same_file(&w, "root.json", "2.root.json");
	c = refreshed(&w);
	check_changes(c, 2, 3, 1, 1, 1, 1, 1, 1);
	vf_client_free(c);
	world_free(&w);
}

static void test_root_freeze(void **state)
{
	struct world w;

	world_init(&w, *state, false);
	refresh_ok(&w);
	rotate_twice(&w, EXPIRES, PAST);
	refresh_fails(&w, -VF_EVERIFY, "3.root.json: expired at 2025-01-01T00:00:00Z (now "
		      "2026-01-01T00:00:00Z): freeze attack");
	/* the trusted root itself expired, nothing newer */
	world_free(&w);
	vf_test_rmtree(*state);
	assert_int_equal(mkdir(*state, 0700), 0);
	world_init(&w, *state, false);
	refresh_ok(&w);
	w.now = EXPIRES;
	refresh_fails(&w, -VF_EVERIFY, "root.json: expired at 2030-01-01T00:00:00Z (now "
		      "2030-01-01T00:00:00Z): freeze attack");
	world_free(&w);
}

static void test_root_malicious_intermediate(void **state)
{
	struct world w;
	struct vf_tuf_md *r2;

	world_init(&w, *state, false);
	refresh_ok(&w);
	/* 2.root.json signed by its own new key only, not by v1's */
	r2 = make_root(&w, 2, (int[]){ K_ROOT2 }, 1, 1, K_TS);
	free(save(&w, r2, "root", (int[]){ K_ROOT2 }, 1));
	refresh_fails(&w, -VF_EVERIFY, "2.root.json: not signed by a threshold of the root keys "
		      "of the trusted root v1: role root: threshold not met: expected 1 valid "
		      "signature, got 0");
	/* signed by v1 only, not by its own key */
	free(save(&w, r2, "root", (int[]){ K_ROOT }, 1));
	refresh_fails(&w, -VF_EVERIFY, "2.root.json: not signed by a threshold of its own root "
		      "keys");
	/* a version that is not N+1 under the name N+1 */
	r2->version = 3;
	free(save(&w, r2, "root", (int[]){ K_ROOT, K_ROOT2 }, 2));
	{
		char *a = mfile(&w, "3.root.json"), *b = mfile(&w, "2.root.json");

		assert_int_equal(rename(a, b), 0);
		free(a);
		free(b);
	}
	refresh_fails(&w, -VF_EVERIFY, "2.root.json: version 3, expected 2 (the version after "
		      "the trusted root v1)");
	/* endless data: more than the limit for a root */
	{
		struct vf_client_opts o = opts_of(&w);
		struct vf_client *c;
		struct vf_err e = { 0 };

		o.root_max_len = 64;
		OK(vf_client_open(&o, &c, err));
		assert_int_equal(vf_client_refresh(c, &e), -VF_EVERIFY);
		vf_test_assert_contains(e.msg, "2.root.json: more than the 64 bytes of the limit "
					       "for "
					       "root (endless data attack)");
		vf_client_free(c);
	}
	vf_tuf_md_free(r2);
	world_free(&w);
}

static void test_root_rollback(void **state)
{
	struct world w;
	struct vf_tuf_md *r;

	world_init(&w, *state, false);
	rotate_twice(&w, EXPIRES, EXPIRES);
	refresh_ok(&w);
	/* 4.root.json that is really version 2 again, signed by everyone */
	r = make_root(&w, 2, (int[]){ K_ROOT3A, K_ROOT3B }, 2, 2, K_TS);
	free(save(&w, r, "root", (int[]){ K_ROOT3A, K_ROOT3B }, 2));
	{
		char *a = mfile(&w, "2.root.json"), *b = mfile(&w, "4.root.json");

		assert_int_equal(rename(a, b), 0);
		free(a);
		free(b);
	}
	refresh_fails(&w, -VF_EVERIFY, "4.root.json: version 2, expected 4 (the version after the "
		      "trusted root v3): rollback attack");
	vf_tuf_md_free(r);
	world_free(&w);
}

/* v2 root: threshold 2 of K_ROOT2 and K_ROOT3A, signed by too few distinct keys. */
static void test_root_threshold(void **state)
{
	struct world w;
	struct vf_tuf_md *r2;
	char *p;

	world_init(&w, *state, false);
	refresh_ok(&w);
	r2 = make_root(&w, 2, (int[]){ K_ROOT2, K_ROOT3A }, 2, 2, K_TS);
	/* below threshold: one of its two keys */
	free(save(&w, r2, "root", (int[]){ K_ROOT, K_ROOT2 }, 2));
	refresh_fails(&w, -VF_EVERIFY, "2.root.json: not signed by a threshold of its own root "
		      "keys: role root: threshold not met: expected 2 valid signatures, got 1");

	/* the same signature twice (same keyid): counted once */
	p = save(&w, r2, "root", (int[]){ K_ROOT, K_ROOT2 }, 2);
	{
		json_error_t je;
		json_t *doc = json_load_file(p, 0, &je), *sigs, *dup = NULL;

		assert_non_null(doc);
		sigs = json_object_get(doc, "signatures");
		for (size_t i = 0; i < json_array_size(sigs); i++) {
			json_t *s = json_array_get(sigs, i);

			if (strcmp(json_string_value(json_object_get(s, "keyid")),
				   fx.keyid[K_ROOT2]) == 0)
				dup = json_deep_copy(s);
		}
		assert_non_null(dup);
		assert_int_equal(json_array_append_new(sigs, dup), 0);
		assert_int_equal(json_dump_file(doc, p, JSON_INDENT(1) | JSON_SORT_KEYS), 0);
		json_decref(doc);
	}
	refresh_fails(&w, -VF_EVERIFY, "2.root.json: not signed by a threshold of its own root "
		      "keys: role root: threshold not met: expected 2 valid signatures, got 1");
	refresh_fails(&w, -VF_EVERIFY, "(duplicate of a counted key)");
	free(p);

	/* the same public key under two keyids: counted once */
	{
		struct vf_tuf_md *r = make_root(&w, 2, (int[]){ K_ROOT2 }, 1, 1, K_TS);
		const struct vf_tuf_key *k = vf_tuf_keys_find(&r->keys, fx.keyid[K_ROOT2]);
		static const char other[] = "00000000000000000000000000000000000000000000000000000"
					    "000000000aa";
		struct vf_tuf_role *role = &r->roles[VF_TUF_ROOT - 1];
		struct vf_buf payload = VF_BUF_INIT;
		uint8_t *sig = NULL;
		size_t sig_len = 0;
		char **ids;

		assert_non_null(k);
		r->flags |= VF_TUF_PARSE_OPAQUE_KEYIDS;
		OK(vf_tuf_keys_insert_take(&r->keys, other, json_deep_copy(k->json), err));
		ids = realloc(role->keyids, (role->n_keyids + 1) * sizeof(*ids));
		assert_non_null(ids);
		role->keyids = ids;
		assert_non_null(ids[role->n_keyids++] = strdup(other));
		OK(vf_tuf_md_set_threshold(r, "root", 2, err));
		OK(vf_tuf_md_sign(r, (struct vf_signer *[]){ fx.s[K_ROOT], fx.s[K_ROOT2] }, 2,
				  err));
		OK(vf_tuf_md_format_signed(r, &payload, err));
		OK(vf_signer_sign(fx.s[K_ROOT2], payload.data, payload.len, &sig, &sig_len, err));
		OK(vf_tuf_md_add_signature(r, other, sig, sig_len, err));
		p = mfile(&w, "2.root.json");
		OK(vf_tuf_md_save(r, p, err));
		refresh_fails(&w, -VF_EVERIFY,
			      "2.root.json: not signed by a threshold of its own "
			      "root keys: role root: threshold not met: expected 2 valid "
			      "signatures, "
			      "got 1");
		refresh_fails(&w, -VF_EVERIFY, "(duplicate of a counted key)");
		free(p);
		free(sig);
		vf_buf_release(&payload);
		vf_tuf_md_free(r);
	}
	vf_tuf_md_free(r2);
	world_free(&w);
}

/* ---- timestamp --------------------------------------------------------------------------- */

static void test_timestamp_attacks(void **state)
{
	struct world w;

	world_init(&w, *state, false);
	bump_all(&w); /* version 2 of everything */
	refresh_ok(&w);

	/* rollback: version 1, properly signed */
	w.ts->version = 1;
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: version 1 is lower than the trusted "
		      "version 2 (rollback attack)");
	/* rollback of the snapshot it names */
	w.ts->version = 3;
	OK(vf_tuf_md_set_meta(w.ts, "snapshot.json", 1, -1, NULL, err));
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: snapshot.json version 1 is lower than the "
		      "trusted timestamp's 2 (rollback attack)");
	/* freeze */
	pub_snap(&w);
	w.ts->expires = PAST;
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: expired at 2025-01-01T00:00:00Z (now "
		      "2026-01-01T00:00:00Z): freeze attack");
	/* ... also when the repository serves the trusted version once it expired */
	w.ts->expires = EXPIRES;
	pub_ts(&w);
	refresh_ok(&w);
	w.now = EXPIRES + 10;
	refresh_fails(&w, -VF_EVERIFY, "root.json: expired"); /* root expires first */
	w.now = NOW;
	/* wrong key */
	w.ts_key = K_OTHER;
	w.ts->version = 4;
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: signatures (keys of root v1): role "
		      "timestamp: threshold not met: expected 1 valid signature, got 0");
	w.ts_key = K_TS;
	/* endless data: more than the limit */
	pub_ts(&w);
	w.ts_max = 100;
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: more than the 100 bytes of the limit for "
		      "timestamp (endless data attack)");
	w.ts_max = 0;
	/* not a timestamp at all */
	{
		char *p = mfile(&w, "timestamp.json"), *q = mfile(&w, "2.snapshot.json");
		size_t len;
		uint8_t *b = vf_test_read_file(q, &len);

		vf_test_write_file(p, b, len);
		free(b);
		refresh_fails(&w, -VF_EVERIFY, "timestamp.json: not valid timestamp metadata");
		vf_test_write_file(p, "{", 1);
		refresh_fails(&w, -VF_EVERIFY, "timestamp.json: not valid timestamp metadata");
		assert_int_equal(unlink(p), 0);
		refresh_fails(&w, -ENOENT, "timestamp.json");
		free(p);
		free(q);
	}
	pub_ts(&w);
	refresh_ok(&w);
	world_free(&w);
}

/* ---- snapshot ---------------------------------------------------------------------------- */

static void test_snapshot_attacks(void **state)
{
	struct world w;
	struct vf_tuf_md *apps = new_md(VF_TUF_TARGETS);
	const char *pat = "apps/*";
	char *p;

	world_init(&w, *state, false);
	OK(vf_tuf_targets_add_role(w.targets, "apps", &pat, 1, false, false, err));
	add_key(w.targets, "apps", K_APPS);
	pub_role(&w, apps, "apps", K_APPS);
	bump_all(&w); /* targets 2, snapshot 2, timestamp 2 */
	refresh_ok(&w);

	/* mix-and-match: timestamp's hash is not the file's */
	w.snap->version = 3;
	w.ts->version = 3;
	pub_snap(&w);
	pub_ts(&w);
	w.snap->expires = EXPIRES - 5; /* other bytes, same version */
	p = save(&w, w.snap, "snapshot", (int[]){ K_SNAP }, 1);
	refresh_fails(&w, -VF_EVERIFY, "3.snapshot.json: sha256 differs from timestamp.json's: "
		      "expected ");
	/* ... and its length */
	OK(vf_tuf_md_set_meta(w.ts, "snapshot.json", 3, 10, NULL, err));
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "3.snapshot.json: more than the 10 bytes of length "
		      "timestamp.json gives (endless data attack)");
	/* a version other than timestamp's (no hashes to catch it first) */
	OK(vf_tuf_md_set_meta(w.ts, "snapshot.json", 4, -1, NULL, err));
	{
		char *q = mfile(&w, "4.snapshot.json");

		assert_int_equal(rename(p, q), 0);
		free(q);
	}
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "4.snapshot.json: version 3, timestamp.json says 4 "
		      "(rollback attack)");
	free(p);

	/* rollback of targets.json in snapshot */
	w.snap->version = 5;
	w.ts->version = 5;
	OK(vf_tuf_md_set_meta(w.snap, "targets.json", 1, -1, NULL, err));
	pub_snap(&w);
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "5.snapshot.json: targets.json version 1 is lower than the "
		      "trusted snapshot's 2 (rollback attack)");
	/* a role that disappears */
	pub_targets(&w);
	OK(vf_tuf_md_remove_meta(w.snap, "apps.json", err));
	pub_snap(&w);
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "5.snapshot.json: lists no apps.json, which the trusted "
		      "snapshot version 2 lists (rollback attack)");
	/* freeze */
	pub_role(&w, apps, "apps", K_APPS);
	w.snap->expires = PAST;
	pub_snap(&w);
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "5.snapshot.json: expired at 2025-01-01T00:00:00Z");
	/* signed by the targets key */
	w.snap->expires = EXPIRES;
	p = save(&w, w.snap, "snapshot", (int[]){ K_TARGETS }, 1);
	pin(w.ts, "snapshot", 5, p);
	free(p);
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "5.snapshot.json: signatures (keys of root v1): role "
		      "snapshot: threshold not met");
	/* without timestamp giving a length, the configured limit holds */
	pub_snap(&w);
	OK(vf_tuf_md_set_meta(w.ts, "snapshot.json", 5, -1, NULL, err));
	pub_ts(&w);
	{
		struct vf_client_opts o = opts_of(&w);
		struct vf_client *c;
		struct vf_err err = { 0 };

		o.snapshot_max_len = 50;
		assert_int_equal(vf_client_open(&o, &c, &err), 0);
		assert_int_equal(vf_client_refresh(c, &err), -VF_EVERIFY);
		vf_test_assert_contains(err.msg, "5.snapshot.json: more than the 50 bytes of the "
					"limit for snapshot (endless data attack)");
		vf_client_free(c);
	}
	refresh_ok(&w);
	vf_tuf_md_free(apps);
	world_free(&w);
}

/* ---- targets ----------------------------------------------------------------------------- */

static void test_targets_attacks(void **state)
{
	struct world w;
	char *p;

	world_init(&w, *state, false);
	bump_all(&w);
	refresh_ok(&w);

	/* mix-and-match: snapshot's hash is not the file's */
	w.targets->version = 3;
	pub_targets(&w);
	bump_snap_ts(&w);
	w.targets->expires = EXPIRES - 5;
	free(save(&w, w.targets, "targets", (int[]){ K_TARGETS }, 1));
	refresh_fails(&w, -VF_EVERIFY, "3.targets.json: sha256 differs from 3.snapshot.json's: "
		      "expected ");
	/* endless data: longer than snapshot's length */
	OK(vf_tuf_md_set_meta(w.snap, "targets.json", 3, 20, NULL, err));
	bump_snap_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "3.targets.json: more than the 20 bytes of length "
		      "4.snapshot.json gives (endless data attack)");
	/* a version other than snapshot's */
	OK(vf_tuf_md_set_meta(w.snap, "targets.json", 4, -1, NULL, err));
	bump_snap_ts(&w);
	{
		char *a = mfile(&w, "3.targets.json"), *b = mfile(&w, "4.targets.json");

		assert_int_equal(rename(a, b), 0);
		free(a);
		free(b);
	}
	refresh_fails(&w, -VF_EVERIFY, "4.targets.json: version 3, 5.snapshot.json says 4 "
		      "(rollback attack)");
	/* freeze */
	w.targets->version = 6;
	w.targets->expires = PAST;
	pub_targets(&w);
	bump_snap_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "6.targets.json: expired at 2025-01-01T00:00:00Z (now "
		      "2026-01-01T00:00:00Z): freeze attack");
	/* signed by another key */
	w.targets->expires = EXPIRES;
	p = save(&w, w.targets, "targets", (int[]){ K_OTHER }, 1);
	pin(w.snap, "targets", 6, p);
	free(p);
	bump_snap_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "6.targets.json: signatures (keys of root v1): role "
		      "targets: threshold not met");
	/* missing from snapshot */
	pub_targets(&w);
	OK(vf_tuf_md_remove_meta(w.snap, "targets.json", err));
	bump_snap_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "lists no targets.json");
	pub_targets(&w);
	bump_snap_ts(&w);
	refresh_ok(&w);
	world_free(&w);
}

/* ---- fast-forward recovery --------------------------------------------------------------- */

static void test_fast_forward(void **state)
{
	struct world w;
	struct vf_tuf_md *r2;
	struct vf_client *c;

	world_init(&w, *state, false);
	/* a compromised timestamp key pushed the client to version 1000 */
	w.ts->version = 1000;
	pub_ts(&w);
	refresh_ok(&w);
	/* the repository recovers at version 1: refused while the key is the same */
	w.ts->version = 1;
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: version 1 is lower than the trusted "
		      "version 1000 (rollback attack)");
	/* a new root that changes nothing for timestamp does not help */
	r2 = make_root(&w, 2, (int[]){ K_ROOT }, 1, 1, K_TS);
	free(save(&w, r2, "root", (int[]){ K_ROOT }, 1));
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: version 1 is lower than the trusted "
		      "version 1000 (rollback attack)");
	vf_tuf_md_free(r2);
	/* root v3 rotates the timestamp key: the trusted timestamp and snapshot go */
	r2 = make_root(&w, 3, (int[]){ K_ROOT }, 1, 1, K_TS2);
	free(save(&w, r2, "root", (int[]){ K_ROOT }, 1));
	w.ts_key = K_TS2;
	pub_ts(&w);
	c = refreshed(&w);
	check_changes(c, 1, 3, 1000, 1, 1, 1, 1, 1);
	vf_client_free(c);
	same_file(&w, "timestamp.json", "timestamp.json");
	same_file(&w, "root.json", "3.root.json");
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	/* and rollback protection works again from there */
	w.ts->version = 5;
	pub_ts(&w);
	refresh_ok(&w);
	w.ts->version = 4;
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: version 4 is lower than the trusted "
		      "version 5 (rollback attack)");
	vf_tuf_md_free(r2);
	world_free(&w);
}

/* A rotation of the snapshot key drops the trusted snapshot: a lower snapshot is accepted. */
static void test_fast_forward_snapshot(void **state)
{
	struct world w;
	struct vf_tuf_md *r2;
	struct vf_client *c;

	world_init(&w, *state, false);
	w.snap->version = 50;
	w.ts->version = 50;
	pub_snap(&w);
	pub_ts(&w);
	refresh_ok(&w);
	/* snapshot back at 2 under a new timestamp version: timestamp refuses it */
	w.snap->version = 2;
	w.ts->version = 51;
	pub_snap(&w);
	pub_ts(&w);
	refresh_fails(&w, -VF_EVERIFY, "timestamp.json: snapshot.json version 2 is lower than the "
		      "trusted timestamp's 50 (rollback attack)");
	/* after a snapshot key rotation (here to K_OTHER) both are forgotten */
	r2 = new_md(VF_TUF_ROOT);
	r2->version = 2;
	add_key(r2, "root", K_ROOT);
	add_key(r2, "timestamp", K_TS);
	add_key(r2, "snapshot", K_OTHER);
	add_key(r2, "targets", K_TARGETS);
	free(save(&w, r2, "root", (int[]){ K_ROOT }, 1));
	{
		char *p = save(&w, w.snap, "snapshot", (int[]){ K_OTHER }, 1);

		pin(w.ts, "snapshot", 2, p);
		free(p);
	}
	pub_ts(&w);
	c = refreshed(&w);
	check_changes(c, 1, 2, 50, 51, 50, 2, 1, 1);
	vf_client_free(c);
	vf_tuf_md_free(r2);
	world_free(&w);
}

/* ---- open -------------------------------------------------------------------------------- */

static void test_open(void **state)
{
	struct world w;
	struct vf_client_opts o;
	struct vf_client *c = (void *)1;
	struct vf_err e = { 0 };
	char *f;

	world_init(&w, *state, false);
	o = opts_of(&w);
	o.trusted_root = NULL;
	assert_int_equal(vf_client_open(&o, &c, &e), -ENOENT);
	assert_null(c);
	vf_test_assert_contains(e.msg, "no trusted root (root.json) and none given");
	o.trusted_root = "/nonexistent/root.json";
	assert_int_equal(vf_client_open(&o, &c, &e), -ENOENT);
	vf_test_assert_contains(e.msg, "trusted root '/nonexistent/root.json'");
	/* a trusted root that its own keys did not sign */
	f = vf_test_path(w.top, "bad-root.json");
	free(save(&w, w.root, "root", (int[]){ K_OTHER }, 1));
	{
		char *p = mfile(&w, "1.root.json");
		size_t len;
		uint8_t *b = vf_test_read_file(p, &len);

		vf_test_write_file(f, b, len);
		free(b);
		free(p);
	}
	o.trusted_root = f;
	assert_int_equal(vf_client_open(&o, &c, &e), -VF_EVERIFY);
	vf_test_assert_containsf(e.msg, "trusted root '%s': not signed by a threshold of its own "
				 "root keys", f);
	o.metadata_dir = "/nonexistent";
	assert_int_equal(vf_client_open(&o, &c, &e), -ENOENT);
	vf_test_assert_contains(e.msg, "metadata directory '/nonexistent'");
	free(save(&w, w.root, "root", (int[]){ K_ROOT }, 1));

	/* local files that no longer verify are ignored and replaced */
	refresh_ok(&w);
	f[0] = f[0]; /* keep */
	{
		char *ts = vf_test_path(w.client, "timestamp.json");

		vf_test_write_file(ts, "garbage", 7);
		c = open_client(&w);
		assert_null(vf_client_trusted(c, VF_TUF_TIMESTAMP));
		assert_non_null(vf_client_trusted(c, VF_TUF_SNAPSHOT));
		OK(vf_client_refresh(c, err));
		check_changes(c, 1, 1, 0, 1, 1, 1, 1, 1);
		vf_client_free(c);
		same_file(&w, "timestamp.json", "timestamp.json");
		free(ts);
	}
	free(f);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_first_use),
		vf_test_in_tmpdir(test_update),
		vf_test_in_tmpdir(test_vf_repo),
		vf_test_in_tmpdir(test_root_chain),
		vf_test_in_tmpdir(test_root_chain_first_use_and_limit),
		vf_test_in_tmpdir(test_root_freeze),
		vf_test_in_tmpdir(test_root_malicious_intermediate),
		vf_test_in_tmpdir(test_root_rollback),
		vf_test_in_tmpdir(test_root_threshold),
		vf_test_in_tmpdir(test_timestamp_attacks),
		vf_test_in_tmpdir(test_snapshot_attacks),
		vf_test_in_tmpdir(test_targets_attacks),
		vf_test_in_tmpdir(test_fast_forward),
		vf_test_in_tmpdir(test_fast_forward_snapshot),
		vf_test_in_tmpdir(test_open),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
