package neongen

import (
	"fmt"
	"strings"
)

// Depthwise register use, per 16-channel block:
//
//	V0-V3   int32 sums of pixel 0, V4-V7 of pixel 1 (pair loops)
//	V8-V9   int16 two-tap partials of pixel 0, V10-V11 of pixel 1
//	V12-V13 inputs of the two taps, V14-V15 their weights
//	V16 zOut (int16), V17 qmin, V18 qmax (bytes)
//	V20-V23 M, V24-V27 L, V28-V31 R (requantization, per channel)
//	R10 bias of the block; R16 bit 0 = 0 iff every L of the block is 0 (then
//	the SQSHLs are skipped: a shift by 0 is the identity), bit 1 = 1 iff
//	[qmin, qmax] is narrower than int8 (else the clamp is skipped: the last
//	SQXTN saturates to int8), bit 2 = 0 iff every multiplier of the block
//	is on the 2^-31 grid: then V20-V23 hold M>>Shift and one SQRDMULH is
//	the whole rounding (L and R unused).

// dwMac multiplies the taps in (V12, V14) and, if pair, (V13, V15) into the
// int16 partials of pixel p and widens them into its int32 sums.
func dwMac(a *Asm, p int, pair bool) { dwMacX(a, p, pair, 12, 13) }

// dwMacX is dwMac with the inputs of the two taps in V(xa), V(xb).
func dwMacX(a *Asm, p int, pair bool, xa, xb int) {
	t := 8 + 2*p
	a.W("smull v%d.8h, v%d.8b, v14.8b", t, xa)
	a.W("smull2 v%d.8h, v%d.16b, v14.16b", t+1, xa)
	if pair {
		a.W("smlal v%d.8h, v%d.8b, v15.8b", t, xb)
		a.W("smlal2 v%d.8h, v%d.16b, v15.16b", t+1, xb)
	}
	s := 4 * p
	a.W("saddw v%d.4s, v%d.4s, v%d.4h", s, s, t)
	a.W("saddw2 v%d.4s, v%d.4s, v%d.8h", s+1, s+1, t)
	a.W("saddw v%d.4s, v%d.4s, v%d.4h", s+2, s+2, t+1)
	a.W("saddw2 v%d.4s, v%d.4s, v%d.8h", s+3, s+3, t+1)
}

// dwRequant requantizes, narrows, clamps and stores the sums of np pixels
// (to R14, then R14+R1; R14 advances past them).
func dwRequant(a *Asm, np int, skip string) {
	a.L("\tTBZ\t$2, R16, %sg", skip)
	a.L("\tTBZ\t$0, R16, %s", skip)
	for q := 0; q < 4*np; q++ {
		a.W("sqshl v%d.4s, v%d.4s, v%d.4s", q, q, 24+q%4)
	}
	a.L("%s:", skip)
	mulShiftLanes(a, 4*np, 0, 20, 28)
	a.L("\tB\t%sn", skip)
	a.L("%sg:", skip)
	for q := 0; q < 4*np; q++ {
		a.W("sqrdmulh v%d.4s, v%d.4s, v%d.4s", q, q, 20+q%4)
	}
	a.L("%sn:", skip)
	narrowToBytes(a, np, func(p int) int { return 4 * p }, func(p int) int { return 8 + 2*p }, 16)
	a.L("\tTBZ\t$1, R16, %sc", skip)
	clampBytes(a, np, func(p int) int { return 8 + 2*p }, 17, 18)
	a.L("%sc:", skip)
	for p := 0; p < np; p++ {
		a.L("\tVST1.P\t[V%d.B16], (R14)(R1)", 8+2*p)
	}
}

