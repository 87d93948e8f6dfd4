package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// refFloat decodes element i independently of the package's converters.
func refFloat(dt DType, data []byte, i int) float32 {
	switch dt {
	case F64:
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
	case F32:
		return math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	case F16:
		return float32(f16Ref(binary.LittleEndian.Uint16(data[2*i:])))
	case BF16:
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(data[2*i:])) << 16)
	}
	panic("refFloat: " + dt)
}

func refInt(dt DType, data []byte, i int) int64 {
	switch dt {
	case I64:
		return int64(binary.LittleEndian.Uint64(data[8*i:]))
	case I32:
		return int64(int32(binary.LittleEndian.Uint32(data[4*i:])))
	case U32:
		return int64(binary.LittleEndian.Uint32(data[4*i:]))
	case I16:
		return int64(int16(binary.LittleEndian.Uint16(data[2*i:])))
	case U16:
		return int64(binary.LittleEndian.Uint16(data[2*i:]))
	case I8:
		return int64(int8(data[i]))
	case U8, BOOL:
		return int64(data[i])
	}
	panic("refInt: " + dt)
}

func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

func TestRoundTripAllDTypes(t *testing.T) {
	// Every dtype, each as a matrix, a scalar and an empty tensor, filled
	// with pseudo-random bytes (so NaNs, subnormals and extremes occur).
	var ts []Tensor
	seed := uint32(1)
	for _, dt := range []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL} {
		for _, shape := range [][]int{{2, 3}, {}, {0, 5}} {
			numel, _ := numElements(shape)
			data := make([]byte, int(numel)*dt.Size())
			for i := range data {
				seed = seed*1664525 + 1013904223
				data[i] = byte(seed >> 24)
				if dt == BOOL {
					data[i] &= 1
				}
			}
			ts = append(ts, Tensor{Name: fmt.Sprintf("%s%v", dt, shape), DType: dt, Shape: shape, Data: data})
		}
	}
	ts = append(ts, Tensor{Name: "quote\" back\\ tab\t ctl\x01 \u2028 é", DType: U8, Shape: []int{1}, Data: []byte{7}})
	meta := map[string]string{"format": "pt", "quote\"and\\": "ünïcode\n"}
	var buf bytes.Buffer
	if err := Write(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	if n := binary.LittleEndian.Uint64(file); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	var want []string
	for _, tt := range ts {
		want = append(want, tt.Name)
	}
	eachJSONPath(t, func(t *testing.T, simd bool) {
		f, err := Parse(file, "roundtrip")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.Metadata, meta) {
			t.Errorf("metadata %v, want %v", f.Metadata, meta)
		}
		// Empty tensors share their offset with the next tensor and sort
		// first, so data order is write order here.
		if got := f.Names(); !slices.Equal(got, want) {
			t.Errorf("Names() = %q\nwant %q", got, want)
		}
		if f.Len() != len(ts) {
			t.Errorf("Len() = %d, want %d", f.Len(), len(ts))
		}
		for _, tt := range ts {
			b, info, err := f.Bytes(tt.Name)
			if err != nil {
				t.Fatal(err)
			}
			if info.DType != tt.DType || info.Shape == nil || !slices.Equal(info.Shape, tt.Shape) || !bytes.Equal(b, tt.Data) {
				t.Errorf("%s: got %s %v %x, want %s %v %x", tt.Name, info.DType, info.Shape, b, tt.DType, tt.Shape, tt.Data)
			}
			switch {
			case tt.DType.IsFloat():
				v, shape, err := f.Float32(tt.Name)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(shape, tt.Shape) || len(v) != info.NumElements() {
					t.Errorf("%s: Float32 gave %d values of shape %v", tt.Name, len(v), shape)
				}
				for i := range v {
					if w := refFloat(tt.DType, tt.Data, i); !sameFloat(v[i], w) {
						t.Errorf("%s[%d] = %#08x, want %#08x", tt.Name, i, math.Float32bits(v[i]), math.Float32bits(w))
					}
				}
				if _, _, err := f.Int64(tt.Name); err == nil || !strings.Contains(err.Error(), "is not an integer type") {
					t.Errorf("%s: Int64 on a float tensor: %v", tt.Name, err)
				}
			case tt.DType == U64:
				// Random bytes put some values above int64; Int64 must say so.
				v, _, err := f.Int64(tt.Name)
				big := false
				for i := 0; i+8 <= len(tt.Data); i += 8 {
					big = big || binary.LittleEndian.Uint64(tt.Data[i:]) > math.MaxInt64
				}
				if big != (err != nil) {
					t.Errorf("%s: Int64 error %v, want one iff a value exceeds int64 (%v)", tt.Name, err, big)
				}
				for i := range v {
					if w := binary.LittleEndian.Uint64(tt.Data[8*i:]); uint64(v[i]) != w {
						t.Errorf("%s[%d] = %d, want %d", tt.Name, i, v[i], w)
					}
				}
			default:
				v, _, err := f.Int64(tt.Name)
				if err != nil {
					t.Fatal(err)
				}
				for i := range v {
					if w := refInt(tt.DType, tt.Data, i); v[i] != w {
						t.Errorf("%s[%d] = %d, want %d", tt.Name, i, v[i], w)
					}
				}
				wantMsg := fmt.Sprintf("safetensors: roundtrip: tensor %q: dtype %s is not a float type", tt.Name, tt.DType)
				if _, _, err := f.Float32(tt.Name); err == nil || !strings.Contains(err.Error(), wantMsg) {
					t.Errorf("%s: Float32 on an integer tensor: %v, want %q", tt.Name, err, wantMsg)
				}
			}
		}
	})
}

