#!/usr/bin/env python3
"""blockmca.py: a frame's cycles on a modelled core, block by block.

Usage: blockmca.py BINARY R1.icount R3.icount CPU [COVERAGE]

BINARY is the arm64 program the plugin counted (an ELF), R1/R3.icount the
icount plugin reports of ../shared/anchors/ort-arm (top=100000: every
block) for runs of 1 and 3 frames. Per frame each block executed
(R3 - R1) / 2 times; its instructions are read from the ELF, disassembled
by llvm-mc and timed by llvm-mca -mcpu=CPU (20 iterations, the mean): a
block's cycles per execution times its executions. Blocks are taken
hottest first until COVERAGE (default 0.98) of the instructions are
modelled. Branches are timed as straight-line code, and nothing crosses a
block (a load's latency into the next block, the front end): on an
in-order core (cortex-a53) that is most of what decides its speed; on an
out-of-order one a loop body's steady state is.

Needs llvm-mc and llvm-mca (Debian: llvm). frames.sh runs it with MCA=1.
"""
import collections
import os
import re
import struct
import subprocess
import sys


def sections(data):
    """(vaddr, file offset, size) of the ELF64 file's PROGBITS sections."""
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum = struct.unpack_from('<HH', data, 0x3a)
    out = []
    for i in range(shnum):
        off = shoff + i * shentsize
        kind, = struct.unpack_from('<I', data, off + 4)
        addr, offset, size = struct.unpack_from('<QQQ', data, off + 16)
        if kind == 1 and addr:
            out.append((addr, offset, size))
    return out


BLOCK = re.compile(r'\s+0x([0-9a-f]+)\s+(\d+)\s+\S+\s+(\d+)\s+(\d+)\s+.*\[(.*)\]\s*$')


def blocks(path):
    """address -> (instructions, entries, length, symbol) of a report's top blocks."""
    out = {}
    with open(path) as f:
        for line in f:
            m = BLOCK.match(line)
            if m:
                out[int(m.group(1), 16)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5))
    return out


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    binary, r1, r3, cpu = argv[1:5]
    coverage = float(argv[5]) if len(argv) > 5 else 0.98
    with open(binary, 'rb') as f:
        data = f.read()
    secs = sections(data)

    def code(addr, n):
        for a, o, s in secs:
            if a <= addr and addr + 4 * n <= a + s:
                return data[o + addr - a:o + addr - a + 4 * n]
        return None

    def cycles(addr, n):
        raw = code(addr, n)
        if raw is None:
            return None
        dis = subprocess.run(['llvm-mc', '--disassemble', '-triple=aarch64', '-mattr=+dotprod,+rdm'],
                             input=' '.join('0x%02x' % b for b in raw), capture_output=True, text=True).stdout
        asm = '\n'.join(l.strip() for l in dis.splitlines() if l.strip() and not l.strip().startswith('.')) + '\n'
        rep = subprocess.run(['llvm-mca', '-mtriple=aarch64', '-mcpu=' + cpu, '-mattr=+dotprod,+rdm',
                              '-iterations=20'], input=asm, capture_output=True, text=True).stdout
        m = re.search(r'Total Cycles:\s+(\d+)', rep)
        return int(m.group(1)) / 20 if m else None

    one, three = blocks(r1), blocks(r3)
    per = []
    for addr, (c, e, n, sym) in three.items():
        c1, e1 = one.get(addr, (0, 0, 0, ''))[:2]
        if c > c1:
            per.append(((c - c1) / 2, (e - e1) / 2, addr, n, sym.replace('github.com/mixedge/mixedge/', '')))
    per.sort(reverse=True)
    total = sum(p[0] for p in per)
    done = cyc = 0.0
    bysym = collections.defaultdict(lambda: [0.0, 0.0])
    for instr, entries, addr, n, sym in per:
        if done >= coverage * total:
            break
        c = cycles(addr, n)
        if c is None:
            continue
        done += instr
        cyc += c * entries
        bysym[sym][0] += instr
        bysym[sym][1] += c * entries
    if cyc == 0:
        sys.exit('blockmca.py: no block could be modelled')
    print('%s: %.2f M instructions a frame, %.2f M modelled block by block: %.2f M cycles (IPC %.2f); '
          'the other %.2f M at that IPC: %.2f M cycles a frame' %
          (cpu, total / 1e6, done / 1e6, cyc / 1e6, done / cyc, (total - done) / 1e6, cyc * total / done / 1e6))
    for sym, (i, c) in sorted(bysym.items(), key=lambda kv: -kv[1][1])[:int(os.environ.get('TOP', '12'))]:
        print('  %8.2f M instructions %8.2f M cycles  IPC %.2f  %s' % (i / 1e6, c / 1e6, i / c, sym))


if __name__ == '__main__':
    main(sys.argv)
