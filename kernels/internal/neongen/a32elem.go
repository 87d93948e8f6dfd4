package neongen

import "fmt"

// The A32 elementwise kernels (elementwise_neon_arm.s): ChannelMul,
// global average pool, table lookup and residual add, with the arm64 neon
// tier's arithmetic (see kernels/NEON.md and the Go wrappers in
// kernels/elementwise_arm.go for the exactness arguments).

// chanMulA32 emits chanMul32N<n>: for every pixel, blocks of 16 then one
// of 8 channels (channels is a multiple of 8):
//
//	u = x - zX (VSUBL.S8), P = u*gs (VMULL.S16), VQDMULH M,
//	VQRSHRN #n, VQADD zOut (int16), VQMOVN (int8), VMAX qmin, VMIN qmax.
//
//	func chanMul32N<n>(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int,
//		gs *int16, zX, m, zOut, qmin, qmax int32)
func chanMulA32(a *Asm, n int) {
	name := fmt.Sprintf("chanMul32N%d", n)
	a.L("\n// func %s(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gs *int16, zX, m, zOut, qmin, qmax int32)", name)
	a.L("TEXT ·%s(SB), NOSPLIT, $0-48", name)
	a.L("\tMOVW\tzX+28(FP), R6")
	a.A("vdup.8 d30, r6")
	a.L("\tMOVW\tm+32(FP), R6")
	a.A("vdup.32 q14, r6")
	a.L("\tMOVW\tzOut+36(FP), R6")
	a.A("vdup.16 q13, r6")
	a.L("\tMOVW\tqmin+40(FP), R6")
	a.A("vdup.8 q11, r6")
	a.L("\tMOVW\tqmax+44(FP), R6")
	a.A("vdup.8 q10, r6")
	a.L("\tMOVW\tdst+0(FP), R0")
	a.L("\tMOVW\tdstStride+4(FP), R1")
	a.L("\tMOVW\tsrc+8(FP), R2")
	a.L("\tMOVW\tsrcStride+12(FP), R3")
	a.L("\tMOVW\tpixels+16(FP), R4")
	a.L("\tMOVW\tchannels+20(FP), R5")
	a.L("pix:")
	a.L("\tMOVW\tR2, R6")
	a.L("\tMOVW\tR0, R7")
	a.L("\tMOVW\tgs+24(FP), R8")
	a.L("\tMOVW\tR5>>4, R9")
	a.L("\tCMP\t$0, R9")
	a.L("\tBEQ\tc8")
	a.L("c16:")
	a.A("vld1.8 {d0, d1}, [r6]!")
	a.A("vld1.16 {d4, d5, d6, d7}, [r8]!")
	a.A("vsubl.s8 q4, d0, d30")
	a.A("vsubl.s8 q5, d1, d30")
	for i := range 4 {
		a.A("vmull.s16 q%d, d%d, d%d", 6+i, 8+i, 4+i)
	}
	for i := range 4 {
		a.A("vqdmulh.s32 q%d, q%d, q14", 6+i, 6+i)
	}
	for i := range 4 {
		a.A("vqrshrn.s32 d%d, q%d, #%d", i, 6+i, n)
	}
	a.A("vqadd.s16 q0, q0, q13")
	a.A("vqadd.s16 q1, q1, q13")
	a.A("vqmovn.s16 d0, q0")
	a.A("vqmovn.s16 d1, q1")
	a.A("vmax.s8 q0, q0, q11")
	a.A("vmin.s8 q0, q0, q10")
	a.A("vst1.8 {d0, d1}, [r7]!")
	a.L("\tSUB.S\t$1, R9")
	a.L("\tBNE\tc16")
	a.L("c8:")
	a.L("\tAND.S\t$8, R5, R9")
	a.L("\tBEQ\tnext")
	a.A("vld1.8 {d0}, [r6]")
	a.A("vld1.16 {d4, d5}, [r8]")
	a.A("vsubl.s8 q4, d0, d30")
	a.A("vmull.s16 q6, d8, d4")
	a.A("vmull.s16 q7, d9, d5")
	a.A("vqdmulh.s32 q6, q6, q14")
	a.A("vqdmulh.s32 q7, q7, q14")
	a.A("vqrshrn.s32 d0, q6, #%d", n)
	a.A("vqrshrn.s32 d1, q7, #%d", n)
	a.A("vqadd.s16 q0, q0, q13")
	a.A("vqmovn.s16 d0, q0")
	a.A("vmax.s8 d0, d0, d22")
	a.A("vmin.s8 d0, d0, d20")
	a.A("vst1.8 {d0}, [r7]")
	a.L("next:")
	a.L("\tADD\tR1, R0")
	a.L("\tADD\tR3, R2")
	a.L("\tSUB.S\t$1, R4")
	a.L("\tBNE\tpix")
	a.L("\tRET")
}

