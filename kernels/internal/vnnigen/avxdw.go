package vnnigen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The avxvnni tier's depthwise convolution (dwconv_avxvnni_amd64.s): the
// vnni depthwise scheme (kernels/dwconv_vnni_amd64.go: window rows of
// 64-byte entries, 16 channels x 4 taps, VPDPBUSD against the same packed
// weights) on 16 ymm registers with AVX2 + AVX-VNNI only. Without VPERMB
// the window transpose is two unpacks, two VPERMQ and two VPSHUFB per
// entry; without opmasks the gather reads whole 16-byte pixels (the Go
// side keeps the reads inside src) and the dot kernel stores 16 bytes per
// pixel (the Go side sends narrower blocks through a scratch row).

// AVXDWTile is the avxvnni depthwise kernel's output pixels per register
// tile: 6 pixels x 2 ymm halves = 12 accumulators.
const AVXDWTile = 6

// avxDWGather emits dwGatherAVXVNNI: n pixels' 16 bytes from src
// (inStride apart) into p (16 apart), unmasked.
func avxDWGather(ctx *build.Context) {
	name := "dwGatherAVXVNNI"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(p *int8, src *int8, inStride int, n int)")
	ctx.Doc(name + " copies n pixels' 16 bytes from src (inStride apart) to p (16 apart).")
	ctx.Load(ctx.Param("p"), reg.RDI)
	ctx.Load(ctx.Param("src"), reg.RSI)
	ctx.Load(ctx.Param("inStride"), reg.R8)
	ctx.Load(ctx.Param("n"), reg.RCX)
	ctx.LEAQ(memx(reg.R8, reg.R8, 2, 0), reg.R9) // 3*inStride
	ctx.Label(name + "_loop4")
	ctx.CMPQ(reg.RCX, operand.U8(4))
	ctx.JLT(operand.LabelRef(name + "_tail"))
	ctx.VMOVDQU(mem(reg.RSI, 0), reg.X0)
	ctx.VMOVDQU(memx(reg.RSI, reg.R8, 1, 0), reg.X1)
	ctx.VMOVDQU(memx(reg.RSI, reg.R8, 2, 0), reg.X2)
	ctx.VMOVDQU(memx(reg.RSI, reg.R9, 1, 0), reg.X3)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.VMOVDQU(reg.X1, mem(reg.RDI, 16))
	ctx.VMOVDQU(reg.X2, mem(reg.RDI, 32))
	ctx.VMOVDQU(reg.X3, mem(reg.RDI, 48))
	ctx.LEAQ(memx(reg.RSI, reg.R8, 4, 0), reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.SUBQ(operand.U8(4), reg.RCX)
	ctx.JMP(operand.LabelRef(name + "_loop4"))
	ctx.Label(name + "_tail")
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(name + "_done"))
	ctx.Label(name + "_loop")
	ctx.VMOVDQU(mem(reg.RSI, 0), reg.X0)
	ctx.VMOVDQU(reg.X0, mem(reg.RDI, 0))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(16), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JNZ(operand.LabelRef(name + "_loop"))
	ctx.Label(name + "_done")
	ctx.RET()
}

