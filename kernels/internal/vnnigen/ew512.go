package vnnigen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Elementwise kernels in AVX-512 (elementwise_avx512_amd64.s): the table
// lookup with AVX512_VBMI's two-table byte permute, and the quantized add
// in 512-bit and in 256-bit EVEX registers (kernels/VNNI.md has the
// measurements that decide which the vnni tier uses).

// ewParams offsets (kernels/elementwise_amd64.go, checked there).
const (
	ewZOut, ewQmin, ewQmax         = 0, 32, 64
	ewMAB, ewZA, ewZB, ewRound, ew = 448, 480, 512, 544, 576
)

// lookup512 emits lookupAVX512: dst[i] = table[uint8(src[i])] for i < n
// (n > 0), 64 bytes per step, the last n%64 under a byte mask. The table
// is four zmm registers; VPERMT2B looks up 128 entries on the index's low
// 7 bits, once in entries 0-127 and once in 128-255, and VPBLENDMB picks
// by bit 7 (VPMOVB2M): 8 operations per 64 bytes.
func lookup512(ctx *build.Context) {
	ctx.Function("lookupAVX512")
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst, src *int8, n int, table *[256]int8)")
	ctx.Doc("lookupAVX512 sets dst[i] = table[uint8(src[i])] for i < n (n > 0) by VPERMT2B.")
	ctx.Load(ctx.Param("dst"), reg.RDI)
	ctx.Load(ctx.Param("src"), reg.RSI)
	ctx.Load(ctx.Param("n"), reg.RCX)
	ctx.Load(ctx.Param("table"), reg.RAX)
	for i, z := range []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3} {
		ctx.VMOVDQU64(mem(reg.RAX, 64*i), z)
	}
	ctx.XORQ(reg.RBX, reg.RBX)
	look := func() { // Z4 indexes -> Z5
		ctx.VPMOVB2M(reg.Z4, reg.K1)
		ctx.VMOVDQA64(reg.Z0, reg.Z5)
		ctx.VPERMT2B(reg.Z1, reg.Z4, reg.Z5)
		ctx.VMOVDQA64(reg.Z2, reg.Z6)
		ctx.VPERMT2B(reg.Z3, reg.Z4, reg.Z6)
		ctx.VPBLENDMB(reg.Z6, reg.Z5, reg.K1, reg.Z5)
	}
	ctx.Label("lookupAVX512_loop")
	ctx.LEAQ(mem(reg.RBX, 64), reg.RDX)
	ctx.CMPQ(reg.RDX, reg.RCX)
	ctx.JGT(operand.LabelRef("lookupAVX512_tail"))
	ctx.VMOVDQU64(memx(reg.RSI, reg.RBX, 1, 0), reg.Z4)
	look()
	ctx.VMOVDQU64(reg.Z5, memx(reg.RDI, reg.RBX, 1, 0))
	ctx.MOVQ(reg.RDX, reg.RBX)
	ctx.JMP(operand.LabelRef("lookupAVX512_loop"))
	ctx.Label("lookupAVX512_tail")
	ctx.SUBQ(reg.RBX, reg.RCX)
	ctx.JZ(operand.LabelRef("lookupAVX512_done"))
	ctx.MOVQ(operand.U32(1), reg.RDX)
	ctx.SHLQ(reg.CL, reg.RDX)
	ctx.DECQ(reg.RDX)
	ctx.KMOVQ(reg.RDX, reg.K2)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.RBX, 1, 0), reg.K2, reg.Z4)
	look()
	ctx.VMOVDQU8(reg.Z5, reg.K2, memx(reg.RDI, reg.RBX, 1, 0))
	ctx.Label("lookupAVX512_done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// addEW emits addAVX512 (zmm, 32 elements per step) or addEVEX256 (ymm,
// 16): AVX2's addAVX2 (kernels/elementwise_amd64.s) with the parameters
// broadcast from ewParams and the int16 -> int8 narrow by VPMOVSWB.
// n > 0 is a multiple of the step.
func addEW(ctx *build.Context, wide bool) {
	name, step := "addEVEX256", 16
	v := func(i int) reg.VecPhysical { return ys[i] }
	h := func(i int) reg.Register { return ys[i].AsX() }
	if wide {
		name, step = "addAVX512", 32
		v = func(i int) reg.VecPhysical { return zs[i] }
		h = func(i int) reg.Register { return zs[i].AsY() }
	}
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst, a, b *int8, n int, ep *int32)")
	ctx.Doc(fmt.Sprintf("%s is addAVX2 on %d elements per step (n > 0 a multiple of %d).", name, step, step))
	ctx.Load(ctx.Param("dst"), reg.RDI)
	ctx.Load(ctx.Param("a"), reg.RSI)
	ctx.Load(ctx.Param("b"), reg.RDX)
	ctx.Load(ctx.Param("n"), reg.R8)
	ctx.Load(ctx.Param("ep"), reg.RAX)
	ctx.VPBROADCASTD(mem(reg.RAX, ewZOut), v(10))
	ctx.VMOVDQU(mem(reg.RAX, ewQmin), h(11))
	ctx.VMOVDQU(mem(reg.RAX, ewQmax), h(12))
	ctx.VPBROADCASTD(mem(reg.RAX, ewMAB), v(7))
	ctx.VPBROADCASTW(mem(reg.RAX, ewZA), v(5))
	ctx.VPBROADCASTW(mem(reg.RAX, ewZB), v(6))
	ctx.VPBROADCASTD(mem(reg.RAX, ewRound), v(4))
	ctx.VMOVQ(mem(reg.RAX, ew), reg.X3)
	ctx.XORQ(reg.RCX, reg.RCX)
	ctx.Label(name + "_loop")
	ctx.VPMOVSXBW(memx(reg.RSI, reg.RCX, 1, 0), v(0))
	ctx.VPMOVSXBW(memx(reg.RDX, reg.RCX, 1, 0), v(1))
	ctx.VPSUBW(v(5), v(0), v(0))
	ctx.VPSUBW(v(6), v(1), v(1))
	ctx.VPUNPCKLWD(v(1), v(0), v(2))
	ctx.VPUNPCKHWD(v(1), v(0), v(0))
	ctx.VPMADDWD(v(7), v(2), v(2))
	ctx.VPMADDWD(v(7), v(0), v(0))
	ctx.VPADDD(v(4), v(2), v(2))
	ctx.VPADDD(v(4), v(0), v(0))
	ctx.VPSRAD(reg.X3, v(2), v(2))
	ctx.VPSRAD(reg.X3, v(0), v(0))
	ctx.VPADDD(v(10), v(2), v(2))
	ctx.VPADDD(v(10), v(0), v(0))
	ctx.VPACKSSDW(v(0), v(2), v(2)) // the unpack order undone, per 128-bit lane
	ctx.VPMOVSWB(v(2), h(2))
	ctx.VPMAXSB(h(11), h(2), h(2))
	ctx.VPMINSB(h(12), h(2), h(2))
	ctx.VMOVDQU(h(2), memx(reg.RDI, reg.RCX, 1, 0))
	ctx.ADDQ(operand.U8(step), reg.RCX)
	ctx.CMPQ(reg.RCX, reg.R8)
	ctx.JLT(operand.LabelRef(name + "_loop"))
	ctx.VZEROUPPER()
	ctx.RET()
}

