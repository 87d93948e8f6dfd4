//go:build !purego

#include "textflag.h"

// Row kernels of the fused preprocessing (fusedrow.go). Taps are split as
// hi<<15 + lo so that VPMADDWD's 16-bit products are exact; int32 sums
// wrap like Pillow's, so the recombined sums are bit-identical.

// func vRowAVX2(dst, src *uint8, stride, width int, coef *uint32, pairs int)
// 16 columns per step; per pair of rows, the bytes of both rows are
// interleaved as words and multiplied by the (hi, hi) and (lo, lo) tap pairs.
TEXT ·vRowAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), DX
	MOVQ width+24(FP), CX
	MOVQ coef+32(FP), R8
	MOVQ pairs+40(FP), R9
	MOVL $0x200000, AX // roundHalf
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	SHRQ $4, CX
	JZ vdone

vcol:
	VMOVDQA Y15, Y0 // lo sums (rounding folded in)
	VMOVDQA Y15, Y1
	VPXOR Y2, Y2, Y2 // hi sums
	VPXOR Y3, Y3, Y3
	MOVQ SI, R10
	MOVQ R8, R11
	MOVQ R9, R12

vtap:
	VPMOVZXBW (R10), Y4
	VPMOVZXBW (R10)(DX*1), Y5
	VPUNPCKLWD Y5, Y4, Y6 // columns 0-3 | 8-11
	VPUNPCKHWD Y5, Y4, Y7 // columns 4-7 | 12-15
	VPBROADCASTD (R11), Y8
	VPBROADCASTD 4(R11), Y9
	VPMADDWD Y8, Y6, Y10
	VPADDD Y10, Y2, Y2
	VPMADDWD Y8, Y7, Y10
	VPADDD Y10, Y3, Y3
	VPMADDWD Y9, Y6, Y10
	VPADDD Y10, Y0, Y0
	VPMADDWD Y9, Y7, Y10
	VPADDD Y10, Y1, Y1
	LEAQ (R10)(DX*2), R10
	ADDQ $8, R11
	DECQ R12
	JNZ vtap

	VPSLLD $15, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPSLLD $15, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPSRAD $22, Y0, Y0
	VPSRAD $22, Y1, Y1
	VPACKSSDW Y1, Y0, Y0 // in column order per lane
	VPACKUSWB Y0, Y0, Y0 // clip8: saturation is the clamp
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ vcol

vdone:
	VZEROUPPER
	RET

// HPAIR accumulates the taps of slots 2p and 2p+1 (a block's offsets at
// off, off+4; coefficients at coef) into hi and lo.
#define HPAIR(off, coef, hi, lo) \
	MOVLQSX off(R8), R10 \
	MOVLQSX off+4(R8), R11 \
	VMOVQ (R12)(R10*1), X8 \
	VPINSRQ $1, (R12)(R11*1), X8, X8 \
	VPMOVZXBW X8, Y8 \
	VPMADDWD coef(R9), Y8, Y9 \
	VPADDD Y9, hi, hi \
	VPMADDWD coef+32(R9), Y8, Y9 \
	VPADDD Y9, lo, lo

// func hRowAVX2(dst, src *uint8, offs *int32, coef *int16, blocks, groups int)
// 8 outputs per block, two per register (slots o0|o4, o1|o5, o2|o6, o3|o7),
// 8 taps per group; three VPHADDD reduce the partial sums in output order.
TEXT ·hRowAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ coef+24(FP), R9
	MOVQ blocks+32(FP), CX
	MOVQ groups+40(FP), DX
	MOVL $0x200000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	TESTQ CX, CX
	JZ hdone

hblock:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ SI, R12
	MOVQ DX, R13

