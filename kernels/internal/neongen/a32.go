package neongen

// The A32 backend: GOARCH=arm (ARMv7-A with NEON, 32-bit Raspberry Pi OS).
// Go's 32-bit ARM assembler has no NEON mnemonics at all, so every NEON
// instruction, loads and stores included, is a WORD with its text in LLVM
// syntax (llvm-mc -triple=armv7 -mattr=+neon) as the comment. The register
// file is d0-d31 / q0-q15 (qN is d2N:d2N+1); general registers are written
// r0-r9, r12 (Go's R10 is g and R11 the linker's temporary).

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A appends one WORD-encoded A32 NEON instruction given in LLVM syntax
// (formatted like fmt.Sprintf). It panics on a form EncodeA32 does not
// know: a bug in the generator.
func (a *Asm) A(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	w, err := EncodeA32(text)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(&a.b, "\tWORD $0x%08x // %s\n", w, text)
}

// a32Op is one table entry: the encoding with every register, size and
// immediate field zero, and how the operands fill it.
type a32Op struct {
	base uint32
	form string // operand classes, e.g. "QQQ" (D or Q by the Q bit), "qdd", "dqq"; see EncodeA32
	// sizes lists the data-type widths accepted (8, 16, 32, 64); the size
	// field is log2(width/8) - shift. Empty: no size field.
	sizes []int
	shift int
	swap  bool // the second and third operands are (Vm, Vn): register shifts
}

var a32Ops = map[string]a32Op{}