// cmParams offsets (kernels/elementwise_amd64.go).
const (
	cmZX, cmZOut, cmRnd, cmQmin, cmQmax, cmSh = 0, 32, 64, 96, 128, 160
	cmZG, cmMH, cmML                          = 192, 224, 256
)

// chanMulK512 emits chanMulKAVX512: chanMulKAVX2's arithmetic (the proof
// is in kernels/elementwise_amd64.go) on 32 channels per zmm step. The
// (a, b) pairs of K1 and K0 come from cmSetupAVX512, 256 bytes per 32
// channels in the order VPUNPCKL/HWD leave the data: K1 of the A lanes
// (channels 0-3, 8-11, 16-19, 24-27), their K0, then K1 and K0 of the B
// lanes (4-7, 12-15, 20-23, 28-31). VPACKSSDW B, A restores the channel
// order; VPMOVSWB narrows. c32 > 0 is a multiple of 32.
func chanMulK512(ctx *build.Context) {
	ctx.Function("chanMulKAVX512")
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c32 int, k *int16, ep *int32)")
	ctx.Doc("chanMulKAVX512 is chanMulKAVX2 on 32 channels per zmm step (c32 > 0 a multiple of 32).")
	ctx.Load(ctx.Param("dst"), reg.RDI)
	ctx.Load(ctx.Param("dstStride"), reg.R9)
	ctx.Load(ctx.Param("src"), reg.RSI)
	ctx.Load(ctx.Param("srcStride"), reg.R11)
	ctx.Load(ctx.Param("pixels"), reg.R12)
	ctx.Load(ctx.Param("c32"), reg.R13)
	ctx.Load(ctx.Param("k"), reg.RDX)
	ctx.Load(ctx.Param("ep"), reg.RAX)
	zX, zOut, rnd := reg.Z15, reg.Z14, reg.Z13
	qmin, qmax := reg.Y11, reg.Y10
	ctx.VPBROADCASTW(mem(reg.RAX, cmZX), zX)
	ctx.VPBROADCASTW(mem(reg.RAX, cmZOut), zOut)
	ctx.VPBROADCASTW(mem(reg.RAX, cmRnd), rnd)
	ctx.VMOVDQU(mem(reg.RAX, cmQmin), qmin)
	ctx.VMOVDQU(mem(reg.RAX, cmQmax), qmax)
	ctx.VMOVQ(mem(reg.RAX, cmSh), reg.X12)
	ctx.Label("chanMulKAVX512_pix")
	ctx.XORQ(reg.RCX, reg.RCX)
	ctx.Label("chanMulKAVX512_c")
	t, a, b, u, v := reg.Z8, reg.Z0, reg.Z1, reg.Z4, reg.Z5
	ctx.VPMOVSXBW(memx(reg.RSI, reg.RCX, 1, 0), t)
	ctx.VPSUBW(zX, t, t)
	ctx.VPSLLW(operand.U8(7), t, b)
	ctx.VPUNPCKLWD(b, t, a) // (u, 128u) pairs
	ctx.VPUNPCKHWD(b, t, b)
	for _, c := range []struct {
		x      reg.VecPhysical
		tmp    reg.VecPhysical
		o1, o0 int
	}{{a, u, 0, 64}, {b, v, 128, 192}} {
		ctx.VPMADDWD(memx(reg.RDX, reg.RCX, 8, c.o0), c.x, c.tmp)
		ctx.VPMADDWD(memx(reg.RDX, reg.RCX, 8, c.o1), c.x, c.x)
		ctx.VPSRAD(operand.U8(17), c.tmp, c.tmp)
		ctx.VPADDD(c.tmp, c.x, c.x)
		ctx.VPSRAD(reg.X12, c.x, c.x)
	}
	ctx.VPACKSSDW(b, a, a)
	ctx.VPMULHRSW(rnd, a, a)
	ctx.VPADDSW(zOut, a, a)
	ctx.VPMOVSWB(a, reg.Y0)
	ctx.VPMAXSB(qmin, reg.Y0, reg.Y0)
	ctx.VPMINSB(qmax, reg.Y0, reg.Y0)
	ctx.VMOVDQU(reg.Y0, memx(reg.RDI, reg.RCX, 1, 0))
	ctx.ADDQ(operand.U8(32), reg.RCX)
	ctx.CMPQ(reg.RCX, reg.R13)
	ctx.JLT(operand.LabelRef("chanMulKAVX512_c"))
	ctx.ADDQ(reg.R9, reg.RDI)
	ctx.ADDQ(reg.R11, reg.RSI)
	ctx.DECQ(reg.R12)
	ctx.JNZ(operand.LabelRef("chanMulKAVX512_pix"))
	ctx.VZEROUPPER()
	ctx.RET()
}

