package neongen

// The dotprod depthwise kernels (dwconv_dot_arm64.s): SDOT over the taps of
// a kernel row, lanes = channels. For one 16-channel block and one input
// row, dwDotRowS1/S2 build a "tap window" row T: entry m is the transpose
// of the four input pixels P[s*m .. s*m+3] (s = stride), 16 channels × 4
// taps, each channel's 4 taps contiguous (one SDOT lane). Output pixel ox,
// tap group g (taps 4g..4g+3 of the row) reads T[ox + (4/s)*g], so one
// window row serves every output column and, at stride 1, K output rows.
// dwDotG{1,2,3}S{1,2} then sum, per output pixel, the SDOTs of every
// non-padding kernel row (G = ceil(K/4) groups per row) and requantize.

// zip16 writes Z(a, b) = (zip1, zip2) of the bytes of pixels a and b into
// (lo, lo+1).
func zip16(a *Asm, pa, pb, lo int) {
	a.L("\tVZIP1\tV%d.B16, V%d.B16, V%d.B16", pb, pa, lo)
	a.L("\tVZIP2\tV%d.B16, V%d.B16, V%d.B16", pb, pa, lo+1)
}

// zip8 writes the window entry of Z(p, p+1) (z) and Z(p+2, p+3) (z2) into
// out..out+3 (channels 0-3, 4-7, 8-11, 12-15, 4 taps each) and stores it.
func zip8(a *Asm, z, z2, out int) {
	a.L("\tVZIP1\tV%d.H8, V%d.H8, V%d.H8", z2, z, out)
	a.L("\tVZIP2\tV%d.H8, V%d.H8, V%d.H8", z2, z, out+1)
	a.L("\tVZIP1\tV%d.H8, V%d.H8, V%d.H8", z2+1, z+1, out+2)
	a.L("\tVZIP2\tV%d.H8, V%d.H8, V%d.H8", z2+1, z+1, out+3)
	a.L("\tVST1.P\t[V%d.B16, V%d.B16, V%d.B16, V%d.B16], 64(R0)", out, out+1, out+2, out+3)
}

func dwDotRow(a *Asm, stride int) {
	a.L(`
// func dwDotRowS%d(a *dwDotBuild)
//
// Gathers one input row of a 16-channel block into a.p (16 bytes a
// pixel): a.padL copies of a.z (16 bytes of zIn), a.n pixels from a.src
// (a.inStride apart), a.padR copies of a.z; then writes a.nt (a multiple
// of 4) window entries to a.t, entry m = the 4 taps P[%d*m .. %d*m+3] of
// each channel (64 bytes). a.p must hold %s pixels.
TEXT ·dwDotRowS%d(SB), NOSPLIT, $0-8
	MOVD	a+0(FP), R10
	MOVD	0(R10), R0 // t
	MOVD	8(R10), R1 // p
	MOVD	16(R10), R2 // src
	MOVD	24(R10), R3 // inStride
	MOVD	32(R10), R4 // padL
	MOVD	40(R10), R5 // n
	MOVD	48(R10), R6 // padR
	MOVD	56(R10), R7 // z
	MOVD	64(R10), R8 // nt
	VLD1	(R7), [V31.B16]
	MOVD	R1, R9
	CBZ	R4, gsrc
gpadl:
	VST1.P	[V31.B16], 16(R9)
	SUBS	$1, R4, R4
	BNE	gpadl
gsrc:
	CMP	$4, R5
	BLT	gsrc1chk
gsrc4:
	VLD1.P	(R2)(R3), [V26.B16]
	VLD1.P	(R2)(R3), [V27.B16]
	VLD1.P	(R2)(R3), [V28.B16]
	VLD1.P	(R2)(R3), [V29.B16]
	VST1.P	[V26.B16, V27.B16, V28.B16, V29.B16], 64(R9)
	SUB	$4, R5, R5
	CMP	$4, R5
	BGE	gsrc4
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
	CBZ	R8, done`, stride, stride, stride, map[int]string{1: "a.nt+3", 2: "2*a.nt+2"}[stride], stride)
	if stride == 1 {
		// A = Z(m, m+1) in V16-V17, B = Z(m+1, m+2) in V18-V19 carried.
		a.S(`	VLD1	(R1), [V0.B16, V1.B16, V2.B16]
	ADD	$32, R1, R1 // P[m+2]`)
		zip16(a, 0, 1, 16)
		zip16(a, 1, 2, 18)
		a.S(`loop:
	VLD1.P	64(R1), [V0.B16, V1.B16, V2.B16, V3.B16] // P[m+2..m+5]
	VLD1	(R1), [V4.B16] // P[m+6]`)
		zip16(a, 0, 1, 20) // Z(m+2)
		zip16(a, 1, 2, 22) // Z(m+3)
		zip8(a, 16, 20, 24)
		zip8(a, 18, 22, 24)
		zip16(a, 2, 3, 16) // Z(m+4)
		zip16(a, 3, 4, 18) // Z(m+5)
		zip8(a, 20, 16, 24)
		zip8(a, 22, 18, 24)
	} else {
		// A = Z(2m, 2m+1) in V16-V17 carried.
		a.S(`	VLD1.P	32(R1), [V0.B16, V1.B16]`)
		zip16(a, 0, 1, 16)
		a.S(`loop:
	VLD1.P	64(R1), [V0.B16, V1.B16, V2.B16, V3.B16] // P[2m+2..2m+5]`)
		zip16(a, 0, 1, 18) // C = Z(2m+2)
		zip16(a, 2, 3, 20) // D = Z(2m+4)
		zip8(a, 16, 18, 24)
		zip8(a, 18, 20, 24)
		a.S(`	VLD1.P	64(R1), [V0.B16, V1.B16, V2.B16, V3.B16] // P[2m+6..2m+9]`)
		zip16(a, 0, 1, 22) // E = Z(2m+6)
		zip16(a, 2, 3, 16) // Z(2m+8), the next A
		zip8(a, 20, 22, 24)
		zip8(a, 22, 16, 24)
	}
	a.S(`	SUBS	$4, R8, R8
	BNE	loop
done:
	RET`)
}

