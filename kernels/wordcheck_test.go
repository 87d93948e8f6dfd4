package kernels

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The WORD check: every `WORD $0x…` in the assembly carries the instruction
// it encodes as a trailing `// comment` in LLVM syntax. The test
// disassembles all words with one llvm-mc call and compares. A comment that
// differs only by an alias (e.g. "sshll …, #0" for "sxtl") passes if it
// assembles to the same word.

type wcSite struct {
	file    string
	line    int
	word    uint32
	comment string // "" if missing
}

var (
	wcLine = regexp.MustCompile(`^\s*WORD\s+\$(\S+?)\s*(?://\s*(.*?))?\s*$`)
	wcAny  = regexp.MustCompile(`^\s*WORD\b`)
)

// wcNorm canonicalizes an instruction's text for comparison.
func wcNorm(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Join(strings.Fields(s), " ")
	for _, p := range []string{",", "{", "}", "[", "]"} {
		s = strings.ReplaceAll(s, " "+p, p)
		s = strings.ReplaceAll(s, p+" ", p)
	}
	return s
}

// wcScan returns the WORD sites of the files, and problems found while
// parsing (missing comment, unparsable value).
func wcScan(files []string) ([]wcSite, []string, error) {
	var sites []wcSite
	var problems []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if !wcAny.MatchString(line) {
				continue
			}
			m := wcLine.FindStringSubmatch(line)
			if m == nil {
				problems = append(problems, fmt.Sprintf("%s:%d: unrecognized WORD line %q", f, n, line))
				continue
			}
			v, err := strconv.ParseUint(m[1], 0, 32)
			if err != nil || !strings.HasPrefix(strings.ToLower(m[1]), "0x") {
				problems = append(problems, fmt.Sprintf("%s:%d: WORD value %q is not a 32-bit hex literal", f, n, m[1]))
				continue
			}
			s := wcSite{file: f, line: n, word: uint32(v), comment: m[2]}
			if strings.TrimSpace(s.comment) == "" {
				problems = append(problems, fmt.Sprintf("%s:%d: WORD $%#08x has no instruction comment", f, n, s.word))
				continue
			}
			sites = append(sites, s)
		}
		if err := sc.Err(); err != nil {
			return nil, nil, err
		}
	}
	return sites, problems, nil
}

var wcInvalid = regexp.MustCompile(`<stdin>:(\d+):\d+: (?:warning|error): invalid instruction encoding`)

// wcDisassemble returns the text of each word ("" where llvm-mc finds no
// valid instruction), with one llvm-mc run.
func wcDisassemble(mc string, llvmArgs []string, words []uint32) ([]string, error) {
	var in bytes.Buffer
	for _, w := range words {
		fmt.Fprintf(&in, "0x%02x,0x%02x,0x%02x,0x%02x\n", byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	cmd := exec.Command(mc, append([]string{"--disassemble"}, llvmArgs...)...)
	cmd.Stdin = &in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil && out.Len() == 0 {
		return nil, fmt.Errorf("llvm-mc --disassemble: %v: %s", err, errb.String())
	}
	invalid := map[int]bool{}
	for _, m := range wcInvalid.FindAllStringSubmatch(errb.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		invalid[n] = true
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, ".") {
			continue
		}
		if i := strings.Index(l, "//"); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		lines = append(lines, l)
	}
	res := make([]string, len(words))
	j := 0
	for i := range words {
		if invalid[i+1] {
			continue
		}
		if j >= len(lines) {
			return nil, fmt.Errorf("llvm-mc printed %d instructions for %d words (%d invalid)", len(lines), len(words), len(invalid))
		}
		res[i] = lines[j]
		j++
	}
	if j != len(lines) {
		return nil, fmt.Errorf("llvm-mc printed %d instructions for %d words (%d invalid)", len(lines), len(words), len(invalid))
	}
	return res, nil
}

// wcAssemble returns the encoding of each instruction (ok false where it
// does not assemble), with one llvm-mc run per call.
func wcAssemble(mc string, llvmArgs []string, texts []string) ([]uint32, []bool) {
	words := make([]uint32, len(texts))
	ok := make([]bool, len(texts))
	enc := regexp.MustCompile(`encoding: \[0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2})\]`)
	for i, t := range texts { // one call each: a bad line must not shift the others
		cmd := exec.Command(mc, append(llvmArgs, "-show-encoding")...)
		cmd.Stdin = strings.NewReader(t + "\n")
		out, err := cmd.Output()
		m := enc.FindSubmatch(out)
		if err != nil || m == nil {
			continue
		}
		var b [4]uint64
		for k := range b {
			b[k], _ = strconv.ParseUint(string(m[k+1]), 16, 8)
		}
		words[i] = uint32(b[0] | b[1]<<8 | b[2]<<16 | b[3]<<24)
		ok[i] = true
	}
	return words, ok
}

// wcLLVMArgs are llvm-mc's target flags for the WORDs of an arm64 file and
// of a 32-bit ARM (A32 NEON) file.
var (
	wcArm64 = []string{"-triple=aarch64", "-mattr=+dotprod,+rdm"}
	wcArm32 = []string{"-triple=armv7", "-mattr=+neon"}
)

// wcCheck returns one problem per bad WORD in files (all of one
// architecture, given by llvmArgs).
func wcCheck(mc string, llvmArgs []string, files []string) ([]string, int, error) {
	sites, problems, err := wcScan(files)
	if err != nil {
		return nil, 0, err
	}
	words := make([]uint32, len(sites))
	for i, s := range sites {
		words[i] = s.word
	}
	dis, err := wcDisassemble(mc, llvmArgs, words)
	if err != nil {
		return nil, 0, err
	}
	var retry []int
	for i, s := range sites {
		if dis[i] == "" || wcNorm(dis[i]) != wcNorm(s.comment) {
			retry = append(retry, i)
		}
	}
	texts := make([]string, len(retry))
	for j, i := range retry {
		texts[j] = sites[i].comment
	}
	enc, ok := wcAssemble(mc, llvmArgs, texts)
	for j, i := range retry {
		s := sites[i]
		if ok[j] && enc[j] == s.word {
			continue // an alias of the disassembler's spelling
		}
		got := dis[i]
		if got == "" {
			got = "<invalid encoding>"
		}
		problems = append(problems, fmt.Sprintf("%s:%d: WORD $%#08x is %q, comment says %q", s.file, s.line, s.word, got, s.comment))
	}
	return problems, len(sites), nil
}

func wcLLVMMC(t *testing.T) string {
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc not found on PATH: WORD encodings not checked (install LLVM to run this test)")
	}
	return mc
}

