//go:build !purego

#include "textflag.h"

// REQ: see gemm_amd64.s (same per-lane parameters, zOut in Y10).
#define REQ(acc, P) \
	VPMAXSD   32(P), acc, acc; \
	VPMINSD   64(P), acc, acc; \
	VPSLLVD   96(P), acc, acc; \
	VPSRLQ    $32, acc, Y9; \
	VPMULDQ   128(P), acc, Y8; \
	VPMULDQ   160(P), Y9, Y9; \
	VPADDQ    192(P), Y8, Y8; \
	VPADDQ    224(P), Y9, Y9; \
	VPSRLQ    $32, Y8, Y8; \
	VPBLENDD  $0xAA, Y9, Y8, acc; \
	VPSRAVD   256(P), acc, acc; \
	VPADDD    Y10, acc, acc

// REQ2 is REQ for two accumulators that share the parameters at P, each
// parameter loaded once (into Y15). Clobbers Y8, Y9, Y13, Y14, Y15.
#define REQ2(A, B, P) \
	VMOVDQU  32(P), Y15; \
	VPMAXSD  Y15, A, A; \
	VPMAXSD  Y15, B, B; \
	VMOVDQU  64(P), Y15; \
	VPMINSD  Y15, A, A; \
	VPMINSD  Y15, B, B; \
	VMOVDQU  96(P), Y15; \
	VPSLLVD  Y15, A, A; \
	VPSLLVD  Y15, B, B; \
	VPSRLQ   $32, A, Y9; \
	VPSRLQ   $32, B, Y14; \
	VMOVDQU  128(P), Y15; \
	VPMULDQ  Y15, A, Y8; \
	VPMULDQ  Y15, B, Y13; \
	VMOVDQU  160(P), Y15; \
	VPMULDQ  Y15, Y9, Y9; \
	VPMULDQ  Y15, Y14, Y14; \
	VMOVDQU  192(P), Y15; \
	VPADDQ   Y15, Y8, Y8; \
	VPADDQ   Y15, Y13, Y13; \
	VMOVDQU  224(P), Y15; \
	VPADDQ   Y15, Y9, Y9; \
	VPADDQ   Y15, Y14, Y14; \
	VPSRLQ   $32, Y8, Y8; \
	VPSRLQ   $32, Y13, Y13; \
	VPBLENDD $0xAA, Y9, Y8, A; \
	VPBLENDD $0xAA, Y14, Y13, B; \
	VMOVDQU  256(P), Y15; \
	VPSRAVD  Y15, A, A; \
	VPSRAVD  Y15, B, B; \
	VPADDD   Y10, A, A; \
	VPADDD   Y10, B, B

// REQF is REQ for lanes whose Shift >= 1 (no clamp, no pre-shift).
#define REQF(acc, P) \
	VPSRLQ    $32, acc, Y9; \
	VPMULDQ   128(P), acc, Y8; \
	VPMULDQ   160(P), Y9, Y9; \
	VPADDQ    192(P), Y8, Y8; \
	VPADDQ    224(P), Y9, Y9; \
	VPSRLQ    $32, Y8, Y8; \
	VPBLENDD  $0xAA, Y9, Y8, acc; \
	VPSRAVD   256(P), acc, acc; \
	VPADDD    Y10, acc, acc

// REQF2 is REQ2 for lanes whose Shift >= 1: the clamp and the pre-shift
// are identities and are left out. Clobbers Y8, Y9, Y13, Y14, Y15.
#define REQF2(A, B, P) \
	VPSRLQ   $32, A, Y9; \
	VPSRLQ   $32, B, Y14; \
	VMOVDQU  128(P), Y15; \
	VPMULDQ  Y15, A, Y8; \
	VPMULDQ  Y15, B, Y13; \
	VMOVDQU  160(P), Y15; \
	VPMULDQ  Y15, Y9, Y9; \
	VPMULDQ  Y15, Y14, Y14; \
	VMOVDQU  192(P), Y15; \
	VPADDQ   Y15, Y8, Y8; \
	VPADDQ   Y15, Y13, Y13; \
	VMOVDQU  224(P), Y15; \
	VPADDQ   Y15, Y9, Y9; \
	VPADDQ   Y15, Y14, Y14; \
	VPSRLQ   $32, Y8, Y8; \
	VPSRLQ   $32, Y13, Y13; \
	VPBLENDD $0xAA, Y9, Y8, A; \
	VPBLENDD $0xAA, Y14, Y13, B; \
	VMOVDQU  256(P), Y15; \
	VPSRAVD  Y15, A, A; \
	VPSRAVD  Y15, B, B; \
	VPADDD   Y10, A, A; \
	VPADDD   Y10, B, B

