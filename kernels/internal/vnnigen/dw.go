package vnnigen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// DWTile is the depthwise kernel's output pixels per register tile.
const DWTile = 8

// dwGather emits dwGatherVNNI: n pixels' 16 channels (masked load, the
// channels past the block's valid ones read as 0) from src, inStride
// apart, into p, 16 bytes each.
func dwGather(ctx *build.Context) {
	ctx.Function("dwGatherVNNI")
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(p *int8, src *int8, inStride int, n int, mask uint16)")
	ctx.Doc("dwGatherVNNI copies n pixels' 16 channels (masked) from src (inStride apart) to p (16 apart).")
	ctx.Load(ctx.Param("p"), reg.RDI)
	ctx.Load(ctx.Param("src"), reg.RSI)
	ctx.Load(ctx.Param("inStride"), reg.R8)
	ctx.Load(ctx.Param("n"), reg.RCX)
	ctx.Load(ctx.Param("mask"), reg.AX)
	ctx.KMOVW(reg.EAX, reg.K1)
	ctx.LEAQ(memx(reg.R8, reg.R8, 2, 0), reg.R9) // 3*inStride
	ctx.Label("dwGatherVNNI_loop4")
	ctx.CMPQ(reg.RCX, operand.U8(4))
	ctx.JLT(operand.LabelRef("dwGatherVNNI_tail"))
	ctx.VMOVDQU8_Z(mem(reg.RSI, 0), reg.K1, reg.X0)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.R8, 1, 0), reg.K1, reg.X1)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.R8, 2, 0), reg.K1, reg.X2)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.R9, 1, 0), reg.K1, reg.X3)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.VMOVDQU(reg.X1, mem(reg.RDI, 16))
	ctx.VMOVDQU(reg.X2, mem(reg.RDI, 32))
	ctx.VMOVDQU(reg.X3, mem(reg.RDI, 48))
	ctx.LEAQ(memx(reg.RSI, reg.R8, 4, 0), reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.SUBQ(operand.U8(4), reg.RCX)
	ctx.JMP(operand.LabelRef("dwGatherVNNI_loop4"))
	ctx.Label("dwGatherVNNI_tail")
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef("dwGatherVNNI_done"))
	ctx.Label("dwGatherVNNI_loop")
	ctx.VMOVDQU8_Z(mem(reg.RSI, 0), reg.K1, reg.X0)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(16), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JNZ(operand.LabelRef("dwGatherVNNI_loop"))
	ctx.Label("dwGatherVNNI_done")
	ctx.RET()
}

