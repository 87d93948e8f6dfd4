package firmware

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// Layout constants of format version 1. docs/FIRMWARE.md is the
// authoritative description; keep the two in step.
const (
	// Version is the container format version this package writes and the
	// only one it reads.
	Version = 1

	// HeaderSize is the size of the fixed header in version 1.
	HeaderSize = 64
	// EntrySize is the size of one section table entry in version 1.
	EntrySize = 48
	// MaxNameLen is the longest section name (the name field's width).
	MaxNameLen = 16
	// MinAlign is the alignment of every section; AddAligned may ask for
	// more.
	MinAlign = 64
	// MaxAlign bounds section alignment, so padding stays small.
	MaxAlign = 1 << 16

	// byteOrderMark is written little-endian (bytes 04 03 02 01); a file
	// written big-endian shows it as bigEndianMark.
	byteOrderMark = 0x01020304
	bigEndianMark = 0x04030201

	// maxHeaderSize bounds the header-size field before it is trusted for
	// the CRC range; future versions may grow the header up to this.
	maxHeaderSize = 4096
)

// Header field offsets (version 1). The first 20 bytes (magic, byte-order
// mark, version, header size) and "the header CRC is the header's last 4
// bytes" stay fixed in every version, so any reader can tell a corrupt
// header from a newer one.
const (
	offMagic      = 0
	offByteOrder  = 8
	offVersion    = 12
	offHeaderSize = 16
	offEntrySize  = 20
	offCount      = 24
	offFlags      = 28
	offFileSize   = 32
	offTableCRC   = 40
	offReserved   = 44 // 16 zero bytes
	offHeaderCRC  = 60
)

// Section table entry field offsets (version 1).
const (
	entName     = 0
	entOffset   = 16
	entLength   = 24
	entAlign    = 32
	entCRC      = 36
	entFlags    = 40
	entReserved = 44
)

// magic opens every .fw file. Like PNG's, the high first byte and the
// CR LF and ^Z catch 7-bit transfers and newline conversion.
var magic = [8]byte{0x89, 'M', 'X', 'F', 'W', '\r', '\n', 0x1a}

// HasMagic reports whether b (a file's first bytes) begins like a .fw image.
func HasMagic(b []byte) bool { return len(b) >= len(magic) && [8]byte(b[:8]) == magic }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Part names used in FormatError.Part for the regions that are not sections.
const (
	PartHeader = "header"
	PartTable  = "section table"
	PartEOF    = "end of file"
)

// FormatError reports a malformed .fw file or section content.
type FormatError struct {
	// File is the path given to Open or the name given to Parse.
	File string
	// Part is the region at fault: PartHeader, PartTable, PartEOF,
	// `section "NAME"` or `padding after section "NAME"` (or
	// "padding after section table").
	Part string
	// Section is the section's name when Part is a section or the padding
	// after one; empty otherwise.
	Section string
	// Msg says what is wrong, with file or section offsets where useful.
	Msg string
}

func (e *FormatError) Error() string {
	s := "firmware: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Part != "" {
		s += e.Part + ": "
	}
	return s + e.Msg
}

// ErrClosed is returned by a File's methods after Close.
var ErrClosed = errors.New("firmware: file is closed")

// ErrNoSection is wrapped by the error File.Section returns for a name the
// file does not have, so optional sections can be told apart from damage.
var ErrNoSection = errors.New("no such section")

func sectionPart(name string) string { return fmt.Sprintf("section %q", name) }

func paddingPart(after string) string {
	if after == "" {
		return "padding after " + PartTable
	}
	return fmt.Sprintf("padding after section %q", after)
}

// validName reports whether s may be a section name: 1 to MaxNameLen bytes
// of ASCII letters, digits, '.', '_' and '-', so names print unambiguously
// and fit the fixed-width field.
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func validAlign(a uint64) bool {
	return a >= MinAlign && a <= MaxAlign && a&(a-1) == 0
}

// alignUp rounds n up to a multiple of a (a power of two). Callers keep n
// far below overflow: n is at most a file size.
func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }
