package firmware

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// SectionInfo describes one section as the table records it.
type SectionInfo struct {
	Name   string
	Offset int    // from the start of the file; a multiple of Align
	Length int    // bytes
	Align  int    // power of two, at least MinAlign
	CRC    uint32 // CRC32C (Castagnoli) of the section's bytes
}

// File is a checked .fw file. Its methods may be called from several
// goroutines at once, but not concurrently with Close.
type File struct {
	name  string
	data  []byte
	secs  []SectionInfo
	index map[string]int
	unmap func() error // nil for Parse and the read path
	done  bool
}

// Parse checks data as a .fw file and returns a File whose sections are
// slices of data (nothing is copied). name labels errors (usually the path).
// data must not change while the File is in use. All checks happen here:
// a File that Parse returns has sane header and table fields, sections in
// bounds, aligned, in order and not overlapping, zero padding, and correct
// CRCs. Parse allocates only in proportion to the section count, which the
// file's length bounds.
func Parse(data []byte, name string) (*File, error) {
	p := parser{file: name, data: data}
	f, err := p.parse()
	if err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	file string
	data []byte
}

func (p *parser) errf(part, section, format string, args ...any) error {
	return &FormatError{File: p.file, Part: part, Section: section, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) headerErr(format string, args ...any) error {
	return p.errf(PartHeader, "", format, args...)
}

func (p *parser) tableErr(format string, args ...any) error {
	return p.errf(PartTable, "", format, args...)
}

func (p *parser) sectionErr(name, format string, args ...any) error {
	return p.errf(sectionPart(name), name, format, args...)
}

// region is a stretch of the file after the section table, in file order:
// a section or the zero padding in front of one.
type region struct {
	start, end uint64
	part       string
	section    string // name for FormatError.Section
	sec        int    // index in secs, or -1 for padding
}

func (p *parser) parse() (*File, error) {
	d := p.data
	le := binary.LittleEndian
	size := uint64(len(d))

	// Identity first, so a stray file gets "not a firmware file", not a
	// CRC complaint.
	if len(d) < len(magic) {
		if bytes.HasPrefix(magic[:], d) {
			return nil, p.headerErr("truncated: file has %d bytes, the header needs %d", len(d), HeaderSize)
		}
		return nil, p.headerErr("not a mixedge firmware file (bad magic % x)", d)
	}
	if !bytes.Equal(d[:len(magic)], magic[:]) {
		return nil, p.headerErr("not a mixedge firmware file (magic is % x, want % x)", d[:len(magic)], magic)
	}
	if len(d) < offHeaderSize+4 {
		return nil, p.headerErr("truncated: file has %d bytes, the header needs %d", len(d), HeaderSize)
	}
	switch bom := le.Uint32(d[offByteOrder:]); bom {
	case byteOrderMark:
	case bigEndianMark:
		return nil, p.headerErr("file is big-endian; mixedge reads little-endian .fw files only")
	default:
		return nil, p.headerErr("corrupt byte-order mark %#08x (want %#08x)", bom, uint32(byteOrderMark))
	}
	hsize := uint64(le.Uint32(d[offHeaderSize:]))
	if hsize < HeaderSize || hsize > maxHeaderSize || hsize%4 != 0 {
		return nil, p.headerErr("implausible header size %d", hsize)
	}
	if size < hsize {
		return nil, p.headerErr("truncated: file has %d bytes, the header needs %d", size, hsize)
	}
	// The header CRC is the header's last 4 bytes in every version, so a
	// damaged version field reads as damage, not as a newer format.
	if got, want := checksum(d[:hsize-4]), le.Uint32(d[hsize-4:]); got != want {
		return nil, p.headerErr("CRC32C mismatch (stored %#08x, computed %#08x)", want, got)
	}
	switch v := le.Uint32(d[offVersion:]); {
	case v == 0:
		return nil, p.headerErr("invalid format version 0")
	case v > Version:
		return nil, p.headerErr("format version %d is newer than this reader (reads version %d); use a newer mixedge", v, Version)
	case v < Version:
		return nil, p.headerErr("format version %d is no longer supported (reads version %d)", v, Version)
	}
	if hsize != HeaderSize {
		return nil, p.headerErr("header size %d, version %d has %d", hsize, Version, HeaderSize)
	}
	if es := le.Uint32(d[offEntrySize:]); es != EntrySize {
		return nil, p.headerErr("section table entry size %d, version %d has %d", es, Version, EntrySize)
	}
	if fl := le.Uint32(d[offFlags:]); fl != 0 {
		return nil, p.headerErr("unknown flags %#x", fl)
	}
	if !allZero(d[offReserved:offHeaderCRC]) {
		return nil, p.headerErr("reserved bytes %d..%d are not zero", offReserved, offHeaderCRC-1)
	}
	count := uint64(le.Uint32(d[offCount:]))
	declared := le.Uint64(d[offFileSize:])
	tableEnd := HeaderSize + count*EntrySize // count < 2^32: no overflow
	if declared < tableEnd {
		return nil, p.headerErr("file size %d is less than the header and a %d-entry section table (%d bytes)", declared, count, tableEnd)
	}
	// Far beyond any real image; keeps later offset arithmetic away from
	// overflow.
	if declared > 1<<48 {
		return nil, p.headerErr("implausible file size %d", declared)
	}

	// Section table. Its length is now bounded by the data in hand, and so
	// is everything allocated below.
	if size < tableEnd {
		return nil, p.tableErr("truncated: the table needs bytes %d..%d, file has %d bytes", HeaderSize, tableEnd-1, size)
	}
	table := d[HeaderSize:tableEnd]
	if got, want := checksum(table), le.Uint32(d[offTableCRC:]); got != want {
		return nil, p.tableErr("CRC32C mismatch (stored %#08x, computed %#08x)", want, got)
	}
	f := &File{
		name:  p.file,
		data:  d,
		secs:  make([]SectionInfo, count),
		index: make(map[string]int, count),
	}
	regions := make([]region, 0, 2*count)
	prevEnd, prevName := tableEnd, ""
	for i := range f.secs {
		e := table[uint64(i)*EntrySize : uint64(i+1)*EntrySize]
		name, ok := entryName(e[entName : entName+MaxNameLen])
		if !ok {
			return nil, p.tableErr("entry %d: invalid section name %q", i, e[entName:entName+MaxNameLen])
		}
		if j, dup := f.index[name]; dup {
			return nil, p.tableErr("entry %d: duplicate section name %q (also entry %d)", i, name, j)
		}
		f.index[name] = i
		off, length := le.Uint64(e[entOffset:]), le.Uint64(e[entLength:])
		align := uint64(le.Uint32(e[entAlign:]))
		if fl := le.Uint32(e[entFlags:]); fl != 0 {
			return nil, p.sectionErr(name, "unknown flags %#x", fl)
		}
		if r := le.Uint32(e[entReserved:]); r != 0 {
			return nil, p.sectionErr(name, "reserved field is %#x, want 0", r)
		}
		if !validAlign(align) {
			return nil, p.sectionErr(name, "alignment %d is not a power of two in [%d, %d]", align, MinAlign, MaxAlign)
		}
		if off%align != 0 {
			return nil, p.sectionErr(name, "offset %d is not a multiple of its alignment %d", off, align)
		}
		if off < prevEnd {
			if prevName == "" {
				return nil, p.sectionErr(name, "offset %d overlaps the section table (ends at %d)", off, prevEnd)
			}
			return nil, p.sectionErr(name, "offset %d overlaps section %q (ends at %d)", off, prevName, prevEnd)
		}
		// One layout per content: padding is exactly what alignment needs,
		// so no byte of the file goes unchecked.
		if want := alignUp(prevEnd, align); off != want {
			return nil, p.sectionErr(name, "offset %d leaves a gap after %s (want offset %d)", off, prevLabel(prevName), want)
		}
		if off > declared || length > declared-off {
			return nil, p.sectionErr(name, "offset %d + length %d runs past the end of the file (%d bytes, per the header)", off, length, declared)
		}
		if off > prevEnd {
			regions = append(regions, region{prevEnd, off, paddingPart(prevName), prevName, -1})
		}
		regions = append(regions, region{off, off + length, sectionPart(name), name, i})
		f.secs[i] = SectionInfo{
			Name:   name,
			Offset: int(off), // off <= declared, and declared <= size is checked below
			Length: int(length),
			Align:  int(align),
			CRC:    le.Uint32(e[entCRC:]),
		}
		prevEnd, prevName = off+length, name
	}
	if prevEnd != declared {
		return nil, p.headerErr("file size is %d, but the sections end at %d", declared, prevEnd)
	}
	if size < declared {
		for _, r := range regions {
			if r.end > size {
				return nil, p.errf(r.part, r.section, "truncated: file has %d bytes, this part is bytes %d..%d (header says %d bytes)", size, r.start, r.end-1, declared)
			}
		}
	}
	if size > declared {
		return nil, p.errf(PartEOF, "", "%d unexpected bytes after the last section (file has %d bytes, header says %d)", size-declared, size, declared)
	}
	for _, r := range regions {
		b := d[r.start:r.end]
		if r.sec < 0 {
			if i := firstNonZero(b); i >= 0 {
				return nil, p.errf(r.part, r.section, "non-zero byte %#02x at file offset %d", b[i], r.start+uint64(i))
			}
			continue
		}
		if got, want := checksum(b), f.secs[r.sec].CRC; got != want {
			return nil, p.errf(r.part, r.section, "CRC32C mismatch over bytes %d..%d (stored %#08x, computed %#08x)", r.start, r.end-1, want, got)
		}
	}
	return f, nil
}

func prevLabel(name string) string {
	if name == "" {
		return "the section table"
	}
	return fmt.Sprintf("section %q", name)
}

// entryName decodes a NUL-padded name field; bytes after the first NUL
// must be zero, so the field has one spelling per name.
func entryName(b []byte) (string, bool) {
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		n = len(b)
	}
	if !allZero(b[n:]) {
		return "", false
	}
	s := string(b[:n])
	return s, validName(s)
}

