package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// eachJSONPath runs fn once per header parser, with UseSIMDJSON set to
// match. The simdjson run is skipped, saying why, where it cannot run.
func eachJSONPath(t *testing.T, fn func(t *testing.T, simd bool)) {
	t.Helper()
	for _, simd := range []bool{false, true} {
		name := "encoding-json"
		if simd {
			name = "simdjson"
		}
		t.Run(name, func(t *testing.T) {
			if simd {
				requireSIMD(t)
			}
			old := UseSIMDJSON
			UseSIMDJSON = simd
			t.Cleanup(func() { UseSIMDJSON = old })
			fn(t, simd)
		})
	}
}

func requireSIMD(t testing.TB) {
	t.Helper()
	if !SIMDJSONSupported() {
		t.Skipf("simdjson-go needs amd64 with AVX2 and CLMUL; this is %s without them, so only the encoding/json path runs", runtime.GOARCH)
	}
}

// rawFile assembles a file from a header taken verbatim and a data buffer.
func rawFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// sampleTensors covers the dtypes timm files use plus the edge shapes.
func sampleTensors() []Tensor {
	return []Tensor{
		I64Tensor("bn.num_batches_tracked", []int{}, []int64{20}),
		F32Tensor("conv.weight", []int{2, 1, 1, 3}, []float32{1, -2, 3.5, 0, 1e-40, 65504}),
		F16Tensor("bn.weight", []int{3}, []float32{1, 0.5, -0.25}),
		BF16Tensor("bn.bias", []int{2, 1}, []float32{-1, 256}),
		F32Tensor("empty", []int{0, 4}, nil),
	}
}

func sampleFile(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, sampleTensors(), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantFormatError checks err is a *FormatError whose message has every one
// of the fragments.
func wantFormatError(t *testing.T, err error, fragments ...string) *FormatError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", fragments)
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) is not a *FormatError", err, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
	return fe
}
