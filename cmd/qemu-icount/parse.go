package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
)

// The parser understands three kinds of lines of a
// `qemu-aarch64 -d nochain,in_asm,exec` log (format checked on qemu 7.2):
//
//	----------------
//	IN: main.loop                              <- start of a translated block (in_asm)
//	0x00094e9c:  ca820c23  eor      x3, x1, x2, asr #3
//	0x00094ea0:  8b020062  add      x2, x3, x2  <- one line per guest instruction
//
//	Trace 0: 0x7f6316759e00 [0000000001009331/0000000000094e9c/00000001/00080200] main.loop
//	                        ^host code       ^cs_base        ^guest pc  ^flags  ^cflags
//
//	Stopped execution of TB chain before 0x7f6316622f80 [0000000000027868] runtime.mallocgc
//
// A Trace line is printed each time a block is entered (with nochain every
// block goes through the main loop or lookup_tb_ptr, both of which log). A
// "Stopped execution" line names a block that was logged but not executed
// (an exit request arrived first); its instructions are taken back.
//
// Blocks are keyed by their host code address, bound to the instruction
// count of the most recent in_asm listing of their guest pc at their first
// Trace. This keeps counts right when one pc is translated twice with
// different lengths (e.g. a one-instruction block for an exclusive access).

// block is one translated block.
type block struct {
	pc    uint64
	n     int    // guest instructions
	execs uint64 // times entered (net of stopped chains)
	sym   string
	first string // text of the first instruction
}

// listing is the most recent in_asm listing of a guest pc.
type listing struct {
	n      int
	sym    string
	first  string
	rebind bool // a Trace of this pc not yet seen since the listing
}

