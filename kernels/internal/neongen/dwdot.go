package neongen

import "fmt"

// The dotprod depthwise kernels (dwconv_dot_arm64.s): SDOT over the taps of
// a kernel row, lanes = channels. For one 16-channel block and one input
// row, dwDotBuildBody builds a "tap window" row T: entry m is the
// transpose of the four input pixels P[s*m .. s*m+3] (s = stride), 16
// channels × 4 taps, each channel's 4 taps contiguous (one SDOT lane).
// Output pixel ox, tap group g (taps 4g..4g+3 of the row) reads
// T[ox + (4/s)*g], so one window row serves every output column and, at
// stride 1, K output rows. dwDotKernelBody then sums, per output pixel, the
// SDOTs of every kernel row in the image (G = ceil(K/4) groups per row) and
// requantizes. dwDotTileG{1,2,3}S{1,2} run both over the output rows of one
// block and column tile.

// dwDotBuildBody gathers one input row of a 16-channel block into R1 (16
// bytes a pixel): R4 copies of the 16 bytes at R7 (zIn), R5 pixels from
// R2 (R3 apart), R6 copies of zIn; then writes R8 (a multiple of 4)
// window entries to R0, entry m = the 4 taps P[s*m .. s*m+3] of each
// channel (64 bytes). R1 must hold R8+3 (s = 1) or 2*R8+2 (s = 2) pixels.
// Uses R0-R9, V0-V7, V16-V31.
func dwDotBuildBody(a *Asm, stride int) {
	a.S(`	VLD1	(R7), [V31.B16]
	MOVD	R1, R9
	CBZ	R4, gsrc
gpadl:
	VST1.P	[V31.B16], 16(R9)
	SUBS	$1, R4, R4
	BNE	gpadl
gsrc:
	SUBS	$8, R5, R5
	BLT	gsrc4chk
gsrc8:
	VLD1.P	(R2)(R3), [V16.B16]
	VLD1.P	(R2)(R3), [V17.B16]
	VLD1.P	(R2)(R3), [V18.B16]
	VLD1.P	(R2)(R3), [V19.B16]
	VLD1.P	(R2)(R3), [V20.B16]
	VLD1.P	(R2)(R3), [V21.B16]
	VLD1.P	(R2)(R3), [V22.B16]
	VLD1.P	(R2)(R3), [V23.B16]
	VST1.P	[V16.B16, V17.B16, V18.B16, V19.B16], 64(R9)
	VST1.P	[V20.B16, V21.B16, V22.B16, V23.B16], 64(R9)
	SUBS	$8, R5, R5
	BGE	gsrc8
gsrc4chk:
	ADD	$8, R5, R5 // 0..7 left
	TBZ	$2, R5, gsrc1chk
	VLD1.P	(R2)(R3), [V26.B16]
	VLD1.P	(R2)(R3), [V27.B16]
	VLD1.P	(R2)(R3), [V28.B16]
	VLD1.P	(R2)(R3), [V29.B16]
	VST1.P	[V26.B16, V27.B16, V28.B16, V29.B16], 64(R9)
	SUB	$4, R5, R5
gsrc1chk:
	CBZ	R5, gpadr
gsrc1:
	VLD1.P	(R2)(R3), [V30.B16]
	VST1.P	[V30.B16], 16(R9)
	SUBS	$1, R5, R5
	BNE	gsrc1
gpadr:
	CBZ	R6, trans
gpadr1:
	VST1.P	[V31.B16], 16(R9)
	SUBS	$1, R6, R6
	BNE	gpadr1
trans:
	CBZ	R8, tdone`)
	// Entry m is ST4 of the four pixels P[s*m .. s*m+3] (one LD1 of 64
	// bytes at P + 16*s*m): ST4 interleaves them bytewise, so each
	// channel's four taps are adjacent. 2 instructions an entry (the
	// ZIP1/ZIP2 transposition this replaced took 8); on the A76 (LLVM's
	// Neoverse N1 model) both are ~5 cycles an entry (ST4: 6 load/store
	// µops, ZIPs: 10 SIMD µops).
	a.L("\tMOVD\t$%d, R9", 16*stride)
	a.L("loop:")
	for e := range 4 {
		x := 4 * (e % 2)
		a.L("\tVLD1.P\t(R1)(R9), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", x, x+1, x+2, x+3)
		a.L("\tVST4.P\t[V%d.B16, V%d.B16, V%d.B16, V%d.B16], 64(R0)", x, x+1, x+2, x+3)
	}
	a.S(`	SUBS	$4, R8, R8
	BNE	loop
tdone:`)
}