func init() {
	add := func(names string, op a32Op) {
		for _, n := range strings.Fields(names) {
			a32Ops[n] = op
		}
	}
	s := func(base uint32, sizes ...int) a32Op { return a32Op{base: base, form: "QQQ", sizes: sizes} }
	// Three registers of the same length: 1111 001U 0 D size Vn Vd opc N Q M o Vm.
	add("vadd.i", s(0xf2000800, 8, 16, 32, 64))
	add("vsub.i", s(0xf3000800, 8, 16, 32, 64))
	add("vqadd.s", s(0xf2000010, 8, 16, 32, 64))
	add("vhadd.s", s(0xf2000000, 8, 16, 32))
	add("vmax.s", s(0xf2000600, 8, 16, 32))
	add("vmin.s", s(0xf2000610, 8, 16, 32))
	add("vmul.i", s(0xf2000910, 8, 16, 32))
	add("vmla.i", s(0xf2000900, 8, 16, 32))
	add("vqdmulh.s", s(0xf2000b00, 16, 32))
	add("vqrdmulh.s", s(0xf3000b00, 16, 32))
	add("vcgt.s", s(0xf2000300, 8, 16, 32))
	add("vrshl.s", a32Op{base: 0xf2000500, form: "QQQ", sizes: []int{8, 16, 32, 64}, swap: true})
	add("vqshl.s", a32Op{base: 0xf2000410, form: "QQQ", sizes: []int{8, 16, 32, 64}, swap: true})
	add("vshl.s", a32Op{base: 0xf2000400, form: "QQQ", sizes: []int{8, 16, 32, 64}, swap: true})
	add("vpadd.i", a32Op{base: 0xf2000b10, form: "ddd", sizes: []int{8, 16, 32}})
	add("vmul.f32", a32Op{base: 0xf3000d10, form: "QQQ"})
	add("vand", a32Op{base: 0xf2000110, form: "QQQ"})
	add("vorr", a32Op{base: 0xf2200110, form: "QQQ"})
	add("veor", a32Op{base: 0xf3000110, form: "QQQ"})
	add("vbsl", a32Op{base: 0xf3100110, form: "QQQ"})
	// Three registers of different lengths: 1111 001U 1 D size Vn Vd opc N 0 M 0 Vm.
	l := func(base uint32, form string, shift int, sizes ...int) a32Op {
		return a32Op{base: base, form: form, sizes: sizes, shift: shift}
	}
	add("vaddl.s", l(0xf2800000, "qdd", 0, 8, 16, 32))
	add("vaddw.s", l(0xf2800100, "qqd", 0, 8, 16, 32))
	add("vsubl.s", l(0xf2800200, "qdd", 0, 8, 16, 32))
	add("vsubw.s", l(0xf2800300, "qqd", 0, 8, 16, 32))
	add("vmlal.s", l(0xf2800800, "qdd", 0, 8, 16, 32))
	add("vmlsl.s", l(0xf2800a00, "qdd", 0, 8, 16, 32))
	add("vmull.s", l(0xf2800c00, "qdd", 0, 8, 16, 32))
	add("vaddhn.i", l(0xf2800400, "dqq", 1, 16, 32, 64))
	add("vraddhn.i", l(0xf3800400, "dqq", 1, 16, 32, 64))
	// Two registers, miscellaneous: 1111 0011 1 D 11 size A Vd 0 B Q M 0 Vm.
	m := func(base uint32, form string, shift int, sizes ...int) a32Op {
		return a32Op{base: base, form: form, sizes: sizes, shift: shift}
	}
	add("vpaddl.s", m(0xf3b00200, "QQ", 0, 8, 16, 32))
	add("vpadal.s", m(0xf3b00600, "QQ", 0, 8, 16, 32))
	add("vqmovn.s", m(0xf3b20280, "dq", 1, 16, 32, 64))
	add("vqmovun.s", m(0xf3b20240, "dq", 1, 16, 32, 64))
	add("vqmovn.u", m(0xf3b202c0, "dq", 1, 16, 32, 64))
	add("vmovn.i", m(0xf3b20200, "dq", 1, 16, 32, 64))
	add("vzip.", m(0xf3b20180, "QQ", 0, 8, 16, 32))
	add("vuzp.", m(0xf3b20100, "QQ", 0, 8, 16, 32))
	add("vtrn.", m(0xf3b20080, "QQ", 0, 8, 16, 32))
	add("vcvt.f32.s32", a32Op{base: 0xf3bb0600, form: "QQ"})
	// Shifts by an immediate: 1111 001U 1 D imm6 Vd opc L Q M 1 Vm; the
	// immediate is placed by EncodeA32 (form "...#").
	sh := func(base uint32, form string, sizes ...int) a32Op { return a32Op{base: base, form: form, sizes: sizes} }
	add("vshr.s", sh(0xf2800010, "QQ>", 8, 16, 32, 64))
	add("vrshr.s", sh(0xf2800210, "QQ>", 8, 16, 32, 64))
	add("vshl.i", sh(0xf2800510, "QQ<", 8, 16, 32, 64))
	add("vqrshrn.s", sh(0xf2800950, "dq>", 16, 32, 64))
	add("vqshrn.s", sh(0xf2800910, "dq>", 16, 32, 64))
	add("vqrshrun.s", sh(0xf3800850, "dq>", 16, 32, 64))
	add("vqshrun.s", sh(0xf3800810, "dq>", 16, 32, 64))
	add("vrshrn.i", sh(0xf2800850, "dq>", 16, 32, 64))
	add("vshll.s", sh(0xf2800a10, "qd<", 8, 16, 32))
	add("vshll.u", sh(0xf3800a10, "qd<", 8, 16, 32))
	add("vmovl.s", sh(0xf2800a10, "qd0", 8, 16, 32))
	add("vmovl.u", sh(0xf3800a10, "qd0", 8, 16, 32))
}

var (
	a32RegRE  = regexp.MustCompile(`^([dqr])([0-9]+)$`)
	a32ScalRE = regexp.MustCompile(`^d([0-9]+)\[([0-9]+)\]$`)
	a32MemRE  = regexp.MustCompile(`^(vld[1-4]|vst[1-4])\.(8|16|32|64) \{([^{}]*)\}, \[r([0-9]+)\](!|, r([0-9]+))?$`)
)

// a32Reg parses dN / qN / rN: class 'd', 'q' or 'r' and number.
func a32Reg(s string) (byte, uint32, bool) {
	m := a32RegRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, false
	}
	n, _ := strconv.Atoi(m[2])
	c := m[1][0]
	if c == 'd' && n > 31 || c == 'q' && n > 15 || c == 'r' && n > 14 {
		return 0, 0, false
	}
	return c, uint32(n), true
}

// dreg returns the D-register number of a d or q operand.
func dreg(c byte, n uint32) uint32 {
	if c == 'q' {
		return 2 * n
	}
	return n
}

