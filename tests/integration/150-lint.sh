# vforge lint: compose a variant's tree with every check and run the policy.
. tests/integration/lib.sh

# A package with a shell, a setuid binary, a world-writable file and an
# interpreter symlink, packed deterministically, and a variant that pins it.
mkdir -p "$TMP/pkg/usr/bin" "$TMP/pkg/usr/sbin" "$TMP/pkg/etc" "$TMP/pkg/tmp/cache" "$TMP/v"
printf '#!/bin/false\n' >"$TMP/pkg/usr/bin/bash"
printf 'x' >"$TMP/pkg/usr/bin/tool"
printf 'y' >"$TMP/pkg/usr/sbin/helper"
printf 'z' >"$TMP/pkg/etc/open.conf"
printf 'w' >"$TMP/pkg/tmp/cache/scratch"
ln -s tool "$TMP/pkg/usr/bin/python3"
chmod 0755 "$TMP/pkg/usr/bin/bash" "$TMP/pkg/usr/bin/tool"
chmod 4755 "$TMP/pkg/usr/sbin/helper"
chmod 0666 "$TMP/pkg/etc/open.conf" "$TMP/pkg/tmp/cache/scratch"
expect_exit 0 "$VFORGE" pack "$TMP/pkg" -o "$TMP/v/bad.tar.zst" --owner 0:0 --mtime 1700000000
sum=$(cut -d' ' -f1 "$TMP/out")

write_variant() { # extra-json
	cat >"$TMP/v/variant.json" <<JSON
{
  "name": "lint-test", "version": "1.2.3", "arch": "x86_64",
  "packages": [ { "name": "bad", "path": "bad.tar.zst", "sha256": "$sum" } ],
  "selinux": { "default": "system_u:object_r:os_t:s0" }$1
}
JSON
}

# every violation is listed, with the package that brought it; exit 3
write_variant ""
expect_exit 3 "$VFORGE" lint "$TMP/v"
expect_out "/usr/bin/bash (package 'bad'): shell 'bash'"
expect_out "/usr/bin/python3 (package 'bad'): interpreter 'python3'"
expect_out "/usr/sbin/helper (package 'bad'): setuid binary"
expect_out "/etc/open.conf (package 'bad'): world-writable file"
expect_out "policy: 4 violation(s)"
expect_err "4 policy violation(s)"
grep -q scratch "$TMP/out" && fail "a world-writable file under a tmp directory was reported"

# --json lists the same
expect_exit 3 "$VFORGE" lint --json "$TMP/v"
python3 - "$TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False, d
paths = sorted(v["path"] for v in d["violations"])
assert paths == ["/etc/open.conf", "/usr/bin/bash", "/usr/bin/python3", "/usr/sbin/helper"], paths
assert all(v["package"] == "bad" for v in d["violations"])
assert d["source_date_epoch"] == 1700000000 and d["source_date_epoch_from"] == "inputs", d
PY

# explicit exceptions and removal make it pass
write_variant ',
  "policy": { "allow": ["/usr/sbin/helper", "/etc/open.conf"] },
  "remove": ["/usr/bin/bash", "/usr/bin/python3"]'
expect_exit 0 "$VFORGE" lint "$TMP/v"
expect_out "policy: ok"

# extra forbidden globs
write_variant ',
  "policy": { "allow": ["/usr/sbin/helper", "/etc/open.conf"], "forbid": ["/usr/bin/t*"] },
  "remove": ["/usr/bin/bash", "/usr/bin/python3"]'
expect_exit 3 "$VFORGE" lint "$TMP/v"
expect_out "/usr/bin/tool (package 'bad'): forbidden by policy rule '/usr/bin/t*'"

# a pin that does not match: exit 3 with both digests
write_variant ""
sed -i "s/$sum/$(printf '%064d' 0)/" "$TMP/v/variant.json"
expect_exit 3 "$VFORGE" lint "$TMP/v"
expect_err "package 'bad'"
expect_err "sha256 mismatch: expected $(printf '%064d' 0), got $sum"

# a missing package file: exit 1 naming it
write_variant ""
rm "$TMP/v/bad.tar.zst"
expect_exit 1 "$VFORGE" lint "$TMP/v"
expect_err "bad.tar.zst"

# SOURCE_DATE_EPOCH from the environment wins; garbage in it is refused
expect_exit 0 "$VFORGE" pack "$TMP/pkg" -o "$TMP/v/bad.tar.zst" --owner 0:0 --mtime 1700000000
expect_exit 3 env SOURCE_DATE_EPOCH=1600000000 "$VFORGE" lint --json "$TMP/v"
grep -q '"source_date_epoch":1600000000' "$TMP/out" || fail "SOURCE_DATE_EPOCH from the environment was not used"
expect_exit 1 env SOURCE_DATE_EPOCH=yesterday "$VFORGE" lint "$TMP/v"
expect_err "SOURCE_DATE_EPOCH"

# usage
expect_exit 2 "$VFORGE" lint
expect_exit 2 "$VFORGE" lint --bogus "$TMP/v"
expect_exit 0 "$VFORGE" lint --help
expect_out "usage: vforge lint"

# lint writes nothing next to the variant, and cleans up its work directory
before=$(ls "$TMP/v" | tr '\n' ' ')
TMPDIR=$TMP/scratch; mkdir -p "$TMPDIR"; export TMPDIR
expect_exit 3 "$VFORGE" lint "$TMP/v"
[ "$(ls "$TMP/v" | tr '\n' ' ')" = "$before" ] || fail "lint wrote next to the variant"
[ -z "$(ls -A "$TMP/scratch")" ] || fail "lint left its work directory behind: $(ls -A "$TMP/scratch")"