hgroup:
	HPAIR(0, 0, Y0, Y4)
	HPAIR(8, 64, Y1, Y5)
	HPAIR(16, 128, Y2, Y6)
	HPAIR(24, 192, Y3, Y7)
	ADDQ $256, R9
	ADDQ $8, R12
	DECQ R13
	JNZ hgroup

	VPSLLD $15, Y0, Y0
	VPADDD Y4, Y0, Y0
	VPSLLD $15, Y1, Y1
	VPADDD Y5, Y1, Y1
	VPSLLD $15, Y2, Y2
	VPADDD Y6, Y2, Y2
	VPSLLD $15, Y3, Y3
	VPADDD Y7, Y3, Y3
	VPHADDD Y1, Y0, Y0 // o0 o0 o1 o1 | o4 o4 o5 o5
	VPHADDD Y3, Y2, Y2 // o2 o2 o3 o3 | o6 o6 o7 o7
	VPHADDD Y2, Y0, Y0 // o0 o1 o2 o3 | o4 o5 o6 o7
	VPADDD Y15, Y0, Y0
	VPSRAD $22, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	VMOVQ X0, (DI)
	ADDQ $8, DI
	ADDQ $32, R8
	DECQ CX
	JNZ hblock

hdone:
	VZEROUPPER
	RET

// YUVHALF converts 16 pixels: luma words in Y4, chroma words (already
// minus 128, one per pixel) in Y2 (U) and Y3 (V); stores 16 bytes of R, G
// and B at off(DI), off(DI)(DX*1), off(DI)(DX*2).
#define YUVCH(k, dst) \
	VPMADDWD k, Y7, Y9 \
	VPADDD Y5, Y9, Y9 \
	VPSRAD $8, Y9, Y9 \
	VPMADDWD k, Y8, Y2 \
	VPADDD Y6, Y2, Y2 \
	VPSRAD $8, Y2, Y2 \
	VPACKSSDW Y2, Y9, Y9 \
	VPACKUSWB Y9, Y9, Y9 \
	VPERMQ $0x08, Y9, Y9 \
	VMOVDQU X9, dst

#define YUVHALF(off) \
	VPUNPCKLWD Y11, Y4, Y5 \
	VPUNPCKHWD Y11, Y4, Y6 \
	VPUNPCKLWD Y3, Y2, Y7 \
	VPUNPCKHWD Y3, Y2, Y8 \
	VPMADDWD Y12, Y5, Y5 \
	VPMADDWD Y12, Y6, Y6 \
	YUVCH(Y13, off(DI)) \
	YUVCH(Y14, off(DI)(DX*1)) \
	YUVCH(Y15, off(DI)(DX*2))

// func yuvRowAVX2(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)
// 32 pixels (16 chroma samples) per block. With pairs (Y, 1)·kY = c and
// (U-128, V-128)·k{R,G,B}, each channel is (c + chroma term) >> 8,
// clamped by the saturating packs.
TEXT ·yuvRowAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ cs+8(FP), DX
	MOVQ y+16(FP), SI
	MOVQ u+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ blocks+40(FP), CX
	MOVQ k+48(FP), R10
	VPBROADCASTD 0(R10), Y12
	VPBROADCASTD 4(R10), Y13
	VPBROADCASTD 8(R10), Y14
	VPBROADCASTD 12(R10), Y15
	VPCMPEQW Y11, Y11, Y11
	VPSRLW $15, Y11, Y11 // words of 1
	MOVL $0x80808080, AX
	VMOVD AX, X10
	VPBROADCASTD X10, X10
	TESTQ CX, CX
	JZ ydone

yblock:
	VMOVDQU (R8), X0
	VPXOR X10, X0, X0 // U-128 as int8
	VMOVDQU (R9), X1
	VPXOR X10, X1, X1
	VPUNPCKLBW X0, X0, X2 // chroma of pixels 0-15
	VPUNPCKLBW X1, X1, X3
	VPMOVSXBW X2, Y2
	VPMOVSXBW X3, Y3
	VPMOVZXBW (SI), Y4
	YUVHALF(0)
	VPUNPCKHBW X0, X0, X2 // pixels 16-31
	VPUNPCKHBW X1, X1, X3
	VPMOVSXBW X2, Y2
	VPMOVSXBW X3, Y3
	VPMOVZXBW 16(SI), Y4
	YUVHALF(16)
	ADDQ $32, SI
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $32, DI
	DECQ CX
	JNZ yblock

