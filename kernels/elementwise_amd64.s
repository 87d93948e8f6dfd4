//go:build !purego

#include "textflag.h"

// REQ: see gemm_amd64.s (per-lane parameters at P, zOut in Y10).
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

// REQF is REQ for a multiplier with Shift >= 1 (the clamp and the
// pre-shift are identities; see gemm_amd64.s).
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

// func chanMulAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c8 int, gate *int32, ep *ewParams, fast int)
// fast != 0 promises Shift >= 1 (REQF in the 16-channel steps).
// c8 > 0 is a multiple of 8; gate[c] = gate byte - zG.
TEXT ·chanMulAVX2(SB), NOSPLIT, $0-72
	MOVQ    dst+0(FP), DI
	MOVQ    dstStride+8(FP), R9
	MOVQ    src+16(FP), SI
	MOVQ    srcStride+24(FP), R11
	MOVQ    pixels+32(FP), R12
	MOVQ    c8+40(FP), R13
	MOVQ    gate+48(FP), DX
	MOVQ    ep+56(FP), AX
	MOVQ    fast+64(FP), R14
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), X11
	VMOVDQU 64(AX), X12
	VMOVDQU 96(AX), Y13
	ADDQ    $160, AX

cmpix:
	XORQ CX, CX

	// 16 channels per step while they last, then at most one step of 8.
cm16:
	LEAQ         16(CX), BX
	CMPQ         BX, R13
	JGT          cmch
	VPMOVSXBD    (SI)(CX*1), Y0
	VPMOVSXBD    8(SI)(CX*1), Y1
	VPSUBD       Y13, Y0, Y0
	VPSUBD       Y13, Y1, Y1
	VPMULLD      (DX)(CX*4), Y0, Y0
	VPMULLD      32(DX)(CX*4), Y1, Y1
	TESTQ        R14, R14
	JNZ          cm16f
	REQ(Y0, AX)
	REQ(Y1, AX)
	JMP          cm16p

cm16f:
	REQF(Y0, AX)
	REQF(Y1, AX)

cm16p:
	VPACKSSDW    Y1, Y0, Y0
	VPERMQ       $0xD8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB    X1, X0, X0
	VPMAXSB      X11, X0, X0
	VPMINSB      X12, X0, X0
	VMOVDQU      X0, (DI)(CX*1)
	MOVQ         BX, CX
	JMP          cm16

cmch:
	CMPQ      CX, R13
	JGE       cmnext
	VPMOVSXBD (SI)(CX*1), Y0
	VPSUBD    Y13, Y0, Y0
	VPMULLD   (DX)(CX*4), Y0, Y0
	REQ(Y0, AX)
	VPACKSSDW Y0, Y0, Y0
	VPERMQ    $0x08, Y0, Y0
	VPACKSSWB X0, X0, X0
	VPMAXSB   X11, X0, X0
	VPMINSB   X12, X0, X0
	MOVQ      X0, (DI)(CX*1)
	ADDQ      $8, CX
	JMP       cmch

cmnext:
	ADDQ      R9, DI
	ADDQ      R11, SI
	DECQ      R12
	JNZ       cmpix
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *int8, n16 int, ep *ewParams)
// n16 > 0 is a multiple of 16.
TEXT ·addAVX2(SB), NOSPLIT, $0-40
	MOVQ    dst+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n16+24(FP), R8
	MOVQ    ep+32(FP), AX
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), X11
	VMOVDQU 64(AX), X12
	VMOVDQU 448(AX), Y7
	VMOVDQU 480(AX), Y5
	VMOVDQU 512(AX), Y6
	VMOVDQU 544(AX), Y4
	VMOVQ   576(AX), X3
	XORQ    CX, CX

