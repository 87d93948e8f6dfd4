//go:build !purego

#include "textflag.h"

// Epilogue parameters (dwRQ, 320 bytes per 8 lanes): bias 0, mE 32,
// mO 64, rsh 96, kq 128, lo 160, hi 192, lsh 224, rndE 256, rndO 288.
// dwOut: zOut 0, qmin 32, qmax 64.

// NEXTROW ends an output row of dwRowAVX2/dwRowHAVX2 (same arguments):
// to DONE after the last of nrows, else dst and the row table (R14) move
// to the next output row and it goes to ROW.
#define NEXTROW(ROW, DONE) \
	DECQ nrows+104(FP); \
	JEQ  DONE; \
	MOVQ dst+0(FP), DI; \
	ADDQ dstStep+120(FP), DI; \
	MOVQ DI, dst+0(FP); \
	ADDQ rowStep+112(FP), R14; \
	JMP  ROW

// RQF is the fast requantization (every Shift >= 2, see dwRQ): odd lanes
// moved to even dwords for VPMULDQ, the high dwords of both products
// merged, then one add (rounding and zero point) and the shift.
#define RQF(A, P, T0, T1) \
	VPSRLQ   $32, A, T1; \
	VPMULDQ  32(P), A, T0; \
	VPMULDQ  64(P), T1, T1; \
	VPSRLQ   $32, T0, T0; \
	VPBLENDD $0xAA, T1, T0, A; \
	VPADDD   128(P), A, A; \
	VPSRAVD  96(P), A, A

// RQP loads the fast path's mE, mO and kq of the 8 lanes at P into Y12,
// Y13, Y14 for RQR.
#define RQP(P) \
	VMOVDQU 32(P), Y12; \
	VMOVDQU 64(P), Y13; \
	VMOVDQU 128(P), Y14

// RQR is RQF with mE, mO and kq in registers (RQP) and one temporary
// (Y15): the even products overwrite A.
#define RQR(A, P) \
	VPSRLQ   $32, A, Y15; \
	VPMULDQ  Y12, A, A; \
	VPMULDQ  Y13, Y15, Y15; \
	VPSRLQ   $32, A, A; \
	VPBLENDD $0xAA, Y15, A, A; \
	VPADDD   Y14, A, A; \
	VPSRAVD  96(P), A, A

// RQP4 is RQP with rsh too (Y11), for RQR4.
#define RQP4(P) \
	RQP(P); \
	VMOVDQU 96(P), Y11

// RQR4 is RQR with rsh in Y11 (RQP4).
#define RQR4(A) \
	VPSRLQ   $32, A, Y15; \
	VPMULDQ  Y12, A, A; \
	VPMULDQ  Y13, Y15, Y15; \
	VPSRLQ   $32, A, A; \
	VPBLENDD $0xAA, Y15, A, A; \
	VPADDD   Y14, A, A; \
	VPSRAVD  Y11, A, A

// RQS is the general requantization (the shared REQ sequence), zOut at O.
#define RQS(A, P, O, T0, T1) \
	VPMAXSD  160(P), A, A; \
	VPMINSD  192(P), A, A; \
	VPSLLVD  224(P), A, A; \
	VPSRLQ   $32, A, T1; \
	VPMULDQ  32(P), A, T0; \
	VPMULDQ  64(P), T1, T1; \
	VPADDQ   256(P), T0, T0; \
	VPADDQ   288(P), T1, T1; \
	VPSRLQ   $32, T0, T0; \
	VPBLENDD $0xAA, T1, T0, A; \
	VPSRAVD  96(P), A, A; \
	VPADDD   (O), A, A

// PACK2 narrows pixel a (accumulators A0: ch 0-3|8-11, A1: 4-7|12-15) and
// pixel b (B0, B1) into A0 = 16 bytes of a | 16 bytes of b, clamped with
// the dwOut at O. Clobbers B0.
#define PACK2(A0, A1, B0, B1, O) \
	VPACKSSDW A1, A0, A0; \
	VPACKSSDW B1, B0, B0; \
	VPACKSSWB B0, A0, A0; \
	VPERMQ    $0xD8, A0, A0; \
	VPMAXSB   32(O), A0, A0; \
	VPMINSB   64(O), A0, A0

// MAC4 adds one tap pair of four pixels (ring vectors at SI, SI+R12,
// SI+2*R12, SI+BX) times the weights in Y8 (lanes of A) and Y9 (lanes of B).
// Two VPMADDWDs go before their adds in every macro (measured faster on
// Zen 3 than alternating them).
#define MAC4(off, W, A, B, C, D, T0, T1) \
	VPMADDWD off(SI), W, T0; \
	VPMADDWD off(SI)(R12*1), W, T1; \
	VPADDD   T0, A, A; \
	VPADDD   T1, B, B; \
	VPMADDWD off(SI)(R12*2), W, T0; \
	VPMADDWD off(SI)(BX*1), W, T1; \
	VPADDD   T0, C, C; \
	VPADDD   T1, D, D

