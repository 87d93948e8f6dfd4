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
// over four 64-byte quarters of the table.
TEXT ·lookupNeon(SB), NOSPLIT, $0-32
	MOVD	dst+0(FP), R0
	MOVD	src+8(FP), R1
	MOVD	blocks+16(FP), R2
	MOVD	table+24(FP), R3
	VLD1.P	64(R3), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1.P	64(R3), [V20.B16, V21.B16, V22.B16, V23.B16]
	VLD1.P	64(R3), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1	(R3), [V28.B16, V29.B16, V30.B16, V31.B16]
	VMOVI	$64, V2.B16
	CBZ	R2, done
loop:
	VLD1.P	16(R1), [V0.B16]
	VTBL	V0.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V1.B16
	VSUB	V2.B16, V0.B16, V0.B16
	VTBX	V0.B16, [V20.B16, V21.B16, V22.B16, V23.B16], V1.B16
	VSUB	V2.B16, V0.B16, V0.B16
	VTBX	V0.B16, [V24.B16, V25.B16, V26.B16, V27.B16], V1.B16
	VSUB	V2.B16, V0.B16, V0.B16
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

	// Pool
	a.L(`
// func poolNeon(dst, src *int8, pixels, channels, srcStride int, bias, m, l, r, zOut, qmin, qmax int32)
// channels >= 16, in blocks of 16 (the last overlaps). Per block, pixels
// are summed in int16 (SADDW, at most 256 at a time), then widened into
// int32 (SADDW).
TEXT ·poolNeon(SB), NOSPLIT, $0-68
	MOVD	dst+0(FP), R0
	MOVD	src+8(FP), R1
	MOVD	pixels+16(FP), R2
	MOVD	channels+24(FP), R3
	MOVD	srcStride+32(FP), R4
	MOVW	bias+40(FP), R7
	VDUP	R7, V21.S4
	MOVW	m+44(FP), R7
	VDUP	R7, V22.S4
	MOVW	l+48(FP), R12
	VDUP	R12, V23.S4
	MOVW	r+52(FP), R7
	VDUP	R7, V24.S4
	MOVW	zOut+56(FP), R7
	VDUP	R7, V25.H8
	MOVW	qmin+60(FP), R7
	VDUP	R7, V26.B16
	MOVW	qmax+64(FP), R7
	VDUP	R7, V27.B16
	MOVD	ZR, R5 // c0
blk:
	SUB	$16, R3, R6
	CMP	R6, R5
	CSEL	LT, R5, R6, R6 // cb = min(c0, channels-16)
	ADD	R6, R1, R8 // src cursor
	VORR	V21.B16, V21.B16, V0.B16
	VORR	V21.B16, V21.B16, V1.B16
	VORR	V21.B16, V21.B16, V2.B16
	VORR	V21.B16, V21.B16, V3.B16
	MOVD	R2, R9 // pixels left
chunk:
	MOVD	$256, R10
	CMP	R10, R9
	CSEL	LT, R9, R10, R10 // min(left, 256)
	SUB	R10, R9, R9
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
inner:
	VLD1	(R8), [V4.B16]
	ADD	R4, R8, R8`)
	a.W("saddw v16.8h, v16.8h, v4.8b")
	a.W("saddw2 v17.8h, v17.8h, v4.16b")
	a.L(`	SUBS	$1, R10, R10
	BNE	inner`)
	a.W("saddw v0.4s, v0.4s, v16.4h")
	a.W("saddw2 v1.4s, v1.4s, v16.8h")
	a.W("saddw v2.4s, v2.4s, v17.4h")
	a.W("saddw2 v3.4s, v3.4s, v17.8h")
	a.L(`	CBNZ	R9, chunk`)
	requant4(a, []int{0, 1, 2, 3}, 22, 23, 24, "R12", "nosh")
	narrow16(a, []int{0, 1, 2, 3}, 6, 7, 25, 26, 27)
	a.L(`	ADD	R6, R0, R11
	VST1	[V6.B16], (R11)
	ADD	$16, R5, R5
	CMP	R3, R5
	BLT	blk
	RET
`)
	return a.String()
}