// dwDotRequant requantizes the int32 sums of np pixels (V16+4p..V19+4p)
// and stores them to R0, R0+R1, … (R0 advances). R7 holds rq.flags: with
// bit 1 clear the block is on the 2^-31 grid and V0-V3 (from R6) hold
// M>>Shift, so one SQRDMULH is the whole rounding; else V0-V3 hold M, R
// and L come into V4-V11 (from R14, R15) and the SQSHLs by L run only if
// bit 0 is set. The clamp to [qmin, qmax] runs only if R21 != 0 (else
// SQXTN's saturation to [-128, 127] is the clamp).
func dwDotRequant(a *Asm, np int, skip string) {
	a.L("\tVLD1\t(R6), [V0.S4, V1.S4, V2.S4, V3.S4]")
	a.L("\tTBZ\t$1, R7, %sg", skip)
	a.L("\tVLD1\t(R14), [V4.S4, V5.S4, V6.S4, V7.S4]")
	a.L("\tTBZ\t$0, R7, %s", skip)
	a.L("\tVLD1\t(R15), [V8.S4, V9.S4, V10.S4, V11.S4]")
	for q := 0; q < 4*np; q++ {
		a.W("sqshl v%d.4s, v%d.4s, v%d.4s", 16+q, 16+q, 8+q%4)
	}
	a.L("%s:", skip)
	mulShiftLanes(a, 4*np, 16, 0, 4)
	a.L("\tB\t%sn", skip)
	a.L("%sg:", skip)
	for q := 0; q < 4*np; q++ {
		a.W("sqrdmulh v%d.4s, v%d.4s, v%d.4s", 16+q, 16+q, q%4)
	}
	a.L("%sn:", skip)
	pix := func(p int) int { return 16 + 4*p }
	narrowToBytes(a, np, pix, pix, 12)
	a.L("\tCBZ\tR21, %sc", skip)
	clampBytes(a, np, pix, 13, 14)
	a.L("%sc:", skip)
	for p := 0; p < np; p++ {
		a.L("\tVST1.P\t[V%d.B16], (R0)(R1)", 16+4*p)
	}
}

