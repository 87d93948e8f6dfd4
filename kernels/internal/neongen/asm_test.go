package neongen

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// encodeCases covers every form the encoder accepts (used in the kernels or
// not), with varied registers and lanes.
var encodeCases = []string{
	"smax v3.4s, v17.4s, v31.4s", "smax v8.16b, v8.16b, v11.16b", "smin v6.8b, v6.8b, v27.8b",
	"sqshl v0.4s, v1.4s, v24.4s", "srshl v29.4s, v0.4s, v28.4s", "sqdmulh v5.4s, v6.4s, v20.4s",
	"fmul v12.4s, v12.4s, v29.4s", "add v1.8h, v2.8h, v3.8h", "mla v4.4s, v5.4s, v6.4s",
	"mul v7.8h, v8.8h, v9.8h", "addp v10.4s, v11.4s, v12.4s", "shadd v1.16b, v2.16b, v3.16b",
	"sqadd v1.8h, v2.8h, v3.8h",
	"sdot v0.4s, v16.16b, v24.4b[0]", "sdot v7.4s, v23.16b, v27.4b[3]", "sdot v31.4s, v1.16b, v30.4b[2]",
	"sdot v2.2s, v3.8b, v4.4b[1]",
	"sdot v16.4s, v4.16b, v0.16b", "sdot v31.4s, v11.16b, v3.16b", "sdot v1.2s, v2.8b, v3.8b",
	"smull v24.8h, v16.8b, v20.8b", "smull2 v9.8h, v4.16b, v5.16b", "smull v16.4s, v2.4h, v22.4h",
	"smull2 v17.4s, v2.8h, v22.8h", "smlal v8.8h, v6.8b, v7.8b", "smlal2 v19.4s, v5.8h, v23.8h",
	"saddw v0.4s, v0.4s, v8.4h", "saddw2 v1.4s, v1.4s, v8.8h", "saddw v16.8h, v16.8h, v4.8b",
	"saddw2 v17.8h, v17.8h, v4.16b", "ssubl v2.8h, v0.8b, v20.8b", "ssubl2 v3.8h, v0.16b, v20.16b",
	"saddl v1.4s, v2.4h, v3.4h", "ssubw2 v1.8h, v1.8h, v3.16b", "smlsl v1.4s, v2.4h, v3.4h",
	"sqdmull2 v1.4s, v2.8h, v3.8h",
	"sadalp v3.4s, v27.8h", "saddlp v1.8h, v2.16b", "sadalp v1.4h, v2.8b",
	"sqxtn v16.4h, v0.4s", "sqxtn2 v16.8h, v4.4s", "sqxtn v18.8b, v16.8h", "sqxtn2 v18.16b, v17.8h",
	"scvtf v4.4s, v4.4s",
	"ldr q12, [x20, x13]", "ldr q31, [x0, x30]",
	// camera row kernels
	"smlal v0.4s, v18.4h, v15.h[2]", "smlal2 v5.4s, v19.8h, v15.h[7]", "smull v28.4s, v4.4h, v0.h[4]",
	"smull2 v30.4s, v5.8h, v15.h[6]", "mul v1.8h, v2.8h, v3.h[5]", "mla v20.8h, v21.8h, v15.h[7]",
	"mul v1.4h, v2.4h, v0.h[0]", "mla v4.4s, v5.4s, v17.s[3]", "mul v6.2s, v7.2s, v31.s[1]",
	"smlsl v1.4s, v2.4h, v3.h[1]", "smlal v1.2d, v2.2s, v31.s[3]",
	"smull2 v1.2d, v2.4s, v17.s[2]",
	"sqxtun v18.8b, v16.8h", "sqxtun2 v18.16b, v17.8h", "sqxtun v1.4h, v2.4s",
	"uqxtn v0.8b, v16.8h", "uqxtn2 v5.16b, v27.8h", "uqxtn2 v1.4s, v2.2d",
	"mov v0.16b, v31.16b", "mov v31.8b, v14.8b", "orr v1.16b, v2.16b, v3.16b",
	"eor v2.16b, v2.16b, v13.16b", "eor v1.8b, v2.8b, v3.8b",
	"movi v4.2d, #0", "movi v31.2d, #0xff00ff0000ff00ff", "movi v1.2d, #0xffffffffffffffff",
	"shl v4.4s, v4.4s, #15", "shl v1.16b, v2.16b, #7", "shl v1.2d, v2.2d, #63", "shl v1.4h, v2.4h, #0",
	"sshr v0.4s, v0.4s, #22", "sshr v1.4s, v2.4s, #32", "sshr v1.8h, v2.8h, #1", "ushr v1.2d, v2.2d, #64",
	"uxtl v18.8h, v16.8b", "uxtl2 v19.8h, v16.16b", "sxtl v4.8h, v2.8b", "sxtl2 v5.8h, v2.16b",
	"sxtl v1.2d, v2.2s", "uxtl2 v1.4s, v2.8h",
	"sshll v14.4s, v15.4h, #0", "sshll2 v1.8h, v2.16b, #7", "ushll v1.2d, v2.2s, #31",
	"sqshrun v16.4h, v12.4s, #8", "sqshrun2 v27.8h, v12.4s, #8", "sqshrun v1.8b, v2.8h, #1",
	"sqshrun2 v1.4s, v2.2d, #32",
	"sqrshrn v2.4h, v6.4s, #8", "sqrshrn2 v2.8h, v7.4s, #16", "sqrshrn v1.8b, v2.8h, #1", "sqrshrn2 v1.4s, v2.2d, #32",
	"raddhn v6.4h, v16.4s, v24.4s", "raddhn2 v6.8h, v17.4s, v24.4s", "raddhn v1.8b, v2.8h, v3.8h",
	"raddhn2 v1.4s, v2.2d, v31.2d", "addhn v1.4h, v2.4s, v3.4s", "addhn2 v1.16b, v2.8h, v3.8h",
	"dup v14.4s, v14.s[1]", "dup v1.16b, v2.b[15]", "dup v1.4h, v2.h[7]", "dup v1.2d, v2.d[1]",
	"tbl v8.16b, { v0.16b }, v2.16b", "tbl v9.8b, { v1.16b }, v3.8b", "tbx v1.16b, { v30.16b, v31.16b, v0.16b }, v4.16b",
	"tbl v1.16b, { v16.16b, v17.16b, v18.16b, v19.16b }, v0.16b", "tbx v7.8b, { v2.16b, v3.16b }, v5.8b",
}

