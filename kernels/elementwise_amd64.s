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
	VMOVQ     X0, (DI)(CX*1)
	ADDQ      $8, CX
	JMP       cmch

cmnext:
	ADDQ      R9, DI
	ADDQ      R11, SI
	DECQ      R12
	JNZ       cmpix
	VZEROUPPER
	RET

// CMK turns V, 8 channels of (u, 128u) int16 pairs (u = x - zX), into
// W = (u*K1 + (u*K0 >> 17)) >> (s-24) for the channels' K = G*M split as
// K1*2^17 + K0 (the proof is in elementwise_amd64.go). The channels'
// (a, b) pairs: K1 at o1(DX)(CX*8), K0 at o0(DX)(CX*8), CX the first
// channel of their 16. T is a temporary.
#define CMK(V, o1, o0, T) \
	VPMADDWD o0(DX)(CX*8), V, T; \
	VPMADDWD o1(DX)(CX*8), V, V; \
	VPSRAD   $17, T, T; \
	VPADDD   T, V, V; \
	VPSRAD   X12, V, V

// CMU loads 16 bytes at S (int8 x) as (u, 128u) pairs: channels 0-3 and
// 8-11 in A, 4-7 and 12-15 in B (VPACKSSDW B, A restores the order).
#define CMU(S, A, B, T) \
	VPMOVSXBW  S, T; \
	VPSUBW     Y15, T, T; \
	VPSLLW     $7, T, B; \
	VPUNPCKLWD B, T, A; \
	VPUNPCKHWD B, T, B

// CM32 leaves in Y0 the 32 output bytes of channels CX..CX+31 (before
// the clamp).
#define CM32 \
	CMU((SI)(CX*1), Y0, Y1, Y8); \
	CMU(16(SI)(CX*1), Y2, Y3, Y9); \
	CMK(Y0, 0, 32, Y4); \
	CMK(Y1, 64, 96, Y5); \
	CMK(Y2, 128, 160, Y6); \
	CMK(Y3, 192, 224, Y7); \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y3, Y2, Y2; \
	VPMULHRSW Y13, Y0, Y0; \
	VPMULHRSW Y13, Y2, Y2; \
	VPADDSW   Y14, Y0, Y0; \
	VPADDSW   Y14, Y2, Y2; \
	VPACKSSWB Y2, Y0, Y0; \
	VPERMQ    $0xD8, Y0, Y0

// func chanMulKAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c8 int, k *int16, ep *cmParams)
// c8 > 0 is a multiple of 8; k holds the channels' K pairs, 128 bytes per
// 16 channels (cmSetupAVX2). Per 32 channels: 40 operations, 10 of them
// multiplies (chanMulAVX2 needed ~31 per 16 channels).
TEXT ·chanMulKAVX2(SB), NOSPLIT, $0-64
	MOVQ    dst+0(FP), DI
	MOVQ    dstStride+8(FP), R9
	MOVQ    src+16(FP), SI
	MOVQ    srcStride+24(FP), R11
	MOVQ    pixels+32(FP), R12
	MOVQ    c8+40(FP), R13
	MOVQ    k+48(FP), DX
	MOVQ    ep+56(FP), AX
	VMOVDQU (AX), Y15
	VMOVDQU 32(AX), Y14
	VMOVDQU 64(AX), Y13
	VMOVDQU 96(AX), Y11
	VMOVDQU 128(AX), Y10
	VMOVQ   160(AX), X12
	MOVQ    176(AX), R14

	MOVQ    R13, R10
	SHRQ    $5, R10            // 32-channel steps per pixel

ckpix:
	XORQ  CX, CX
	MOVQ  R10, BX
	TESTQ BX, BX
	JZ    ck16
	TESTQ R14, R14
	JNZ   ck32c

	// 32 channels per step, then one of 16, then one of 8 (c8 < 32 runs
	// only those). Two copies of the 32-channel loop, with and without the
	// clamp, keep it to three scalar operations per step.
ck32:
	CM32
	VMOVDQU Y0, (DI)(CX*1)
	ADDQ    $32, CX
	DECQ    BX
	JNZ     ck32
	JMP     ck16