// avxDWWindow emits dwWindowAVXVNNI: n window entries from the gathered
// row p, entry m from the 4 pixels at p + m*step. With a = pixels 0,1 and
// b = pixels 2,3 (dwords d0..d3 of a pixel = channels 0-3 .. 12-15):
// VPUNPCKLDQ gives per lane (p0.d0 p2.d0 p0.d1 p2.d1 | p1.d0 p3.d0 p1.d1
// p3.d1), VPERMQ 0xD8 brings the d0s into lane 0 and the d1s into lane 1,
// and VPSHUFB (shuf) transposes each lane's 4 pixels x 4 channels to
// 4 channels x 4 taps: channels 0-7 of the entry. VPUNPCKHDQ the same for
// channels 8-15. Then XOR 0x80 (u = x+128).
func avxDWWindow(ctx *build.Context) {
	name := "dwWindowAVXVNNI"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(win *int8, p *int8, n int, step int, shuf *int8)")
	ctx.Doc(name + " writes n window entries: entry m = transpose(p[m*step : m*step+64]) ^ 0x80.")
	ctx.Load(ctx.Param("win"), reg.RDI)
	ctx.Load(ctx.Param("p"), reg.RSI)
	ctx.Load(ctx.Param("n"), reg.RCX)
	ctx.Load(ctx.Param("step"), reg.R8)
	ctx.Load(ctx.Param("shuf"), reg.RAX)
	shuf, x80 := reg.Y6, reg.Y7
	ctx.VMOVDQU(mem(reg.RAX, 0), shuf)
	ctx.MOVL(operand.U32(0x80808080), reg.EAX)
	ctx.VMOVD(reg.EAX, x80.AsX())
	ctx.VPBROADCASTD(x80.AsX(), x80)
	ctx.TESTQ(reg.RCX, reg.RCX)
	ctx.JZ(operand.LabelRef(name + "_done"))
	ctx.Label(name + "_loop")
	ctx.VMOVDQU(mem(reg.RSI, 0), reg.Y0)
	ctx.VMOVDQU(mem(reg.RSI, 32), reg.Y1)
	ctx.VPUNPCKLDQ(reg.Y1, reg.Y0, reg.Y2)
	ctx.VPUNPCKHDQ(reg.Y1, reg.Y0, reg.Y3)
	ctx.VPERMQ(operand.U8(0xD8), reg.Y2, reg.Y2)
	ctx.VPERMQ(operand.U8(0xD8), reg.Y3, reg.Y3)
	ctx.VPSHUFB(shuf, reg.Y2, reg.Y2)
	ctx.VPSHUFB(shuf, reg.Y3, reg.Y3)
	ctx.VPXOR(x80, reg.Y2, reg.Y2)
	ctx.VPXOR(x80, reg.Y3, reg.Y3)
	ctx.VMOVDQU(reg.Y2, mem(reg.RDI, 0))
	ctx.VMOVDQU(reg.Y3, mem(reg.RDI, 32))
	ctx.ADDQ(reg.R8, reg.RSI)
	ctx.ADDQ(operand.U8(64), reg.RDI)
	ctx.DECQ(reg.RCX)
	ctx.JNZ(operand.LabelRef(name + "_loop"))
	ctx.Label(name + "_done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// avxDWDot emits dwDotAVXVNNI: one output row of one 16-channel block,
//
//	acc[ox] = bias' + Σ_{ky<k} Σ_{g<gs} VPDPBUSD(w[ky][g], wins[ky][ox*64 + g*gstep])
//
// per half (channels 0-7: bytes 0-31 of weights and entries; 8-15: 32-63),
// then the GEMM's REQH and narrow (avxReqh) and a 16-byte store per pixel,
// outStride apart: tiles of AVXDWTile pixels, then one tile of the n % 6
// rest, so no pixel past n is read or written.
func avxDWDot(ctx *build.Context) {
	name := "dwDotAVXVNNI"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, outStride int, n int, wins **int8, k int, gs int, gstep int, w *int8, ep *int32, mode int)")
	ctx.Doc(name + " computes one output row of a 16-channel block of the depthwise convolution (see dwconv_avxvnni_amd64.go).")
	// rDst, rDstStride and rEp (RDX) as avxReqh expects; RAX is its
	// second row base.
	var (
		cnt, wins, ky  = reg.RCX, reg.RSI, reg.RBX // ky: k
		gc, gstep, wp  = reg.R9, reg.R10, reg.R11  // gc: gs
		ent, off, wrow = reg.R12, reg.R13, reg.R14
	)
	ctx.Load(ctx.Param("dst"), rDst)
	ctx.Load(ctx.Param("outStride"), rDstStride)
	ctx.Load(ctx.Param("n"), cnt)
	ctx.Load(ctx.Param("wins"), wins)
	ctx.Load(ctx.Param("gstep"), gstep)
	ctx.Load(ctx.Param("ep"), rEp)
	ctx.Load(ctx.Param("gs"), gc)
	ctx.Load(ctx.Param("k"), ky)
	ctx.XORQ(off, off)
	tile := func(np int) {
		pre := fmt.Sprintf("%s_t%d", name, np)
		ctx.Comment(fmt.Sprintf("tile: %d pixels x 16 channels", np))
		for h := range 2 {
			for p := range np {
				ctx.VMOVDQU(mem(rEp, epBias+32*h), avxAcc(p, h))
			}
		}
		// The group loop is unrolled (gs = 1, 2, 3 for K <= 11), and 3x3
		// (gs = 1) over its rows too: 2-3 iteration loops mispredict their
		// exits (kernels/AVX2.md, dwRowAVX2).
		ctx.Load(ctx.Param("w"), wp)
		ctx.MOVQ(wins, wrow)
		ctx.CMPQ(gc, operand.U8(2))
		ctx.JEQ(operand.LabelRef(pre + "_g2"))
		ctx.JGT(operand.LabelRef(pre + "_g3"))
		ctx.CMPQ(ky, operand.U8(3))
		ctx.JNE(operand.LabelRef(pre + "_g1"))
		for r := range 3 {
			ctx.MOVQ(mem(wrow, 8*r), ent)
			avxDWMAC(ctx, np, 1, ent, off, wp, gstep, 64*r)
		}
		ctx.JMP(operand.LabelRef(pre + "_mac"))
		for gs := 1; gs <= 3; gs++ {
			ctx.Label(fmt.Sprintf("%s_g%d", pre, gs))
			ctx.Load(ctx.Param("k"), reg.RAX)
			ctx.Label(fmt.Sprintf("%s_g%d_ky", pre, gs))
			ctx.MOVQ(mem(wrow, 0), ent)
			avxDWMAC(ctx, np, gs, ent, off, wp, gstep, 0)
			ctx.ADDQ(operand.U8(64*gs), wp)
			ctx.ADDQ(operand.U8(8), wrow)
			ctx.DECQ(reg.RAX)
			ctx.JNZ(operand.LabelRef(fmt.Sprintf("%s_g%d_ky", pre, gs)))
			if gs < 3 {
				ctx.JMP(operand.LabelRef(pre + "_mac"))
			}
		}
		ctx.Label(pre + "_mac")
		avxDWReqh(ctx, np)
		ctx.Load(ctx.Param("mode"), reg.RAX)
		ctx.TESTQ(operand.U32(ModeClamp), reg.RAX)
		ctx.JNZ(operand.LabelRef(pre + "_clamp"))
		avxDWStore(ctx, np, false)
		ctx.JMP(operand.LabelRef(pre + "_end"))
		ctx.Label(pre + "_clamp")
		avxDWStore(ctx, np, true)
		ctx.Label(pre + "_end")
	}
	loop, rest, done := name+"_tile", name+"_rest", name+"_done"
	ctx.Label(loop)
	ctx.CMPQ(cnt, operand.U8(AVXDWTile))
	ctx.JLT(operand.LabelRef(rest))
	tile(AVXDWTile)
	ctx.ADDQ(operand.U32(64*AVXDWTile), off)
	ctx.SUBQ(operand.U8(AVXDWTile), cnt)
	ctx.LEAQ(memx(rDstStride, rDstStride, 2, 0), reg.RAX)
	ctx.LEAQ(memx(rDst, reg.RAX, 2, 0), rDst)
	ctx.JMP(operand.LabelRef(loop))
	ctx.Label(rest)
	for p := 1; p < AVXDWTile; p++ {
		ctx.CMPQ(cnt, operand.U8(p))
		ctx.JEQ(operand.LabelRef(fmt.Sprintf("%s_p%d", name, p)))
	}
	ctx.JMP(operand.LabelRef(done))
	for p := 1; p < AVXDWTile; p++ {
		ctx.Label(fmt.Sprintf("%s_p%d", name, p))
		tile(p)
		ctx.JMP(operand.LabelRef(done))
	}
	ctx.Label(done)
	ctx.VZEROUPPER()
	ctx.RET()
}

// avxDWReqh is avxReqh's REQH one half at a time over the tile's pixels,
// with M, the odd lanes' M and c of the half in the registers the MAC loop
// used (Y12..Y14) and Y15 the one temporary: one memory operand (sh) per
// 8 lanes instead of four.
func avxDWReqh(ctx *build.Context, np int) {
	m, mo, c, t := ys[12], ys[13], ys[14], ys[15]
	for h := range 2 {
		ctx.VMOVDQU(mem(rEp, epM+32*h), m)
		ctx.VMOVDQU(mem(rEp, epMO+32*h), mo)
		ctx.VMOVDQU(mem(rEp, epC+32*h), c)
		for p := range np {
			a := avxAcc(p, h)
			ctx.VPSRLQ(operand.U8(32), a, t)
			ctx.VPMULDQ(m, a, a)
			ctx.VPMULDQ(mo, t, t)
			ctx.VPSRLQ(operand.U8(32), a, a)
			ctx.VPBLENDD(operand.U8(0xAA), t, a, a)
			ctx.VPADDD(c, a, a)
			ctx.VPSRAVD(mem(rEp, epSh+32*h), a, a)
		}
	}
}

// avxDWStore narrows each pixel's two halves to 16 int8 (VPACKSSDW,
// VPERMQ, VPACKSSWB, as avxReqh), clamps if asked, and stores them at
// dst + p*outStride.
func avxDWStore(ctx *build.Context, np int, clamp bool) {
	if np > 3 {
		ctx.LEAQ(memx(rDstStride, rDstStride, 2, 0), reg.RAX)
		ctx.ADDQ(rDst, reg.RAX)
	}
	t1, t2 := yW[0], yW[1]
	x1, x2 := t1.AsX(), t2.AsX()
	for p := range np {
		ctx.VPACKSSDW(avxAcc(p, 1), avxAcc(p, 0), t1)
		ctx.VPERMQ(operand.U8(0xD8), t1, t1)
		ctx.VEXTRACTI128(operand.U8(1), t1, x2)
		ctx.VPACKSSWB(x2, x1, x1)
		if clamp {
			ctx.VPMAXSB(mem(rEp, epQmin), x1, x1)
			ctx.VPMINSB(mem(rEp, epQmax), x1, x1)
		}
		ctx.VMOVDQU(x1, rowAddr(rDst, reg.RAX, rDstStride, p, 0))
	}
}

// avxDWMAC emits one kernel row's products for a tile: gs tap groups,
// weights at wp+wdisp+64g, window entries at ent+off+g*gstep+64p.
func avxDWMAC(ctx *build.Context, np, gs int, ent, off, wp, gstep reg.Register, wdisp int) {
	ctx.ADDQ(off, ent)
	for g := range gs {
		if g > 0 {
			ctx.ADDQ(gstep, ent)
		}
		ctx.VMOVDQU(mem(wp, wdisp+64*g), yW[0])
		ctx.VMOVDQU(mem(wp, wdisp+64*g+32), yW[1])
		for p := range np {
			for h := range 2 {
				x := ys[14+h]
				ctx.VMOVDQU(mem(ent, 64*p+32*h), x)
				vexVPDPBUSD(ctx, yW[h], x, avxAcc(p, h))
			}
		}
	}
}