// dwDotKernelBody computes one output row of one block: R2 output pixels
// (R1 apart, from R0), stride s, groups tap groups of 4 per kernel row:
// pixel i sums, over the R4 kernel rows r, SDOT(T_r[i + (4/s)*g], w_r[g])
// over g, where T_r[j] is the 64-byte window entry at xs[r] + 64*j (xs in
// R3) and w_r[g] the row's 64 bytes of weights for taps 4g..4g+3 ([16
// ch][4 taps], unused taps 0); the rows' weights follow each other from
// R17. The sums start at rq.b, plus rq.zIn*(top+bot) (16 int32 each at R20
// and R19: the padding rows) when R20 != 0, and are requantized with rq =
// R6 (M or M>>Shift, R, L per channel and rq.flags: see dwDotRequant; the
// clamp only if rq.clamp != 0; the caller sets V12-V14 = zOut, qmin,
// qmax, R14, R15 = &rq.r, &rq.l and R21 = rq.clamp). Four pixels at a time, then one. Uses
// R0-R17, R19-R21, V0-V31.
func dwDotKernelBody(a *Asm, groups, stride int) {
	d := 4 / stride // window entries from one tap group to the next
	a.L(`
	MOVW	336(R6), R7 // flags
	ADD	$192, R6, R5 // bias: rq.b
	CBZ	R20, nopad
	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1	(R20), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1	(R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	MOVW	320(R6), R9
	VDUP	R9, V28.S4`)
	for q := 0; q < 4; q++ {
		a.L("\tVADD\tV%d.S4, V%d.S4, V%d.S4", 24+q, 20+q, 20+q)
		a.W("mul v%d.4s, v%d.4s, v28.4s", 20+q, 20+q)
		a.L("\tVADD\tV%d.S4, V%d.S4, V%d.S4", 20+q, 16+q, 16+q)
	}
	a.L(`	ADD	$256, R6, R5 // bias: rq.bp = rq.b + zIn*(top+bot)
	VST1	[V16.S4, V17.S4, V18.S4, V19.S4], (R5)
nopad:
	MOVD	$%d, R12 // pixel 3's post-increment: to the next group's pixel 0
	MOVD	$%d, R13 // one pixel's step from group to group
	MOVD	ZR, R16 // window offset of pixel 0`, 64*(d-3), 64*d)
	ks := dwDotKs(groups)
	// up to 9 kernel rows in the image: a register per kernel row
	maxFast := min(ks[len(ks)-1], len(dwDotFastRows))
	for n := maxFast; n >= 1; n-- { // all k rows first
		a.L("\tCMP\t$%d, R4", n)
		a.L("\tBEQ\tfquad%d", n)
	}
	a.L(`	CMP	$4, R2
	BLT	single
quad:
	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1	(R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1	(R5), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1	(R5), [V28.S4, V29.S4, V30.S4, V31.S4]
	MOVD	R3, R8
	MOVD	R17, R11
	MOVD	R4, R9`)
	// all k rows in the image (the usual case): unrolled, no loop (for
	// k <= 9 dwDotFastQuads does every row count but 0)
	var qks []int
	for _, k := range ks {
		if k > maxFast {
			qks = append(qks, k)
		}
	}
	for _, k := range qks {
		a.L("\tCMP\t$%d, R9", k)
		a.L("\tBEQ\tqfull%d", k)
	}
	a.L("\tCBZ\tR9, qreq")
	qrowBody := func() {
		a.L("\tMOVD.P\t8(R8), R10")
		a.L("\tADD\tR16, R10, R10")
		for g := 0; g < groups; g++ {
			a.L("\tVLD1.P\t64(R11), [V0.B16, V1.B16, V2.B16, V3.B16]")
			for p := 0; p < 4; p++ {
				x := 4 + 4*(p%2)
				if p < 3 || d == 4 {
					a.L("\tVLD1.P\t64(R10), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", x, x+1, x+2, x+3)
				} else {
					a.L("\tVLD1.P\t(R10)(R12), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", x, x+1, x+2, x+3)
				}
				for r := 0; r < 4; r++ {
					a.W("sdot v%d.4s, v%d.16b, v%d.16b", 16+4*p+r, x+r, r)
				}
			}
		}
	}
	a.L("qrow:")
	qrowBody()
	a.S(`	SUBS	$1, R9, R9
	BNE	qrow
	B	qreq`)
	for _, k := range qks {
		a.L("qfull%d:", k)
		for range k {
			qrowBody()
		}
		a.L("\tB\tqreq")
	}
	a.S(`qreq:`)
	dwDotRequant(a, 4, "qnosh")
	a.S(`	ADD	$256, R16, R16
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	quad`)
	a.S("\tB\tsingle")
	for n := 1; n <= maxFast; n++ {
		dwDotFastQuads(a, n, groups, stride)
	}
	a.S(`single:
	CBZ	R2, rowdone
one:
	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	MOVD	R3, R8
	MOVD	R17, R11
	MOVD	R4, R9`)
	for _, k := range ks {
		a.L("\tCMP\t$%d, R9", k)
		a.L("\tBEQ\tofull%d", k)
	}
	a.L("\tCBZ\tR9, oreq")
	orowBody := func() {
		a.L("\tMOVD.P\t8(R8), R10")
		a.L("\tADD\tR16, R10, R10")
		for g := 0; g < groups; g++ {
			a.L("\tVLD1.P\t64(R11), [V0.B16, V1.B16, V2.B16, V3.B16]")
			a.L("\tVLD1.P\t(R10)(R13), [V4.B16, V5.B16, V6.B16, V7.B16]")
			for r := 0; r < 4; r++ {
				a.W("sdot v%d.4s, v%d.16b, v%d.16b", 16+r, 4+r, r)
			}
		}
	}
	a.L("orow:")
	orowBody()
	a.S(`	SUBS	$1, R9, R9
	BNE	orow
	B	oreq`)
	for _, k := range ks {
		a.L("ofull%d:", k)
		for range k {
			orowBody()
		}
		a.L("\tB\toreq")
	}
	a.S(`oreq:`)
	dwDotRequant(a, 1, "onosh")
	a.S(`	ADD	$64, R16, R16
	SUBS	$1, R2, R2
	BNE	one
rowdone:`)
}

// dwDotFastRows are the registers of dwDotFastQuads' row cursors.
// R3 (the row table) is loaded last.
var dwDotFastRows = []int{8, 9, 10, 13, 19, 20, 26, 16, 3}

