// Package neongen generates the arm64 NEON assembly of package kernels
// (gemm_neon_arm64.s, gemm_dot_arm64.s, dwconv_neon_arm64.s,
// dwconv_dot_arm64.s, elementwise_neon_arm64.s) and of package camera
// (fusedrow_neon_arm64.s, the row kernels of the fused preprocessing;
// templates in camera.go).
//
// Go's arm64 assembler lacks most integer NEON instructions, so those are
// emitted as `WORD $0x…` with the instruction, in LLVM syntax, as a comment.
// The encoder here covers exactly the instruction forms the kernels use;
// kernels/wordcheck_test.go cross-checks every word with llvm-mc, and
// TestNeonGenerated (kernels/neongen_test.go) fails when a checked-in file
// is stale.
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
	"shadd":    {0, 0x00},
	"sqadd":    {0, 0x01},
	"sqshl":    {0, 0x09},
	"srshl":    {0, 0x0a},
	"smax":     {0, 0x0c},
	"smin":     {0, 0x0d},
	"add":      {0, 0x10},
	"mla":      {0, 0x12},
	"mul":      {0, 0x13},
	"addp":     {0, 0x17},
	"sqdmulh":  {0, 0x16},
	"sqrdmulh": {1, 0x16},
	"sshl":     {0, 0x08},
	"cmeq":     {1, 0x11},
	"cmge":     {0, 0x07},
	"fmul":     {1, 0x1b},
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

// Long/wide by element (vN.h[i] or vN.s[i]): 0 Q U 01111 size L M Rm opcode
// H 0 Rn Rd; the "2" forms set Q.
var byElemLong = map[string]uint32{
	"smlal": 0x2,
	"smlsl": 0x6,
	"smull": 0xa,
}

// Two registers, misc: 0 Q U 01110 size 10000 opcode 10 Rn Rd.
var twoMisc = map[string]struct{ u, opc uint32 }{
	"saddlp": {0, 0x02},
	"sadalp": {0, 0x06},
	"sqxtn":  {0, 0x14},
	"sqxtun": {1, 0x12},
	"uqxtn":  {1, 0x14},
	"scvtf":  {0, 0x1d},
}

// Logical, three registers of a byte arrangement: 0 Q U 01110 opc 1 Rm
// 000111 Rn Rd (MOV is ORR with Rm = Rn).
var logical = map[string]struct{ u, opc uint32 }{
	"and": {0, 0},
	"orr": {0, 2},
	"eor": {1, 0},
}

// Shift by immediate: 0 Q U 011110 immh:immb opcode 1 Rn Rd. kind says how
// immh:immb holds the shift: "left" esize+shift, "right" 2*esize-shift (both
// on one arrangement), "long" esize+shift of the narrow source (SXTL/UXTL
// are shift 0), "narrow" 2*esize-shift of the narrow destination.
var shiftImm = map[string]struct {
	u, opc uint32
	kind   string
}{
	"shl":     {0, 0x0a, "left"},
	"sshr":    {0, 0x00, "right"},
	"ushr":    {1, 0x00, "right"},
	"sshll":   {0, 0x14, "long"},
	"ushll":   {1, 0x14, "long"},
	"sxtl":    {0, 0x14, "long"},
	"uxtl":    {1, 0x14, "long"},
	"sqshrun": {1, 0x10, "narrow"},
	"sqrshrn": {0, 0x13, "narrow"},
}

var (
	ldrQRE = regexp.MustCompile(`^ldr q([0-9]+), \[x([0-9]+), x([0-9]+)\]$`)
	tblRE  = regexp.MustCompile(`^(tbl|tbx) (v[0-9]+\.[0-9]+b), \{ ?([^{}]*?) ?\}, (v[0-9]+\.[0-9]+b)$`)
)