// PAIR4 is MAC4 for both accumulator halves of one tap pair (weights at
// w0(DX) and w1(DX)), then moves SI to the next pair.
#define PAIR4(w0, w1) \
	VMOVDQU w0(DX), Y8; \
	VMOVDQU w1(DX), Y9; \
	MAC4(0, Y8, Y0, Y2, Y4, Y6, Y12, Y13); \
	MAC4(32, Y9, Y1, Y3, Y5, Y7, Y14, Y15); \
	ADDQ    R13, SI

// MAC6 is MAC4 for six pixels (the fifth at SI+4*R12, the sixth at SI+CX).
#define MAC6(off, W, A, B, C, D, E, F, T0, T1) \
	VPMADDWD off(SI), W, T0; \
	VPMADDWD off(SI)(R12*1), W, T1; \
	VPADDD   T0, A, A; \
	VPADDD   T1, B, B; \
	VPMADDWD off(SI)(R12*2), W, T0; \
	VPMADDWD off(SI)(BX*1), W, T1; \
	VPADDD   T0, C, C; \
	VPADDD   T1, D, D; \
	VPMADDWD off(SI)(R12*4), W, T0; \
	VPMADDWD off(SI)(CX*1), W, T1; \
	VPADDD   T0, E, E; \
	VPADDD   T1, F, F

// PAIR6 is PAIR4 for six pixels (accumulators Y0-Y11, weights in Y12, Y13).
#define PAIR6(w0, w1) \
	VMOVDQU w0(DX), Y12; \
	VMOVDQU w1(DX), Y13; \
	MAC6(0, Y12, Y0, Y2, Y4, Y6, Y8, Y10, Y14, Y15); \
	MAC6(32, Y13, Y1, Y3, Y5, Y7, Y9, Y11, Y14, Y15); \
	ADDQ    R13, SI

// PAIR2 is PAIR4 for two pixels (accumulators Y0, Y1 and Y2, Y3).
#define PAIR2(w0, w1) \
	VMOVDQU  w0(DX), Y8; \
	VMOVDQU  w1(DX), Y9; \
	VPMADDWD (SI), Y8, Y12; \
	VPMADDWD (SI)(R12*1), Y8, Y13; \
	VPMADDWD 32(SI), Y9, Y14; \
	VPMADDWD 32(SI)(R12*1), Y9, Y15; \
	VPADDD   Y12, Y0, Y0; \
	VPADDD   Y13, Y2, Y2; \
	VPADDD   Y14, Y1, Y1; \
	VPADDD   Y15, Y3, Y3; \
	ADDQ     R13, SI

// func dwRingAVX2(dst *int16, src *int8, inStride int, w int, padLeft int, entries int, off1 int, z *int8, step int,
//	half int, nb int)
//
// Builds one ring row. With step 1, entry j holds input columns
// j-padLeft and j+1-padLeft; with step 2, entry m holds columns
// 2m-padLeft and 2m+1-padLeft. Both 16-channel blocks (at channel 0 and
// off1 of src) are sign-extended and interleaved so that VPMADDWD with a
// tap pair gives x[a]*w0 + x[a+1]*w1 per channel. Columns outside [0, w)
// read z (32 bytes of the input zero point). A block's entry is 64 bytes:
// channels 0-3|8-11 as (x[a], x[a+1]) pairs, then 4-7|12-15; block 0's
// entries are contiguous from dst, block 1's from dst+half (bytes), so a
// pass over one block reads every set of the L1, not every other one.
// Step 1 converts each column once and keeps it for the next entry.
// nb = 1 builds block 0 only (a chunk of one block: off1 and half unused).
TEXT ·dwRingAVX2(SB), NOSPLIT, $0-88
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ inStride+16(FP), R9
	MOVQ w+24(FP), R10
	MOVQ padLeft+32(FP), AX
	NEGQ AX
	MOVQ entries+40(FP), R12
	MOVQ off1+48(FP), R13
	MOVQ z+56(FP), R14
	MOVQ half+72(FP), CX

	// AX = column, DX = src + AX*inStride (the column's pointer when inside).
	MOVQ  AX, DX
	IMULQ R9, DX
	ADDQ  SI, DX
	CMPQ  nb+80(FP), $1
	JEQ   ringOne
	CMPQ  step+64(FP), $2
	JEQ   ring2

	MOVQ      DX, BX
	CMPQ      AX, R10
	CMOVQCC   R14, BX
	VPMOVSXBW (BX), Y0
	VPMOVSXBW (BX)(R13*1), Y1
	INCQ      AX
	ADDQ      R9, DX

ring1:
	MOVQ       DX, BX
	CMPQ       AX, R10
	CMOVQCC    R14, BX
	VPMOVSXBW  (BX), Y2
	VPMOVSXBW  (BX)(R13*1), Y3
	VPUNPCKLWD Y2, Y0, Y4
	VPUNPCKHWD Y2, Y0, Y5
	VPUNPCKLWD Y3, Y1, Y6
	VPUNPCKHWD Y3, Y1, Y7
	VMOVDQU    Y4, (DI)
	VMOVDQU    Y5, 32(DI)
	VMOVDQU    Y6, (DI)(CX*1)
	VMOVDQU    Y7, 32(DI)(CX*1)
	VMOVDQA    Y2, Y0
	VMOVDQA    Y3, Y1
	INCQ       AX
	ADDQ       R9, DX
	ADDQ       $64, DI
	DECQ       R12
	JNZ        ring1
	VZEROUPPER
	RET