func TestEncodeMatchesLLVM(t *testing.T) {
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc not found on PATH: encodings not cross-checked (install LLVM to run this test)")
	}
	cmd := exec.Command(mc, "-triple=aarch64", "-mattr=+dotprod", "-show-encoding")
	cmd.Stdin = strings.NewReader(strings.Join(encodeCases, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`encoding: \[0x(..),0x(..),0x(..),0x(..)\]`)
	encs := re.FindAllStringSubmatch(string(out), -1)
	if len(encs) != len(encodeCases) {
		t.Fatalf("llvm-mc gave %d encodings for %d lines:\n%s", len(encs), len(encodeCases), out)
	}
	for i, text := range encodeCases {
		var want uint32
		for k := 4; k >= 1; k-- {
			b, _ := strconv.ParseUint(encs[i][k], 16, 8)
			want = want<<8 | uint32(b)
		}
		got, err := Encode(text)
		if err != nil || got != want {
			t.Errorf("Encode(%q) = %#08x, %v; llvm-mc says %#08x", text, got, err, want)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, text := range []string{
		"smax v1.4s, v2.4s, v3.8h",               // mixed arrangements
		"smull v1.8h, v2.16b, v3.16b",            // full source needs smull2
		"smull2 v1.8h, v2.8b, v3.8b",             // half source needs smull
		"saddw v1.4s, v1.8h, v2.4h",              // wide operand must match the destination
		"sqxtn v1.8b, v2.4s",                     // narrows one step only
		"sdot v1.4s, v2.16b, v3.4b[4]",           // lane out of range
		"sdot v1.4s, v2.8b, v3.4b[0]",            // source width differs from destination
		"sdot v1.4s, v2.16b, v3.8b",              // vector operands of different widths
		"scvtf v1.4s, v2.8h",                     // not a same-width conversion
		"fmul v1.8h, v2.8h, v3.8h",               // half precision not covered
		"frobnicate v1.4s, v2.4s, v3.4s",         // unknown mnemonic
		"smax v32.4s, v1.4s, v2.4s",              // no such register
		"sadalp v1.4s, v2.16b",                   // pairwise step is one element size
		"smax v1.4s, v2.4s, v3.s[1]",             // by element not covered
		"add v1.2d, v2.2d",                       // operand count
		"ldr q1, [x2, x31]",                      // x31 would be xzr/sp
		"ldr q1, [x2, w3]",                       // only an X offset
		"smlal v1.4s, v2.4h, v16.h[0]",           // .h by element reaches v0-v15 only
		"mla v1.8h, v2.8h, v16.h[0]",             // .h by element reaches v0-v15 only
		"mul v1.8h, v2.4h, v3.h[0]",              // arrangements differ
		"mul v1.16b, v2.16b, v3.b[0]",            // no .b by-element form
		"smull v1.4s, v2.4h, v3.h[8]",            // lane out of range
		"smull v1.4s, v2.8h, v3.h[0]",            // full source needs smull2
		"saddw v1.4s, v1.4s, v3.h[0]",            // no wide by-element form
		"sqxtun v1.8b, v2.4s",                    // narrows one step only
		"raddhn v1.8h, v2.4s, v3.4s",             // the narrow half needs raddhn2
		"raddhn v1.4h, v2.4s, v3.8h",             // wide operands must match
		"sqrshrn v1.4h, v2.4s, #17",              // shift out of range
		"mov v1.4s, v2.4s",                       // the alias is written with .16b/.8b
		"eor v1.16b, v2.16b, v3.8b",              // mixed arrangements
		"movi v1.2d, #1",                         // bytes must be 0x00 or 0xff
		"movi v1.4s, #0",                         // only the 64-bit lanes form
		"shl v1.4s, v2.4s, #32",                  // shift out of range
		"sshr v1.4s, v2.4s, #0",                  // right shifts are 1..esize
		"shl v1.4s, v2.4s",                       // missing immediate
		"uxtl v1.8h, v2.8b, #0",                  // the alias takes no immediate
		"sshll v1.8h, v2.16b, #0",                // full source needs sshll2
		"sqshrun v1.4h, v2.4s, #17",              // shift out of range
		"dup v1.4s, v2.s[4]",                     // lane out of range
		"dup v1.4s, v2.h[1]",                     // element size differs
		"tbl v1.16b, { v2.16b, v4.16b }, v3.16b", // list not consecutive
		"tbl v1.16b, { v2.8b }, v3.16b",          // table registers are .16b
		"tbl v1.16b, { v2.16b }, v3.8b",          // index arrangement differs
		"tbl v1.16b, { v1.16b, v2.16b, v3.16b, v4.16b, v5.16b }, v0.16b", // at most four
		"smax v1.2d, v2.2d, v3.2d",                                       // no .2d integer three-same
	} {
		if w, err := Encode(text); err == nil {
			t.Errorf("Encode(%q) = %#08x, want an error", text, w)
		}
	}
}
