package firmware

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzParse feeds Parse arbitrary files. Mode bit 0 recomputes the header
// and table CRCs and bit 1 the section CRCs before parsing, so mutations
// reach the layout checks instead of stopping at a CRC. Properties: no
// panic; an error is a *FormatError with a part; an accepted file is
// canonical (rewriting its sections reproduces it byte for byte) and its
// sections decode without panicking.
func FuzzParse(f *testing.F) {
	valid := sampleFile(f)
	empty, _ := NewWriter().Bytes()
	one := NewWriter()
	one.AddAligned("w", []byte{1, 2, 3, 4, 5}, 4096)
	oneb, _ := one.Bytes()
	var e Encoder
	encodeAll(&e)
	encoded, _ := e.Bytes()
	enc := NewWriter()
	enc.Add("all", encoded)
	encb, _ := enc.Bytes()
	for _, seed := range [][]byte{valid, empty, oneb, encb} {
		for mode := range uint8(4) {
			f.Add(seed, mode)
		}
		f.Add(seed[:len(seed)/2], uint8(0))
		f.Add(seed[:len(seed)-1], uint8(1))
		flipped := bytes.Clone(seed)
		flipped[len(flipped)/3] ^= 0x40
		f.Add(flipped, uint8(0))
		f.Add(flipped, uint8(3))
	}
	f.Add([]byte{}, uint8(0))
	f.Add(magic[:], uint8(0))

	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		if mode&3 != 0 && len(data) >= len(magic) {
			data = bytes.Clone(data)
			copy(data, magic[:]) // without it the CRCs are never reached
			fixCRCs(data, mode&2 != 0)
		}
		file, err := Parse(data, "fuzz.fw")
		if err != nil {
			fe, ok := err.(*FormatError)
			if !ok || fe.Part == "" || fe.Msg == "" {
				t.Fatalf("error without a part: %#v", err)
			}
			return
		}
		w := NewWriter()
		for _, s := range file.Sections() {
			b, err := file.Section(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.AddAligned(s.Name, b, s.Align); err != nil {
				t.Fatalf("accepted file has a section the writer refuses: %v", err)
			}
			d, _ := file.Decoder(s.Name)
			decodeSome(d, b)
		}
		again, err := w.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical file: %d bytes, rewrite is %d", len(data), len(again))
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// decodeSome drives a Decoder with a sequence of reads chosen by the data
// itself and checks its invariants.
func decodeSome(d *Decoder, ops []byte) {
	for i := 0; i < len(ops) && i < 64; i++ {
		before := d.Offset()
		switch ops[i] % 15 {
		case 0:
			d.U8()
		case 1:
			d.U16()
		case 2:
			d.U32()
		case 3:
			d.U64()
		case 4:
			d.I32()
		case 5:
			d.F32()
		case 6:
			d.Str()
		case 7:
			d.Blob()
		case 8:
			d.Raw(int(ops[i] >> 4))
		case 9:
			d.Int8s()
		case 10:
			d.Int32s()
		case 11:
			d.Float32s()
		case 12:
			d.Align(1 << (ops[i] >> 5))
		case 13:
			d.Errorf("op %d", i)
		case 14:
			d.Finish()
		}
		if d.Offset() < before && d.Err() == nil || d.Offset() > len(d.buf) || d.Remaining() < 0 {
			panic(fmt.Sprintf("decoder offset %d (was %d) of %d", d.Offset(), before, len(d.buf)))
		}
	}
}

// FuzzDecoder runs arbitrary read sequences over arbitrary bytes.
func FuzzDecoder(f *testing.F) {
	var e Encoder
	encodeAll(&e)
	b, _ := e.Bytes()
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, b)
	f.Add([]byte{10, 11, 9, 6}, []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		d := NewDecoder(data, "fuzz")
		decodeSome(d, ops)
		if err := d.Finish(); err == nil && d.Remaining() != 0 {
			t.Fatal("Finish accepted unread bytes")
		}
	})
}