ring2:
	MOVQ       DX, BX
	CMPQ       AX, R10
	CMOVQCC    R14, BX
	INCQ       AX
	ADDQ       R9, DX
	MOVQ       DX, R8
	CMPQ       AX, R10
	CMOVQCC    R14, R8
	INCQ       AX
	ADDQ       R9, DX
	VPMOVSXBW  (BX), Y0
	VPMOVSXBW  (R8), Y2
	VPMOVSXBW  (BX)(R13*1), Y1
	VPMOVSXBW  (R8)(R13*1), Y3
	VPUNPCKLWD Y2, Y0, Y4
	VPUNPCKHWD Y2, Y0, Y5
	VPUNPCKLWD Y3, Y1, Y6
	VPUNPCKHWD Y3, Y1, Y7
	VMOVDQU    Y4, (DI)
	VMOVDQU    Y5, 32(DI)
	VMOVDQU    Y6, (DI)(CX*1)
	VMOVDQU    Y7, 32(DI)(CX*1)
	ADDQ       $64, DI
	DECQ       R12
	JNZ        ring2
	VZEROUPPER
	RET

	// One block.
ringOne:
	CMPQ      step+64(FP), $2
	JEQ       ring2one
	MOVQ      DX, BX
	CMPQ      AX, R10
	CMOVQCC   R14, BX
	VPMOVSXBW (BX), Y0
	INCQ      AX
	ADDQ      R9, DX

ring1one:
	MOVQ       DX, BX
	CMPQ       AX, R10
	CMOVQCC    R14, BX
	VPMOVSXBW  (BX), Y2
	VPUNPCKLWD Y2, Y0, Y4
	VPUNPCKHWD Y2, Y0, Y5
	VMOVDQU    Y4, (DI)
	VMOVDQU    Y5, 32(DI)
	VMOVDQA    Y2, Y0
	INCQ       AX
	ADDQ       R9, DX
	ADDQ       $64, DI
	DECQ       R12
	JNZ        ring1one
	VZEROUPPER
	RET

ring2one:
	MOVQ       DX, BX
	CMPQ       AX, R10
	CMOVQCC    R14, BX
	INCQ       AX
	ADDQ       R9, DX
	MOVQ       DX, R8
	CMPQ       AX, R10
	CMOVQCC    R14, R8
	INCQ       AX
	ADDQ       R9, DX
	VPMOVSXBW  (BX), Y0
	VPMOVSXBW  (R8), Y2
	VPUNPCKLWD Y2, Y0, Y4
	VPUNPCKHWD Y2, Y0, Y5
	VMOVDQU    Y4, (DI)
	VMOVDQU    Y5, 32(DI)
	ADDQ       $64, DI
	DECQ       R12
	JNZ        ring2one
	VZEROUPPER
	RET

// func dwRing8AVX2(dst *int16, src *int8, inStride int, w int, padLeft int, entries int, z *int8, step int)
//
// dwRingAVX2 for one block of 8 channels: entries of 32 bytes, channels
// 0-3 as (x[a], x[a+1]) pairs, then 4-7 (the lanes of one accumulator in
// channel order).
TEXT ·dwRing8AVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ inStride+16(FP), R9
	MOVQ w+24(FP), R10
	MOVQ padLeft+32(FP), AX
	NEGQ AX
	MOVQ entries+40(FP), R12
	MOVQ z+48(FP), R14
	MOVQ AX, DX
	IMULQ R9, DX
	ADDQ  SI, DX
	CMPQ  step+56(FP), $2
	JEQ   r8two

	MOVQ      DX, BX
	CMPQ      AX, R10
	CMOVQCC   R14, BX
	VPMOVSXBW (BX), X0
	INCQ      AX
	ADDQ      R9, DX

r8one:
	MOVQ       DX, BX
	CMPQ       AX, R10
	CMOVQCC    R14, BX
	VPMOVSXBW  (BX), X2
	VPUNPCKLWD X2, X0, X4
	VPUNPCKHWD X2, X0, X5
	VMOVDQU    X4, (DI)
	VMOVDQU    X5, 16(DI)
	VMOVDQA    X2, X0
	INCQ       AX
	ADDQ       R9, DX
	ADDQ       $32, DI
	DECQ       R12
	JNZ        r8one
	VZEROUPPER
	RET

r8two:
	MOVQ       DX, BX
	CMPQ       AX, R10
	CMOVQCC    R14, BX
	INCQ       AX
	ADDQ       R9, DX
	MOVQ       DX, R8
	CMPQ       AX, R10
	CMOVQCC    R14, R8
	INCQ       AX
	ADDQ       R9, DX
	VPMOVSXBW  (BX), X0
	VPMOVSXBW  (R8), X2
	VPUNPCKLWD X2, X0, X4
	VPUNPCKHWD X2, X0, X5
	VMOVDQU    X4, (DI)
	VMOVDQU    X5, 16(DI)
	ADDQ       $32, DI
	DECQ       R12
	JNZ        r8two
	VZEROUPPER
	RET