// dwDotFastQuads is the quad loop of an output row with k kernel rows in
// the image (k <= 9; all K of them away from the top and bottom, fewer
// near them): each kernel row's window cursor stays in a register from
// quad to quad (the last load of a row post-increments it to the next
// quad's pixel 0), so a row costs its loads and SDOTs only, and the loop
// does not test the row count; then the last n % 4 pixels the same way,
// one at a time.
func dwDotFastQuads(a *Asm, k, groups, stride int) {
	d := 4 / stride
	a.L("fquad%d:", k)
	rows := dwDotFastRows[:k]
	for r, x := range rows {
		a.L("\tMOVD\t%d(R3), R%d", 8*r, x)
	}
	// pixel 3's post-increment: to the next group's pixel 0 (64*(d-3),
	// in R4 if not 64), after the last group to the next quad
	// (64*(1-d*(groups-1)), in R12 if not 64).
	inner, last := 64*(d-3), 64*(1-d*(groups-1))
	incReg := func(g int) string {
		switch {
		case g < groups-1 && inner != 64:
			return "R4"
		case g == groups-1 && last != 64:
			return "R12"
		}
		return ""
	}
	if groups > 1 && inner != 64 {
		a.L("\tMOVD\t$%d, R4", inner)
	}
	if last != 64 {
		a.L("\tMOVD\t$%d, R12", last)
	}
	a.L("\tCMP\t$4, R2")
	a.L("\tBLT\tfs%dentry", k)
	a.L("fq%dloop:", k)
	a.S(`	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1	(R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1	(R5), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1	(R5), [V28.S4, V29.S4, V30.S4, V31.S4]
	MOVD	R17, R11`)
	for _, row := range rows {
		for g := range groups {
			a.L("\tVLD1.P\t64(R11), [V0.B16, V1.B16, V2.B16, V3.B16]")
			for p := range 4 {
				x := 4 + 4*(p%2)
				if r := incReg(g); p < 3 || r == "" {
					a.L("\tVLD1.P\t64(R%d), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", row, x, x+1, x+2, x+3)
				} else {
					a.L("\tVLD1.P\t(R%d)(%s), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", row, r, x, x+1, x+2, x+3)
				}
				for r := range 4 {
					a.W("sdot v%d.4s, v%d.16b, v%d.16b", 16+4*p+r, x+r, r)
				}
			}
		}
	}
	dwDotRequant(a, 4, fmt.Sprintf("fq%dnosh", k))
	a.L(`	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	fq%dloop
fs%dentry:
	CBZ	R2, rowdone`, k, k)
	// The last pixels one at a time, the same cursors: a group's load
	// steps to the next group (64*d, R4), the last group's to the next
	// pixel (64*(1-d*(groups-1)), as after a quad).
	if groups > 1 {
		a.L("\tMOVD\t$%d, R4", 64*d)
	}
	a.L("fs%dloop:", k)
	a.S(`	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	MOVD	R17, R11`)
	for _, row := range rows {
		for g := range groups {
			a.L("\tVLD1.P\t64(R11), [V0.B16, V1.B16, V2.B16, V3.B16]")
			switch {
			case g < groups-1:
				a.L("\tVLD1.P\t(R%d)(R4), [V4.B16, V5.B16, V6.B16, V7.B16]", row)
			case last == 64:
				a.L("\tVLD1.P\t64(R%d), [V4.B16, V5.B16, V6.B16, V7.B16]", row)
			default:
				a.L("\tVLD1.P\t(R%d)(R12), [V4.B16, V5.B16, V6.B16, V7.B16]", row)
			}
			for r := range 4 {
				a.W("sdot v%d.4s, v%d.16b, v%d.16b", 16+r, 4+r, r)
			}
		}
	}
	dwDotRequant(a, 1, fmt.Sprintf("fs%dnosh", k))
	a.L(`	SUBS	$1, R2, R2
	BNE	fs%dloop
	B	rowdone`, k)
}

// dwDotKs lists the odd kernel sizes (3…11) with ceil(k/4) = groups.
func dwDotKs(groups int) []int {
	var ks []int
	for k := 3; k <= 11; k += 2 {
		if (k+3)/4 == groups {
			ks = append(ks, k)
		}
	}
	return ks
}

