package neongen

// requant4 applies SQSHL l (skipped when the scalar shift in lreg is 0),
// SQDMULH m and SRSHL r to regs; zOut is added by narrow16.
func requant4(a *Asm, regs []int, m, l, r int, lreg, skip string) {
	a.L("\tCBZ\t%s, %s", lreg, skip)
	for _, v := range regs {
		a.W("sqshl v%d.4s, v%d.4s, v%d.4s", v, v, l)
	}
	a.L("%s:", skip)
	for _, v := range regs {
		a.W("sqdmulh v%d.4s, v%d.4s, v%d.4s", v, v, m)
	}
	for _, v := range regs {
		a.W("srshl v%d.4s, v%d.4s, v%d.4s", v, v, r)
	}
}

// narrow16 narrows 4 int32x4 registers r to t0.16b, adding zOut (int16
// lanes of z) on the way, clamped.
func narrow16(a *Asm, r []int, t0, t1, z, qmin, qmax int) {
	a.W("sqxtn v%d.4h, v%d.4s", t0, r[0])
	a.W("sqxtn2 v%d.8h, v%d.4s", t0, r[1])
	a.W("sqxtn v%d.4h, v%d.4s", t1, r[2])
	a.W("sqxtn2 v%d.8h, v%d.4s", t1, r[3])
	a.W("sqadd v%d.8h, v%d.8h, v%d.8h", t0, t0, z)
	a.W("sqadd v%d.8h, v%d.8h, v%d.8h", t1, t1, z)
	a.W("sqxtn v%d.8b, v%d.8h", t0, t0)
	a.W("sqxtn2 v%d.16b, v%d.8h", t0, t1)
	a.W("smax v%d.16b, v%d.16b, v%d.16b", t0, t0, qmin)
	a.W("smin v%d.16b, v%d.16b, v%d.16b", t0, t0, qmax)
}

