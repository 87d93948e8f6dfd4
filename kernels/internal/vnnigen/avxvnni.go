package vnnigen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The avxvnni tier's GEMM (gemm_avxvnni_amd64.s): the vnni GEMM's scheme
// (VPDPBUSD on x+128, column sums in the bias, REQH) on 256-bit registers
// with only AVX2 + AVX-VNNI (VEX), for CPUs without AVX-512 (Alder Lake,
// Intel N100, Arrow Lake). 16 ymm registers and no opmasks: register tiles
// of 6 pixels x 2 halves of a 16-channel block (12 accumulators), the
// int8 narrow by VPACKSSDW/VPACKSSWB, and whole 16- or 8-byte stores (the
// Go wrapper sends other channel tails through a scratch row).
//
// The Go assembler knows VPDPBUSD only in its EVEX (AVX512_VNNI) encoding,
// which faults on a CPU without AVX-512, so the generator writes the VEX
// form's five bytes (VEXVPDPBUSD) with the instruction in a comment line
// above, in LLVM syntax (`{vex} vpdpbusd %ymmW, %ymmX, %ymmA`).

// AVXTile is the avxvnni GEMM's pixels per register tile.
const AVXTile = 6

var ys = []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7, reg.Y8, reg.Y9,
	reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}

// Vector registers: accumulators Y0..Y11 (pixel p, half h: Y(2p+h)),
// weights Y12, Y13 (temporaries in the epilogue), the broadcast input
// Y14, the 0x80 bytes Y15.
func avxAcc(p, h int) reg.VecPhysical { return ys[2*p+h] }

var (
	yW  = ys[12:14]
	yX  = ys[14]
	y80 = ys[15]
)

// VEXVPDPBUSD returns the VEX.256.66.0F38.W0 50 /r encoding of Go's
// `VPDPBUSD Yw, Yx, Ya` (Intel: vpdpbusd ymm_a, ymm_x, ymm_w): a += the
// four u8(x)*s8(w) products of each dword. Register numbers 0..15.
func VEXVPDPBUSD(w, x, a int) [5]byte {
	b1 := byte(0x40 | 0x02) // X̄ = 1 (no index), map 0F38
	if a < 8 {
		b1 |= 0x80 // R̄: ModRM.reg = a
	}
	if w < 8 {
		b1 |= 0x20 // B̄: ModRM.rm = w
	}
	b2 := byte(^x&15)<<3 | 0x04 | 0x01 // W0, vvvv = ^x, L = 256, pp = 66
	return [5]byte{0xc4, b1, b2, 0x50, 0xc0 | byte(a&7)<<3 | byte(w&7)}
}

// vexVPDPBUSD emits the VEX VPDPBUSD as BYTEs (data flow on the last).
func vexVPDPBUSD(ctx *build.Context, w, x, a reg.VecPhysical) {
	wi, xi, ai := int(w.PhysicalIndex()), int(x.PhysicalIndex()), int(a.PhysicalIndex())
	ctx.Comment(fmt.Sprintf("{vex} vpdpbusd %%ymm%d, %%ymm%d, %%ymm%d", wi, xi, ai))
	enc := VEXVPDPBUSD(wi, xi, ai)
	for i, b := range enc {
		in := &ir.Instruction{Opcode: "BYTE", Operands: []operand.Op{operand.U8(b)}}
		if i == len(enc)-1 {
			in.Inputs = []operand.Op{w, x, a}
			in.Outputs = []operand.Op{a}
			in.ISA = []string{"AVX_VNNI"}
		}
		ctx.Instruction(in)
	}
}