// DPAIR accumulates one 16-byte ring vector at off of two pixels (SI and
// SI+R12) times the weight vector at off(DX).
#define DPAIR(off, A, B) \
	VMOVDQU  off(DX), Y8; \
	VPMADDWD off(SI), Y8, Y9; \
	VPADDD   Y9, A, A; \
	VPMADDWD off(SI)(R12*1), Y8, Y13; \
	VPADDD   Y13, B, B

// PACK16 narrows accumulators A (ch 0-3|8-11) and B (4-7|12-15) into the
// 16 bytes of XA, clamped. Clobbers B.
#define PACK16(A, B, XA, XB) \
	VPACKSSDW    B, A, A; \
	VEXTRACTI128 $1, A, XB; \
	VPACKSSWB    XB, XA, XA; \
	VPMAXSB      X11, XA, XA; \
	VPMINSB      X12, XA, XA

// func dwRingAVX2(dst *int16, src *int8, inStride int, w int, padLeft int, entries int, off1 int, z *int8)
//
// Builds one ring row: entry j (128 bytes) holds input columns j-padLeft
// and j+1-padLeft of two 16-channel blocks (at channel 0 and off1 of src),
// sign-extended and interleaved so that VPMADDWD with a tap pair gives
// x[j]*w0 + x[j+1]*w1 per channel. Columns outside [0, w) read z (32 bytes
// of the input zero point). Block layout: 32 bytes channels 0-3|8-11 as
// (x[j], x[j+1]) pairs, then 32 bytes channels 4-7|12-15.
TEXT ·dwRingAVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ inStride+16(FP), R9
	MOVQ w+24(FP), R10
	MOVQ padLeft+32(FP), R11
	NEGQ R11
	MOVQ entries+40(FP), R12
	MOVQ off1+48(FP), R13
	MOVQ z+56(FP), R14

ringcol:
	// AX = column j-padLeft, BX its pointer; DX the next column's pointer.
	MOVQ  R11, AX
	MOVQ  R14, BX
	CMPQ  AX, R10
	JAE   ringa
	MOVQ  AX, BX
	IMULQ R9, BX
	ADDQ  SI, BX

ringa:
	INCQ  AX
	MOVQ  R14, DX
	CMPQ  AX, R10
	JAE   ringb
	MOVQ  AX, DX
	IMULQ R9, DX
	ADDQ  SI, DX

ringb:
	VPMOVSXBW  (BX), Y0
	VPMOVSXBW  (DX), Y1
	VPUNPCKLWD Y1, Y0, Y2
	VPUNPCKHWD Y1, Y0, Y3
	VMOVDQU    Y2, (DI)
	VMOVDQU    Y3, 32(DI)
	VPMOVSXBW  (BX)(R13*1), Y0
	VPMOVSXBW  (DX)(R13*1), Y1
	VPUNPCKLWD Y1, Y0, Y2
	VPUNPCKHWD Y1, Y0, Y3
	VMOVDQU    Y2, 64(DI)
	VMOVDQU    Y3, 96(DI)
	ADDQ       $128, DI
	INCQ       R11
	DECQ       R12
	JNZ        ringcol
	VZEROUPPER
	RET

