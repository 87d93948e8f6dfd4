package safetensors

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse. It must never panic, must keep
// allocations to what the input implies (checked by the fuzzer's memory
// limits and TestParseLyingLengthAllocatesLittle), and where simdjson is
// available both JSON paths must agree exactly.
func FuzzParse(f *testing.F) {
	valid := sampleFile(f)
	n := binary.LittleEndian.Uint64(valid)
	f.Add(valid)
	for _, cut := range []int{0, 4, 7, 8, 9, 8 + int(n)/2, 8 + int(n) - 1, 8 + int(n), len(valid) - 1} {
		f.Add(valid[:cut])
	}
	for _, lie := range []uint64{0, 1, 2, n - 1, n + 1, n + 8, 1 << 32, MaxHeaderSize, MaxHeaderSize + 1, math.MaxInt64, math.MaxUint64} {
		b := slices.Clone(valid)
		binary.LittleEndian.PutUint64(b, lie)
		f.Add(b)
	}
	for _, h := range []string{
		`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`,    // overlap
		`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}}`,   // gap
		`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8000]}}`, // out of range
		`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,4]}}`,                                                       // size mismatch
		`{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}`,                            // valid, F16
		`{"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"e":{"dtype":"F64","shape":[0],"data_offsets":[2,2]}}`,  // valid, scalar + empty
		`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`,                                   // overflow
		`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,18446744073709551615]}}`,                                     // huge offset
	} {
		f.Add(rawFile(h, make([]byte, 8)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, errStd := parse(data, "fuzz", false)
		if errStd == nil {
			checkFile(t, fs, len(data))
		} else {
			var fe *FormatError
			if !errors.As(errStd, &fe) {
				t.Fatalf("error %v is a %T, want *FormatError", errStd, errStd)
			}
		}
		if !SIMDJSONSupported() {
			return
		}
		fj, errSIMD := parse(data, "fuzz", true)
		sameResult(t, fs, errStd, fj, errSIMD)
	})
}

// FuzzParseHeaderJSON aims the fuzzer at the two JSON paths, which must
// accept the same headers, return the same infos and, except for the
// parsers' own syntax messages, the same errors.
func FuzzParseHeaderJSON(f *testing.F) {
	for _, c := range validHeaders {
		f.Add([]byte(c.header))
	}
	for _, c := range schemaErrors {
		f.Add([]byte(c.header))
	}
	f.Add([]byte(`{"a":"\u0041\ud83d\ude00\/\b","b":[-0,1e2,1.5,9223372036854775808,-9223372036854775809]}`))
	f.Fuzz(func(t *testing.T, header []byte) {
		infos, meta, err := ParseHeaderJSON(header, false)
		if err == nil {
			for _, info := range infos {
				checkInfo(t, info)
			}
		}
		if !SIMDJSONSupported() {
			return
		}
		infos2, meta2, err2 := ParseHeaderJSON(header, true)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("encoding/json error %v, simdjson error %v", err, err2)
		}
		if err == nil && (!reflect.DeepEqual(infos, infos2) || !reflect.DeepEqual(meta, meta2)) {
			t.Fatalf("paths disagree:\n%+v %v\n%+v %v", infos, meta, infos2, meta2)
		}
		if err != nil {
			sameError(t, err, err2)
		}
	})
}

func checkInfo(t *testing.T, info TensorInfo) {
	t.Helper()
	numel, ok := numElements(info.Shape)
	if !ok || info.Begin < 0 || info.End < info.Begin || uint64(info.End-info.Begin) != numel*uint64(info.DType.Size()) {
		t.Fatalf("accepted inconsistent info %+v", info)
	}
}

// checkFile verifies an accepted file's invariants and reads every tensor.
func checkFile(t *testing.T, f *File, size int) {
	t.Helper()
	var pos int64
	for _, name := range f.Names() {
		info, ok := f.Info(name)
		if !ok {
			t.Fatalf("Names lists %q but Info does not know it", name)
		}
		checkInfo(t, info)
		if info.Begin != pos {
			t.Fatalf("%q starts at %d, previous tensor ended at %d", name, info.Begin, pos)
		}
		pos = info.End
		b, _, err := f.Bytes(name)
		if err != nil || int64(len(b)) != info.End-info.Begin {
			t.Fatalf("Bytes(%q) = %d bytes, %v", name, len(b), err)
		}
		if info.DType.IsFloat() {
			v, _, err := f.Float32(name)
			if err != nil || len(v) != info.NumElements() {
				t.Fatalf("Float32(%q) = %d values, %v", name, len(v), err)
			}
		} else if v, _, err := f.Int64(name); err == nil && len(v) != info.NumElements() {
			t.Fatalf("Int64(%q) = %d values", name, len(v))
		}
	}
	if pos != int64(len(f.data)) || len(f.data) > size {
		t.Fatalf("tensors cover %d of %d data bytes", pos, len(f.data))
	}
}

func sameResult(t *testing.T, a *File, errA error, b *File, errB error) {
	t.Helper()
	if (errA == nil) != (errB == nil) {
		t.Fatalf("encoding/json error %v, simdjson error %v", errA, errB)
	}
	if errA != nil {
		sameError(t, errA, errB)
		return
	}
	if !reflect.DeepEqual(a.infos, b.infos) || !reflect.DeepEqual(a.Metadata, b.Metadata) || !slices.Equal(a.names, b.names) {
		t.Fatalf("paths disagree:\n%+v\n%+v", a.infos, b.infos)
	}
}

// sameError: both malformed-JSON errors, or identical messages.
func sameError(t *testing.T, a, b error) {
	t.Helper()
	var fa, fb *FormatError
	if !errors.As(a, &fa) || !errors.As(b, &fb) {
		t.Fatalf("errors %v (%T) and %v (%T) are not both *FormatError", a, a, b, b)
	}
	if fa.syntax != fb.syntax {
		t.Fatalf("only one path calls this malformed JSON:\nencoding/json: %v\nsimdjson:      %v", a, b)
	}
	if !fa.syntax && a.Error() != b.Error() {
		t.Fatalf("messages differ:\nencoding/json: %v\nsimdjson:      %v", a, b)
	}
}