ydone:
	VZEROUPPER
	RET

// func hRowWinAVX2(dst, src *uint8, offs *int32, coef *uint8, blocks, steps int)
// 8 outputs per block: a 16-byte window per 4 outputs (one per lane), and
// per tap pair one VPSHUFB that gathers each output's two bytes as words
// into its dword, so VPMADDWD leaves one sum per output and no reduction
// is needed.
TEXT ·hRowWinAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ coef+24(FP), R9
	MOVQ blocks+32(FP), CX
	MOVQ steps+40(FP), DX
	MOVL $0x200000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	TESTQ CX, CX
	JZ wdone

wblock:
	MOVLQSX 0(R8), R10
	MOVLQSX 4(R8), R11
	VMOVDQU (SI)(R10*1), X0
	VINSERTI128 $1, (SI)(R11*1), Y0, Y0
	VMOVDQA Y15, Y1 // lo sums (rounding folded in)
	VPXOR Y2, Y2, Y2 // hi sums
	MOVQ DX, R12
	SHRQ $1, R12
	JZ wodd

wstep2: // two tap pairs per iteration
	VPSHUFB (R9), Y0, Y3
	VPMADDWD 32(R9), Y3, Y4
	VPADDD Y4, Y2, Y2
	VPMADDWD 64(R9), Y3, Y4
	VPADDD Y4, Y1, Y1
	VPSHUFB 96(R9), Y0, Y5
	VPMADDWD 128(R9), Y5, Y6
	VPADDD Y6, Y2, Y2
	VPMADDWD 160(R9), Y5, Y6
	VPADDD Y6, Y1, Y1
	ADDQ $192, R9
	DECQ R12
	JNZ wstep2

wodd:
	TESTQ $1, DX
	JZ wsum
	VPSHUFB (R9), Y0, Y3
	VPMADDWD 32(R9), Y3, Y4
	VPADDD Y4, Y2, Y2
	VPMADDWD 64(R9), Y3, Y4
	VPADDD Y4, Y1, Y1
	ADDQ $96, R9

wsum:

	VPSLLD $15, Y2, Y2
	VPADDD Y2, Y1, Y1
	VPSRAD $22, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPACKSSDW X2, X1, X1
	VPACKUSWB X1, X1, X1
	VMOVQ X1, (DI)
	ADDQ $8, DI
	ADDQ $8, R8
	DECQ CX
	JNZ wblock

wdone:
	VZEROUPPER
	RET

// Constants of the NV12 and YUYV row kernels.
DATA yuyvY<>+0(SB)/8, $0x8080800280808000 // pixel j's Y as a dword
DATA yuyvY<>+8(SB)/8, $0x8080800680808004
DATA yuyvY<>+16(SB)/8, $0x8080800A80808008
DATA yuyvY<>+24(SB)/8, $0x8080800E8080800C
GLOBL yuyvY<>(SB), RODATA|NOPTR, $32
DATA yuyvUV<>+0(SB)/8, $0x8003800180038001 // pixel j's U, V as words
DATA yuyvUV<>+8(SB)/8, $0x8007800580078005
DATA yuyvUV<>+16(SB)/8, $0x800B8009800B8009
DATA yuyvUV<>+24(SB)/8, $0x800F800D800F800D
GLOBL yuyvUV<>(SB), RODATA|NOPTR, $32
DATA onesHi<>+0(SB)/8, $0x0001000000010000 // (0, 1) word pairs
DATA onesHi<>+8(SB)/8, $0x0001000000010000
DATA onesHi<>+16(SB)/8, $0x0001000000010000
DATA onesHi<>+24(SB)/8, $0x0001000000010000
GLOBL onesHi<>(SB), RODATA|NOPTR, $32
DATA words128<>+0(SB)/8, $0x0080008000800080
DATA words128<>+8(SB)/8, $0x0080008000800080
DATA words128<>+16(SB)/8, $0x0080008000800080
DATA words128<>+24(SB)/8, $0x0080008000800080
GLOBL words128<>(SB), RODATA|NOPTR, $32
DATA packPerm<>+0(SB)/8, $0x0000000400000000 // dwords 0 4 1 5 2 6 3 7
DATA packPerm<>+8(SB)/8, $0x0000000500000001
DATA packPerm<>+16(SB)/8, $0x0000000600000002
DATA packPerm<>+24(SB)/8, $0x0000000700000003
GLOBL packPerm<>(SB), RODATA|NOPTR, $32

