//go:build !purego

#include "textflag.h"

// VPERMD index that puts the 16 bytes of one pixel together after
// VPACKSSDW(ch0-7, ch8-15) of two pixels and VPACKSSWB of the two.
DATA gemmPerm<>+0(SB)/4, $0
DATA gemmPerm<>+4(SB)/4, $4
DATA gemmPerm<>+8(SB)/4, $1
DATA gemmPerm<>+12(SB)/4, $5
DATA gemmPerm<>+16(SB)/4, $2
DATA gemmPerm<>+20(SB)/4, $6
DATA gemmPerm<>+24(SB)/4, $3
DATA gemmPerm<>+28(SB)/4, $7
GLOBL gemmPerm<>(SB), RODATA|NOPTR, $32

// REQ requantizes the 8 int32 lanes of acc in place with the per-lane
// parameters of one rqVec at P (see rqVec in gemm_amd64.go), then adds the
// output zero point held in Y10. Clobbers Y8, Y9.
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

// REQF is REQ for lanes whose Shift >= 1 (lo/hi the int32 range, lsh 0):
// the clamp and the pre-shift are identities and are left out.
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

// REQH is the requantization for Shift >= 2 when hi + c fits in int32
// (gemmEpiX.setChannels checks it): only the high dword of acc*M matters,
// hi32(acc*M + 2^(s-1)) = hi + 2^(Shift-2), and adding zOut*2^(Shift-1)
// before the arithmetic shift by Shift-1 adds zOut after it. H points at
// an rqHVec (M even/odd, c, Shift-1). Clobbers Y8, Y9.
#define REQH(acc, H) \
	VPSRLQ    $32, acc, Y9; \
	VPMULDQ   0(H), acc, Y8; \
	VPMULDQ   32(H), Y9, Y9; \
	VPSRLQ    $32, Y8, Y8; \
	VPBLENDD  $0xAA, Y9, Y8, acc; \
	VPADDD    64(H), acc, acc; \
	VPSRAVD   96(H), acc, acc

// KPAIR accumulates one k-pair: weights at wo(SI) (16 channels as int16
// pairs, 64 bytes), inputs at xo(DI) for the four scratch rows.
#define KPAIR(wo, wo2, xo) \
	VMOVDQU      wo(SI), Y12; \
	VMOVDQU      wo2(SI), Y13; \
	VPBROADCASTD xo(DI), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPADDD       Y15, Y0, Y0; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y14, Y1, Y1; \
	VPBROADCASTD xo(DI)(BX*1), Y8; \
	VPMADDWD     Y12, Y8, Y9; \
	VPADDD       Y9, Y2, Y2; \
	VPMADDWD     Y13, Y8, Y8; \
	VPADDD       Y8, Y3, Y3; \
	VPBROADCASTD xo(DI)(BX*2), Y10; \
	VPMADDWD     Y12, Y10, Y11; \
	VPADDD       Y11, Y4, Y4; \
	VPMADDWD     Y13, Y10, Y10; \
	VPADDD       Y10, Y5, Y5; \
	VPBROADCASTD xo(DI)(DX*1), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPADDD       Y15, Y6, Y6; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y14, Y7, Y7

// COPY41 copies bytes [AX, CX) from (SI) to (DI) once fewer than 8 are
// left: 4 bytes if they fit, then single bytes; R13 is scratch. L4 and L1
// are the labels it defines, DONE where it goes after.
#define COPY41(L4, L1, DONE) \
L4: \
	LEAQ 4(AX), R13; \
	CMPQ R13, CX; \
	JGT  L1; \
	MOVL (SI)(AX*1), R13; \
	MOVL R13, (DI)(AX*1); \
	ADDQ $4, AX; \
L1: \
	CMPQ AX, CX; \
	JGE  DONE; \
	MOVB (SI)(AX*1), R13; \
	MOVB R13, (DI)(AX*1); \
	INCQ AX; \
	JMP  L1

// STORE12 stores channels 0-11 of two pixels packed in Y (pixel 0 in its
// low lane, pixel 1 in its high lane) at (B) and (B)(R9*1): an 8- and a
// 4-byte store each. X and XH are Y's low half and a free X register.
#define STORE12(Y, X, XH, B) \
	VEXTRACTI128 $1, Y, XH; \
	VMOVQ        X, (B); \
	VPEXTRD      $2, X, 8(B); \
	VMOVQ        XH, (B)(R9*1); \
	VPEXTRD      $2, XH, 8(B)(R9*1)

// HPAIR is KPAIR for channels 0-7 of the block only (Y0, Y2, Y4, Y6).
#define HPAIR(wo, xo) \
	VMOVDQU      wo(SI), Y12; \
	VPBROADCASTD xo(DI), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPADDD       Y15, Y0, Y0; \
	VPBROADCASTD xo(DI)(BX*1), Y8; \
	VPMADDWD     Y12, Y8, Y9; \
	VPADDD       Y9, Y2, Y2; \
	VPBROADCASTD xo(DI)(BX*2), Y10; \
	VPMADDWD     Y12, Y10, Y11; \
	VPADDD       Y11, Y4, Y4; \
	VPBROADCASTD xo(DI)(DX*1), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPADDD       Y15, Y6, Y6

// func gemmKernelAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, k int, nc int,
//	w *int8, ep *gemmEpiX, scratch *int16, rowBytes int, raw *int32, mode int)
//
// mode bits (gemmReqF...gemmPreCvt in gemm_amd64.go): 1 every Shift >= 1
// (REQF), 2 the REQH parameters are valid (preferred), 4 no clamp (qmin,
// qmax = -128, 127), 8 the scratch rows are already converted (the kernel
// reads pixel p's row at scratch + p*rowBytes and never reads src).
//
// Locals: 0(SP) channels left, 8(SP) output block pointer, 16(SP) saved SI,
// 24(SP) pixels in this tile, 32(SP) saved AX, 40(SP) output block step,
// 48(SP) REQH parameters of the block.
TEXT ·gemmKernelAVX2(SB), NOSPLIT, $56-104
	MOVQ dst+0(FP), R8
	MOVQ dstStride+8(FP), R9
	MOVQ src+16(FP), R10
	MOVQ srcStride+24(FP), R11
	MOVQ pixels+32(FP), R12
	MOVQ scratch+72(FP), R14
	MOVQ rowBytes+80(FP), BX
	MOVQ k+40(FP), R13
	INCQ R13
	SHRQ $1, R13

tile:
	MOVQ R12, AX
	CMPQ AX, $4
	JLE  mrok
	MOVQ $4, AX

mrok:
	MOVQ  AX, 24(SP)
	MOVQ  mode+96(FP), CX
	TESTQ $8, CX
	JNZ   cvtdone

	// Sign-extend the tile's rows to int16 scratch rows: all four rows
	// together (one pass, no per-row setup), or one row at a time for a
	// short tile (its missing rows may lie past the end of src).
	CMPQ 24(SP), $4
	JLT  cvtrows
	LEAQ (BX)(BX*2), DX
	LEAQ (R11)(R11*2), AX
	MOVQ R10, SI
	MOVQ R14, DI
	MOVQ k+40(FP), CX