// fVd, fVn, fVm place a D-register number in the Vd:D, Vn:N, Vm:M fields.
func fVd(d uint32) uint32 { return (d&15)<<12 | (d>>4)<<22 }
func fVn(d uint32) uint32 { return (d&15)<<16 | (d>>4)<<7 }
func fVm(d uint32) uint32 { return d&15 | (d>>4)<<5 }

func log2w(w int) uint32 {
	switch w {
	case 8:
		return 0
	case 16:
		return 1
	case 32:
		return 2
	}
	return 3
}

// EncodeA32 returns the A32 encoding of one NEON instruction in LLVM
// syntax (only the forms the kernels use).
func EncodeA32(text string) (uint32, error) {
	text = strings.Join(strings.Fields(strings.TrimSpace(text)), " ")
	bad := func() (uint32, error) { return 0, fmt.Errorf("%q: unsupported A32 instruction form", text) }
	if m := a32MemRE.FindStringSubmatch(text); m != nil {
		return encodeA32Mem(text, m)
	}
	mn, rest, _ := strings.Cut(text, " ")
	var ops []string
	for _, f := range strings.Split(rest, ",") {
		ops = append(ops, strings.TrimSpace(f))
	}
	switch {
	case strings.HasPrefix(mn, "vdup.") && len(ops) == 2:
		return encodeA32Dup(mn, ops, bad)
	case mn == "vmov.32" && len(ops) == 2:
		// VMOV.32 between a core register and a scalar:
		// 1110 1110 0 0 x L Vn Rt 1011 N 0 0 1 0000.
		to := uint32(0)
		sc, r := ops[0], ops[1]
		if strings.HasPrefix(ops[0], "r") {
			to, sc, r = 1, ops[1], ops[0]
		}
		sm := a32ScalRE.FindStringSubmatch(sc)
		c, t, ok := a32Reg(r)
		if sm == nil || !ok || c != 'r' || t > 12 {
			return bad()
		}
		d, _ := strconv.Atoi(sm[1])
		x, _ := strconv.Atoi(sm[2])
		if d > 31 || x > 1 {
			return bad()
		}
		return 0xee000b10 | uint32(x)<<21 | to<<20 | fVn(uint32(d)) | t<<12, nil
	case mn == "vmov" && len(ops) == 3:
		// VMOV Rt, Rt2, Dm: 1110 1100 0101 Rt2 Rt 1011 00 M 1 Vm.
		c1, t1, ok1 := a32Reg(ops[0])
		c2, t2, ok2 := a32Reg(ops[1])
		c3, d, ok3 := a32Reg(ops[2])
		if !ok1 || !ok2 || !ok3 || c1 != 'r' || c2 != 'r' || c3 != 'd' || t1 > 12 || t2 > 12 || t1 == t2 {
			return bad()
		}
		return 0xec500b10 | t2<<16 | t1<<12 | fVm(d), nil
	case (mn == "vmov.i8" || mn == "vmov.i16" || mn == "vmov.i32") && len(ops) == 2:
		// VMOV (immediate), one byte: 1111 001a 1 D 000 bcd Vd cmode 0 Q 0 1 efgh.
		c, d, ok := a32Reg(ops[0])
		if !ok || c == 'r' || !strings.HasPrefix(ops[1], "#") {
			return bad()
		}
		v, err := strconv.ParseUint(ops[1][1:], 0, 8)
		if err != nil {
			return bad()
		}
		cmode := map[string]uint32{"vmov.i8": 0xe, "vmov.i16": 0x8, "vmov.i32": 0x0}[mn]
		q := uint32(0)
		if c == 'q' {
			q = 1
		}
		imm := uint32(v)
		return 0xf2800010 | imm>>7<<24 | (imm>>4&7)<<16 | fVd(dreg(c, d)) | cmode<<8 | q<<6 | imm&15, nil
	case strings.HasPrefix(mn, "vext.8") && len(ops) == 4:
		// VEXT.8: 1111 0010 1 D 11 Vn Vd imm4 N Q M 0 Vm.
		var r [3]uint32
		var cls byte
		for i := range r {
			c, n, ok := a32Reg(ops[i])
			if !ok || c == 'r' || i > 0 && c != cls {
				return bad()
			}
			cls, r[i] = c, dreg(c, n)
		}
		v, err := strconv.ParseUint(strings.TrimPrefix(ops[3], "#"), 0, 8)
		lim := uint64(7)
		q := uint32(0)
		if cls == 'q' {
			lim, q = 15, 1
		}
		if err != nil || !strings.HasPrefix(ops[3], "#") || v > lim {
			return bad()
		}
		return 0xf2b00000 | fVd(r[0]) | fVn(r[1]) | fVm(r[2]) | uint32(v)<<8 | q<<6, nil
	case (mn == "vtbl.8" || mn == "vtbx.8") && len(ops) >= 3:
		return encodeA32Tbl(mn == "vtbx.8", ops, bad)
	}
	// table lookup: the mnemonic without its size (or with it, for ops
	// whose data type is fixed)
	op, ok := a32Ops[mn]
	width := 0
	if !ok {
		j := strings.LastIndex(mn, ".")
		if j < 0 {
			return bad()
		}
		dt := mn[j+1:] // "s16", "i32", "8"
		key := mn[:j+1] + strings.TrimRight(dt, "0123456789")
		w, err := strconv.Atoi(dt[len(key)-j-1:])
		if err != nil {
			return bad()
		}
		op, ok = a32Ops[key]
		if !ok || len(op.sizes) == 0 {
			return bad()
		}
		width = w
		found := false
		for _, s := range op.sizes {
			found = found || s == w
		}
		if !found {
			return bad()
		}
	}
	// "by scalar" entries share mnemonics with the plain ones
	if strings.HasSuffix(ops[len(ops)-1], "]") {
		key := strings.TrimRight(mn, "0123456789")
		if sop, ok := a32ScalarOps[key]; ok {
			op = sop
		}
	}
	form := op.form
	imm := -1
	if n := len(form); n > 0 && (form[n-1] == '<' || form[n-1] == '>' || form[n-1] == '0') {
		if form[n-1] != '0' {
			if len(ops) == 0 || !strings.HasPrefix(ops[len(ops)-1], "#") {
				return bad()
			}
			v, err := strconv.Atoi(ops[len(ops)-1][1:])
			if err != nil {
				return bad()
			}
			imm = v
			ops = ops[:len(ops)-1]
		}
		form = form[:n-1]
	}
	if len(ops) != len(form) {
		return bad()
	}
	var regs []uint32
	q := uint32(0)
	for i, o := range ops {
		want := form[i]
		if want == 'x' {
			sm := a32ScalRE.FindStringSubmatch(o)
			if sm == nil {
				return bad()
			}
			d, _ := strconv.Atoi(sm[1])
			x, _ := strconv.Atoi(sm[2])
			// Dm[x]: .16 uses Vm<2:0> and M:Vm<3> as the index, .32 Vm<3:0> and M
			switch width {
			case 16:
				if d > 7 || x > 3 {
					return bad()
				}
				regs = append(regs, uint32(d)|uint32(x&1)<<3|uint32(x>>1)<<5)
			case 32:
				if d > 15 || x > 1 {
					return bad()
				}
				regs = append(regs, uint32(d)|uint32(x)<<5)
			default:
				return bad()
			}
			continue
		}
		c, n, ok := a32Reg(o)
		if !ok || c == 'r' {
			return bad()
		}
		switch want {
		case 'Q':
			if i == 0 && c == 'q' {
				q = 1
			}
			if c == 'q' != (q == 1) {
				return bad()
			}
		case 'q', 'd':
			if c != want {
				return bad()
			}
		}
		regs = append(regs, dreg(c, n))
	}
	if form[0] == 'Q' && q == 1 {
		for _, r := range regs {
			if r&1 != 0 {
				return bad()
			}
		}
	}
	w := op.base | q<<6
	if width > 0 && op.form[len(op.form)-1] != '<' && op.form[len(op.form)-1] != '>' && op.form[len(op.form)-1] != '0' {
		sz := int(log2w(width)) - op.shift
		if sz < 0 {
			return bad()
		}
		if strings.HasPrefix(op.form, "QQ") && len(op.form) == 2 || op.form == "dq" {
			w |= uint32(sz) << 18 // two-register miscellaneous
		} else {
			w |= uint32(sz) << 20
		}
	}
	if imm >= 0 || strings.HasSuffix(op.form, "0") {
		// the shift immediate: imm6 (and L for 64-bit lanes)
		esize := width
		if op.form[0] == 'd' { // narrowing: the destination's width
			esize = width / 2
		}
		last := op.form[len(op.form)-1]
		if last == '0' {
			imm = 0
		}
		var v int
		if last == '>' {
			if imm < 1 || imm > esize {
				return bad()
			}
			v = 2*esize - imm
		} else {
			if imm < 0 || imm >= esize || last == '<' && op.form[0] == 'q' && imm == 0 {
				return bad()
			}
			v = esize + imm
		}
		if esize == 64 {
			w |= 1 << 7
			v -= 64
		}
		w |= uint32(v) << 16
	}
	switch len(regs) {
	case 2:
		w |= fVd(regs[0]) | fVm(regs[1])
	case 3:
		nn, mm := regs[1], regs[2]
		if op.swap {
			nn, mm = mm, nn
		}
		if form[2] == 'x' {
			w |= fVd(regs[0]) | fVn(nn) | mm
		} else {
			w |= fVd(regs[0]) | fVn(nn) | fVm(mm)
		}
	default:
		return bad()
	}
	return w, nil
}

