package firmware

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// encodeAll writes one of everything, with the first value misaligning
// what follows so the padding paths run.
func encodeAll(e *Encoder) {
	e.U8(0xa5)
	e.U16(0xbeef)
	e.U32(0xdeadbeef)
	e.U64(0x0123456789abcdef)
	e.I32(-7)
	e.F32(-1.5)
	e.Str("tench, Tinca tinca — ü")
	e.Blob([]byte{1, 2, 3})
	e.Raw([]byte{9, 9})
	e.Int8s([]int8{-128, 0, 127})
	e.Int32s([]int32{math.MinInt32, -1, 0, 1, math.MaxInt32})
	e.U8(1)
	e.Float32s([]float32{0, -0.25, float32(math.Inf(1)), 3e38})
	e.Align(64)
	e.Int8s(nil)
	e.Int32s(nil)
	e.Str("")
}

func decodeAll(t *testing.T, d *Decoder) {
	t.Helper()
	if v := d.U8(); v != 0xa5 {
		t.Errorf("U8 %#x", v)
	}
	if v := d.U16(); v != 0xbeef {
		t.Errorf("U16 %#x", v)
	}
	if v := d.U32(); v != 0xdeadbeef {
		t.Errorf("U32 %#x", v)
	}
	if v := d.U64(); v != 0x0123456789abcdef {
		t.Errorf("U64 %#x", v)
	}
	if v := d.I32(); v != -7 {
		t.Errorf("I32 %d", v)
	}
	if v := d.F32(); v != -1.5 {
		t.Errorf("F32 %v", v)
	}
	if v := d.Str(); v != "tench, Tinca tinca — ü" {
		t.Errorf("Str %q", v)
	}
	if v := d.Blob(); !slices.Equal(v, []byte{1, 2, 3}) {
		t.Errorf("Blob %v", v)
	}
	if v := d.Raw(2); !slices.Equal(v, []byte{9, 9}) {
		t.Errorf("Raw %v", v)
	}
	if v := d.Int8s(); !slices.Equal(v, []int8{-128, 0, 127}) {
		t.Errorf("Int8s %v", v)
	}
	if v := d.Int32s(); !slices.Equal(v, []int32{math.MinInt32, -1, 0, 1, math.MaxInt32}) {
		t.Errorf("Int32s %v", v)
	}
	d.U8()
	if v := d.Float32s(); !slices.Equal(v, []float32{0, -0.25, float32(math.Inf(1)), 3e38}) {
		t.Errorf("Float32s %v", v)
	}
	d.Align(64)
	if d.Offset()%64 != 0 {
		t.Errorf("offset %d after Align(64)", d.Offset())
	}
	if v := d.Int8s(); v == nil || len(v) != 0 {
		t.Errorf("empty Int8s %v", v)
	}
	if v := d.Int32s(); v == nil || len(v) != 0 {
		t.Errorf("empty Int32s %v", v)
	}
	if v := d.Str(); v != "" {
		t.Errorf("empty Str %q", v)
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	var e Encoder
	encodeAll(&e)
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != len(b) {
		t.Errorf("Len %d, Bytes %d", e.Len(), len(b))
	}
	// Through a file: the usual path, sections 64-byte aligned in memory.
	w := NewWriter()
	if err := w.Add("all", b); err != nil {
		t.Fatal(err)
	}
	img, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(alignedCopy(img, 0), "x.fw")
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Decoder("all")
	if err != nil {
		t.Fatal(err)
	}
	decodeAll(t, d)
	if _, err := f.Decoder("none"); !errors.Is(err, ErrNoSection) {
		t.Errorf("Decoder of a missing section: %v", err)
	}
	// Misaligned in memory: the same values, via the copying fallback.
	decodeAll(t, NewDecoder(alignedCopy(b, 1), "odd"))
}

// alignedCopy copies b to an address that is skew bytes past a 64-byte
// boundary.
func alignedCopy(b []byte, skew int) []byte {
	buf := alignedBuf(len(b) + skew + 1)[skew:]
	copy(buf, b)
	return buf[:len(b)]
}

// TestViewsInPlace shows which views alias the section and which copy.
func TestViewsInPlace(t *testing.T) {
	var e Encoder
	e.Int8s([]int8{1, 2})
	e.Int32s([]int32{10, 20})
	e.Float32s([]float32{1.5})
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, skew := range []int{0, 1, 2, 3} {
		buf := alignedCopy(b, skew)
		d := NewDecoder(buf, "v")
		i8, i32, f32 := d.Int8s(), d.Int32s(), d.Float32s()
		if err := d.Finish(); err != nil {
			t.Fatal(err)
		}
		clear(buf)
		aligned := skew == 0 && hostLE
		if i8[0] != 0 {
			t.Errorf("skew %d: Int8s is a copy", skew)
		}
		if (i32[1] == 0) != aligned || (f32[0] == 0) != aligned {
			t.Errorf("skew %d: Int32s %v Float32s %v; want in place = %v", skew, i32, f32, aligned)
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		read func(d *Decoder)
		msg  string
	}{
		{"short u32", []byte{1, 2, 3, 4, 5, 6}, func(d *Decoder) { d.U32(); d.U32() }, "at offset 4: need 4 bytes for a u32, have 2"},
		{"short u8", nil, func(d *Decoder) { d.U8() }, "at offset 0: need 1 bytes for a u8, have 0"},
		{"short u64", make([]byte, 7), func(d *Decoder) { d.U64() }, "at offset 0: need 8 bytes for a u64, have 7"},
		{"short u16", []byte{1}, func(d *Decoder) { d.U16() }, "at offset 0: need 2 bytes for a u16, have 1"},
		{"huge count", []byte{0xff, 0xff, 0xff, 0xff, 0}, func(d *Decoder) { d.Int32s() }, "at offset 4: need 17179869180 bytes for []int32 data, have 1"},
		{"huge float count", []byte{0xff, 0xff, 0xff, 0xff}, func(d *Decoder) { d.Float32s() }, "at offset 4: need 17179869180 bytes for []float32 data, have 0"},
		{"short int8s", []byte{3, 0, 0, 0, 1}, func(d *Decoder) { d.Int8s() }, "at offset 4: need 3 bytes for []int8 data, have 1"},
		{"short blob", []byte{3, 0, 0, 0, 1}, func(d *Decoder) { d.Blob() }, "at offset 4: need 3 bytes for a blob, have 1"},
		{"short string", []byte{3, 0, 0, 0, 'a'}, func(d *Decoder) { d.Str() }, "at offset 4: need 3 bytes for a string, have 1"},
		{"bad utf-8", []byte{1, 0, 0, 0, 0xff}, func(d *Decoder) { d.Str() }, "at offset 0: string of 1 bytes is not valid UTF-8"},
		{"bad padding", []byte{1, 0, 7, 0, 0, 0, 0, 0}, func(d *Decoder) { d.U8(); d.Int32s() }, "at offset 2: padding byte is 0x07, want 0"},
		{"short padding", []byte{1, 0}, func(d *Decoder) { d.U8(); d.Align(4) }, "at offset 1: need 3 bytes for padding to 4, have 1"},
		{"bad align", []byte{1}, func(d *Decoder) { d.Align(3) }, "at offset 0: alignment 3 is not a power of two"},
		{"negative raw", []byte{1}, func(d *Decoder) { d.Raw(-1) }, "at offset 0: negative length -1"},
		{"unread", []byte{1, 2, 3}, func(d *Decoder) { d.U8() }, "at offset 1: 2 unread bytes at the end"},
		{"semantic", []byte{9, 0, 0, 0}, func(d *Decoder) {
			if k := d.U32(); k != 3 {
				d.Errorf("kernel size %d not supported", k)
			}
		}, "at offset 4: kernel size 9 not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(c.data, `section "ops"`)
			d.file = "m.fw"
			c.read(d)
			err := d.Finish()
			if err == nil {
				t.Fatal("no error")
			}
			want := `firmware: m.fw: section "ops": ` + c.msg
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("got  %q\nwant %q", err, want)
			}
		})
	}
}