// PIX8 turns 8 pixels, (Y, 1) pairs in Y4 and (U-128, V-128) pairs in Y5
// (lane 0: pixels 0-3, lane 1: 4-7), into R, G, B dwords.
#define PIX8(r, g, b) \
	VPMADDWD Y12, Y4, Y9 \
	VPMADDWD Y13, Y5, r \
	VPADDD Y9, r, r \
	VPSRAD $8, r, r \
	VPMADDWD Y14, Y5, g \
	VPADDD Y9, g, g \
	VPSRAD $8, g, g \
	VPMADDWD Y15, Y5, b \
	VPADDD Y9, b, b \
	VPSRAD $8, b, b

// STORE16 packs pixels 0-7 (a; xa is its low half) and 8-15 (b) of one channel to bytes,
// clamped by saturation, and stores them in order.
#define STORE16(a, xa, b, dst) \
	VPACKSSDW b, a, a \
	VPACKUSWB a, a, a \
	VPERMD a, Y11, a \
	VMOVDQU xa, dst

#define YUVCONST \
	VPBROADCASTD 0(R10), Y12 \
	VPBROADCASTD 4(R10), Y13 \
	VPBROADCASTD 8(R10), Y14 \
	VPBROADCASTD 12(R10), Y15 \
	VMOVDQU packPerm<>(SB), Y11

// NV12PIX8 loads pixels off..off+7: Y from SI, U V pairs from R8.
#define NV12PIX8(off) \
	VPMOVZXBD off(SI), Y4 \
	VPOR onesHi<>(SB), Y4, Y4 \
	VMOVQ off(R8), X5 \
	VPXOR X10, X5, X5 \
	VPUNPCKLWD X5, X5, X5 \
	VPMOVSXBW X5, Y5

// func nv12RowAVX2(dst *uint8, cs int, y, uv *uint8, blocks int, k *yuvSIMD)
TEXT ·nv12RowAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ cs+8(FP), DX
	MOVQ y+16(FP), SI
	MOVQ uv+24(FP), R8
	MOVQ blocks+32(FP), CX
	MOVQ k+40(FP), R10
	YUVCONST
	MOVL $0x80808080, AX
	VMOVD AX, X10
	VPBROADCASTD X10, X10
	TESTQ CX, CX
	JZ ndone

nblock:
	NV12PIX8(0)
	PIX8(Y0, Y1, Y2)
	NV12PIX8(8)
	PIX8(Y6, Y7, Y8)
	STORE16(Y0, X0, Y6, (DI))
	STORE16(Y1, X1, Y7, (DI)(DX*1))
	STORE16(Y2, X2, Y8, (DI)(DX*2))
	NV12PIX8(16)
	PIX8(Y0, Y1, Y2)
	NV12PIX8(24)
	PIX8(Y6, Y7, Y8)
	STORE16(Y0, X0, Y6, 16(DI))
	STORE16(Y1, X1, Y7, 16(DI)(DX*1))
	STORE16(Y2, X2, Y8, 16(DI)(DX*2))
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ nblock

ndone:
	VZEROUPPER
	RET