// dwWindow emits dwWindowVNNI: n window entries from the gathered row p.
// Entry m is the 64 bytes at p + m*step (4 pixels x 16 channels)
// transposed by VPERMB to 16 channels x 4 taps, XOR 0x80 (u = x+128).
func dwWindow(ctx *build.Context) {
	ctx.Function("dwWindowVNNI")
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(win *int8, p *int8, n int, step int, perm *int8)")
	ctx.Doc("dwWindowVNNI writes n window entries: entry m = transpose(p[m*step : m*step+64]) ^ 0x80.")
	ctx.Load(ctx.Param("win"), reg.RDI)
	ctx.Load(ctx.Param("p"), reg.RSI)
	ctx.Load(ctx.Param("n"), reg.RCX)
	ctx.Load(ctx.Param("step"), reg.R8)
	ctx.Load(ctx.Param("perm"), reg.RAX)
	ctx.VMOVDQU64(mem(reg.RAX, 0), reg.Z1)
	ctx.MOVL(operand.U32(0x80808080), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, reg.Z2)
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef("dwWindowVNNI_done"))
	ctx.Label("dwWindowVNNI_loop")
	ctx.VPERMB(mem(reg.RSI, 0), reg.Z1, reg.Z0)
	ctx.VPXORD(reg.Z2, reg.Z0, reg.Z0)
	ctx.VMOVDQU64(reg.Z0, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JNZ(operand.LabelRef("dwWindowVNNI_loop"))
	ctx.Label("dwWindowVNNI_done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// dwDot emits dwDotVNNI: one output row of one 16-channel block.
//
//	acc[ox] = bias' + Σ_{ky<k} Σ_{g<gs} VPDPBUSD(w[ky][g], wins[ky][ox*64 + g*gstep])
//
// then REQH (params of block 0 of ep) and a masked 16-byte store per pixel,
// outStride apart, in tiles of DWTile pixels (the last one stores only
// the pixels < n; the window rows have DWTile entries of slack).
func dwDot(ctx *build.Context) {
	name := "dwDotVNNI"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, outStride int, n int, wins **int8, k int, gs int, gstep int, w *int8, ep *int32, mode int)")
	ctx.Doc("dwDotVNNI computes one output row of a 16-channel block of the depthwise convolution (see dwconv_vnni_amd64.go).")
	var (
		dst, ostr, cnt   = reg.RDI, reg.R8, reg.RCX
		wins, ky, gc     = reg.RSI, reg.RDX, reg.R9
		gstep, wp, ep    = reg.R10, reg.R11, reg.RBX
		ent, off, wrow   = reg.R12, reg.R13, reg.R14
		zw, zbias        = reg.Z18, reg.Z19
		zm, zmo, zc, zsh = reg.Z24, reg.Z25, reg.Z26, reg.Z27
	)
	ctx.Load(ctx.Param("dst"), dst)
	ctx.Load(ctx.Param("outStride"), ostr)
	ctx.Load(ctx.Param("n"), cnt)
	ctx.Load(ctx.Param("wins"), wins)
	ctx.Load(ctx.Param("gstep"), gstep)
	ctx.Load(ctx.Param("ep"), ep)
	ctx.XORQ(off, off)
	ctx.VMOVDQU32(mem(ep, epM), zm)
	ctx.VMOVDQU32(mem(ep, epMO), zmo)
	ctx.VMOVDQU32(mem(ep, epC), zc)
	ctx.VMOVDQU32(mem(ep, epSh), zsh)
	ctx.VMOVDQU32(mem(ep, epBias), zbias)
	ctx.MOVL(operand.U32(0xAAAA), reg.EAX)
	ctx.KMOVW(reg.EAX, kOdd)
	ctx.KMOVW(mem(ep, epMask), kMask[0])
	np := DWTile
	pre := fmt.Sprintf("%s_t%d", name, np)
	ctx.Label(pre)
	ctx.TESTQ(cnt, cnt)
	ctx.JZ(operand.LabelRef(name + "_done"))
	for t := range np {
		ctx.VMOVDQA32(zbias, zs[t])
	}
	ctx.Load(ctx.Param("w"), wp)
	ctx.Load(ctx.Param("k"), ky)
	ctx.MOVQ(wins, wrow)
	ctx.Label(pre + "_ky")
	ctx.MOVQ(mem(wrow, 0), ent)
	ctx.ADDQ(off, ent)
	ctx.Load(ctx.Param("gs"), gc)
	ctx.Label(pre + "_g")
	ctx.VMOVDQU32(mem(wp, 0), zw)
	for t := range np {
		x := zs[16+t%2]
		ctx.VMOVDQU32(mem(ent, 64*t), x)
		vpdpbusd(ctx, zw, x, zs[t])
	}
	ctx.ADDQ(operand.U8(64), wp)
	ctx.ADDQ(gstep, ent)
	ctx.DECQ(gc)
	ctx.JNZ(operand.LabelRef(pre + "_g"))
	ctx.ADDQ(operand.U8(8), wrow)
	ctx.DECQ(ky)
	ctx.JNZ(operand.LabelRef(pre + "_ky"))
	// Epilogue: pixels t < cnt only (a last tile may be short; its other
	// accumulators read window entries past the row and are not stored).
	ctx.Load(ctx.Param("mode"), reg.RAX)
	ctx.TESTQ(operand.U32(ModeClamp), reg.RAX)
	ctx.MOVQ(dst, reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_clamp"))
	dwReq(ctx, np, false, zm, zmo, zc, zsh, ep, ostr, cnt, pre+"_next")
	ctx.JMP(operand.LabelRef(pre + "_next"))
	ctx.Label(pre + "_clamp")
	dwReq(ctx, np, true, zm, zmo, zc, zsh, ep, ostr, cnt, pre+"_next")
	ctx.Label(pre + "_next")
	ctx.ADDQ(operand.U32(64*np), off)
	ctx.MOVQ(reg.RAX, dst)
	ctx.SUBQ(operand.U8(np), cnt)
	ctx.JG(operand.LabelRef(pre))
	ctx.Label(name + "_done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// dwReq is REQH of accumulators Z0..Z(np-1) (see reqh), each stored
// masked at (AX), AX advancing by outStride.
func dwReq(ctx *build.Context, np int, clamp bool, zm, zmo, zc, zsh reg.VecPhysical, ep, ostr, cnt reg.Register, next string) {
	for t := range np {
		if t > 0 {
			ctx.CMPQ(cnt, operand.U8(t))
			ctx.JLE(operand.LabelRef(next))
		}
		a := zs[t]
		t1, t2 := zT[0], zT[1]
		ctx.VPMULDQ(zm, a, t1)
		ctx.VPSRLQ(operand.U8(32), a, a)
		ctx.VPMULDQ(zmo, a, t2)
		ctx.VPSRLQ(operand.U8(32), t1, t1)
		ctx.VMOVDQA32(t2, kOdd, t1)
		ctx.VPADDD(zc, t1, t1)
		ctx.VPSRAVD(zsh, t1, t1)
		ctx.VPMOVSDB(t1, xs[0])
		if clamp {
			ctx.VPMAXSB(mem(ep, epQmin), xs[0], xs[0])
			ctx.VPMINSB(mem(ep, epQmax), xs[0], xs[0])
		}
		ctx.VMOVDQU8(xs[0], kMask[0], mem(reg.RAX, 0))
		ctx.ADDQ(ostr, reg.RAX)
	}
}