c4x16:
	CMPQ      CX, $16
	JLT       c4x8
	VPMOVSXBW (SI), Y0
	VPMOVSXBW (SI)(R11*1), Y1
	VPMOVSXBW (SI)(R11*2), Y2
	VPMOVSXBW (SI)(AX*1), Y3
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, (DI)(BX*1)
	VMOVDQU   Y2, (DI)(BX*2)
	VMOVDQU   Y3, (DI)(DX*1)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       c4x16

c4x8:
	CMPQ      CX, $8
	JLT       c4x4
	VPMOVSXBW (SI), X0
	VPMOVSXBW (SI)(R11*1), X1
	VPMOVSXBW (SI)(R11*2), X2
	VPMOVSXBW (SI)(AX*1), X3
	VMOVDQU   X0, (DI)
	VMOVDQU   X1, (DI)(BX*1)
	VMOVDQU   X2, (DI)(BX*2)
	VMOVDQU   X3, (DI)(DX*1)
	ADDQ      $8, SI
	ADDQ      $16, DI
	SUBQ      $8, CX

c4x4:
	CMPQ      CX, $4
	JLT       c4x1
	MOVL      (SI), R13
	VMOVD     R13, X0
	MOVL      (SI)(R11*1), R13
	VMOVD     R13, X1
	MOVL      (SI)(R11*2), R13
	VMOVD     R13, X2
	MOVL      (SI)(AX*1), R13
	VMOVD     R13, X3
	VPMOVSXBW X0, X0
	VPMOVSXBW X1, X1
	VPMOVSXBW X2, X2
	VPMOVSXBW X3, X3
	VMOVQ     X0, (DI)
	VMOVQ     X1, (DI)(BX*1)
	VMOVQ     X2, (DI)(BX*2)
	VMOVQ     X3, (DI)(DX*1)
	ADDQ      $4, SI
	ADDQ      $8, DI
	SUBQ      $4, CX

c4x1:
	TESTQ   CX, CX
	JZ      c4pad
	MOVBLSX (SI), R13
	MOVW    R13, (DI)
	MOVBLSX (SI)(R11*1), R13
	MOVW    R13, (DI)(BX*1)
	MOVBLSX (SI)(R11*2), R13
	MOVW    R13, (DI)(BX*2)
	MOVBLSX (SI)(AX*1), R13
	MOVW    R13, (DI)(DX*1)
	INCQ    SI
	ADDQ    $2, DI
	DECQ    CX
	JMP     c4x1

c4pad:
	MOVQ  k+40(FP), CX
	TESTQ $1, CX
	JZ    c4done
	MOVW  $0, (DI)
	MOVW  $0, (DI)(BX*1)
	MOVW  $0, (DI)(BX*2)
	MOVW  $0, (DI)(DX*1)

c4done:
	MOVQ k+40(FP), R13
	INCQ R13
	SHRQ $1, R13
	JMP  cvtdone

cvtrows:
	XORQ AX, AX

cvtrow:
	MOVQ  AX, CX
	IMULQ R11, CX
	LEAQ  (R10)(CX*1), SI
	MOVQ  AX, CX
	IMULQ BX, CX
	LEAQ  (R14)(CX*1), DI
	MOVQ  k+40(FP), CX

cvt16:
	CMPQ      CX, $16
	JLT       cvt8
	VPMOVSXBW (SI), Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       cvt16

cvt8:
	CMPQ      CX, $8
	JLT       cvt1
	VPMOVSXBW (SI), X0
	VMOVDQU   X0, (DI)
	ADDQ      $8, SI
	ADDQ      $16, DI
	SUBQ      $8, CX

cvt4:
	CMPQ      CX, $4
	JLT       cvt1
	MOVL      (SI), DX
	VMOVD     DX, X0
	VPMOVSXBW X0, X0
	VMOVQ     X0, (DI)
	ADDQ      $4, SI
	ADDQ      $8, DI
	SUBQ      $4, CX

cvt1:
	TESTQ   CX, CX
	JZ      cvtpad
	MOVBLSX (SI), DX
	MOVW    DX, (DI)
	INCQ    SI
	ADDQ    $2, DI
	DECQ    CX
	JMP     cvt1

cvtpad:
	MOVQ  k+40(FP), CX
	TESTQ $1, CX
	JZ    cvtnext
	MOVW  $0, (DI)

cvtnext:
	INCQ AX
	CMPQ AX, 24(SP)
	JLT  cvtrow

cvtdone:
	LEAQ (BX)(BX*2), DX

	// Channel blocks of 16.
	MOVQ w+56(FP), SI
	MOVQ ep+64(FP), AX
	LEAQ 2464(AX), CX
	MOVQ CX, 48(SP)
	ADDQ $160, AX
	MOVQ nc+48(FP), CX
	MOVQ CX, 0(SP)
	MOVQ raw+88(FP), CX
	TESTQ CX, CX
	JNZ  rawinit
	MOVQ R8, 8(SP)
	MOVQ $16, 40(SP)
	JMP  block

rawinit:
	MOVQ CX, 8(SP)
	MOVQ $64, 40(SP)

block:
	CMPQ    0(SP), $8
	JLE     halfblock
	VMOVDQU 0(AX), Y0
	VMOVDQU 288(AX), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y0, Y6
	VMOVDQA Y1, Y7
	MOVQ    R14, DI
	MOVQ    R13, CX
	CMPQ    24(SP), $1
	JEQ     k1loop2
	PCALIGN $32

kloop2:
	CMPQ CX, $2
	JLT  kloop1
	KPAIR(0, 32, 0)
	KPAIR(64, 96, 4)
	ADDQ $128, SI
	ADDQ $8, DI
	SUBQ $2, CX
	JMP  kloop2

kloop1:
	TESTQ CX, CX
	JZ    kdone
	KPAIR(0, 32, 0)
	ADDQ  $64, SI
	JMP   kdone

	// A 1-pixel tile (49 = 8*6 + 1 on 7x7 maps) accumulates only its row
	// (Y0, Y1); the other accumulators keep the bias and are not stored.
k1loop2:
	CMPQ         CX, $2
	JLT          k1loop1
	VPBROADCASTD (DI), Y14
	VPBROADCASTD 4(DI), Y15
	VPMADDWD     (SI), Y14, Y8
	VPMADDWD     32(SI), Y14, Y9
	VPMADDWD     64(SI), Y15, Y10
	VPMADDWD     96(SI), Y15, Y11
	VPADDD       Y8, Y0, Y0
	VPADDD       Y9, Y1, Y1
	VPADDD       Y10, Y0, Y0
	VPADDD       Y11, Y1, Y1
	ADDQ         $128, SI
	ADDQ         $8, DI
	SUBQ         $2, CX
	JMP          k1loop2

k1loop1:
	TESTQ        CX, CX
	JZ           kdone
	VPBROADCASTD (DI), Y14
	VPMADDWD     (SI), Y14, Y8
	VPMADDWD     32(SI), Y14, Y9
	VPADDD       Y8, Y0, Y0
	VPADDD       Y9, Y1, Y1
	ADDQ         $64, SI

