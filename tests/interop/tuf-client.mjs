#!/usr/bin/env node
// A small TUF client CLI around tuf-js's Updater, for vforge's interoperability
// tests: an independent implementation refreshes a vforge repository served
// on the loopback interface and downloads its targets.
//
//   node tests/interop/tuf-client.mjs --metadata-dir DIR --metadata-url URL
//        --targets-url URL --out DIR [--target NAME]... [--all-targets] [--delegated]
//
// DIR holds the trusted root.json; tuf-js keeps its trusted state there
// (root.json, timestamp.json, snapshot.json, targets.json), so a second run
// with the same DIR is an update, not a first run. --all-targets downloads
// every target listed in the verified targets.json after the refresh.
// --delegated loads every delegated role reachable from targets.json (named
// roles and succinct hash bins, pre-order depth first in delegation order,
// each verified by tuf-js against its delegator and the snapshot) and prints
// "role <name> <version>" for each; with --all-targets the targets those
// roles list are downloaded too. Every target is looked up with tuf-js's own
// search (Updater.getTargetInfo: the paths of every delegation on the way,
// terminating delegations), so a target a role lists outside its delegated
// paths, or behind a terminating delegation, is not found.
// Prints "target <name> <length>" per downloaded file and "ok"; on an error
// prints "tuf-js: <error class>: <message>" on stderr and exits 1 (2: usage).
// Only loopback URLs are accepted: the tests never use the network.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Updater } = require('tuf-js');

const USAGE =
	'usage: tuf-client.mjs --metadata-dir DIR --metadata-url URL --targets-url URL --out DIR\n' +
	'                      [--target NAME]... [--all-targets] [--delegated]';

function usage(msg) {
	process.stderr.write(`tuf-client: ${msg}\n${USAGE}\n`);
	process.exit(2);
}

function parseArgs(argv) {
	const a = { targets: [], all: false, delegated: false };
	const valued = {
		'--metadata-dir': 'metadataDir',
		'--metadata-url': 'metadataUrl',
		'--targets-url': 'targetsUrl',
		'--out': 'out',
	};
	for (let i = 0; i < argv.length; i++) {
		let opt = argv[i];
		let val;
		const eq = opt.indexOf('=');
		if (opt.startsWith('--') && eq > 0) {
			val = opt.slice(eq + 1);
			opt = opt.slice(0, eq);
		}
		const take = () => {
			if (val !== undefined) return val;
			if (i + 1 >= argv.length) usage(`${opt} needs a value`);
			return argv[++i];
		};
		if (opt === '--help' || opt === '-h') {
			process.stdout.write(USAGE + '\n');
			process.exit(0);
		} else if (opt in valued) {
			a[valued[opt]] = take();
		} else if (opt === '--target') {
			a.targets.push(take());
		} else if (opt === '--all-targets' && val === undefined) {
			a.all = true;
		} else if (opt === '--delegated' && val === undefined) {
			a.delegated = true;
		} else {
			usage(`unknown argument '${argv[i]}'`);
		}
	}
	for (const [opt, key] of Object.entries(valued)) {
		if (!a[key]) usage(`${opt} is required`);
	}
	for (const opt of ['metadataUrl', 'targetsUrl']) {
		let u;
		try {
			u = new URL(a[opt]);
		} catch {
			usage(`not a URL: '${a[opt]}'`);
		}
		const host = u.hostname.replace(/^\[|\]$/g, '');
		const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
		if (!/^https?:$/.test(u.protocol) || !loopback) {
			usage(`only http(s) URLs on the loopback interface are allowed, not '${a[opt]}'`);
		}
	}
	return a;
}

function errorLine(err) {
	const cls = err && err.constructor && err.constructor.name ? err.constructor.name : 'Error';
	let msg = err && err.message !== undefined ? err.message : String(err);
	if (err && err.cause) {
		const c = err.cause;
		msg += ` (cause: ${c.constructor ? c.constructor.name : 'Error'}: ${c.message ?? c})`;
	}
	if (err && err.statusCode !== undefined) msg += ` (HTTP ${err.statusCode})`;
	return `tuf-js: ${cls}: ${msg}`;
}

class TargetNotFoundError extends Error {}
class BadTargetPathError extends Error {}

// The names of the roles a targets document delegates to, in delegation order.
function delegatedRoleNames(signed) {
	const d = signed.delegations;
	if (!d) return [];
	if (d.roles) return Object.values(d.roles).map((r) => r.name);
	if (d.succinctRoles) return [...d.succinctRoles.getRoles()];
	return [];
}

// Load every delegated role reachable from targets, pre-order depth first,
// through the Updater (download, hashes and version from snapshot, signatures
// by the delegator's keys, expiry); returns [{name, signed}] in visit order.
async function loadDelegatedRoles(updater) {
	const seen = new Set(['targets']);
	const order = [];
	const top = updater.trustedSet.targets.signed;
	const stack = delegatedRoleNames(top).reverse().map((name) => ({ name, parent: 'targets' }));
	while (stack.length > 0) {
		const { name, parent } = stack.pop();
		if (seen.has(name)) continue;
		seen.add(name);
		const md = await updater.loadTargets(name, parent);
		order.push({ name, signed: md.signed });
		const children = delegatedRoleNames(md.signed).reverse();
		stack.push(...children.map((c) => ({ name: c, parent: name })));
	}
	return order;
}

async function main() {
	const a = parseArgs(process.argv.slice(2));
	const rootFile = path.join(a.metadataDir, 'root.json');
	if (!fs.existsSync(rootFile)) usage(`no trusted root: ${rootFile} does not exist`);
	fs.mkdirSync(a.out, { recursive: true });
	const out = path.resolve(a.out);

	const updater = new Updater({
		metadataDir: a.metadataDir,
		metadataBaseUrl: a.metadataUrl,
		targetBaseUrl: a.targetsUrl,
		targetDir: out,
		config: { fetchRetry: 0, fetchRetries: 0, fetchTimeout: 30000 },
	});
	await updater.refresh();

	const names = [...a.targets];
	if (a.all) {
		// tuf-js persisted (or loaded and verified) targets.json during refresh()
		const t = JSON.parse(fs.readFileSync(path.join(a.metadataDir, 'targets.json'), 'utf8'));
		names.push(...Object.keys(t.signed.targets).sort());
	}
	if (a.delegated) {
		const listed = new Set(names);
		for (const { name, signed } of await loadDelegatedRoles(updater)) {
			process.stdout.write(`role ${name} ${signed.version}\n`);
			if (!a.all) continue;
			for (const t of Object.keys(signed.targets).sort()) {
				if (!listed.has(t)) names.push(t);
				listed.add(t);
			}
		}
	}
	for (const name of names) {
		const info = await updater.getTargetInfo(name);
		if (!info) throw new TargetNotFoundError(`no target '${name}' in the trusted targets metadata`);
		const dest = path.resolve(out, name);
		if (!dest.startsWith(out + path.sep)) {
			throw new BadTargetPathError(`target '${name}' would be written outside ${out}`);
		}
		fs.mkdirSync(path.dirname(dest), { recursive: true });
		await updater.downloadTarget(info, dest);
		process.stdout.write(`target ${name} ${info.length}\n`);
	}
	process.stdout.write('ok\n');
}

main().catch((err) => {
	process.stderr.write(errorLine(err) + '\n');
	process.exit(1);
});