// dwDotRequant requantizes the int32 sums of np pixels (V16+4p..V19+4p),
// M in V0-V3, R in V4-V7, L in V8-V11 (loaded here from R6, R14, R15),
// and stores them to R0, R0+R1, … (R0 advances). The SQSHLs run only if
// R7 != 0, the clamp to [qmin, qmax] only if R21 != 0 (else SQXTN's
// saturation to [-128, 127] is the clamp).
func dwDotRequant(a *Asm, np int, skip string) {
	a.S(`	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1	(R14), [V4.S4, V5.S4, V6.S4, V7.S4]`)
	a.L("\tCBZ\tR7, %s", skip)
	a.L("\tVLD1\t(R15), [V8.S4, V9.S4, V10.S4, V11.S4]")
	for q := 0; q < 4*np; q++ {
		a.W("sqshl v%d.4s, v%d.4s, v%d.4s", 16+q, 16+q, 8+q%4)
	}
	a.L("%s:", skip)
	for q := 0; q < 4*np; q++ {
		a.W("sqdmulh v%d.4s, v%d.4s, v%d.4s", 16+q, 16+q, q%4)
	}
	for q := 0; q < 4*np; q++ {
		a.W("srshl v%d.4s, v%d.4s, v%d.4s", 16+q, 16+q, 4+q%4)
	}
	for p := 0; p < np; p++ {
		s := 16 + 4*p
		a.W("sqxtn v%d.4h, v%d.4s", s, s)
		a.W("sqxtn2 v%d.8h, v%d.4s", s, s+1)
		a.W("sqxtn v%d.4h, v%d.4s", s+1, s+2)
		a.W("sqxtn2 v%d.8h, v%d.4s", s+1, s+3)
	}
	for p := 0; p < np; p++ {
		s := 16 + 4*p
		a.W("sqadd v%d.8h, v%d.8h, v12.8h", s, s)
		a.W("sqadd v%d.8h, v%d.8h, v12.8h", s+1, s+1)
	}
	for p := 0; p < np; p++ {
		s := 16 + 4*p
		a.W("sqxtn v%d.8b, v%d.8h", s, s)
		a.W("sqxtn2 v%d.16b, v%d.8h", s, s+1)
	}
	a.L("\tCBZ\tR21, %sc", skip)
	for p := 0; p < np; p++ {
		s := 16 + 4*p
		a.W("smax v%d.16b, v%d.16b, v13.16b", s, s)
		a.W("smin v%d.16b, v%d.16b, v14.16b", s, s)
	}
	a.L("%sc:", skip)
	for p := 0; p < np; p++ {
		a.L("\tVST1.P\t[V%d.B16], (R0)(R1)", 16+4*p)
	}
}