kdone:
	MOVQ  raw+88(FP), CX
	TESTQ CX, CX
	JNZ   rawstore

	MOVQ    mode+96(FP), CX
	TESTQ   $2, CX
	JNZ     fullh
	MOVQ    ep+64(FP), DI
	VMOVDQU (DI), Y10
	LEAQ    288(AX), DI
	TESTQ   $1, CX
	JNZ     fullfast
	REQ(Y0, AX)
	REQ(Y1, DI)
	REQ(Y2, AX)
	REQ(Y3, DI)
	REQ(Y4, AX)
	REQ(Y5, DI)
	REQ(Y6, AX)
	REQ(Y7, DI)
	JMP     fullpack

fullfast:
	REQF(Y0, AX)
	REQF(Y1, DI)
	REQF(Y2, AX)
	REQF(Y3, DI)
	REQF(Y4, AX)
	REQF(Y5, DI)
	REQF(Y6, AX)
	REQF(Y7, DI)
	JMP fullpack

fullh:
	MOVQ 48(SP), CX
	LEAQ 128(CX), DI
	REQH(Y0, CX)
	REQH(Y1, DI)
	REQH(Y2, CX)
	REQH(Y3, DI)
	REQH(Y4, CX)
	REQH(Y5, DI)
	REQH(Y6, CX)
	REQH(Y7, DI)

fullpack:
	VMOVDQU   gemmPerm<>(SB), Y13
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y13, Y0
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKSSWB Y6, Y4, Y4
	VPERMD    Y4, Y13, Y4
	MOVQ      mode+96(FP), CX
	TESTQ     $4, CX
	JNZ       fullstore
	MOVQ      ep+64(FP), DI
	VPMAXSB   32(DI), Y0, Y0
	VPMINSB   64(DI), Y0, Y0
	VPMAXSB   32(DI), Y4, Y4
	VPMINSB   64(DI), Y4, Y4

fullstore:
	MOVQ 8(SP), DI
	CMPQ 0(SP), $16
	JLT  slowstore
	CMPQ 24(SP), $4
	JLT  slowstore
	VMOVDQU      X0, (DI)
	VEXTRACTI128 $1, Y0, (DI)(R9*1)
	VMOVDQU      X4, (DI)(R9*2)
	LEAQ         (DI)(R9*2), CX
	VEXTRACTI128 $1, Y4, (CX)(R9*1)
	JMP          nextblock

slowstore:
	// 12 channels (n = 12, 60) of 4 pixels: an 8- and a 4-byte store each.
	CMPQ         24(SP), $4
	JLT          spillstore
	CMPQ         0(SP), $12
	JNE          spillstore
	STORE12(Y0, X0, X1, DI)
	LEAQ (DI)(R9*2), CX
	STORE12(Y4, X4, X5, CX)
	JMP  nextblock

spillstore:
	// Copy min(16, channels left) bytes of each of the tile's pixels.
	MOVQ    AX, 32(SP)
	MOVQ    SI, 16(SP)
	MOVQ    ep+64(FP), SI
	ADDQ    $3519, SI
	ANDQ    $-32, SI
	VMOVDQA Y0, (SI)
	VMOVDQA Y4, 32(SI)
	MOVQ    24(SP), DX
	MOVQ    0(SP), CX
	CMPQ    CX, $16
	JLE     rowcopy
	MOVQ    $16, CX

rowcopy:
	XORQ AX, AX

copy8:
	LEAQ 8(AX), R13
	CMPQ R13, CX
	JGT  copy4
	MOVQ (SI)(AX*1), R13
	MOVQ R13, (DI)(AX*1)
	ADDQ $8, AX
	JMP  copy8

	COPY41(copy4, copy1, rowdone)

rowdone:
	ADDQ $16, SI
	ADDQ R9, DI
	DECQ DX
	JNZ  rowcopy
	MOVQ 32(SP), AX
	MOVQ 16(SP), SI
	LEAQ (BX)(BX*2), DX
	MOVQ k+40(FP), R13
	INCQ R13
	SHRQ $1, R13
	JMP  nextblock

rawstore:
	MOVQ    8(SP), DI
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 256(DI)
	VMOVDQU Y3, 288(DI)
	VMOVDQU Y4, 512(DI)
	VMOVDQU Y5, 544(DI)
	VMOVDQU Y6, 768(DI)
	VMOVDQU Y7, 800(DI)
	JMP     nextblock

	// The last block when it has at most 8 channels: accumulators Y0, Y2,
	// Y4, Y6 only (the packed block still holds 16 channels).
halfblock:
	VMOVDQU 0(AX), Y0
	VMOVDQA Y0, Y2
	VMOVDQA Y0, Y4
	VMOVDQA Y0, Y6
	MOVQ    R14, DI
	MOVQ    R13, CX
	PCALIGN $32

hloop2:
	CMPQ CX, $2
	JLT  hloop1
	HPAIR(0, 0)
	HPAIR(64, 4)
	ADDQ $128, SI
	ADDQ $8, DI
	SUBQ $2, CX
	JMP  hloop2

hloop1:
	TESTQ CX, CX
	JZ    hdone
	HPAIR(0, 0)
	ADDQ  $64, SI

hdone:
	MOVQ  raw+88(FP), CX
	TESTQ CX, CX
	JNZ   rawstore

	MOVQ    mode+96(FP), CX
	TESTQ   $2, CX
	JNZ     halfh
	MOVQ    ep+64(FP), DI
	VMOVDQU (DI), Y10
	TESTQ   $1, CX
	JNZ     halffast
	REQ(Y0, AX)
	REQ(Y2, AX)
	REQ(Y4, AX)
	REQ(Y6, AX)
	JMP     halfpack

halffast:
	REQF(Y0, AX)
	REQF(Y2, AX)
	REQF(Y4, AX)
	REQF(Y6, AX)
	JMP halfpack

halfh:
	MOVQ 48(SP), CX
	REQH(Y0, CX)
	REQH(Y2, CX)
	REQH(Y4, CX)
	REQH(Y6, CX)

halfpack:
	VMOVDQU   gemmPerm<>(SB), Y13
	VPACKSSDW Y2, Y0, Y0
	VPACKSSDW Y6, Y4, Y4
	VPACKSSWB Y4, Y0, Y0
	VPERMD    Y0, Y13, Y0
	MOVQ      mode+96(FP), CX
	TESTQ     $4, CX
	JNZ       halfstore
	MOVQ      ep+64(FP), DI
	VPMAXSB   32(DI), Y0, Y0
	VPMINSB   64(DI), Y0, Y0

halfstore:
	// Y0 holds 8 bytes per pixel.
	MOVQ         8(SP), DI
	CMPQ         0(SP), $8
	JLT          hslow
	CMPQ         24(SP), $4
	JLT          hslow
	VEXTRACTI128 $1, Y0, X1
	VMOVQ        X0, (DI)
	VPEXTRQ      $1, X0, (DI)(R9*1)
	VMOVQ        X1, (DI)(R9*2)
	LEAQ         (DI)(R9*2), CX
	VPEXTRQ      $1, X1, (CX)(R9*1)
	JMP          nextblock

