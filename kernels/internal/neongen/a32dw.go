package neongen

import "fmt"

// The A32 depthwise kernels (dwconv_neon_arm.s): one pixel x 16 channels
// at a time (accumulators q0-q3), taps in pairs: VMULL.S8 + VMLAL.S8 of two
// taps into int16 (two products < 2^15), then four VADDW.S16 into the
// int32 sums (the arm64 neon tier's arithmetic). Every K×K tap is
// unrolled; K is 3, 5, 7, 9 or 11.
//
//	func dw32K<K>R(dst *int8, outStride, n int, rows *dwRow32, w *int8, c int, bias, rqt *int32, zq *int8)
//	func dw32K<K>T(dst *int8, outStride, n int, taps **int8, w *int8, c int, bias, rqt *int32, zq *int8)
//
// R kernels take a run of n pixels whose taps lie in image columns: row
// ky of pixel i starts at rows[ky].p + i*rows[ky].inc, its taps kxs bytes
// apart (a row in the padding: p = a row of zIn, inc = kxs = 0). T
// kernels take n pixels with a pointer per tap (K*K a pixel; padding
// taps point at the row of zIn). Channel block cb (16 channels; the last
// one overlaps the previous when c%16 != 0) reads every tap at +cb. rqt
// is M[c] then R[c] = -Shift[c] (Shift >= 1: the Go driver sends other
// multipliers to the generic kernel), zq zOut as 8 int16, then qmin and
// qmax as 16 int8 each.
//
// Registers: q0-q3 sums, q4/q5 inputs, q6/q7 weights, q8/q9 products,
// q12 zOut, q13 qmin, q14 qmax. r0 dst pixel, r1 outStride, r2 pixel
// index, r3 rows/taps, r4/r5 tap pointers and r8/r9 their strides (rows
// alternate between the two pairs), r6 weights, r7 scratch, r12 c, r14 cb.