// dwSkeleton emits the channel-block loop and, per block, the pixel loop
// around body1 (one pixel) or, if body2 is set, pairs of pixels through
// body2 and an odd last pixel through body1.
//
// With body4 (the stride-1 kernels), quads of pixels go first through
// body4 and dwRequant4 (M, L, R kept in the frame: body4 uses V19-V31),
// then pairs and the last one.
//
// prep: the requantization comes prepared per block by dwPrepRQ (the
// prep argument, in place of rq) instead of being derived per block.
func dwSkeleton(a *Asm, name, tablearg string, extraArgs []string, frame int, prep bool, body1, body2, body4 func(*Asm)) {
	rqArg := "rq"
	if prep {
		rqArg = "prep"
	}
	locals := 0
	if body4 != nil {
		locals = 192
	}
	a.L(`
TEXT ·%s(SB), NOSPLIT, $%d-%d
	MOVD	dst+0(FP), R0
	MOVD	outStride+8(FP), R1
	MOVD	n+16(FP), R2
	MOVD	%s+24(FP), R3`, name, locals, frame, tablearg)
	for _, l := range extraArgs {
		a.S(l)
	}
	a.S(`	MOVD	w+40(FP), R5
	MOVD	c+48(FP), R6
	MOVD	bias+56(FP), R7
	MOVD	` + rqArg + `+64(FP), R8
	MOVW	zOut+72(FP), R9
	MOVW	qmin+76(FP), R10
	MOVW	qmax+80(FP), R11
	VDUP	R9, V16.H8
	VDUP	R10, V17.B16
	VDUP	R11, V18.B16
	SUB	$1, R2, R11 // last pair start bound: pairs while i < n-1
	MOVD	ZR, R12 // c0
blk:
	SUB	$16, R6, R13
	CMP	R13, R12
	CSEL	LT, R12, R13, R13 // cb = min(c0, c-16)
	ADD	R13<<2, R7, R10 // bias of the block`)
	if prep {
		a.S(`	MOVD	$13, R24
	MADD	R24, R8, R12, R9 // prep + (c0/16)*208
	VLD1.P	64(R9), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P	64(R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P	64(R9), [V28.S4, V29.S4, V30.S4, V31.S4]
	MOVD	(R9), R16`)
	} else {
		dwDeriveRQ(a, "qmin+76(FP)", "qmax+80(FP)")
	}
	a.S(`	ADD	R13, R0, R14 // dst for pixel 0
	MOVD	ZR, R15 // i`)
	if body4 != nil {
		a.S(`	MOVD	$mlr-192(SP), R24
	VST1.P	[V20.S4, V21.S4, V22.S4, V23.S4], 64(R24)
	VST1.P	[V24.S4, V25.S4, V26.S4, V27.S4], 64(R24)
	VST1	[V28.S4, V29.S4, V30.S4, V31.S4], (R24)
quad:
	ADD	$3, R15, R24
	CMP	R2, R24
	BGE	quaddone
	VLD1	(R10), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1	(R10), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1	(R10), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1	(R10), [V12.S4, V13.S4, V14.S4, V15.S4]
	ADD	R13, R5, R17 // weight cursor`)
		body4(a)
		dwRequant4(a)
		a.S(`	ADD	$4, R15, R15
	B	quad
quaddone:
	MOVD	$mlr-192(SP), R24
	VLD1.P	64(R24), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P	64(R24), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1	(R24), [V28.S4, V29.S4, V30.S4, V31.S4]`)
	}
	if body2 != nil {
		a.S(`	CMP	R11, R15
	BGE	single
pair:
	VLD1	(R10), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1	(R10), [V4.S4, V5.S4, V6.S4, V7.S4]
	ADD	R13, R5, R17 // weight cursor`)
		body2(a)
		dwRequant(a, 2, "nosh2")
		a.S(`	ADD	$2, R15, R15
	CMP	R11, R15
	BLT	pair
single:
	CMP	R2, R15
	BGE	nextblk`)
	}
	a.S(`pix:
	VLD1	(R10), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD	R13, R5, R17 // weight cursor`)
	body1(a)
	a.L("requant:")
	dwRequant(a, 1, "nosh1")
	a.S(`	ADD	$1, R15, R15
	CMP	R2, R15
	BLT	pix
nextblk:
	ADD	$16, R12, R12
	CMP	R6, R12
	BLT	blk
	RET`)
}

// dwDeriveRQ derives, for the block at R13 (cb) of rq (R8), M (V20-V23;
// M>>Shift if the block is on the 2^-31 grid), L (V24-V27) and R
// (V28-V31), and the flags in R16: bit 0 = some L != 0, bit 1 = [qmin,
// qmax] (the arguments named) narrower than int8, bit 2 = some multiplier
// off the grid. Uses R9, R24, V0-V10, V12, V13.
func dwDeriveRQ(a *Asm, qmin, qmax string) {
	a.S(`	ADD	R13<<3, R8, R9
	MOVW	$1, R24
	VDUP	R24, V12.S4
	VEOR	V13.B16, V13.B16, V13.B16`)
	for q := 0; q < 4; q++ {
		a.L("\tVLD2.P\t32(R9), [V8.S4, V9.S4]")
		a.L("\tVORR\tV8.B16, V8.B16, V%d.B16", 20+q)
		gridCheck(a, "V8", "V9", vn(q), vn(4+q), "V10", "V13")
		shifts(a, "V9", vn(24+q), vn(28+q), "V12", "V13")
	}
	gridFlag(a, "R9", "R24", "V4", "V5", "V6", "V7") // R9 = 1: some multiplier off the grid
	a.S(`	CBNZ	R9, offgrid
	VORR	V0.B16, V0.B16, V20.B16
	VORR	V1.B16, V1.B16, V21.B16
	VORR	V2.B16, V2.B16, V22.B16
	VORR	V3.B16, V3.B16, V23.B16
offgrid:
	VORR	V24.B16, V25.B16, V8.B16
	VORR	V26.B16, V27.B16, V9.B16
	VORR	V8.B16, V9.B16, V8.B16
	VMOV	V8.D[0], R16
	VMOV	V8.D[1], R24
	ORR	R24, R16, R16
	CMP	$0, R16
	CSET	NE, R16 // bit 0: some left shift in the block
	ORR	R9<<2, R16, R16 // bit 2: off the grid
	MOVW	` + qmin + `, R24
	CMN	$128, R24
	BNE	clampon
	MOVW	` + qmax + `, R24
	CMP	$127, R24
	BEQ	clampoff
clampon:
	ORR	$2, R16, R16 // bit 1: [qmin, qmax] narrower than int8
clampoff:`)
}