hslow:
	// 4 channels (n%16 = 4) of 4 pixels: one 4-byte store each.
	CMPQ         24(SP), $4
	JLT          hspill
	CMPQ         0(SP), $4
	JNE          hspill
	VEXTRACTI128 $1, Y0, X1
	VMOVD        X0, (DI)
	VPEXTRD      $2, X0, (DI)(R9*1)
	LEAQ         (DI)(R9*2), CX
	VMOVD        X1, (CX)
	VPEXTRD      $2, X1, (CX)(R9*1)
	JMP          nextblock

hspill:
	MOVQ    AX, 32(SP)
	MOVQ    SI, 16(SP)
	MOVQ    ep+64(FP), SI
	ADDQ    $3519, SI
	ANDQ    $-32, SI
	VMOVDQA Y0, (SI)
	MOVQ    24(SP), DX
	MOVQ    0(SP), CX

hrow:
	XORQ AX, AX
	CMPQ CX, $4
	JLT  hcopy
	MOVL (SI), R13
	MOVL R13, (DI)
	MOVQ $4, AX

hcopy:
	CMPQ AX, CX
	JGE  hrowdone
	MOVB (SI)(AX*1), R13
	MOVB R13, (DI)(AX*1)
	INCQ AX
	JMP  hcopy

hrowdone:
	ADDQ $8, SI
	ADDQ R9, DI
	DECQ DX
	JNZ  hrow
	MOVQ 32(SP), AX
	MOVQ 16(SP), SI
	LEAQ (BX)(BX*2), DX
	MOVQ k+40(FP), R13
	INCQ R13
	SHRQ $1, R13

nextblock:
	ADDQ $576, AX
	ADDQ $256, 48(SP)
	MOVQ 8(SP), CX
	ADDQ 40(SP), CX
	MOVQ CX, 8(SP)
	MOVQ 0(SP), CX
	SUBQ $16, CX
	MOVQ CX, 0(SP)
	JG   block

	// Next tile of 4 pixels.
	LEAQ (R11)(R11*1), CX
	LEAQ (R10)(CX*2), R10
	LEAQ  (R9)(R9*1), CX
	LEAQ  (R8)(CX*2), R8
	MOVQ  mode+96(FP), CX
	TESTQ $8, CX
	JZ    nexttile
	LEAQ  (R14)(BX*4), R14

nexttile:
	SUBQ $4, R12
	JG   tile

	VZEROUPPER
	RET

// The 6-pixel kernel's macros: accumulators Y0-Y11, temporaries Y12-Y15;
// each pixel's two VPMADDWDs are issued before their adds (~2-4% faster
// on the large-k layers in alternated runs);
// the zero point is a memory operand (Z points at gemmEpi.zOut).
#define KPAIR6(wo, wo2, xo) \
	VMOVDQU      wo(SI), Y12; \
	VMOVDQU      wo2(SI), Y13; \
	VPBROADCASTD xo(DI), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y15, Y0, Y0; \
	VPADDD       Y14, Y1, Y1; \
	VPBROADCASTD xo(DI)(BX*1), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y15, Y2, Y2; \
	VPADDD       Y14, Y3, Y3; \
	VPBROADCASTD xo(DI)(BX*2), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y15, Y4, Y4; \
	VPADDD       Y14, Y5, Y5; \
	VPBROADCASTD xo(R13), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y15, Y6, Y6; \
	VPADDD       Y14, Y7, Y7; \
	VPBROADCASTD xo(R13)(BX*1), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y15, Y8, Y8; \
	VPADDD       Y14, Y9, Y9; \
	VPBROADCASTD xo(R13)(BX*2), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPMADDWD     Y13, Y14, Y14; \
	VPADDD       Y15, Y10, Y10; \
	VPADDD       Y14, Y11, Y11

#define REQ6(acc, P, Z) \
	VPMAXSD   32(P), acc, acc; \
	VPMINSD   64(P), acc, acc; \
	VPSLLVD   96(P), acc, acc; \
	VPSRLQ    $32, acc, Y13; \
	VPMULDQ   128(P), acc, Y12; \
	VPMULDQ   160(P), Y13, Y13; \
	VPADDQ    192(P), Y12, Y12; \
	VPADDQ    224(P), Y13, Y13; \
	VPSRLQ    $32, Y12, Y12; \
	VPBLENDD  $0xAA, Y13, Y12, acc; \
	VPSRAVD   256(P), acc, acc; \
	VPADDD    (Z), acc, acc

#define REQF6(acc, P, Z) \
	VPSRLQ    $32, acc, Y13; \
	VPMULDQ   128(P), acc, Y12; \
	VPMULDQ   160(P), Y13, Y13; \
	VPADDQ    192(P), Y12, Y12; \
	VPADDQ    224(P), Y13, Y13; \
	VPSRLQ    $32, Y12, Y12; \
	VPBLENDD  $0xAA, Y13, Y12, acc; \
	VPSRAVD   256(P), acc, acc; \
	VPADDD    (Z), acc, acc

#define REQH6(acc, H) \
	VPSRLQ    $32, acc, Y13; \
	VPMULDQ   0(H), acc, Y12; \
	VPMULDQ   32(H), Y13, Y13; \
	VPSRLQ    $32, Y12, Y12; \
	VPBLENDD  $0xAA, Y13, Y12, acc; \
	VPADDD    64(H), acc, acc; \
	VPSRAVD   96(H), acc, acc

// HPAIR6 is KPAIR6 for channels 0-7 of the block only (Y0, Y2, ..., Y10).
#define HPAIR6(wo, xo) \
	VMOVDQU      wo(SI), Y12; \
	VPBROADCASTD xo(DI), Y13; \
	VPBROADCASTD xo(DI)(BX*1), Y14; \
	VPBROADCASTD xo(DI)(BX*2), Y15; \
	VPMADDWD     Y12, Y13, Y13; \
	VPMADDWD     Y12, Y14, Y14; \
	VPMADDWD     Y12, Y15, Y15; \
	VPADDD       Y13, Y0, Y0; \
	VPADDD       Y14, Y2, Y2; \
	VPADDD       Y15, Y4, Y4; \
	VPBROADCASTD xo(R13), Y13; \
	VPBROADCASTD xo(R13)(BX*1), Y14; \
	VPBROADCASTD xo(R13)(BX*2), Y15; \
	VPMADDWD     Y12, Y13, Y13; \
	VPMADDWD     Y12, Y14, Y14; \
	VPMADDWD     Y12, Y15, Y15; \
	VPADDD       Y13, Y6, Y6; \
	VPADDD       Y14, Y8, Y8; \
	VPADDD       Y15, Y10, Y10