// func dwRowAVX2(dst *int8, outStride int, ow int, rows **int16, k int, stride int,
//	w *int16, np int, off1 int, ep *gemmEpi, nb int, fast int)
//
// fast != 0 promises Shift >= 1 for every channel (REQF2 in the two-pixel
// steps, REQF in the one-pixel steps).
// One output row of 32 channels (blocks at 0 and off1, which may overlap)
// of a depthwise convolution. rows[ky] is the ring row of input row ky,
// w is [k][2*np] entries of 128 bytes built like ring entries from the taps
// (entry kx pairs taps kx and kx+1 of a row, the tap past the row is 0);
// pair t reads entry 2t, ep.ch[0..3] the parameters of
// accumulators 0-3 (block 0 ch 0-3|8-11, 4-7|12-15, block 1 likewise).
// With nb == 1 only block 0 is computed and stored.
TEXT ·dwRowAVX2(SB), NOSPLIT, $0-96
	MOVQ    dst+0(FP), DI
	MOVQ    outStride+8(FP), R9
	MOVQ    ow+16(FP), R10
	XORQ    R11, R11
	MOVQ    stride+40(FP), R12
	SHLQ    $7, R12
	MOVQ    k+32(FP), R13
	MOVQ    rows+24(FP), R14
	MOVQ    off1+64(FP), BX
	MOVQ    ep+72(FP), AX
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), X11
	VMOVDQU 64(AX), X12
	ADDQ    $160, AX
	CMPQ    nb+80(FP), $1
	JEQ     p1two

	// Two pixels at a time (weights and parameters loaded once for both).
pixel2:
	CMPQ    R10, $2
	JLT     pixel
	VMOVDQU 0(AX), Y0
	VMOVDQU 288(AX), Y1
	VMOVDQU 576(AX), Y2
	VMOVDQU 864(AX), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	MOVQ    w+48(FP), DX
	XORQ    R8, R8

row2:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	MOVQ np+56(FP), CX

pair2:
	DPAIR(0, Y0, Y4)
	DPAIR(32, Y1, Y5)
	DPAIR(64, Y2, Y6)
	DPAIR(96, Y3, Y7)
	ADDQ $256, SI
	ADDQ $256, DX
	DECQ CX
	JNZ  pair2
	INCQ R8
	CMPQ R8, R13
	JLT  row2

	CMPQ    fast+88(FP), $0
	JNE     req2f
	REQ2(Y0, Y4, AX)
	LEAQ    288(AX), CX
	REQ2(Y1, Y5, CX)
	LEAQ    576(AX), CX
	REQ2(Y2, Y6, CX)
	LEAQ    864(AX), CX
	REQ2(Y3, Y7, CX)
	JMP     pack2

req2f:
	REQF2(Y0, Y4, AX)
	LEAQ    288(AX), CX
	REQF2(Y1, Y5, CX)
	LEAQ    576(AX), CX
	REQF2(Y2, Y6, CX)
	LEAQ    864(AX), CX
	REQF2(Y3, Y7, CX)

pack2:
	PACK16(Y0, Y1, X0, X1)
	PACK16(Y2, Y3, X2, X3)
	PACK16(Y4, Y5, X4, X5)
	PACK16(Y6, Y7, X6, X7)
	VMOVDQU X0, (DI)
	VMOVDQU X2, (DI)(BX*1)
	LEAQ    (DI)(R9*1), CX
	VMOVDQU X4, (CX)
	VMOVDQU X6, (CX)(BX*1)
	LEAQ    (DI)(R9*2), DI
	LEAQ    (R11)(R12*2), R11
	SUBQ    $2, R10
	JNZ     pixel2
	VZEROUPPER
	RET

pixel:
	VMOVDQU 0(AX), Y0
	VMOVDQU 288(AX), Y1
	VMOVDQU 576(AX), Y2
	VMOVDQU 864(AX), Y3
	MOVQ    w+48(FP), DX
	XORQ    R8, R8

row:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	MOVQ np+56(FP), CX

pair:
	VMOVDQU  (SI), Y4
	VPMADDWD (DX), Y4, Y4
	VPADDD   Y4, Y0, Y0
	VMOVDQU  32(SI), Y5
	VPMADDWD 32(DX), Y5, Y5
	VPADDD   Y5, Y1, Y1
	VMOVDQU  64(SI), Y6
	VPMADDWD 64(DX), Y6, Y6
	VPADDD   Y6, Y2, Y2
	VMOVDQU  96(SI), Y7
	VPMADDWD 96(DX), Y7, Y7
	VPADDD   Y7, Y3, Y3
	ADDQ     $256, SI
	ADDQ     $256, DX
	DECQ     CX
	JNZ      pair
	INCQ     R8
	CMPQ     R8, R13
	JLT      row

	LEAQ         288(AX), CX
	LEAQ         576(AX), SI
	LEAQ         864(AX), DX
	CMPQ         fast+88(FP), $0
	JNE          req4f
	REQ(Y0, AX)
	REQ(Y1, CX)
	REQ(Y2, SI)
	REQ(Y3, DX)
	JMP          pack4

