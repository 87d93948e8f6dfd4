package camera

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// rawStream encodes n synthetic frames of format f back to back.
func rawStream(t testing.TB, f FrameFormat, n int) ([]byte, [][]byte) {
	var all []byte
	var frames [][]byte
	for i := range n {
		fr := testFrame(t, uint64(100+i), f)
		frames = append(frames, fr)
		all = append(all, fr...)
	}
	return all, frames
}

func TestRawSourceShortReadsAndEOF(t *testing.T) {
	f := FrameFormat{Pix: NV12, W: 17, H: 11, Stride: 20}
	all, frames := rawStream(t, f, 3)
	for _, cut := range []int{0, 1, f.FrameSize() / 2, f.FrameSize() - 1} {
		data := all[:len(all)-cut]
		src, err := NewRawSource(iotest.OneByteReader(bytes.NewReader(data)), f, "test")
		if err != nil {
			t.Fatal(err)
		}
		var fr Frame
		n := 0
		for {
			err = src.Read(&fr)
			if err != nil {
				break
			}
			if !bytes.Equal(fr.Data, frames[n]) || fr.Seq != int64(n) || fr.Format != f {
				t.Fatalf("cut %d: frame %d differs", cut, n)
			}
			n++
		}
		switch {
		case cut == 0 && (err != io.EOF || n != 3):
			t.Errorf("clean stream: %d frames, %v", n, err)
		case cut > 0 && (!errors.Is(err, io.ErrUnexpectedEOF) || n != 2 || !strings.Contains(err.Error(), "frame 2 cut short")):
			t.Errorf("cut %d: %d frames, %v", cut, n, err)
		}
		if err2 := src.Read(&fr); err2 != err {
			t.Errorf("read after the end: %v, want %v again", err2, err)
		}
	}
	if _, err := NewRawSource(bytes.NewReader(nil), FrameFormat{Pix: I420, W: 16, H: 8, Stride: 10}, "x"); err == nil {
		t.Error("stride 10 < width 16 accepted")
	}
}

func y4mStream(t testing.TB, f FrameFormat, n int, extra string) ([]byte, [][]byte) {
	var b bytes.Buffer
	if err := WriteY4MHeader(&b, f, 30000, 1001); err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for i := range n {
		fr := testFrame(t, uint64(200+i), f)
		frames = append(frames, fr)
		b.WriteString("FRAME" + extra + "\n")
		b.Write(fr)
	}
	return b.Bytes(), frames
}