// func gemmKernel6AVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, k int, nc int,
//	w *int8, ep *gemmEpiX, scratch *int16, rowBytes int, raw *int32, mode int)
//
// gemmKernelAVX2 with tiles of 6 pixels x 16 channels (12 accumulators):
// per k-pair 12 VPMADDWD for 2 weight loads and 6 broadcasts. pixels must
// be a multiple of 6; nc is any count up to gemmChunk: a last block of 9-15
// channels computes 16 and stores the valid ones (12: an 8- and a 4-byte
// store per pixel), one of at most 8 runs a half block (Y0, Y2, ..., Y10;
// 8 or 4 channels: one 8- or 4-byte store per pixel); other counts go
// through the spill in gemmEpiX. raw must be nil; mode bits as there
// (pre-converted rows advance 6 per tile).
//
// R12 holds the channels left. Locals: 8(SP) output block pointer, 16(SP)
// saved SI, 24(SP) pixels left, 32(SP) saved AX, 40(SP) spill row stride,
// 48(SP) REQH parameters of the block.
TEXT ·gemmKernel6AVX2(SB), NOSPLIT, $56-104
	MOVQ dst+0(FP), R8
	MOVQ dstStride+8(FP), R9
	MOVQ src+16(FP), R10
	MOVQ srcStride+24(FP), R11
	MOVQ pixels+32(FP), CX
	MOVQ CX, 24(SP)
	MOVQ scratch+72(FP), R14
	MOVQ rowBytes+80(FP), BX
	LEAQ (BX)(BX*2), DX

t6tile:
	MOVQ  mode+96(FP), CX
	TESTQ $8, CX
	JNZ   b6blocks

	// Sign-extend the 6 rows in one pass: rows 0-2 from SI to DI, rows 3-5
	// from AX to R13.
	LEAQ (R11)(R11*2), CX
	MOVQ R10, SI
	LEAQ (R10)(CX*1), AX
	MOVQ R14, DI
	LEAQ (R14)(DX*1), R13
	MOVQ k+40(FP), CX

c6x16:
	CMPQ CX, $16
	JLT  c6x8
	VPMOVSXBW (SI), Y0
	VPMOVSXBW (SI)(R11*1), Y1
	VPMOVSXBW (SI)(R11*2), Y2
	VPMOVSXBW (AX), Y3
	VPMOVSXBW (AX)(R11*1), Y4
	VPMOVSXBW (AX)(R11*2), Y5
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, (DI)(BX*1)
	VMOVDQU   Y2, (DI)(BX*2)
	VMOVDQU   Y3, (R13)
	VMOVDQU   Y4, (R13)(BX*1)
	VMOVDQU   Y5, (R13)(BX*2)
	ADDQ $16, SI
	ADDQ $16, AX
	ADDQ $32, DI
	ADDQ $32, R13
	SUBQ $16, CX
	JMP  c6x16

c6x8:
	CMPQ CX, $8
	JLT  c6x4
	VPMOVSXBW (SI), X0
	VPMOVSXBW (SI)(R11*1), X1
	VPMOVSXBW (SI)(R11*2), X2
	VPMOVSXBW (AX), X3
	VPMOVSXBW (AX)(R11*1), X4
	VPMOVSXBW (AX)(R11*2), X5
	VMOVDQU   X0, (DI)
	VMOVDQU   X1, (DI)(BX*1)
	VMOVDQU   X2, (DI)(BX*2)
	VMOVDQU   X3, (R13)
	VMOVDQU   X4, (R13)(BX*1)
	VMOVDQU   X5, (R13)(BX*2)
	ADDQ $8, SI
	ADDQ $8, AX
	ADDQ $16, DI
	ADDQ $16, R13
	SUBQ $8, CX

c6x4:
	CMPQ CX, $4
	JLT  c6x1
	VMOVD     (SI), X0
	VPMOVSXBW X0, X0
	VMOVD     (SI)(R11*1), X1
	VPMOVSXBW X1, X1
	VMOVD     (SI)(R11*2), X2
	VPMOVSXBW X2, X2
	VMOVD     (AX), X3
	VPMOVSXBW X3, X3
	VMOVD     (AX)(R11*1), X4
	VPMOVSXBW X4, X4
	VMOVD     (AX)(R11*2), X5
	VPMOVSXBW X5, X5
	VMOVQ     X0, (DI)
	VMOVQ     X1, (DI)(BX*1)
	VMOVQ     X2, (DI)(BX*2)
	VMOVQ     X3, (R13)
	VMOVQ     X4, (R13)(BX*1)
	VMOVQ     X5, (R13)(BX*2)
	ADDQ $4, SI
	ADDQ $4, AX
	ADDQ $8, DI
	ADDQ $8, R13
	SUBQ $4, CX

c6x1:
	TESTQ CX, CX
	JZ    c6pad
	MOVBLSX (SI), R12
	MOVW    R12, (DI)
	MOVBLSX (SI)(R11*1), R12
	MOVW    R12, (DI)(BX*1)
	MOVBLSX (SI)(R11*2), R12
	MOVW    R12, (DI)(BX*2)
	MOVBLSX (AX), R12
	MOVW    R12, (R13)
	MOVBLSX (AX)(R11*1), R12
	MOVW    R12, (R13)(BX*1)
	MOVBLSX (AX)(R11*2), R12
	MOVW    R12, (R13)(BX*2)
	INCQ SI
	INCQ AX
	ADDQ $2, DI
	ADDQ $2, R13
	DECQ CX
	JMP  c6x1

c6pad:
	MOVQ  k+40(FP), CX
	TESTQ $1, CX
	JZ    c6done
	MOVW  $0, (DI)
	MOVW  $0, (DI)(BX*1)
	MOVW  $0, (DI)(BX*2)
	MOVW  $0, (R13)
	MOVW  $0, (R13)(BX*1)
	MOVW  $0, (R13)(BX*2)

c6done:
b6blocks:
	// Channel blocks of 16.
	MOVQ w+56(FP), SI
	MOVQ ep+64(FP), AX
	LEAQ 2464(AX), CX
	MOVQ CX, 48(SP)
	ADDQ $160, AX
	MOVQ nc+48(FP), R12
	MOVQ R8, 8(SP)
	CMPQ R12, $8
	JLE  h6block

b6block:
	VMOVDQU 0(AX), Y0
	VMOVDQU 288(AX), Y1
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
	MOVQ    R14, DI
	LEAQ    (R14)(DX*1), R13
	MOVQ    k+40(FP), CX
	INCQ    CX
	SHRQ    $1, CX
	PCALIGN $32

	// Four k-pairs per pass, then two, then one: less loop overhead per
	// k-pair (+0.2-2.3 % on MixNet's shapes, old and new alternated in one
	// process; +0.2-1.4 % in the quiet runs).
b6loop4:
	CMPQ CX, $4
	JLT  b6loop2
	KPAIR6(0, 32, 0)
	KPAIR6(64, 96, 4)
	KPAIR6(128, 160, 8)
	KPAIR6(192, 224, 12)
	ADDQ $256, SI
	ADDQ $16, DI
	ADDQ $16, R13
	SUBQ $4, CX
	JMP  b6loop4

b6loop2:
	CMPQ CX, $2
	JLT  b6loop1
	KPAIR6(0, 32, 0)
	KPAIR6(64, 96, 4)
	ADDQ $128, SI
	ADDQ $8, DI
	ADDQ $8, R13
	SUBQ $2, CX
	JMP  b6loop2