// avxGEMM emits gemmAVXVNNI<8*nh>: pixels x (8*nh) channels of one
// 16-channel block of kernels.PackGEMMVNNI's layout (half h = channels
// 8h..8h+7, bytes 32h..32h+31 of each 64-byte k-quad), in register tiles of
// 6 pixels and one tile of the pixels % 6 rest. The epilogue struct is the
// vnni kernel's (only its first 16 channels are read); raw mode stores
// pixel p's sums at raw[64p ..].
func avxGEMM(ctx *build.Context, nh int) {
	name := fmt.Sprintf("gemmAVXVNNI%d", 8*nh)
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, dstStride int, src *int8, srcStride int, pixels int, kq int, w *int8, ep *int32, raw *int32, mode int)")
	ctx.Doc(fmt.Sprintf("%s computes pixels x %d channels: acc = bias' + Σ (x+128)·w by VEX VPDPBUSD, then REQH or raw sums (see gemm_avxvnni_amd64.go).", name, 8*nh))
	ctx.Load(ctx.Param("dst"), rDst)
	ctx.Load(ctx.Param("dstStride"), rDstStride)
	ctx.Load(ctx.Param("src"), rSrc)
	ctx.Load(ctx.Param("srcStride"), rSrcStride)
	ctx.Load(ctx.Param("pixels"), rPix)
	ctx.Load(ctx.Param("w"), rW)
	loop, rest, done := name+"_tile6", name+"_rest", name+"_done"
	ctx.Label(loop)
	ctx.CMPQ(rPix, operand.U8(AVXTile))
	ctx.JLT(operand.LabelRef(rest))
	avxTile(ctx, name, nh, AVXTile)
	ctx.SUBQ(operand.U8(AVXTile), rPix)
	ctx.LEAQ(memx(rSrcStride, rSrcStride, 2, 0), reg.RAX)
	ctx.LEAQ(memx(rSrc, reg.RAX, 2, 0), rSrc)
	ctx.LEAQ(memx(rDstStride, rDstStride, 2, 0), reg.RAX)
	ctx.LEAQ(memx(rDst, reg.RAX, 2, 0), rDst)
	ctx.JMP(operand.LabelRef(loop))
	ctx.Label(rest)
	for p := 1; p < AVXTile; p++ {
		ctx.CMPQ(rPix, operand.U8(p))
		ctx.JEQ(operand.LabelRef(fmt.Sprintf("%s_p%d", name, p)))
	}
	ctx.JMP(operand.LabelRef(done))
	for p := 1; p < AVXTile; p++ {
		ctx.Label(fmt.Sprintf("%s_p%d", name, p))
		avxTile(ctx, name, nh, p)
		ctx.JMP(operand.LabelRef(done))
	}
	ctx.Label(done)
	ctx.VZEROUPPER()
	ctx.RET()
}

