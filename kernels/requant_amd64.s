//go:build !purego

#include "textflag.h"

// func reqHAVX2(dst *int8, acc *int32, bias *int32, rq *quant.Multiplier, n8 int, step int, ep *reqHParams) int
// For groups g < n8 of 8 channels: dst = REQH(acc + bias) with per-lane
// multipliers read as (M, Shift) dword pairs; bias and rq advance by
// step*32 and step*64 bytes per group (step 0 or 1). Stops before the
// first group with a Shift outside [2, 24] and returns the groups done.
// Per group: the two VPMULDQ take M from the pairs' low dwords with the
// accumulators sign-extended to qwords (VPMOVSXDQ); VSHUFPS $0xDD picks the
// high dwords of the products and the Shifts in the same lane order
// (0 1 4 5 | 2 3 6 7), VPERMQ $0xD8 restores it after the shift.
TEXT ·reqHAVX2(SB), NOSPLIT, $0-64
	MOVQ     dst+0(FP), DI
	MOVQ     acc+8(FP), SI
	MOVQ     bias+16(FP), DX
	MOVQ     rq+24(FP), R8
	MOVQ     n8+32(FP), R9
	MOVQ     step+40(FP), R10
	MOVQ     ep+48(FP), AX
	MOVQ     R10, R11
	SHLQ     $5, R10           // bias bytes per group
	SHLQ     $6, R11           // rq bytes per group
	VMOVDQU  (AX), Y15         // 1 + 2*zOut
	VMOVDQU  32(AX), X14       // qmin
	VMOVDQU  48(AX), X13       // qmax
	VPCMPEQD Y12, Y12, Y12
	VPSRLD   $31, Y12, Y12     // 1
	VPADDD   Y12, Y12, Y11     // 2
	VMOVDQU  64(AX), Y10       // reqHMaxShift - 2
	VPXOR    Y9, Y9, Y9
	XORQ     CX, CX

rqloop:
	CMPQ      CX, R9
	JGE       rqdone
	VMOVDQU   (R8), Y0         // M0 S0 M1 S1 | M2 S2 M3 S3
	VMOVDQU   32(R8), Y1       // M4 S4 M5 S5 | M6 S6 M7 S7
	VSHUFPS   $0xDD, Y1, Y0, Y2
	VPSUBD    Y11, Y2, Y2      // Shift-2, lanes 0 1 4 5 | 2 3 6 7
	VPCMPGTD  Y10, Y2, Y3      // Shift-2 > 22
	VPCMPGTD  Y2, Y9, Y4       // Shift-2 < 0
	VPOR      Y4, Y3, Y3
	VPTEST    Y3, Y3
	JNZ       rqdone
	VPSLLVD   Y2, Y15, Y3      // c
	VPADDD    Y12, Y2, Y2      // Shift-1
	VMOVDQU   (SI), Y4
	VPADDD    (DX), Y4, Y4
	VPMOVSXDQ X4, Y5
	VEXTRACTI128 $1, Y4, X4
	VPMOVSXDQ X4, Y4
	VPMULDQ   Y0, Y5, Y5
	VPMULDQ   Y1, Y4, Y4
	VSHUFPS   $0xDD, Y4, Y5, Y5 // hi32(acc*M), lanes 0 1 4 5 | 2 3 6 7
	VPADDD    Y3, Y5, Y5
	VPSRAVD   Y2, Y5, Y5
	VPERMQ    $0xD8, Y5, Y5
	VEXTRACTI128 $1, Y5, X6
	VPACKSSDW X6, X5, X5
	VPACKSSWB X5, X5, X5
	VPMAXSB   X14, X5, X5
	VPMINSB   X13, X5, X5
	VMOVQ     X5, (DI)
	ADDQ      $8, DI
	ADDQ      $32, SI
	ADDQ      R10, DX
	ADDQ      R11, R8
	INCQ      CX
	JMP       rqloop

rqdone:
	MOVQ CX, ret+56(FP)
	VZEROUPPER
	RET