b6loop1:
	TESTQ CX, CX
	JZ    b6kdone
	KPAIR6(0, 32, 0)
	ADDQ  $64, SI

b6kdone:
	MOVQ  mode+96(FP), CX
	TESTQ $2, CX
	JNZ   b6h
	MOVQ  ep+64(FP), R13
	LEAQ  288(AX), DI
	TESTQ $1, CX
	JNZ   b6f
	REQ6(Y0, AX, R13)
	REQ6(Y1, DI, R13)
	REQ6(Y2, AX, R13)
	REQ6(Y3, DI, R13)
	REQ6(Y4, AX, R13)
	REQ6(Y5, DI, R13)
	REQ6(Y6, AX, R13)
	REQ6(Y7, DI, R13)
	REQ6(Y8, AX, R13)
	REQ6(Y9, DI, R13)
	REQ6(Y10, AX, R13)
	REQ6(Y11, DI, R13)
	JMP b6pack

b6f:
	REQF6(Y0, AX, R13)
	REQF6(Y1, DI, R13)
	REQF6(Y2, AX, R13)
	REQF6(Y3, DI, R13)
	REQF6(Y4, AX, R13)
	REQF6(Y5, DI, R13)
	REQF6(Y6, AX, R13)
	REQF6(Y7, DI, R13)
	REQF6(Y8, AX, R13)
	REQF6(Y9, DI, R13)
	REQF6(Y10, AX, R13)
	REQF6(Y11, DI, R13)
	JMP b6pack

b6h:
	MOVQ 48(SP), CX
	LEAQ 128(CX), DI
	REQH6(Y0, CX)
	REQH6(Y1, DI)
	REQH6(Y2, CX)
	REQH6(Y3, DI)
	REQH6(Y4, CX)
	REQH6(Y5, DI)
	REQH6(Y6, CX)
	REQH6(Y7, DI)
	REQH6(Y8, CX)
	REQH6(Y9, DI)
	REQH6(Y10, CX)
	REQH6(Y11, DI)

b6pack:
	VMOVDQU   gemmPerm<>(SB), Y14
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y14, Y0
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKSSWB Y6, Y4, Y4
	VPERMD    Y4, Y14, Y4
	VPACKSSDW Y9, Y8, Y8
	VPACKSSDW Y11, Y10, Y10
	VPACKSSWB Y10, Y8, Y8
	VPERMD    Y8, Y14, Y8
	MOVQ      mode+96(FP), CX
	TESTQ     $4, CX
	JNZ       b6store
	MOVQ      ep+64(FP), CX
	VPMAXSB   32(CX), Y0, Y0
	VPMINSB   64(CX), Y0, Y0
	VPMAXSB   32(CX), Y4, Y4
	VPMINSB   64(CX), Y4, Y4
	VPMAXSB   32(CX), Y8, Y8
	VPMINSB   64(CX), Y8, Y8

b6store:
	// Y0, Y4, Y8 hold 16 bytes per pixel (pixels 0-1, 2-3, 4-5).
	MOVQ         8(SP), DI
	CMPQ         R12, $16
	JLT          b6short
	VMOVDQU      X0, (DI)
	VEXTRACTI128 $1, Y0, (DI)(R9*1)
	LEAQ         (DI)(R9*2), CX
	VMOVDQU      X4, (CX)
	VEXTRACTI128 $1, Y4, (CX)(R9*1)
	VMOVDQU      X8, (CX)(R9*2)
	LEAQ         (CX)(R9*2), CX
	VEXTRACTI128 $1, Y8, (CX)(R9*1)

b6next:
	ADDQ  $576, AX
	ADDQ  $256, 48(SP)
	ADDQ  $16, 8(SP)
	SUBQ  $16, R12
	CMPQ  R12, $8
	JG    b6block
	TESTQ R12, R12
	JG    h6block

	// Next tile of 6 pixels.
	LEAQ (R11)(R11*2), CX
	LEAQ (R10)(CX*2), R10
	LEAQ  (R9)(R9*2), CX
	LEAQ  (R8)(CX*2), R8
	MOVQ  mode+96(FP), CX
	TESTQ $8, CX
	JZ    t6next
	LEAQ  (R14)(DX*2), R14

t6next:
	SUBQ $6, 24(SP)
	JG   t6tile

	VZEROUPPER
	RET

	// The last block of a chunk with a channel tail (out of the way of the
	// full blocks' path).
b6short:
	// A last block of 9-15 channels; 12 (n = 12, 60): an 8- and
	// a 4-byte store per pixel.
	CMPQ         R12, $12
	JNE          b6spill
	STORE12(Y0, X0, X1, DI)
	LEAQ (DI)(R9*2), CX
	STORE12(Y4, X4, X5, CX)
	LEAQ (CX)(R9*2), CX
	STORE12(Y8, X8, X9, CX)
	JMP  b6next

b6spill:
	MOVQ    ep+64(FP), CX
	ADDQ    $3519, CX
	ANDQ    $-32, CX
	VMOVDQA Y0, (CX)
	VMOVDQA Y4, 32(CX)
	VMOVDQA Y8, 64(CX)
	MOVQ    $16, 40(SP)
	JMP     s6copy

	// The last block when it has at most 8 channels: accumulators Y0, Y2,
	// ..., Y10 only (the packed block still holds 16 channels).
h6block:
	VMOVDQU 0(AX), Y0
	VMOVDQA Y0, Y2
	VMOVDQA Y0, Y4
	VMOVDQA Y0, Y6
	VMOVDQA Y0, Y8
	VMOVDQA Y0, Y10
	MOVQ    R14, DI
	LEAQ    (R14)(DX*1), R13
	MOVQ    k+40(FP), CX
	INCQ    CX
	SHRQ    $1, CX
	PCALIGN $32

h6loop2:
	CMPQ CX, $2
	JLT  h6loop1
	HPAIR6(0, 0)
	HPAIR6(64, 4)
	ADDQ $128, SI
	ADDQ $8, DI
	ADDQ $8, R13
	SUBQ $2, CX
	JMP  h6loop2

h6loop1:
	TESTQ CX, CX
	JZ    h6kdone
	HPAIR6(0, 0)
	ADDQ  $64, SI

h6kdone:
	MOVQ  mode+96(FP), CX
	TESTQ $2, CX
	JNZ   h6h
	MOVQ  ep+64(FP), R13
	TESTQ $1, CX
	JNZ   h6f
	REQ6(Y0, AX, R13)
	REQ6(Y2, AX, R13)
	REQ6(Y4, AX, R13)
	REQ6(Y6, AX, R13)
	REQ6(Y8, AX, R13)
	REQ6(Y10, AX, R13)
	JMP h6pack

h6f:
	REQF6(Y0, AX, R13)
	REQF6(Y2, AX, R13)
	REQF6(Y4, AX, R13)
	REQF6(Y6, AX, R13)
	REQF6(Y8, AX, R13)
	REQF6(Y10, AX, R13)
	JMP h6pack

h6h:
	MOVQ 48(SP), CX
	REQH6(Y0, CX)
	REQH6(Y2, CX)
	REQH6(Y4, CX)
	REQH6(Y6, CX)
	REQH6(Y8, CX)
	REQH6(Y10, CX)