// YUYVPIX8 loads 8 pixels (16 bytes at off(SI), in both lanes).
#define YUYVPIX8(off) \
	VBROADCASTI128 off(SI), Y3 \
	VPSHUFB yuyvY<>(SB), Y3, Y4 \
	VPOR onesHi<>(SB), Y4, Y4 \
	VPSHUFB yuyvUV<>(SB), Y3, Y5 \
	VPSUBW words128<>(SB), Y5, Y5

// func yuyvRowAVX2(dst *uint8, cs int, src *uint8, blocks int, k *yuvSIMD)
TEXT ·yuyvRowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ cs+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ blocks+24(FP), CX
	MOVQ k+32(FP), R10
	YUVCONST
	TESTQ CX, CX
	JZ qdone

qblock:
	YUYVPIX8(0)
	PIX8(Y0, Y1, Y2)
	YUYVPIX8(16)
	PIX8(Y6, Y7, Y8)
	STORE16(Y0, X0, Y6, (DI))
	STORE16(Y1, X1, Y7, (DI)(DX*1))
	STORE16(Y2, X2, Y8, (DI)(DX*2))
	YUYVPIX8(32)
	PIX8(Y0, Y1, Y2)
	YUYVPIX8(48)
	PIX8(Y6, Y7, Y8)
	STORE16(Y0, X0, Y6, 16(DI))
	STORE16(Y1, X1, Y7, 16(DI)(DX*1))
	STORE16(Y2, X2, Y8, 16(DI)(DX*2))
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNZ qblock

qdone:
	VZEROUPPER
	RET

// func vRowQAVX2(dst *int8, src *uint8, stride, width int, coef *uint32, pairs int, q *qAffine)
// vRowAVX2, then per clipped byte u: (u*a + b) >> 16, saturated to int8.
TEXT ·vRowQAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), DX
	MOVQ width+24(FP), CX
	MOVQ coef+32(FP), R8
	MOVQ pairs+40(FP), R9
	MOVQ q+48(FP), AX
	VPBROADCASTD 0(AX), Y13
	VPBROADCASTD 4(AX), Y14
	VPXOR Y11, Y11, Y11
	MOVL $255, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	MOVL $0x200000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	SHRQ $4, CX
	JZ qvdone

qvcol:
	VMOVDQA Y15, Y0
	VMOVDQA Y15, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ SI, R10
	MOVQ R8, R11
	MOVQ R9, R12

qvtap:
	VPMOVZXBW (R10), Y4
	VPMOVZXBW (R10)(DX*1), Y5
	VPUNPCKLWD Y5, Y4, Y6
	VPUNPCKHWD Y5, Y4, Y7
	VPBROADCASTD (R11), Y8
	VPBROADCASTD 4(R11), Y9
	VPMADDWD Y8, Y6, Y10
	VPADDD Y10, Y2, Y2
	VPMADDWD Y8, Y7, Y10
	VPADDD Y10, Y3, Y3
	VPMADDWD Y9, Y6, Y10
	VPADDD Y10, Y0, Y0
	VPMADDWD Y9, Y7, Y10
	VPADDD Y10, Y1, Y1
	LEAQ (R10)(DX*2), R10
	ADDQ $8, R11
	DECQ R12
	JNZ qvtap

	VPSLLD $15, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPSLLD $15, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPSRAD $22, Y0, Y0
	VPSRAD $22, Y1, Y1
	VPMAXSD Y11, Y0, Y0 // clip8
	VPMINSD Y12, Y0, Y0
	VPMAXSD Y11, Y1, Y1
	VPMINSD Y12, Y1, Y1
	VPMULLD Y13, Y0, Y0
	VPADDD Y14, Y0, Y0
	VPSRAD $16, Y0, Y0
	VPMULLD Y13, Y1, Y1
	VPADDD Y14, Y1, Y1
	VPSRAD $16, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VPACKSSWB Y0, Y0, Y0 // the int8 clamp
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ qvcol

qvdone:
	VZEROUPPER
	RET