// a32ScalarOps are the by-scalar (Dm[x]) forms of long multiplies:
// 1111 0010 1 D size Vn Vd opc N 1 M 0 Vm.
var a32ScalarOps = map[string]a32Op{
	"vmlal.s": {base: 0xf2800240, form: "qdx", sizes: []int{16, 32}},
	"vmull.s": {base: 0xf2800a40, form: "qdx", sizes: []int{16, 32}},
}

// encodeA32Dup encodes VDUP from a core register (1110 1110 1 b Q 0 Vd Rt
// 1011 D 0 e 1 0000) or from a scalar (1111 0011 1 D 11 imm4 Vd 1100 0 Q M 0 Vm).
func encodeA32Dup(mn string, ops []string, bad func() (uint32, error)) (uint32, error) {
	w, err := strconv.Atoi(strings.TrimPrefix(mn, "vdup."))
	if err != nil || w != 8 && w != 16 && w != 32 {
		return bad()
	}
	c, d, ok := a32Reg(ops[0])
	if !ok || c == 'r' {
		return bad()
	}
	q := uint32(0)
	if c == 'q' {
		q = 1
	}
	dd := dreg(c, d)
	if sm := a32ScalRE.FindStringSubmatch(ops[1]); sm != nil {
		m, _ := strconv.Atoi(sm[1])
		x, _ := strconv.Atoi(sm[2])
		if m > 31 || x >= 64/w {
			return bad()
		}
		imm4 := uint32(x)<<(log2w(w)+1) | 1<<log2w(w)
		return 0xf3b00c00 | imm4<<16 | fVd(dd) | q<<6 | fVm(uint32(m)), nil
	}
	rc, t, ok := a32Reg(ops[1])
	if !ok || rc != 'r' || t > 12 {
		return bad()
	}
	be := map[int]uint32{8: 1<<22 | 0, 16: 1 << 5, 32: 0}[w]
	return 0xee800b10 | be | q<<21 | (dd&15)<<16 | t<<12 | (dd>>4)<<7, nil
}

