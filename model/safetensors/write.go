package safetensors

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Tensor is a tensor to write: Data holds its raw little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// F32Tensor builds an F32 tensor from v.
func F32Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// F16Tensor builds an F16 tensor from v, rounding to nearest even.
func F16Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], F32ToF16(x))
	}
	return Tensor{Name: name, DType: F16, Shape: slices.Clone(shape), Data: b}
}

// BF16Tensor builds a BF16 tensor from v, rounding to nearest even.
func BF16Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], F32ToBF16(x))
	}
	return Tensor{Name: name, DType: BF16, Shape: slices.Clone(shape), Data: b}
}

// I64Tensor builds an I64 tensor from v.
func I64Tensor(name string, shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, DType: I64, Shape: slices.Clone(shape), Data: b}
}

// Write writes tensors as a safetensors file, with data laid out and
// listed in the order given. Like upstream, the header is compact JSON
// padded with spaces to a multiple of 8 bytes, so the data is 8-aligned;
// metadata (keys sorted) comes first and is omitted when empty. It checks
// everything Parse would, so what it writes always reads back.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, err := buildHeader(tensors, metadata)
	if err != nil {
		return err
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write tensor %s: %w", quote(t.Name), err)
		}
	}
	return nil
}

func buildHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	h := []byte{'{'}
	if len(metadata) > 0 {
		h = append(h, `"__metadata__":{`...)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return nil, fmt.Errorf("safetensors: write: metadata %s: key and value must be valid UTF-8", quote(k))
			}
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
	}
	seen := make(map[string]bool, len(tensors))
	var off uint64
	for i, t := range tensors {
		if err := checkTensor(t, seen); err != nil {
			return nil, err
		}
		if len(metadata) > 0 || i > 0 {
			h = append(h, ',')
		}
		h = appendJSONString(h, t.Name)
		h = append(h, `:{"dtype":`...)
		h = appendJSONString(h, string(t.DType))
		h = append(h, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		end := off + uint64(len(t.Data))
		h = strconv.AppendUint(h, off, 10)
		h = append(h, ',')
		h = strconv.AppendUint(h, end, 10)
		h = append(h, "]}"...)
		off = end
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: write: header would be %d bytes, more than the %d-byte limit", len(h), MaxHeaderSize)
	}
	return h, nil
}

func checkTensor(t Tensor, seen map[string]bool) error {
	name := quote(t.Name)
	switch {
	case t.Name == "":
		return errors.New("safetensors: write: empty tensor name")
	case t.Name == "__metadata__":
		return errors.New(`safetensors: write: "__metadata__" is reserved and cannot name a tensor`)
	case !utf8.ValidString(t.Name):
		return fmt.Errorf("safetensors: write: tensor %s: name is not valid UTF-8", name)
	case seen[t.Name]:
		return fmt.Errorf("safetensors: write: tensor %s: duplicate name", name)
	case t.DType.Size() == 0:
		return fmt.Errorf("safetensors: write: tensor %s: unknown dtype %q, want one of %s", name, t.DType, knownDTypes)
	}
	seen[t.Name] = true
	for i, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("safetensors: write: tensor %s: shape[%d] = %d, must be non-negative", name, i, d)
		}
	}
	numel, ok := numElements(t.Shape)
	hi, need := bits.Mul64(numel, uint64(t.DType.Size()))
	if !ok || hi != 0 {
		return fmt.Errorf("safetensors: write: tensor %s: shape %v overflows", name, t.Shape)
	}
	if need != uint64(len(t.Data)) {
		return fmt.Errorf("safetensors: write: tensor %s: shape %v of %s needs %d bytes, got %d", name, t.Shape, t.DType, need, len(t.Data))
	}
	return nil
}

// appendJSONString quotes s the way upstream (serde_json) does: only '"',
// '\\' and control characters are escaped, so names stay readable and
// rewritten reference files are byte-identical.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// WriteFile writes tensors to path (see Write), removing the file again if
// writing fails.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if cerr := fh.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("safetensors: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(fh, 1<<20)
	if err := Write(bw, tensors, metadata); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return nil
}