func dwDotKernel(a *Asm, groups, stride int) {
	d := 4 / stride // window entries from one tap group to the next
	a.L(`
// func dwDotG%dS%d(a *dwDotArgs)
//
// a.n output pixels (a.outStride apart, from a.dst) of one 16-channel
// block, stride %d, %d tap group(s) of 4 per kernel row: pixel i sums,
// over the a.nrows kernel rows r, SDOT(T_r[i + %d*g], w_r[g]) over g,
// where T_r[j] is the 64-byte window entry at a.xs[r] + 64*j and w_r[g]
// the row's 64 bytes of weights for taps 4g..4g+3 ([16 ch][4 taps], unused
// taps 0); the rows' weights follow each other from a.w. The sums start
// at rq.b, plus rq.zIn*(a.top+a.bot) (16 int32 each; the padding rows)
// when a.top != nil, and are requantized with rq = a.rq (M, R, L per
// channel; the SQSHLs by L run only if rq.lsh != 0). Four pixels at a
// time, then one.
TEXT ·dwDotG%dS%d(SB), NOSPLIT, $0-8
	MOVD	a+0(FP), R11
	MOVD	0(R11), R0 // dst
	MOVD	8(R11), R1 // outStride
	MOVD	16(R11), R2 // n
	MOVD	24(R11), R3 // xs
	MOVD	32(R11), R4 // nrows
	MOVD	40(R11), R17 // w
	MOVD	48(R11), R20 // top
	MOVD	56(R11), R19 // bot
	MOVD	64(R11), R6 // rq
	MOVW	324(R6), R9
	MOVW	328(R6), R10
	MOVW	332(R6), R11
	VDUP	R9, V12.H8
	VDUP	R10, V13.B16
	VDUP	R11, V14.B16
	MOVW	336(R6), R7 // lsh
	MOVW	340(R6), R21 // clamp
	ADD	$64, R6, R14 // R
	ADD	$128, R6, R15 // L
	ADD	$192, R6, R5 // bias: rq.b
	CBZ	R20, nopad
	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1	(R20), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1	(R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	MOVW	320(R6), R9
	VDUP	R9, V28.S4`, groups, stride, stride, groups, d, groups, stride)
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
	MOVD	ZR, R16 // window offset of pixel 0
	CMP	$4, R2
	BLT	single
quad:
	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1	(R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1	(R5), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1	(R5), [V28.S4, V29.S4, V30.S4, V31.S4]
	MOVD	R3, R8
	MOVD	R17, R11
	MOVD	R4, R9
	CBZ	R9, qreq
qrow:
	MOVD.P	8(R8), R10
	ADD	R16, R10, R10`, 64*(d-3), 64*d)
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
	a.S(`	SUBS	$1, R9, R9
	BNE	qrow
qreq:`)
	dwDotRequant(a, 4, "qnosh")
	a.S(`	ADD	$256, R16, R16
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	quad
single:
	CBZ	R2, done
one:
	VLD1	(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	MOVD	R3, R8
	MOVD	R17, R11
	MOVD	R4, R9
	CBZ	R9, oreq
orow:
	MOVD.P	8(R8), R10
	ADD	R16, R10, R10`)
	for g := 0; g < groups; g++ {
		a.L("\tVLD1.P\t64(R11), [V0.B16, V1.B16, V2.B16, V3.B16]")
		a.L("\tVLD1.P\t(R10)(R13), [V4.B16, V5.B16, V6.B16, V7.B16]")
		for r := 0; r < 4; r++ {
			a.W("sdot v%d.4s, v%d.16b, v%d.16b", 16+r, 4+r, r)
		}
	}
	a.S(`	SUBS	$1, R9, R9
	BNE	orow
oreq:`)
	dwDotRequant(a, 1, "onosh")
	a.S(`	ADD	$64, R16, R16
	SUBS	$1, R2, R2
	BNE	one
done:
	RET`)
}

func dwconvDotFile() string {
	a := &Asm{}
	a.L(header)
	a.S(`
// Depthwise convolution with SDOT over the taps (ARMv8.2 dot product; only
// the dotprod tier calls these). See dwconv_dot_arm64.go.`)
	for _, s := range []int{1, 2} {
		dwDotRow(a, s)
	}
	for _, g := range []int{1, 2, 3} {
		for _, s := range []int{1, 2} {
			dwDotKernel(a, g, s)
		}
	}
	return a.String()
}
