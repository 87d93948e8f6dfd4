package camera

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// A Y4M stream of any bytes: the header parses into a valid format or
// fails, and reading frames ends in io.EOF, ErrCorrupt or another error,
// never a panic or a frame of the wrong size.
func FuzzY4M(f *testing.F) {
	fr := FrameFormat{Pix: I420, W: 4, H: 2, Range: RangeFull}
	var b bytes.Buffer
	WriteY4MHeader(&b, fr, 25, 1)
	b.WriteString("FRAME\n")
	b.Write(make([]byte, fr.FrameSize()))
	f.Add(b.Bytes())
	f.Add([]byte("YUV4MPEG2 W2 H2 C444 XCOLORRANGE=LIMITED\nFRAME Ixx\n012345678901FRAMX\n"))
	f.Add([]byte("YUV4MPEG2 W1 H1 Cmono\nFRAME\n\x10FRAME\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewY4MSource(bytes.NewReader(data), "fuzz.y4m")
		if err != nil {
			return
		}
		if err := src.Format().Validate(); err != nil {
			t.Fatalf("header accepted with an invalid format %v: %v", src.Format(), err)
		}
		if src.Format().FrameSize() > 1<<20 {
			return // a large frame size from a tiny input: nothing more to learn
		}
		var fr Frame
		for range 8 {
			err := src.Read(&fr)
			if err == nil {
				if len(fr.Data) != src.Format().FrameSize() || fr.Format != src.Format() {
					t.Fatalf("frame of %d bytes, %v", len(fr.Data), fr.Format)
				}
				continue
			}
			if err == io.EOF || !errors.Is(err, ErrCorrupt) {
				return
			}
		}
	})
}