// cmSetup512 emits cmSetupAVX512: chanMulKAVX512's pairs for channels
// [0, c32) (cmSetupAVX2's arithmetic). The gates are put in the A and B
// lane orders by the same unpacks as the data (each int16 paired with
// itself, VPSRAD $16 sign-extends it).
func cmSetup512(ctx *build.Context) {
	ctx.Function("cmSetupAVX512")
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(k *int16, gate *int8, c32 int, ep *int32)")
	ctx.Doc("cmSetupAVX512 writes chanMulKAVX512's K pairs of channels [0, c32), c32 > 0 a multiple of 32.")
	ctx.Load(ctx.Param("k"), reg.RDI)
	ctx.Load(ctx.Param("gate"), reg.RSI)
	ctx.Load(ctx.Param("c32"), reg.RCX)
	ctx.Load(ctx.Param("ep"), reg.RAX)
	zG, mh, ml := reg.Z15, reg.Z14, reg.Z13
	m17, m7 := reg.Z12, reg.Z11
	ctx.VPBROADCASTD(mem(reg.RAX, cmZG), zG)
	ctx.VPBROADCASTD(mem(reg.RAX, cmMH), mh)
	ctx.VPBROADCASTD(mem(reg.RAX, cmML), ml)
	ctx.VPTERNLOGD(operand.U8(0xff), m17, m17, m17)
	ctx.VPSRLD(operand.U8(25), m17, m7)  // 0x7F
	ctx.VPSRLD(operand.U8(15), m17, m17) // 0x1FFFF
	ctx.MOVL(operand.U32(0xAAAAAAAA), reg.EAX)
	ctx.KMOVD(reg.EAX, reg.K1) // high words
	ctx.XORQ(reg.RBX, reg.RBX)
	ctx.Label("cmSetupAVX512_loop")
	ctx.VPMOVSXBW(memx(reg.RSI, reg.RBX, 1, 0), reg.Z0)
	ctx.VPUNPCKLWD(reg.Z0, reg.Z0, reg.Z1)
	ctx.VPUNPCKHWD(reg.Z0, reg.Z0, reg.Z2)
	for i, g := range []reg.VecPhysical{reg.Z1, reg.Z2} {
		ctx.VPSRAD(operand.U8(16), g, g)
		ctx.VPSUBD(zG, g, g)
		ctx.VPMULLD(mh, g, reg.Z3) // G*Mh
		ctx.VPMULLD(ml, g, g)      // G*Ml
		ctx.VPSRAD(operand.U8(17), g, reg.Z4)
		ctx.VPANDD(m17, g, g)              // K0
		ctx.VPADDD(reg.Z4, reg.Z3, reg.Z3) // K1
		// pair(K) = (K & 127) | (K << 9) & 0xFFFF0000: K1 at +0, K0 at +64.
		for j, kv := range []reg.VecPhysical{reg.Z3, g} {
			ctx.VPANDD(m7, kv, reg.Z5)
			ctx.VPSLLD(operand.U8(9), kv, kv)
			ctx.VPBLENDMW(kv, reg.Z5, reg.K1, kv)
			ctx.VMOVDQU64(kv, mem(reg.RDI, 128*i+64*j))
		}
	}
	ctx.ADDQ(operand.U32(256), reg.RDI)
	ctx.ADDQ(operand.U8(32), reg.RBX)
	ctx.CMPQ(reg.RBX, reg.RCX)
	ctx.JLT(operand.LabelRef("cmSetupAVX512_loop"))
	ctx.VZEROUPPER()
	ctx.RET()
}