func elementwiseFile() string {
	a := &Asm{}
	a.L(header)

	// Lookup
	a.L(`
// func lookupNeon(dst, src *int8, blocks int, table *[256]int8)
// dst[i] = table[uint8(src[i])] for i < 16*blocks: one TBL and three TBX
// over four 64-byte quarters of the table (index - 64 between them), 64
// bytes per iteration sharing the table registers, then 16.
TEXT ·lookupNeon(SB), NOSPLIT, $0-32
	MOVD	dst+0(FP), R0
	MOVD	src+8(FP), R1
	MOVD	blocks+16(FP), R2
	MOVD	table+24(FP), R3
	VLD1.P	64(R3), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1.P	64(R3), [V20.B16, V21.B16, V22.B16, V23.B16]
	VLD1.P	64(R3), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1	(R3), [V28.B16, V29.B16, V30.B16, V31.B16]
	VMOVI	$64, V8.B16
	LSR	$2, R2, R4
	CBZ	R4, tail
loop64:
	VLD1.P	64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]`)
	quarters := []string{"V16.B16, V17.B16, V18.B16, V19.B16", "V20.B16, V21.B16, V22.B16, V23.B16",
		"V24.B16, V25.B16, V26.B16, V27.B16", "V28.B16, V29.B16, V30.B16, V31.B16"}
	for q, regs := range quarters {
		op := "VTBX"
		if q == 0 {
			op = "VTBL"
		}
		for i := range 4 {
			a.L("\t%s\tV%d.B16, [%s], V%d.B16", op, i, regs, 4+i)
		}
		if q < 3 {
			for i := range 4 {
				a.L("\tVSUB\tV8.B16, V%d.B16, V%d.B16", i, i)
			}
		}
	}
	a.L(`	VST1.P	[V4.B16, V5.B16, V6.B16, V7.B16], 64(R0)
	SUBS	$1, R4, R4
	BNE	loop64
tail:
	ANDS	$3, R2, R2
	BEQ	done
loop:
	VLD1.P	16(R1), [V0.B16]
	VTBL	V0.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V1.B16
	VSUB	V8.B16, V0.B16, V0.B16
	VTBX	V0.B16, [V20.B16, V21.B16, V22.B16, V23.B16], V1.B16
	VSUB	V8.B16, V0.B16, V0.B16
	VTBX	V0.B16, [V24.B16, V25.B16, V26.B16, V27.B16], V1.B16
	VSUB	V8.B16, V0.B16, V0.B16
	VTBX	V0.B16, [V28.B16, V29.B16, V30.B16, V31.B16], V1.B16
	VST1.P	[V1.B16], 16(R0)
	SUBS	$1, R2, R2
	BNE	loop
done:
	RET
`)

	// Add
	a.L(`
// func addNeon(dst, a, b *int8, blocks int, za, zb, ma, mb, negShift, zOut, qmin, qmax int32)
// 16 elements per block: (a-za)*ma + (b-zb)*mb by SSUBL + SMULL/SMLAL,
// then SRSHL by -Shift (round half up), + zOut, narrow, clamp.
TEXT ·addNeon(SB), NOSPLIT, $0-64
	MOVD	dst+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2
	MOVD	blocks+24(FP), R3
	MOVW	za+32(FP), R4
	VDUP	R4, V20.B16
	MOVW	zb+36(FP), R4
	VDUP	R4, V21.B16
	MOVW	ma+40(FP), R4
	VDUP	R4, V22.H8
	MOVW	mb+44(FP), R4
	VDUP	R4, V23.H8
	MOVW	negShift+48(FP), R4
	VDUP	R4, V24.S4
	MOVW	zOut+52(FP), R4
	VDUP	R4, V25.H8
	MOVW	qmin+56(FP), R4
	VDUP	R4, V26.B16
	MOVW	qmax+60(FP), R4
	VDUP	R4, V27.B16
	CBZ	R3, done
loop:
	VLD1.P	16(R1), [V0.B16]
	VLD1.P	16(R2), [V1.B16]`)
	a.W("ssubl v2.8h, v0.8b, v20.8b")
	a.W("ssubl2 v3.8h, v0.16b, v20.16b")
	a.W("ssubl v4.8h, v1.8b, v21.8b")
	a.W("ssubl2 v5.8h, v1.16b, v21.16b")
	a.W("smull v16.4s, v2.4h, v22.4h")
	a.W("smull2 v17.4s, v2.8h, v22.8h")
	a.W("smull v18.4s, v3.4h, v22.4h")
	a.W("smull2 v19.4s, v3.8h, v22.8h")
	a.W("smlal v16.4s, v4.4h, v23.4h")
	a.W("smlal2 v17.4s, v4.8h, v23.8h")
	a.W("smlal v18.4s, v5.4h, v23.4h")
	a.W("smlal2 v19.4s, v5.8h, v23.8h")
	for _, v := range []int{16, 17, 18, 19} {
		a.W("srshl v%d.4s, v%d.4s, v24.4s", v, v)
	}
	narrow16(a, []int{16, 17, 18, 19}, 6, 7, 25, 26, 27)
	a.L(`	VST1.P	[V6.B16], 16(R0)
	SUBS	$1, R3, R3
	BNE	loop
done:
	RET
`)

	// ChannelMul
	a.L(`
// func channelMulNeon(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gate *int8, zX, zG, m, l, r, zOut, qmin, qmax int32)
// channels is a multiple of 8: blocks of 16, then one of 8.
// (x-zX)*(g-zG) by SSUBL + SMULL, requantized by SQSHL l, SQDMULH m, SRSHL r.
TEXT ·channelMulNeon(SB), NOSPLIT, $0-88
	MOVD	dst+0(FP), R0
	MOVD	dstStride+8(FP), R1
	MOVD	src+16(FP), R2
	MOVD	srcStride+24(FP), R3
	MOVD	pixels+32(FP), R4
	MOVD	channels+40(FP), R5
	MOVD	gate+48(FP), R6
	MOVW	zX+56(FP), R7
	VDUP	R7, V20.B16
	MOVW	zG+60(FP), R7
	VDUP	R7, V21.B16
	MOVW	m+64(FP), R7
	VDUP	R7, V22.S4
	MOVW	l+68(FP), R12
	VDUP	R12, V23.S4
	MOVW	r+72(FP), R7
	VDUP	R7, V24.S4
	MOVW	zOut+76(FP), R7
	VDUP	R7, V25.H8
	MOVW	qmin+80(FP), R7
	VDUP	R7, V26.B16
	MOVW	qmax+84(FP), R7
	VDUP	R7, V27.B16
	CBZ	R4, done
pix:
	MOVD	R2, R8
	MOVD	R0, R9
	MOVD	R6, R10
	LSR	$4, R5, R11
	CBZ	R11, c8
c16:
	VLD1.P	16(R8), [V0.B16]
	VLD1.P	16(R10), [V1.B16]`)
	a.W("ssubl v2.8h, v0.8b, v20.8b")
	a.W("ssubl2 v3.8h, v0.16b, v20.16b")
	a.W("ssubl v4.8h, v1.8b, v21.8b")
	a.W("ssubl2 v5.8h, v1.16b, v21.16b")
	a.W("smull v16.4s, v2.4h, v4.4h")
	a.W("smull2 v17.4s, v2.8h, v4.8h")
	a.W("smull v18.4s, v3.4h, v5.4h")
	a.W("smull2 v19.4s, v3.8h, v5.8h")
	requant4(a, []int{16, 17, 18, 19}, 22, 23, 24, "R12", "nosh16")
	narrow16(a, []int{16, 17, 18, 19}, 6, 7, 25, 26, 27)
	a.L(`	VST1.P	[V6.B16], 16(R9)
	SUBS	$1, R11, R11
	BNE	c16
c8:
	TBZ	$3, R5, next
	VLD1	(R8), [V0.B8]
	VLD1	(R10), [V1.B8]`)
	a.W("ssubl v2.8h, v0.8b, v20.8b")
	a.W("ssubl v4.8h, v1.8b, v21.8b")
	a.W("smull v16.4s, v2.4h, v4.4h")
	a.W("smull2 v17.4s, v2.8h, v4.8h")
	requant4(a, []int{16, 17}, 22, 23, 24, "R12", "nosh8")
	a.W("sqxtn v6.4h, v16.4s")
	a.W("sqxtn2 v6.8h, v17.4s")
	a.W("sqadd v6.8h, v6.8h, v25.8h")
	a.W("sqxtn v6.8b, v6.8h")
	a.W("smax v6.8b, v6.8b, v26.8b")
	a.W("smin v6.8b, v6.8b, v27.8b")
	a.L(`	VST1	[V6.B8], (R9)
next:
	ADD	R3, R2, R2
	ADD	R1, R0, R0
	SUBS	$1, R4, R4
	BNE	pix
done:
	RET
`)

	chanMulFolded(a)
	addScaled(a)

	// Pool
	a.L(`
// func poolNeon(dst, src *int8, pixels, channels, srcStride int, bias, m, l, r, zOut, qmin, qmax int32)
// channels >= 16: blocks of 64 channels (one 64-byte load per pixel), then
// of 16 (the last overlaps). Per block, pixels are summed in int16 (SADDW,
// at most 256 at a time), then widened into int32 (SADDW), requantized.
// The requantization constants are set in vector registers per block (the
// 64-channel sums need 24 of them).
TEXT ·poolNeon(SB), NOSPLIT, $0-68
	MOVD	dst+0(FP), R0
	MOVD	src+8(FP), R1
	MOVD	pixels+16(FP), R2
	MOVD	channels+24(FP), R3
	MOVD	srcStride+32(FP), R4
	MOVW	bias+40(FP), R7
	MOVW	m+44(FP), R13
	MOVW	l+48(FP), R12
	MOVW	r+52(FP), R14
	MOVW	zOut+56(FP), R15
	MOVW	qmin+60(FP), R19
	MOVW	qmax+64(FP), R20
	MOVD	ZR, R5 // c0
	SUB	$64, R3, R6 // last start of a 64-channel block
b64:
	CMP	R6, R5
	BGT	b16start
	ADD	R5, R1, R8 // src cursor`)
	for i := range 16 {
		a.L("\tVDUP\tR7, V%d.S4", i)
	}
	a.L(`	MOVD	R2, R9 // pixels left
c64:
	MOVD	$256, R10
	CMP	R10, R9
	CSEL	LT, R9, R10, R10 // min(left, 256)
	SUB	R10, R9, R9`)
	for i := 16; i < 24; i++ {
		a.L("\tVEOR\tV%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	a.L(`i64:
	VLD1.P	(R8)(R4), [V24.B16, V25.B16, V26.B16, V27.B16]`)
	for i := range 4 {
		a.W("saddw v%d.8h, v%d.8h, v%d.8b", 16+2*i, 16+2*i, 24+i)
		a.W("saddw2 v%d.8h, v%d.8h, v%d.16b", 17+2*i, 17+2*i, 24+i)
	}
	a.L(`	SUBS	$1, R10, R10
	BNE	i64`)
	for i := range 8 {
		a.W("saddw v%d.4s, v%d.4s, v%d.4h", 2*i, 2*i, 16+i)
		a.W("saddw2 v%d.4s, v%d.4s, v%d.8h", 2*i+1, 2*i+1, 16+i)
	}
	a.L(`	CBNZ	R9, c64
	VDUP	R13, V24.S4
	VDUP	R12, V25.S4
	VDUP	R14, V26.S4
	VDUP	R15, V27.H8
	VDUP	R19, V28.B16
	VDUP	R20, V29.B16`)
	acc := make([]int, 16)
	for i := range acc {
		acc[i] = i
	}
	requant4(a, acc, 24, 25, 26, "R12", "nosh64")
	for i := range 4 {
		narrow16(a, acc[4*i:4*i+4], 16+i, 20+i, 27, 28, 29)
	}
	a.L(`	ADD	R5, R0, R11
	VST1	[V16.B16, V17.B16, V18.B16, V19.B16], (R11)
	ADD	$64, R5, R5
	B	b64
b16start:
	CMP	R3, R5
	BGE	done
blk:
	SUB	$16, R3, R6
	CMP	R6, R5
	CSEL	LT, R5, R6, R6 // cb = min(c0, channels-16)
	ADD	R6, R1, R8 // src cursor
	VDUP	R7, V0.S4
	VDUP	R7, V1.S4
	VDUP	R7, V2.S4
	VDUP	R7, V3.S4
	MOVD	R2, R9 // pixels left
chunk:
	MOVD	$256, R10
	CMP	R10, R9
	CSEL	LT, R9, R10, R10 // min(left, 256)
	SUB	R10, R9, R9
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
inner:
	VLD1.P	(R8)(R4), [V4.B16]`)
	a.W("saddw v16.8h, v16.8h, v4.8b")
	a.W("saddw2 v17.8h, v17.8h, v4.16b")
	a.L(`	SUBS	$1, R10, R10
	BNE	inner`)
	a.W("saddw v0.4s, v0.4s, v16.4h")
	a.W("saddw2 v1.4s, v1.4s, v16.8h")
	a.W("saddw v2.4s, v2.4s, v17.4h")
	a.W("saddw2 v3.4s, v3.4s, v17.8h")
	a.L(`	CBNZ	R9, chunk
	VDUP	R13, V24.S4
	VDUP	R12, V25.S4
	VDUP	R14, V26.S4
	VDUP	R15, V27.H8
	VDUP	R19, V28.B16
	VDUP	R20, V29.B16`)
	requant4(a, []int{0, 1, 2, 3}, 24, 25, 26, "R12", "nosh")
	narrow16(a, []int{0, 1, 2, 3}, 6, 7, 27, 28, 29)
	a.L(`	ADD	R6, R0, R11
	VST1	[V6.B16], (R11)
	ADD	$16, R5, R5
	CMP	R3, R5
	BLT	blk
done:
	RET
`)
	return a.String()
}

// chanMulFolded emits chanMulNeon, the ChannelMul kernel for
// 1 <= Shift <= 16 (see channelMulQS8Neon for the arithmetic): the gates
// come in as gs = (gate - zG) * 2^c (int16, computed once per call), so a
// step of 8 channels is SSUBL (u = x - zX), 2 SMULL (u*gs), 2 SQDMULH by M,
// 2 SQRSHRN by n (8 or 16, an immediate: one loop per n), SQADD zOut,
// SQXTN; 32 channels per iteration, then 16, then 8. Four loops: n = 8 or
// 16, with or without the SMAX/SMIN clamp (mode bit 0: n = 16, bit 1:
// clamp).
func chanMulFolded(a *Asm) {
	a.L(`
// func chanMulNeon(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gs *int16, zX, m, zOut, qmin, qmax int32, mode int)
// channels is a multiple of 8; gs[c] = (gate[c]-zG) << (n-Shift).
TEXT ·chanMulNeon(SB), NOSPLIT, $0-88
	MOVD	dst+0(FP), R0
	MOVD	dstStride+8(FP), R1
	MOVD	src+16(FP), R2
	MOVD	srcStride+24(FP), R3
	MOVD	pixels+32(FP), R4
	MOVD	channels+40(FP), R5
	MOVD	gs+48(FP), R6
	MOVW	zX+56(FP), R7
	VDUP	R7, V20.B16
	MOVW	m+60(FP), R7
	VDUP	R7, V22.S4
	MOVW	zOut+64(FP), R7
	VDUP	R7, V25.H8
	MOVW	qmin+68(FP), R7
	VDUP	R7, V26.B16
	MOVW	qmax+72(FP), R7
	VDUP	R7, V27.B16
	MOVD	mode+80(FP), R7
	CBZ	R4, done
	TBNZ	$0, R7, hi
	TBNZ	$1, R7, n8c
	B	n8
hi:
	TBNZ	$1, R7, n16c
	B	n16`)
	for _, v := range []struct {
		name  string
		n     int
		clamp bool
	}{{"n8", 8, false}, {"n8c", 8, true}, {"n16", 16, false}, {"n16c", 16, true}} {
		p := v.name
		a.L(`%s:
	MOVD	R2, R8
	MOVD	R0, R9
	MOVD	R6, R10
	LSR	$5, R5, R11
	CBZ	R11, %s_16
%s_32:`, p, p, p)
		chanMulStep(a, 32, v.n, v.clamp)
		a.L(`	SUBS	$1, R11, R11
	BNE	%s_32
%s_16:
	TBZ	$4, R5, %s_8`, p, p, p)
		chanMulStep(a, 16, v.n, v.clamp)
		a.L(`%s_8:
	TBZ	$3, R5, %s_next`, p, p)
		chanMulStep(a, 8, v.n, v.clamp)
		a.L(`%s_next:
	ADD	R3, R2, R2
	ADD	R1, R0, R0
	SUBS	$1, R4, R4
	BNE	%s
	RET`, p, p)
	}
	a.L(`done:
	RET
`)
}

// chanMulStep emits chs (32, 16 or 8) channels of chanMulNeon: x from R8,
// gs from R10, output to R9 (all post-incremented except for chs = 8).
func chanMulStep(a *Asm, chs, n int, clamp bool) {
	switch chs {
	case 32:
		a.L("\tVLD1.P\t32(R8), [V0.B16, V1.B16]")
		a.L("\tVLD1.P\t64(R10), [V16.B16, V17.B16, V18.B16, V19.B16]")
	case 16:
		a.L("\tVLD1.P\t16(R8), [V0.B16]")
		a.L("\tVLD1.P\t32(R10), [V16.B16, V17.B16]")
	case 8:
		a.L("\tVLD1\t(R8), [V0.B8]")
		a.L("\tVLD1\t(R10), [V16.B16]")
	}
	nh := chs / 8 // int16 vectors of u: v2.. (products v6..)
	for i := range nh {
		if i%2 == 0 {
			a.W("ssubl v%d.8h, v%d.8b, v20.8b", 2+i, i/2)
		} else {
			a.W("ssubl2 v%d.8h, v%d.16b, v20.16b", 2+i, i/2)
		}
	}
	for i := range nh {
		a.W("smull v%d.4s, v%d.4h, v%d.4h", 6+2*i, 2+i, 16+i)
		a.W("smull2 v%d.4s, v%d.8h, v%d.8h", 7+2*i, 2+i, 16+i)
	}
	for i := range 2 * nh {
		a.W("sqdmulh v%d.4s, v%d.4s, v22.4s", 6+i, 6+i)
	}
	// (each narrowing over the vectors before the next: no back-to-back
	// writes of one register's halves, for an in-order core)
	for i := range nh {
		a.W("sqrshrn v%d.4h, v%d.4s, #%d", 2+i, 6+2*i, n)
	}
	for i := range nh {
		a.W("sqrshrn2 v%d.8h, v%d.4s, #%d", 2+i, 7+2*i, n)
	}
	for i := range nh {
		a.W("sqadd v%d.8h, v%d.8h, v25.8h", 2+i, 2+i)
	}
	for i := 0; i < nh; i += 2 {
		a.W("sqxtn v%d.8b, v%d.8h", i/2, 2+i)
	}
	for i := 1; i < nh; i += 2 {
		a.W("sqxtn2 v%d.16b, v%d.8h", i/2, 2+i)
	}
	arr := "16b"
	if chs == 8 {
		arr = "8b"
	}
	if clamp {
		for i := range (nh + 1) / 2 {
			a.W("smax v%d.%s, v%d.%s, v26.%s", i, arr, i, arr, arr)
			a.W("smin v%d.%s, v%d.%s, v27.%s", i, arr, i, arr, arr)
		}
	}
	switch chs {
	case 32:
		a.L("\tVST1.P\t[V0.B16, V1.B16], 32(R9)")
	case 16:
		a.L("\tVST1.P\t[V0.B16], 16(R9)")
	case 8:
		a.L("\tVST1\t[V0.B8], (R9)")
	}
}

// addScaled emits addNeonK, the Add kernel for 9 <= Shift <= 16 (see
// addQS8Neon for the arithmetic): SSHLL by k = 16-Shift (an immediate: one
// loop per k, chosen by a compare chain), SMULL by MA, SMLAL by MB,
// RADDHN with the constant C (zero points, zOut), SQXTN; the clamp is
// skipped by a branch when [qmin, qmax] is all of int8. 32 elements per
// iteration, then 16.
func addScaled(a *Asm) {
	a.L(`
// func addNeonK(dst, a, b *int8, blocks int, ma, mb, cst, qmin, qmax int32, k, clamp int)
TEXT ·addNeonK(SB), NOSPLIT, $0-72
	MOVD	dst+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2
	MOVD	blocks+24(FP), R3
	MOVW	ma+32(FP), R4
	VDUP	R4, V22.H8
	MOVW	mb+36(FP), R4
	VDUP	R4, V23.H8
	MOVW	cst+40(FP), R4
	VDUP	R4, V24.S4
	MOVW	qmin+44(FP), R4
	VDUP	R4, V26.B16
	MOVW	qmax+48(FP), R4
	VDUP	R4, V27.B16
	MOVD	k+56(FP), R5
	MOVD	clamp+64(FP), R6
	LSR	$1, R3, R4`)
	for k := range 8 {
		a.L("\tCMP\t$%d, R5\n\tBEQ\tk%d", k, k)
	}
	a.L("\tRET")
	for k := range 8 {
		a.L(`k%d:
	CBZ	R4, k%d_16
k%d_32:
	VLD1.P	32(R1), [V0.B16, V1.B16]
	VLD1.P	32(R2), [V2.B16, V3.B16]`, k, k, k)
		addStep(a, 2, k)
		a.L(`	CBZ	R6, k%d_st32`, k)
		for i := range 2 {
			a.W("smax v%d.16b, v%d.16b, v26.16b", i, i)
			a.W("smin v%d.16b, v%d.16b, v27.16b", i, i)
		}
		a.L(`k%d_st32:
	VST1.P	[V0.B16, V1.B16], 32(R0)
	SUBS	$1, R4, R4
	BNE	k%d_32
k%d_16:
	TBZ	$0, R3, k%d_done
	VLD1	(R1), [V0.B16]
	VLD1	(R2), [V2.B16]`, k, k, k, k)
		addStep(a, 1, k)
		a.W("smax v0.16b, v0.16b, v26.16b")
		a.W("smin v0.16b, v0.16b, v27.16b")
		a.L(`	VST1	[V0.B16], (R0)
k%d_done:
	RET`, k)
	}
}

// addStep emits the arithmetic of addNeonK for nv (1 or 2) vectors of 16
// elements: a in V0 (V1), b in V2 (V3), the result in V0 (V1).
func addStep(a *Asm, nv, k int) {
	ext := func(d, s int, hi bool) {
		switch {
		case k == 0 && !hi:
			a.W("sxtl v%d.8h, v%d.8b", d, s)
		case k == 0:
			a.W("sxtl2 v%d.8h, v%d.16b", d, s)
		case !hi:
			a.W("sshll v%d.8h, v%d.8b, #%d", d, s, k)
		default:
			a.W("sshll2 v%d.8h, v%d.16b, #%d", d, s, k)
		}
	}
	for i := range nv {
		ext(4+2*i, i, false)
		ext(5+2*i, i, true)
		ext(8+2*i, 2+i, false)
		ext(9+2*i, 2+i, true)
	}
	for i := range 2 * nv { // a*2^k: v4.., products v12..
		a.W("smull v%d.4s, v%d.4h, v22.4h", 12+2*i, 4+i)
		a.W("smull2 v%d.4s, v%d.8h, v22.8h", 13+2*i, 4+i)
	}
	for i := range 2 * nv {
		a.W("smlal v%d.4s, v%d.4h, v23.4h", 12+2*i, 8+i)
		a.W("smlal2 v%d.4s, v%d.8h, v23.8h", 13+2*i, 8+i)
	}
	for i := range 2 * nv {
		a.W("raddhn v%d.4h, v%d.4s, v24.4s", 4+i, 12+2*i)
		a.W("raddhn2 v%d.8h, v%d.4s, v24.4s", 4+i, 13+2*i)
	}
	for i := range nv {
		a.W("sqxtn v%d.8b, v%d.8h", i, 4+2*i)
		a.W("sqxtn2 v%d.16b, v%d.8h", i, 5+2*i)
	}
}
