# Helpers for the tests that run tuf-js (tests/interop) against repositories
# served by nginx; source after lib.sh, with $BASE (the nginx URL) and $SRC
# (where the original target files are) set.

# tufjs CLIENT REPO ARGS...: run tuf-js with trusted state in $TMP/c/CLIENT against
# the repository served from $BASE/REPO, downloading into $TMP/c/CLIENT.out
tufjs() {
	_c=$TMP/c/$1 _r=$2; shift 2
	node tests/interop/tuf-client.mjs --metadata-dir "$_c" --metadata-url "$BASE/$_r/metadata/" \
		--targets-url "$BASE/$_r/targets/" --out "$_c.out" "$@"
}
# new_client CLIENT ROOT: a client whose only trusted metadata is ROOT
new_client() { rm -rf "$TMP/c/$1" "$TMP/c/$1.out"; mkdir -p "$TMP/c/$1"; cp "$2" "$TMP/c/$1/root.json"; }
# jv FILE EXPR [ARGS...]: a value of the JSON document in FILE (d), e.g. jv f.json d.signed.version
jv() { _jf=$1 _je=$2; shift 2; node -p "const d = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); $_je" "$_jf" "$@"; }
# expect_targets FILE NAME...: FILE (client output) lists exactly these targets, then "ok"
expect_targets() {
	_f=$1; shift
	printf '%s\n' "$@" | sort >"$TMP/want"
	sed -n 's/^target \(.*\) [0-9]*$/\1/p' "$_f" | sort >"$TMP/got"
	cmp -s "$TMP/want" "$TMP/got" || { diff "$TMP/want" "$TMP/got" >&2; fail "tuf-js downloaded other targets than expected"; }
	[ "$(tail -1 "$_f")" = ok ] || fail "tuf-js did not end with ok"
}
# same_targets CLIENT NAME...: the downloaded files are byte-identical to $SRC/NAME
same_targets() {
	_c=$1; shift
	for _n in "$@"; do
		cmp "$SRC/$_n" "$TMP/c/$_c.out/$_n" || fail "tuf-js's $_n differs from the original"
	done
}