// dwDotTile emits dwDotTileG{groups}S{stride}: the output rows of one
// 16-channel block and column tile, building each input row's window once
// (into a ring of k rows) and running dwDotKernelBody per output row.
func dwDotTile(a *Asm, groups, stride int) {
	a.L(`
// func dwDotTileG%dS%d(a *dwDotTile)
//
// Output rows [a.oy0, a.oy1) of one 16-channel block and column tile,
// stride %d, %d tap group(s) of 4 per kernel row. For output row oy the
// input rows lo..hi-1 inside the image (iy0 = oy*%d - a.padTop, kernel
// rows kyLo..kyHi-1) are built, those not built yet, into ring slot
// iy %% a.k (a.xs[slot], the table doubled so a.xs[lo %% a.k:] lists the
// row's slots in order); then the row is computed from those rows, the
// weights from a.w + kyLo*%d and, if rows are missing, the padding-row
// sums top[kyLo] + bot[a.k-kyHi] (top[a.k] + bot[0] if none is in the
// image). Per output row the asm keeps its kernel arguments in a.rxs … a.rbot.
TEXT ·dwDotTileG%dS%d(SB), NOSPLIT, $0-8
	MOVD	a+0(FP), R22
	MOVD	120(R22), R25 // k
	MOVD	144(R22), R23 // oy
	MOVD	ZR, R24 // next: input rows below it are built
	MOVD	176(R22), R6 // rq: its constants, kept for every row (the
	MOVW	324(R6), R9 // row builds use R0-R9, V0-V7, V16-V31)
	MOVW	328(R6), R10
	MOVW	332(R6), R11
	VDUP	R9, V12.H8 // zOut
	VDUP	R10, V13.B16 // qmin
	VDUP	R11, V14.B16 // qmax
	MOVW	340(R6), R21 // clamp
	ADD	$64, R6, R14 // R
	ADD	$128, R6, R15 // L
rowloop:
	MOVD	152(R22), R0
	CMP	R0, R23
	BGE	tiledone
	MOVD	128(R22), R0`, groups, stride, stride, groups, stride, groups*64, groups, stride)
	if stride == 1 {
		a.S("\tSUB\tR0, R23, R1 // iy0")
	} else {
		a.S("\tLSL\t$1, R23, R1\n\tSUB\tR0, R1, R1 // iy0")
	}
	a.L(`	NEG	R1, R2
	CMP	$0, R2
	CSEL	GT, R2, ZR, R2 // kyLo = max(-iy0, 0)
	MOVD	136(R22), R3
	SUB	R1, R3, R3
	CMP	R25, R3
	CSEL	LT, R3, R25, R3 // kyHi = min(h-iy0, k)
	ADD	R1, R2, R4 // lo
	ADD	R1, R3, R5 // hi
	MOVD	112(R22), R6 // xs
	MOVD	160(R22), R7 // w
	MOVD	168(R22), R8 // sums: top[k+1][16], bot[k+1][16]
	CMP	R4, R5
	BLE	nrows0
	SUB	R4, R5, R9
	MOVD	R9, 192(R22) // rn = hi - lo
	UDIV	R25, R4, R10
	MSUB	R10, R4, R25, R10
	ADD	R10<<3, R6, R10
	MOVD	R10, 184(R22) // rxs = xs + lo%%k
	MOVD	$%d, R10
	MADD	R10, R7, R2, R11
	MOVD	R11, 200(R22) // rw = w + kyLo*G*64
	CMP	R25, R9
	BEQ	nopadrow
	ADD	R2<<6, R8, R10
	MOVD	R10, 208(R22) // rtop = top[kyLo]
	LSL	$1, R25, R11
	ADD	$1, R11, R11
	SUB	R3, R11, R11
	ADD	R11<<6, R8, R11
	MOVD	R11, 216(R22) // rbot = bot[k-kyHi]
	B	build
nopadrow:
	MOVD	ZR, 208(R22) // rtop = nil: no padding row
	B	build
nrows0:
	MOVD	ZR, 192(R22)
	MOVD	R6, 184(R22)
	MOVD	R7, 200(R22)
	ADD	R25<<6, R8, R10
	MOVD	R10, 208(R22) // top[k]
	ADD	$1, R25, R11
	ADD	R11<<6, R8, R11
	MOVD	R11, 216(R22) // bot[0]
build:
	CMP	R24, R4
	CSEL	GT, R4, R24, R26 // iy = max(next, lo)
	CMP	R24, R5
	CSEL	GT, R5, R24, R24 // next = max(next, hi)
buildloop:
	CMP	R24, R26
	BGE	built
	UDIV	R25, R26, R0
	MSUB	R0, R26, R25, R0
	MOVD	112(R22), R1
	MOVD	(R1)(R0<<3), R0 // t = xs[iy %% k]
	MOVD	64(R22), R1 // p
	MOVD	48(R22), R2
	MOVD	40(R22), R3
	MADD	R2, R3, R26, R3
	MOVD	32(R22), R2
	ADD	R3, R2, R2 // src + srcOff + iy*rowIn
	MOVD	56(R22), R3 // inStride
	MOVD	72(R22), R4 // padL
	MOVD	80(R22), R5 // nIn
	MOVD	88(R22), R6 // padR
	MOVD	96(R22), R7 // z
	MOVD	104(R22), R8 // nt`, groups*64)
	dwDotBuildBody(a, stride)
	a.S(`	ADD	$1, R26, R26
	B	buildloop
built:
	MOVD	0(R22), R0
	MOVD	24(R22), R1
	MADD	R1, R0, R23, R0 // dst + oy*rowOut
	MOVD	8(R22), R1 // outStride
	MOVD	16(R22), R2 // n
	MOVD	184(R22), R3
	MOVD	192(R22), R4
	MOVD	200(R22), R17
	MOVD	208(R22), R20
	MOVD	216(R22), R19
	MOVD	176(R22), R6 // rq`)
	dwDotKernelBody(a, groups, stride)
	a.S(`	ADD	$1, R23, R23
	B	rowloop
tiledone:
	RET`)
}