func TestY4MHeader(t *testing.T) {
	h, err := ParseY4MHeader("YUV4MPEG2 W640 H480 F30000:1001 It A1:1 C420paldv XYSCSS=420PALDV")
	if err != nil || h.W != 640 || h.H != 480 || h.Pix != I420 || h.Colorspace != "420paldv" || h.Interlace != 't' ||
		h.FPS() < 29.97 || h.FPS() > 29.98 {
		t.Errorf("%+v %v", h, err)
	}
	if h, err := ParseY4MHeader("YUV4MPEG2 W3 H2"); err != nil || h.Pix != I420 || h.FPS() != 0 {
		t.Errorf("default colour space: %+v %v", h, err)
	}
	// ffmpeg's colour range extension: full range when it says so.
	for hdr, want := range map[string]ColorRange{"YUV4MPEG2 W4 H4 XCOLORRANGE=FULL": RangeFull,
		"YUV4MPEG2 W4 H4 XCOLORRANGE=LIMITED": RangeLimited, "YUV4MPEG2 W4 H4 XYSCSS=420JPEG": RangeLimited} {
		if h, err := ParseY4MHeader(hdr); err != nil || h.Range != want {
			t.Errorf("%q: range %v, %v; want %v", hdr, h.Range, err, want)
		}
	}
	for c, p := range map[string]PixelFormat{"420jpeg": I420, "420mpeg2": I420, "422": YUV422P, "444": YUV444P, "mono": Gray} {
		if h, err := ParseY4MHeader("YUV4MPEG2 W4 H4 C" + c); err != nil || h.Pix != p {
			t.Errorf("C%s: %+v %v", c, h, err)
		}
	}
	for _, bad := range []string{"", "YUV4MPEG W4 H4", "YUV4MPEG2 W0 H4", "YUV4MPEG2 W4", "YUV4MPEG2 W4 H4 C420p10",
		"YUV4MPEG2 W4 H4 C411", "YUV4MPEG2 Wx H4", "YUV4MPEG2 W4 H4 F30", "YUV4MPEG2 W4 H4 Q1", "YUV4MPEG2 W100000 H100000",
		"YUV4MPEG2 W4 H4 XCOLORRANGE=WIDE"} {
		if _, err := ParseY4MHeader(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestY4MSource(t *testing.T) {
	for i, pix := range []PixelFormat{I420, YUV422P, YUV444P, Gray} {
		f := FrameFormat{Pix: pix, W: 13, H: 9, Range: ColorRange(i % 2)} // full range written and read back as XCOLORRANGE=FULL
		data, frames := y4mStream(t, f, 3, " Ixyz")
		src, err := NewY4MSource(iotest.HalfReader(bytes.NewReader(data)), "t.y4m")
		if err != nil {
			t.Fatal(err)
		}
		if src.Format() != f || src.Header().FPSNum != 30000 {
			t.Errorf("%s: format %v header %+v", pix, src.Format(), src.Header())
		}
		var fr Frame
		for i := range 3 {
			if err := src.Read(&fr); err != nil || !bytes.Equal(fr.Data, frames[i]) {
				t.Fatalf("%s frame %d: %v", pix, i, err)
			}
		}
		if err := src.Read(&fr); err != io.EOF {
			t.Errorf("%s: end %v", pix, err)
		}
	}
}

// A damaged stream: a frame with bytes missing makes the next marker
// unfindable at its place; the reader says ErrCorrupt, resynchronises and
// goes on. A stream cut inside a frame ends with io.ErrUnexpectedEOF.
func TestY4MCorruptAndTruncated(t *testing.T) {
	f := FrameFormat{Pix: I420, W: 16, H: 8}
	data, frames := y4mStream(t, f, 5, "")
	hdr := bytes.Index(data, []byte("FRAME"))
	per := 6 + f.FrameSize()
	// Frame 1 loses 10 bytes.
	bad := append([]byte{}, data[:hdr+per+6+50]...)
	bad = append(bad, data[hdr+per+6+60:]...)
	src, err := NewY4MSource(bytes.NewReader(bad), "bad.y4m")
	if err != nil {
		t.Fatal(err)
	}
	var fr Frame
	var got []int64
	corrupt := 0
	for {
		err := src.Read(&fr)
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			corrupt++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fr.Seq)
		if fr.Seq >= 3 && !bytes.Equal(fr.Data, frames[fr.Seq]) {
			t.Errorf("frame %d after resync differs", fr.Seq)
		}
	}
	// Frame 0 good, frame 1 (short) takes 10 bytes of frame 2; no marker
	// where frame 2 should start (corrupt); resync finds frame 3.
	if corrupt != 1 || len(got) != 4 || got[2] != 3 || got[3] != 4 {
		t.Errorf("frames %v, corrupt %d", got, corrupt)
	}
	for _, cut := range []int{1, 3, per / 2} {
		src, _ := NewY4MSource(bytes.NewReader(data[:len(data)-cut]), "cut.y4m")
		n := 0
		for err = src.Read(&fr); err == nil; err = src.Read(&fr) {
			n++
		}
		if n != 4 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut %d: %d frames, %v", cut, n, err)
		}
	}
	if _, err := NewY4MSource(strings.NewReader(""), "empty"); err == nil {
		t.Error("empty stream accepted")
	}
	if _, err := NewY4MSource(strings.NewReader(strings.Repeat("x", 70000)), "junk"); err == nil {
		t.Error("junk accepted")
	}
}

// Random damage never panics, and the reader always ends.
func TestY4MRandomDamage(t *testing.T) {
	f := FrameFormat{Pix: I420, W: 8, H: 6}
	data, _ := y4mStream(t, f, 20, "")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		d := append([]byte{}, data...)
		for range 1 + rng.IntN(8) {
			switch i := rng.IntN(len(d)); rng.IntN(3) {
			case 0:
				d[i] ^= byte(1 + rng.IntN(255))
			case 1:
				d = append(d[:i], d[min(len(d), i+1+rng.IntN(40)):]...)
			default:
				d = append(d[:i], append(bytes.Repeat([]byte{'F'}, rng.IntN(9)), d[i:]...)...)
			}
		}
		src, err := NewY4MSource(bytes.NewReader(d), "fuzz")
		if err != nil {
			continue
		}
		var fr Frame
		for range 100 {
			if err := src.Read(&fr); err != nil && !errors.Is(err, ErrCorrupt) {
				break
			}
		}
	}
}

