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

// dwBlock emits dwBlockVNNI<g>s<st>: output rows [0, rows) of a batch of one
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
//	acc[ox] = bias' + Σ_{ky<k} Σ_{gi<g} VPDPBUSD(w[ky][gi], wins[i][ky][(ox + gi*4/st)*64])
//
// then REQH (params of block 0 of ep) and a masked 16-byte store per
// pixel, outStride apart, in tiles of DWTile pixels (the last one stores
// only the pixels < ow; the window rows have DWTile entries of slack).
func dwBlock(ctx *build.Context, g, st int) {
	name := fmt.Sprintf("dwBlockVNNI%ds%d", g, st)
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, rowStep int, outStride int, ow int, rows int, wins **int8, fresh *int, gathers *int, " +
		"src *int8, inStride int, ng int, pg *int8, mask int, p *int8, ne int, step int, perm *int8, " +
		"k int, w *int8, ep *int32, mode int)")
	ctx.Doc(fmt.Sprintf("%s computes output rows [0, rows) of a batch of one 16-channel block of a depthwise convolution with %d 4-tap groups a kernel row at stride %d (see dwconv_vnni_amd64.go).", name, g, st))
	// Vector registers: accumulators Z0-Z7, window entries Z8-Z23 (a
	// tile's 8 pixels and the 4/st more each further group reads), REQH
	// parameters Z24-Z27, weights Z28-Z30 (dead in the epilogue, whose
	// temporaries they become), bias Z31; the transform's permutation,
	// 0x80s and temporary take Z8-Z10 while the window rows are built.
	var (
		dst, ostr, cnt   = reg.RDI, reg.R8, reg.RCX
		wins, ky         = reg.RSI, reg.RDX
		wp, ep           = reg.R11, reg.RBX
		ent, off, wrow   = reg.R12, reg.R13, reg.R14
		zbias            = reg.Z31
		zperm, z80w, zt  = reg.Z8, reg.Z9, reg.Z10
		zm, zmo, zc, zsh = reg.Z24, reg.Z25, reg.Z26, reg.Z27
		kGather          = kMask[1]
		span             = 4 / st              // entries between one group's pixels and the next's
		nent             = DWTile + span*(g-1) // entries a tile reads per kernel row
	)
	zent := zs[8 : 8+nent]
	zwt := zs[28 : 28+g]
	// pairs: at stride 1 with one group, two output rows at a time share
	// each window row's entries (K+1 rows serve 2K row products; the
	// driver gives the ring K+1 slots for it). More groups leave no
	// registers for a second row's accumulators.
	pairs := g <= 2 && st == 1
	// With two groups the pair's 12 entries take Z16-Z27, so every
	// epilogue reloads the REQH parameters into Z24-Z27 (entries are dead
	// by then).
	reload := pairs && g == 2
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
	ctx.Load(ctx.Param("rows"), reg.RAX)
	ctx.MOVQ(reg.RAX, lRows)
	ctx.Load(ctx.Param("dst"), reg.RAX)
	ctx.MOVQ(reg.RAX, lDst)
	ctx.Load(ctx.Param("wins"), reg.RAX)
	ctx.MOVQ(reg.RAX, lWins)
	ctx.Load(ctx.Param("fresh"), reg.RAX)
	ctx.MOVQ(reg.RAX, lFresh)

	ctx.Label(name + "_row")
	if pairs {
		ctx.CMPQ(lRows, operand.U8(2))
		ctx.JGE(operand.LabelRef(name + "_pair"))
	}
	dwGatherRows(ctx, name+"_g1", name+"_dot", 1, lFresh, kGather, zperm, z80w, zt)

	// The output row.
	ctx.Label(name + "_dot")
	ctx.MOVQ(lDst, dst)
	ctx.MOVQ(lWins, wins)
	ctx.Load(ctx.Param("ow"), cnt)
	ctx.Load(ctx.Param("outStride"), ostr)
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
	// Each entry is loaded once per kernel row: group gi of pixel t
	// reads entry t + gi*span, which pixel t + gi*span of group 0 reads
	// too (loads, not products, were the limit: with every other
	// entry load dropped the kernel ran 10-20% faster).
	for gi, w := range zwt {
		ctx.VMOVDQU32(mem(wp, 64*gi), w)
	}
	for u, e := range zent {
		ctx.VMOVDQU32(mem(ent, 64*u), e)
	}
	for gi, w := range zwt {
		for t := range np {
			vpdpbusd(ctx, w, zent[t+gi*span], zs[t])
		}
	}
	ctx.ADDQ(operand.U32(64*g), wp)
	ctx.ADDQ(operand.U8(8), wrow)
	ctx.DECQ(ky)
	ctx.JNZ(operand.LabelRef(pre + "_ky"))
	// Epilogue: pixels t < cnt only (a last tile may be short; its other
	// accumulators read window entries past the row and are not stored).
	if reload {
		dwParams(ctx, ep, zm, zmo, zc, zsh)
	}
	ctx.Load(ctx.Param("mode"), reg.RAX)
	ctx.TESTQ(operand.U32(ModeClamp), reg.RAX)
	ctx.MOVQ(dst, reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_clamp"))
	dwReq(ctx, np, 0, false, zm, zmo, zc, zsh, ep, ostr, cnt, pre+"_next")
	ctx.JMP(operand.LabelRef(pre + "_next"))
	ctx.Label(pre + "_clamp")
	dwReq(ctx, np, 0, true, zm, zmo, zc, zsh, ep, ostr, cnt, pre+"_next")
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
	if pairs {
		dwPair(ctx, name, g, lRows, lDst, lWins, lFresh, kGather, zperm, z80w, zt)
	}
}