func TestWordComments(t *testing.T) {
	mc := wcLLVMMC(t)
	all, err := filepath.Glob("*.s")
	if err != nil {
		t.Fatal(err)
	}
	// camera's row kernels (fused preprocessing) follow the same rule.
	cam, err := filepath.Glob(filepath.Join("..", "camera", "*.s"))
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, cam...)
	// WORDs are AArch64 instructions in arm64 files and A32 ones in arm
	// files; an amd64 file's WORD is a 16-bit datum.
	var files, files32 []string
	for _, f := range all {
		switch {
		case strings.HasSuffix(f, "_arm64.s"):
			files = append(files, f)
		case strings.HasSuffix(f, "_arm.s"):
			files32 = append(files32, f)
		default:
			t.Logf("%s: not an ARM file, skipped", f)
		}
	}
	if len(files)+len(files32) == 0 {
		t.Skip("no ARM assembly files")
	}
	for _, set := range []struct {
		args  []string
		files []string
	}{{wcArm64, files}, {wcArm32, files32}} {
		if len(set.files) == 0 {
			continue
		}
		problems, n, err := wcCheck(mc, set.args, set.files)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
		t.Logf("%s: checked %d WORDs in %d files", set.args[0], n, len(set.files))
	}
}

func TestWordCheckCatchesMismatch(t *testing.T) {
	mc := wcLLVMMC(t)
	f := filepath.Join("testdata", "wordcheck", "bad.s")
	problems, n, err := wcCheck(mc, wcArm64, []string{f})
	if err != nil {
		t.Fatal(err)
	}
	// bad.s: line 5 has a wrong register, line 6 no comment, line 9 the
	// wrong mnemonic (sqrdmulh's word), line 10 is no instruction at all;
	// lines 4, 7 (case, spacing) and 8 (an alias) are right.
	want := map[string]bool{f + ":5:": true, f + ":6:": true, f + ":9:": true, f + ":10:": true}
	if n != 6 {
		t.Errorf("checked %d commented WORDs, want 6", n)
	}
	for _, p := range problems {
		found := false
		for prefix := range want {
			if strings.HasPrefix(p, prefix) {
				delete(want, prefix)
				found = true
				break
			}
		}
		if !found {
			t.Errorf("unexpected problem: %s", p)
		}
	}
	for prefix := range want {
		t.Errorf("no problem reported for %s", prefix)
	}
	t.Logf("reported (as expected):\n%s", strings.Join(problems, "\n"))
}