h6pack:
	// Y0: 8 bytes of each of pixels 0-3; X8: pixels 4-5.
	VMOVDQU   gemmPerm<>(SB), Y14
	VPACKSSDW Y2, Y0, Y0
	VPACKSSDW Y6, Y4, Y4
	VPACKSSWB Y4, Y0, Y0
	VPERMD    Y0, Y14, Y0
	VPACKSSDW Y10, Y8, Y8
	VPACKSSWB Y8, Y8, Y8
	VPERMD    Y8, Y14, Y8
	MOVQ      mode+96(FP), CX
	TESTQ     $4, CX
	JNZ       h6store
	MOVQ      ep+64(FP), CX
	VPMAXSB   32(CX), Y0, Y0
	VPMINSB   64(CX), Y0, Y0
	VPMAXSB   32(CX), Y8, Y8
	VPMINSB   64(CX), Y8, Y8

h6store:
	MOVQ         8(SP), DI
	VEXTRACTI128 $1, Y0, X1
	LEAQ         (DI)(R9*2), CX
	CMPQ         R12, $8
	JNE          h6four
	VMOVQ        X0, (DI)
	VPEXTRQ      $1, X0, (DI)(R9*1)
	VMOVQ        X1, (CX)
	VPEXTRQ      $1, X1, (CX)(R9*1)
	VMOVQ        X8, (CX)(R9*2)
	LEAQ         (CX)(R9*2), CX
	VPEXTRQ      $1, X8, (CX)(R9*1)
	JMP          b6next

h6four:
	// 4 channels (n%16 = 4: n = 20, 36, 100's 36, 180's 52): one 4-byte
	// store per pixel.
	CMPQ    R12, $4
	JNE     h6spill
	VMOVD   X0, (DI)
	VPEXTRD $2, X0, (DI)(R9*1)
	VMOVD   X1, (CX)
	VPEXTRD $2, X1, (CX)(R9*1)
	VMOVD   X8, (CX)(R9*2)
	LEAQ    (CX)(R9*2), CX
	VPEXTRD $2, X8, (CX)(R9*1)
	JMP     b6next

h6spill:
	MOVQ    ep+64(FP), CX
	ADDQ    $3519, CX
	ANDQ    $-32, CX
	VMOVDQA Y0, (CX)
	VMOVDQA X8, 32(CX)
	MOVQ    $8, 40(SP)

s6copy:
	// Copy the R12 < 16 valid bytes of each of the 6 pixels from the
	// spill at CX (rows 40(SP) bytes apart) to DI: 8, 4, then 1 byte.
	MOVQ AX, 32(SP)
	MOVQ SI, 16(SP)
	MOVQ CX, SI
	MOVQ R12, CX
	MOVQ $6, DX

s6row:
	XORQ AX, AX
	CMPQ CX, $8
	JLT  s6c4
	MOVQ (SI), R13
	MOVQ R13, (DI)
	MOVQ $8, AX

	COPY41(s6c4, s6c1, s6rowdone)

s6rowdone:
	ADDQ 40(SP), SI
	ADDQ R9, DI
	DECQ DX
	JNZ  s6row
	MOVQ 32(SP), AX
	MOVQ 16(SP), SI
	LEAQ (BX)(BX*2), DX
	JMP  b6next

// func gemvCvtAVX2(dst *int16, src *int8, k int)
// dst[i] = int16(src[i]) for i < k.
TEXT ·gemvCvtAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ k+16(FP), CX

gcvt16:
	CMPQ      CX, $16
	JLT       gcvt1
	VPMOVSXBW (SI), Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       gcvt16

gcvt1:
	TESTQ   CX, CX
	JZ      gcvtdone
	MOVBLSX (SI), DX
	MOVW    DX, (DI)
	INCQ    SI
	ADDQ    $2, DI
	DECQ    CX
	JMP     gcvt1

gcvtdone:
	VZEROUPPER
	RET

// func gemvKernelAVX2(raw *int32, x *int16, kp int, w *int8, blocks int)
// For each 16-channel block b < blocks (packed, kp k-pairs of 64 bytes):
// raw[16b+c] = Σ_j x[2j]*w[c][2j] + x[2j+1]*w[c][2j+1] (int32, wrapping).
TEXT ·gemvKernelAVX2(SB), NOSPLIT, $0-40
	MOVQ raw+0(FP), R8
	MOVQ x+8(FP), R9
	MOVQ kp+16(FP), R10
	MOVQ w+24(FP), SI
	MOVQ blocks+32(FP), R11

gvblock:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  R9, DI
	MOVQ  R10, CX

gvloop2:
	CMPQ         CX, $2
	JLT          gvloop1
	VPBROADCASTD (DI), Y4
	VPBROADCASTD 4(DI), Y5
	VPMADDWD     (SI), Y4, Y6
	VPMADDWD     32(SI), Y4, Y7
	VPMADDWD     64(SI), Y5, Y8
	VPMADDWD     96(SI), Y5, Y9
	VPADDD       Y6, Y0, Y0
	VPADDD       Y7, Y1, Y1
	VPADDD       Y8, Y2, Y2
	VPADDD       Y9, Y3, Y3
	ADDQ         $128, SI
	ADDQ         $8, DI
	SUBQ         $2, CX
	JMP          gvloop2

gvloop1:
	TESTQ        CX, CX
	JZ           gvdone
	VPBROADCASTD (DI), Y4
	VPMADDWD     (SI), Y4, Y6
	VPMADDWD     32(SI), Y4, Y7
	VPADDD       Y6, Y0, Y0
	VPADDD       Y7, Y1, Y1
	ADDQ         $64, SI

gvdone:
	VPADDD  Y2, Y0, Y0
	VPADDD  Y3, Y1, Y1
	VMOVDQU Y0, (R8)
	VMOVDQU Y1, 32(R8)
	ADDQ    $64, R8
	DECQ    R11
	JNZ     gvblock

	VZEROUPPER
	RET

// func stemGatherAVX2(dst *int16, src *int8, rowStride int, step int, count int)
// For count output pixels, src advancing by step bytes: the 3x3x3 window
// at src (rows rowStride bytes apart, 9 bytes each) as 27 int16 values and
// a zero tap at dst, dst advancing by 64 bytes. Reads exactly the window.
TEXT ·stemGatherAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rowStride+16(FP), R8
	MOVQ step+24(FP), DX
	MOVQ count+32(FP), CX

sgloop:
	VPMOVSXBW (SI), X0
	MOVBLSX   8(SI), AX
	VMOVDQU   X0, 0(DI)
	MOVW      AX, 16(DI)
	VPMOVSXBW (SI)(R8*1), X1
	MOVBLSX   8(SI)(R8*1), AX
	VMOVDQU   X1, 18(DI)
	MOVW      AX, 34(DI)
	VPMOVSXBW (SI)(R8*2), X2
	MOVBLSX   8(SI)(R8*2), BX
	VMOVDQU   X2, 36(DI)
	MOVW      BX, 52(DI)
	MOVW      $0, 54(DI)
	ADDQ      DX, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       sgloop
	VZEROUPPER
	RET