// Encode returns the encoding of one instruction in LLVM syntax.
func Encode(text string) (uint32, error) {
	text = strings.TrimSpace(text)
	bad := func() (uint32, error) { return 0, fmt.Errorf("%q: unsupported instruction form", text) }
	if m := ldrQRE.FindStringSubmatch(text); m != nil {
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
	if m := tblRE.FindStringSubmatch(text); m != nil {
		// TBL/TBX: 0 Q 001110 000 Rm 0 len op 00 Rn Rd, a list of 1 to 4
		// consecutive registers (modulo 32), all .16b.
		return encodeTbl(text, m[1] == "tbx", m[2], strings.Split(m[3], ","), m[4])
	}
	mn, rest, _ := strings.Cut(text, " ")
	var ops []operand
	imm, hasImm := uint64(0), false
	for _, f := range strings.Split(rest, ",") {
		f = strings.TrimSpace(f)
		if strings.HasPrefix(f, "#") && !hasImm {
			v, err := strconv.ParseUint(f[1:], 0, 64)
			if err != nil {
				return 0, fmt.Errorf("%q: bad immediate %q", text, f)
			}
			imm, hasImm = v, true
			continue
		}
		if hasImm { // the immediate comes last
			return bad()
		}
		o, err := parseOperand(f)
		if err != nil {
			return 0, fmt.Errorf("%q: %v", text, err)
		}
		ops = append(ops, o)
	}
	upper := strings.HasSuffix(mn, "2")
	base := strings.TrimSuffix(mn, "2")
	same, isSame := threeSame[mn]
	diff, isDiff := threeDiff[base]
	misc, isMisc := twoMisc[base]
	logic, isLogic := logical[mn]
	shift, isShift := shiftImm[base]
	ext := base == "sxtl" || base == "uxtl" // shifts by 0, written without an immediate
	if hasImm != (isShift && !ext || mn == "movi") {
		return bad()
	}
	switch {
	case (mn == "mul" || mn == "mla") && len(ops) == 3 && ops[2].index >= 0:
		// By element, same arrangement: 0 Q U 01111 size L M Rm opcode H 0
		// Rn Rd (MUL: U 0, opcode 1000; MLA: U 1, opcode 0000); the index
		// is H:L:M for .h (Rm in v0-v15), H:L for .s.
		d, n, m := ops[0], ops[1], ops[2]
		if d.index >= 0 || n != (operand{reg: n.reg, count: d.count, elem: d.elem, index: -1}) || m.count != 0 ||
			m.elem != d.elem || d.bits() < 64 || d.elem != 'h' && d.elem != 's' {
			return bad()
		}
		var u, opc uint32 = 0, 0x8
		if mn == "mla" {
			u, opc = 1, 0
		}
		var h, l, mm uint32
		idx := uint32(m.index)
		if d.elem == 'h' {
			if idx > 7 || m.reg > 15 {
				return bad()
			}
			h, l, mm = idx>>2, idx>>1&1, idx&1
		} else {
			if idx > 3 {
				return bad()
			}
			h, l, mm = idx>>1, idx&1, m.reg>>4
		}
		return 0x0f000000 | d.q()<<30 | u<<29 | elemSize[d.elem]<<22 | l<<21 | mm<<20 | (m.reg&15)<<16 | opc<<12 | h<<11 | n.reg<<5 | d.reg, nil
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
		} else if d.elem == 'd' {
			return bad() // integer .2d forms are not covered (most do not exist)
		}
		return 0x0e200400 | d.q()<<30 | same.u<<29 | size<<22 | m.reg<<16 | same.opc<<11 | n.reg<<5 | d.reg, nil
	case isLogic || mn == "mov":
		if mn == "mov" {
			if len(ops) != 2 {
				return bad()
			}
			ops = append(ops, ops[1]) // ORR Vd, Vn, Vn
			logic = logical["orr"]
		}
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		if d.elem != 'b' || d.bits() < 64 || n != (operand{reg: n.reg, count: d.count, elem: 'b', index: -1}) ||
			m != (operand{reg: m.reg, count: d.count, elem: 'b', index: -1}) {
			return bad()
		}
		return 0x0e201c00 | d.q()<<30 | logic.u<<29 | logic.opc<<22 | m.reg<<16 | n.reg<<5 | d.reg, nil
	case mn == "movi":
		// MOVI, 64-bit lanes: 0 1 1 0111100000 abc 1110 01 defgh Rd; each
		// bit of abcdefgh stands for a byte 0x00 or 0xff of the immediate.
		if len(ops) != 1 || ops[0] != (operand{reg: ops[0].reg, count: 2, elem: 'd', index: -1}) {
			return bad()
		}
		var abcdefgh uint32
		for i := 7; i >= 0; i-- {
			switch b := imm >> (8 * i) & 0xff; b {
			case 0:
				abcdefgh <<= 1
			case 0xff:
				abcdefgh = abcdefgh<<1 | 1
			default:
				return bad()
			}
		}
		return 0x6f00e400 | abcdefgh>>5<<16 | abcdefgh&0x1f<<5 | ops[0].reg, nil
	case isShift:
		if len(ops) != 2 || ops[0].index >= 0 || ops[1].index >= 0 {
			return bad()
		}
		d, n := ops[0], ops[1]
		var q uint32
		var immhb uint64
		switch shift.kind {
		case "left", "right":
			if upper || n.count != d.count || n.elem != d.elem || d.bits() < 64 || d.elem == 'd' && d.bits() != 128 {
				return bad()
			}
			esize := uint64(8) << elemSize[d.elem]
			if shift.kind == "left" && imm >= esize || shift.kind == "right" && (imm < 1 || imm > esize) {
				return bad()
			}
			q, immhb = d.q(), esize+imm
			if shift.kind == "right" {
				immhb = 2*esize - imm
			}
		case "long", "narrow":
			wide, narrow := d, n
			if shift.kind == "narrow" {
				wide, narrow = n, d
			}
			half := 64
			if upper {
				half, q = 128, 1
			}
			if wide.bits() != 128 || narrow.bits() != half || elemSize[wide.elem] != elemSize[narrow.elem]+1 {
				return bad()
			}
			esize := uint64(8) << elemSize[narrow.elem]
			if shift.kind == "long" && imm >= esize || shift.kind == "narrow" && (imm < 1 || imm > esize) {
				return bad()
			}
			immhb = esize + imm
			if shift.kind == "narrow" {
				immhb = 2*esize - imm
			}
		}
		return 0x0f000400 | q<<30 | shift.u<<29 | uint32(immhb)<<16 | shift.opc<<11 | n.reg<<5 | d.reg, nil
	case mn == "dup":
		// DUP (element): 0 Q 0 01110000 imm5 0 0000 1 Rn Rd, imm5 =
		// index:1:0…0 by element size.
		if len(ops) != 2 {
			return bad()
		}
		d, n := ops[0], ops[1]
		size := elemSize[d.elem]
		if d.index >= 0 || d.bits() < 64 || d.elem == 'd' && d.bits() != 128 ||
			n.count != 0 || n.elem != d.elem || n.index < 0 || n.index >= 16>>size {
			return bad()
		}
		imm5 := uint32(n.index)<<(size+1) | 1<<size
		return 0x0e000400 | d.q()<<30 | imm5<<16 | n.reg<<5 | d.reg, nil
	case isDiff && len(ops) == 3 && ops[2].index >= 0:
		// By element: the index is H:L:M for .h (Rm in v0-v15), H:L for .s.
		opc, ok := byElemLong[base]
		if !ok {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		if d.bits() != 128 || d.elem != 's' && d.elem != 'd' {
			return bad()
		}
		narrow := byte("bhs"[elemSize[d.elem]-1])
		half := 64
		var q uint32
		if upper {
			half, q = 128, 1
		}
		if n.elem != narrow || n.bits() != half || n.index >= 0 || m.elem != narrow || m.count != 0 {
			return bad()
		}
		var h, l, mm uint32
		idx := uint32(m.index)
		if narrow == 'h' {
			if idx > 7 || m.reg > 15 {
				return bad()
			}
			h, l, mm = idx>>2, idx>>1&1, idx&1
		} else {
			if idx > 3 {
				return bad()
			}
			h, l, mm = idx>>1, idx&1, m.reg>>4
		}
		size := elemSize[narrow]
		return 0x0f000000 | q<<30 | size<<22 | l<<21 | mm<<20 | (m.reg&15)<<16 | opc<<12 | h<<11 | n.reg<<5 | d.reg, nil
	case mn == "sqrdmlah":
		// SQRDMLAH (vector, ARMv8.1 RDM): 0 Q 1 01110 size 0 Rm 1000 0 1 Rn Rd.
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		if (d.elem != 's' && d.elem != 'h') || m.index >= 0 || n.bits() != d.bits() || n.elem != d.elem || m.elem != d.elem || m.count != d.count {
			return bad()
		}
		return 0x2e008400 | d.q()<<30 | elemSize[d.elem]<<22 | m.reg<<16 | n.reg<<5 | d.reg, nil
	case mn == "sdot":
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		if m.index < 0 {
			// SDOT (vector): 0 Q 0 01110 10 0 Rm 1001 0 1 Rn Rd.
			if d.elem != 's' || n.elem != 'b' || n.bits() != d.bits() || m.elem != 'b' || m.count != n.count {
				return bad()
			}
			return 0x0e809400 | d.q()<<30 | m.reg<<16 | n.reg<<5 | d.reg, nil
		}
		// SDOT (by element): 0 Q 0 01111 10 L M Rm 1110 H 0 Rn Rd.
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
	case base == "addhn" || base == "raddhn":
		// ADDHN/RADDHN: 0 Q U 01110 size 1 Rm 0100 00 Rn Rd, the narrow
		// destination's size; the "2" forms write the upper half (Q).
		if len(ops) != 3 {
			return bad()
		}
		d, n, m := ops[0], ops[1], ops[2]
		half := 64
		var q, u uint32
		if upper {
			half, q = 128, 1
		}
		if base == "raddhn" {
			u = 1
		}
		if d.index >= 0 || d.bits() != half || d.elem == 'd' || n.bits() != 128 || n.index >= 0 ||
			elemSize[n.elem] != elemSize[d.elem]+1 || m != (operand{reg: m.reg, count: n.count, elem: n.elem, index: -1}) {
			return bad()
		}
		return 0x0e204000 | q<<30 | u<<29 | elemSize[d.elem]<<22 | m.reg<<16 | n.reg<<5 | d.reg, nil
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
		case "sqxtn", "sqxtun", "uqxtn":
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

// encodeTbl encodes TBL/TBX Vd, {list}, Vm (Vd and Vm .8b or .16b, the list
// of .16b registers).
func encodeTbl(text string, tbx bool, dst string, list []string, idx string) (uint32, error) {
	bad := func() (uint32, error) { return 0, fmt.Errorf("%q: unsupported instruction form", text) }
	d, err1 := parseOperand(dst)
	m, err2 := parseOperand(idx)
	if err1 != nil || err2 != nil || d.index >= 0 || m != (operand{reg: m.reg, count: d.count, elem: 'b', index: -1}) || d.bits() < 64 {
		return bad()
	}
	if len(list) < 1 || len(list) > 4 {
		return bad()
	}
	var n uint32
	for i, s := range list {
		o, err := parseOperand(strings.TrimSpace(s))
		if err != nil || o.count != 16 || o.elem != 'b' || o.index >= 0 {
			return bad()
		}
		if i == 0 {
			n = o.reg
		} else if o.reg != (n+uint32(i))%32 {
			return bad()
		}
	}
	var op uint32
	if tbx {
		op = 1
	}
	return 0x0e000000 | d.q()<<30 | m.reg<<16 | uint32(len(list)-1)<<13 | op<<12 | n<<5 | d.reg, nil
}
