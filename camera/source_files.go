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
	opt   DecodeOptions
}

// NewFilesSource takes a directory (every .png, .jpg, .jpeg in it) or a
// glob pattern.
func NewFilesSource(pattern string) (*FilesSource, error) {
	return NewFilesSourceWith(pattern, DecodeOptions{})
}

// NewFilesSourceWith is NewFilesSource decoding within o's bounds.
func NewFilesSourceWith(pattern string, o DecodeOptions) (*FilesSource, error) {
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
	s := &FilesSource{paths: paths, opt: o}
	// The first image whose header reads gives Format (from the header
	// alone: a big picture is not decoded twice).
	var firstErr error
	for _, p := range paths {
		w, h, err := DecodedSize(p, o)
		if err == nil {
			s.first = FrameFormat{Pix: RGB24, W: w, H: h}
			break
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if s.first.Pix == 0 {
		return nil, fmt.Errorf("camera: files %s: none of %d files can be decoded (first: %w)", pattern, len(paths), firstErr)
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
	img, err := DecodeFileWith(s.paths[i], s.opt)
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	f.Format = FrameFormat{Pix: RGB24, W: img.W, H: img.H}
	if len(img.Pix) > cap(f.Data) {
		f.Data = img.Pix // the decoded picture itself: no copy of a big one
	} else {
		f.ensure(len(img.Pix))
		copy(f.Data, img.Pix)
	}
	f.Seq, f.Time, f.Name = int64(i), time.Now(), s.paths[i]
	return nil
}

func (s *FilesSource) Close() error { return nil }

// deliversOwnFrames tells the Grabber not to allocate frames ahead: each
// Read brings its decoded picture.
func (s *FilesSource) deliversOwnFrames() {}
