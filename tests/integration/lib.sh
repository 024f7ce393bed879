# Shared helpers for integration tests; source with: . tests/integration/lib.sh
# The runner (tests/run-tests) sets VFORGE, VF_BUILD and VF_TOP and runs from VF_TOP.
set -eu
: "${VFORGE:?run through tests/run-tests or set VFORGE}"
: "${VF_BUILD:?}"
TESTDATA="$VF_BUILD/tools/vf-testdata"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vforge-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (run ci/install-deps)"; }

# gen SEED BYTES FILE: deterministic pseudo-random bytes
gen() { "$TESTDATA" "$1" "$2" >"$3"; }

# expect_exit CODE CMD...: run CMD with stdout in $TMP/out, stderr in $TMP/err
expect_exit() {
	_want=$1; shift
	set +e; "$@" >"$TMP/out" 2>"$TMP/err"; _got=$?; set -e
	if [ "$_got" != "$_want" ]; then
		echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"
		fail "expected exit $_want, got $_got: $*"
	fi
}
expect_err() { grep -qF -- "$1" "$TMP/err" || { cat "$TMP/err" >&2; fail "stderr lacks: $1"; }; }
expect_out() { grep -qF -- "$1" "$TMP/out" || { cat "$TMP/out" >&2; fail "stdout lacks: $1"; }; }

# root hash from the "Root hash:" line veritysetup and vforge both print
root_of() { awk '/^Root hash:/ {print $NF}' "$1"; }

# flip_byte FILE OFFSET: invert one byte in place
flip_byte() {
	_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(( 255 - _b )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