func dwconvDotFile() string {
	a := &Asm{}
	a.L(header)
	a.S(`
// Depthwise convolution with SDOT over the taps (ARMv8.2 dot product; only
// the dotprod tier calls these). See dwconv_dot_arm64.go.`)
	for _, g := range []int{1, 2, 3} {
		for _, s := range []int{1, 2} {
			dwDotTile(a, g, s)
		}
	}
	a.S(`
// func dwDotSetRQ(q *dwDotRQ, rq *quant.Multiplier, bias *int32)
//
// Fills the block's q.r = -max(Shift, 1), q.l = max(1-Shift, 0),
// q.b = bias[0:16] and q.flags (bit 0: some L != 0, bit 1: some multiplier
// off the 2^-31 grid) from 16 multipliers, and q.m = M, or M>>Shift when
// all 16 are on the grid (SQRDMULH by it is then the whole rounding).
TEXT ·dwDotSetRQ(SB), NOSPLIT, $0-24
	MOVD	q+0(FP), R0
	MOVD	rq+8(FP), R1
	MOVD	bias+16(FP), R2
	MOVW	$1, R3
	VDUP	R3, V12.S4
	VEOR	V13.B16, V13.B16, V13.B16`)
	for q := 0; q < 4; q++ {
		a.L("\tVLD2.P\t32(R1), [V8.S4, V9.S4]")
		a.L("\tVORR\tV8.B16, V8.B16, V%d.B16", 20+q)
		gridCheck(a, "V8", "V9", vn(16+q), vn(4+q), "V10", "V13")
		shifts(a, "V9", vn(24+q), vn(28+q), "V12", "V13")
	}
	a.W("and v4.16b, v4.16b, v5.16b")
	a.W("and v6.16b, v6.16b, v7.16b")
	a.W("and v4.16b, v4.16b, v6.16b")
	a.S(`	VMOV	V4.D[0], R5
	VMOV	V4.D[1], R6
	AND	R6, R5, R5
	CMN	$1, R5
	CSET	NE, R7 // some multiplier off the grid
	CBNZ	R7, offgrid
	VST1	[V16.S4, V17.S4, V18.S4, V19.S4], (R0)
	B	mdone
offgrid:
	VST1	[V20.S4, V21.S4, V22.S4, V23.S4], (R0)
mdone:
	ADD	$64, R0, R4
	VST1	[V28.S4, V29.S4, V30.S4, V31.S4], (R4)
	ADD	$128, R0, R4
	VST1	[V24.S4, V25.S4, V26.S4, V27.S4], (R4)
	VLD1	(R2), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD	$192, R0, R4
	VST1	[V0.S4, V1.S4, V2.S4, V3.S4], (R4)
	VORR	V24.B16, V25.B16, V8.B16
	VORR	V26.B16, V27.B16, V9.B16
	VORR	V8.B16, V9.B16, V8.B16
	VMOV	V8.D[0], R5
	VMOV	V8.D[1], R6
	ORR	R6, R5, R5
	CMP	$0, R5
	CSET	NE, R5 // some L != 0
	ORR	R7<<1, R5, R5
	MOVW	R5, 336(R0) // flags
	RET`)
	return a.String()
}
