#!/bin/sh
# manifests/variant.schema.json is a valid draft 2020-12 schema, accepts every
# manifest file under tests/fixtures/manifests and variants/, and agrees with
# vforge on a table of single-file manifests (valid ones and ones with one
# thing wrong that JSON Schema can express). Needs python3 with jsonschema.
. tests/integration/lib.sh
set -eu

need python3
python3 -c 'import jsonschema' 2>/dev/null || skip "python3 jsonschema is not installed"

SCHEMA=manifests/variant.schema.json

# --- every committed manifest validates: the fixtures, the valid fuzz seeds, and
# each variants/*/variant.json with everything it includes (other JSON under
# variants/, such as package metadata, is not a manifest)
{ find tests/fixtures/manifests -name '*.json'; ls tests/fuzz/corpus/fuzz_manifest/valid-*.json;
  ls variants/*/variant.json 2>/dev/null || true; } | sort >"$TMP/files"
[ -s "$TMP/files" ] || fail "no fixture manifests found"
python3 - "$SCHEMA" "$TMP/files" <<'EOF' || fail "committed manifests do not validate"
import json, os, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
todo, done, bad = open(sys.argv[2]).read().split(), set(), 0
while todo:
    path = os.path.normpath(todo.pop())
    if os.path.isdir(path):
        path = os.path.join(path, "variant.json")
    if path in done:
        continue
    done.add(path)
    doc = json.load(open(path))
    for e in v.iter_errors(doc):
        print(f"{path}: {list(e.absolute_path)}: {e.message}")
        bad += 1
    for inc in doc.get("include", []) if isinstance(doc, dict) else []:
        todo.append(os.path.join(os.path.dirname(path), inc))
print(f"{len(done)} manifests validated")
sys.exit(1 if bad else 0)
EOF

# --- a table: expected verdict <TAB> a document (wrapped with name/version/arch)
cat >"$TMP/cases" <<'EOF'
ok	{}
ok	{"source_date_epoch": 9007199254740991, "remove": ["/usr/share/doc/**"]}
ok	{"packages": [{"name": "libstdc++_6.x", "path": "p/a.tar", "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "override": true}]}
ok	{"files": [{"path": "/etc/motd", "content": "hi", "mode": "4755", "uid": 4294967295}, {"path": "/etc/x", "source": "x.txt", "mode": 420}]}
ok	{"directories": [{"path": "/srv/a b", "mode": "0"}], "symlinks": [{"path": "/etc/mtab", "target": "../proc/mounts"}]}
ok	{"kernel": {"cmdline": ["console=ttyS0,115200", "quiet", "root=PARTLABEL=ROOT-A"]}}
ok	{"selinux": {"default": "system_u:object_r:os_t:s0-s15:c0.c1023", "file_contexts": [{"regex": "/usr/bin/.*", "label": "u:r:t", "type": "file"}]}}
ok	{"policy": {"defaults": false, "forbid": ["/usr/bin/perl*"], "allow": ["/usr/bin/sh"]}, "limits": {"max_entry_size": "2GiB", "max_entries": 5}}
ok	{"layout": {"plan": "split", "ab": false, "root_size": 1048576, "data_size": "1TiB", "type_set": "bottlerocket", "disk_size": "2GiB"}}
ok	{"layout": {"ab": false, "disk_size": "1GiB", "partitions": [{"name": "BOOT-A", "type": "xbootldr", "size": "8MiB", "start": "1MiB"}, {"name": "ROOT-A", "type": "root", "size": "64MiB"}, {"name": "HASH-A", "type": "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "size": "1MiB"}, {"name": "DATA", "type": "linux", "grow": true}]}}
ok	{"update": {"root": "keys/root.json", "path": "/etc/vforge/root.json"}}
bad	{"colour": "blue"}
bad	{"name": "Demo"}
bad	{"version": "1.0"}
bad	{"version": "01.0.0"}
bad	{"version": "1.0.0-01"}
bad	{"arch": "amd64"}
bad	{"source_date_epoch": 9007199254740992}
bad	{"source_date_epoch": -1}
bad	{"include": [3]}
bad	{"packages": [{"name": "a", "path": "a.tar", "sha256": "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"}]}
bad	{"packages": [{"name": "a", "path": "pkgs/", "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]}
bad	{"packages": [{"name": "a", "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]}
bad	{"packages": [{"name": "a", "path": "a", "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "origin": "x"}]}
bad	{"files": [{"path": "/etc/motd", "content": "x", "mode": "0648"}]}
bad	{"files": [{"path": "/etc/motd", "content": "x", "mode": 4096}]}
bad	{"files": [{"path": "/etc/motd", "content": "x", "source": "y"}]}
bad	{"files": [{"path": "/etc/motd"}]}
bad	{"files": [{"path": "/etc/../motd", "content": ""}]}
bad	{"files": [{"path": "/etc/", "content": ""}]}
bad	{"files": [{"path": "etc/motd", "content": ""}]}
bad	{"directories": [{"path": "/"}]}
bad	{"directories": [{"path": "/a//b"}]}
bad	{"directories": [{"path": "/a", "uid": 4294967296}]}
bad	{"symlinks": [{"path": "/a", "target": ""}]}
bad	{"remove": ["usr/share/doc"]}
bad	{"kernel": {"cmdline": ["a b"]}}
bad	{"kernel": {"cmdline": ["=x"]}}
bad	{"selinux": {"default": "u:r"}}
bad	{"selinux": {"default": "u:r:t:"}}
bad	{"selinux": {"file_contexts": [{"regex": "/a", "label": "u:r:t", "type": "pipe"}]}}
bad	{"policy": {"allow": ["bin/sh"]}}
bad	{"limits": {"max_entries": 0}}
bad	{"limits": {"max_entry_size": "40 MiB"}}
bad	{"layout": {"plan": "hybrid"}}
bad	{"layout": {"root_size": "40MB"}}
bad	{"layout": {"ab": false, "partitions": [{"name": "BOOT-A", "type": "swap", "size": "1MiB"}]}}
bad	{"layout": {"ab": false, "partitions": [{"name": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789x", "type": "linux", "size": "1MiB"}]}}
bad	{"layout": {"ab": false, "partitions": [{"name": "X", "type": "linux", "size": "1MiB", "grow": true}]}}
bad	{"layout": {"ab": false, "partitions": []}}
bad	{"update": {"root": "r.json", "path": "root.json"}}
EOF

# write every case and the schema's verdict on it in one python run
python3 - "$SCHEMA" "$TMP/cases" "$TMP" >"$TMP/verdicts" <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
for n, line in enumerate(open(sys.argv[2]).read().splitlines(), 1):
    want, doc = line.split("\t", 1)
    d = {"name": "t", "version": "1.0.0", "arch": "x86_64", **json.loads(doc)}
    open(f"{sys.argv[3]}/case{n}.json", "w").write(json.dumps(d))
    print(n, want, "ok" if v.is_valid(d) else "bad")
EOF

count=0
while read -r n want schema; do
	count=$((count + 1))
	doc=$(sed -n "${n}p" "$TMP/cases")
	[ "$schema" = "$want" ] || fail "case $n: schema says $schema, expected $want: $doc"
	if "$VFORGE" resolve "$TMP/case$n.json" --json >/dev/null 2>"$TMP/err"; then tool=ok; else tool=bad; fi
	[ "$tool" = "$want" ] || { cat "$TMP/err"; fail "case $n: vforge says $tool, expected $want: $doc"; }
done <"$TMP/verdicts"
[ "$count" -gt 40 ] || fail "only $count cases ran"
echo "schema: ok, $count cases agree"
