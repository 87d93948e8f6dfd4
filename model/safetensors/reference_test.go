package safetensors

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The reference data lives next to the repository checkout.
var refDir = filepath.Join("..", "..", "..", "shared", "reference")

func refPath(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(refDir, "mixnet_s.safetensors")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("reference file not available (%v): these checks need ../shared/reference next to the repository", err)
	}
	return p
}

type listedTensor struct {
	name  string
	shape []int
	dtype DType
}

// readListing parses mixnet_s_state_dict.txt: "key<TAB>[d, d]<TAB>float32 (F32)".
func readListing(t *testing.T) []listedTensor {
	t.Helper()
	fh, err := os.Open(filepath.Join(refDir, "mixnet_s_state_dict.txt"))
	if err != nil {
		t.Fatalf("the listing should sit next to the reference file: %v", err)
	}
	defer fh.Close()
	var out []listedTensor
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			t.Fatalf("listing line %q: want 3 tab-separated fields", line)
		}
		lt := listedTensor{name: fields[0], shape: []int{}}
		if dims := strings.Trim(fields[1], "[]"); dims != "" {
			for _, d := range strings.Split(dims, ", ") {
				n, err := strconv.Atoi(d)
				if err != nil {
					t.Fatalf("listing line %q: %v", line, err)
				}
				lt.shape = append(lt.shape, n)
			}
		}
		open, close := strings.Index(fields[2], "("), strings.Index(fields[2], ")")
		if open < 0 || close < open {
			t.Fatalf("listing line %q: no (DTYPE)", line)
		}
		lt.dtype = DType(fields[2][open+1 : close])
		out = append(out, lt)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReferenceFile(t *testing.T) {
	path := refPath(t)
	listing := readListing(t)
	if len(listing) != 396 {
		t.Fatalf("listing has %d tensors, want 396", len(listing))
	}
	var infos [2][]TensorInfo
	eachJSONPath(t, func(t *testing.T, simd bool) {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Len() != 396 || len(f.Names()) != 396 {
			t.Fatalf("%d tensors, want 396", f.Len())
		}
		if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
			t.Errorf("metadata %v, want format=pt", f.Metadata)
		}
		counters, floats := 0, 0
		for _, lt := range listing {
			info, ok := f.Info(lt.name)
			if !ok {
				t.Errorf("%s: listed but not in the file", lt.name)
				continue
			}
			if info.DType != lt.dtype || !slices.Equal(info.Shape, lt.shape) {
				t.Errorf("%s: file has %s %v, listing %s %v", lt.name, info.DType, info.Shape, lt.dtype, lt.shape)
			}
			if strings.HasSuffix(lt.name, ".num_batches_tracked") {
				counters++
				v, shape, err := f.Int64(lt.name)
				if err != nil || info.DType != I64 || len(shape) != 0 || !slices.Equal(v, []int64{20}) {
					t.Errorf("%s = %v %v (%s, %v), want the I64 scalar 20", lt.name, v, shape, info.DType, err)
				}
				continue
			}
			v, _, err := f.Float32(lt.name)
			if err != nil {
				t.Fatal(err)
			}
			floats += len(v)
		}
		if counters != 49 {
			t.Errorf("%d num_batches_tracked tensors, want 49", counters)
		}
		if floats != 4166798 {
			t.Errorf("%d float elements, want 4166798 (the listing's count)", floats)
		}
		var all []TensorInfo
		for _, name := range f.Names() {
			info, _ := f.Info(name)
			all = append(all, info)
		}
		if simd {
			infos[1] = all
		} else {
			infos[0] = all
		}
	})
	if infos[0] != nil && infos[1] != nil && !reflect.DeepEqual(infos[0], infos[1]) {
		t.Error("encoding/json and simdjson read different headers")
	}
}

// Rewriting the reference file's tensors in data order reproduces it byte
// for byte, so Write is the format upstream writes.
func TestReferenceRewriteIdentical(t *testing.T) {
	path := refPath(t)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(orig, path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []Tensor
	for _, name := range f.Names() {
		b, info, err := f.Bytes(name)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: b})
	}
	var buf bytes.Buffer
	if err := Write(&buf, ts, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		n := 0
		for n < min(buf.Len(), len(orig)) && buf.Bytes()[n] == orig[n] {
			n++
		}
		t.Fatalf("rewrite differs from the original at byte %d (lengths %d and %d)", n, buf.Len(), len(orig))
	}
}

func BenchmarkOpenReference(b *testing.B) {
	path := refPath(b)
	for _, simd := range []bool{false, true} {
		name := "encoding-json"
		if simd {
			name = "simdjson"
		}
		b.Run(name, func(b *testing.B) {
			if simd {
				requireSIMD(b)
			}
			old := UseSIMDJSON
			UseSIMDJSON = simd
			defer func() { UseSIMDJSON = old }()
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				f, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// BenchmarkParseReferenceHeader isolates the JSON work (36 KB header).
func BenchmarkParseReferenceHeader(b *testing.B) {
	data, err := os.ReadFile(refPath(b))
	if err != nil {
		b.Fatal(err)
	}
	f, err := Parse(data, "ref")
	if err != nil {
		b.Fatal(err)
	}
	header := data[8 : len(data)-len(f.data)]
	for _, simd := range []bool{false, true} {
		name := "encoding-json"
		if simd {
			name = "simdjson"
		}
		b.Run(name, func(b *testing.B) {
			if simd {
				requireSIMD(b)
			}
			b.SetBytes(int64(len(header)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseHeaderJSON(header, simd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