func allZero(b []byte) bool { return firstNonZero(b) < 0 }

func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

// Name returns the path or name the File was opened with.
func (f *File) Name() string { return f.name }

// Size returns the file's length in bytes.
func (f *File) Size() int { return len(f.data) }

// Sections lists the sections in file order.
func (f *File) Sections() []SectionInfo {
	return append([]SectionInfo(nil), f.secs...)
}

// Has reports whether the file has a section called name.
func (f *File) Has(name string) bool {
	_, ok := f.index[name]
	return ok
}

// Section returns the named section's bytes in place: no copy is made.
// On Linux, after Open, the slice is read-only mapped memory: writing to it
// crashes the process, and using it after Close is invalid. The slice's
// capacity ends at the section, so append cannot run into the next one.
func (f *File) Section(name string) ([]byte, error) {
	if f.done {
		return nil, ErrClosed
	}
	i, ok := f.index[name]
	if !ok {
		return nil, fmt.Errorf("firmware: %s: section %q: %w", f.name, name, ErrNoSection)
	}
	s := f.secs[i]
	end := s.Offset + s.Length
	return f.data[s.Offset:end:end], nil
}

// Decoder returns a Decoder over the named section whose errors name the
// file and the section.
func (f *File) Decoder(name string) (*Decoder, error) {
	b, err := f.Section(name)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(b, sectionPart(name))
	d.file, d.section = f.name, name
	return d, nil
}

// Close releases the file (unmaps it after Open on Linux). Slices obtained
// from the File must not be used afterwards. Closing twice is harmless.
func (f *File) Close() error {
	if f.done {
		return nil
	}
	f.done = true
	f.data, f.secs, f.index = nil, nil, nil
	if f.unmap != nil {
		u := f.unmap
		f.unmap = nil
		if err := u(); err != nil {
			return fmt.Errorf("firmware: %s: %w", f.name, err)
		}
	}
	return nil
}
