# The man pages in docs/man/ are what ci/gen-man makes from the binary's own
# --help (one command table): regenerated here, they must be byte-identical,
# one page per command, and render with man(1) when it is installed.
. tests/integration/lib.sh
need python3
expect_exit 0 ci/gen-man "$VFORGE" "$TMP/man"
diff -r docs/man "$TMP/man" >"$TMP/diff" 2>&1 ||
	{ cat "$TMP/diff"; fail "docs/man is out of date: run ci/gen-man build/vforge docs/man"; }
n_cmds=$("$VFORGE" --help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {n++} END {print n}')
n_pages=$(ls docs/man/vforge-*.1 | wc -l)
[ "$n_cmds" = "$n_pages" ] || fail "$n_cmds commands but $n_pages command pages"
for c in $("$VFORGE" --help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1}'); do
	[ -f "docs/man/vforge-$c.1" ] || fail "no man page for vforge $c"
	grep -q "^vforge-$c \\\\- " "docs/man/vforge-$c.1" || fail "vforge-$c.1 has no NAME line"
done
if command -v man >/dev/null 2>&1; then
	MANWIDTH=100 man -l docs/man/vforge-verity.1 >"$TMP/rendered" 2>"$TMP/err" || fail "man cannot render vforge-verity.1"
	grep -q -- "--hash-block-size" "$TMP/rendered" || fail "vforge-verity.1 lacks its options"
fi
# make install puts them in share/man/man1
make --no-print-directory -s install BUILD="$VF_BUILD" PREFIX=/usr DESTDIR="$TMP/root" >/dev/null
[ -f "$TMP/root/usr/share/man/man1/vforge.1" ] && [ -f "$TMP/root/usr/share/man/man1/vforge-build.1" ] ||
	fail "make install did not install the man pages"
[ -x "$TMP/root/usr/bin/vforge" ] || fail "make install did not install the binary"
echo ok
