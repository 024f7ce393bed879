#!/bin/sh
# The command table: help and version on stdout with exit 0; unknown commands,
# unknown options, wrong argument counts and bad option values print to stderr
# only and exit 2, naming what was wrong, before any file is touched.
. tests/integration/lib.sh
set -eu

# usage_error MESSAGE CMD...: exit 2, MESSAGE on stderr, nothing on stdout
usage_error() {
	_msg=$1; shift
	expect_exit 2 "$@"
	expect_err "$_msg"
	[ ! -s "$TMP/out" ] || { cat "$TMP/out"; fail "usage error printed to stdout: $*"; }
}

# --- vforge help / --help / -h: the command list on stdout
expect_exit 0 "$VFORGE" help
grep -q '^  verity  *[a-z]' "$TMP/out" || { cat "$TMP/out"; fail "'vforge help' does not list verity"; }
grep -q '^  help  *[a-z]' "$TMP/out" || fail "'vforge help' does not list help"
grep -q '^  version  *[a-z]' "$TMP/out" || fail "'vforge help' does not list version"
[ ! -s "$TMP/err" ] || fail "'vforge help' wrote to stderr"
cp "$TMP/out" "$TMP/help"
for opt in --help -h; do
	expect_exit 0 "$VFORGE" "$opt"
	cmp -s "$TMP/help" "$TMP/out" || fail "'vforge $opt' differs from 'vforge help'"
done

# --- version
expect_exit 0 "$VFORGE" --version
grep -Eqx 'vforge [0-9]+\.[0-9]+\.[0-9]+' "$TMP/out" || { cat "$TMP/out"; fail "bad --version output"; }
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "--version printed more than one line"
cp "$TMP/out" "$TMP/version"
expect_exit 0 "$VFORGE" version
cmp -s "$TMP/version" "$TMP/out" || fail "'vforge version' differs from 'vforge --version'"

# --- the verity help text, reached four ways, is the same on stdout
expect_exit 0 "$VFORGE" help verity
expect_out "usage: vforge verity format [options] <data_file> <hash_file>"
expect_out "vforge verity verify [options] <data_file> <hash_file> <root_hash>"
for opt in --hash= --data-block-size= --hash-block-size= --data-blocks= --hash-offset= \
	--salt= --uuid= --no-superblock --format= --threads= --json; do
	expect_out "$opt"
done
[ ! -s "$TMP/err" ] || fail "'vforge help verity' wrote to stderr"
cp "$TMP/out" "$TMP/verity-help"
for args in "verity --help" "verity -h" "verity format --help" "verity verify --help" \
	"verity format --salt=- --help"; do
	# shellcheck disable=SC2086
	expect_exit 0 "$VFORGE" $args
	cmp -s "$TMP/verity-help" "$TMP/out" || fail "'vforge $args' differs from 'vforge help verity'"
	[ ! -s "$TMP/err" ] || fail "'vforge $args' wrote to stderr"
done

# --- unknown commands
usage_error "'frobnicate' is not a vforge command" "$VFORGE" frobnicate
usage_error "'frobnicate' is not a vforge command" "$VFORGE" help frobnicate
usage_error "usage: vforge" "$VFORGE"

# --- unknown options, global and per command
usage_error "unknown option '--frobnicate'" "$VFORGE" --frobnicate help
usage_error "unknown option '-x'" "$VFORGE" -x
usage_error "unknown option '--frobnicate'" "$VFORGE" verity format --frobnicate d h
usage_error "unknown option '--frobnicate'" "$VFORGE" verity verify --frobnicate d h 00
usage_error "usage: vforge verity format" "$VFORGE" verity format --frobnicate d h
usage_error "option '--hash' needs a value" "$VFORGE" verity format d h --hash

# --- subcommands and argument counts
usage_error "missing subcommand" "$VFORGE" verity
usage_error "unknown subcommand 'check'" "$VFORGE" verity check d h
usage_error "format takes <data_file> <hash_file>" "$VFORGE" verity format
usage_error "format takes <data_file> <hash_file>" "$VFORGE" verity format d
usage_error "format takes <data_file> <hash_file>" "$VFORGE" verity format d h x
usage_error "verify takes <data_file> <hash_file> <root_hash>" "$VFORGE" verity verify d h
usage_error "verify takes <data_file> <hash_file> <root_hash>" "$VFORGE" verity verify d h 00 x
usage_error "too many arguments" "$VFORGE" help verity extra
usage_error "too many arguments" "$VFORGE" version extra

# --- bad option values name the option; nothing is created
gen 1 8192 "$TMP/data"
for case in \
	"--threads: --threads=0" \
	"--threads: --threads=1025" \
	"--threads: --threads=two" \
	"--data-blocks: --data-blocks=abc" \
	"--data-blocks: --data-blocks=-1" \
	"--data-blocks: --data-blocks=0" \
	"--data-block-size: --data-block-size=4k" \
	"--hash-offset: --hash-offset=1x" \
	"--salt: --salt=xyz" \
	"--uuid: --uuid=nope" \
	"--format: --format=2" \
	"--format: --format=one"; do
	name=${case%%: *}
	opt=${case#*: }
	usage_error "$name" "$VFORGE" verity format "$opt" "$TMP/data" "$TMP/hash"
	expect_err "usage: vforge verity format"
	[ ! -e "$TMP/hash" ] || fail "'$opt' created the hash file"
	usage_error "$name" "$VFORGE" verity verify "$opt" "$TMP/data" "$TMP/hash" 00
done
usage_error "root hash 'xyz' is not a hex string" "$VFORGE" verity verify "$TMP/data" "$TMP/hash" xyz
for f in "$TMP"/* "$TMP"/.*; do
	case ${f#"$TMP"/} in
	. | .. | '*' | '.*' | data | out | err | help | verity-help | version) ;;
	*) fail "usage errors left '$f' behind" ;;
	esac
done
