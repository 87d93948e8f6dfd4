package camera

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Frame is one raw frame read from a Source. Data is reused by the next
// Read into the same Frame.
type Frame struct {
	Format FrameFormat
	Data   []byte    // Format.FrameSize() bytes
	Seq    int64     // index of the frame in the source, skipped ones included
	Time   time.Time // when its last byte was read
	Name   string    // the file it came from, for files: (else "")
}

// Source delivers raw frames: a pipe of raw YUV/RGB, a YUV4MPEG2 stream,
// still images, a V4L2 device.
type Source interface {
	// Format is the format of the frames (for still images, of the first
	// one; later frames may differ and say so in Frame.Format).
	Format() FrameFormat
	// Read fills f with the next frame. It returns io.EOF at a clean end
	// of the stream, an error wrapping ErrCorrupt for a frame that was
	// skipped (the caller may count it and read on), and any other error
	// when the stream cannot go on (a frame cut short by EOF wraps
	// io.ErrUnexpectedEOF).
	Read(f *Frame) error
	Close() error
}

// ErrCorrupt marks a frame that was skipped; the source can read on.
var ErrCorrupt = errors.New("corrupt frame")

// ensure makes f.Data hold n bytes, reusing its array.
func (f *Frame) ensure(n int) {
	if cap(f.Data) < n {
		f.Data = make([]byte, n)
	}
	f.Data = f.Data[:n]
}

// RawSource reads frames of one fixed format back to back, as
// `rpicam-vid -t 0 --codec yuv420 -o -` or `ffmpeg -f rawvideo` write them.
// Short reads are retried until the frame is complete.
type RawSource struct {
	r      io.Reader
	c      io.Closer
	f      FrameFormat
	seq    int64
	name   string
	broken error
}

// NewRawSource reads frames of format f from r (closed by Close when it is
// an io.Closer). name is used in errors.
func NewRawSource(r io.Reader, f FrameFormat, name string) (*RawSource, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &RawSource{r: r, f: f, name: name}
	if c, ok := r.(io.Closer); ok {
		s.c = c
	}
	return s, nil
}

func (s *RawSource) Format() FrameFormat { return s.f }

func (s *RawSource) Read(f *Frame) error {
	if s.broken != nil {
		return s.broken
	}
	n := s.f.FrameSize()
	f.ensure(n)
	got, err := io.ReadFull(s.r, f.Data)
	switch {
	case err == io.EOF:
		s.broken = io.EOF
		return io.EOF
	case err == io.ErrUnexpectedEOF:
		s.broken = fmt.Errorf("camera: %s: frame %d cut short: %d of %d bytes (%s): %w",
			s.name, s.seq, got, n, s.f, io.ErrUnexpectedEOF)
		return s.broken
	case err != nil:
		s.broken = fmt.Errorf("camera: %s: frame %d: %w", s.name, s.seq, err)
		return s.broken
	}
	f.Format, f.Seq, f.Time = s.f, s.seq, time.Now()
	s.seq++
	return nil
}

func (s *RawSource) Close() error {
	if s.c != nil {
		return s.c.Close()
	}
	return nil
}

// ParseSize parses "WxH".
func ParseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("camera: size %q: want WxH, e.g. 640x480", s)
	}
	return w, h, nil
}

// SourceOptions are what --source specs need beyond the spec itself.
type SourceOptions struct {
	Format FrameFormat // for pipe: (Pix, W, H, Stride, Range)
	Stdin  io.Reader   // "-" (default os.Stdin)
	V4L2   V4L2Options // for v4l2:
	// Range, when set, overrides the colour range the source declares
	// (pipe: limited, y4m: its XCOLORRANGE, MJPEG: full) for every YUV
	// frame.
	Range *ColorRange
	// Decode bounds the decoding of files: images (size limit, JPEG DCT
	// scaling).
	Decode DecodeOptions
}

// OpenSource opens a source spec: pipe:- or pipe:PATH (raw frames of
// o.Format), y4m:FILE or y4m:- (YUV4MPEG2), files:GLOB or files:DIR (still
// PNG/JPEG images in name order), v4l2:/dev/videoN (a webcam, YUYV or
// MJPEG; Linux only).
func OpenSource(spec string, o SourceOptions) (Source, error) {
	s, err := openSource(spec, o)
	if err != nil || o.Range == nil {
		return s, err
	}
	if *o.Range > RangeFull {
		s.Close()
		return nil, fmt.Errorf("camera: unknown colour range %d", *o.Range)
	}
	return &rangeSource{Source: s, r: *o.Range}, nil
}

// rangeSource overrides the colour range of a source's YUV frames.
type rangeSource struct {
	Source
	r ColorRange
}

func (s *rangeSource) Format() FrameFormat {
	f := s.Source.Format()
	if f.Pix.isYUV() {
		f.Range = s.r
	}
	return f
}

func (s *rangeSource) Read(f *Frame) error {
	err := s.Source.Read(f)
	if err == nil && f.Format.Pix.isYUV() {
		f.Format.Range = s.r
	}
	return err
}

// Info is the wrapped source's Info, if it has one.
func (s *rangeSource) Info() string {
	if i, ok := s.Source.(interface{ Info() string }); ok {
		return i.Info()
	}
	return ""
}

// Reconnects is the wrapped source's count of reopenings, if it keeps one.
func (s *rangeSource) Reconnects() int64 {
	if r, ok := s.Source.(interface{ Reconnects() int64 }); ok {
		return r.Reconnects()
	}
	return 0
}

func openSource(spec string, o SourceOptions) (Source, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("camera: source %q: want pipe:-|PATH, y4m:FILE|-, files:GLOB|DIR, v4l2:/dev/videoN", spec)
	}
	stdin := o.Stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	open := func() (io.Reader, string, error) {
		if arg == "-" {
			return stdin, "stdin", nil
		}
		f, err := os.Open(arg)
		if err != nil {
			return nil, "", fmt.Errorf("camera: %w", err)
		}
		return f, arg, nil
	}
	switch kind {
	case "pipe":
		if o.Format.Pix == 0 || o.Format.W == 0 {
			return nil, fmt.Errorf("camera: source %s needs a pixel format and a size", spec)
		}
		if err := o.Format.Validate(); err != nil {
			return nil, err
		}
		r, name, err := open()
		if err != nil {
			return nil, err
		}
		return NewRawSource(r, o.Format, name)
	case "y4m":
		r, name, err := open()
		if err != nil {
			return nil, err
		}
		s, err := NewY4MSource(r, name)
		if err != nil {
			if c, ok := r.(io.Closer); ok && arg != "-" {
				c.Close()
			}
			return nil, err
		}
		return s, nil
	case "files":
		return NewFilesSourceWith(arg, o.Decode)
	case "v4l2":
		return openV4L2(arg, o.V4L2)
	}
	return nil, fmt.Errorf("camera: source kind %q: want pipe, y4m, files or v4l2", kind)
}