ck32c:
	CM32
	VPMAXSB Y11, Y0, Y0
	VPMINSB Y10, Y0, Y0
	VMOVDQU Y0, (DI)(CX*1)
	ADDQ    $32, CX
	DECQ    BX
	JNZ     ck32c

ck16:
	LEAQ         16(CX), BX
	CMPQ         BX, R13
	JGT          ck8
	CMU((SI)(CX*1), Y0, Y1, Y8)
	CMK(Y0, 0, 32, Y4)
	CMK(Y1, 64, 96, Y5)
	VPACKSSDW    Y1, Y0, Y0
	VPMULHRSW    Y13, Y0, Y0
	VPADDSW      Y14, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB    X1, X0, X0
	VPMAXSB      X11, X0, X0
	VPMINSB      X10, X0, X0
	VMOVDQU      X0, (DI)(CX*1)
	MOVQ         BX, CX

ck8:
	CMPQ       CX, R13
	JGE        cknext
	LEAQ       (DX)(CX*8), R8
	VPMOVSXBW  (SI)(CX*1), X8
	VPSUBW     X15, X8, X8
	VPSLLW     $7, X8, X1
	VPUNPCKLWD X1, X8, X0
	VPUNPCKHWD X1, X8, X1
	VPMADDWD   32(R8), X0, X4
	VPMADDWD   (R8), X0, X0
	VPSRAD     $17, X4, X4
	VPADDD     X4, X0, X0
	VPSRAD     X12, X0, X0
	VPMADDWD   96(R8), X1, X5
	VPMADDWD   64(R8), X1, X1
	VPSRAD     $17, X5, X5
	VPADDD     X5, X1, X1
	VPSRAD     X12, X1, X1
	VPACKSSDW  X1, X0, X0
	VPMULHRSW  X13, X0, X0
	VPADDSW    X14, X0, X0
	VPACKSSWB  X0, X0, X0
	VPMAXSB    X11, X0, X0
	VPMINSB    X10, X0, X0
	VMOVQ      X0, (DI)(CX*1)

cknext:
	ADDQ R9, DI
	ADDQ R11, SI
	DECQ R12
	JNZ  ckpix
	VZEROUPPER
	RET

// func cmSetupAVX2(k *int16, gate *int8, c8 int, ep *cmParams)
// Writes chanMulKAVX2's pairs for channels [0, c8), c8 > 0 a multiple of 8:
// G = gate - zG, M = Mh*2^17 + Ml, G*Ml = q*2^17 + r (|G*Ml| < 2^25), so
// K1 = G*Mh + q and K0 = r, all in int32; a pair (a, b) = (K & 127, K >> 7)
// is one dword (K & 127) | (K << 9) & 0xFFFF0000 (VPBLENDW).
TEXT ·cmSetupAVX2(SB), NOSPLIT, $0-32
	MOVQ       k+0(FP), DI
	MOVQ       gate+8(FP), SI
	MOVQ       c8+16(FP), CX
	MOVQ       ep+24(FP), AX
	VMOVDQU    192(AX), Y15
	VMOVDQU    224(AX), Y14
	VMOVDQU    256(AX), Y13
	VPCMPEQD   Y12, Y12, Y12
	VPSRLD     $25, Y12, Y11   // 0x7F
	VPSRLD     $15, Y12, Y12   // 0x1FFFF
	XORQ       BX, BX          // channel
	MOVQ       DI, DX          // this 8-channel half's pairs

