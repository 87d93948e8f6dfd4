package firmware

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testSection is one section of the sample file.
type testSection struct {
	name  string
	size  int
	align int
}

// sampleSections covers the layout cases: odd sizes, an empty section,
// one needing more than the default alignment, and no padding (a section
// ending on a 64-byte boundary).
var sampleSections = []testSection{
	{"arch", 37, 64},
	{"empty", 0, 64},
	{"labels", 300, 64},
	{"weights", 1500, 256},
	{"exact", 128, 64},
	{"quant.v1", 130, 64},
}

// fill returns n deterministic bytes, none of them zero, so a zero padding
// byte can never be mistaken for section data.
func fill(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x%255) + 1
	}
	return b
}

func sampleWriter(t testing.TB) (*Writer, map[string][]byte) {
	t.Helper()
	w := NewWriter()
	want := make(map[string][]byte)
	for i, s := range sampleSections {
		data := fill(i, s.size)
		want[s.name] = data
		if err := w.AddAligned(s.name, data, s.align); err != nil {
			t.Fatal(err)
		}
	}
	return w, want
}

func sampleFile(t testing.TB) []byte {
	t.Helper()
	w, _ := sampleWriter(t)
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// partAt names the region holding byte i of a valid file, from the parsed
// table; it is what an error about that byte must name.
func partAt(secs []SectionInfo, i int) string {
	tableEnd := HeaderSize + len(secs)*EntrySize
	switch {
	case i < HeaderSize:
		return PartHeader
	case i < tableEnd:
		return PartTable
	}
	prev := ""
	for _, s := range secs {
		if i < s.Offset {
			return paddingPart(prev)
		}
		if i < s.Offset+s.Length {
			return sectionPart(s.Name)
		}
		prev = s.Name
	}
	return PartEOF
}

func formatErr(t *testing.T, err error) *FormatError {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FormatError", err, err)
	}
	return fe
}

func TestRoundTrip(t *testing.T) {
	w, want := sampleWriter(t)
	data, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var streamed bytes.Buffer
	n, err := w.WriteTo(&streamed)
	if err != nil || n != int64(len(data)) || !bytes.Equal(streamed.Bytes(), data) {
		t.Fatalf("WriteTo gave %d bytes, err %v; differs from Bytes (%d bytes)", n, err, len(data))
	}
	f, err := Parse(data, "sample.fw")
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections()
	if len(secs) != len(sampleSections) {
		t.Fatalf("got %d sections, want %d", len(secs), len(sampleSections))
	}
	for i, s := range secs {
		ts := sampleSections[i]
		if s.Name != ts.name || s.Length != ts.size || s.Align != ts.align || s.Offset%ts.align != 0 {
			t.Errorf("section %d = %+v, want name %q length %d align %d", i, s, ts.name, ts.size, ts.align)
		}
		got, err := f.Section(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[s.Name]) {
			t.Errorf("section %q content differs", s.Name)
		}
		if cap(got) != len(got) {
			t.Errorf("section %q: cap %d > len %d lets append overwrite the next section", s.Name, cap(got), len(got))
		}
		if len(got) > 0 && &got[0] != &data[s.Offset] {
			t.Errorf("section %q is a copy, want a slice of the input", s.Name)
		}
	}
	if !f.Has("weights") || f.Has("nope") {
		t.Error("Has is wrong")
	}
	if _, err := f.Section("nope"); !errors.Is(err, ErrNoSection) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing section: got %v, want ErrNoSection naming it", err)
	}
	if f.Size() != len(data) || f.Name() != "sample.fw" {
		t.Errorf("Size %d Name %q", f.Size(), f.Name())
	}
}

func TestEmptyFile(t *testing.T) {
	data, err := NewWriter().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != HeaderSize {
		t.Fatalf("empty image is %d bytes, want %d", len(data), HeaderSize)
	}
	f, err := Parse(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sections()) != 0 {
		t.Errorf("got sections %v", f.Sections())
	}
}

// TestEveryFlipNamed flips every bit, and every whole byte, of the sample
// file and checks that each damaged file is refused with an error naming
// the region the byte belongs to.
func TestEveryFlipNamed(t *testing.T) {
	data := sampleFile(t)
	f, err := Parse(data, "")
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections()
	bad := make([]byte, len(data))
	seen := make(map[string]int)
	for i := range data {
		want := partAt(secs, i)
		for _, mask := range []byte{1, 2, 4, 8, 16, 32, 64, 128, 0xff} {
			copy(bad, data)
			bad[i] ^= mask
			_, err := Parse(bad, "bad.fw")
			if err == nil {
				t.Fatalf("byte %d ^ %#02x (%s): accepted", i, mask, want)
			}
			fe := formatErr(t, err)
			if fe.Part != want {
				t.Fatalf("byte %d ^ %#02x: error names %q, want %q: %v", i, mask, fe.Part, want, err)
			}
			if fe.File != "bad.fw" {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
		seen[want]++
	}
	// The sample must exercise every kind of region, or the test proves
	// less than it claims.
	for _, p := range []string{PartHeader, PartTable, paddingPart(""), paddingPart("arch"), sectionPart("weights")} {
		if seen[p] == 0 {
			t.Errorf("sample file has no bytes in %s", p)
		}
	}
}

// TestEveryTruncation cuts the sample file at every length.
func TestEveryTruncation(t *testing.T) {
	data := sampleFile(t)
	f, err := Parse(data, "")
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections()
	for n := range len(data) {
		_, err := Parse(data[:n], "cut.fw")
		if err == nil {
			t.Fatalf("cut at %d: accepted", n)
		}
		fe := formatErr(t, err)
		if !strings.Contains(fe.Msg, "truncated") {
			t.Fatalf("cut at %d: error does not say truncated: %v", n, err)
		}
		if want := partAt(secs, n); fe.Part != want {
			t.Fatalf("cut at %d: error names %q, want %q (the part holding the first missing byte): %v", n, fe.Part, want, err)
		}
	}
	_, err = Parse(append(bytes.Clone(data), 0), "long.fw")
	if fe := formatErr(t, err); fe.Part != PartEOF {
		t.Errorf("appended byte: %v", err)
	}
}

// fixCRCs recomputes every CRC from whatever the fields say, so a test or
// the fuzzer can reach the checks behind them. It tolerates any input.
func fixCRCs(d []byte, sections bool) {
	le := binary.LittleEndian
	if len(d) < HeaderSize {
		return
	}
	count := uint64(le.Uint32(d[offCount:]))
	tableEnd := HeaderSize + count*EntrySize
	if tableEnd <= uint64(len(d)) {
		table := d[HeaderSize:tableEnd]
		if sections {
			for i := uint64(0); i < count; i++ {
				e := table[i*EntrySize:]
				off, n := le.Uint64(e[entOffset:]), le.Uint64(e[entLength:])
				if off <= uint64(len(d)) && n <= uint64(len(d))-off {
					le.PutUint32(e[entCRC:], checksum(d[off:off+n]))
				}
			}
		}
		le.PutUint32(d[offTableCRC:], checksum(table))
	}
	le.PutUint32(d[offHeaderCRC:], checksum(d[:offHeaderCRC]))
}

func entry(d []byte, i int) []byte { return d[HeaderSize+i*EntrySize:][:EntrySize] }

func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	base := sampleFile(t)
	f, err := Parse(base, "")
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections()
	cases := []struct {
		name string
		edit func(d []byte) []byte // returns the file to parse; CRCs are fixed after
		part string
		msg  string
	}{
		{"wrong magic", func(d []byte) []byte { return append([]byte("PK\x03\x04"), d[4:]...) }, PartHeader, "not a mixedge firmware file"},
		{"short junk", func(d []byte) []byte { return []byte("hi") }, PartHeader, "not a mixedge firmware file"},
		{"future version", func(d []byte) []byte { le.PutUint32(d[offVersion:], Version+1); return d }, PartHeader, "newer than this reader"},
		{"version 0", func(d []byte) []byte { le.PutUint32(d[offVersion:], 0); return d }, PartHeader, "invalid format version 0"},
		{"big-endian", func(d []byte) []byte { binary.BigEndian.PutUint32(d[offByteOrder:], byteOrderMark); return d }, PartHeader, "big-endian"},
		{"bad byte-order mark", func(d []byte) []byte { le.PutUint32(d[offByteOrder:], 7); return d }, PartHeader, "byte-order mark"},
		{"header size", func(d []byte) []byte { le.PutUint32(d[offHeaderSize:], 63); return d }, PartHeader, "implausible header size"},
		{"entry size", func(d []byte) []byte { le.PutUint32(d[offEntrySize:], 64); return d }, PartHeader, "entry size 64"},
		{"header flags", func(d []byte) []byte { le.PutUint32(d[offFlags:], 1); return d }, PartHeader, "unknown flags"},
		{"header reserved", func(d []byte) []byte { d[offReserved+3] = 1; return d }, PartHeader, "reserved"},
		{"file size short", func(d []byte) []byte { le.PutUint64(d[offFileSize:], 100); return d }, PartHeader, "less than the header"},
		{"file size huge", func(d []byte) []byte { le.PutUint64(d[offFileSize:], 1<<60); return d }, PartHeader, "implausible file size"},
		{"file size off", func(d []byte) []byte { le.PutUint64(d[offFileSize:], uint64(len(d)+64)); return d }, PartHeader, "sections end at"},
		{"count beyond file", func(d []byte) []byte { le.PutUint32(d[offCount:], 1<<30); return d }, PartHeader, "less than the header"},
		{"table past data", func(d []byte) []byte {
			le.PutUint32(d[offCount:], 1000)
			le.PutUint64(d[offFileSize:], HeaderSize+1000*EntrySize)
			return d
		}, PartTable, "truncated"},
		{"duplicate name", func(d []byte) []byte { copy(entry(d, 2)[entName:], "empty\x00"); return d }, PartTable, `duplicate section name "empty"`},
		{"empty name", func(d []byte) []byte { clear(entry(d, 1)[entName : entName+MaxNameLen]); return d }, PartTable, "invalid section name"},
		{"name with junk after NUL", func(d []byte) []byte { entry(d, 1)[entName+10] = 'x'; return d }, PartTable, "invalid section name"},
		{"name with space", func(d []byte) []byte { entry(d, 1)[entName] = ' '; return d }, PartTable, "invalid section name"},
		{"misaligned offset", func(d []byte) []byte {
			e := entry(d, 2)
			le.PutUint64(e[entOffset:], le.Uint64(e[entOffset:])+4)
			return d
		}, sectionPart("labels"), "not a multiple of its alignment 64"},
		{"overlap", func(d []byte) []byte {
			le.PutUint64(entry(d, 2)[entOffset:], uint64(secs[0].Offset))
			return d
		}, sectionPart("labels"), `overlaps section "empty"`},
		{"overlap table", func(d []byte) []byte {
			le.PutUint64(entry(d, 0)[entOffset:], HeaderSize)
			return d
		}, sectionPart("arch"), "overlaps the section table"},
		{"gap", func(d []byte) []byte {
			e := entry(d, 2)
			le.PutUint64(e[entOffset:], le.Uint64(e[entOffset:])+64)
			return d
		}, sectionPart("labels"), "leaves a gap"},
		{"beyond EOF", func(d []byte) []byte {
			le.PutUint64(entry(d, len(secs)-1)[entLength:], 1<<40)
			return d
		}, sectionPart("quant.v1"), "runs past the end of the file"},
		{"offset beyond EOF", func(d []byte) []byte {
			le.PutUint64(entry(d, len(secs)-1)[entOffset:], 1<<40)
			return d
		}, sectionPart("quant.v1"), "leaves a gap"},
		{"alignment not power of two", func(d []byte) []byte { le.PutUint32(entry(d, 0)[entAlign:], 96); return d }, sectionPart("arch"), "alignment 96"},
		{"alignment too small", func(d []byte) []byte { le.PutUint32(entry(d, 0)[entAlign:], 16); return d }, sectionPart("arch"), "alignment 16"},
		{"section flags", func(d []byte) []byte { le.PutUint32(entry(d, 0)[entFlags:], 2); return d }, sectionPart("arch"), "unknown flags"},
		{"section reserved", func(d []byte) []byte { le.PutUint32(entry(d, 0)[entReserved:], 2); return d }, sectionPart("arch"), "reserved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.edit(bytes.Clone(base))
			if len(d) >= len(magic) && bytes.Equal(d[:len(magic)], magic[:]) {
				fixCRCs(d, false)
			}
			_, err := Parse(d, "m.fw")
			if err == nil {
				t.Fatal("accepted")
			}
			fe := formatErr(t, err)
			if fe.Part != c.part || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("got %v\nwant part %q and message containing %q", err, c.part, c.msg)
			}
		})
	}
}