func TestFilesSource(t *testing.T) {
	dir := t.TempDir()
	for i, sz := range [][2]int{{20, 10}, {8, 12}} {
		img := SyntheticImage(uint64(i), sz[0], sz[1])
		if err := writePNGFile(filepath.Join(dir, string(rune('a'+i))+".png"), img); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "b0.png"), []byte("not a png"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	src, err := OpenSource("files:"+dir, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Format() != (FrameFormat{Pix: RGB24, W: 20, H: 10}) {
		t.Errorf("format %v", src.Format())
	}
	var fr Frame
	var sizes []int
	corrupt := 0
	for {
		err := src.Read(&fr)
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			corrupt++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fr.Format.W)
	}
	if corrupt != 1 || len(sizes) != 2 || sizes[0] != 20 || sizes[1] != 8 {
		t.Errorf("sizes %v corrupt %d", sizes, corrupt)
	}
	if s, err := OpenSource("files:"+filepath.Join(dir, "a*.png"), SourceOptions{}); err != nil || len(s.(*FilesSource).Paths()) != 1 {
		t.Errorf("glob: %v", err)
	}
	for _, spec := range []string{"files:" + filepath.Join(dir, "*.gif"), "v4l2:/dev/video0", "tcp:x", "pipe:-", "y4m:" + filepath.Join(dir, "none.y4m"), "nonsense"} {
		if _, err := OpenSource(spec, SourceOptions{}); err == nil {
			t.Errorf("%s accepted", spec)
		}
	}
	f := FrameFormat{Pix: YUYV, W: 6, H: 4}
	all, _ := rawStream(t, f, 2)
	s, err := OpenSource("pipe:-", SourceOptions{Format: f, Stdin: bytes.NewReader(all)})
	if err != nil || s.Read(&fr) != nil || s.Read(&fr) != nil || s.Read(&fr) != io.EOF {
		t.Errorf("pipe:- %v", err)
	}
	if w, h, err := ParseSize("640x480"); err != nil || w != 640 || h != 480 {
		t.Error("ParseSize")
	}
	for _, bad := range []string{"640", "x480", "-1x2", "axb"} {
		if _, _, err := ParseSize(bad); err == nil {
			t.Errorf("size %q accepted", bad)
		}
	}
}

func writePNGFile(path string, img *RGB) error {
	var b bytes.Buffer
	m := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i := range img.W * img.H {
		copy(m.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	if err := png.Encode(&b, m); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// slowReader delivers a frame every d.
type slowReader struct {
	r io.Reader
	d time.Duration
}

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.d)
	return s.r.Read(p)
}

func TestGrabber(t *testing.T) {
	f := FrameFormat{Pix: I420, W: 8, H: 4}
	all, frames := rawStream(t, f, 40)
	// In order: every frame, in order.
	src, _ := NewRawSource(bytes.NewReader(all), f, "mem")
	g, err := NewGrabber(src, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	n := 0
	for fr := g.Next(); fr != nil; fr = g.Next() {
		if fr.Seq != int64(n) || !bytes.Equal(fr.Data, frames[n]) {
			t.Fatalf("frame %d: seq %d", n, fr.Seq)
		}
		n++
		g.Release(fr)
	}
	if n != 40 || g.Err() != nil || g.Dropped() != 0 {
		t.Errorf("in order: %d frames, %v, dropped %d", n, g.Err(), g.Dropped())
	}
	// Drop mode with a slow consumer: fewer frames, rising sequence, and
	// delivered + dropped = read.
	src, _ = NewRawSource(slowReader{bytes.NewReader(all), time.Millisecond}, f, "slow")
	g, _ = NewGrabber(src, 3, true)
	g.Start()
	var seqs []int64
	for fr := g.Next(); fr != nil; fr = g.Next() {
		if !bytes.Equal(fr.Data, frames[fr.Seq]) {
			t.Fatalf("frame %d torn", fr.Seq)
		}
		seqs = append(seqs, fr.Seq)
		time.Sleep(4 * time.Millisecond)
		g.Release(fr)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence not rising: %v", seqs)
		}
	}
	if g.Dropped() == 0 || int64(len(seqs))+g.Dropped() != g.Read() || g.Read() != 40 || seqs[len(seqs)-1] != 39 {
		t.Errorf("drop mode: delivered %d, dropped %d, read %d, last %d", len(seqs), g.Dropped(), g.Read(), seqs[len(seqs)-1])
	}
	// Stop ends a stream that would block for ever.
	pr, pw := io.Pipe()
	defer pw.Close()
	src, _ = NewRawSource(pr, f, "blocked")
	g, _ = NewGrabber(src, 3, true)
	g.Start()
	blocked := g // g is reassigned below, while this goroutine may still run
	go func() { time.Sleep(10 * time.Millisecond); blocked.Stop(); blocked.Stop() }()
	if fr := g.Next(); fr != nil {
		t.Error("frame from an empty pipe")
	}
	if _, err := NewGrabber(src, 2, true); err == nil {
		t.Error("2 buffers in drop mode accepted")
	}
	// Corrupt frames are counted and skipped.
	data, _ := y4mStream(t, f, 6, "")
	data = bytes.Replace(data, []byte("FRAME"), []byte("FRAMX"), 2) // one resync skips both
	ys, _ := NewY4MSource(bytes.NewReader(data), "c.y4m")
	g, _ = NewGrabber(ys, 2, false)
	g.Start()
	n = 0
	for fr := g.Next(); fr != nil; fr = g.Next() {
		n++
		g.Release(fr)
	}
	if n != 4 || g.Corrupt() != 1 || g.LastCorrupt() == nil || g.Err() != nil {
		t.Errorf("corrupt: %d frames, %d corrupt, %v", n, g.Corrupt(), g.Err())
	}
}

// Next and Release allocate nothing, with the reader running flat out.
func TestGrabberAllocs(t *testing.T) {
	f := FrameFormat{Pix: I420, W: 32, H: 24}
	all, _ := rawStream(t, f, 4)
	src, _ := NewRawSource(&cycle{b: all}, f, "cycle")
	g, _ := NewGrabber(src, 3, true)
	g.Start()
	defer g.Stop()
	if n := testing.AllocsPerRun(20, func() { fr := g.Next(); time.Sleep(100 * time.Microsecond); g.Release(fr) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

type cycle struct {
	b   []byte
	off int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.off:])
	c.off = (c.off + n) % len(c.b)
	return n, nil
}