func dwTapsBody(a *Asm) {
	a.S(`	MOVD	R3, R19 // tap cursor
	LSR	$1, R4, R23 // tap pairs
	CBZ	R23, tapsingle
tappair:`)
	a.L(dwTap, 12, 14)
	a.L(dwTap, 13, 15)
	dwMac(a, 0, true)
	a.S(`	SUBS	$1, R23, R23
	BNE	tappair
tapsingle:
	TBZ	$0, R4, requant`)
	a.L(dwTap, 12, 14)
	dwMac(a, 0, false)
}

// dwTap loads one tap of pixel i (R15) through the dwTap table cursor R19:
// input block at p + i*inc + (cb & mask) into V%d, weights into V%d.
const dwTap = `	LDP.P	16(R19), (R20, R21)
	MOVD.P	8(R19), R22
	MADD	R15, R20, R21, R20
	AND	R13, R22, R22
	ADD	R22, R20, R20
	VLD1	(R20), [V%d.B16]
	VLD1.P	(R17)(R6), [V%d.B16]`

// dwRowsBody runs a k x k kernel over np (1 or 2) pixels i, i+1: the R4
// kernel rows whose pointers are at R3, the weights from the block's
// column of R5. All k rows (the usual case) are unrolled; fewer (the rows
// inside the image; Go adjusts the bias) loop over pairs of rows, then
// one. Pixel i of a row reads p + i*inc (R26) + cb, tap kx at +kx*kxs (R21).
//
// s1 (stride 1: inc = kxs): pixel i+1's tap (ky, kx) is pixel i's tap
// (ky, kx+1), so pixel i+1 has no cursors: it reuses pixel i's input of the
// pair when the pair's taps are in one row and otherwise loads from pixel
// i's cursor, which points there after pixel i's load.
func dwRowsBody(k, np int, s1 bool) func(*Asm) {
	return func(a *Asm) {
		a.L("\tMADD\tR15, R13, R26, R25 // i*inc + cb")
		a.L("\tCMP\t$%d, R4", k)
		a.L("\tBNE\trloop%d", np)
		dwRowsTaps(a, k, k, np, s1, "R3")
		a.L("\tB\trdone%d", np)
		a.L("rloop%d:", np)
		a.L("\tMOVD\tR3, R9")
		a.L("rpair%d:", np)
		a.L("\tADD\tR4<<3, R3, R24")
		a.L("\tSUB\tR9, R24, R24 // bytes of rows left")
		a.L("\tCMP\t$16, R24")
		a.L("\tBLT\trone%d", np)
		dwRowsTaps(a, k, 2, np, s1, "R9")
		a.L("\tADD\t$16, R9, R9")
		a.L("\tB\trpair%d", np)
		a.L("rone%d:", np)
		a.L("\tCBZ\tR24, rdone%d", np)
		dwRowsTaps(a, k, 1, np, s1, "R9")
		a.L("rdone%d:", np)
	}
}