// encodeA32Mem encodes VLD1/VST1: multiple registers (1111 0100 0 D L 0 Rn
// Vd type size align Rm), one lane (1111 0100 1 D L 0 Rn Vd size 00
// index_align Rm) or all lanes (1111 0100 1 D 1 0 Rn Vd 1100 size T a Rm);
// and VLD2-4/VST2-4 of multiple structures (the first form, the type
// giving the count and the register spacing, 1 or 2).
func encodeA32Mem(text string, m []string) (uint32, error) {
	bad := func() (uint32, error) { return 0, fmt.Errorf("%q: unsupported A32 instruction form", text) }
	load := m[1][1] == 'l'
	elems := int(m[1][3] - '0')
	w, _ := strconv.Atoi(m[2])
	rn, _ := strconv.Atoi(m[4])
	if rn > 14 || rn == 13 || rn == 10 || rn == 11 { // not sp, g or the linker's temporary
		return bad()
	}
	rm := uint32(15)
	switch {
	case m[5] == "!":
		rm = 13
	case m[6] != "":
		v, _ := strconv.Atoi(m[6])
		if v > 12 || v == rn {
			return bad()
		}
		rm = uint32(v)
	}
	var l uint32
	if load {
		l = 1
	}
	list := strings.Split(m[3], ",")
	var regs []uint32
	lane, all := -1, false
	for i, s := range list {
		s = strings.TrimSpace(s)
		var n int
		switch {
		case strings.HasSuffix(s, "[]"):
			if i > 0 && !all || !load {
				return bad()
			}
			all = true
			s = strings.TrimSuffix(s, "[]")
		case strings.HasSuffix(s, "]"):
			sm := a32ScalRE.FindStringSubmatch(s)
			if sm == nil || len(list) != 1 {
				return bad()
			}
			lane, _ = strconv.Atoi(sm[2])
			s = "d" + sm[1]
		default:
			if all {
				return bad()
			}
		}
		c, d, ok := a32Reg(s)
		if !ok || c != 'd' {
			return bad()
		}
		n = int(d)
		regs = append(regs, uint32(n))
	}
	spacing := uint32(1)
	if len(regs) > 1 && elems > 1 && regs[1] == regs[0]+2 {
		spacing = 2
	}
	for i, r := range regs {
		if r != regs[0]+spacing*uint32(i) || r > 31 {
			return bad()
		}
	}
	base := uint32(rn)<<16 | fVd(regs[0]) | rm | l<<21
	sz := log2w(w)
	if elems > 1 {
		if all || lane >= 0 || w == 64 {
			return bad()
		}
		type key struct {
			n, regs int
			sp      uint32
		}
		typ, ok := map[key]uint32{{2, 2, 1}: 8, {2, 2, 2}: 9, {2, 4, 1}: 3, {3, 3, 1}: 4, {3, 3, 2}: 5,
			{4, 4, 1}: 0, {4, 4, 2}: 1}[key{elems, len(regs), spacing}]
		if !ok {
			return bad()
		}
		return 0xf4000000 | base | typ<<8 | sz<<6, nil
	}
	switch {
	case all:
		if w == 64 || len(regs) > 2 {
			return bad()
		}
		return 0xf4a00c00 | base | sz<<6 | uint32(len(regs)-1)<<5, nil
	case lane >= 0:
		if w == 64 || lane >= 64/w {
			return bad()
		}
		return 0xf4800000 | base | sz<<10 | uint32(lane)<<(sz+5), nil
	}
	typ := map[int]uint32{1: 7, 2: 10, 3: 6, 4: 2}[len(regs)]
	if typ == 0 || spacing != 1 {
		return bad()
	}
	return 0xf4000000 | base | typ<<8 | sz<<6, nil
}