req4f:
	REQF(Y0, AX)
	REQF(Y1, CX)
	REQF(Y2, SI)
	REQF(Y3, DX)

pack4:
	VPACKSSDW    Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB    X1, X0, X0
	VPMAXSB      X11, X0, X0
	VPMINSB      X12, X0, X0
	VPACKSSDW    Y3, Y2, Y2
	VEXTRACTI128 $1, Y2, X3
	VPACKSSWB    X3, X2, X2
	VPMAXSB      X11, X2, X2
	VPMINSB      X12, X2, X2
	VMOVDQU      X0, (DI)
	VMOVDQU      X2, (DI)(BX*1)

	ADDQ R9, DI
	ADDQ R12, R11
	DECQ R10
	JNZ  pixel

	VZEROUPPER
	RET

	// One block: the same with accumulators 0 and 1 only (Y4, Y5 for
	// the second pixel of a step of two).
p1two:
	CMPQ    R10, $2
	JLT     pixel1
	VMOVDQU 0(AX), Y0
	VMOVDQU 288(AX), Y1
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	MOVQ    w+48(FP), DX
	XORQ    R8, R8

row1b:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	MOVQ np+56(FP), CX

pair1b:
	DPAIR(0, Y0, Y4)
	DPAIR(32, Y1, Y5)
	ADDQ $256, SI
	ADDQ $256, DX
	DECQ CX
	JNZ  pair1b
	INCQ R8
	CMPQ R8, R13
	JLT  row1b

	LEAQ    288(AX), CX
	CMPQ    fast+88(FP), $0
	JNE     req1bf
	REQ2(Y0, Y4, AX)
	REQ2(Y1, Y5, CX)
	JMP     pack1b

req1bf:
	REQF2(Y0, Y4, AX)
	REQF2(Y1, Y5, CX)

pack1b:
	PACK16(Y0, Y1, X0, X1)
	PACK16(Y4, Y5, X4, X5)
	VMOVDQU X0, (DI)
	VMOVDQU X4, (DI)(R9*1)
	LEAQ    (DI)(R9*2), DI
	LEAQ    (R11)(R12*2), R11
	SUBQ    $2, R10
	JNZ     p1two
	VZEROUPPER
	RET

pixel1:
	VMOVDQU 0(AX), Y0
	VMOVDQU 288(AX), Y1
	MOVQ    w+48(FP), DX
	XORQ    R8, R8

row1:
	MOVQ (R14)(R8*8), SI
	ADDQ R11, SI
	MOVQ np+56(FP), CX

pair1:
	VMOVDQU  (SI), Y4
	VPMADDWD (DX), Y4, Y4
	VPADDD   Y4, Y0, Y0
	VMOVDQU  32(SI), Y5
	VPMADDWD 32(DX), Y5, Y5
	VPADDD   Y5, Y1, Y1
	ADDQ     $256, SI
	ADDQ     $256, DX
	DECQ     CX
	JNZ      pair1
	INCQ     R8
	CMPQ     R8, R13
	JLT      row1

	LEAQ         288(AX), CX
	CMPQ         fast+88(FP), $0
	JNE          req1f
	REQ(Y0, AX)
	REQ(Y1, CX)
	JMP          pack1

req1f:
	REQF(Y0, AX)
	REQF(Y1, CX)

pack1:
	VPACKSSDW    Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB    X1, X0, X0
	VPMAXSB      X11, X0, X0
	VPMINSB      X12, X0, X0
	VMOVDQU      X0, (DI)

	ADDQ R9, DI
	ADDQ R12, R11
	DECQ R10
	JNZ  pixel1

	VZEROUPPER
	RET
