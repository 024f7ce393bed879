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

# ---- nginx and tuf-js (interop tests) ------------------------------------------------

# nginx lives in /usr/sbin, which a normal user's PATH may lack
NGINX_BIN=$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
# demo_version DIR VERSION: DIR/variant.json, variants/demo at another version
# (and os-release), for update and boot tests
demo_version() {
	mkdir -p "$1"
	cat >"$1/variant.json" <<JSON
{
  "include": ["$VF_TOP/variants/demo/variant.json"],
  "version": "$2",
  "files": [
    { "path": "/usr/lib/os-release",
      "content": "NAME=\\"vforge demo\\"\\nID=demo\\nVERSION_ID=$2\\nVARIANT_ID=demo\\n" }
  ]
}
JSON
}

need_nginx() { [ -n "$NGINX_BIN" ] || skip "nginx is not installed (run ci/install-deps)"; }

# need_tufjs: skip unless node and tests/interop's tuf-js are installed
need_tufjs() {
	command -v node >/dev/null 2>&1 || skip "node is not installed (run ci/install-deps)"
	[ -f tests/interop/node_modules/tuf-js/package.json ] ||
		skip "tuf-js is not installed in tests/interop/node_modules (run ci/install-deps)"
}

# start_nginx DOCROOT: serve DOCROOT read-only (GET/HEAD, no autoindex) on
# 127.0.0.1 at a free port, as an instance of its own under $TMP (config,
# pid, logs, temp paths); sets NGINX_PORT and NGINX_DIR (access.log and
# error.log are there). Call it directly, not in $(...): it registers the
# stop in the EXIT trap. May be called more than once (one instance each).
_vf_nginx_pids=""
_vf_nginx_n=0
_vf_nginx_stop() {
	for _p in $_vf_nginx_pids; do
		[ -f "$_p" ] || continue
		_pid=$(cat "$_p" 2>/dev/null) || continue
		[ -n "$_pid" ] || continue
		kill -TERM "$_pid" 2>/dev/null || continue
		_i=0
		while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	done
}
_vf_http_code() { # URL: print the HTTP status (000 when nothing answers)
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
	else
		node -e 'fetch(process.argv[1]).then(r => console.log(r.status), () => console.log("000"))' \
			"$1" 2>/dev/null || echo 000
	fi
}
start_nginx() {
	need_nginx
	[ -d "$1" ] || fail "start_nginx: $1 is not a directory"
	_vf_nginx_n=$((_vf_nginx_n + 1))
	NGINX_DIR=$TMP/nginx.$_vf_nginx_n
	mkdir -p "$NGINX_DIR/tmp"
	_root=$(cd "$1" && pwd)
	_user=""
	[ "$(id -u)" = 0 ] && _user="user root;" # workers must read a 0700 $TMP
	_vf_nginx_pids="$_vf_nginx_pids $NGINX_DIR/nginx.pid"
	trap '_vf_nginx_stop; rm -rf "$TMP"' EXIT
	_try=0
	while :; do
		_try=$((_try + 1))
		[ $_try -le 20 ] || fail "start_nginx: no free port on 127.0.0.1 after 20 tries (last $NGINX_PORT)"
		NGINX_PORT=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
		# a port in use costs nginx 2.5 s of bind() retries: skip those that answer
		[ "$(_vf_http_code "http://127.0.0.1:$NGINX_PORT/")" = 000 ] || continue
		cat >"$NGINX_DIR/nginx.conf" <<NGINX
$_user
worker_processes 1;
daemon on;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 64; }
http {
	access_log $NGINX_DIR/access.log;
	client_body_temp_path $NGINX_DIR/tmp/body;
	proxy_temp_path $NGINX_DIR/tmp/proxy;
	fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
	uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
	scgi_temp_path $NGINX_DIR/tmp/scgi;
	types { application/json json; }
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		server_name localhost;
		root $_root;
		autoindex off;
		location / { limit_except GET { deny all; } }
	}
}
NGINX
		: >"$NGINX_DIR/error.log"
		if "$NGINX_BIN" -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" -c "$NGINX_DIR/nginx.conf" \
			>"$NGINX_DIR/start.out" 2>&1; then
			break
		fi
		grep -q 'Address already in use' "$NGINX_DIR/error.log" "$NGINX_DIR/start.out" && continue
		cat "$NGINX_DIR/start.out" "$NGINX_DIR/error.log" >&2
		fail "start_nginx: nginx did not start (config $NGINX_DIR/nginx.conf)"
	done
	_i=0
	while [ "$(_vf_http_code "http://127.0.0.1:$NGINX_PORT/")" = 000 ]; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || { cat "$NGINX_DIR/error.log" >&2; fail "start_nginx: nothing answers on 127.0.0.1:$NGINX_PORT after 10 s"; }
		sleep 0.1
	done
	echo "nginx: serving $_root on http://127.0.0.1:$NGINX_PORT/"
}

# softhsm_setup: skip unless SoftHSM2, pkcs11-tool and OpenSSL's pkcs11 engine
# are installed; then make a token "vf" (user PIN 1234, SO PIN 5678) under
# $TMP/tokens, export SOFTHSM2_CONF and set P11_MODULE. p11 ARGS... runs
# pkcs11-tool on that token, quietly.
softhsm_setup() {
	need softhsm2-util
	need pkcs11-tool
	need openssl
	P11_MODULE=
	for _m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
		[ -r "$_m" ] && P11_MODULE=$_m && break
	done
	[ -n "$P11_MODULE" ] || skip "SoftHSM2's PKCS#11 module is not installed (Debian: softhsm2)"
	_engines=$(openssl version -e | sed 's/^ENGINESDIR: "//; s/"$//')
	[ -e "$_engines/pkcs11.so" ] ||
		skip "OpenSSL's pkcs11 engine is not in $_engines (Debian: libengine-pkcs11-openssl)"
	mkdir -p "$TMP/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$TMP/tokens" >"$TMP/softhsm2.conf"
	export SOFTHSM2_CONF="$TMP/softhsm2.conf"
	softhsm2-util --init-token --free --label vf --pin 1234 --so-pin 5678 >/dev/null
}
p11() { pkcs11-tool --module "$P11_MODULE" --token-label vf "$@" >/dev/null 2>&1; }

# simple_root NOW: in the current directory, ed25519 keys root.pem,
# targets.pem, snapshot.pem and timestamp.pem (each with .pub) and root.json
# (version 1, one key a role, signed) with the clock at NOW.
simple_root() {
	for _k in root targets snapshot timestamp; do
		"$VFORGE" key generate --type ed25519 -o $_k.pem >/dev/null
	done
	"$VFORGE" root init root.json --now "$1" >/dev/null 2>&1
	for _k in root targets snapshot timestamp; do
		"$VFORGE" root add-key root.json $_k.pem.pub --role $_k >/dev/null
	done
	"$VFORGE" root sign root.json --key root.pem >/dev/null
}