// dwParams loads the REQH parameters of block 0 of ep.
func dwParams(ctx *build.Context, ep reg.Register, zm, zmo, zc, zsh reg.VecPhysical) {
	ctx.VMOVDQU32(mem(ep, epM), zm)
	ctx.VMOVDQU32(mem(ep, epMO), zmo)
	ctx.VMOVDQU32(mem(ep, epC), zc)
	ctx.VMOVDQU32(mem(ep, epSh), zsh)
}

// dwPair emits the two-row path of dwBlockVNNI<g>s1 (g <= 2): output rows
// i and i+1 (window rows wins[i][0..k) and wins[i+1][k-1]) in tiles of 8
// pixels x 2 rows, Z0-Z7 row i, Z8-Z15 row i+1. Each window row's 8 +
// 4(g-1) entries (Z16-Z23, or Z16-Z27 with two groups) are loaded once
// for both rows, with weight row r for row i and r-1 for row i+1 (Z28,
// Z29, from memory each time).
func dwPair(ctx *build.Context, name string, g int, lRows, lDst, lWins, lFresh operand.Mem, kGather reg.OpmaskPhysical, zperm, z80w, zt reg.VecPhysical) {
	var (
		dst, ostr, cnt   = reg.RDI, reg.R8, reg.RCX
		ky               = reg.RDX
		wp, ep           = reg.R11, reg.RBX
		ent, off, wrow   = reg.R12, reg.R13, reg.R14
		zbias            = reg.Z31
		zm, zmo, zc, zsh = reg.Z24, reg.Z25, reg.Z26, reg.Z27
		wa, wb           = reg.Z28, reg.Z29
		winsRow          = 8 * dwMaxK // bytes from one output row's window pointers to the next's
		wRow             = 64 * g     // bytes of one kernel row's weights
	)
	const np = DWTile
	zent := zs[16 : 16+np+4*(g-1)]
	pre := name + "_pair"
	ctx.Label(pre)
	dwGatherRows(ctx, pre+"_g", pre+"_dot", 2, lFresh, kGather, zperm, z80w, zt)
	ctx.Label(pre + "_dot")
	ctx.MOVQ(lDst, dst)
	ctx.Load(ctx.Param("ow"), cnt)
	ctx.Load(ctx.Param("outStride"), ostr)
	ctx.XORQ(off, off)
	ctx.Label(pre + "_t")
	for t := range 2 * np {
		ctx.VMOVDQA32(zbias, zs[t])
	}
	ctx.Load(ctx.Param("w"), wp)
	ctx.MOVQ(lWins, wrow)
	loadEntries := func() {
		for u, e := range zent {
			ctx.VMOVDQU32(mem(ent, 64*u), e)
		}
	}
	// dots: row (accumulators from base) += weights at wp+disp, group gi
	// by group gi, pixel t reading entry t + 4gi.
	dots := func(w reg.VecPhysical, disp, base int) {
		for gi := range g {
			ctx.VMOVDQU32(mem(wp, disp+64*gi), w)
			for t := range np {
				vpdpbusd(ctx, w, zent[t+4*gi], zs[base+t])
			}
		}
	}
	// Window row 0: row i only, weights 0.
	ctx.MOVQ(mem(wrow, 0), ent)
	ctx.ADDQ(off, ent)
	loadEntries()
	dots(wa, 0, 0)
	// Window rows 1..k-1: row i with weights r, row i+1 with r-1.
	ctx.Load(ctx.Param("k"), ky)
	ctx.DECQ(ky)
	ctx.JZ(operand.LabelRef(pre + "_last"))
	ctx.Label(pre + "_mid")
	ctx.ADDQ(operand.U8(8), wrow)
	ctx.MOVQ(mem(wrow, 0), ent)
	ctx.ADDQ(off, ent)
	loadEntries()
	dots(wa, wRow, 0)
	dots(wb, 0, np)
	ctx.ADDQ(operand.U32(wRow), wp)
	ctx.DECQ(ky)
	ctx.JNZ(operand.LabelRef(pre + "_mid"))
	// Window row k: row i+1 only (its last window row), weights k-1.
	ctx.Label(pre + "_last")
	ctx.MOVQ(mem(wrow, winsRow), ent)
	ctx.ADDQ(off, ent)
	loadEntries()
	dots(wb, 0, np)
	// Epilogues: row i at dst, row i+1 a rowStep below; pixels < cnt.
	if g == 2 {
		dwParams(ctx, ep, zm, zmo, zc, zsh)
	}
	ctx.Load(ctx.Param("mode"), reg.RAX)
	ctx.TESTQ(operand.U32(ModeClamp), reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_clamp"))
	for _, clamp := range []bool{false, true} {
		sfx := ""
		if clamp {
			ctx.Label(pre + "_clamp")
			sfx = "c"
		}
		ctx.MOVQ(dst, reg.RAX)
		dwReq(ctx, np, 0, clamp, zm, zmo, zc, zsh, ep, ostr, cnt, pre+"_r2"+sfx)
		ctx.Label(pre + "_r2" + sfx)
		ctx.MOVQ(dst, reg.RAX)
		ctx.Load(ctx.Param("rowStep"), reg.R9)
		ctx.ADDQ(reg.R9, reg.RAX)
		dwReq(ctx, np, np, clamp, zm, zmo, zc, zsh, ep, ostr, cnt, pre+"_next")
		ctx.JMP(operand.LabelRef(pre + "_next"))
	}
	ctx.Label(pre + "_next")
	ctx.ADDQ(operand.U32(64*np), off)
	ctx.MOVQ(ostr, reg.RAX)
	ctx.SHLQ(operand.U8(3), reg.RAX)
	ctx.ADDQ(reg.RAX, dst)
	ctx.SUBQ(operand.U8(np), cnt)
	ctx.JG(operand.LabelRef(pre + "_t"))
	// Next pair.
	ctx.Load(ctx.Param("rowStep"), reg.RAX)
	ctx.SHLQ(operand.U8(1), reg.RAX)
	ctx.ADDQ(reg.RAX, lDst)
	ctx.ADDQ(operand.U32(2*winsRow), lWins)
	ctx.ADDQ(operand.U8(16), lFresh)
	ctx.SUBQ(operand.U8(2), lRows)
	ctx.JNZ(operand.LabelRef(name + "_row"))
	ctx.VZEROUPPER()
	ctx.RET()
}

// dwReq is REQH of accumulators Z(base)..Z(base+np-1) (see reqh), each stored
// masked at (AX), AX advancing by outStride.
func dwReq(ctx *build.Context, np, base int, clamp bool, zm, zmo, zc, zsh reg.VecPhysical, ep, ostr, cnt reg.Register, next string) {
	for t := range np {
		if t > 0 {
			ctx.CMPQ(cnt, operand.U8(t))
			ctx.JLE(operand.LabelRef(next))
		}
		a := zs[base+t]
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

// dwGatherRows emits the gathers and window transforms of the input rows
// that output rows [i, i+rows) of the batch read first (lFresh points at
// fresh[i]), then falls through (or jumps) to done. Labels start with pre.
func dwGatherRows(ctx *build.Context, pre, done string, rows int, lFresh operand.Mem, kGather reg.OpmaskPhysical, zperm, z80w, zt reg.VecPhysical) {
	// Gathers [fresh[i], fresh[i+rows]): R14 walks the entries, R13 counts.
	ctx.MOVQ(lFresh, reg.RAX)
	ctx.MOVQ(mem(reg.RAX, 0), reg.R12)
	ctx.MOVQ(mem(reg.RAX, 8*rows), reg.R13)
	ctx.SUBQ(reg.R12, reg.R13)
	ctx.JLE(operand.LabelRef(done))
	ctx.SHLQ(operand.U8(4), reg.R12)
	ctx.Load(ctx.Param("gathers"), reg.R14)
	ctx.ADDQ(reg.R12, reg.R14)
	ctx.Load(ctx.Param("perm"), reg.RAX)
	ctx.VMOVDQU64(mem(reg.RAX, 0), zperm)
	ctx.MOVL(operand.U32(0x80808080), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, z80w)
	ctx.Label(pre + "_fresh")
	ctx.Load(ctx.Param("ng"), reg.RCX)
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(pre + "_window"))
	ctx.Load(ctx.Param("pg"), reg.RDI)
	ctx.Load(ctx.Param("src"), reg.RSI)
	ctx.ADDQ(mem(reg.R14, 0), reg.RSI)
	ctx.Load(ctx.Param("inStride"), reg.R8)
	ctx.LEAQ(memx(reg.R8, reg.R8, 2, 0), reg.R9) // 3*inStride
	ctx.Label(pre + "_gather4")
	ctx.CMPQ(reg.RCX, operand.U8(4))
	ctx.JLT(operand.LabelRef(pre + "_gather1"))
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
	ctx.JMP(operand.LabelRef(pre + "_gather4"))
	ctx.Label(pre + "_gather1")
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(pre + "_window"))
	ctx.VMOVDQU8_Z(mem(reg.RSI, 0), kGather, reg.X0)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(16), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JMP(operand.LabelRef(pre + "_gather1"))
	ctx.Label(pre + "_window")
	ctx.MOVQ(mem(reg.R14, 8), reg.RDI)
	ctx.Load(ctx.Param("p"), reg.RSI)
	ctx.Load(ctx.Param("ne"), reg.RCX)
	ctx.Load(ctx.Param("step"), reg.R8)
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(pre + "_nextfresh"))
	ctx.Label(pre + "_entry")
	ctx.VPERMB(mem(reg.RSI, 0), zperm, zt)
	ctx.VPXORD(z80w, zt, zt)
	ctx.VMOVDQU64(zt, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JNZ(operand.LabelRef(pre + "_entry"))
	ctx.Label(pre + "_nextfresh")
	ctx.ADDQ(operand.U8(16), reg.R14)
	ctx.DECQ(reg.R13)
	ctx.JNZ(operand.LabelRef(pre + "_fresh"))

}