// dwRowsTaps unrolls nrows rows of a k-wide kernel over np (1 or 2) pixels
// i, i+1, the rows' pointers at base. Row ky of pixel p is read through a
// cursor that VLD1.P advances by kxs.
func dwRowsTaps(a *Asm, k, nrows, np int, s1 bool, base string) {
	// cursors (pixel 0, pixel 1), alternating between rows
	regs := [2][2]string{{"R19", "R20"}, {"R22", "R23"}}
	ntaps := k * nrows
	for t := 0; t < ntaps; t++ {
		ky, kx := t/k, t%k
		r := regs[ky%2]
		if kx == 0 {
			a.L("\tMOVD\t%d(%s), %s", 8*ky, base, r[0])
			a.L("\tADD\tR25, %s, %s", r[0], r[0])
			if np == 2 && !s1 {
				a.L("\tADD\tR26, %s, %s", r[0], r[1])
			}
		}
		// tap A of a pair (or a lone last tap) in V12/V14, tap B in V13/V15
		xv, wv := 12, 14
		if t%2 == 1 {
			xv, wv = 13, 15
		}
		a.L("\tVLD1.P\t(%s)(R21), [V%d.B16]", r[0], xv)
		a.L("\tVLD1.P\t(R17)(R6), [V%d.B16]", wv)
		last := t == ntaps-1
		if t%2 == 0 && !last {
			continue
		}
		pair := t%2 == 1
		dwMac(a, 0, pair)
		if np == 2 {
			// pixel 1: the same weights
			ta := t
			if pair {
				ta = t - 1
			}
			if s1 {
				if pair && ta/k == t/k {
					// its tap ta is pixel 0's tap t (V13)
					a.L("\tVLD1\t(%s), [V12.B16]", regs[(t/k)%2][0])
					dwMacX(a, 1, true, 13, 12)
				} else {
					for u := ta; u <= t; u++ {
						a.L("\tVLD1\t(%s), [V%d.B16]", regs[(u/k)%2][0], 12+u-ta)
					}
					dwMac(a, 1, pair)
				}
				continue
			}
			// inputs from its own cursors
			for u := ta; u <= t; u++ {
				ru := regs[(u/k)%2]
				a.L("\tVLD1.P\t(%s)(R21), [V%d.B16]", ru[1], 12+u-ta)
			}
			dwMac(a, 1, pair)
		}
	}
}

// dwRequant4 requantizes the sums of 4 pixels (V0-V15), M, L, R from the
// frame (only M, that is M>>Shift, on the grid), and stores them to R14,
// R14+R1, … (R14 advances).
func dwRequant4(a *Asm) {
	a.S(`	MOVD	$mlr-192(SP), R24
	VLD1	(R24), [V19.S4, V20.S4, V21.S4, V22.S4]
	TBZ	$2, R16, nosh4g
	ADD	$128, R24, R9
	VLD1	(R9), [V23.S4, V24.S4, V25.S4, V26.S4]
	TBZ	$0, R16, nosh4
	ADD	$64, R24, R9
	VLD1	(R9), [V27.S4, V28.S4, V29.S4, V30.S4]`)
	for q := 0; q < 16; q++ {
		a.W("sqshl v%d.4s, v%d.4s, v%d.4s", q, q, 27+q%4)
	}
	a.L("nosh4:")
	mulShiftLanes(a, 16, 0, 19, 23)
	a.L("\tB\tnosh4n")
	a.L("nosh4g:")
	for q := 0; q < 16; q++ {
		a.W("sqrdmulh v%d.4s, v%d.4s, v%d.4s", q, q, 19+q%4)
	}
	a.L("nosh4n:")
	pix := func(p int) int { return 4 * p }
	narrowToBytes(a, 4, pix, pix, 16)
	a.L("\tTBZ\t$1, R16, nosh4c")
	clampBytes(a, 4, pix, 17, 18)
	a.L("nosh4c:")
	for p := 0; p < 4; p++ {
		a.L("\tVST1.P\t[V%d.B16], (R14)(R1)", 4*p)
	}
}

// dwQuadBody runs a k x k kernel at stride s (1 or 2; inc = s*kxs) over
// 4 pixels i..i+3 (sums in V0-V15): the R4 kernel rows at R3 as in
// dwRowsBody. At stride 1 two rows go together (taps (ky, kx) and
// (ky+1, kx) summed in int16), a last odd row in pairs of taps; at stride
// 2 every row alone. Pixel i+p's tap kx is column kx+s*p of the row, so a
// row is k+3s loads through one cursor into a sliding window of registers.
// Uses R9, R19, R20, R22, R24, R25 and V19-V31; R23 = k*c (stride 1).
func dwQuadBody(k, stride int) func(*Asm) {
	return func(a *Asm) {
		a.L("\tMADD\tR15, R13, R26, R25 // i*inc + cb")
		a.L("\tCMP\t$%d, R4", k)
		a.L("\tBNE\tqloop")
		dwQuadRows(a, k, k, stride, "R3")
		a.L("\tB\tqdone")
		a.L("qloop:")
		a.L("\tMOVD\tR3, R9")
		if stride == 2 {
			a.L("qrow:")
			a.L("\tADD\tR4<<3, R3, R24")
			a.L("\tCMP\tR24, R9")
			a.L("\tBGE\tqdone")
			dwQuadRows(a, k, 1, stride, "R9")
			a.L("\tADD\t$8, R9, R9")
			a.L("\tB\tqrow")
			a.L("qdone:")
			return
		}
		a.L("qpair:")
		a.L("\tADD\tR4<<3, R3, R24")
		a.L("\tSUB\tR9, R24, R24 // bytes of rows left")
		a.L("\tCMP\t$16, R24")
		a.L("\tBLT\tqone")
		dwQuadRows(a, k, 2, stride, "R9")
		a.L("\tADD\t$16, R9, R9")
		a.L("\tB\tqpair")
		a.L("qone:")
		a.L("\tCBZ\tR24, qdone")
		dwQuadRows(a, k, 1, stride, "R9")
		a.L("qdone:")
	}
}

