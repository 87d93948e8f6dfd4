//go:build linux

package camera

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mixedge/mixedge/camera/v4l2"
)

// webcam is a fake UVC webcam offering YUYV and MJPEG at three sizes.
func webcam(script ...v4l2.FakeStep) *v4l2.Fake {
	sizes := [][2]int{{640, 480}, {320, 240}, {160, 120}}
	return &v4l2.Fake{Driver: "uvcvideo", Card: "Fake Webcam", Script: script,
		Formats: []v4l2.FakeFormat{{Fourcc: v4l2.PixFmtYUYV, Desc: "YUYV 4:2:2", Sizes: sizes},
			{Fourcc: v4l2.PixFmtMJPEG, Desc: "Motion-JPEG", Sizes: sizes}}}
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) log(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func openFake(t *testing.T, fk *v4l2.Fake, o V4L2Options) (*V4L2Source, *logBuf) {
	t.Helper()
	var l logBuf
	o.Open, o.Log = fk.Open, l.log
	src, err := OpenSource("v4l2:/dev/video7", SourceOptions{V4L2: o})
	if err != nil {
		t.Fatalf("open: %v (%v)", err, fk)
	}
	return src.(*V4L2Source), &l
}

// checkReleased: after Close the stream is off, every buffer unmapped and
// freed and the device closed.
func checkReleased(t *testing.T, fk *v4l2.Fake) {
	t.Helper()
	if fk.MappedNow() != 0 || fk.Opens != fk.Closes || fk.Calls["VIDIOC_STREAMOFF"] == 0 {
		t.Errorf("not released: %d still mapped; %v", fk.MappedNow(), fk)
	}
}

// Negotiation: the nearest size, the driver's stride, the rate; frames are
// copied out row stride and all, in order; Close releases everything.
func TestV4L2YUYV(t *testing.T) {
	f := FrameFormat{Pix: YUYV, W: 320, H: 240, Stride: 656}
	var frames [][]byte
	var script []v4l2.FakeStep
	for i := range 5 {
		fr := testFrame(t, uint64(i), f)
		frames = append(frames, fr)
		script = append(script, v4l2.FakeStep{Frame: fr})
	}
	script = append(script, v4l2.FakeStep{Stall: true})
	fk := webcam(script...)
	fk.Pad = 16
	src, log := openFake(t, fk, V4L2Options{W: 300, H: 200, FPS: 15})
	if src.Format() != f {
		t.Errorf("format %v, want %v", src.Format(), f)
	}
	for _, want := range []string{`"Fake Webcam" (uvcvideo)`, "YUYV 320x240 (asked 300x200)", "stride 656", "15 fps (asked 15 fps)", "4 buffers", "limited range", "MJPG (Motion-JPEG)"} {
		if !strings.Contains(src.Info(), want) || !strings.Contains(log.String(), want) {
			t.Errorf("info %q lacks %q (log %q)", src.Info(), want, log)
		}
	}
	var fr Frame
	for i := range 5 {
		if err := src.Read(&fr); err != nil {
			t.Fatal(err)
		}
		if fr.Format != f || fr.Seq != int64(i) || !bytes.Equal(fr.Data, frames[i]) {
			t.Fatalf("frame %d: %v seq %d, equal %v", i, fr.Format, fr.Seq, bytes.Equal(fr.Data, frames[i]))
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	checkReleased(t, fk)
	if err := src.Read(&fr); err != io.EOF {
		t.Errorf("read after Close: %v", err)
	}
	// Full range when the driver says so; the default size is 640x480.
	fk = webcam(v4l2.FakeStep{Stall: true})
	fk.FullRange, fk.NoFrameRate = true, true
	src, _ = openFake(t, fk, V4L2Options{Format: "YUYV", FPS: 60})
	if g := src.Format(); g != (FrameFormat{Pix: YUYV, W: 640, H: 480, Stride: 1280, Range: RangeFull}) || !strings.Contains(src.Info(), "cannot set the rate") {
		t.Errorf("%v: %s", g, src.Info())
	}
	src.Close()
}

// YUYV reading allocates nothing per frame.
func TestV4L2Allocs(t *testing.T) {
	f := FrameFormat{Pix: YUYV, W: 160, H: 120}
	fk := webcam(v4l2.FakeStep{Frame: testFrame(t, 1, f)})
	src, _ := openFake(t, fk, V4L2Options{W: 160, H: 120})
	defer src.Close()
	var fr Frame
	src.Read(&fr)
	if n := testing.AllocsPerRun(50, func() {
		if err := src.Read(&fr); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// MJPEG frames without Huffman tables decode into full-range planar YUV;
// a corrupt one is skipped (ErrCorrupt) and reading goes on.
func TestV4L2MJPEG(t *testing.T) {
	good := []byte(nil)
	var want Frame
	var d MJPEGDecoder
	good = stripDHT(t, encodeJPEG(t, 5, 320, 240))
	if err := d.Decode(&want, good); err != nil {
		t.Fatal(err)
	}
	fk := webcam(v4l2.FakeStep{Frame: good}, v4l2.FakeStep{Frame: good[:len(good)/3]}, v4l2.FakeStep{Frame: []byte("not a jpeg")},
		v4l2.FakeStep{Frame: good, Flags: v4l2.BufFlagError}, v4l2.FakeStep{Frame: good})
	src, _ := openFake(t, fk, V4L2Options{Format: "mjpeg", W: 320, H: 240})
	defer src.Close()
	if g := src.Format(); g != (FrameFormat{Pix: YUV422P, W: 320, H: 240, Range: RangeFull}) || !strings.Contains(src.Info(), "MJPEG 320x240 full range") {
		t.Errorf("%v: %s", g, src.Info())
	}
	var fr Frame
	for i, wantErr := range []bool{false, true, true, true, false} {
		err := src.Read(&fr)
		if wantErr {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "/dev/video7") {
				t.Errorf("frame %d: %v, want ErrCorrupt", i, err)
			}
			continue
		}
		if err != nil || fr.Format != want.Format || fr.Seq != int64(i) || !bytes.Equal(fr.Data, want.Data) {
			t.Fatalf("frame %d: %v %v seq %d", i, err, fr.Format, fr.Seq)
		}
	}
}

// Interrupted and spurious wake-ups are retried; a short YUYV frame and one
// the driver flags are corrupt; a stalled camera is an error after the
// timeout, not a hang.
func TestV4L2InterruptsAndStall(t *testing.T) {
	f := FrameFormat{Pix: YUYV, W: 160, H: 120}
	fr0, fr1 := testFrame(t, 1, f), testFrame(t, 2, f)
	fk := webcam(
		v4l2.FakeStep{Frame: fr0, PollErr: syscall.EINTR},
		v4l2.FakeStep{Frame: fr1, DQErr: syscall.EINTR},
		v4l2.FakeStep{Frame: fr0, DQErr: syscall.EAGAIN},
		v4l2.FakeStep{Frame: fr1, QErr: syscall.EINTR},
		v4l2.FakeStep{Frame: fr0[:100]},
		v4l2.FakeStep{Frame: fr1},
		v4l2.FakeStep{Stall: true})
	src, _ := openFake(t, fk, V4L2Options{W: 160, H: 120, Timeout: 300 * time.Millisecond})
	defer src.Close()
	var fr Frame
	for i, want := range [][]byte{fr0, fr1, fr0, fr1, nil, fr1} {
		err := src.Read(&fr)
		if want == nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "100 bytes") {
				t.Errorf("short frame: %v", err)
			}
			continue
		}
		if err != nil || !bytes.Equal(fr.Data, want) {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	start := time.Now()
	err := src.Read(&fr)
	if el := time.Since(start); !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "no frame for 300ms") || el < 250*time.Millisecond || el > 3*time.Second {
		t.Errorf("stall: %v after %v", err, el)
	}
	if err2 := src.Read(&fr); err2 != err {
		t.Errorf("read after the stall: %v", err2)
	}
}

// Close from another goroutine ends a waiting Read promptly with io.EOF.
func TestV4L2CloseWhileReading(t *testing.T) {
	fk := webcam(v4l2.FakeStep{Stall: true})
	src, _ := openFake(t, fk, V4L2Options{W: 160, H: 120, Timeout: time.Minute})
	done := make(chan error)
	go func() {
		var fr Frame
		done <- src.Read(&fr)
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	src.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting 5 s after Close")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %v", el)
	}
	checkReleased(t, fk)
}

// An unplugged camera (ENODEV mid-stream) ends the stream with a clear
// error; with Reconnect the source reopens it with backoff and goes on.
func TestV4L2Unplug(t *testing.T) {
	defer func(b time.Duration) { v4l2Backoff = b }(v4l2Backoff)
	v4l2Backoff = 5 * time.Millisecond
	f := FrameFormat{Pix: YUYV, W: 160, H: 120}
	frames := [][]byte{testFrame(t, 1, f), testFrame(t, 2, f), testFrame(t, 3, f)}
	script := func() []v4l2.FakeStep {
		return []v4l2.FakeStep{{Frame: frames[0]}, {Frame: frames[1]}, {Gone: true}, {Frame: frames[2]}, {Stall: true}}
	}
	var fr Frame
	fk := webcam(script()...)
	src, _ := openFake(t, fk, V4L2Options{W: 160, H: 120})
	for range 2 {
		if err := src.Read(&fr); err != nil {
			t.Fatal(err)
		}
	}
	err := src.Read(&fr)
	if !errors.Is(err, syscall.ENODEV) || !strings.Contains(err.Error(), "/dev/video7: the camera is gone") {
		t.Errorf("unplugged: %v", err)
	}
	src.Close()
	checkReleased(t, fk)

	fk = webcam(script()...)
	fk.Unplugged = 3 // three failed reopenings
	src, log := openFake(t, fk, V4L2Options{W: 160, H: 120, Reconnect: true, Timeout: 200 * time.Millisecond})
	for i, want := range frames {
		if err := src.Read(&fr); err != nil || !bytes.Equal(fr.Data, want) || fr.Seq != int64(i) {
			t.Fatalf("frame %d: %v seq %d (%v)", i, err, fr.Seq, fk)
		}
	}
	if fk.Opens != 2 || !strings.Contains(log.String(), "gone") || !strings.Contains(log.String(), "reopened after 4 attempts") {
		t.Errorf("%v\nlog:\n%s", fk, log)
	}
	// A stall with Reconnect reopens too (and the fake stalls again).
	done := make(chan error)
	go func() { done <- src.Read(&fr) }()
	time.Sleep(600 * time.Millisecond)
	src.Close()
	if err := <-done; err != io.EOF {
		t.Errorf("read: %v", err)
	}
	if fk.Opens < 3 || !strings.Contains(log.String(), "no frame for 200ms") {
		t.Errorf("stall did not reopen: %v\n%s", fk, log)
	}
	checkReleased(t, fk)
}

// Devices mixedge cannot read are refused with what they are and what to
// do instead.
func TestV4L2Refusals(t *testing.T) {
	bayer := &v4l2.Fake{Driver: "unicam", Card: "unicam", Formats: []v4l2.FakeFormat{
		{Fourcc: v4l2.Fourcc('p', 'R', 'A', 'A'), Desc: "10-bit Bayer RGRG/GBGB Packed", Sizes: [][2]int{{1640, 1232}}}}}
	onlyYUYV := webcam()
	onlyYUYV.Formats = onlyYUYV.Formats[:1]
	onlyMJPEG := webcam()
	onlyMJPEG.Formats = onlyMJPEG.Formats[1:]
	noOpen := func(string) (v4l2.Device, error) { return nil, syscall.ENOENT }
	denied := func(string) (v4l2.Device, error) { return nil, syscall.EACCES }
	out := webcam()
	out.Caps = 0x2 | v4l2.CapStreaming // VIDEO_OUTPUT
	mplane := webcam()
	mplane.Caps = v4l2.CapVideoCaptureMplane | v4l2.CapStreaming
	noStream := webcam()
	noStream.Caps = v4l2.CapVideoCapture | v4l2.CapReadWrite
	one := webcam()
	one.MaxBuffers = 1
	cases := []struct {
		open v4l2.Opener
		o    V4L2Options
		want []string
	}{
		{bayer.Open, V4L2Options{}, []string{"pRAA (10-bit Bayer", "rpicam-vid", "pipe:-"}},
		{onlyYUYV.Open, V4L2Options{Format: "mjpeg"}, []string{"not MJPEG", "--format yuyv"}},
		{onlyMJPEG.Open, V4L2Options{Format: "yuyv"}, []string{"not YUYV", "--format mjpeg"}},
		{noOpen, V4L2Options{}, []string{"/dev/video7: no such device", "v4l2-ctl --list-devices"}},
		{denied, V4L2Options{}, []string{"permission denied", "video group"}},
		{out.Open, V4L2Options{}, []string{"not a video capture device"}},
		{mplane.Open, V4L2Options{}, []string{"multi-planar", "rpicam-vid"}},
		{noStream.Open, V4L2Options{}, []string{"cannot stream"}},
		{one.Open, V4L2Options{}, []string{"granted 1 buffers"}},
		{onlyYUYV.Open, V4L2Options{Format: "rgb24"}, []string{"yuyv or mjpeg"}},
		{onlyYUYV.Open, V4L2Options{FPS: -1}, []string{"frame rate -1"}},
		{onlyYUYV.Open, V4L2Options{W: -5, H: 2}, []string{"size -5x2"}},
	}
	for _, c := range cases {
		c.o.Open = c.open
		_, err := OpenSource("v4l2:/dev/video7", SourceOptions{V4L2: c.o})
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v; want %q", c.o, err, w)
			}
		}
	}
	for _, fk := range []*v4l2.Fake{bayer, onlyYUYV, onlyMJPEG, out, mplane, noStream, one} {
		if fk.Opens != fk.Closes || fk.MappedNow() != 0 {
			t.Errorf("a refused device was not released: %v", fk)
		}
	}
	// Only MJPEG offered: taken without asking.
	fk := webcam(v4l2.FakeStep{Stall: true})
	fk.Formats = fk.Formats[1:]
	src, _ := openFake(t, fk, V4L2Options{})
	if !src.mjpeg {
		t.Error("MJPEG-only camera not read as MJPEG")
	}
	src.Close()
}

// The colour range override applies to every YUV frame.
func TestRangeOverride(t *testing.T) {
	f := FrameFormat{Pix: YUYV, W: 160, H: 120}
	fk := webcam(v4l2.FakeStep{Frame: testFrame(t, 1, f)})
	full := RangeFull
	src, err := OpenSource("v4l2:/dev/video0", SourceOptions{V4L2: V4L2Options{Open: fk.Open, W: 160, H: 120}, Range: &full})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var fr Frame
	if err := src.Read(&fr); err != nil || fr.Format.Range != RangeFull || src.Format().Range != RangeFull {
		t.Errorf("%v %v %v", err, fr.Format, src.Format())
	}
	if i, ok := src.(interface{ Info() string }); !ok || !strings.Contains(i.Info(), "YUYV 160x120") {
		t.Error("Info lost by the range override")
	}
}

// Whatever a driver answers (sizes, strides, buffer lengths, frame bytes),
// opening and reading either work or fail with an error: no panic, no
// frame larger than what was negotiated, everything released.
func FuzzV4L2Driver(f *testing.F) {
	f.Add(uint32(640), uint32(480), uint32(1280), uint32(640*480*2), uint32(0), false, []byte{1, 2, 3})
	f.Add(uint32(3), uint32(1), uint32(0), uint32(0), uint32(5), true, stripDHT(f, encodeJPEG(f, 1, 16, 8)))
	f.Add(uint32(1<<31), uint32(7), uint32(1), uint32(1<<20), uint32(2), false, []byte{})
	f.Fuzz(func(t *testing.T, w, h, bpl, size, quant uint32, mjpeg bool, frame []byte) {
		fk := webcam(v4l2.FakeStep{Frame: frame}, v4l2.FakeStep{Stall: true})
		if len(frame) > 1<<16 {
			return
		}
		fk.Quirk = func(p *v4l2.PixFormat) {
			p.Width, p.Height, p.BytesPerLine, p.SizeImage, p.Quantization = w, h, bpl, size%(1<<22), quant
		}
		o := V4L2Options{Open: fk.Open, Timeout: 20 * time.Millisecond}
		if mjpeg {
			o.Format = "mjpeg"
		}
		src, err := OpenSource("v4l2:/dev/video9", SourceOptions{V4L2: o})
		if err != nil {
			if fk.Opens != fk.Closes || fk.MappedNow() != 0 {
				t.Fatalf("refused but not released: %v", fk)
			}
			return
		}
		if err := src.Format().Validate(); err != nil {
			t.Fatalf("opened with an invalid format: %v", err)
		}
		var fr Frame
		if err := src.Read(&fr); err == nil {
			if err := fr.Format.Validate(); err != nil || len(fr.Data) != fr.Format.FrameSize() {
				t.Fatalf("frame %v with %d bytes: %v", fr.Format, len(fr.Data), err)
			}
			if fr.Format.W > int(w) || fr.Format.H > int(h) {
				t.Fatalf("frame %v larger than the negotiated %dx%d", fr.Format, w, h)
			}
		}
		src.Close()
		if fk.Opens != fk.Closes || fk.MappedNow() != 0 {
			t.Fatalf("not released: %v", fk)
		}
	})
}
