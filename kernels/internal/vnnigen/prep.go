package vnnigen

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// vnniPrep emits vnniPrepAVX512: the REQH part of vnniEpi.prep, 16
// channels per step instead of one (its scalar loops over up to 64
// channels per GEMM call took ~3% of a MixNet-S frame, most of it in
// the squeeze-excite FCs' one-pixel GEMMs). For channels c < nc, with
// the block's invalid lanes (nc..end) zero:
//
//	bias[c] = bias[c] - 128*colsum[c]; m[c] = M; c[c] = t << (Shift-2); sh[c] = Shift-1
//	mo[2i] = m[2i+1]
//
// It reports false, leaving the fields partial, when a channel's
// Shift-2 (unsigned) exceeds smax; the caller then falls back to the
// scalar prep.
func vnniPrep(ctx *build.Context) {
	name := "vnniPrepAVX512"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(e *int32, bias *int32, colsum *int32, rq *int32, nc int, t int32, smax int32) bool")
	ctx.Doc("vnniPrepAVX512 fills the bias and REQH fields of a vnniEpi for nc channels (see vnniEpi.prep).")
	var (
		e, bias, cs, rq, nc = reg.RDI, reg.RSI, reg.RDX, reg.R8, reg.RCX
		zt, zsmax, z2, z1   = reg.Z10, reg.Z11, reg.Z12, reg.Z13
	)
	ctx.Load(ctx.Param("e"), e)
	ctx.Load(ctx.Param("bias"), bias)
	ctx.Load(ctx.Param("colsum"), cs)
	ctx.Load(ctx.Param("rq"), rq)
	ctx.Load(ctx.Param("nc"), nc)
	ctx.Load(ctx.Param("t"), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, zt)
	ctx.Load(ctx.Param("smax"), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, zsmax)
	ctx.MOVL(operand.U32(2), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, z2)
	ctx.MOVL(operand.U32(1), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, z1)
	ctx.MOVL(operand.U32(0xFFFF), reg.R9L)
	ctx.Label(name + "_block")
	// K1: the block's valid channels (all 16, or the first nc).
	ctx.BZHIL(reg.ECX, reg.R9L, reg.EAX)
	ctx.KMOVW(reg.EAX, reg.K1)
	ctx.KSHIFTRW(operand.U8(8), reg.K1, reg.K3)
	ctx.VMOVDQU32_Z(mem(bias, 0), reg.K1, reg.Z0)
	ctx.VMOVDQU32_Z(mem(cs, 0), reg.K1, reg.Z1)
	ctx.VPSLLD(operand.U8(7), reg.Z1, reg.Z1)
	ctx.VPSUBD(reg.Z1, reg.Z0, reg.Z0)
	ctx.VMOVDQU32(reg.Z0, mem(e, epBias))
	// 16 multipliers {M, Shift}: M is each qword's low dword, Shift its high.
	ctx.VMOVDQU64_Z(mem(rq, 0), reg.K1, reg.Z2)
	ctx.VMOVDQU64_Z(mem(rq, 64), reg.K3, reg.Z3)
	ctx.VPMOVQD(reg.Z2, reg.Y4)
	ctx.VPMOVQD(reg.Z3, reg.Y5)
	ctx.VINSERTI64X4(operand.U8(1), reg.Y5, reg.Z4, reg.Z4)
	ctx.VPSRLQ(operand.U8(32), reg.Z2, reg.Z2)
	ctx.VPSRLQ(operand.U8(32), reg.Z3, reg.Z3)
	ctx.VPMOVQD(reg.Z2, reg.Y6)
	ctx.VPMOVQD(reg.Z3, reg.Y7)
	ctx.VINSERTI64X4(operand.U8(1), reg.Y7, reg.Z6, reg.Z6)
	ctx.VPSUBD(z2, reg.Z6, reg.Z7) // Shift-2
	ctx.VPCMPUD(operand.U8(6), zsmax, reg.Z7, reg.K1, reg.K4)
	ctx.KORTESTW(reg.K4, reg.K4)
	ctx.JNZ(operand.LabelRef(name + "_fail"))
	ctx.VMOVDQU32(reg.Z4, mem(e, epM))
	ctx.VPSRLQ(operand.U8(32), reg.Z4, reg.Z8)
	ctx.VMOVDQU32(reg.Z8, mem(e, epMO))
	ctx.VPSLLVD_Z(reg.Z7, zt, reg.K1, reg.Z9)
	ctx.VMOVDQU32(reg.Z9, mem(e, epC))
	ctx.VPSUBD_Z(z1, reg.Z6, reg.K1, reg.Z9)
	ctx.VMOVDQU32(reg.Z9, mem(e, epSh))
	ctx.ADDQ(operand.U8(64), bias)
	ctx.ADDQ(operand.U8(64), cs)
	ctx.ADDQ(operand.U32(128), rq)
	ctx.ADDQ(operand.U8(64), e)
	ctx.SUBQ(operand.U8(16), nc)
	ctx.JG(operand.LabelRef(name + "_block"))
	ctx.MOVB(operand.U8(1), reg.AL)
	ctx.Store(reg.AL, ctx.ReturnIndex(0))
	ctx.VZEROUPPER()
	ctx.RET()
	ctx.Label(name + "_fail")
	ctx.MOVB(operand.U8(0), reg.AL)
	ctx.Store(reg.AL, ctx.ReturnIndex(0))
	ctx.VZEROUPPER()
	ctx.RET()
}
