package camera

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Y4MHeader is the stream header of a YUV4MPEG2 file.
type Y4MHeader struct {
	W, H       int
	FPSNum     int    // frame rate FPSNum/FPSDen (0/0 when absent)
	FPSDen     int    //
	Interlace  byte   // 'p', 't', 'b', 'm' or '?' (0 when absent); frames are read as progressive
	Aspect     [2]int // pixel aspect ratio (0:0 unknown)
	Colorspace string // the C tag: 420jpeg (default), 420paldv, 420mpeg2, 420, 422, 444, mono
	Pix        PixelFormat
	Range      ColorRange // XCOLORRANGE=FULL|LIMITED (ffmpeg's extension); limited when absent
}

// FPS is the frame rate, 0 when unknown.
func (h Y4MHeader) FPS() float64 {
	if h.FPSNum <= 0 || h.FPSDen <= 0 {
		return 0
	}
	return float64(h.FPSNum) / float64(h.FPSDen)
}

// maxY4MLine bounds a header line: a corrupt stream must not make us buffer
// without end.
const maxY4MLine = 4096

// ParseY4MHeader parses the stream header line (without the newline).
func ParseY4MHeader(line string) (Y4MHeader, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "YUV4MPEG2" {
		n := min(len(line), 16)
		return Y4MHeader{}, fmt.Errorf("not a YUV4MPEG2 stream (starts with %q)", line[:n])
	}
	h := Y4MHeader{Colorspace: "420jpeg"}
	ratio := func(s string) (a, b int, err error) {
		x, y, ok := strings.Cut(s, ":")
		if !ok {
			return 0, 0, fmt.Errorf("%q is not N:D", s)
		}
		if a, err = strconv.Atoi(x); err == nil {
			b, err = strconv.Atoi(y)
		}
		if err != nil || a < 0 || b < 0 {
			return 0, 0, fmt.Errorf("%q is not N:D", s)
		}
		return a, b, nil
	}
	for _, f := range fields[1:] {
		v := f[1:]
		var err error
		switch f[0] {
		case 'W':
			h.W, err = strconv.Atoi(v)
		case 'H':
			h.H, err = strconv.Atoi(v)
		case 'F':
			h.FPSNum, h.FPSDen, err = ratio(v)
		case 'A':
			h.Aspect[0], h.Aspect[1], err = ratio(v)
		case 'I':
			if len(v) != 1 {
				err = fmt.Errorf("interlace %q", v)
			} else {
				h.Interlace = v[0]
			}
		case 'C':
			h.Colorspace = v
		case 'X': // extensions: XCOLORRANGE is honoured, others (XYSCSS=...) ignored
			if k, val, ok := strings.Cut(v, "="); ok && strings.EqualFold(k, "COLORRANGE") {
				switch strings.ToUpper(val) {
				case "FULL":
					h.Range = RangeFull
				case "LIMITED":
					h.Range = RangeLimited
				default:
					err = fmt.Errorf("colour range %q: want FULL or LIMITED", val)
				}
			}
		default:
			err = fmt.Errorf("unknown tag %q", f)
		}
		if err != nil {
			return Y4MHeader{}, fmt.Errorf("header tag %s: %w", f, err)
		}
	}
	if h.W <= 0 || h.H <= 0 {
		return Y4MHeader{}, fmt.Errorf("header has no valid size (W%d H%d)", h.W, h.H)
	}
	if err := checkSize("Y4M", h.W, h.H); err != nil {
		return Y4MHeader{}, err
	}
	switch h.Colorspace {
	case "420jpeg", "420paldv", "420mpeg2", "420":
		h.Pix = I420
	case "422":
		h.Pix = YUV422P
	case "444":
		h.Pix = YUV444P
	case "mono":
		h.Pix = Gray
	default:
		return Y4MHeader{}, fmt.Errorf("colour space C%s: supported are 420jpeg, 420paldv, 420mpeg2, 422, 444 and mono (8 bit)", h.Colorspace)
	}
	return h, nil
}

// Y4MSource reads a YUV4MPEG2 stream. A frame whose FRAME marker is missing
// (a damaged or misaligned stream) is reported as ErrCorrupt and the reader
// resynchronises on the next marker.
type Y4MSource struct {
	br     *bufio.Reader
	c      io.Closer
	hdr    Y4MHeader
	f      FrameFormat
	name   string
	seq    int64
	resync bool
	broken error
}