// encodeA32Tbl encodes VTBL/VTBX.8 Dd, {list of 1-4 D}, Dm:
// 1111 0011 1 D 11 Vn Vd 10 len N op M 0 Vm.
func encodeA32Tbl(tbx bool, ops []string, bad func() (uint32, error)) (uint32, error) {
	c, d, ok := a32Reg(ops[0])
	if !ok || c != 'd' {
		return bad()
	}
	list := ops[1 : len(ops)-1]
	if len(list) < 1 || len(list) > 4 || !strings.HasPrefix(list[0], "{") || !strings.HasSuffix(list[len(list)-1], "}") {
		return bad()
	}
	list[0] = strings.TrimPrefix(list[0], "{")
	list[len(list)-1] = strings.TrimSuffix(list[len(list)-1], "}")
	var first uint32
	for i, s := range list {
		c, n, ok := a32Reg(s)
		if !ok || c != 'd' || i > 0 && n != first+uint32(i) {
			return bad()
		}
		if i == 0 {
			first = n
		}
	}
	if first+uint32(len(list)) > 32 {
		return bad()
	}
	c, mreg, ok := a32Reg(ops[len(ops)-1])
	if !ok || c != 'd' {
		return bad()
	}
	var op uint32
	if tbx {
		op = 1
	}
	return 0xf3b00800 | fVd(d) | fVn(first) | uint32(len(list)-1)<<8 | op<<6 | fVm(mreg), nil
}
