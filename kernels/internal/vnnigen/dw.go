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

// dwMaxK is kernels.dwMaxK: the window row pointers of an output row are
// dwMaxK apart in the driver's table.
const dwMaxK = 11

// dwBlock emits dwBlockVNNI: output rows [0, rows) of a batch of one
// 16-channel block. Per row i: the input rows it is the first to read,
// gathers [fresh[i], fresh[i+1]) (each an offset into src and a ring
// slot), are gathered and transformed into their window rows, then the
// output row is computed from its window rows wins[i][0..k). One call
// per block and batch: three Go-to-assembly calls per output row cost
// the driver ~3% of a MixNet-S frame (their argument spills and reloads).
//
// Gather: ng pixels' 16 channels (masked load, the block's invalid
// channels read as 0) from src+off, inStride apart, to pg, 16 bytes
// each. Window: entry m of a ring slot is the 64 bytes at p + m*step (4
// pixels x 16 channels) transposed by VPERMB to 16 channels x 4 taps,
// XOR 0x80 (u = x+128). Dot:
//
//	acc[ox] = bias' + Σ_{ky<k} Σ_{g<gs} VPDPBUSD(w[ky][g], wins[i][ky][ox*64 + g*gstep])
//
// then REQH (params of block 0 of ep) and a masked 16-byte store per
// pixel, outStride apart, in tiles of DWTile pixels (the last one stores
// only the pixels < ow; the window rows have DWTile entries of slack).
func dwBlock(ctx *build.Context) {
	name := "dwBlockVNNI"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, rowStep int, outStride int, ow int, rows int, wins **int8, fresh *int, gathers *int, " +
		"src *int8, inStride int, ng int, pg *int8, mask int, p *int8, ne int, step int, perm *int8, " +
		"k int, gs int, gstep int, w *int8, ep *int32, mode int)")
	ctx.Doc("dwBlockVNNI computes output rows [0, rows) of a batch of one 16-channel block of the depthwise convolution (see dwconv_vnni_amd64.go).")
	var (
		dst, ostr, cnt   = reg.RDI, reg.R8, reg.RCX
		wins, ky, gc     = reg.RSI, reg.RDX, reg.R9
		gstep, wp, ep    = reg.R10, reg.R11, reg.RBX
		ent, off, wrow   = reg.R12, reg.R13, reg.R14
		zw, zbias        = reg.Z18, reg.Z19
		zperm, z80w, zt  = reg.Z20, reg.Z21, reg.Z22
		zm, zmo, zc, zsh = reg.Z24, reg.Z25, reg.Z26, reg.Z27
		kGather          = kMask[1]
	)
	lRows, lDst, lWins, lFresh := ctx.AllocLocal(8), ctx.AllocLocal(8), ctx.AllocLocal(8), ctx.AllocLocal(8)
	// Loop-invariant registers: REQH parameters, bias, masks, the
	// transpose permutation and 0x80 bytes.
	ctx.Load(ctx.Param("ep"), ep)
	ctx.VMOVDQU32(mem(ep, epM), zm)
	ctx.VMOVDQU32(mem(ep, epMO), zmo)
	ctx.VMOVDQU32(mem(ep, epC), zc)
	ctx.VMOVDQU32(mem(ep, epSh), zsh)
	ctx.VMOVDQU32(mem(ep, epBias), zbias)
	ctx.MOVL(operand.U32(0xAAAA), reg.EAX)
	ctx.KMOVW(reg.EAX, kOdd)
	ctx.KMOVW(mem(ep, epMask), kMask[0])
	ctx.Load(ctx.Param("mask"), reg.RAX)
	ctx.KMOVW(reg.EAX, kGather)
	ctx.Load(ctx.Param("perm"), reg.RAX)
	ctx.VMOVDQU64(mem(reg.RAX, 0), zperm)
	ctx.MOVL(operand.U32(0x80808080), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, z80w)
	ctx.Load(ctx.Param("rows"), reg.RAX)
	ctx.MOVQ(reg.RAX, lRows)
	ctx.Load(ctx.Param("dst"), reg.RAX)
	ctx.MOVQ(reg.RAX, lDst)
	ctx.Load(ctx.Param("wins"), reg.RAX)
	ctx.MOVQ(reg.RAX, lWins)
	ctx.Load(ctx.Param("fresh"), reg.RAX)
	ctx.MOVQ(reg.RAX, lFresh)

	ctx.Label(name + "_row")
	// Gathers [fresh[i], fresh[i+1]): R14 walks the entries, R13 counts.
	ctx.MOVQ(lFresh, reg.RAX)
	ctx.MOVQ(mem(reg.RAX, 0), reg.R12)
	ctx.MOVQ(mem(reg.RAX, 8), reg.R13)
	ctx.SUBQ(reg.R12, reg.R13)
	ctx.JLE(operand.LabelRef(name + "_dot"))
	ctx.SHLQ(operand.U8(4), reg.R12)
	ctx.Load(ctx.Param("gathers"), reg.R14)
	ctx.ADDQ(reg.R12, reg.R14)
	ctx.Label(name + "_fresh")
	ctx.Load(ctx.Param("ng"), reg.RCX)
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(name + "_window"))
	ctx.Load(ctx.Param("pg"), reg.RDI)
	ctx.Load(ctx.Param("src"), reg.RSI)
	ctx.ADDQ(mem(reg.R14, 0), reg.RSI)
	ctx.Load(ctx.Param("inStride"), reg.R8)
	ctx.LEAQ(memx(reg.R8, reg.R8, 2, 0), reg.R9) // 3*inStride
	ctx.Label(name + "_gather4")
	ctx.CMPQ(reg.RCX, operand.U8(4))
	ctx.JLT(operand.LabelRef(name + "_gather1"))
	ctx.VMOVDQU8_Z(mem(reg.RSI, 0), kGather, reg.X0)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.R8, 1, 0), kGather, reg.X1)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.R8, 2, 0), kGather, reg.X2)
	ctx.VMOVDQU8_Z(memx(reg.RSI, reg.R9, 1, 0), kGather, reg.X3)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.VMOVDQU(reg.X1, mem(reg.RDI, 16))
	ctx.VMOVDQU(reg.X2, mem(reg.RDI, 32))
	ctx.VMOVDQU(reg.X3, mem(reg.RDI, 48))
	ctx.LEAQ(memx(reg.RSI, reg.R8, 4, 0), reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.SUBQ(operand.U8(4), reg.RCX)
	ctx.JMP(operand.LabelRef(name + "_gather4"))
	ctx.Label(name + "_gather1")
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(name + "_window"))
	ctx.VMOVDQU8_Z(mem(reg.RSI, 0), kGather, reg.X0)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(16), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JMP(operand.LabelRef(name + "_gather1"))
	ctx.Label(name + "_window")
	ctx.MOVQ(mem(reg.R14, 8), reg.RDI)
	ctx.Load(ctx.Param("p"), reg.RSI)
	ctx.Load(ctx.Param("ne"), reg.RCX)
	ctx.Load(ctx.Param("step"), reg.R8)
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(name + "_nextfresh"))
	ctx.Label(name + "_entry")
	ctx.VPERMB(mem(reg.RSI, 0), zperm, zt)
	ctx.VPXORD(z80w, zt, zt)
	ctx.VMOVDQU64(zt, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JNZ(operand.LabelRef(name + "_entry"))
	ctx.Label(name + "_nextfresh")
	ctx.ADDQ(operand.U8(16), reg.R14)
	ctx.DECQ(reg.R13)
	ctx.JNZ(operand.LabelRef(name + "_fresh"))

	// The output row.
	ctx.Label(name + "_dot")
	ctx.MOVQ(lDst, dst)
	ctx.MOVQ(lWins, wins)
	ctx.Load(ctx.Param("ow"), cnt)
	ctx.Load(ctx.Param("outStride"), ostr)
	ctx.Load(ctx.Param("gstep"), gstep)
	ctx.XORQ(off, off)
	np := DWTile
	pre := fmt.Sprintf("%s_t%d", name, np)
	ctx.Label(pre)
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

	// Next row.
	ctx.Load(ctx.Param("rowStep"), reg.RAX)
	ctx.ADDQ(reg.RAX, lDst)
	ctx.ADDQ(operand.U32(8*dwMaxK), lWins)
	ctx.ADDQ(operand.U8(8), lFresh)
	ctx.DECQ(lRows)
	ctx.JNZ(operand.LabelRef(name + "_row"))
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
