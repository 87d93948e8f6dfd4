package neongen

// stemGatherFile is stem_gather_arm64.s: the interior run of the stem's
// im2col (3×3 kernel, 3 channels: three 9-byte kernel rows a patch).
func stemGatherFile() string {
	a := &Asm{}
	a.L(header)
	a.S(`
// func gather3x9(dst *int8, dstStride int, src *int8, step, line, n int)
//
// n patches: patch i (at dst + i*dstStride) is the 9 bytes at
// src + i*step, then at + line, then at + 2*line (27 bytes). Scalar
// 8 + 1 byte loads and stores: nothing outside the 27 bytes is read or
// written (the last rows end at the image's end). See stem_generic.go.
TEXT ·gather3x9(SB), NOSPLIT, $0-48
	MOVD	dst+0(FP), R0
	MOVD	dstStride+8(FP), R1
	MOVD	src+16(FP), R2
	MOVD	step+24(FP), R3
	MOVD	line+32(FP), R4
	MOVD	n+40(FP), R5
	CBZ	R5, done
	ADD	$8, R2, R6 // the rows' ninth bytes
	LSL	$1, R4, R7 // 2*line
loop:
	MOVD	(R2), R8
	MOVD	(R2)(R4), R10
	MOVD	(R2)(R7), R12
	MOVB	(R6), R9
	MOVB	(R6)(R4), R11
	MOVB	(R6)(R7), R13
	ADD	R3, R2, R2
	ADD	R3, R6, R6
	MOVD	R8, (R0)
	MOVB	R9, 8(R0)
	MOVD	R10, 9(R0)
	MOVB	R11, 17(R0)
	MOVD	R12, 18(R0)
	MOVB	R13, 26(R0)
	ADD	R1, R0, R0
	SUBS	$1, R5, R5
	BNE	loop
done:
	RET`)
	return a.String()
}