// poolA32 emits pool32: per block of 16 channels (the last one overlaps
// when channels%16 != 0; channels >= 16), the pixels summed in int16 (at
// most 256 at a time: 256*128 fits) and flushed into int32 sums that
// start at bias, then SQSHL l, SQDMULH M, SRSHL r, narrowing, zOut, clamp.
//
//	func pool32(dst, src *int8, pixels, channels, srcStride int, bias, m, l, r, zOut, qmin, qmax int32)
func poolA32(a *Asm) {
	a.L("\n// func pool32(dst, src *int8, pixels, channels, srcStride int, bias, m, l, r, zOut, qmin, qmax int32)")
	a.L("TEXT ·pool32(SB), NOSPLIT, $8-48")
	a.L("\tMOVW\tm+24(FP), R6")
	a.A("vdup.32 q8, r6")
	a.L("\tMOVW\tl+28(FP), R6")
	a.A("vdup.32 q9, r6")
	a.L("\tMOVW\tr+32(FP), R6")
	a.A("vdup.32 q10, r6")
	a.L("\tMOVW\tzOut+36(FP), R6")
	a.A("vdup.16 q11, r6")
	a.L("\tMOVW\tqmin+40(FP), R6")
	a.A("vdup.8 q12, r6")
	a.L("\tMOVW\tqmax+44(FP), R6")
	a.A("vdup.8 q13, r6")
	a.L("\tMOVW\tbias+20(FP), R6")
	a.A("vdup.32 q14, r6")
	a.L("\tMOVW\tdst+0(FP), R0")
	a.L("\tMOVW\tsrc+4(FP), R2")
	a.L("\tMOVW\tchannels+12(FP), R12")
	a.L("\tMOVW\tsrcStride+16(FP), R3")
	a.L("\tMOVW\t$0, R14")
	a.L("blk:")
	for i := range 4 {
		a.A("vorr q%d, q14, q14", i)
	}
	a.L("\tADD\tR14, R2, R6")
	a.L("\tMOVW\tpixels+8(FP), R4")
	a.L("chunk:")
	a.A("veor q4, q4, q4")
	a.A("veor q5, q5, q5")
	a.L("\tMOVW\tR4, R9")
	a.L("\tCMP\t$256, R9")
	a.L("\tMOVW.GT\t$256, R9")
	a.L("\tSUB\tR9, R4")
	a.L("inner:")
	a.A("vld1.8 {d12, d13}, [r6], r3")
	a.A("vaddw.s8 q4, q4, d12")
	a.A("vaddw.s8 q5, q5, d13")
	a.L("\tSUB.S\t$1, R9")
	a.L("\tBNE\tinner")
	a.A("vaddw.s16 q0, q0, d8")
	a.A("vaddw.s16 q1, q1, d9")
	a.A("vaddw.s16 q2, q2, d10")
	a.A("vaddw.s16 q3, q3, d11")
	a.L("\tCMP\t$0, R4")
	a.L("\tBNE\tchunk")
	for i := range 4 {
		a.A("vqshl.s32 q%d, q%d, q9", i, i)
	}
	for i := range 4 {
		a.A("vqdmulh.s32 q%d, q%d, q8", i, i)
	}
	for i := range 4 {
		a.A("vrshl.s32 q%d, q%d, q10", i, i)
	}
	for i := range 4 {
		a.A("vqmovn.s32 d%d, q%d", i, i)
	}
	a.A("vqadd.s16 q0, q0, q11")
	a.A("vqadd.s16 q1, q1, q11")
	a.A("vqmovn.s16 d0, q0")
	a.A("vqmovn.s16 d1, q1")
	a.A("vmax.s8 q0, q0, q12")
	a.A("vmin.s8 q0, q0, q13")
	a.L("\tADD\tR14, R0, R7")
	a.A("vst1.8 {d0, d1}, [r7]")
	a.L("\tADD\t$16, R14")
	a.L("\tCMP\tR12, R14")
	a.L("\tBGE\tdone")
	a.L("\tSUB\t$16, R12, R7")
	a.L("\tCMP\tR7, R14")
	a.L("\tMOVW.GT\tR7, R14")
	a.L("\tB\tblk")
	a.L("done:")
	a.L("\tRET")
}

