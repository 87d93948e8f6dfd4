// Package vnnigen generates the amd64 AVX-512 VNNI and AVX-VNNI assembly
// of package kernels with github.com/mmcloughlin/avo. `go generate ./kernels/` writes
// the files; kernels' TestVNNIGenerated fails when a checked-in file differs
// from what Files returns.
package vnnigen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// Files returns the generated files of package kernels by name.
func Files() (map[string]string, error) {
	ctx := build.NewContext()
	ctx.ConstraintExpr("!purego")
	for b := 1; b <= GEMMBlocks; b++ {
		gemm(ctx, b)
	}
	for g := 1; g <= 3; g++ {
		for st := 1; st <= 2; st++ {
			dwBlock(ctx, g, st)
		}
	}
	vnniPrep(ctx)
	vnni, err := render(ctx)
	if err != nil {
		return nil, err
	}
	ctx = build.NewContext()
	ctx.ConstraintExpr("!purego")
	avxGEMM(ctx, 1)
	avxGEMM(ctx, 2)
	avx, err := render(ctx)
	if err != nil {
		return nil, err
	}
	ctx = build.NewContext()
	ctx.ConstraintExpr("!purego")
	stemGather(ctx)
	stem, err := render(ctx)
	if err != nil {
		return nil, err
	}
	ctx = build.NewContext()
	ctx.ConstraintExpr("!purego")
	lookup512(ctx)
	addEW(ctx, true)
	addEW(ctx, false)
	chanMulK512(ctx)
	cmSetup512(ctx)
	ew, err := render(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"gemm_vnni_amd64.s": vnni, "gemm_avxvnni_amd64.s": avx, "stem_gather_amd64.s": stem,
		"elementwise_avx512_amd64.s": ew}, nil
}

func render(ctx *build.Context) (string, error) {
	f, err := ctx.Result()
	if err != nil {
		if l, ok := err.(build.ErrorList); ok {
			return "", fmt.Errorf("%v; %v", l[0], l[len(l)-1]) // first and last
		}
		return "", err
	}
	// Register allocation is trivial (every operand is a physical register)
	// but the passes also compute the frame and check the CFG.
	if err := pass.Compile.Execute(f); err != nil {
		return "", err
	}
	out, err := printer.NewGoAsm(printer.Config{Name: "vnnigen", Pkg: "kernels"}).Print(f)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// GEMM microkernel parameters (kernels/gemm_vnni_amd64.go relies on them).
const (
	GEMMBlocks = 4 // 16-channel blocks per call: 64 channels
	GEMMTile   = 6 // pixels per register tile
	// Epilogue struct offsets (vnniEpi): five [64]int32 vectors, then
	// qmin, qmax (16 bytes each) and the 16-bit store masks of the blocks.
	epBias, epM, epMO, epC, epSh = 0, 256, 512, 768, 1024
	epQmin, epQmax, epMask       = 1280, 1296, 1312
	// Mode bits.
	ModeRaw   = 1 // store the int32 sums (bias included) to raw[p*64+c]
	ModeClamp = 2 // clamp to [qmin, qmax] after the saturating narrow
)

// Registers. General purpose (ABI0: everything but SP and BP is free;
// R14/R15 are avoided).
var (
	rDst, rDstStride = reg.RDI, reg.R8
	rSrc, rSrcStride = reg.RSI, reg.R9
	rPix             = reg.RCX
	rW, rBlk         = reg.RBX, reg.R10 // weights of block 0, bytes per block
	rS0, rS3         = reg.RAX, reg.R12 // rows 0-2 and 3-5 at the current k
	rW0, rW2         = reg.R13, reg.R11 // blocks 0-1 and 2-3 at the current k
	rCnt             = reg.RDX          // k-quads left; ep in the epilogue
	rEp              = reg.RDX
)

var zs = []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7, reg.Z8, reg.Z9,
	reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15, reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20,
	reg.Z21, reg.Z22, reg.Z23, reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}

var xs = []reg.VecPhysical{reg.X28, reg.X29}

// Vector registers: accumulators Z0..Z23 (pixel p, block b: Z(p*4+b)),
// weights Z24..Z27 (REQH parameters of one block in the epilogue),
// broadcast inputs / temporaries Z28, Z29, the 0x80 bytes in Z30.
func acc(p, b int) reg.VecPhysical { return zs[p*GEMMBlocks+b] }

var (
	zW    = zs[24:28]
	zT    = zs[28:30]
	z80   = zs[30]
	kOdd  = reg.K1 // 0xAAAA: odd dwords
	kMask = []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4, reg.K5}
)