// dwQuadMac adds, for pixels p = 0..3, V(wa) times input column a(p) and,
// if b != nil, V(wb) times b(p) (int16, then widened) into pixel p's sums.
// The eight half-pixels (p, lo/hi) go through a three-stage software
// pipeline on three temporaries (V19, V20, V31): step i issues the SMULL
// of half i, the SMLAL of half i-1 and the two SADDWs of half i-2, so no
// instruction needs the result of one issued fewer than four before it.
// An in-order Cortex-A53 stalls on those chains otherwise (llvm-mca, a
// 3x3 quad step: 426 cycles in chain order); the out-of-order cores run
// the same instructions either way.
func dwQuadMac(a *Asm, wa, wb int, xa, xb func(p int) int) {
	temps := [3]int{19, 20, 31}
	const halves = 8
	for i := 0; i < halves+2; i++ {
		if i < halves { // SMULL of half i
			p, hi := i/2, i%2 == 1
			t := temps[i%3]
			if hi {
				a.W("smull2 v%d.8h, v%d.16b, v%d.16b", t, xa(p), wa)
			} else {
				a.W("smull v%d.8h, v%d.8b, v%d.8b", t, xa(p), wa)
			}
		}
		if j := i - 1; xb != nil && j >= 0 && j < halves { // SMLAL of half i-1
			p, hi := j/2, j%2 == 1
			t := temps[j%3]
			if hi {
				a.W("smlal2 v%d.8h, v%d.16b, v%d.16b", t, xb(p), wb)
			} else {
				a.W("smlal v%d.8h, v%d.8b, v%d.8b", t, xb(p), wb)
			}
		}
		if j := i - 2; j >= 0 { // widen half i-2 into its sums
			p, hi := j/2, j%2 == 1
			t, s := temps[j%3], 4*p
			if hi {
				s += 2
			}
			a.W("saddw v%d.4s, v%d.4s, v%d.4h", s, s, t)
			a.W("saddw2 v%d.4s, v%d.4s, v%d.8h", s+1, s+1, t)
		}
	}
}

// dwQuadRows unrolls nrows kernel rows (pointers at base) for dwQuadBody.
func dwQuadRows(a *Asm, k, nrows, stride int, base string) {
	ky := 0
	for ; stride == 1 && ky+1 < nrows; ky += 2 {
		// rows ky (window V23-V26) and ky+1 (V27-V30); weights of row ky
		// from R17, of row ky+1 from R20
		ra := func(j int) int { return 23 + j%4 }
		rb := func(j int) int { return 27 + j%4 }
		a.L("\tMOVD\t%d(%s), R19", 8*ky, base)
		a.L("\tADD\tR25, R19, R19")
		a.L("\tMOVD\t%d(%s), R22", 8*ky+8, base)
		a.L("\tADD\tR25, R22, R22")
		a.L("\tADD\tR23, R17, R20")
		for j := 0; j < 3; j++ {
			a.L("\tVLD1.P\t(R19)(R21), [V%d.B16]", ra(j))
			a.L("\tVLD1.P\t(R22)(R21), [V%d.B16]", rb(j))
		}
		for kx := 0; kx < k; kx++ {
			a.L("\tVLD1.P\t(R19)(R21), [V%d.B16]", ra(kx+3))
			a.L("\tVLD1.P\t(R22)(R21), [V%d.B16]", rb(kx+3))
			a.L("\tVLD1.P\t(R17)(R6), [V21.B16]")
			a.L("\tVLD1.P\t(R20)(R6), [V22.B16]")
			x := kx
			dwQuadMac(a, 21, 22, func(p int) int { return ra(x + p) }, func(p int) int { return rb(x + p) })
		}
		a.L("\tMOVD\tR20, R17")
	}
	for ; ky < nrows; ky++ {
		dwQuadRow(a, k, ky, stride, base)
	}
}