func TestWriterRejects(t *testing.T) {
	w := NewWriter()
	for _, name := range []string{"", "seventeen-chars-x", "a b", "é", "a\x00"} {
		if err := w.Add(name, nil); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if err := w.Add("ok", nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("ok", nil); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate: %v", err)
	}
	for _, a := range []int{0, -64, 32, 96, MaxAlign * 2} {
		if err := w.AddAligned("x", nil, a); err == nil {
			t.Errorf("alignment %d accepted", a)
		}
	}
	if err := w.AddAligned("sixteen-chars-ok", nil, MaxAlign); err != nil {
		t.Errorf("longest name and largest alignment: %v", err)
	}
}

func writeSample(t *testing.T) (string, []byte) {
	t.Helper()
	w, _ := sampleWriter(t)
	path := filepath.Join(t.TempDir(), "model.fw")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	want, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return path, want
}

func TestWriteFile(t *testing.T) {
	path, want := writeSample(t)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("file on disk differs from Bytes")
	}
	// Overwrite with a different image: the rename replaces it whole.
	w := NewWriter()
	if err := w.Add("other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s := f.Sections(); len(s) != 1 || s[0].Name != "other" {
		t.Errorf("after overwrite: %v", s)
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("temp files left behind: %v", ents)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644", st.Mode().Perm())
		}
	}
	if err := w.WriteFile(filepath.Join(path, "sub", "x.fw")); err == nil {
		t.Error("writing under a file: no error")
	}
}

