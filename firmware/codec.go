package firmware

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Encoder appends little-endian values to a section's bytes. The zero value
// is ready to use. The first error is kept and later calls do nothing; check
// it once with Bytes or Err.
//
// Offsets and alignment are relative to the start of the section. Sections
// start at least 64-byte aligned in the file and in memory, so Align(n) with
// n <= 64 also aligns in memory.
type Encoder struct {
	buf []byte
	err error
}

func (e *Encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("firmware: encoder: at offset %d: %s", len(e.buf), fmt.Sprintf(format, args...))
	}
}

// U8 appends one byte.
func (e *Encoder) U8(v uint8) {
	if e.err == nil {
		e.buf = append(e.buf, v)
	}
}

// U16 appends v in 2 bytes.
func (e *Encoder) U16(v uint16) {
	if e.err == nil {
		e.buf = binary.LittleEndian.AppendUint16(e.buf, v)
	}
}

// U32 appends v in 4 bytes.
func (e *Encoder) U32(v uint32) {
	if e.err == nil {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
	}
}

// U64 appends v in 8 bytes.
func (e *Encoder) U64(v uint64) {
	if e.err == nil {
		e.buf = binary.LittleEndian.AppendUint64(e.buf, v)
	}
}

// I32 appends v in 4 bytes, two's complement.
func (e *Encoder) I32(v int32) { e.U32(uint32(v)) }

// F32 appends v's IEEE-754 bits in 4 bytes.
func (e *Encoder) F32(v float32) { e.U32(math.Float32bits(v)) }

// count appends a u32 element count.
func (e *Encoder) count(n int, what string) bool {
	if e.err != nil {
		return false
	}
	if uint64(n) > math.MaxUint32 {
		e.fail("%s of %d elements is too long for a u32 count", what, n)
		return false
	}
	e.U32(uint32(n))
	return true
}

// Str appends a u32 byte length and the bytes of s, which must be UTF-8.
// (Not "String": that name would make the type a fmt.Stringer.)
func (e *Encoder) Str(s string) {
	if e.err == nil && !utf8.ValidString(s) {
		e.fail("string %q is not valid UTF-8", s)
	}
	if e.count(len(s), "string") {
		e.buf = append(e.buf, s...)
	}
}

// Blob appends a u32 length and the bytes of b.
func (e *Encoder) Blob(b []byte) {
	if e.count(len(b), "blob") {
		e.buf = append(e.buf, b...)
	}
}

// Raw appends b with no length.
func (e *Encoder) Raw(b []byte) {
	if e.err == nil {
		e.buf = append(e.buf, b...)
	}
}

// Int8s appends a u32 count and the values, one byte each.
func (e *Encoder) Int8s(v []int8) {
	if e.count(len(v), "[]int8") {
		for _, x := range v {
			e.buf = append(e.buf, byte(x))
		}
	}
}

// Int32s pads to a multiple of 4, then appends a u32 count and the values,
// 4 bytes each, so a Decoder can view them in place.
func (e *Encoder) Int32s(v []int32) {
	e.Align(4)
	if e.count(len(v), "[]int32") {
		for _, x := range v {
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(x))
		}
	}
}

// Float32s is Int32s for float32 values (IEEE-754 bits).
func (e *Encoder) Float32s(v []float32) {
	e.Align(4)
	if e.count(len(v), "[]float32") {
		for _, x := range v {
			e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(x))
		}
	}
}

// Align appends zero bytes up to a multiple of n, a power of two from 1 to
// MaxAlign.
func (e *Encoder) Align(n int) {
	if e.err != nil {
		return
	}
	if n < 1 || n > MaxAlign || n&(n-1) != 0 {
		e.fail("alignment %d is not a power of two in [1, %d]", n, MaxAlign)
		return
	}
	for len(e.buf)%n != 0 {
		e.buf = append(e.buf, 0)
	}
}

// Len returns the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Err returns the first error, if any.
func (e *Encoder) Err() error { return e.err }

// Bytes returns the encoded bytes, or the first error.
func (e *Encoder) Bytes() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.buf, nil
}

// Decoder reads little-endian values from a section's bytes. It never
// panics: the first error (short data, bad padding, bad UTF-8, or one set
// with Errorf) is kept, later reads return zero values, and Err or Finish
// report it as a *FormatError naming the section and the offset within it.
//
// Slices it returns (Blob, Raw, Int8s, and Int32s/Float32s when aligned)
// alias the section's bytes: read-only, valid until the File is closed.
type Decoder struct {
	buf     []byte
	off     int
	file    string
	part    string
	section string
	err     error
}