// func dwRowAVX2(dst *int8, outStride int, ow int, rows **int16, k int, pixAdv int, pairAdv int,
//	w *int16, np int, rq *dwRQ, out *dwOut, boff int, fast int, nrows int, rowStep int, dstStep int)
//
// nrows output rows of one 16-channel block. For each row, rows[ky]+boff
// is the block in ring row ky; output pixel x's tap pair t is at
// x*pixAdv + t*pairAdv from there. w holds the block's [k][np] entries
// of 64 bytes (the caller offsets w for block 1), rq the parameters
// of the two accumulators (rq[0]: ch 0-3|8-11, rq[1]: 4-7|12-15). fast !=
// 0 promises every lane qualifies for RQF. After a row, rows advances by
// rowStep bytes and dst by dstStep (both kept in their argument slots).
//
// Rows of 12 pixels or more go six pixels per step (12 accumulators,
// weights loaded once for six), shorter ones and the rest four per step.
// Two pixels left take a two-pixel step; one or three left redo the
// row's last four (same bytes); rows shorter than four go one pixel at a
// time. The
// tap-pair loop is unrolled per np (K <= 11: np <= 6) and chosen once
// per step: a short inner loop mispredicts its exit on every kernel row.
// 3x3, the commonest and cheapest kernel, is unrolled over its rows too.
TEXT ·dwRowAVX2(SB), NOSPLIT, $0-128
	MOVQ dst+0(FP), DI
	MOVQ outStride+8(FP), R9
	MOVQ rows+24(FP), R14
	MOVQ pixAdv+40(FP), R12
	LEAQ (R12)(R12*2), BX
	MOVQ pairAdv+48(FP), R13
	MOVQ rq+72(FP), AX

row:
	MOVQ ow+16(FP), R10
	MOVQ boff+88(FP), R11
	CMPQ R10, $12
	JGE  hex
	CMPQ R10, $4
	JLT  one
	JMP  quad

hex:
	LEAQ    (R12)(R12*4), CX
	VMOVDQU (AX), Y0
	VMOVDQU 320(AX), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y0, Y6
	VMOVDQA Y1, Y7
	VMOVDQA Y0, Y8
	VMOVDQA Y1, Y9
	VMOVDQA Y0, Y10
	VMOVDQA Y1, Y11
	MOVQ w+56(FP), DX
	XORQ R8, R8
	CMPQ k+32(FP), $3
	JEQ  hk3
	CMPQ np+64(FP), $1
	JEQ  h1
	CMPQ np+64(FP), $2
	JEQ  h2
	CMPQ np+64(FP), $3
	JEQ  h3
	CMPQ np+64(FP), $4
	JEQ  h4
	CMPQ np+64(FP), $5
	JEQ  h5
	JMP  h6

hk3:
	MOVQ 0(R14), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	PAIR6(64, 96)
	MOVQ 8(R14), SI
	ADDQ R11, SI
	PAIR6(128, 160)
	PAIR6(192, 224)
	MOVQ 16(R14), SI
	ADDQ R11, SI
	PAIR6(256, 288)
	PAIR6(320, 352)
	JMP  hepi

h1:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	ADDQ $64, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  h1
	JMP  hepi

h2:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	PAIR6(64, 96)
	ADDQ $128, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  h2
	JMP  hepi

h3:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	PAIR6(64, 96)
	PAIR6(128, 160)
	ADDQ $192, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  h3
	JMP  hepi

h4:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	PAIR6(64, 96)
	PAIR6(128, 160)
	PAIR6(192, 224)
	ADDQ $256, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  h4
	JMP  hepi

h5:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	PAIR6(64, 96)
	PAIR6(128, 160)
	PAIR6(192, 224)
	PAIR6(256, 288)
	ADDQ $320, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  h5
	JMP  hepi

h6:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR6(0, 32)
	PAIR6(64, 96)
	PAIR6(128, 160)
	PAIR6(192, 224)
	PAIR6(256, 288)
	PAIR6(320, 352)
	ADDQ $384, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  h6

hepi:
	MOVQ out+80(FP), CX
	LEAQ 320(AX), SI
	CMPQ fast+96(FP), $0
	JEQ  hslow
	RQP(AX)
	RQR(Y0, AX)
	RQR(Y2, AX)
	RQR(Y4, AX)
	RQR(Y6, AX)
	RQR(Y8, AX)
	RQR(Y10, AX)
	RQP(SI)
	RQR(Y1, SI)
	RQR(Y3, SI)
	RQR(Y5, SI)
	RQR(Y7, SI)
	RQR(Y9, SI)
	RQR(Y11, SI)
	JMP  hpack