// avxTile emits one register tile of np pixels: bias, the k loop, epilogue.
func avxTile(ctx *build.Context, name string, nh, np int) {
	pre := fmt.Sprintf("%s_t%d", name, np)
	ctx.Comment(fmt.Sprintf("tile: %d pixels x %d channels", np, 8*nh))
	ctx.Load(ctx.Param("ep"), rEp)
	for h := range nh { // one load per half, copied (see tile)
		ctx.VMOVDQU(mem(rEp, epBias+32*h), yW[h])
		for p := range np {
			ctx.VMOVDQA(yW[h], avxAcc(p, h))
		}
	}
	// The epilogue reuses Y15: set the 0x80 bytes per tile.
	ctx.MOVL(operand.U32(0x80808080), reg.EAX)
	ctx.VMOVD(reg.EAX, y80.AsX())
	ctx.VPBROADCASTD(y80.AsX(), y80)
	ctx.Load(ctx.Param("kq"), rCnt)
	ctx.MOVQ(rSrc, rS0)
	if np > 3 {
		ctx.LEAQ(memx(rSrcStride, rSrcStride, 2, 0), rS3)
		ctx.ADDQ(rSrc, rS3)
	}
	ctx.MOVQ(rW, rW0)
	ctx.Instruction(&ir.Instruction{Opcode: "PCALIGN", Operands: []operand.Op{operand.U8(32)}})
	ctx.Label(pre + "_k")
	for h := range nh {
		ctx.VMOVDQU(mem(rW0, 32*h), yW[h])
	}
	for p := range np {
		ctx.VPBROADCASTD(rowAddr(rS0, rS3, rSrcStride, p, 0), yX)
		ctx.VPXOR(y80, yX, yX)
		for h := range nh {
			vexVPDPBUSD(ctx, yW[h], yX, avxAcc(p, h))
		}
	}
	ctx.ADDQ(operand.U8(4), rS0)
	if np > 3 {
		ctx.ADDQ(operand.U8(4), rS3)
	}
	ctx.ADDQ(operand.U8(64), rW0)
	ctx.DECQ(rCnt)
	ctx.JNZ(operand.LabelRef(pre + "_k"))

	// Epilogue.
	ctx.Load(ctx.Param("ep"), rEp)
	ctx.Load(ctx.Param("mode"), reg.RAX)
	ctx.TESTQ(operand.U32(ModeRaw), reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_raw"))
	ctx.TESTQ(operand.U32(ModeClamp), reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_clamp"))
	avxReqh(ctx, nh, np, false)
	ctx.JMP(operand.LabelRef(pre + "_end"))
	ctx.Label(pre + "_clamp")
	avxReqh(ctx, nh, np, true)
	ctx.JMP(operand.LabelRef(pre + "_end"))
	ctx.Label(pre + "_raw")
	ctx.Load(ctx.Param("raw"), reg.RAX)
	for p := range np {
		for h := range nh {
			ctx.VMOVDQU(avxAcc(p, h), mem(reg.RAX, 256*p+32*h))
		}
	}
	ctx.Label(pre + "_end")
}

// avxReqh emits REQH (see reqh) on 8 lanes with the parameters as memory
// operands, odd dwords merged by VPBLENDD, then per pixel the saturating
// narrow to int8 (VPACKSSDW, VPERMQ to undo the lane interleave,
// VPACKSSWB), the optional clamp and one 16-byte (nh = 2) or 8-byte store.
func avxReqh(ctx *build.Context, nh, np int, clamp bool) {
	if np > 3 {
		ctx.LEAQ(memx(rDstStride, rDstStride, 2, 0), reg.RAX)
		ctx.ADDQ(rDst, reg.RAX)
	}
	t1, t2 := yW[0], yW[1]
	for h := range nh {
		for p := range np {
			a := avxAcc(p, h)
			ctx.VPMULDQ(mem(rEp, epM+32*h), a, t1)
			ctx.VPSRLQ(operand.U8(32), a, a)
			ctx.VPMULDQ(mem(rEp, epMO+32*h), a, t2)
			ctx.VPSRLQ(operand.U8(32), t1, t1)
			ctx.VPBLENDD(operand.U8(0xAA), t2, t1, t1)
			ctx.VPADDD(mem(rEp, epC+32*h), t1, t1)
			ctx.VPSRAVD(mem(rEp, epSh+32*h), t1, a)
		}
	}
	x1, x2 := t1.AsX(), t2.AsX()
	for p := range np {
		if nh == 2 {
			ctx.VPACKSSDW(avxAcc(p, 1), avxAcc(p, 0), t1) // lo0-3 hi0-3 | lo4-7 hi4-7
			ctx.VPERMQ(operand.U8(0xD8), t1, t1)          // channels 0-15 as int16
			ctx.VEXTRACTI128(operand.U8(1), t1, x2)
			ctx.VPACKSSWB(x2, x1, x1)
		} else {
			a := avxAcc(p, 0)
			ctx.VEXTRACTI128(operand.U8(1), a, x2)
			ctx.VPACKSSDW(x2, a.AsX(), x1)
			ctx.VPACKSSWB(x1, x1, x1)
		}
		if clamp {
			ctx.VPMAXSB(mem(rEp, epQmin), x1, x1)
			ctx.VPMINSB(mem(rEp, epQmax), x1, x1)
		}
		out := rowAddr(rDst, reg.RAX, rDstStride, p, 0)
		if nh == 2 {
			ctx.VMOVDQU(x1, out)
		} else {
			ctx.VMOVQ(x1, out)
		}
	}
}

// stemGather emits gather3x9 for amd64 (stem_gather_amd64.s): n 3x3x3
// patches of the stem's interior pixels, patch i (27 bytes at
// dst + i*dstStride) the 9 bytes at src + i*step, + line and + 2*line;
// 8 + 1 byte moves, so nothing outside the 27 bytes is read or written.
// Plain x86-64: the vnni and avxvnni stems run it, and GatherPatches.
func stemGather(ctx *build.Context) {
	name := "gather3x9"
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, dstStride int, src *int8, step int, line int, n int)")
	ctx.Doc(name + " copies n 3x3x3 stem patches (see stem_gather_amd64.go).")
	dst, stride, src, step, line, n := reg.RDI, reg.R8, reg.RSI, reg.R9, reg.R10, reg.RCX
	ctx.Load(ctx.Param("dst"), dst)
	ctx.Load(ctx.Param("dstStride"), stride)
	ctx.Load(ctx.Param("src"), src)
	ctx.Load(ctx.Param("step"), step)
	ctx.Load(ctx.Param("line"), line)
	ctx.Load(ctx.Param("n"), n)
	line2 := reg.R11
	ctx.LEAQ(memx(line, line, 1, 0), line2)
	ctx.TESTQ(n, n)
	ctx.JZ(operand.LabelRef(name + "_done"))
	ctx.Label(name + "_loop")
	q := []reg.Register{reg.RAX, reg.RBX, reg.RDX}
	b := []reg.Register{reg.R12, reg.R13, reg.R14}
	rows := []operand.Mem{mem(src, 0), memx(src, line, 1, 0), memx(src, line2, 1, 0)}
	for r := range 3 {
		ctx.MOVQ(rows[r], q[r])
		m := rows[r]
		m.Disp = 8
		ctx.MOVBLZX(m, b[r].(reg.GPPhysical).As32())
	}
	for r := range 3 {
		ctx.MOVQ(q[r], mem(dst, 9*r))
		ctx.MOVB(b[r].(reg.GPPhysical).As8(), mem(dst, 9*r+8))
	}
	ctx.ADDQ(step, src)
	ctx.ADDQ(stride, dst)
	ctx.DECQ(n)
	ctx.JNZ(operand.LabelRef(name + "_loop"))
	ctx.Label(name + "_done")
	ctx.RET()
}
