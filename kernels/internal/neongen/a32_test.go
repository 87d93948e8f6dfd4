package neongen

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// encodeA32Cases covers every form EncodeA32 accepts, with varied
// registers (low and high D registers, Q registers) and sizes.
var encodeA32Cases = []string{
	"vadd.i32 q0, q1, q2", "vadd.i16 d3, d17, d31", "vsub.i32 q15, q8, q1", "vqadd.s16 d0, d1, d2",
	"vqadd.s8 q4, q5, q6", "vhadd.s8 q1, q2, q3", "vmax.s8 d0, d1, d2", "vmin.s8 q0, q1, q2", "vmax.s32 q9, q10, q11",
	"vmul.i16 q1, q2, q3", "vmla.i32 q0, q1, q2", "vqdmulh.s32 q0, q1, q2", "vqrdmulh.s16 d5, d6, d7",
	"vcgt.s8 q1, q2, q3", "vrshl.s32 q0, q1, q2", "vrshl.s32 q12, q12, q13", "vqshl.s32 q0, q1, q2",
	"vshl.s16 d1, d2, d3", "vpadd.i32 d0, d1, d2", "vpadd.i32 d16, d17, d31", "vmul.f32 q0, q1, q2",
	"vand q0, q1, q2", "vorr q0, q1, q1", "vorr d17, d18, d19", "veor q8, q8, q8", "vbsl q1, q2, q3",
	"vaddl.s8 q0, d1, d2", "vaddw.s8 q1, q1, d4", "vaddw.s16 q15, q15, d31", "vsubl.s8 q0, d1, d2",
	"vsubw.s8 q2, q2, d6", "vmlal.s8 q8, d1, d3", "vmlsl.s16 q1, d2, d3", "vmull.s8 q8, d0, d2",
	"vmull.s16 q14, d30, d31", "vmlal.s8 q15, d16, d17", "vaddhn.i32 d0, q1, q2", "vraddhn.i32 d0, q1, q2",
	"vraddhn.i16 d31, q15, q14",
	"vmlal.s16 q0, d1, d2[1]", "vmlal.s16 q1, d2, d7[3]", "vmull.s16 q2, d3, d4[0]", "vmull.s32 q2, d3, d15[1]",
	"vpaddl.s16 q0, q8", "vpaddl.s8 d1, d2", "vpadal.s16 q0, q8", "vpadal.s16 q15, q14", "vpadal.s8 d1, d2",
	"vqmovn.s32 d0, q1", "vqmovn.s16 d31, q15", "vqmovun.s16 d0, q1", "vqmovn.u16 d2, q3", "vmovn.i32 d4, q5",
	"vzip.8 q0, q1", "vzip.16 d0, d1", "vuzp.8 q2, q3", "vtrn.32 q4, q5", "vcvt.f32.s32 q0, q1",
	"vshr.s32 q0, q1, #3", "vshr.s64 q0, q1, #64", "vrshr.s16 d1, d2, #16", "vshl.i32 q0, q1, #31",
	"vshl.i8 d0, d1, #0", "vshl.i64 q1, q2, #5", "vqrshrn.s32 d0, q1, #8", "vqrshrn.s16 d1, q2, #1",
	"vqshrn.s32 d0, q1, #16", "vqrshrun.s16 d0, q1, #7", "vqshrun.s32 d16, q4, #8", "vqshrun.s16 d1, q15, #3", "vrshrn.i32 d3, q4, #5",
	"vshll.s8 q0, d1, #3", "vshll.u16 q1, d2, #15", "vmovl.s8 q0, d1", "vmovl.s16 q9, d20", "vmovl.u8 q0, d1",
	"vext.8 q0, q1, q2, #3", "vext.8 d0, d1, d2, #7", "vdup.32 q0, d1[1]", "vdup.8 d0, d31[7]", "vdup.16 q3, d4[3]",
	"vdup.16 q0, r4", "vdup.8 d0, r4", "vdup.32 q15, r12", "vdup.8 q8, r0",
	"vmov.32 r0, d1[1]", "vmov.32 d1[1], r0", "vmov.32 r12, d17[0]", "vmov r0, r1, d0", "vmov r3, r12, d31",
	"vmov.i8 q0, #0x80", "vmov.i16 q0, #0x7f", "vmov.i32 d5, #0x1", "vmov.i8 d1, #0x0",
	"vtbl.8 d0, {d1, d2}, d3", "vtbx.8 d0, {d1, d2, d3, d4}, d5", "vtbl.8 d16, {d17}, d18",
	"vld1.8 {d0, d1, d2, d3}, [r0]!", "vld1.8 {d0, d1}, [r0], r3", "vld1.8 {d16}, [r12]", "vld1.8 {d4, d5, d6}, [r9]",
	"vld1.32 {d0, d1}, [r2]", "vld1.16 {d20, d21}, [r2]!", "vst1.8 {d16, d17}, [r2]!", "vst1.32 {d0, d1}, [r5]",
	"vst1.32 {d0[1]}, [r5]", "vst1.8 {d3[5]}, [r1]!", "vst1.16 {d17[2]}, [r3], r4", "vld1.32 {d0[1]}, [r1]!",
	"vld1.8 {d0[7]}, [r1], r2", "vld1.16 {d0[3]}, [r1]",
	"vld2.8 {d0, d1}, [r2]!", "vld2.8 {d0, d2}, [r2]", "vld2.8 {d16, d17, d18, d19}, [r3]!", "vst2.8 {d0, d1}, [r0]!",
	"vst2.16 {d4, d6}, [r7], r1", "vld3.8 {d0, d1, d2}, [r2]!", "vld3.8 {d1, d3, d5}, [r2]!", "vst3.8 {d0, d2, d4}, [r0]!",
	"vst3.8 {d17, d18, d19}, [r12]", "vld4.8 {d0, d1, d2, d3}, [r2]!", "vld4.8 {d1, d3, d5, d7}, [r2]!",
	"vst4.8 {d4, d5, d6, d7}, [r9]!", "vst4.16 {d0, d2, d4, d6}, [r1]",
	"vld1.32 {d0[]}, [r5]", "vld1.8 {d0[], d1[]}, [r1]", "vld1.16 {d30[], d31[]}, [r1]!",
}