func mem(base reg.Register, disp int) operand.Mem { return operand.Mem{Base: base, Disp: disp} }

func memx(base, index reg.Register, scale uint8, disp int) operand.Mem {
	return operand.Mem{Base: base, Index: index, Scale: scale, Disp: disp}
}

// vpdpbusd emits VPDPBUSD (not in avo's instruction table): acc += the
// four u8(x)*s8(w) products of each dword, without saturation.
func vpdpbusd(ctx *build.Context, w, x, a operand.Op) {
	ctx.Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []operand.Op{w, x, a},
		Inputs:   []operand.Op{w, x, a},
		Outputs:  []operand.Op{a},
		ISA:      []string{"AVX512_VNNI"},
	})
}

// rowAddr is pixel p's row (rows 0-2 from base0, 3-5 from base3).
func rowAddr(base0, base3, stride reg.Register, p, disp int) operand.Mem {
	b := base0
	if p >= 3 {
		b, p = base3, p-3
	}
	if p == 0 {
		return mem(b, disp)
	}
	return memx(b, stride, uint8(p), disp)
}

// blockAddr is block b's weights (blocks 0-1 from rW0, 2-3 from rW2).
func blockAddr(b int) operand.Mem {
	base := rW0
	if b >= 2 {
		base = rW2
	}
	if b%2 == 0 {
		return mem(base, 0)
	}
	return memx(base, rBlk, 1, 0)
}

// gemm emits gemmVNNI<nb>: the GEMM of nb 16-channel blocks (the packed
// layout of kernels.PackGEMMVNNI) over all pixels, in register tiles of 6
// pixels x nb blocks and one tile of the pixels % 6 rest.
func gemm(ctx *build.Context, nb int) {
	name := fmt.Sprintf("gemmVNNI%d", nb)
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr("func(dst *int8, dstStride int, src *int8, srcStride int, pixels int, kq int, w *int8, ep *int32, raw *int32, mode int)")
	ctx.Doc(fmt.Sprintf("%s computes pixels x %d channels: acc = bias' + Σ (x+128)·w by VPDPBUSD, then REQH or raw sums (see gemm_vnni_amd64.go).", name, 16*nb))
	ctx.Load(ctx.Param("dst"), rDst)
	ctx.Load(ctx.Param("dstStride"), rDstStride)
	ctx.Load(ctx.Param("src"), rSrc)
	ctx.Load(ctx.Param("srcStride"), rSrcStride)
	ctx.Load(ctx.Param("pixels"), rPix)
	ctx.Load(ctx.Param("w"), rW)
	ctx.Load(ctx.Param("kq"), rBlk)
	ctx.SHLQ(operand.U8(6), rBlk)
	ctx.Load(ctx.Param("ep"), rEp)
	ctx.MOVL(operand.U32(0x80808080), reg.EAX)
	ctx.VPBROADCASTD(reg.EAX, z80)
	ctx.MOVL(operand.U32(0xAAAA), reg.EAX)
	ctx.KMOVW(reg.EAX, kOdd)
	for b := range nb {
		ctx.KMOVW(mem(rEp, epMask+2*b), kMask[b])
	}
	loop := name + "_tile6"
	rest := name + "_rest"
	done := name + "_done"
	ctx.Label(loop)
	ctx.CMPQ(rPix, operand.U8(GEMMTile))
	ctx.JLT(operand.LabelRef(rest))
	tile(ctx, name, nb, GEMMTile)
	ctx.SUBQ(operand.U8(GEMMTile), rPix)
	ctx.LEAQ(memx(rSrcStride, rSrcStride, 2, 0), reg.RAX)
	ctx.LEAQ(memx(rSrc, reg.RAX, 2, 0), rSrc)
	ctx.LEAQ(memx(rDstStride, rDstStride, 2, 0), reg.RAX)
	ctx.LEAQ(memx(rDst, reg.RAX, 2, 0), rDst)
	ctx.JMP(operand.LabelRef(loop))
	ctx.Label(rest)
	for p := 1; p < GEMMTile; p++ {
		ctx.CMPQ(rPix, operand.U8(p))
		ctx.JEQ(operand.LabelRef(fmt.Sprintf("%s_p%d", name, p)))
	}
	ctx.JMP(operand.LabelRef(done))
	for p := 1; p < GEMMTile; p++ {
		ctx.Label(fmt.Sprintf("%s_p%d", name, p))
		tile(ctx, name, nb, p)
		ctx.JMP(operand.LabelRef(done))
	}
	ctx.Label(done)
	ctx.VZEROUPPER()
	ctx.RET()
}