// dwQuadRow is kernel row ky alone for dwQuadBody: taps in pairs (kx,
// kx+1), inputs in a window of 8 registers (V23-V30).
func dwQuadRow(a *Asm, k, ky, stride int, base string) {
	r := func(j int) int { return 23 + j%8 }
	a.L("\tMOVD\t%d(%s), R19", 8*ky, base)
	a.L("\tADD\tR25, R19, R19")
	loaded := 0
	load := func(upto int) {
		for ; loaded <= upto; loaded++ {
			a.L("\tVLD1.P\t(R19)(R21), [V%d.B16]", r(loaded))
		}
	}
	s := stride
	for kx := 0; kx < k; kx += 2 {
		x := kx
		a.L("\tVLD1.P\t(R17)(R6), [V21.B16]")
		if kx+1 < k {
			load(kx + 1 + 3*s) // columns kx .. kx+1+3s: at most 8
			a.L("\tVLD1.P\t(R17)(R6), [V22.B16]")
			dwQuadMac(a, 21, 22, func(p int) int { return r(x + s*p) }, func(p int) int { return r(x + s*p + 1) })
		} else {
			load(kx + 3*s)
			dwQuadMac(a, 21, 0, func(p int) int { return r(x + s*p) }, nil)
		}
	}
}

func dwconvFile() string {
	a := &Asm{}
	a.L(header)
	a.S(`
// func dwNeon(dst *int8, outStride int, n int, taps *dwTap, ntaps int, w *int8, c int, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)
//
// n output pixels, 16 channels at a time (the last block overlaps the one
// before when c%16 != 0; c >= 16). Tap t of pixel i reads channels
// [cb, cb+16) at taps[t].p + i*taps[t].inc + (cb & taps[t].mask);
// weights are [ntaps][c]. Two taps are summed in int16 (SMULL+SMLAL),
// then widened into the int32 sums (SADDW/SADDW2).`)
	dwSkeleton(a, "dwNeon", "taps", []string{"\tMOVD\tntaps+32(FP), R4"}, 84, false, dwTapsBody, nil, nil)
	for _, k := range []int{3, 5, 7, 9, 11} {
		for _, st := range []int{0, 1, 2} {
			name, stride := fmt.Sprintf("dwNeonK%d", k), "any stride (inc, kxs)"
			if st > 0 {
				name, stride = fmt.Sprintf("%sS%d", name, st), fmt.Sprintf("stride %d (inc = %d*kxs)", st, st)
			}
			a.L(`
// func %s(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32, prep *int32, zOut, qmin, qmax int32, inc, kxs int)
//
// As dwNeon for nrows (0…%d) rows of a %dx%d kernel, %s, unrolled
// over the taps, for runs of output pixels whose windows are inside the
// image (or a padded copy of it): tap (ky, kx) of pixel i reads channels
// [cb, cb+16) at rows[ky] + i*inc + kx*kxs + cb, weights w[(ky*%d+kx)*c + cb
// …], each block's requantization from prep (dwPrepRQ). Pixels go in
// pairs sharing the weight loads and row set-up, an odd last one alone;
// with a stride, quads of pixels first.`, name, k, k, k, stride, k)
			args := []string{"\tMOVD\tnrows+32(FP), R4", "\tMOVD\tinc+88(FP), R26", "\tMOVD\tkxs+96(FP), R21"}
			var quad func(*Asm)
			if st == 1 {
				args = append(args, fmt.Sprintf("\tMOVD\tc+48(FP), R23\n\tMOVD\t$%d, R24\n\tMUL\tR24, R23, R23 // k*c: one kernel row of weights", k))
			}
			if st > 0 {
				quad = dwQuadBody(k, st)
			}
			dwSkeleton(a, name, "rows", args, 104, true, dwRowsBody(k, 1, false), dwRowsBody(k, 2, st == 1), quad)
		}
	}
	a.S(`
// func dwPrepRQ(dst *int32, rq *quant.Multiplier, c int, qmin, qmax int32)
//
// The requantization of the unrolled kernels, per 16-channel block (the
// last one overlapping when c%16 != 0; c >= 16), 208 bytes each: M (or
// M>>Shift if the block is on the 2^-31 grid), L = max(1-Shift, 0), R =
// -max(Shift, 1) (16 int32 each), then the flags (bit 0: some L != 0, bit
// 1: [qmin, qmax] narrower than int8, bit 2: some multiplier off the grid)
// and 8 bytes of padding.
TEXT ·dwPrepRQ(SB), NOSPLIT, $0-32
	MOVD	dst+0(FP), R0
	MOVD	rq+8(FP), R8
	MOVD	c+16(FP), R6
	MOVD	ZR, R12
pblk:
	SUB	$16, R6, R13
	CMP	R13, R12
	CSEL	LT, R12, R13, R13 // cb = min(c0, c-16)`)
	dwDeriveRQ(a, "qmin+24(FP)", "qmax+28(FP)")
	a.S(`	VST1.P	[V20.S4, V21.S4, V22.S4, V23.S4], 64(R0)
	VST1.P	[V24.S4, V25.S4, V26.S4, V27.S4], 64(R0)
	VST1.P	[V28.S4, V29.S4, V30.S4, V31.S4], 64(R0)
	MOVD.P	R16, 16(R0)
	ADD	$16, R12, R12
	CMP	R6, R12
	BLT	pblk
	RET`)
	padRows := `
// func dwPadRows(dst *int8, rowB int, src *int8, rowIn int, nrows int, nL, nIn, nR int, inStride int, c int, z int32)
//
// Builds nrows padded rows (rowB bytes apart at dst) of c-byte pixels
// (c >= 16): nL pixels of z, nIn pixels copied from src (inStride apart;
// the rows rowIn apart), nR pixels of z. Copies go in 64-byte pieces,
// then 16-byte ones, then a pixel's last 16 bytes (overlapping); fills
// likewise over each run of z.
TEXT ·dwPadRows(SB), NOSPLIT, $0-84
	MOVD	dst+0(FP), R0
	MOVD	rowB+8(FP), R10
	MOVD	src+16(FP), R1
	MOVD	rowIn+24(FP), R11
	MOVD	nrows+32(FP), R12
	MOVD	nL+40(FP), R13
	MOVD	nIn+48(FP), R14
	MOVD	nR+56(FP), R15
	MOVD	inStride+64(FP), R3
	MOVD	c+72(FP), R4
	MOVW	z+80(FP), R2
	VDUP	R2, V4.B16
	VDUP	R2, V5.B16
	VDUP	R2, V6.B16
	VDUP	R2, V7.B16
	SUB	$16, R4, R5 // offset of a pixel's last 16 bytes
	CBZ	R12, done
row:
	MOVD	R0, R8 // write cursor
	MUL	R4, R13, R16 // left fill bytes
	CBZ	R16, copy
FILL(l)
copy:
	MOVD	R1, R17 // pixel cursor
	MOVD	R14, R2
	CBZ	R2, right
cpix:
	MOVD	R17, R7
	MOVD	R5, R9 // bytes before the last 16
	CMP	$64, R9
	BLT	c16
c64:
	VLD1.P	64(R7), [V0.B16, V1.B16, V2.B16, V3.B16]
	VST1.P	[V0.B16, V1.B16, V2.B16, V3.B16], 64(R8)
	SUB	$64, R9, R9
	CMP	$64, R9
	BGE	c64
c16:
	CMP	$0, R9
	BLE	clast
	VLD1.P	16(R7), [V0.B16]
	VST1.P	[V0.B16], 16(R8)
	SUB	$16, R9, R9
	B	c16
clast:
	ADD	R17, R5, R7
	VLD1	(R7), [V0.B16]
	ADD	R9, R8, R8 // back to the pixel's last 16 bytes (R9 in (-16, 0])
	VST1.P	[V0.B16], 16(R8)
	ADD	R3, R17, R17
	SUBS	$1, R2, R2
	BNE	cpix
right:
	MUL	R4, R15, R16 // right fill bytes
	CBZ	R16, next
FILL(r)
next:
	ADD	R10, R0, R0
	ADD	R11, R1, R1
	SUBS	$1, R12, R12
	BNE	row
done:
	RET`
	// fill: R16 >= 16 bytes of z (V4-V7) from R8 (R8 advances past them)
	fill := func(x string) string {
		return strings.ReplaceAll(`	SUB	$16, R16, R9
	ADD	R8, R9, R6 // the last 16 bytes
	CMP	$64, R9
	BLT	fX16
fX64:
	VST1.P	[V4.B16, V5.B16, V6.B16, V7.B16], 64(R8)
	SUB	$64, R9, R9
	CMP	$64, R9
	BGE	fX64
fX16:
	CMP	$0, R9
	BLE	fXlast
	VST1.P	[V4.B16], 16(R8)
	SUB	$16, R9, R9
	B	fX16
fXlast:
	VST1	[V4.B16], (R6)
	ADD	$16, R6, R8`, "X", x)
	}
	padRows = strings.ReplaceAll(padRows, "FILL(l)", fill("l"))
	a.S(strings.ReplaceAll(padRows, "FILL(r)", fill("r")))
	a.S(`
// func dwBiasRows(dst *int32, bias *int32, top *int32, bot *int32, n int, zIn int32)
//
// dst[i] = bias[i] + zIn*(top[i]+bot[i]) for n >= 16 int32 (wrapping), 16
// at a time, the last 16 overlapping the ones before.
TEXT ·dwBiasRows(SB), NOSPLIT, $0-44
	MOVD	dst+0(FP), R0
	MOVD	bias+8(FP), R1
	MOVD	top+16(FP), R2
	MOVD	bot+24(FP), R3
	MOVD	n+32(FP), R4
	MOVW	zIn+40(FP), R5
	VDUP	R5, V31.S4
	SUB	$16, R4, R6
	LSL	$2, R6, R6 // byte offset of the last 16
	ADD	R6, R0, R7
	ADD	R6, R1, R8
	ADD	R6, R2, R9
	ADD	R6, R3, R10
	CMP	$0, R6
	BLE	blast
bloop:`)
	biasRows := func(d, b, t, u string, post bool) {
		p := ""
		if post {
			p = ".P\t64"
		} else {
			p = "\t"
		}
		a.L("\tVLD1%s(%s), [V0.S4, V1.S4, V2.S4, V3.S4]", p, t)
		a.L("\tVLD1%s(%s), [V4.S4, V5.S4, V6.S4, V7.S4]", p, u)
		a.L("\tVLD1%s(%s), [V8.S4, V9.S4, V10.S4, V11.S4]", p, b)
		for q := 0; q < 4; q++ {
			a.L("\tVADD\tV%d.S4, V%d.S4, V%d.S4", 4+q, q, q)
			a.W("mul v%d.4s, v%d.4s, v31.4s", q, q)
			a.L("\tVADD\tV%d.S4, V%d.S4, V%d.S4", q, 8+q, 8+q)
		}
		if post {
			a.L("\tVST1.P\t[V8.S4, V9.S4, V10.S4, V11.S4], 64(%s)", d)
		} else {
			a.L("\tVST1\t[V8.S4, V9.S4, V10.S4, V11.S4], (%s)", d)
		}
	}
	biasRows("R0", "R1", "R2", "R3", true)
	a.S(`	SUBS	$64, R6, R6
	BGT	bloop
blast:`)
	biasRows("R7", "R8", "R9", "R10", false)
	a.S(`	RET`)
	return a.String()
}

