// Package neongen generates the arm64 NEON assembly of package kernels
// (gemm_neon_arm64.s, gemm_dot_arm64.s, dwconv_neon_arm64.s,
// elementwise_neon_arm64.s).
//
// Go's arm64 assembler lacks most integer NEON instructions, so those are
// emitted as `WORD $0x…` with the instruction, in LLVM syntax, as a comment.
// The encoder here covers exactly the instruction forms the kernels use;
// kernels/wordcheck_test.go cross-checks every word with llvm-mc, and
// kernels/generate_test.go fails when the checked-in files are stale.
package neongen

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Asm accumulates the lines of one .s file.
type Asm struct {
	b strings.Builder
}

// L appends a line of Go assembly (or several, if s holds newlines),
// formatted like fmt.Sprintf.
func (a *Asm) L(format string, args ...any) {
	if len(args) == 0 {
		a.b.WriteString(format)
	} else {
		fmt.Fprintf(&a.b, format, args...)
	}
	a.b.WriteByte('\n')
}

// S appends s verbatim as a line (or several).
func (a *Asm) S(s string) {
	a.b.WriteString(s)
	a.b.WriteByte('\n')
}

// W appends one WORD-encoded instruction given in LLVM syntax (formatted
// like fmt.Sprintf). It panics on a form the encoder does not know: that is
// a bug in the generator, not an input error.
func (a *Asm) W(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	w, err := Encode(text)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(&a.b, "\tWORD $0x%08x // %s\n", w, text)
}

// String returns the file's text.
func (a *Asm) String() string { return a.b.String() }

// operand is a vector register operand: vN.<count><elem>, or vN.<elem>[i]
// / vN.4b[i] for by-element forms.
type operand struct {
	reg   uint32
	count int  // lanes in the arrangement (0 for vN.h[i])
	elem  byte // 'b', 'h', 's', 'd'
	index int  // -1 unless by element
}

var opRE = regexp.MustCompile(`^v([0-9]+)\.([0-9]*)([bhsd])(?:\[([0-9]+)\])?$`)

func parseOperand(s string) (operand, error) {
	m := opRE.FindStringSubmatch(s)
	if m == nil {
		return operand{}, fmt.Errorf("bad operand %q", s)
	}
	r, _ := strconv.Atoi(m[1])
	o := operand{reg: uint32(r), elem: m[3][0], index: -1}
	if r > 31 {
		return o, fmt.Errorf("bad register %q", s)
	}
	if m[2] != "" {
		o.count, _ = strconv.Atoi(m[2])
	}
	if m[4] != "" {
		o.index, _ = strconv.Atoi(m[4])
	}
	return o, nil
}

var elemSize = map[byte]uint32{'b': 0, 'h': 1, 's': 2, 'd': 3}

// bits returns the arrangement's width in bits (0 for a bare element).
func (o operand) bits() int {
	return o.count * map[byte]int{'b': 8, 'h': 16, 's': 32, 'd': 64}[o.elem]
}

// q is the Q bit of a full (128-bit) arrangement.
func (o operand) q() uint32 {
	if o.bits() == 128 {
		return 1
	}
	return 0
}

// Three registers of the same arrangement: 0 Q U 01110 size 1 Rm opcode 1 Rn Rd.
var threeSame = map[string]struct{ u, opc uint32 }{
	"shadd":   {0, 0x00},
	"sqadd":   {0, 0x01},
	"sqshl":   {0, 0x09},
	"srshl":   {0, 0x0a},
	"smax":    {0, 0x0c},
	"smin":    {0, 0x0d},
	"add":     {0, 0x10},
	"mla":     {0, 0x12},
	"mul":     {0, 0x13},
	"addp":    {0, 0x17},
	"sqdmulh": {0, 0x16},
	"fmul":    {1, 0x1b},
}

// Three registers, long/wide: 0 Q U 01110 size 1 Rm opcode 00 Rn Rd; the
// "2" forms (upper halves) set Q.
var threeDiff = map[string]uint32{
	"saddl":   0x0,
	"saddw":   0x1,
	"ssubl":   0x2,
	"ssubw":   0x3,
	"smlal":   0x8,
	"smlsl":   0xa,
	"smull":   0xc,
	"sqdmull": 0xd,
}

// Two registers, misc: 0 Q U 01110 size 10000 opcode 10 Rn Rd.
var twoMisc = map[string]struct{ u, opc uint32 }{
	"saddlp": {0, 0x02},
	"sadalp": {0, 0x06},
	"sqxtn":  {0, 0x14},
	"scvtf":  {0, 0x1d},
}