// The typed constructors round as documented.
func TestTensorConstructors(t *testing.T) {
	v := []float32{1, 1.0 / 3, -65520, 1e-8, float32(math.Inf(1))}
	f16 := F16Tensor("h", []int{5}, v)
	bf16 := BF16Tensor("b", []int{5}, v)
	for i, x := range v {
		if got, want := binary.LittleEndian.Uint16(f16.Data[2*i:]), F32ToF16(x); got != want {
			t.Errorf("F16Tensor[%d] = %#04x, want %#04x", i, got, want)
		}
		if got, want := binary.LittleEndian.Uint16(bf16.Data[2*i:]), F32ToBF16(x); got != want {
			t.Errorf("BF16Tensor[%d] = %#04x, want %#04x", i, got, want)
		}
	}
	if got := binary.LittleEndian.Uint16(f16.Data[4:]); got != 0xfc00 {
		t.Errorf("F16Tensor(-65520) = %#04x, want -inf (0xfc00)", got)
	}
	shape := []int{5}
	f32 := F32Tensor("f", shape, v)
	shape[0] = 99 // the tensor must keep its own copy
	if f32.DType != F32 || f32.Shape[0] != 5 || len(f32.Data) != 20 {
		t.Errorf("F32Tensor = %s %v %d bytes", f32.DType, f32.Shape, len(f32.Data))
	}
	i64 := I64Tensor("n", []int{}, []int64{-20})
	if i64.DType != I64 || len(i64.Shape) != 0 || int64(binary.LittleEndian.Uint64(i64.Data)) != -20 {
		t.Errorf("I64Tensor = %+v", i64)
	}
}

func TestWriteFileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := WriteFile(path, sampleTensors(), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != path || f.Metadata["format"] != "pt" {
		t.Errorf("Path %q, Metadata %v", f.Path, f.Metadata)
	}
	want := []string{"bn.num_batches_tracked", "conv.weight", "bn.weight", "bn.bias", "empty"}
	if got := f.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	v, shape, err := f.Float32("conv.weight")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{2, 1, 1, 3}) || !slices.Equal(v, []float32{1, -2, 3.5, 0, 1e-40, 65504}) {
		t.Errorf("conv.weight = %v %v", shape, v)
	}
	if v, _, _ := f.Float32("bn.weight"); !slices.Equal(v, []float32{1, 0.5, -0.25}) {
		t.Errorf("bn.weight (F16) = %v", v)
	}
	if v, _, _ := f.Float32("bn.bias"); !slices.Equal(v, []float32{-1, 256}) {
		t.Errorf("bn.bias (BF16) = %v", v)
	}
	if v, shape, _ := f.Int64("bn.num_batches_tracked"); !slices.Equal(v, []int64{20}) || len(shape) != 0 {
		t.Errorf("num_batches_tracked = %v %v", v, shape)
	}
	if v, shape, err := f.Float32("empty"); err != nil || len(v) != 0 || !slices.Equal(shape, []int{0, 4}) {
		t.Errorf("empty = %v %v %v", v, shape, err)
	}

	// Info hands out copies.
	info, _ := f.Info("conv.weight")
	info.Shape[0] = 99
	if again, _ := f.Info("conv.weight"); again.Shape[0] != 2 {
		t.Error("changing Info's shape changed the file's")
	}
	names := f.Names()
	names[0] = "x"
	if f.Names()[0] == "x" {
		t.Error("changing Names' result changed the file's")
	}

	if _, ok := f.Info("missing"); ok {
		t.Error(`Info("missing") found something`)
	}
	if _, _, err := f.Float32("missing"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), path) {
		t.Errorf(`Float32("missing") = %v, want ErrNotFound naming the file`, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Float32("conv.weight"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Float32 after Close: %v", err)
	}
	if _, ok := f.Info("conv.weight"); !ok {
		t.Error("Info after Close lost the header")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "absent.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(absent) = %v, want ErrNotExist", err)
	}
	wantFormatError(t, func() error { _, err := Open(dir); return err }(), dir, "not a regular file")

	// A short file and a lying length are caught before the data is read.
	short := filepath.Join(dir, "short.safetensors")
	if err := os.WriteFile(short, []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(short)
	wantFormatError(t, err, short, "file is 3 bytes, too short for the 8-byte header length")
	lying := filepath.Join(dir, "lying.safetensors")
	if err := os.WriteFile(lying, []byte{100, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(lying)
	wantFormatError(t, err, lying, "header length 100 is beyond the end of the file: only 2 bytes follow the length")
}

func TestWriteRejects(t *testing.T) {
	good := F32Tensor("a", []int{1}, []float32{1})
	cases := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"empty name", []Tensor{{Name: "", DType: U8, Shape: []int{0}}}, nil, "empty tensor name"},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{0}}}, nil, "reserved"},
		{"duplicate", []Tensor{good, good}, nil, `tensor "a": duplicate name`},
		{"bad UTF-8 name", []Tensor{{Name: "\xff", DType: U8, Shape: []int{0}}}, nil, "not valid UTF-8"},
		{"bad UTF-8 metadata", []Tensor{good}, map[string]string{"k": "\xff"}, `metadata "k"`},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F8", Shape: []int{0}}}, nil, `unknown dtype "F8"`},
		{"negative dim", []Tensor{{Name: "a", DType: U8, Shape: []int{-1}}}, nil, "shape[0] = -1"},
		{"overflow", []Tensor{{Name: "a", DType: F64, Shape: []int{math.MaxInt, math.MaxInt, math.MaxInt, 4}}}, nil, "overflows"},
		{"size mismatch", []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 7)}}, nil, `tensor "a": shape [2] of F32 needs 8 bytes, got 7`},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.tensors, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Write error %v, want one containing %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Write wrote %d bytes before failing", c.name, buf.Len())
		}
	}
	// WriteFile leaves nothing behind when it fails.
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := WriteFile(path, cases[2].tensors, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteFile error %v, want one naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile left %s behind: %v", path, err)
	}
}

// Write's output is what upstream writes: compact header, metadata first,
// space padding to 8.
func TestWriteExactBytes(t *testing.T) {
	var buf bytes.Buffer
	ts := []Tensor{I64Tensor("n", []int{}, []int64{1}), F16Tensor("w", []int{1, 2}, []float32{1, 2})}
	if err := Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"format":"pt"},"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := rawFile(header, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x3c, 0x00, 0x40})
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write produced\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

