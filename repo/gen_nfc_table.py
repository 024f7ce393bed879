#!/usr/bin/env python3
"""Generate repo/nfc_table.c: the Unicode data vforge needs to decide whether a
string is in Normalization Form C (canonical JSON refuses strings that are not).

Reads the Unicode Character Database as Debian's `unicode-data` package
installs it (/usr/share/unicode):
  UnicodeData.txt               canonical combining classes, canonical decompositions
  DerivedNormalizationProps.txt NFC_Quick_Check, Full_Composition_Exclusion
  CompositionExclusions.txt     (cross-check of Full_Composition_Exclusion)
  NormalizationTest.txt(.bz2)   conformance test, used to self-check the tables

and writes
  repo/nfc_table.c                          the tables (committed)
  tests/vectors/cjson/nfc-known-answers.txt a sample of NormalizationTest as
                                            "<hex code points> <nfc|not-nfc>" lines

Usage: repo/gen_nfc_table.py [--ucd DIR] [--out FILE] [--answers FILE]
Run from the top of the source tree. The output is deterministic.
"""
import argparse
import bz2
import os
import re
import sys

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT


def parse_ranges(line):
    """'0340..0341 ; X # ...' -> (first, last, [fields])"""
    line = line.split('#', 1)[0].strip()
    if not line:
        return None
    fields = [f.strip() for f in line.split(';')]
    cps = fields[0]
    if '..' in cps:
        a, b = cps.split('..')
        return int(a, 16), int(b, 16), fields[1:]
    return int(cps, 16), int(cps, 16), fields[1:]


def read_version(path):
    with open(path, encoding='utf-8') as f:
        first = f.readline()
    m = re.search(r'-(\d+\.\d+\.\d+)\.txt', first)
    return m.group(1) if m else None


def load(ucd):
    ccc = {}
    decomp = {}
    with open(os.path.join(ucd, 'UnicodeData.txt'), encoding='utf-8') as f:
        for line in f:
            fields = line.rstrip('\n').split(';')
            cp = int(fields[0], 16)
            c = int(fields[3])
            if c:
                ccc[cp] = c
            d = fields[5]
            if d and not d.startswith('<'):
                decomp[cp] = [int(x, 16) for x in d.split()]
    qc = {}
    fce = set()
    with open(os.path.join(ucd, 'DerivedNormalizationProps.txt'), encoding='utf-8') as f:
        for line in f:
            r = parse_ranges(line)
            if not r:
                continue
            a, b, rest = r
            if rest[0] == 'NFC_QC':
                for cp in range(a, b + 1):
                    qc[cp] = rest[1]
            elif rest[0] == 'Full_Composition_Exclusion':
                fce.update(range(a, b + 1))
    excl = set()
    with open(os.path.join(ucd, 'CompositionExclusions.txt'), encoding='utf-8') as f:
        for line in f:
            r = parse_ranges(line)
            if r:
                excl.update(range(r[0], r[1] + 1))
    return ccc, decomp, qc, fce, excl