// TestOpenPaths checks that the platform path (mmap on Linux) and the
// portable read path see the same file, aligned the same way.
func TestOpenPaths(t *testing.T) {
	path, want := writeSample(t)
	ref, err := Parse(want, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name string
		open func(string) (*File, error)
	}{{"Open", Open}, {"openRead", openRead}} {
		t.Run(p.name, func(t *testing.T) {
			f, err := p.open(path)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(f.Sections()) != fmt.Sprint(ref.Sections()) || f.Size() != len(want) {
				t.Fatalf("sections %v, want %v", f.Sections(), ref.Sections())
			}
			for _, s := range ref.Sections() {
				got, err := f.Section(s.Name)
				if err != nil {
					t.Fatal(err)
				}
				exp, _ := ref.Section(s.Name)
				if !bytes.Equal(got, exp) {
					t.Errorf("section %q differs", s.Name)
				}
				if len(got) > 0 && addr(got)%MinAlign != 0 {
					t.Errorf("section %q at address %#x, not %d-aligned", s.Name, addr(got), MinAlign)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Section("arch"); !errors.Is(err, ErrClosed) {
				t.Errorf("Section after Close: %v, want ErrClosed", err)
			}
			if _, err := f.Decoder("arch"); !errors.Is(err, ErrClosed) {
				t.Errorf("Decoder after Close: %v, want ErrClosed", err)
			}
			if f.Has("arch") || len(f.Sections()) != 0 {
				t.Error("closed file still lists sections")
			}
			if err := f.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestOpenBadFiles(t *testing.T) {
	dir := t.TempDir()
	data := sampleFile(t)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		path string
		part string
		msg  string
	}{
		{write("empty.fw", nil), PartHeader, "truncated"},
		{write("cut.fw", data[:len(data)-1]), sectionPart("quant.v1"), "truncated"},
		{write("flip.fw", flipped), sectionPart("quant.v1"), "CRC32C mismatch"},
	}
	for _, open := range []func(string) (*File, error){Open, openRead} {
		for _, c := range cases {
			_, err := open(c.path)
			if err == nil {
				t.Fatalf("%s: accepted", c.path)
			}
			fe := formatErr(t, err)
			if fe.Part != c.part || !strings.Contains(fe.Msg, c.msg) || fe.File != c.path {
				t.Errorf("%s: got %v, want %s: %s", c.path, err, c.part, c.msg)
			}
		}
		if _, err := open(filepath.Join(dir, "missing.fw")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
		if _, err := open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("directory: %v", err)
		}
	}
}

func TestFormatErrorText(t *testing.T) {
	d := sampleFile(t)
	d[len(d)-1] ^= 1
	_, err := Parse(d, "m.fw")
	got := err.Error()
	if !strings.HasPrefix(got, `firmware: m.fw: section "quant.v1": CRC32C mismatch over bytes `) {
		t.Errorf("error text %q", got)
	}
}
