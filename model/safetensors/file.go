package safetensors

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// File is a parsed safetensors file. Its methods may be called
// concurrently, except Close.
type File struct {
	Path     string
	Metadata map[string]string // nil when the header has no __metadata__

	infos  []TensorInfo   // header order
	byName map[string]int // name -> index into infos
	names  []string       // data-offset order
	data   []byte         // the data buffer; nil after Close
	closed bool
}

// Open reads and parses a whole file. It reads rather than mmaps: weights
// are converted to float32 copies right away anyway, and a mapping would
// turn a file truncated underneath us into a SIGBUS instead of an error.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, &FormatError{Path: path, Msg: fmt.Sprintf("not a regular file (mode %v)", st.Mode())}
	}
	size := st.Size()
	// Check the length prefix before reading what may be gigabytes of
	// something else.
	var prefix [8]byte
	if size >= 8 {
		if _, err := io.ReadFull(fh, prefix[:]); err != nil {
			return nil, fmt.Errorf("safetensors: %s: reading header length: %w", path, err)
		}
	}
	if _, err := headerLength(prefix[:], size, path); err != nil {
		return nil, err
	}
	if uint64(size) > math.MaxInt {
		return nil, &FormatError{Path: path, Msg: fmt.Sprintf("file is %d bytes, too large to read on this platform", size)}
	}
	data := make([]byte, size)
	copy(data, prefix[:])
	if _, err := io.ReadFull(fh, data[8:]); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading %d bytes: %w", path, size, err)
	}
	return Parse(data, path)
}

// headerLength validates the u64 length prefix against the total size.
func headerLength(prefix []byte, total int64, path string) (int64, error) {
	if total < 8 {
		return 0, &FormatError{Path: path, Msg: fmt.Sprintf("file is %d bytes, too short for the 8-byte header length", total)}
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n > MaxHeaderSize {
		return 0, &FormatError{Path: path, Msg: fmt.Sprintf("header length %d is more than the %d-byte limit", n, MaxHeaderSize)}
	}
	if n > uint64(total-8) {
		return 0, &FormatError{Path: path, Msg: fmt.Sprintf("header length %d is beyond the end of the file: only %d bytes follow the length", n, total-8)}
	}
	return int64(n), nil
}

// Parse parses a safetensors file held in data, which the File keeps
// referencing (do not modify it). path is only used in messages.
func Parse(data []byte, path string) (*File, error) {
	return parse(data, path, UseSIMDJSON && simdjsonSupported())
}

func parse(data []byte, path string, useSIMD bool) (*File, error) {
	var prefix []byte
	if len(data) >= 8 {
		prefix = data[:8]
	}
	n, err := headerLength(prefix, int64(len(data)), path)
	if err != nil {
		return nil, err
	}
	header := data[8 : 8+n]
	infos, meta, err := ParseHeaderJSON(header, useSIMD)
	if err != nil {
		return nil, withPath(err, path)
	}
	buf := data[8+n:]
	f := &File{
		Path:     path,
		Metadata: meta,
		infos:    infos,
		byName:   make(map[string]int, len(infos)),
		data:     buf,
	}
	for i, t := range infos {
		f.byName[t.Name] = i
	}
	order, err := checkLayout(infos, int64(len(buf)))
	if err != nil {
		return nil, withPath(err, path)
	}
	f.names = make([]string, len(order))
	for i, j := range order {
		f.names[i] = infos[j].Name
	}
	return f, nil
}

// checkLayout requires the tensors to tile the data buffer exactly, as
// upstream safetensors does: in offset order each begins where the
// previous ended, from 0 to the end of the buffer. It returns the indices
// of infos in that order.
func checkLayout(infos []TensorInfo, bufLen int64) ([]int, error) {
	for _, t := range infos {
		if t.End > bufLen {
			return nil, schemaError(t.Name, "data_offsets [%d, %d] out of range: the data buffer is %d bytes", t.Begin, t.End, bufLen)
		}
	}
	order := make([]int, len(infos))
	for i := range order {
		order[i] = i
	}
	// Empty tensors sort before a non-empty one at the same offset; ties
	// keep header order so Names is deterministic.
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(infos[a].Begin, infos[b].Begin); c != 0 {
			return c
		}
		return cmp.Compare(infos[a].End, infos[b].End)
	})
	var pos int64
	prev := -1
	for _, i := range order {
		t := infos[i]
		switch {
		case t.Begin < pos:
			p := infos[prev]
			return nil, schemaError(t.Name, "data_offsets [%d, %d] overlap tensor %s at [%d, %d]", t.Begin, t.End, quote(p.Name), p.Begin, p.End)
		case t.Begin > pos:
			return nil, schemaError(t.Name, "data_offsets [%d, %d] leave bytes [%d, %d) of the data buffer unused", t.Begin, t.End, pos, t.Begin)
		}
		pos = t.End
		prev = i
	}
	if pos != bufLen {
		return nil, &FormatError{Msg: fmt.Sprintf("the data buffer is %d bytes but the tensors cover only %d", bufLen, pos)}
	}
	return order, nil
}

// Names lists the tensor names in data-offset order.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len is the number of tensors.
func (f *File) Len() int { return len(f.infos) }

// Info returns the named tensor's description.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := f.infos[i]
	t.Shape = slices.Clone(t.Shape) // callers may not change ours
	return t, true
}

// Bytes returns the named tensor's raw little-endian bytes. They alias the
// file's buffer: read-only, and only valid until Close.
func (f *File) Bytes(name string) ([]byte, TensorInfo, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, t, fmt.Errorf("safetensors: %s: tensor %s: %w", f.Path, quote(name), ErrNotFound)
	}
	if f.closed {
		return nil, t, fmt.Errorf("safetensors: %s: tensor %s: file is closed", f.Path, quote(name))
	}
	return f.data[t.Begin:t.End:t.End], t, nil
}

// Float32 converts the named F32, F16, BF16 or F64 tensor to a new
// []float32 (F16 and BF16 exactly, F64 rounded to nearest) and returns it
// with its shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	b, t, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, t.NumElements())
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	default:
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %s: dtype %s is not a float type; Float32 reads F32, F16, BF16 and F64", f.Path, quote(name), t.DType)
	}
	return out, t.Shape, nil
}

// Int64 converts the named integer or BOOL tensor to a new []int64 and
// returns it with its shape. U64 values above MaxInt64 are an error.
func (f *File) Int64(name string) ([]int64, []int, error) {
	b, t, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]int64, t.NumElements())
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case U64:
		for i := range out {
			v := binary.LittleEndian.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, nil, fmt.Errorf("safetensors: %s: tensor %s: element %d = %d overflows int64", f.Path, quote(name), i, v)
			}
			out[i] = int64(v)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U8, BOOL:
		for i := range out {
			out[i] = int64(b[i])
		}
	default:
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %s: dtype %s is not an integer type; Int64 reads I64, I32, I16, I8, U64, U32, U16, U8 and BOOL", f.Path, quote(name), t.DType)
	}
	return out, t.Shape, nil
}

// Close releases the data buffer. The header stays readable (Names, Info);
// the data accessors return an error afterwards.
func (f *File) Close() error {
	f.data = nil
	f.closed = true
	return nil
}