csloop:
	VPMOVSXBD  (SI)(BX*1), Y0
	VPSUBD     Y15, Y0, Y0
	VPMULLD    Y14, Y0, Y1     // G*Mh
	VPMULLD    Y13, Y0, Y0     // G*Ml
	VPSRAD     $17, Y0, Y2
	VPAND      Y12, Y0, Y0     // K0
	VPADDD     Y2, Y1, Y1      // K1
	VPAND      Y11, Y1, Y2
	VPSLLD     $9, Y1, Y1
	VPBLENDW   $0xAA, Y1, Y2, Y1
	VPAND      Y11, Y0, Y2
	VPSLLD     $9, Y0, Y0
	VPBLENDW   $0xAA, Y0, Y2, Y0
	VMOVDQU    X1, (DX)
	VMOVDQU    X0, 32(DX)
	VEXTRACTI128 $1, Y1, 64(DX)
	VEXTRACTI128 $1, Y0, 96(DX)
	// Channels 0-7 of a block fill the first 16 bytes of each vector,
	// 8-15 the second: next half at +16, next block at +128.
	ADDQ       $16, DX
	TESTQ      $8, BX
	JZ         csnext
	ADDQ       $96, DX

csnext:
	ADDQ       $8, BX
	CMPQ       BX, CX
	JLT        csloop
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

// PSW adds the 16 int16 channel sums in YA (XA its low half) to the
// int32 sums at off(DI)(CX*4).
#define PSW(YA, XA, off) \
	VPMOVSXWD    XA, Y8; \
	VEXTRACTI128 $1, YA, X9; \
	VPMOVSXWD    X9, Y9; \
	VPADDD       off(DI)(CX*4), Y8, Y8; \
	VPADDD       off+32(DI)(CX*4), Y9, Y9; \
	VMOVDQU      Y8, off(DI)(CX*4); \
	VMOVDQU      Y9, off+32(DI)(CX*4)

// PSCHUNK sets BX to the rows of the next chunk, at most 256: int16 sums
// of 256 int8 values stay in [-32768, 32512].
#define PSCHUNK \
	MOVQ    $256, BX; \
	CMPQ    R12, BX; \
	CMOVQLT R12, BX; \
	SUBQ    BX, R12

// func poolSumAVX2(acc *int32, src *int8, pixels int, c8 int, srcStride int)
// acc[c] = Σ_p src[p*srcStride+c] (wrapping) for c < c8, a multiple of 8.
// Passes of 64 channels (whole cache lines of a dense row), then 16, then
// 8; the pixels are summed in int16 (VPMOVSXBW + VPADDW: 8 operations per
// 64 bytes) in chunks of 256 rows, each chunk widened into acc.
TEXT ·poolSumAVX2(SB), NOSPLIT, $0-40
	MOVQ  acc+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  pixels+16(FP), R8
	MOVQ  c8+24(FP), R9
	MOVQ  srcStride+32(FP), R10
	XORQ  CX, CX
	VPXOR Y15, Y15, Y15

ps64:
	LEAQ    64(CX), AX
	CMPQ    AX, R9
	JGT     ps16
	VMOVDQU Y15, (DI)(CX*4)
	VMOVDQU Y15, 32(DI)(CX*4)
	VMOVDQU Y15, 64(DI)(CX*4)
	VMOVDQU Y15, 96(DI)(CX*4)
	VMOVDQU Y15, 128(DI)(CX*4)
	VMOVDQU Y15, 160(DI)(CX*4)
	VMOVDQU Y15, 192(DI)(CX*4)
	VMOVDQU Y15, 224(DI)(CX*4)
	LEAQ    (SI)(CX*1), DX
	MOVQ    R8, R12

ps64chunk:
	PSCHUNK
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

ps64row:
	VPMOVSXBW (DX), Y4
	VPMOVSXBW 16(DX), Y5
	VPMOVSXBW 32(DX), Y6
	VPMOVSXBW 48(DX), Y7
	VPADDW    Y4, Y0, Y0
	VPADDW    Y5, Y1, Y1
	VPADDW    Y6, Y2, Y2
	VPADDW    Y7, Y3, Y3
	ADDQ      R10, DX
	DECQ      BX
	JNZ       ps64row
	PSW(Y0, X0, 0)
	PSW(Y1, X1, 64)
	PSW(Y2, X2, 128)
	PSW(Y3, X3, 192)
	TESTQ     R12, R12
	JNZ       ps64chunk
	MOVQ      AX, CX
	JMP       ps64

