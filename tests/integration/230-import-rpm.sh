#!/bin/sh
# A real .rpm built with rpmbuild imports its payload with modes and owners;
# its %post script never runs (and is not in the tree).
. tests/integration/lib.sh
set -eu

need rpmbuild
MK="$VF_BUILD/tools/vf-mkarchive"
[ -x "$MK" ] || fail "missing $MK (make integration)"
STORE=$TMP/store
MARKER=$TMP/post-ran
mkdir -p "$STORE" "$TMP/rpm/SPECS"

cat >"$TMP/rpm/SPECS/demo.spec" <<EOF
Name: demo
Version: 1.0
Release: 1
Summary: vforge import test package
License: MIT
BuildArch: noarch

%description
vforge import test package.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/demo %{buildroot}/var/lib/demo
printf '#!/bin/sh\\necho demo\\n' >%{buildroot}/usr/bin/demo
printf 'key=value\\n' >%{buildroot}/etc/demo/demo.conf
ln -s demo %{buildroot}/usr/bin/demo-link

%post
touch "$MARKER"

%files
%attr(4755,root,root) /usr/bin/demo
/usr/bin/demo-link
%attr(0640,root,root) %config /etc/demo/demo.conf
%dir %attr(0700,root,root) /var/lib/demo
EOF

# rpmbuild needs a working rpm configuration; if it cannot run here, skip
build() { # PAYLOAD: build with that payload compression into $TMP/rpm-PAYLOAD
	rm -rf "$TMP/rpm/RPMS" "$TMP/rpm/BUILDROOT"
	HOME=$TMP rpmbuild --define "_topdir $TMP/rpm" --define "_build_id_links none" \
		--define "_binary_payload $1" --define "source_date_epoch_from_changelog 0" \
		-bb --nodeps "$TMP/rpm/SPECS/demo.spec" >"$TMP/rpmbuild.log" 2>&1 || return 1
	RPM=$(find "$TMP/rpm/RPMS" -name 'demo-1.0-1*.rpm' | head -1)
	[ -n "$RPM" ] && mv "$RPM" "$TMP/demo-$1.rpm"
}
if ! build w9.gzdio; then
	tail -5 "$TMP/rpmbuild.log"
	skip "rpmbuild cannot build a package here"
fi
n=0
for payload in w9.gzdio w6.xzdio w19.zstdio; do
	[ -e "$TMP/demo-$payload.rpm" ] || build "$payload" || continue
	n=$((n + 1))
	RPM=$TMP/demo-$payload.rpm
	expect_exit 0 "$MK" import "$STORE" "demo=$RPM"
	[ ! -e "$MARKER" ] || fail "the %post script ran"
	sha() { printf "$1" | sha256sum | cut -d' ' -f1; }
	expect_out "/usr/bin/demo file 4755 0:0 "
	expect_out " size=20 sha256=$(sha '#!/bin/sh\necho demo\n') origin=demo"
	expect_out "/usr/bin/demo-link symlink 0777 0:0 "
	expect_out "/etc/demo/demo.conf file 0640 0:0 "
	expect_out "/var/lib/demo dir 0700 0:0 "
	grep -q '^/usr dir 0755 0:0 0 origin=demo$' "$TMP/out" || fail "implicit parent /usr wrong"
	grep -qi 'post\|spec' "$TMP/out" && fail "package metadata was imported"
	# root, etc, etc/demo, demo.conf, usr, usr/bin, demo, demo-link, var, var/lib, var/lib/demo
	[ "$(wc -l <"$TMP/out")" = 11 ] || { cat "$TMP/out"; fail "$payload: expected 11 entries"; }
done
echo "imported rpms with $n payload compressions"

# a truncated rpm fails cleanly
size=$(stat -c %s "$RPM")
head -c $((size - 200)) "$RPM" >"$TMP/cut.rpm"
expect_exit 1 "$MK" import "$STORE" "demo=$TMP/cut.rpm"
expect_err "vf-mkarchive: error: package 'demo': "
! ls -A "$STORE" | grep -v '^[0-9a-f]\{64\}$' || fail "stray files in the store"
echo "the .rpm imported; its %post never ran"