// Interleave masks: chunk k of 16 output bytes takes from plane c the
// bytes whose position 16k+i is 3·pixel + c.
DATA ilv<>+0(SB)/8, $0x8002808001808000
DATA ilv<>+8(SB)/8, $0x0580800480800380
DATA ilv<>+16(SB)/8, $0x0280800180800080
DATA ilv<>+24(SB)/8, $0x8080048080038080
DATA ilv<>+32(SB)/8, $0x8080018080008080
DATA ilv<>+40(SB)/8, $0x8004808003808002
DATA ilv<>+48(SB)/8, $0x8080078080068080
DATA ilv<>+56(SB)/8, $0x800a808009808008
DATA ilv<>+64(SB)/8, $0x8007808006808005
DATA ilv<>+72(SB)/8, $0x0a80800980800880
DATA ilv<>+80(SB)/8, $0x0780800680800580
DATA ilv<>+88(SB)/8, $0x8080098080088080
DATA ilv<>+96(SB)/8, $0x0d80800c80800b80
DATA ilv<>+104(SB)/8, $0x80800f80800e8080
DATA ilv<>+112(SB)/8, $0x80800c80800b8080
DATA ilv<>+120(SB)/8, $0x800f80800e80800d
DATA ilv<>+128(SB)/8, $0x800c80800b80800a
DATA ilv<>+136(SB)/8, $0x0f80800e80800d80
GLOBL ilv<>(SB), RODATA|NOPTR, $144

// func interleaveAVX2(dst, src *int8, hs, blocks int)
// 16 pixels per block: nine VPSHUFB and six VPOR make 48 NHWC bytes.
TEXT ·interleaveAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ hs+16(FP), DX
	MOVQ blocks+24(FP), CX
	TESTQ CX, CX
	JZ idone

iblock:
	VMOVDQU (SI), X0
	VMOVDQU (SI)(DX*1), X1
	VMOVDQU (SI)(DX*2), X2
	VPSHUFB ilv<>+0(SB), X0, X3
	VPSHUFB ilv<>+16(SB), X1, X4
	VPOR X4, X3, X3
	VPSHUFB ilv<>+32(SB), X2, X4
	VPOR X4, X3, X3
	VMOVDQU X3, (DI)
	VPSHUFB ilv<>+48(SB), X0, X3
	VPSHUFB ilv<>+64(SB), X1, X4
	VPOR X4, X3, X3
	VPSHUFB ilv<>+80(SB), X2, X4
	VPOR X4, X3, X3
	VMOVDQU X3, 16(DI)
	VPSHUFB ilv<>+96(SB), X0, X3
	VPSHUFB ilv<>+112(SB), X1, X4
	VPOR X4, X3, X3
	VPSHUFB ilv<>+128(SB), X2, X4
	VPOR X4, X3, X3
	VMOVDQU X3, 32(DI)
	ADDQ $16, SI
	ADDQ $48, DI
	DECQ CX
	JNZ iblock

idone:
	VZEROUPPER
	RET

// func yuv444RowAVX2(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)
// yuvRowAVX2 with one chroma sample per pixel.
TEXT ·yuv444RowAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ cs+8(FP), DX
	MOVQ y+16(FP), SI
	MOVQ u+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ blocks+40(FP), CX
	MOVQ k+48(FP), R10
	VPBROADCASTD 0(R10), Y12
	VPBROADCASTD 4(R10), Y13
	VPBROADCASTD 8(R10), Y14
	VPBROADCASTD 12(R10), Y15
	VPCMPEQW Y11, Y11, Y11
	VPSRLW $15, Y11, Y11
	MOVL $0x80808080, AX
	VMOVD AX, X10
	VPBROADCASTD X10, X10
	TESTQ CX, CX
	JZ y4done

y4block:
	VMOVDQU (R8), X2
	VPXOR X10, X2, X2
	VPMOVSXBW X2, Y2
	VMOVDQU (R9), X3
	VPXOR X10, X3, X3
	VPMOVSXBW X3, Y3
	VPMOVZXBW (SI), Y4
	YUVHALF(0)
	VMOVDQU 16(R8), X2
	VPXOR X10, X2, X2
	VPMOVSXBW X2, Y2
	VMOVDQU 16(R9), X3
	VPXOR X10, X3, X3
	VPMOVSXBW X3, Y3
	VPMOVZXBW 16(SI), Y4
	YUVHALF(16)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, DI
	DECQ CX
	JNZ y4block