// NewDecoder returns a Decoder over b; part labels its errors (e.g.
// `section "ops"`). File.Decoder is the usual way to get one.
func NewDecoder(b []byte, part string) *Decoder {
	return &Decoder{buf: b, part: part}
}

// Errorf records a content error at the current offset, unless an error is
// already recorded, and returns the recorded error. The model layer uses it
// for semantic checks ("kernel size 9 not supported") so they carry the
// same context as short reads.
func (d *Decoder) Errorf(format string, args ...any) error {
	if d.err == nil {
		d.err = &FormatError{
			File:    d.file,
			Part:    d.part,
			Section: d.section,
			Msg:     fmt.Sprintf("at offset %d: %s", d.off, fmt.Sprintf(format, args...)),
		}
	}
	return d.err
}

// take returns the next n bytes, or nil after recording an error.
func (d *Decoder) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if have := uint64(len(d.buf) - d.off); n > have {
		d.Errorf("need %d bytes for %s, have %d", n, what, have)
		return nil
	}
	b := d.buf[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	if b := d.take(1, "a u8"); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads 2 bytes.
func (d *Decoder) U16() uint16 {
	if b := d.take(2, "a u16"); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

// U32 reads 4 bytes.
func (d *Decoder) U32() uint32 {
	if b := d.take(4, "a u32"); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// U64 reads 8 bytes.
func (d *Decoder) U64() uint64 {
	if b := d.take(8, "a u64"); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// I32 reads a two's complement int32.
func (d *Decoder) I32() int32 { return int32(d.U32()) }

// F32 reads an IEEE-754 float32.
func (d *Decoder) F32() float32 { return math.Float32frombits(d.U32()) }

// Str reads a u32 length and that many bytes of UTF-8, copied.
func (d *Decoder) Str() string {
	start := d.off
	n := d.U32()
	b := d.take(uint64(n), "a string")
	if d.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		d.off = start
		d.Errorf("string of %d bytes is not valid UTF-8", n)
		return ""
	}
	return string(b)
}

// Blob reads a u32 length and that many bytes, in place.
func (d *Decoder) Blob() []byte {
	n := d.U32()
	return d.take(uint64(n), "a blob")
}

// Raw reads n bytes, in place.
func (d *Decoder) Raw(n int) []byte {
	if n < 0 {
		d.Errorf("negative length %d", n)
		return nil
	}
	return d.take(uint64(n), "raw bytes")
}

// Int8s reads a u32 count and that many int8s, in place.
func (d *Decoder) Int8s() []int8 {
	n := d.U32()
	b := d.take(uint64(n), "[]int8 data")
	if d.err != nil {
		return nil
	}
	return int8View(b)
}

// Int32s skips padding to a multiple of 4, reads a u32 count and that many
// int32s. The result aliases the section when it is 4-byte aligned in
// memory (always after Open, and after Parse of a 4-aligned buffer) on a
// little-endian host; otherwise it is a copy. Treat it as read-only either
// way.
func (d *Decoder) Int32s() []int32 {
	d.Align(4)
	n := d.U32()
	b := d.take(4*uint64(n), "[]int32 data")
	if d.err != nil {
		return nil
	}
	return int32View(b)
}

// Float32s is Int32s for float32 values.
func (d *Decoder) Float32s() []float32 {
	d.Align(4)
	n := d.U32()
	b := d.take(4*uint64(n), "[]float32 data")
	if d.err != nil {
		return nil
	}
	return float32View(b)
}

// Align skips the zero padding Encoder.Align(n) wrote; non-zero padding is
// an error.
func (d *Decoder) Align(n int) {
	if d.err != nil {
		return
	}
	if n < 1 || n > MaxAlign || n&(n-1) != 0 {
		d.Errorf("alignment %d is not a power of two in [1, %d]", n, MaxAlign)
		return
	}
	pad := (n - d.off%n) % n
	start := d.off
	b := d.take(uint64(pad), fmt.Sprintf("padding to %d", n))
	if i := firstNonZero(b); i >= 0 {
		d.off = start + i
		d.Errorf("padding byte is %#02x, want 0", b[i])
	}
}

// Offset returns the number of bytes read so far.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns the number of bytes not yet read.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Err returns the first error, if any.
func (d *Decoder) Err() error { return d.err }

// Finish returns the first error, or an error if bytes remain unread: a
// section must be consumed exactly.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.Errorf("%d unread bytes at the end", len(d.buf)-d.off)
	}
	return d.err
}