// Every rejected file gets an error naming the file, the tensor and the
// numbers involved, identically on both JSON paths.
func TestParseErrors(t *testing.T) {
	valid := sampleFile(t)
	n := int(binary.LittleEndian.Uint64(valid))
	u8 := func(name string, begin, end int64) string {
		return fmt.Sprintf("%q:{\"dtype\":\"U8\",\"shape\":[%d],\"data_offsets\":[%d,%d]}", name, end-begin, begin, end)
	}
	withLength := func(length uint64, rest []byte) []byte {
		b := binary.LittleEndian.AppendUint64(nil, length)
		return append(b, rest...)
	}
	cases := []struct {
		name      string
		file      []byte
		fragments []string
	}{
		{"empty file", nil, []string{"file is 0 bytes, too short for the 8-byte header length"}},
		{"truncated in length", valid[:5], []string{"file is 5 bytes, too short"}},
		{"truncated in header", valid[:8+n/2], []string{fmt.Sprintf("header length %d is beyond the end of the file: only %d bytes follow", n, n/2)}},
		{"truncated in data", valid[:len(valid)-3], []string{`tensor "bn.bias"`, "out of range: the data buffer is"}},
		{"header length beyond file", withLength(1<<40, []byte("{}")), []string{"header length 1099511627776 is more than the 104857600-byte limit"}},
		{"header length max u64", withLength(math.MaxUint64, []byte("{}")), []string{"header length 18446744073709551615 is more than"}},
		{"header length just beyond", withLength(3, []byte("{}")), []string{"header length 3 is beyond the end of the file: only 2 bytes follow the length"}},
		{"header length short", withLength(1, []byte("{}")), []string{"must end with '}'"}},
		{"bad JSON", rawFile(`{"a":{"dtype":"U8",}}`, nil), []string{"header is not valid JSON"}},
		{"unknown dtype", rawFile(`{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, `unknown dtype "Q4"`}},
		{"shape/offset mismatch", rawFile(`{"conv.weight":{"dtype":"F32","shape":[16,3,3,3],"data_offsets":[0,1724]}}`, make([]byte, 1724)),
			[]string{`tensor "conv.weight"`, "shape [16 3 3 3] of F32 needs 1728 bytes", "data_offsets [0, 1724] span 1724 bytes"}},
		{"overlapping tensors", rawFile("{"+u8("a", 0, 6)+","+u8("b", 4, 8)+"}", make([]byte, 8)),
			[]string{`tensor "b"`, `data_offsets [4, 8] overlap tensor "a" at [0, 6]`}},
		{"overlap with empty inside", rawFile("{"+u8("a", 0, 6)+","+u8("b", 3, 3)+"}", make([]byte, 6)),
			[]string{`tensor "b"`, `data_offsets [3, 3] overlap tensor "a" at [0, 6]`}},
		{"same offsets", rawFile("{"+u8("a", 0, 4)+","+u8("b", 0, 4)+"}", make([]byte, 4)),
			[]string{`tensor "b"`, `overlap tensor "a" at [0, 4]`}},
		{"offsets out of range", rawFile("{"+u8("a", 0, 4)+","+u8("b", 4, 12)+"}", make([]byte, 8)),
			[]string{`tensor "b"`, "data_offsets [4, 12] out of range: the data buffer is 8 bytes"}},
		{"offsets far out of range", rawFile("{"+u8("a", 1<<62, 1<<62+1)+"}", make([]byte, 1)),
			[]string{`tensor "a"`, "out of range"}},
		{"gap", rawFile("{"+u8("a", 0, 2)+","+u8("b", 4, 8)+"}", make([]byte, 8)),
			[]string{`tensor "b"`, "leave bytes [2, 4) of the data buffer unused"}},
		{"trailing data", rawFile("{"+u8("a", 0, 2)+"}", make([]byte, 5)),
			[]string{"the data buffer is 5 bytes but the tensors cover only 2"}},
		{"duplicate key", rawFile("{"+u8("a", 0, 2)+","+u8("a", 0, 2)+"}", make([]byte, 2)), []string{`tensor "a": duplicate key in header`}},
	}
	msgs := map[string]string{}
	eachJSONPath(t, func(t *testing.T, simd bool) {
		for _, c := range cases {
			f, err := Parse(c.file, "model.safetensors")
			if f != nil {
				t.Errorf("%s: Parse returned a File along with %v", c.name, err)
			}
			fe := wantFormatError(t, err, append(c.fragments, "safetensors: model.safetensors: ")...)
			if fe.Path != "model.safetensors" {
				t.Errorf("%s: FormatError.Path = %q", c.name, fe.Path)
			}
			if fe.syntax {
				continue // the parser's own wording
			}
			if !simd {
				msgs[c.name] = err.Error()
			} else if want := msgs[c.name]; want != "" && err.Error() != want {
				t.Errorf("%s: simdjson says %q, encoding/json %q", c.name, err, want)
			}
		}
	})
}

// Every strict prefix of a valid file is rejected, on both paths.
func TestParseEveryTruncation(t *testing.T) {
	valid := sampleFile(t)
	eachJSONPath(t, func(t *testing.T, simd bool) {
		for i := range len(valid) {
			if _, err := Parse(valid[:i], "cut"); err == nil {
				t.Errorf("file cut to %d of %d bytes was accepted", i, len(valid))
			}
		}
		if _, err := Parse(valid, "whole"); err != nil {
			t.Errorf("the whole file: %v", err)
		}
	})
}

// A lying length prefix costs nothing: the header is never allocated from
// it, only sliced from bytes that exist.
func TestParseLyingLengthAllocatesLittle(t *testing.T) {
	inputs := [][]byte{
		binary.LittleEndian.AppendUint64(nil, MaxHeaderSize),
		append(binary.LittleEndian.AppendUint64(nil, 1<<62), '{', '}'),
		rawFile(`{"a":{"dtype":"F32","shape":[1000000000,1000000000],"data_offsets":[0,4000000000000000000]}}`, nil),
		rawFile(`{"a":{"dtype":"U8","shape":[4000000000],"data_offsets":[0,4000000000]}}`, nil),
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Parse(in, "lie")
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%q accepted", in)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("Parse(%q) allocated %d bytes", in, d)
		}
	}
}