func dwA32Kernel(a *Asm, k int, taps bool) {
	name := fmt.Sprintf("dw32K%dR", k)
	tab := "rows"
	if taps {
		name, tab = fmt.Sprintf("dw32K%dT", k), "taps"
	}
	a.L("\n// func %s(dst *int8, outStride, n int, %s %s, w *int8, c int, bias, rqt *int32, zq *int8)", name, tab,
		map[bool]string{false: "*dwRow32", true: "**int8"}[taps])
	a.L("TEXT ·%s(SB), NOSPLIT, $8-36", name)
	a.L("\tMOVW\tdst+0(FP), R0")
	a.L("\tMOVW\toutStride+4(FP), R1")
	a.L("\tMOVW\t%s+12(FP), R3", tab)
	a.L("\tMOVW\tc+20(FP), R12")
	a.L("\tMOVW\tzq+32(FP), R7")
	a.A("vld1.8 {d24, d25, d26, d27}, [r7]!")
	a.A("vld1.8 {d28, d29}, [r7]")
	a.L("\tMOVW\t$0, R2")
	a.L("pix:")
	a.L("\tMOVW\t$0, R14")
	a.L("blk:")
	a.L("\tMOVW\tbias+24(FP), R7")
	a.L("\tADD\tR14<<2, R7")
	a.A("vld1.32 {d0, d1, d2, d3}, [r7]!")
	a.A("vld1.32 {d4, d5, d6, d7}, [r7]")
	a.L("\tMOVW\tw+16(FP), R6")
	a.L("\tADD\tR14, R6")
	ptr := [2]string{"R4", "R5"}
	str := [2]string{"R8", "R9"}
	setup := -1 // last row whose pointer is set
	// load emits the input load of tap t into d(x), d(x+1) and its weights
	// into d(wd), d(wd+1).
	load := func(t, x, wd int) {
		ky := t / k
		if taps {
			r := ptr[t%2]
			a.L("\tMOVW\t%d(R3), %s", 4*t, r)
			a.L("\tADD\tR14, %s", r)
			a.A("vld1.8 {d%d, d%d}, [%s]", x, x+1, lower(r))
		} else {
			for setup < ky {
				setup++
				p, s := ptr[setup%2], str[setup%2]
				a.L("\tMOVW\t%d(R3), %s", 12*setup, p)
				a.L("\tMOVW\t%d(R3), %s", 12*setup+4, s)
				a.L("\tMULA\tR2, %s, %s, %s", s, p, p)
				a.L("\tADD\tR14, %s", p)
				a.L("\tMOVW\t%d(R3), %s", 12*setup+8, s)
			}
			a.A("vld1.8 {d%d, d%d}, [%s], %s", x, x+1, lower(ptr[ky%2]), lower(str[ky%2]))
		}
		a.A("vld1.8 {d%d, d%d}, [r6], r12", wd, wd+1)
	}
	n := k * k
	for t := 0; t+1 < n; t += 2 {
		load(t, 8, 12)
		load(t+1, 10, 14)
		a.A("vmull.s8 q8, d8, d12")
		a.A("vmull.s8 q9, d9, d13")
		a.A("vmlal.s8 q8, d10, d14")
		a.A("vmlal.s8 q9, d11, d15")
		widen(a)
	}
	load(n-1, 8, 12)
	a.A("vmull.s8 q8, d8, d12")
	a.A("vmull.s8 q9, d9, d13")
	widen(a)
	// requantize: M, then R = -Shift (rqt + 4cb, + 4c)
	a.L("\tMOVW\trqt+28(FP), R7")
	a.L("\tADD\tR14<<2, R7")
	a.A("vld1.32 {d8, d9, d10, d11}, [r7]!")
	a.A("vld1.32 {d12, d13, d14, d15}, [r7]")
	for i := range 4 {
		a.A("vqdmulh.s32 q%d, q%d, q%d", i, i, 4+i)
	}
	a.L("\tADD\tR12<<2, R7")
	a.L("\tSUB\t$32, R7")
	a.A("vld1.32 {d8, d9, d10, d11}, [r7]!")
	a.A("vld1.32 {d12, d13, d14, d15}, [r7]")
	for i := range 4 {
		a.A("vrshl.s32 q%d, q%d, q%d", i, i, 4+i)
	}
	for i := range 4 {
		a.A("vqmovn.s32 d%d, q%d", i, i)
	}
	a.A("vqadd.s16 q0, q0, q12")
	a.A("vqadd.s16 q1, q1, q12")
	a.A("vqmovn.s16 d0, q0")
	a.A("vqmovn.s16 d1, q1")
	a.A("vmax.s8 q0, q0, q13")
	a.A("vmin.s8 q0, q0, q14")
	a.L("\tADD\tR14, R0, R7")
	a.A("vst1.8 {d0, d1}, [r7]")
	// next block; the last one ends at c
	a.L("\tADD\t$16, R14")
	a.L("\tCMP\tR12, R14")
	a.L("\tBGE\tnextpix")
	a.L("\tSUB\t$16, R12, R7")
	a.L("\tCMP\tR7, R14")
	a.L("\tMOVW.GT\tR7, R14")
	a.L("\tB\tblk")
	a.L("nextpix:")
	a.L("\tADD\tR1, R0")
	if taps {
		a.L("\tADD\t$%d, R3", 4*n)
	}
	a.L("\tADD\t$1, R2")
	a.L("\tMOVW\tn+8(FP), R7")
	a.L("\tCMP\tR7, R2")
	a.L("\tBLT\tpix")
	a.L("\tRET")
}

// widen adds the int16 products q8 (channels 0-7) and q9 (8-15) to the
// int32 sums.
func widen(a *Asm) {
	a.A("vaddw.s16 q0, q0, d16")
	a.A("vaddw.s16 q1, q1, d17")
	a.A("vaddw.s16 q2, q2, d18")
	a.A("vaddw.s16 q3, q3, d19")
}

func lower(r string) string { return "r" + r[1:] }

func dwconvA32File() string {
	a := &Asm{}
	a.L(headerA32)
	for _, k := range []int{3, 5, 7, 9, 11} {
		dwA32Kernel(a, k, false)
		dwA32Kernel(a, k, true)
	}
	return a.String()
}