ps16:
	LEAQ    16(CX), AX
	CMPQ    AX, R9
	JGT     ps8
	VMOVDQU Y15, (DI)(CX*4)
	VMOVDQU Y15, 32(DI)(CX*4)
	LEAQ    (SI)(CX*1), DX
	MOVQ    R8, R12

ps16chunk:
	PSCHUNK
	VPXOR Y0, Y0, Y0

ps16row:
	VPMOVSXBW (DX), Y4
	VPADDW    Y4, Y0, Y0
	ADDQ      R10, DX
	DECQ      BX
	JNZ       ps16row
	PSW(Y0, X0, 0)
	TESTQ     R12, R12
	JNZ       ps16chunk
	MOVQ      AX, CX
	JMP       ps16

ps8:
	CMPQ    CX, R9
	JGE     psdone
	VMOVDQU Y15, (DI)(CX*4)
	LEAQ    (SI)(CX*1), DX
	MOVQ    R8, R12

ps8chunk:
	PSCHUNK
	VPXOR X0, X0, X0

ps8row:
	VPMOVSXBW (DX), X4
	VPADDW    X4, X0, X0
	ADDQ      R10, DX
	DECQ      BX
	JNZ       ps8row
	VPMOVSXWD X0, Y8
	VPADDD    (DI)(CX*4), Y8, Y8
	VMOVDQU   Y8, (DI)(CX*4)
	TESTQ     R12, R12
	JNZ       ps8chunk

psdone:
	VZEROUPPER
	RET

// LKH leaves in D the entries of table rows off/16 (source bytes below
// 128) and off/16+8 (the others) at the low nibbles of the source bytes:
// Y1 is source & 0x8F and Y0 is Y1 ^ 0x80, so exactly one of the two
// VPSHUFB sees bit 7 clear and the other returns 0. The rows are
// VBROADCASTI128 loads (no ALU operation on Zen 3).
#define LKH(off, D) \
	VBROADCASTI128 off(AX), Y5; \
	VBROADCASTI128 128+off(AX), Y6; \
	VPSHUFB        Y1, Y5, Y5; \
	VPSHUFB        Y0, Y6, Y6; \
	VPOR           Y6, Y5, D

// func lookupAVX2(dst, src *int8, n32 int, table *[256]int8)
// n32 > 0 is a multiple of 32. Per 32 bytes: 16 VPSHUFB and 8 VPOR give
// the 8 candidates (source bits 6..4), a VPBLENDVB tree picks one on bit 4
// (Y4 = source << 3 by VPADDB), bit 5 (Y3) and bit 6 (Y2): 36 operations.
// The constants are set with VMOVQ: a legacy-SSE MOVQ to an X register
// after a VEX.256 write costs ~120 ns per call here.
TEXT ·lookupAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n32+16(FP), CX
	MOVQ         table+24(FP), AX
	MOVL         $0x8f8f8f8f, DX
	VMOVQ        DX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x80808080, DX
	VMOVQ        DX, X14
	VPBROADCASTD X14, Y14
	XORQ         BX, BX

lkloop:
	VMOVDQU   (SI)(BX*1), Y0
	VPAND     Y15, Y0, Y1
	VPADDB    Y0, Y0, Y2
	VPADDB    Y2, Y2, Y3
	VPADDB    Y3, Y3, Y4
	VPXOR     Y14, Y1, Y0
	LKH(0, Y7)
	LKH(16, Y8)
	VPBLENDVB Y4, Y8, Y7, Y7
	LKH(32, Y8)
	LKH(48, Y9)
	VPBLENDVB Y4, Y9, Y8, Y8
	VPBLENDVB Y3, Y8, Y7, Y7
	LKH(64, Y8)
	LKH(80, Y9)
	VPBLENDVB Y4, Y9, Y8, Y8
	LKH(96, Y9)
	LKH(112, Y10)
	VPBLENDVB Y4, Y10, Y9, Y9
	VPBLENDVB Y3, Y9, Y8, Y8
	VPBLENDVB Y2, Y8, Y7, Y7
	VMOVDQU   Y7, (DI)(BX*1)
	ADDQ      $32, BX
	CMPQ      BX, CX
	JLT       lkloop
	VZEROUPPER
	RET