// TestDecoderSticky: after the first error every read returns zero and the
// error stays the first one.
func TestDecoderSticky(t *testing.T) {
	d := NewDecoder([]byte{1, 2}, "s")
	d.U32()
	first := d.Err()
	if first == nil {
		t.Fatal("no error")
	}
	if d.U8() != 0 || d.U16() != 0 || d.U64() != 0 || d.Str() != "" || d.Blob() != nil || d.Int8s() != nil ||
		d.Int32s() != nil || d.Float32s() != nil || d.Raw(1) != nil || d.F32() != 0 || d.I32() != 0 {
		t.Error("read after error returned data")
	}
	d.Align(2)
	d.Errorf("later")
	if d.Err() != first || d.Finish() != first || d.Offset() != 0 || d.Remaining() != 2 {
		t.Errorf("error changed to %v, offset %d", d.Err(), d.Offset())
	}
	var fe *FormatError
	if !errors.As(first, &fe) || fe.Part != "s" {
		t.Errorf("not a FormatError naming the part: %v", first)
	}
}

func TestEncoderErrors(t *testing.T) {
	var e Encoder
	e.U8(1)
	e.Str("\xff")
	e.U32(5)
	e.Align(8)
	if _, err := e.Bytes(); err == nil || !strings.Contains(err.Error(), "at offset 1: string") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if e.Len() != 1 {
		t.Errorf("wrote %d bytes after the error, want the 1 before it", e.Len())
	}
	var a Encoder
	a.Align(12)
	if a.Err() == nil || !strings.Contains(a.Err().Error(), "alignment 12") {
		t.Errorf("bad alignment: %v", a.Err())
	}
}
