package camera

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FilesSource delivers still images (PNG, JPEG) in name order as RGB24
// frames. Images may differ in size; each Frame says its own format. A file
// that does not decode is reported as ErrCorrupt and skipped.
type FilesSource struct {
	paths []string
	next  int
	first FrameFormat
}

// NewFilesSource takes a directory (every .png, .jpg, .jpeg in it) or a
// glob pattern.
func NewFilesSource(pattern string) (*FilesSource, error) {
	var paths []string
	if st, err := os.Stat(pattern); err == nil && st.IsDir() {
		ents, err := os.ReadDir(pattern)
		if err != nil {
			return nil, fmt.Errorf("camera: %w", err)
		}
		for _, e := range ents {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".png", ".jpg", ".jpeg":
				if !e.IsDir() {
					paths = append(paths, filepath.Join(pattern, e.Name()))
				}
			}
		}
	} else {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("camera: files %q: %w", pattern, err)
		}
		for _, p := range m {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("camera: files %s: no images", pattern)
	}
	sort.Strings(paths)
	s := &FilesSource{paths: paths}
	// The first decodable image gives Format.
	for _, p := range paths {
		if img, err := DecodeFile(p); err == nil {
			s.first = FrameFormat{Pix: RGB24, W: img.W, H: img.H}
			break
		}
	}
	if s.first.Pix == 0 {
		return nil, fmt.Errorf("camera: files %s: none of %d files decodes", pattern, len(paths))
	}
	return s, nil
}

// Paths are the files in the order they are read.
func (s *FilesSource) Paths() []string { return s.paths }

func (s *FilesSource) Format() FrameFormat { return s.first }

func (s *FilesSource) Read(f *Frame) error {
	if s.next >= len(s.paths) {
		return io.EOF
	}
	i := s.next
	s.next++
	img, err := DecodeFile(s.paths[i])
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	f.Format = FrameFormat{Pix: RGB24, W: img.W, H: img.H}
	f.ensure(len(img.Pix))
	copy(f.Data, img.Pix)
	f.Seq, f.Time, f.Name = int64(i), time.Now(), s.paths[i]
	return nil
}

func (s *FilesSource) Close() error { return nil }
