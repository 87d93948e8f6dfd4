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