hslow:
	RQS(Y0, AX, CX, Y12, Y13)
	RQS(Y1, SI, CX, Y14, Y15)
	RQS(Y2, AX, CX, Y12, Y13)
	RQS(Y3, SI, CX, Y14, Y15)
	RQS(Y4, AX, CX, Y12, Y13)
	RQS(Y5, SI, CX, Y14, Y15)
	RQS(Y6, AX, CX, Y12, Y13)
	RQS(Y7, SI, CX, Y14, Y15)
	RQS(Y8, AX, CX, Y12, Y13)
	RQS(Y9, SI, CX, Y14, Y15)
	RQS(Y10, AX, CX, Y12, Y13)
	RQS(Y11, SI, CX, Y14, Y15)

hpack:
	PACK2(Y0, Y1, Y2, Y3, CX)
	PACK2(Y4, Y5, Y6, Y7, CX)
	PACK2(Y8, Y9, Y10, Y11, CX)
	LEAQ         (R9)(R9*2), R8
	VMOVDQU      X0, (DI)
	VEXTRACTI128 $1, Y0, (DI)(R9*1)
	VMOVDQU      X4, (DI)(R9*2)
	VEXTRACTI128 $1, Y4, (DI)(R8*1)
	LEAQ         (DI)(R9*4), DI
	VMOVDQU      X8, (DI)
	VEXTRACTI128 $1, Y8, (DI)(R9*1)
	LEAQ         (DI)(R9*2), DI
	LEAQ         (R11)(R12*4), R11
	LEAQ         (R11)(R12*2), R11
	SUBQ         $6, R10
	JEQ          rowdone
	CMPQ         R10, $6
	JGE          hex
	CMPQ         R10, $4
	JGE          quad
	CMPQ         R10, $2
	JEQ          duo
	JMP          qback

quad:
	VMOVDQU (AX), Y0
	VMOVDQU 320(AX), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y0, Y6
	VMOVDQA Y1, Y7
	MOVQ w+56(FP), DX
	XORQ R8, R8
	CMPQ k+32(FP), $3
	JEQ  qk3
	CMPQ np+64(FP), $1
	JEQ  q1
	CMPQ np+64(FP), $2
	JEQ  q2
	CMPQ np+64(FP), $3
	JEQ  q3
	CMPQ np+64(FP), $4
	JEQ  q4
	CMPQ np+64(FP), $5
	JEQ  q5
	JMP  q6

qk3:
	MOVQ 0(R14), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	PAIR4(64, 96)
	MOVQ 8(R14), SI
	ADDQ R11, SI
	PAIR4(128, 160)
	PAIR4(192, 224)
	MOVQ 16(R14), SI
	ADDQ R11, SI
	PAIR4(256, 288)
	PAIR4(320, 352)
	JMP  qepi

q1:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	ADDQ $64, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  q1
	JMP  qepi

q2:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	PAIR4(64, 96)
	ADDQ $128, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  q2
	JMP  qepi

q3:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	PAIR4(64, 96)
	PAIR4(128, 160)
	ADDQ $192, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  q3
	JMP  qepi

q4:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	PAIR4(64, 96)
	PAIR4(128, 160)
	PAIR4(192, 224)
	ADDQ $256, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  q4
	JMP  qepi

q5:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	PAIR4(64, 96)
	PAIR4(128, 160)
	PAIR4(192, 224)
	PAIR4(256, 288)
	ADDQ $320, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  q5
	JMP  qepi

q6:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR4(0, 32)
	PAIR4(64, 96)
	PAIR4(128, 160)
	PAIR4(192, 224)
	PAIR4(256, 288)
	PAIR4(320, 352)
	ADDQ $384, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  q6

qepi:
	MOVQ out+80(FP), CX
	LEAQ 320(AX), SI
	CMPQ fast+96(FP), $0
	JEQ  qslow
	RQP4(AX)
	RQR4(Y0)
	RQR4(Y2)
	RQR4(Y4)
	RQR4(Y6)
	RQP4(SI)
	RQR4(Y1)
	RQR4(Y3)
	RQR4(Y5)
	RQR4(Y7)
	JMP  qpack

qslow:
	RQS(Y0, AX, CX, Y8, Y9)
	RQS(Y1, SI, CX, Y10, Y11)
	RQS(Y2, AX, CX, Y12, Y13)
	RQS(Y3, SI, CX, Y14, Y15)
	RQS(Y4, AX, CX, Y8, Y9)
	RQS(Y5, SI, CX, Y10, Y11)
	RQS(Y6, AX, CX, Y12, Y13)
	RQS(Y7, SI, CX, Y14, Y15)

qpack:
	PACK2(Y0, Y1, Y2, Y3, CX)
	PACK2(Y4, Y5, Y6, Y7, CX)
	LEAQ         (R9)(R9*2), R8
	VMOVDQU      X0, (DI)
	VEXTRACTI128 $1, Y0, (DI)(R9*1)
	VMOVDQU      X4, (DI)(R9*2)
	VEXTRACTI128 $1, Y4, (DI)(R8*1)
	LEAQ         (DI)(R9*4), DI
	LEAQ         (R11)(R12*4), R11
	SUBQ         $4, R10
	JEQ          rowdone
	CMPQ         R10, $4
	JGE          quad
	CMPQ         R10, $2
	JEQ          duo

	// One or three pixels left: step back and redo the row's last four.