var ldrQRE = regexp.MustCompile(`^ldr q([0-9]+), \[x([0-9]+), x([0-9]+)\]$`)

// Encode returns the encoding of one instruction in LLVM syntax.
func Encode(text string) (uint32, error) {
	if m := ldrQRE.FindStringSubmatch(strings.TrimSpace(text)); m != nil {
		// LDR (register, SIMD&FP), 128 bits, unscaled X offset:
		// 00 111 1 00 11 1 Rm 011 0 10 Rn Rt.
		var r [3]uint32
		for i := range r {
			v, _ := strconv.Atoi(m[i+1])
			if v > 31 || i > 0 && v == 31 { // x31 is not a general register here
				return 0, fmt.Errorf("%q: bad register", text)
			}
			r[i] = uint32(v)
		}
		return 0x3ce06800 | r[2]<<16 | r[1]<<5 | r[0], nil
	}
	mn, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	var ops []operand
	for _, f := range strings.Split(rest, ",") {
		o, err := parseOperand(strings.TrimSpace(f))
		if err != nil {
			return 0, fmt.Errorf("%q: %v", text, err)
		}
		ops = append(ops, o)
	}
	bad := func() (uint32, error) { return 0, fmt.Errorf("%q: unsupported instruction form", text) }
	upper := strings.HasSuffix(mn, "2")
	base := strings.TrimSuffix(mn, "2")
	same, isSame := threeSame[mn]
	diff, isDiff := threeDiff[base]
	misc, isMisc := twoMisc[base]
	switch {
	case isSame:
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		if n.count != d.count || m.count != d.count || n.elem != d.elem || m.elem != d.elem || m.index >= 0 || d.bits() < 64 {
			return bad()
		}
		size := elemSize[d.elem]
		if mn == "fmul" {
			if d.elem != 's' {
				return bad()
			}
			size = 0 // sz = 0: single precision
		}
		return 0x0e200400 | d.q()<<30 | same.u<<29 | size<<22 | m.reg<<16 | same.opc<<11 | n.reg<<5 | d.reg, nil
	case mn == "sdot":
		// SDOT (by element): 0 Q 0 01111 10 L M Rm 1110 H 0 Rn Rd.
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		if d.elem != 's' || n.elem != 'b' || n.bits() != d.bits() || m.elem != 'b' || m.count != 4 || m.index < 0 || m.index > 3 {
			return bad()
		}
		l, h := uint32(m.index&1), uint32(m.index>>1)
		return 0x0f80e000 | d.q()<<30 | l<<21 | m.reg<<16 | h<<11 | n.reg<<5 | d.reg, nil
	case isDiff:
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		wide := strings.HasSuffix(base, "w")
		if d.bits() != 128 || d.elem == 'b' || m.index >= 0 {
			return bad()
		}
		narrow := byte("bhs"[elemSize[d.elem]-1])
		half := 64
		if upper {
			half = 128
		}
		if m.elem != narrow || m.bits() != half {
			return bad()
		}
		if wide && (n.elem != d.elem || n.count != d.count) || !wide && (n.elem != narrow || n.bits() != half) {
			return bad()
		}
		q := uint32(0)
		if upper {
			q = 1
		}
		return 0x0e200000 | q<<30 | (elemSize[d.elem]-1)<<22 | m.reg<<16 | diff<<12 | n.reg<<5 | d.reg, nil
	case isMisc:
		if len(ops) != 2 {
			return bad()
		}
		d, n := ops[0], ops[1]
		var q, size uint32
		switch base {
		case "sadalp", "saddlp":
			if upper || d.bits() != n.bits() || d.bits() < 64 || elemSize[d.elem] != elemSize[n.elem]+1 {
				return bad()
			}
			q, size = d.q(), elemSize[n.elem]
		case "sqxtn":
			half := 64
			if upper {
				half, q = 128, 1
			}
			if n.bits() != 128 || d.bits() != half || elemSize[n.elem] != elemSize[d.elem]+1 {
				return bad()
			}
			size = elemSize[d.elem]
		case "scvtf":
			if upper || d != (operand{reg: d.reg, count: n.count, elem: 's', index: -1}) || n.elem != 's' || d.bits() < 64 {
				return bad()
			}
			q = d.q()
		}
		return 0x0e200800 | q<<30 | misc.u<<29 | size<<22 | misc.opc<<12 | n.reg<<5 | d.reg, nil
	}
	return bad()
}