func TestEncodeA32MatchesLLVM(t *testing.T) {
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc not found on PATH: A32 encodings not cross-checked (install LLVM to run this test)")
	}
	cmd := exec.Command(mc, "-triple=armv7", "-mattr=+neon", "-show-encoding")
	cmd.Stdin = strings.NewReader(strings.Join(encodeA32Cases, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`encoding: \[0x(..),0x(..),0x(..),0x(..)\]`)
	encs := re.FindAllStringSubmatch(string(out), -1)
	if len(encs) != len(encodeA32Cases) {
		t.Fatalf("llvm-mc gave %d encodings for %d lines:\n%s", len(encs), len(encodeA32Cases), out)
	}
	for i, text := range encodeA32Cases {
		var want uint32
		for k := 4; k >= 1; k-- {
			b, _ := strconv.ParseUint(encs[i][k], 16, 8)
			want = want<<8 | uint32(b)
		}
		got, err := EncodeA32(text)
		if err != nil || got != want {
			t.Errorf("EncodeA32(%q) = %#08x, %v; llvm-mc says %#08x", text, got, err, want)
		}
	}
}

func TestEncodeA32Rejects(t *testing.T) {
	for _, text := range []string{
		"vadd.i32 q0, q1, d2",                 // mixed D and Q
		"vadd.i32 q16, q1, q2",                // no q16
		"vadd.i32 d32, d1, d2",                // no d32
		"vqdmulh.s8 q0, q1, q2",               // no byte form
		"vmull.s8 q0, q1, q2",                 // long: D sources
		"vmull.s8 d0, d1, d2",                 // long: Q destination
		"vaddw.s8 q0, d1, d2",                 // wide: Q first source
		"vqmovn.s8 d0, q1",                    // narrows from 16 bits or more
		"vqmovn.s32 q0, q1",                   // narrow destination is D
		"vpadd.i32 q0, q1, q2",                // pairwise add is D only
		"vpadal.s16 q0, d1",                   // same length
		"vshr.s32 q0, q1, #0",                 // right shifts are 1..esize
		"vshr.s32 q0, q1, #33",                // shift out of range
		"vshl.i32 q0, q1, #32",                // shift out of range
		"vqrshrn.s32 d0, q1, #17",             // shift out of range
		"vshr.s32 q0, q1",                     // missing immediate
		"vmlal.s16 q0, d1, d8[0]",             // .16 scalar: d0-d7
		"vmlal.s16 q0, d1, d2[4]",             // lane out of range
		"vdup.32 q0, d1[2]",                   // lane out of range
		"vdup.8 q0, r13",                      // not a general register here
		"vmov.32 r0, d1[2]",                   // lane out of range
		"vmov r0, r0, d1",                     // the same register twice
		"vmov.i8 q0, #256",                    // one byte
		"vext.8 d0, d1, d2, #8",               // D: bytes 0..7
		"vtbl.8 d0, {d1, d3}, d4",             // list not consecutive
		"vtbl.8 d0, {d1, d2, d3, d4, d5}, d6", // at most four
		"vld1.8 {d0, d2}, [r0]",               // list not consecutive
		"vld1.8 {d0, d1, d2, d3, d4}, [r0]",   // at most four
		"vld1.8 {d0}, [r13]",                  // not a general register here
		"vld1.8 {d0}, [r1], r1",               // base and offset the same
		"vld1.32 {d0[2]}, [r1]",               // lane out of range
		"vld1.8 {d0, d2}, [r1]",               // VLD1: no double spacing
		"vld3.8 {d0, d1}, [r1]",               // three registers
		"vld2.8 {d0, d2, d4, d6}, [r1]",       // four: consecutive only
		"vst3.8 {d30, d31, d32}, [r1]",        // no d32
		"vld3.64 {d0, d1, d2}, [r1]",          // no 64-bit structures
		"vld2.8 {d0[1], d1[1]}, [r1]",         // lanes: not supported
		"vst1.8 {d0[]}, [r1]",                 // no all-lanes store
		"vfrob.s32 q0, q1, q2",                // unknown mnemonic
		"vrshl.s32 q0, q1, q2, q3",            // operand count
	} {
		if w, err := EncodeA32(text); err == nil {
			t.Errorf("EncodeA32(%q) = %#08x, want an error", text, w)
		}
	}
}
