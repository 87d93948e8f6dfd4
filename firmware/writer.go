package firmware

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Writer assembles a .fw file from named sections. The zero value is not
// usable; call NewWriter.
type Writer struct {
	secs  []wsection
	names map[string]struct{}
}

type wsection struct {
	name  string
	data  []byte
	align uint64
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{names: make(map[string]struct{})}
}

// Add appends a section with the default 64-byte alignment. Sections are
// laid out in the order they are added. The data is not copied: it must not
// change until the file has been written.
func (w *Writer) Add(name string, data []byte) error {
	return w.AddAligned(name, data, MinAlign)
}

// AddAligned is Add with a larger alignment: a power of two from MinAlign
// to MaxAlign (e.g. 4096 to start a section on a page).
func (w *Writer) AddAligned(name string, data []byte, align int) error {
	if !validName(name) {
		return fmt.Errorf("firmware: invalid section name %q: want 1 to %d of [A-Za-z0-9._-]", name, MaxNameLen)
	}
	if _, dup := w.names[name]; dup {
		return fmt.Errorf("firmware: duplicate section name %q", name)
	}
	if align < 0 || !validAlign(uint64(align)) {
		return fmt.Errorf("firmware: section %q: alignment %d is not a power of two in [%d, %d]", name, align, MinAlign, MaxAlign)
	}
	if uint64(len(w.secs)) >= math.MaxUint32 {
		return fmt.Errorf("firmware: too many sections")
	}
	w.names[name] = struct{}{}
	w.secs = append(w.secs, wsection{name: name, data: data, align: uint64(align)})
	return nil
}

// layout returns the header and section table, and each section's offset.
func (w *Writer) layout() (head []byte, offs []uint64) {
	tableEnd := uint64(HeaderSize) + uint64(len(w.secs))*EntrySize
	head = make([]byte, tableEnd)
	table := head[HeaderSize:]
	offs = make([]uint64, len(w.secs))
	end := tableEnd
	le := binary.LittleEndian
	for i, s := range w.secs {
		off := alignUp(end, s.align)
		offs[i] = off
		e := table[i*EntrySize : (i+1)*EntrySize]
		copy(e[entName:entName+MaxNameLen], s.name)
		le.PutUint64(e[entOffset:], off)
		le.PutUint64(e[entLength:], uint64(len(s.data)))
		le.PutUint32(e[entAlign:], uint32(s.align))
		le.PutUint32(e[entCRC:], checksum(s.data))
		end = off + uint64(len(s.data))
	}
	copy(head[offMagic:], magic[:])
	le.PutUint32(head[offByteOrder:], byteOrderMark)
	le.PutUint32(head[offVersion:], Version)
	le.PutUint32(head[offHeaderSize:], HeaderSize)
	le.PutUint32(head[offEntrySize:], EntrySize)
	le.PutUint32(head[offCount:], uint32(len(w.secs)))
	le.PutUint64(head[offFileSize:], end)
	le.PutUint32(head[offTableCRC:], checksum(table))
	le.PutUint32(head[offHeaderCRC:], checksum(head[:offHeaderCRC]))
	return head, offs
}

// zeros is the source of padding; never written to.
var zeros [MaxAlign]byte

// WriteTo writes the file to out. It implements io.WriterTo.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	head, offs := w.layout()
	n, err := out.Write(head)
	pos := int64(n)
	if err != nil {
		return pos, err
	}
	for i, s := range w.secs {
		if pad := int64(offs[i]) - pos; pad > 0 {
			n, err = out.Write(zeros[:pad])
			pos += int64(n)
			if err != nil {
				return pos, err
			}
		}
		n, err = out.Write(s.data)
		pos += int64(n)
		if err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// Bytes returns the whole file in memory.
func (w *Writer) Bytes() ([]byte, error) {
	head, offs := w.layout()
	size := binary.LittleEndian.Uint64(head[offFileSize:])
	if size > math.MaxInt {
		return nil, fmt.Errorf("firmware: file of %d bytes does not fit in memory; use WriteTo", size)
	}
	buf := make([]byte, size)
	copy(buf, head)
	for i, s := range w.secs {
		copy(buf[offs[i]:], s.data)
	}
	return buf, nil
}

// WriteFile writes the file to path atomically: it writes a temporary file
// in the same directory, syncs it, and renames it over path, so a crash
// leaves either the old file or the new one, never a partial one. Replacing
// by rename also keeps a running reader's mapping of the old file valid.
func (w *Writer) WriteFile(path string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("firmware: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("firmware: writing %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if _, err = w.WriteTo(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes 0600 files; a firmware image is not secret.
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable.
	return syncDir(dir)
}