addloop:
	VPMOVSXBW    (SI)(CX*1), Y0
	VPMOVSXBW    (DX)(CX*1), Y1
	VPSUBW       Y5, Y0, Y0
	VPSUBW       Y6, Y1, Y1
	VPUNPCKLWD   Y1, Y0, Y2
	VPUNPCKHWD   Y1, Y0, Y0
	VPMADDWD     Y7, Y2, Y2
	VPMADDWD     Y7, Y0, Y0
	VPADDD       Y4, Y2, Y2
	VPADDD       Y4, Y0, Y0
	VPSRAD       X3, Y2, Y2
	VPSRAD       X3, Y0, Y0
	VPADDD       Y10, Y2, Y2
	VPADDD       Y10, Y0, Y0
	VPACKSSDW    Y0, Y2, Y2
	VEXTRACTI128 $1, Y2, X0
	VPACKSSWB    X0, X2, X2
	VPMAXSB      X11, X2, X2
	VPMINSB      X12, X2, X2
	VMOVDQU      X2, (DI)(CX*1)
	ADDQ         $16, CX
	CMPQ         CX, R8
	JLT          addloop
	VZEROUPPER
	RET

// func poolSumAVX2(acc *int32, src *int8, pixels int, c8 int, srcStride int)
// acc[c] = Σ_p src[p*srcStride+c] (wrapping) for c < c8, a multiple of 8.
TEXT ·poolSumAVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ pixels+16(FP), R8
	MOVQ c8+24(FP), R9
	MOVQ srcStride+32(FP), R10
	XORQ CX, CX

blk32:
	LEAQ  32(CX), AX
	CMPQ  AX, R9
	JGT   blk8
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	LEAQ  (SI)(CX*1), DX
	MOVQ  R8, BX

p32:
	VPMOVSXBD (DX), Y4
	VPMOVSXBD 8(DX), Y5
	VPMOVSXBD 16(DX), Y6
	VPMOVSXBD 24(DX), Y7
	VPADDD    Y4, Y0, Y0
	VPADDD    Y5, Y1, Y1
	VPADDD    Y6, Y2, Y2
	VPADDD    Y7, Y3, Y3
	ADDQ      R10, DX
	DECQ      BX
	JNZ       p32
	VMOVDQU   Y0, (DI)(CX*4)
	VMOVDQU   Y1, 32(DI)(CX*4)
	VMOVDQU   Y2, 64(DI)(CX*4)
	VMOVDQU   Y3, 96(DI)(CX*4)
	MOVQ      AX, CX
	JMP       blk32

blk8:
	CMPQ  CX, R9
	JGE   pooldone
	VPXOR Y0, Y0, Y0
	LEAQ  (SI)(CX*1), DX
	MOVQ  R8, BX

p8:
	VPMOVSXBD (DX), Y4
	VPADDD    Y4, Y0, Y0
	ADDQ      R10, DX
	DECQ      BX
	JNZ       p8
	VMOVDQU   Y0, (DI)(CX*4)
	ADDQ      $8, CX
	JMP       blk8

pooldone:
	VZEROUPPER
	RET

// LK ORs into Y1 the entries of table row off/16 (16 bytes at off(AX))
// for the bytes of Y0 whose running index is in [0, 16): VPADDUSB 0x70 sets
// bit 7 (VPSHUFB gives 0) for every other byte, and VPSUBB 16 moves the
// next row's bytes into [0, 16).
#define LK(off) \
	VBROADCASTI128 off(AX), Y2; \
	VPADDUSB       Y14, Y0, Y3; \
	VPSHUFB        Y3, Y2, Y3; \
	VPOR           Y3, Y1, Y1; \
	VPSUBB         Y15, Y0, Y0

// func lookupAVX2(dst, src *int8, n32 int, table *[256]int8)
// n32 > 0 is a multiple of 32.
TEXT ·lookupAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n32+16(FP), CX
	MOVQ         table+24(FP), AX
	MOVL         $0x70707070, DX
	MOVQ         DX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x10101010, DX
	MOVQ         DX, X15
	VPBROADCASTD X15, Y15
	XORQ         BX, BX

lkloop:
	VMOVDQU (SI)(BX*1), Y0
	VPXOR   Y1, Y1, Y1
	LK(0)
	LK(16)
	LK(32)
	LK(48)
	LK(64)
	LK(80)
	LK(96)
	LK(112)
	LK(128)
	LK(144)
	LK(160)
	LK(176)
	LK(192)
	LK(208)
	LK(224)
	LK(240)
	VMOVDQU Y1, (DI)(BX*1)
	ADDQ    $32, BX
	CMPQ    BX, CX
	JLT     lkloop
	VZEROUPPER
	RET