y4done:
	VZEROUPPER
	RET

// func grayRowAVX2(dst *uint8, cs int, y *uint8, blocks int, k *yuvSIMD)
// yuvRowAVX2 with U = V = 128 (zero chroma words).
TEXT ·grayRowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ cs+8(FP), DX
	MOVQ y+16(FP), SI
	MOVQ blocks+24(FP), CX
	MOVQ k+32(FP), R10
	VPBROADCASTD 0(R10), Y12
	VPBROADCASTD 4(R10), Y13
	VPBROADCASTD 8(R10), Y14
	VPBROADCASTD 12(R10), Y15
	VPCMPEQW Y11, Y11, Y11
	VPSRLW $15, Y11, Y11
	TESTQ CX, CX
	JZ gdone

gblock:
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPMOVZXBW (SI), Y4
	YUVHALF(0)
	VPXOR Y2, Y2, Y2
	VPMOVZXBW 16(SI), Y4
	YUVHALF(16)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ gblock

gdone:
	VZEROUPPER
	RET

// Deinterleave masks: plane c, 16-byte input chunk k: output byte i is
// input byte 3i + c when it lies in chunk k.
DATA dilv<>+0(SB)/8, $0x80800f0c09060300
DATA dilv<>+8(SB)/8, $0x8080808080808080
DATA dilv<>+16(SB)/8, $0x0502808080808080
DATA dilv<>+24(SB)/8, $0x80808080800e0b08
DATA dilv<>+32(SB)/8, $0x8080808080808080
DATA dilv<>+40(SB)/8, $0x0d0a070401808080
DATA dilv<>+48(SB)/8, $0x8080800d0a070401
DATA dilv<>+56(SB)/8, $0x8080808080808080
DATA dilv<>+64(SB)/8, $0x0603008080808080
DATA dilv<>+72(SB)/8, $0x80808080800f0c09
DATA dilv<>+80(SB)/8, $0x8080808080808080
DATA dilv<>+88(SB)/8, $0x0e0b080502808080
DATA dilv<>+96(SB)/8, $0x8080800e0b080502
DATA dilv<>+104(SB)/8, $0x8080808080808080
DATA dilv<>+112(SB)/8, $0x0704018080808080
DATA dilv<>+120(SB)/8, $0x8080808080800d0a
DATA dilv<>+128(SB)/8, $0x8080808080808080
DATA dilv<>+136(SB)/8, $0x0f0c090603008080
GLOBL dilv<>(SB), RODATA|NOPTR, $144

// DEILV makes 16 bytes of plane c (mask offset m) from X0-X2 and stores
// them at dst.
#define DEILV(m, dst) \
	VPSHUFB dilv<>+m(SB), X0, X3 \
	VPSHUFB dilv<>+m+16(SB), X1, X4 \
	VPOR X4, X3, X3 \
	VPSHUFB dilv<>+m+32(SB), X2, X4 \
	VPOR X4, X3, X3 \
	VMOVDQU X3, dst

// func rgbRowAVX2(dst *uint8, cs int, src *uint8, blocks int)
// Packed RGB to planes, 16 pixels (48 bytes) per step, two per block.
TEXT ·rgbRowAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ cs+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ blocks+24(FP), CX
	SHLQ $1, CX
	JZ rdone

rstep:
	VMOVDQU (SI), X0
	VMOVDQU 16(SI), X1
	VMOVDQU 32(SI), X2
	DEILV(0, (DI))
	DEILV(48, (DI)(DX*1))
	DEILV(96, (DI)(DX*2))
	ADDQ $48, SI
	ADDQ $16, DI
	DECQ CX
	JNZ rstep

rdone:
	VZEROUPPER
	RET