qback:
	MOVQ  $4, CX
	SUBQ  R10, CX
	MOVQ  CX, R8
	IMULQ R9, R8
	SUBQ  R8, DI
	IMULQ R12, CX
	SUBQ  CX, R11
	MOVQ  $4, R10
	JMP   quad

duo:
	VMOVDQU (AX), Y0
	VMOVDQU 320(AX), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	MOVQ w+56(FP), DX
	XORQ R8, R8
	CMPQ k+32(FP), $3
	JEQ  dk3
	CMPQ np+64(FP), $1
	JEQ  d1
	CMPQ np+64(FP), $2
	JEQ  d2
	CMPQ np+64(FP), $3
	JEQ  d3
	CMPQ np+64(FP), $4
	JEQ  d4
	CMPQ np+64(FP), $5
	JEQ  d5
	JMP  d6

dk3:
	MOVQ 0(R14), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	PAIR2(64, 96)
	MOVQ 8(R14), SI
	ADDQ R11, SI
	PAIR2(128, 160)
	PAIR2(192, 224)
	MOVQ 16(R14), SI
	ADDQ R11, SI
	PAIR2(256, 288)
	PAIR2(320, 352)
	JMP  depi

d1:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	ADDQ $64, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  d1
	JMP  depi

d2:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	PAIR2(64, 96)
	ADDQ $128, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  d2
	JMP  depi

d3:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	PAIR2(64, 96)
	PAIR2(128, 160)
	ADDQ $192, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  d3
	JMP  depi

d4:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	PAIR2(64, 96)
	PAIR2(128, 160)
	PAIR2(192, 224)
	ADDQ $256, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  d4
	JMP  depi

d5:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	PAIR2(64, 96)
	PAIR2(128, 160)
	PAIR2(192, 224)
	PAIR2(256, 288)
	ADDQ $320, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  d5
	JMP  depi

d6:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	PAIR2(0, 32)
	PAIR2(64, 96)
	PAIR2(128, 160)
	PAIR2(192, 224)
	PAIR2(256, 288)
	PAIR2(320, 352)
	ADDQ $384, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  d6

depi:
	MOVQ out+80(FP), CX
	LEAQ 320(AX), SI
	CMPQ fast+96(FP), $0
	JEQ  dslow
	RQP4(AX)
	RQR4(Y0)
	RQR4(Y2)
	RQP4(SI)
	RQR4(Y1)
	RQR4(Y3)
	JMP  dpack

dslow:
	RQS(Y0, AX, CX, Y8, Y9)
	RQS(Y1, SI, CX, Y10, Y11)
	RQS(Y2, AX, CX, Y12, Y13)
	RQS(Y3, SI, CX, Y14, Y15)

dpack:
	PACK2(Y0, Y1, Y2, Y3, CX)
	VMOVDQU      X0, (DI)
	VEXTRACTI128 $1, Y0, (DI)(R9*1)
	JMP          rowdone

one:
	VMOVDQU (AX), Y0
	VMOVDQU 320(AX), Y1
	MOVQ    w+56(FP), DX
	XORQ    R8, R8

orow:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	MOVQ np+64(FP), CX

opair:
	VMOVDQU  (SI), Y8
	VPMADDWD (DX), Y8, Y8
	VPADDD   Y8, Y0, Y0
	VMOVDQU  32(SI), Y9
	VPMADDWD 32(DX), Y9, Y9
	VPADDD   Y9, Y1, Y1
	ADDQ     R13, SI
	ADDQ     $64, DX
	DECQ     CX
	JNZ      opair
	INCQ     R8
	CMPQ     R8, k+32(FP)
	JLT      orow

	MOVQ out+80(FP), CX
	LEAQ 320(AX), SI
	CMPQ fast+96(FP), $0
	JEQ  oslow
	RQF(Y0, AX, Y8, Y9)
	RQF(Y1, SI, Y10, Y11)
	JMP  opack

oslow:
	RQS(Y0, AX, CX, Y8, Y9)
	RQS(Y1, SI, CX, Y10, Y11)

opack:
	VPACKSSDW    Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB    X1, X0, X0
	VPMAXSB      32(CX), X0, X0
	VPMINSB      64(CX), X0, X0
	VMOVDQU      X0, (DI)
	ADDQ         R9, DI
	ADDQ         R12, R11
	DECQ         R10
	JNZ          one

rowdone:
	NEXTROW(row, done)

done:
	VZEROUPPER
	RET

// HPAIR6 is PAIR6 for a block of 8 channels (dwRowHAVX2): one weight
// vector (at w(DX)), accumulators Y0-Y5.
#define HPAIR6(w) \
	VMOVDQU w(DX), Y12; \
	MAC6(0, Y12, Y0, Y1, Y2, Y3, Y4, Y5, Y14, Y15); \
	ADDQ    R13, SI

