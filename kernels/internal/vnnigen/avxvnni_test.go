package vnnigen

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestVEXVPDPBUSD checks the encoder against llvm-mc's encodings (llvm-mc
// 14: `echo '{vex} vpdpbusd %ymm12, %ymm14, %ymm0' | llvm-mc
// -triple=x86_64 -mattr=+avxvnni -show-encoding`), covering the R̄, B̄
// and vvvv bits.
func TestVEXVPDPBUSD(t *testing.T) {
	for _, c := range []struct {
		w, x, a int
		want    [5]byte
	}{
		{0, 0, 0, [5]byte{0xc4, 0xe2, 0x7d, 0x50, 0xc0}},
		{12, 14, 0, [5]byte{0xc4, 0xc2, 0x0d, 0x50, 0xc4}},
		{13, 14, 11, [5]byte{0xc4, 0x42, 0x0d, 0x50, 0xdd}},
		{7, 8, 9, [5]byte{0xc4, 0x62, 0x3d, 0x50, 0xcf}},
		{15, 15, 15, [5]byte{0xc4, 0x42, 0x05, 0x50, 0xff}},
		{8, 0, 7, [5]byte{0xc4, 0xc2, 0x7d, 0x50, 0xf8}},
		{3, 9, 12, [5]byte{0xc4, 0x62, 0x35, 0x50, 0xe3}},
		{1, 2, 3, [5]byte{0xc4, 0xe2, 0x6d, 0x50, 0xd9}},
	} {
		if got := VEXVPDPBUSD(c.w, c.x, c.a); got != c.want {
			t.Errorf("VPDPBUSD Y%d, Y%d, Y%d: % x, want % x", c.w, c.x, c.a, got, c.want)
		}
	}
}

// TestAVXVNNIFile checks the generated avxvnni file: no instruction needs
// AVX-512 (the tier runs on CPUs without it), and, where llvm-mc is
// installed, every BYTE run disassembles to the instruction in the comment
// above it.
func TestAVXVNNIFile(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	src := files["gemm_avxvnni_amd64.s"]
	for _, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "// Requires:") && strings.Contains(l, "AVX512") {
			t.Errorf("gemm_avxvnni_amd64.s needs AVX-512: %q", l)
		}
	}
	re := regexp.MustCompile(`(?m)^\t// (\{vex\} vpdpbusd [^\n]*)\n((?:\tBYTE +\$0x[0-9a-f]+\n){5})`)
	sites := re.FindAllStringSubmatch(src, -1)
	if len(sites) == 0 || strings.Count(src, "BYTE") != 5*len(sites) {
		t.Fatalf("%d commented BYTE runs for %d BYTEs", len(sites), strings.Count(src, "BYTE"))
	}
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc not found (Debian: llvm): the BYTE runs are not disassembled")
	}
	var in bytes.Buffer
	uniq := map[string]string{}
	for _, s := range sites {
		hex := regexp.MustCompile(`\$(0x[0-9a-f]+)`).FindAllStringSubmatch(s[2], -1)
		var bs []string
		for _, h := range hex {
			bs = append(bs, h[1])
		}
		uniq[strings.Join(bs, ",")] = s[1]
	}
	var keys []string
	for k := range uniq {
		keys = append(keys, k)
		fmt.Fprintln(&in, k)
	}
	cmd := exec.Command(mc, "--disassemble", "-triple=x86_64", "-mattr=+avxvnni")
	cmd.Stdin = &in
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mc: %v: %s", err, out)
	}
	var got []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, ".") {
			got = append(got, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(got) != len(keys) {
		t.Fatalf("llvm-mc printed %d instructions for %d byte runs:\n%s", len(got), len(keys), out)
	}
	for i, k := range keys {
		if want := strings.Join(strings.Fields(uniq[k]), " "); got[i] != want {
			t.Errorf("bytes %s are %q, the comment says %q", k, got[i], want)
		}
	}
}