// func gemv8KernelAVX2(raw *int32, x *int16, kp int, w *int8, blocks int)
// gemvKernelAVX2 on int8 weights (k-pair j of a block: 32 bytes,
// w[c][2j], w[c][2j+1] for c = 0..15), sign-extended in the loop.
TEXT ·gemv8KernelAVX2(SB), NOSPLIT, $0-40
	MOVQ raw+0(FP), R8
	MOVQ x+8(FP), R9
	MOVQ kp+16(FP), R10
	MOVQ w+24(FP), SI
	MOVQ blocks+32(FP), R11

g8block:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  R9, DI
	MOVQ  R10, CX

g8loop2:
	CMPQ         CX, $2
	JLT          g8loop1
	// The weights stream from L3/DRAM once per frame (classifier, SE):
	// ask for the line 16 ahead (linear op 0.16 -> 0.14 ms).
	PREFETCHT0   1024(SI)
	VPBROADCASTD (DI), Y4
	VPBROADCASTD 4(DI), Y5
	VPMOVSXBW    (SI), Y6
	VPMOVSXBW    16(SI), Y7
	VPMOVSXBW    32(SI), Y8
	VPMOVSXBW    48(SI), Y9
	VPMADDWD     Y6, Y4, Y6
	VPMADDWD     Y7, Y4, Y7
	VPMADDWD     Y8, Y5, Y8
	VPMADDWD     Y9, Y5, Y9
	VPADDD       Y6, Y0, Y0
	VPADDD       Y7, Y1, Y1
	VPADDD       Y8, Y2, Y2
	VPADDD       Y9, Y3, Y3
	ADDQ         $64, SI
	ADDQ         $8, DI
	SUBQ         $2, CX
	JMP          g8loop2

g8loop1:
	TESTQ        CX, CX
	JZ           g8done
	VPBROADCASTD (DI), Y4
	VPMOVSXBW    (SI), Y6
	VPMOVSXBW    16(SI), Y7
	VPMADDWD     Y6, Y4, Y6
	VPMADDWD     Y7, Y4, Y7
	VPADDD       Y6, Y0, Y0
	VPADDD       Y7, Y1, Y1
	ADDQ         $32, SI

g8done:
	VPADDD  Y2, Y0, Y0
	VPADDD  Y3, Y1, Y1
	VMOVDQU Y0, (R8)
	VMOVDQU Y1, 32(R8)
	ADDQ    $64, R8
	DECQ    R11
	JNZ     g8block

	VZEROUPPER
	RET

// 16 dwords of -1, then 16 of 0: 8 dwords from (16-n)*4 are a lane mask
// of the first n lanes (n = 0..16; n <= 0 from (16-n) <= 24 gives none).
DATA gemmLaneMask<>+0(SB)/8, $-1
DATA gemmLaneMask<>+8(SB)/8, $-1
DATA gemmLaneMask<>+16(SB)/8, $-1
DATA gemmLaneMask<>+24(SB)/8, $-1
DATA gemmLaneMask<>+32(SB)/8, $-1
DATA gemmLaneMask<>+40(SB)/8, $-1
DATA gemmLaneMask<>+48(SB)/8, $-1
DATA gemmLaneMask<>+56(SB)/8, $-1
DATA gemmLaneMask<>+64(SB)/8, $0
DATA gemmLaneMask<>+72(SB)/8, $0
DATA gemmLaneMask<>+80(SB)/8, $0
DATA gemmLaneMask<>+88(SB)/8, $0
DATA gemmLaneMask<>+96(SB)/8, $0
DATA gemmLaneMask<>+104(SB)/8, $0
DATA gemmLaneMask<>+112(SB)/8, $0
DATA gemmLaneMask<>+120(SB)/8, $0
GLOBL gemmLaneMask<>(SB), RODATA|NOPTR, $128

// func gemmSetReqHAVX2(e *gemmEpiX, bias *int32, rq *quant.Multiplier, n int, t int32, smax uint32) bool
//
// setReqH's loop, 8 channels per step (n >= 1; the last step loads its
// n%8 channels masked, so its other lanes get bias 0): Shift-2 <= smax
// for every channel, else it returns false (what it wrote is partial);
// bias into rqVec.bias, M into mE and, shifted down a dword, mO,
// c = t << (Shift-2), sh = Shift-1.
TEXT ·gemmSetReqHAVX2(SB), NOSPLIT, $0-41
	MOVQ         e+0(FP), DI
	MOVQ         bias+8(FP), SI
	MOVQ         rq+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVL         t+32(FP), AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         smax+36(FP), AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	VPCMPEQD     Y12, Y12, Y12
	VPSRLD       $31, Y12, Y13
	VPADDD       Y13, Y13, Y14
	LEAQ         160(DI), R8
	LEAQ         2464(DI), R9
	LEAQ         gemmLaneMask<>(SB), R10

rhstep:
	CMPQ    CX, $8
	JLT     rhpart
	VMOVDQU (SI), Y2
	VMOVDQU (DX), Y0
	VMOVDQU 32(DX), Y1
	VMOVDQA Y12, Y3
	JMP     rhcalc

rhpart:
	// CX = 1..7 channels: masks of CX bias dwords and of 2*CX rq dwords.
	MOVQ       $16, AX
	SUBQ       CX, AX
	VMOVDQU    (R10)(AX*4), Y3
	VPMASKMOVD (SI), Y3, Y2
	SUBQ       CX, AX
	VMOVDQU    (R10)(AX*4), Y4
	VPMASKMOVD (DX), Y4, Y0
	VMOVDQU    32(R10)(AX*4), Y4
	VPMASKMOVD 32(DX), Y4, Y1

rhcalc:
	// Y0 = M0 S0 M1 S1 M2 S2 M3 S3, Y1 = M4 S4 ... M7 S7.
	VSHUFPS  $0x88, Y1, Y0, Y4
	VSHUFPS  $0xDD, Y1, Y0, Y5
	VPERMQ   $0xD8, Y4, Y4
	VPERMQ   $0xD8, Y5, Y5
	VPSUBD   Y14, Y5, Y5
	VPMINUD  Y11, Y5, Y6
	VPCMPEQD Y5, Y6, Y6
	VPANDN   Y3, Y6, Y7
	VPTEST   Y7, Y7
	JNZ      rhfail
	VPSLLVD  Y5, Y10, Y8
	VPADDD   Y13, Y5, Y9
	VPSRLQ   $32, Y4, Y15
	VMOVDQU  Y2, (R8)
	VMOVDQU  Y4, (R9)
	VMOVDQU  Y15, 32(R9)
	VMOVDQU  Y8, 64(R9)
	VMOVDQU  Y9, 96(R9)
	ADDQ     $288, R8
	ADDQ     $128, R9
	ADDQ     $32, SI
	ADDQ     $64, DX
	SUBQ     $8, CX
	JG       rhstep
	MOVB     $1, ret+40(FP)
	VZEROUPPER
	RET

rhfail:
	MOVB $0, ret+40(FP)
	VZEROUPPER
	RET