// func dwRowHAVX2(dst *int8, outStride int, ow int, rows **int16, k int, pixAdv int, pairAdv int,
//	w *int16, np int, rq *dwRQ, out *dwOut, boff int, fast int, nrows int, rowStep int, dstStep int)
//
// dwRowAVX2 for a block of 8 channels (dwRing8AVX2's ring, 32-byte
// weight entries, rq one dwRQ with the lanes in channel order): six
// pixels per step, the last step moved back to end at ow (recomputing the
// same bytes); rows under 6 pixels one pixel at a time. 8-byte stores.
TEXT ·dwRowHAVX2(SB), NOSPLIT, $0-128
	MOVQ dst+0(FP), DI
	MOVQ outStride+8(FP), R9
	MOVQ rows+24(FP), R14
	MOVQ pixAdv+40(FP), R12
	LEAQ (R12)(R12*2), BX
	MOVQ pairAdv+48(FP), R13
	MOVQ rq+72(FP), AX

hhrow:
	MOVQ ow+16(FP), R10
	MOVQ boff+88(FP), R11
	CMPQ R10, $6
	JLT  hhone

hhex:
	LEAQ    (R12)(R12*4), CX
	VMOVDQU (AX), Y0
	VMOVDQA Y0, Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y0, Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y0, Y5
	MOVQ    w+56(FP), DX
	XORQ    R8, R8
	CMPQ    k+32(FP), $3
	JEQ     hhk3
	CMPQ    np+64(FP), $1
	JEQ     hh1
	CMPQ    np+64(FP), $2
	JEQ     hh2
	CMPQ    np+64(FP), $3
	JEQ     hh3
	CMPQ    np+64(FP), $4
	JEQ     hh4
	CMPQ    np+64(FP), $5
	JEQ     hh5
	JMP     hh6

hhk3:
	MOVQ 0(R14), SI
	ADDQ R11, SI
	HPAIR6(0)
	HPAIR6(32)
	MOVQ 8(R14), SI
	ADDQ R11, SI
	HPAIR6(64)
	HPAIR6(96)
	MOVQ 16(R14), SI
	ADDQ R11, SI
	HPAIR6(128)
	HPAIR6(160)
	JMP  hhepi

hh1:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	HPAIR6(0)
	ADDQ $32, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  hh1
	JMP  hhepi

hh2:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	HPAIR6(0)
	HPAIR6(32)
	ADDQ $64, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  hh2
	JMP  hhepi

hh3:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	HPAIR6(0)
	HPAIR6(32)
	HPAIR6(64)
	ADDQ $96, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  hh3
	JMP  hhepi

hh4:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	HPAIR6(0)
	HPAIR6(32)
	HPAIR6(64)
	HPAIR6(96)
	ADDQ $128, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  hh4
	JMP  hhepi

hh5:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	HPAIR6(0)
	HPAIR6(32)
	HPAIR6(64)
	HPAIR6(96)
	HPAIR6(128)
	ADDQ $160, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  hh5
	JMP  hhepi

hh6:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	HPAIR6(0)
	HPAIR6(32)
	HPAIR6(64)
	HPAIR6(96)
	HPAIR6(128)
	HPAIR6(160)
	ADDQ $192, DX
	INCQ R8
	CMPQ R8, k+32(FP)
	JLT  hh6
	JMP  hhepi

hhepi:
	MOVQ out+80(FP), CX
	CMPQ fast+96(FP), $0
	JEQ  hhslow
	RQP4(AX)
	RQR4(Y0)
	RQR4(Y1)
	RQR4(Y2)
	RQR4(Y3)
	RQR4(Y4)
	RQR4(Y5)
	JMP  hhpack

hhslow:
	RQS(Y0, AX, CX, Y12, Y13)
	RQS(Y1, AX, CX, Y14, Y15)
	RQS(Y2, AX, CX, Y12, Y13)
	RQS(Y3, AX, CX, Y14, Y15)
	RQS(Y4, AX, CX, Y12, Y13)
	RQS(Y5, AX, CX, Y14, Y15)

	// Dword j of Y0's lanes: pixel j's channels 0-3 | 4-7 (j < 4), of
	// Y4's: pixels 4, 5; unpacking the lanes gives each pixel's 8 bytes as
	// a qword.
hhpack:
	VPACKSSDW    Y1, Y0, Y0
	VPACKSSDW    Y3, Y2, Y2
	VPACKSSDW    Y5, Y4, Y4
	VPACKSSWB    Y2, Y0, Y0
	VPACKSSWB    Y4, Y4, Y4
	VPMAXSB      32(CX), Y0, Y0
	VPMAXSB      32(CX), Y4, Y4
	VPMINSB      64(CX), Y0, Y0
	VPMINSB      64(CX), Y4, Y4
	VEXTRACTI128 $1, Y0, X1
	VEXTRACTI128 $1, Y4, X5
	VPUNPCKLDQ   X1, X0, X2
	VPUNPCKHDQ   X1, X0, X3
	VPUNPCKLDQ   X5, X4, X6
	LEAQ         (R9)(R9*2), R8
	VMOVQ        X2, (DI)
	VPEXTRQ      $1, X2, (DI)(R9*1)
	VMOVQ        X3, (DI)(R9*2)
	VPEXTRQ      $1, X3, (DI)(R8*1)
	LEAQ         (DI)(R9*4), DI
	VMOVQ        X6, (DI)
	VPEXTRQ      $1, X6, (DI)(R9*1)
	LEAQ         (DI)(R9*2), DI
	LEAQ         (R11)(R12*4), R11
	LEAQ         (R11)(R12*2), R11
	SUBQ         $6, R10
	JEQ          hhrowdone
	CMPQ         R10, $6
	JGE          hhex

	// 1-5 pixels left: move back to end the step at ow.
	MOVQ  $6, CX
	SUBQ  R10, CX
	MOVQ  CX, R8
	IMULQ R9, R8
	SUBQ  R8, DI
	IMULQ R12, CX
	SUBQ  CX, R11
	MOVQ  $6, R10
	JMP   hhex