// NewY4MSource reads the stream header from r. name is used in errors.
func NewY4MSource(r io.Reader, name string) (*Y4MSource, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	line, err := readLine(br)
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty stream")
		}
		return nil, fmt.Errorf("camera: y4m %s: header: %w", name, err)
	}
	h, err := ParseY4MHeader(string(line))
	if err != nil {
		return nil, fmt.Errorf("camera: y4m %s: %w", name, err)
	}
	s := &Y4MSource{br: br, hdr: h, f: FrameFormat{Pix: h.Pix, W: h.W, H: h.H, Range: h.Range}, name: name}
	if c, ok := r.(io.Closer); ok {
		s.c = c
	}
	return s, nil
}

// readLine returns the next line without its newline (a view into br's
// buffer, valid until the next read). Lines longer than maxY4MLine fail.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || (err == nil && len(line) > maxY4MLine):
		return nil, fmt.Errorf("line longer than %d bytes", maxY4MLine)
	case err == io.EOF && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	return line[:len(line)-1], nil
}

// Header is the parsed stream header.
func (s *Y4MSource) Header() Y4MHeader { return s.hdr }

func (s *Y4MSource) Format() FrameFormat { return s.f }

var frameTag = []byte("FRAME")

func (s *Y4MSource) Read(f *Frame) error {
	if s.broken != nil {
		return s.broken
	}
	fail := func(err error) error {
		if err == io.EOF {
			s.broken = io.EOF
			return err
		}
		s.broken = fmt.Errorf("camera: y4m %s: frame %d: %w", s.name, s.seq, err)
		return s.broken
	}
	if s.resync {
		// Skip to the next "FRAME", then its parameters.
		if err := s.skipToMarker(); err != nil {
			return fail(err)
		}
		if _, err := readLine(s.br); err != nil {
			return fail(err)
		}
		s.resync = false
	} else {
		// The marker is checked before the line is consumed, so that a
		// misplaced frame boundary is searched from here.
		head, err := s.br.Peek(len(frameTag))
		switch {
		case err == io.EOF && len(head) == 0:
			return fail(io.EOF)
		case err == io.EOF:
			return fail(fmt.Errorf("stream ends inside a frame header: %w", io.ErrUnexpectedEOF))
		case err != nil:
			return fail(err)
		}
		if !bytes.Equal(head, frameTag) {
			return s.corrupt("no FRAME marker")
		}
		if _, err := readLine(s.br); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fail(fmt.Errorf("stream ends inside a frame header: %w", io.ErrUnexpectedEOF))
			}
			return s.corrupt("frame header: " + err.Error())
		}
	}
	n := s.f.FrameSize()
	f.ensure(n)
	if got, err := io.ReadFull(s.br, f.Data); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fail(fmt.Errorf("cut short: %d of %d bytes (%s): %w", got, n, s.f, io.ErrUnexpectedEOF))
		}
		return fail(err)
	}
	f.Format, f.Seq, f.Time = s.f, s.seq, time.Now()
	s.seq++
	return nil
}

// corrupt reports the frame at the current place as skipped; the next Read
// searches for a marker.
func (s *Y4MSource) corrupt(why string) error {
	s.resync = true
	s.seq++
	return fmt.Errorf("camera: y4m %s: frame %d: %s: %w", s.name, s.seq-1, why, ErrCorrupt)
}

// skipToMarker reads up to and including the next "FRAME".
func (s *Y4MSource) skipToMarker() error {
	matched := 0
	for {
		b, err := s.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return err
		}
		switch {
		case b == frameTag[matched]:
			matched++
			if matched == len(frameTag) {
				return nil
			}
		case b == frameTag[0]:
			matched = 1
		default:
			matched = 0
		}
	}
}

func (s *Y4MSource) Close() error {
	if s.c != nil {
		return s.c.Close()
	}
	return nil
}

// WriteY4MHeader writes a stream header for frames of format f (I420,
// YUV422P, YUV444P or Gray) at fps frames per second; a full-range format
// gets ffmpeg's XCOLORRANGE=FULL.
func WriteY4MHeader(w io.Writer, f FrameFormat, fpsNum, fpsDen int) error {
	c := map[PixelFormat]string{I420: "420jpeg", YUV422P: "422", YUV444P: "444", Gray: "mono"}[f.Pix]
	if c == "" || (f.Stride != 0 && f.Stride != f.W) {
		return fmt.Errorf("camera: Y4M cannot carry %s", f)
	}
	x := ""
	if f.Range == RangeFull {
		x = " XCOLORRANGE=FULL"
	}
	_, err := fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C%s%s\n", f.W, f.H, fpsNum, fpsDen, c, x)
	return err
}