// lookupA32 emits lookup32: 32 bytes per iteration, the 256-byte table in
// eight 32-byte slices: VTBL with the first, then per slice the indices
// minus 32 (an index of another slice is then >= 32 as a byte, which VTBX
// leaves alone) and VTBX.
//
//	func lookup32(dst, src *int8, blocks int, table *[256]int8)
func lookupA32(a *Asm) {
	a.L("\n// func lookup32(dst, src *int8, blocks int, table *[256]int8)")
	a.L("TEXT ·lookup32(SB), NOSPLIT, $0-16")
	a.L("\tMOVW\tdst+0(FP), R0")
	a.L("\tMOVW\tsrc+4(FP), R1")
	a.L("\tMOVW\tblocks+8(FP), R2")
	a.L("\tMOVW\ttable+12(FP), R3")
	a.A("vmov.i8 q15, #0x20")
	a.L("loop:")
	a.A("vld1.8 {d0, d1, d2, d3}, [r1]!")
	a.L("\tMOVW\tR3, R6")
	a.A("vld1.8 {d16, d17, d18, d19}, [r6]!")
	for i := range 4 {
		a.A("vtbl.8 d%d, {d16, d17, d18, d19}, d%d", 4+i, i)
	}
	for s := 1; s < 8; s++ {
		a.A("vsub.i8 q0, q0, q15")
		a.A("vsub.i8 q1, q1, q15")
		if s < 7 {
			a.A("vld1.8 {d16, d17, d18, d19}, [r6]!")
		} else {
			a.A("vld1.8 {d16, d17, d18, d19}, [r6]")
		}
		for i := range 4 {
			a.A("vtbx.8 d%d, {d16, d17, d18, d19}, d%d", 4+i, i)
		}
	}
	a.A("vst1.8 {d4, d5, d6, d7}, [r0]!")
	a.L("\tSUB.S\t$1, R2")
	a.L("\tBNE\tloop")
	a.L("\tRET")
}

// addA32 emits add32: 16 elements per iteration,
//
//	(a-ZA)*MA + (b-ZB)*MB   VSUBL.S8, VMULL.S16, VMLAL.S16 (exact int32)
//	rounding shift by -Shift (VRSHL), VQMOVN, VQADD zOut, VQMOVN, clamp.
//
//	func add32(dst, a, b *int8, blocks int, za, zb, ma, mb, negShift, zOut, qmin, qmax int32)
func addA32(a *Asm) {
	a.L("\n// func add32(dst, a, b *int8, blocks int, za, zb, ma, mb, negShift, zOut, qmin, qmax int32)")
	a.L("TEXT ·add32(SB), NOSPLIT, $0-48")
	for _, c := range []struct {
		arg, op string
	}{{"za+16(FP)", "vdup.8 d28, r6"}, {"zb+20(FP)", "vdup.8 d29, r6"}, {"ma+24(FP)", "vdup.16 d20, r6"},
		{"mb+28(FP)", "vdup.16 d21, r6"}, {"negShift+32(FP)", "vdup.32 q12, r6"}, {"zOut+36(FP)", "vdup.16 q13, r6"},
		{"qmin+40(FP)", "vdup.8 q11, r6"}, {"qmax+44(FP)", "vdup.8 q15, r6"}} {
		a.L("\tMOVW\t%s, R6", c.arg)
		a.A("%s", c.op)
	}
	a.L("\tMOVW\tdst+0(FP), R0")
	a.L("\tMOVW\ta+4(FP), R1")
	a.L("\tMOVW\tb+8(FP), R2")
	a.L("\tMOVW\tblocks+12(FP), R3")
	a.L("loop:")
	a.A("vld1.8 {d0, d1}, [r1]!")
	a.A("vld1.8 {d2, d3}, [r2]!")
	a.A("vsubl.s8 q2, d0, d28")
	a.A("vsubl.s8 q3, d1, d28")
	a.A("vsubl.s8 q4, d2, d29")
	a.A("vsubl.s8 q5, d3, d29")
	for i := range 4 {
		a.A("vmull.s16 q%d, d%d, d20", 6+i, 4+i)
	}
	for i := range 4 {
		a.A("vmlal.s16 q%d, d%d, d21", 6+i, 8+i)
	}
	for i := range 4 {
		a.A("vrshl.s32 q%d, q%d, q12", 6+i, 6+i)
	}
	for i := range 4 {
		a.A("vqmovn.s32 d%d, q%d", i, 6+i)
	}
	a.A("vqadd.s16 q0, q0, q13")
	a.A("vqadd.s16 q1, q1, q13")
	a.A("vqmovn.s16 d0, q0")
	a.A("vqmovn.s16 d1, q1")
	a.A("vmax.s8 q0, q0, q11")
	a.A("vmin.s8 q0, q0, q15")
	a.A("vst1.8 {d0, d1}, [r0]!")
	a.L("\tSUB.S\t$1, R3")
	a.L("\tBNE\tloop")
	a.L("\tRET")
}

func elementwiseA32File() string {
	a := &Asm{}
	a.L(headerA32)
	chanMulA32(a, 8)
	chanMulA32(a, 16)
	poolA32(a)
	lookupA32(a)
	addA32(a)
	return a.String()
}