hhone:
	VMOVDQU (AX), Y0
	MOVQ    w+56(FP), DX
	XORQ    R8, R8

hhorow:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	MOVQ np+64(FP), CX

hhopair:
	VMOVDQU  (DX), Y8
	VPMADDWD (SI), Y8, Y8
	VPADDD   Y8, Y0, Y0
	ADDQ     R13, SI
	ADDQ     $32, DX
	DECQ     CX
	JNZ      hhopair
	INCQ     R8
	CMPQ     R8, k+32(FP)
	JLT      hhorow

	MOVQ out+80(FP), CX
	CMPQ fast+96(FP), $0
	JEQ  hhoslow
	RQF(Y0, AX, Y8, Y9)
	JMP  hhopack

hhoslow:
	RQS(Y0, AX, CX, Y8, Y9)

hhopack:
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW    X1, X0, X0
	VPACKSSWB    X0, X0, X0
	VPMAXSB      32(CX), X0, X0
	VPMINSB      64(CX), X0, X0
	VMOVQ        X0, (DI)
	ADDQ         R9, DI
	ADDQ         R12, R11
	DECQ         R10
	JNZ          hhone

hhrowdone:
	NEXTROW(hhrow, hhdone)

hhdone:
	VZEROUPPER
	RET

// EPF loads the fast path's fields of one accumulator at P (dwRQ) from
// the bias of its lanes' channels (0-3 at (B), 8-11 at 32(B)) and their
// multipliers ((Q), 64(Q)); Y7 = z2 broadcast, Y4 = 1s, Y5 the running
// unsigned max of Shift-2.
#define EPF(P, B, Q) \
	VMOVDQU     (B), X0; \
	VINSERTI128 $1, 32(B), Y0, Y0; \
	VMOVDQU     Y0, 0(P); \
	VMOVDQU     (Q), Y1; \
	VMOVDQU     64(Q), Y2; \
	VSHUFPS     $0x88, Y2, Y1, Y3; \
	VSHUFPS     $0xDD, Y2, Y1, Y1; \
	VPERMQ      $0xD8, Y3, Y3; \
	VPERMQ      $0xD8, Y1, Y1; \
	VMOVDQU     Y3, 32(P); \
	VPSRLQ      $32, Y3, Y3; \
	VMOVDQU     Y3, 64(P); \
	VPSUBD      Y4, Y1, Y1; \
	VMOVDQU     Y1, 96(P); \
	VPSUBD      Y4, Y1, Y1; \
	VPMAXUD     Y1, Y5, Y5; \
	VPSLLVD     Y1, Y7, Y0; \
	VMOVDQU     Y0, 128(P)

// func dwEpFastAVX2(ep *dwRQ, bias *int32, rq *quant.Multiplier, off1 int, nb int, z2 int32) uint32
//
// Loads bias, mE, mO, rsh = Shift-1 and kq = z2 << (Shift-2) of the 2*nb
// accumulators of a chunk (ep[2b+v]: block b at channel b*off1, lanes
// dwLane[v]) and returns the largest Shift-2 over the lanes, as uint32.
TEXT ·dwEpFastAVX2(SB), NOSPLIT, $0-52
	MOVQ         ep+0(FP), DI
	MOVQ         bias+8(FP), SI
	MOVQ         rq+16(FP), DX
	MOVQ         off1+24(FP), R8
	MOVQ         nb+32(FP), CX
	MOVL         z2+40(FP), AX
	VMOVD        AX, X7
	VPBROADCASTD X7, Y7
	VPCMPEQD     Y4, Y4, Y4
	VPSRLD       $31, Y4, Y4
	VPXOR        Y5, Y5, Y5

epblock:
	EPF(DI, SI, DX)
	LEAQ 320(DI), R9
	LEAQ 16(SI), R10
	LEAQ 32(DX), R11
	EPF(R9, R10, R11)
	LEAQ (SI)(R8*4), SI
	LEAQ (DX)(R8*8), DX
	ADDQ $640, DI
	DECQ CX
	JNZ  epblock

	VEXTRACTI128 $1, Y5, X0
	VPMAXUD      X0, X5, X5
	VPSHUFD      $0x4E, X5, X0
	VPMAXUD      X0, X5, X5
	VPSHUFD      $0xB1, X5, X0
	VPMAXUD      X0, X5, X5
	VMOVD        X5, AX
	MOVL         AX, ret+48(FP)
	VZEROUPPER
	RET