// mulShiftLanes applies SQDMULH by M and the rounding SRSHL by R to the n
// int32 vectors V(acc)..V(acc+n-1); lane quad q uses V(m+q%4), V(r+q%4).
func mulShiftLanes(a *Asm, n, acc, m, r int) {
	for q := 0; q < n; q++ {
		a.W("sqdmulh v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, m+q%4)
	}
	for q := 0; q < n; q++ {
		a.W("srshl v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, r+q%4)
	}
}

// narrowToBytes narrows pixel p's four int32 vectors V(src(p))..+3 to 16
// bytes in V(dst(p)) (V(dst(p)+1) is scratch), adding the int16 zero point
// in V(z) between the two saturating narrowings (see header: it equals
// adding it before them).
//
// Each step runs over the pixels before the next (a pixel's steps keep
// their order, which matters when src and dst overlap), so an in-order
// core does not wait on the narrowing just issued.
func narrowToBytes(a *Asm, np int, src, dst func(p int) int, z int) {
	for step := 0; step < 4; step++ {
		for p := 0; p < np; p++ {
			s, t := src(p), dst(p)
			switch step {
			case 0:
				a.W("sqxtn v%d.4h, v%d.4s", t, s)
			case 1:
				a.W("sqxtn2 v%d.8h, v%d.4s", t, s+1)
			case 2:
				a.W("sqxtn v%d.4h, v%d.4s", t+1, s+2)
			case 3:
				a.W("sqxtn2 v%d.8h, v%d.4s", t+1, s+3)
			}
		}
	}
	for p := 0; p < np; p++ {
		t := dst(p)
		a.W("sqadd v%d.8h, v%d.8h, v%d.8h", t, t, z)
		a.W("sqadd v%d.8h, v%d.8h, v%d.8h", t+1, t+1, z)
	}
	for p := 0; p < np; p++ {
		a.W("sqxtn v%d.8b, v%d.8h", dst(p), dst(p))
	}
	for p := 0; p < np; p++ {
		a.W("sqxtn2 v%d.16b, v%d.8h", dst(p), dst(p)+1)
	}
}

// clampBytes clamps V(dst(p)) to [V(lo), V(hi)] bytewise.
func clampBytes(a *Asm, np int, dst func(p int) int, lo, hi int) {
	for p := 0; p < np; p++ {
		t := dst(p)
		a.W("smax v%d.16b, v%d.16b, v%d.16b", t, t, lo)
		a.W("smin v%d.16b, v%d.16b, v%d.16b", t, t, hi)
	}
}
