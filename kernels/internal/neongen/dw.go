package neongen

import "fmt"

func dwMacPair(a *Asm) {
	a.W("smull v8.8h, v4.8b, v5.8b")
	a.W("smull2 v9.8h, v4.16b, v5.16b")
	a.W("smlal v8.8h, v6.8b, v7.8b")
	a.W("smlal2 v9.8h, v6.16b, v7.16b")
	dwWiden(a)
}

func dwMacSingle(a *Asm) {
	a.W("smull v8.8h, v4.8b, v5.8b")
	a.W("smull2 v9.8h, v4.16b, v5.16b")
	dwWiden(a)
}

func dwWiden(a *Asm) {
	a.W("saddw v0.4s, v0.4s, v8.4h")
	a.W("saddw2 v1.4s, v1.4s, v8.8h")
	a.W("saddw v2.4s, v2.4s, v9.4h")
	a.W("saddw2 v3.4s, v3.4s, v9.8h")
}

func dwSkeleton(a *Asm, name, tablearg string, extraArgs []string, frame int, body func(*Asm)) {
	a.L(`
TEXT ·%s(SB), NOSPLIT, $0-%d
	MOVD	dst+0(FP), R0
	MOVD	outStride+8(FP), R1
	MOVD	n+16(FP), R2
	MOVD	%s+24(FP), R3`, name, frame, tablearg)
	for _, l := range extraArgs {
		a.S(l)
	}
	a.L(`	MOVD	w+40(FP), R5
	MOVD	c+48(FP), R6
	MOVD	bias+56(FP), R7
	MOVD	rq+64(FP), R8
	MOVW	zOut+72(FP), R9
	MOVW	qmin+76(FP), R10
	MOVW	qmax+80(FP), R11
	VDUP	R9, V10.S4
	VDUP	R10, V11.B16
	VDUP	R11, V12.B16
	MOVW	$1, R9
	VDUP	R9, V13.S4
	VEOR	V14.B16, V14.B16, V14.B16
	MOVD	ZR, R12 // c0
blk:
	SUB	$16, R6, R13
	CMP	R13, R12
	CSEL	LT, R12, R13, R13 // cb = min(c0, c-16)
	ADD	R13<<2, R7, R9
	VLD1	(R9), [V16.S4, V17.S4, V18.S4, V19.S4]
	ADD	R13<<3, R8, R9`)
	for q := 0; q < 4; q++ {
		a.L("\tVLD2.P\t32(R9), [V8.S4, V9.S4]")
		a.L("\tVORR\tV8.B16, V8.B16, V%d.B16", 20+q)
		shifts(a, "V9", vn(24+q), vn(28+q), "V13", "V14")
	}
	a.L(`	ADD	R13, R0, R14 // dst for pixel 0
	MOVD	ZR, R15 // i
pix:`)
	for q := 0; q < 4; q++ {
		a.L("\tVORR\tV%d.B16, V%d.B16, V%d.B16", 16+q, 16+q, q)
	}
	a.L("\tADD\tR13, R5, R17 // weight cursor")
	body(a)
	a.L("requant:")
	for q := 0; q < 4; q++ {
		a.W("sqshl v%d.4s, v%d.4s, v%d.4s", q, q, 24+q)
		a.W("sqdmulh v%d.4s, v%d.4s, v%d.4s", q, q, 20+q)
		a.W("srshl v%d.4s, v%d.4s, v%d.4s", q, q, 28+q)
		a.L("\tVADD\tV10.S4, V%d.S4, V%d.S4", q, q)
	}
	a.W("sqxtn v8.4h, v0.4s")
	a.W("sqxtn2 v8.8h, v1.4s")
	a.W("sqxtn v9.4h, v2.4s")
	a.W("sqxtn2 v9.8h, v3.4s")
	a.W("sqxtn v8.8b, v8.8h")
	a.W("sqxtn2 v8.16b, v9.8h")
	a.W("smax v8.16b, v8.16b, v11.16b")
	a.W("smin v8.16b, v8.16b, v12.16b")
	a.L(`	VST1	[V8.B16], (R14)
	ADD	R1, R14, R14
	ADD	$1, R15, R15
	CMP	R2, R15
	BLT	pix
	ADD	$16, R12, R12
	CMP	R6, R12
	BLT	blk
	RET`)
}

const dwTap = `	LDP.P	16(R16), (R20, R21)
	MOVD.P	8(R16), R22
	MADD	R15, R20, R21, R20
	AND	R13, R22, R22
	ADD	R22, R20, R20
	VLD1	(R20), [V%d.B16]
	VLD1.P	(R17)(R6), [V%d.B16]`

func dwTapsBody(a *Asm) {
	a.L(`	MOVD	R3, R16 // tap cursor
	LSR	$1, R4, R19 // tap pairs
	CBZ	R19, single
pair:`)
	a.L(dwTap, 4, 5)
	a.L(dwTap, 6, 7)
	dwMacPair(a)
	a.L(`	SUBS	$1, R19, R19
	BNE	pair
single:
	TBZ	$0, R4, requant`)
	a.L(dwTap, 4, 5)
	dwMacSingle(a)
}

func dwRowsBody(k int) func(*Asm) {
	return func(a *Asm) {
		xr := [2][2]string{{"R20", "R21"}, {"R22", "R23"}}
		ntaps := k * k
		for t := 0; t < ntaps; t++ {
			ky, kx := t/k, t%k
			rx, rk := xr[ky%2][0], xr[ky%2][1]
			if kx == 0 {
				a.L("\tLDP\t%d(R3), (R24, R25)", 32*ky)
				a.L("\tMADD\tR15, R24, R25, %s", rx)
				a.L("\tLDP\t%d(R3), (R24, %s)", 32*ky+16, rk)
				a.L("\tAND\tR13, R24, R24")
				a.L("\tADD\tR24, %s, %s", rx, rx)
			}
			xv, wv := 4, 5
			if t%2 == 1 {
				xv, wv = 6, 7
			}
			a.L("\tVLD1.P\t(%s)(%s), [V%d.B16]", rx, rk, xv)
			a.L("\tVLD1.P\t(R17)(R6), [V%d.B16]", wv)
			if t%2 == 1 {
				dwMacPair(a)
			}
		}
		if ntaps%2 == 1 {
			dwMacSingle(a)
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
	dwSkeleton(a, "dwNeon", "taps", []string{"\tMOVD\tntaps+32(FP), R4"}, 84, dwTapsBody)
	for _, k := range []int{3, 5, 7, 9, 11} {
		a.L(`
// func dwNeonK%d(dst *int8, outStride int, n int, rows *dwRow, _ int, w *int8, c int, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)
//
// As dwNeon for a %dx%d kernel, fully unrolled over the taps, for runs of
// output pixels whose columns are all inside the image: tap (ky, kx) of
// pixel i reads rows[ky].p + i*rows[ky].inc + (cb & rows[ky].mask) +
// kx*rows[ky].kxs.`, k, k, k)
		dwSkeleton(a, fmt.Sprintf("dwNeonK%d", k), "rows", nil, 84, dwRowsBody(k))
	}
	return a.String()
}