// tile emits one register tile of np pixels: bias, the k loop, epilogue.
func tile(ctx *build.Context, name string, nb, np int) {
	pre := fmt.Sprintf("%s_t%d", name, np)
	ctx.Comment(fmt.Sprintf("tile: %d pixels x %d blocks", np, nb))
	ctx.Load(ctx.Param("ep"), rEp)
	// One load per block, copied: loads of the Go-stack epilogue struct
	// right after the last tile's stores can wait on a store whose address
	// matches in its low 12 bits (4K aliasing).
	for b := range nb {
		ctx.VMOVDQU32(mem(rEp, epBias+64*b), zW[b])
		for p := range np {
			ctx.VMOVDQA32(zW[b], acc(p, b))
		}
	}
	ctx.Load(ctx.Param("kq"), rCnt)
	ctx.MOVQ(rSrc, rS0)
	if np > 3 {
		ctx.LEAQ(memx(rSrcStride, rSrcStride, 2, 0), rS3)
		ctx.ADDQ(rSrc, rS3)
	}
	ctx.MOVQ(rW, rW0)
	if nb > 2 {
		ctx.LEAQ(memx(rW, rBlk, 2, 0), rW2)
	}
	ctx.Instruction(&ir.Instruction{Opcode: "PCALIGN", Operands: []operand.Op{operand.U8(32)}})
	ctx.Label(pre + "_k")
	for b := range nb {
		ctx.VMOVDQU32(blockAddr(b), zW[b])
	}
	for p := range np {
		x := zT[p%2]
		ctx.VPBROADCASTD(rowAddr(rS0, rS3, rSrcStride, p, 0), x)
		ctx.VPXORD(z80, x, x)
		for b := range nb {
			vpdpbusd(ctx, zW[b], x, acc(p, b))
		}
	}
	ctx.ADDQ(operand.U8(4), rS0)
	if np > 3 {
		ctx.ADDQ(operand.U8(4), rS3)
	}
	ctx.ADDQ(operand.U8(64), rW0)
	if nb > 2 {
		ctx.ADDQ(operand.U8(64), rW2)
	}
	ctx.DECQ(rCnt)
	ctx.JNZ(operand.LabelRef(pre + "_k"))

	// Epilogue.
	ctx.Load(ctx.Param("ep"), rEp)
	ctx.Load(ctx.Param("mode"), reg.RAX)
	ctx.TESTQ(operand.U32(ModeRaw), reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_raw"))
	ctx.TESTQ(operand.U32(ModeClamp), reg.RAX)
	ctx.JNZ(operand.LabelRef(pre + "_clamp"))
	reqh(ctx, nb, np, false)
	ctx.JMP(operand.LabelRef(pre + "_end"))
	ctx.Label(pre + "_clamp")
	reqh(ctx, nb, np, true)
	ctx.JMP(operand.LabelRef(pre + "_end"))
	ctx.Label(pre + "_raw")
	ctx.Load(ctx.Param("raw"), reg.RAX)
	for p := range np {
		for b := range nb {
			ctx.VMOVDQU32(acc(p, b), mem(reg.RAX, 256*p+64*b))
		}
	}
	ctx.Label(pre + "_end")
}

// reqh emits REQH for every accumulator of the tile and the masked stores:
//
//	y = (hi32(acc*M) + c) >> sh   (arithmetic), then saturate to int8
//
// with c = (2 zOut + 1) << (Shift-2), sh = Shift-1 (kernels/AVX2.md,
// "REQH"). Even dwords multiply in place, odd ones after VPSRLQ $32 (M of
// the odd channels pre-placed in mo); the high dwords merge under K1.
func reqh(ctx *build.Context, nb, np int, clamp bool) {
	if np > 3 {
		ctx.LEAQ(memx(rDstStride, rDstStride, 2, 0), reg.RAX)
		ctx.ADDQ(rDst, reg.RAX)
	}
	for b := range nb {
		zm, zmo, zc, zsh := zW[0], zW[1], zW[2], zW[3]
		ctx.VMOVDQU32(mem(rEp, epM+64*b), zm)
		ctx.VMOVDQU32(mem(rEp, epMO+64*b), zmo)
		ctx.VMOVDQU32(mem(rEp, epC+64*b), zc)
		ctx.VMOVDQU32(mem(rEp, epSh+64*b), zsh)
		for p := range np {
			a := acc(p, b)
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
				ctx.VPMAXSB(mem(rEp, epQmin), xs[0], xs[0])
				ctx.VPMINSB(mem(rEp, epQmax), xs[0], xs[0])
			}
			ctx.VMOVDQU8(xs[0], kMask[b], rowAddr(rDst, reg.RAX, rDstStride, p, 16*b))
		}
	}
}