// Counter accumulates dynamic instruction counts from a log stream.
type Counter struct {
	listings map[uint64]*listing
	blocks   map[uint64]*block // by host code address
	perCPU   map[int]uint64

	Total     uint64 // dynamic guest instructions
	Execs     uint64 // block entries
	Stopped   uint64 // block entries taken back
	Unknown   uint64 // Trace lines whose pc had no in_asm listing
	Listings  uint64 // in_asm listings seen
	Lines     uint64
	BadTraces uint64

	// Progress, when set, gets a one-line summary every ProgressEvery lines.
	Progress      io.Writer
	ProgressEvery uint64

	// in-progress in_asm listing
	cur     *listing
	curPC   uint64
	inBlock bool
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter {
	return &Counter{
		listings: make(map[uint64]*listing),
		blocks:   make(map[uint64]*block),
		perCPU:   make(map[int]uint64),
	}
}

var (
	prefixIN      = []byte("IN:")
	prefixTrace   = []byte("Trace ")
	prefixStopped = []byte("Stopped execution of TB chain before ")
)

// Feed consumes a whole log stream.
func (c *Counter) Feed(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An absurdly long line (never a Trace or an instruction): skip the rest.
			c.Line(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == nil {
				continue
			}
		} else if len(line) > 0 {
			c.Line(line)
		}
		if err == io.EOF {
			c.endListing()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Line consumes one log line (with or without its newline).
func (c *Counter) Line(line []byte) {
	c.Lines++
	if c.Progress != nil && c.ProgressEvery > 0 && c.Lines%c.ProgressEvery == 0 {
		c.progress()
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		c.endListing()
		return
	}
	switch line[0] {
	case '0':
		if c.inBlock && len(line) > 2 && line[1] == 'x' {
			if pc, rest, ok := hexField(line[2:]); ok && len(rest) > 0 && rest[0] == ':' {
				if c.cur.n == 0 {
					c.curPC = pc
					c.cur.first = string(bytes.TrimSpace(rest[1:]))
				}
				c.cur.n++
			}
			return
		}
	case 'I':
		if bytes.HasPrefix(line, prefixIN) {
			c.endListing()
			c.inBlock = true
			c.cur = &listing{sym: string(bytes.TrimSpace(line[len(prefixIN):])), rebind: true}
			return
		}
	case 'T':
		if bytes.HasPrefix(line, prefixTrace) {
			c.endListing()
			c.trace(line[len(prefixTrace):])
			return
		}
	case 'S':
		if bytes.HasPrefix(line, prefixStopped) {
			c.endListing()
			c.stopped(line[len(prefixStopped):])
			return
		}
	}
	// Anything else (separator lines, OBJD lines, guest output on a shared
	// stream) ends an in_asm listing.
	c.endListing()
}

func (c *Counter) endListing() {
	if !c.inBlock {
		return
	}
	c.inBlock = false
	if c.cur.n > 0 {
		c.listings[c.curPC] = c.cur
		c.Listings++
	}
	c.cur = nil
}

// trace parses "0: 0x7f6316759e00 [0000000001009331/0000000000094e9c/00000001/00080200] main.loop".
func (c *Counter) trace(s []byte) {
	cpu, s, ok := decField(s)
	if !ok || len(s) < 4 || s[0] != ':' || s[1] != ' ' || s[2] != '0' || s[3] != 'x' {
		c.BadTraces++
		return
	}
	host, s, ok := hexField(s[4:])
	if !ok || len(s) < 2 || s[0] != ' ' || s[1] != '[' {
		c.BadTraces++
		return
	}
	_, s, ok = hexField(s[2:]) // cs_base
	if !ok || len(s) < 1 || s[0] != '/' {
		c.BadTraces++
		return
	}
	pc, _, ok := hexField(s[1:])
	if !ok {
		c.BadTraces++
		return
	}
	b := c.bind(host, pc)
	if b == nil {
		c.Unknown++
		return
	}
	b.execs++
	c.Execs++
	c.Total += uint64(b.n)
	c.perCPU[cpu] += uint64(b.n)
}

// bind returns the block for host code address host, binding it to the
// latest listing of pc when the block is new or pc was translated again.
func (c *Counter) bind(host, pc uint64) *block {
	b := c.blocks[host]
	l := c.listings[pc]
	if b != nil && b.pc == pc && (l == nil || !l.rebind) {
		return b
	}
	if l == nil {
		return b // nil, or a block whose pc changed without a listing: treat as unknown
	}
	l.rebind = false
	if b != nil && b.pc == pc && b.n == l.n {
		return b
	}
	// A new translation at this host address: start a fresh block record,
	// keeping the old one's tally under a retired key.
	if b != nil {
		c.blocks[retiredKey(len(c.blocks))] = b
	}
	b = &block{pc: pc, n: l.n, sym: l.sym, first: l.first}
	c.blocks[host] = b
	return b
}

// retiredKey makes map keys that can never be host addresses (odd and in the
// top of the address space).
func retiredKey(i int) uint64 { return 1<<63 | uint64(i)<<1 | 1 }

// stopped parses "0x7f6316622f80 [0000000000027868] runtime.mallocgc".
func (c *Counter) stopped(s []byte) {
	if len(s) < 2 || s[0] != '0' || s[1] != 'x' {
		return
	}
	host, _, ok := hexField(s[2:])
	if !ok {
		return
	}
	b := c.blocks[host]
	if b == nil || b.execs == 0 {
		return
	}
	b.execs--
	c.Execs--
	c.Stopped++
	c.Total -= uint64(b.n)
	// perCPU is not corrected: the line does not say which cpu.
}

func hexField(s []byte) (v uint64, rest []byte, ok bool) {
	i := 0
	for ; i < len(s) && i < 16; i++ {
		d := s[i]
		switch {
		case d >= '0' && d <= '9':
			d -= '0'
		case d >= 'a' && d <= 'f':
			d -= 'a' - 10
		case d >= 'A' && d <= 'F':
			d -= 'A' - 10
		default:
			return v, s[i:], i > 0
		}
		v = v<<4 | uint64(d)
	}
	return v, s[i:], i > 0
}

func decField(s []byte) (v int, rest []byte, ok bool) {
	i := 0
	for ; i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v, s[i:], i > 0
}

// BlockStat is the dynamic count of one guest block (all its translations).
type BlockStat struct {
	PC     uint64
	Insns  int
	Execs  uint64
	Dyn    uint64
	Symbol string
	First  string
}

// SymbolStat is the dynamic count of all blocks whose in_asm listing named a symbol.
type SymbolStat struct {
	Symbol string
	Dyn    uint64
	Execs  uint64
}

// Blocks returns per-pc statistics, hottest first.
func (c *Counter) Blocks() []BlockStat {
	by := make(map[uint64]*BlockStat)
	for _, b := range c.blocks {
		if b.execs == 0 {
			continue
		}
		s := by[b.pc]
		if s == nil {
			s = &BlockStat{PC: b.pc, Insns: b.n, Symbol: b.sym, First: b.first}
			by[b.pc] = s
		}
		s.Execs += b.execs
		s.Dyn += b.execs * uint64(b.n)
		if b.n > s.Insns {
			s.Insns = b.n
		}
	}
	out := make([]BlockStat, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dyn != out[j].Dyn {
			return out[i].Dyn > out[j].Dyn
		}
		return out[i].PC < out[j].PC
	})
	return out
}

// Symbols returns per-symbol statistics, hottest first.
func (c *Counter) Symbols() []SymbolStat {
	by := make(map[string]*SymbolStat)
	for _, b := range c.blocks {
		if b.execs == 0 {
			continue
		}
		s := by[b.sym]
		if s == nil {
			s = &SymbolStat{Symbol: b.sym}
			by[b.sym] = s
		}
		s.Execs += b.execs
		s.Dyn += b.execs * uint64(b.n)
	}
	out := make([]SymbolStat, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dyn != out[j].Dyn {
			return out[i].Dyn > out[j].Dyn
		}
		return out[i].Symbol < out[j].Symbol
	})
	return out
}

// PerCPU returns dynamic instructions by qemu cpu index (one per guest thread).
func (c *Counter) PerCPU() map[int]uint64 { return c.perCPU }

// Report writes a human-readable summary.
func (c *Counter) Report(w io.Writer, top int) {
	fmt.Fprintf(w, "total dynamic instructions: %d\n", c.Total)
	fmt.Fprintf(w, "block entries: %d  stopped: %d  unknown-pc traces: %d  bad traces: %d  listings: %d  log lines: %d\n",
		c.Execs, c.Stopped, c.Unknown, c.BadTraces, c.Listings, c.Lines)
	cpus := make([]int, 0, len(c.perCPU))
	for k := range c.perCPU {
		cpus = append(cpus, k)
	}
	sort.Ints(cpus)
	fmt.Fprint(w, "per qemu cpu (guest thread):")
	for _, k := range cpus {
		fmt.Fprintf(w, " %d:%d", k, c.perCPU[k])
	}
	fmt.Fprintln(w)
	if top <= 0 {
		return
	}
	syms := c.Symbols()
	fmt.Fprintf(w, "\ntop %d symbols:\n%14s %6s %12s  %s\n", top, "instructions", "%", "entries", "symbol")
	for i, s := range syms {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%14d %6.2f %12d  %s\n", s.Dyn, pct(s.Dyn, c.Total), s.Execs, s.Symbol)
	}
	blocks := c.Blocks()
	fmt.Fprintf(w, "\ntop %d blocks:\n%-12s %14s %6s %12s %5s  %-40s %s\n", top, "pc", "instructions", "%", "entries", "len", "symbol", "first instruction")
	for i, b := range blocks {
		if i == top {
			break
		}
		fmt.Fprintf(w, "0x%-10x %14d %6.2f %12d %5d  %-40s %s\n", b.PC, b.Dyn, pct(b.Dyn, c.Total), b.Execs, b.Insns, b.Symbol, b.First)
	}
}

func (c *Counter) progress() {
	fmt.Fprintf(c.Progress, "qemu-icount: %d lines, %d instructions;", c.Lines, c.Total)
	for i, s := range c.Symbols() {
		if i == 3 {
			break
		}
		fmt.Fprintf(c.Progress, " %s %.1f%%", s.Symbol, pct(s.Dyn, c.Total))
	}
	fmt.Fprintln(c.Progress)
}

func pct(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