def full_decomp(cp, decomp):
    if S_BASE <= cp < S_BASE + S_COUNT:
        s = cp - S_BASE
        out = [L_BASE + s // N_COUNT, V_BASE + (s % N_COUNT) // T_COUNT]
        if s % T_COUNT:
            out.append(T_BASE + s % T_COUNT)
        return out
    if cp not in decomp:
        return [cp]
    out = []
    for c in decomp[cp]:
        out.extend(full_decomp(c, decomp))
    return out


class Nfc:
    """A reference NFC built only from the generated tables (self-check)."""

    def __init__(self, ccc, full, comp):
        self.ccc, self.full, self.comp = ccc, full, comp

    def compose_pair(self, a, b):
        if L_BASE <= a < L_BASE + L_COUNT and V_BASE <= b < V_BASE + V_COUNT:
            return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT
        if (S_BASE <= a < S_BASE + S_COUNT and (a - S_BASE) % T_COUNT == 0
                and T_BASE < b < T_BASE + T_COUNT):
            return a + (b - T_BASE)
        return self.comp.get((a, b))

    def nfc(self, cps):
        d = []
        for cp in cps:
            if S_BASE <= cp < S_BASE + S_COUNT:
                d.extend(full_decomp(cp, {}))
            else:
                d.extend(self.full.get(cp, [cp]))
        # canonical ordering (stable)
        i = 0
        while i < len(d):
            if self.ccc.get(d[i], 0) == 0:
                i += 1
                continue
            j = i
            while j < len(d) and self.ccc.get(d[j], 0) != 0:
                j += 1
            d[i:j] = sorted(d[i:j], key=lambda c: self.ccc.get(c, 0))
            i = j
        if not d:
            return d
        out = [d[0]]
        starter = 0
        last = self.ccc.get(d[0], 0)
        if last:
            last = 256
        for ch in d[1:]:
            cc = self.ccc.get(ch, 0)
            comp = self.compose_pair(out[starter], ch)
            if comp is not None and (last < cc or last == 0):
                out[starter] = comp
                continue
            if cc == 0:
                starter = len(out)
            last = cc
            out.append(ch)
        return out


def read_normalization_test(ucd):
    path = os.path.join(ucd, 'NormalizationTest.txt')
    if os.path.exists(path):
        text = open(path, encoding='utf-8').read()
    else:
        text = bz2.open(path + '.bz2', 'rt', encoding='utf-8').read()
    part = None
    for line in text.splitlines():
        if line.startswith('@Part'):
            part = int(line[5])
            continue
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        cols = [[int(x, 16) for x in c.split()] for c in line.split(';')[:5]]
        yield part, cols


def ranges_of(values):
    """{cp: v} -> [(first, last, v)] merged over consecutive code points."""
    out = []
    for cp in sorted(values):
        v = values[cp]
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1] = (out[-1][0], cp, v)
        else:
            out.append((cp, cp, v))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ucd', default='/usr/share/unicode')
    ap.add_argument('--out', default='repo/nfc_table.c')
    ap.add_argument('--answers', default='tests/vectors/cjson/nfc-known-answers.txt')
    args = ap.parse_args()

    version = read_version(os.path.join(args.ucd, 'DerivedNormalizationProps.txt'))
    for name in ('CompositionExclusions.txt',):
        v = read_version(os.path.join(args.ucd, name))
        if v != version:
            sys.exit(f'{name} is Unicode {v}, DerivedNormalizationProps.txt is {version}')
    ccc, decomp, qc, fce, excl = load(args.ucd)

    # Full canonical decompositions (Hangul is algorithmic and not tabled).
    full = {cp: full_decomp(cp, decomp) for cp in decomp}
    # Primary composites: two-code-point canonical decompositions not excluded.
    comp = {}
    for cp, d in decomp.items():
        if len(d) == 2 and cp not in fce:
            comp[(d[0], d[1])] = cp

    # Cross-checks of the derived data against what it is derived from.
    singletons = {cp for cp, d in decomp.items() if len(d) == 1}
    non_starter = {cp for cp, d in decomp.items() if len(d) > 1 and (ccc.get(cp, 0) or ccc.get(d[0], 0))}
    if fce != excl | singletons | non_starter:
        sys.exit('Full_Composition_Exclusion does not match CompositionExclusions.txt + singletons + non-starters')
    derived_qc = {}
    for cp in fce:
        derived_qc[cp] = 'N'
    for (a, b) in comp:
        derived_qc.setdefault(b, 'M')
    for cp in range(V_BASE, V_BASE + V_COUNT):
        derived_qc[cp] = 'M'
    for cp in range(T_BASE + 1, T_BASE + T_COUNT):
        derived_qc[cp] = 'M'
    if derived_qc != qc:
        sys.exit('NFC_QC does not match the decompositions and exclusions')

    ref = Nfc(ccc, full, comp)
    answers = []
    n_lines = 0
    for part, cols in read_normalization_test(args.ucd):
        n_lines += 1
        c1, c2, c3, c4, c5 = cols
        for src, want in ((c1, c2), (c2, c2), (c3, c2), (c4, c4), (c5, c4)):
            got = ref.nfc(src)
            if got != want:
                sys.exit(f'self-check failed: NFC({src}) = {got}, expected {want}')
        # Keep every line of parts 0 and 3, every 4th of part 2, every 16th of part 1.
        if part in (0, 3) or n_lines % (16 if part == 1 else 4) == 0:
            for s in (c1, c3, c5):
                answers.append((s, s == ref.nfc(s)))
    seen = set()
    lines = []
    for s, ok in answers:
        key = tuple(s)
        if key in seen:
            continue
        seen.add(key)
        lines.append(' '.join(f'{c:04X}' for c in s) + (' nfc' if ok else ' not-nfc'))

    fast = min([cp for cp in ccc] + [cp for cp in qc])
    max_decomp = max(len(d) for d in full.values())

    o = []
    w = o.append

    def rows(items, per):
        """Table entries `per` to a line: the file stays under the project's 1,500 lines."""
        for i in range(0, len(items), per):
            w('\t' + ' '.join(items[i:i + per]))
    w('/* Generated by repo/gen_nfc_table.py from the Unicode Character Database')
    w(f' * {version} (Debian unicode-data: UnicodeData.txt, DerivedNormalizationProps.txt,')
    w(' * CompositionExclusions.txt; self-checked against NormalizationTest.txt).')
    w(' * Do not edit: regenerate with `python3 repo/gen_nfc_table.py`. */')
    w('#include "repo/internal.h"')
    w('')
    w(f'const char vf_nfc_unicode_version[] = "{version}";')
    w('')
    w('/* Canonical_Combining_Class != 0, as ranges of equal class. */')
    cr = ranges_of(ccc)
    w(f'const struct vf_nfc_range vf_nfc_ccc[{len(cr)}] = {{')
    rows([f'{{ 0x{a:04X}, 0x{b:04X}, {v} }},' for a, b, v in cr], 3)
    w('};')
    w(f'const size_t vf_nfc_ccc_count = {len(cr)};')
    w('')
    w('/* NFC_Quick_Check: 1 = No, 2 = Maybe (absent = Yes). */')
    qr = ranges_of({cp: 1 if v == 'N' else 2 for cp, v in qc.items()})
    w(f'const struct vf_nfc_range vf_nfc_qc[{len(qr)}] = {{')
    rows([f'{{ 0x{a:04X}, 0x{b:04X}, {v} }},' for a, b, v in qr], 3)
    w('};')
    w(f'const size_t vf_nfc_qc_count = {len(qr)};')
    w('')
    w('/* Full canonical decompositions (Hangul syllables are algorithmic). */')
    pool = []
    entries = []
    for cp in sorted(full):
        entries.append((cp, len(pool), len(full[cp])))
        pool.extend(full[cp])
    w(f'const uint32_t vf_nfc_decomp_pool[{len(pool)}] = {{')
    rows([f'0x{c:04X},' for c in pool], 12)
    w('};')
    w(f'const struct vf_nfc_decomp vf_nfc_decomp[{len(entries)}] = {{')
    rows([f'{{ 0x{cp:04X}, {off}, {n} }},' for cp, off, n in entries], 4)
    w('};')
    w(f'const size_t vf_nfc_decomp_count = {len(entries)};')
    w('')
    w('/* Primary composites, sorted by (first, second). */')
    pairs = sorted(comp.items())
    w(f'const struct vf_nfc_pair vf_nfc_comp[{len(pairs)}] = {{')
    rows([f'{{ 0x{a:04X}, 0x{b:04X}, 0x{c:04X} }},' for (a, b), c in pairs], 3)
    w('};')
    w(f'const size_t vf_nfc_comp_count = {len(pairs)};')
    w('')

    if max_decomp > 4 or fast < 0x300:
        sys.exit(f'table shape changed: longest decomposition {max_decomp}, first non-trivial U+{fast:04X};'
                 ' update VF_NFC_MAX_DECOMP / VF_NFC_FAST_LIMIT in repo/internal.h')

    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(o))
    with open(args.answers, 'w', encoding='utf-8') as f:
        f.write(f'# NFC known answers: a sample of NormalizationTest-{version}.txt (every line of\n'
                '# parts 0 and 3, every 4th of part 2, every 16th of part 1), generated by repo/gen_nfc_table.py.\n'
                '# Each line: the code points of a string, then "nfc" when NFC(s) == s, else "not-nfc".\n')
        f.write('\n'.join(lines) + '\n')
    print(f'{args.out}: Unicode {version}: {len(cr)} ccc ranges, {len(qr)} quick-check ranges, '
          f'{len(entries)} decompositions ({len(pool)} code points), {len(pairs)} composites; '
          f'self-check passed on {n_lines} NormalizationTest lines; {len(lines)} known answers; '
          f'first non-trivial code point U+{fast:04X}')


if __name__ == '__main__':
    main()
