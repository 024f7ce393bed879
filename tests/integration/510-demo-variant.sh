# The example variants (variants/demo, variants/demo-dev) lint clean and
# build reproducibly; their packages come from `make packages`.
. tests/integration/lib.sh
[ -f variants/packages/dist/init.json ] || fail "the demo packages are not built (make packages)"
expect_exit 0 "$VFORGE" lint variants/demo
expect_out "policy: ok"
expect_exit 0 "$VFORGE" lint variants/demo-dev
# demo-dev's debug shell is allowed explicitly; without that exception it is refused
sed 's|"policy": { "allow": \["/usr/bin/sh"\] }|"policy": { "allow": [] }|' variants/demo-dev/variant.json \
	>variants/demo-dev/.no-allow.json
trap 'rm -f variants/demo-dev/.no-allow.json; rm -rf "$TMP"' EXIT
expect_exit 3 "$VFORGE" lint variants/demo-dev/.no-allow.json
expect_out "/usr/bin/sh (package 'debug-shell'): shell 'sh'"
expect_exit 0 "$VFORGE" resolve variants/demo-dev
expect_out "lockdown=none"
grep -q "lockdown=integrity" "$TMP/out" && fail "demo-dev's lockdown=none did not replace lockdown=integrity"

expect_exit 0 "$VFORGE" build variants/demo -o "$TMP/a" --threads 2
(cd / && TZ=America/Los_Angeles && umask 077 && export TZ &&
	"$VFORGE" build "$VF_TOP/variants/demo" -o "$TMP/b" --threads 1 >/dev/null) || fail "second build failed"
(cd "$TMP/a" && sha256sum -- *) >"$TMP/a.sum"
(cd "$TMP/b" && sha256sum -- *) >"$TMP/b.sum"
diff "$TMP/a.sum" "$TMP/b.sum" || fail "two builds of variants/demo differ"
expect_exit 0 "$VFORGE" inspect "$TMP/a/demo-x86_64-1.0.0.img"
expect_out "ROOT-A against HASH-A: verified"
expect_out "selinux=1"
