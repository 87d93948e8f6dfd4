//go:build linux

package camera

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mixedge/mixedge/camera/v4l2"
)

// V4L2Source captures from a Video4Linux2 device (a USB webcam) with
// streaming I/O: buffers mapped once, each frame copied out of its buffer
// (YUYV, honouring the driver's row stride) or decoded (MJPEG, into planar
// full-range YUV) and the buffer handed back at once. Waits are bounded: a
// camera that delivers nothing for Timeout is an error (or, with
// Reconnect, a reason to reopen it), as is an unplugged one (ENODEV).
// Read allocates nothing for YUYV; MJPEG decoding allocates in image/jpeg.
// Close may be called from another goroutine while Read waits.
type V4L2Source struct {
	path string
	o    V4L2Options
	open v4l2.Opener

	mu        sync.Mutex // held by Read, setup and Close
	closing   atomic.Bool
	closeCh   chan struct{}
	closeOnce sync.Once

	dev       v4l2.Device
	bufs      [][]byte
	streaming bool
	mjpeg     bool
	f         FrameFormat // of the frames Read delivers (MJPEG: until a frame says otherwise)
	fourcc    uint32
	info      string
	dec       MJPEGDecoder
	jpg       []byte      // the compressed frame, copied out before requeueing
	buf       v4l2.Buffer // the DQBUF/QBUF argument, reused
	seq       int64
	broken    error
	reopened  atomic.Int64
}

// Reconnects counts the times --reconnect reopened the device.
func (s *V4L2Source) Reconnects() int64 { return s.reopened.Load() }

const (
	v4l2DefaultW, v4l2DefaultH = 640, 480
	v4l2PollSlice              = 100 * time.Millisecond // how often a waiting Read looks for Close
)

// v4l2Backoff is the first wait before reopening a device (tests shorten it).
var v4l2Backoff = 250 * time.Millisecond

func openV4L2(path string, o V4L2Options) (Source, error) {
	if o.Buffers <= 0 {
		o.Buffers = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	switch o.Format = strings.ToLower(o.Format); o.Format {
	case "", "yuyv", "mjpeg":
	case "yuyv422", "yuy2":
		o.Format = "yuyv"
	case "mjpg", "jpeg":
		o.Format = "mjpeg"
	default:
		return nil, fmt.Errorf("camera: v4l2 %s: --format %s: a webcam delivers yuyv or mjpeg", path, o.Format)
	}
	if o.FPS < 0 || math.IsNaN(o.FPS) || math.IsInf(o.FPS, 0) || o.FPS > 1000 {
		return nil, fmt.Errorf("camera: v4l2 %s: frame rate %v: want 0 (the driver's) or up to 1000", path, o.FPS)
	}
	if o.W == 0 && o.H == 0 {
		o.W, o.H = v4l2DefaultW, v4l2DefaultH
	}
	if err := checkSize("v4l2", o.W, o.H); err != nil {
		return nil, err
	}
	s := &V4L2Source{path: path, o: o, open: o.Open, closeCh: make(chan struct{})}
	if s.open == nil {
		s.open = v4l2.Open
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setup(); err != nil {
		return nil, err
	}
	s.logf("%s", s.info)
	return s, nil
}

func (s *V4L2Source) logf(format string, a ...any) {
	if s.o.Log != nil {
		s.o.Log(fmt.Sprintf("v4l2 "+format, a...))
	}
}

// short is an error of this source without the "camera: v4l2 " prefix.
func (s *V4L2Source) short(err error) string {
	return strings.TrimPrefix(err.Error(), "camera: v4l2 ")
}

func (s *V4L2Source) errorf(format string, a ...any) error {
	return fmt.Errorf("camera: v4l2 %s: "+format, append([]any{s.path}, a...)...)
}

// ioctl issues a request, retrying when a signal interrupts it.
func (s *V4L2Source) ioctl(req uintptr, arg unsafe.Pointer) error {
	for {
		err := s.dev.Ioctl(req, arg)
		if err != syscall.EINTR {
			return err
		}
	}
}

// gone reports an error that means the device is no longer there.
func gone(err error) bool {
	return errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EIO) ||
		errors.Is(err, syscall.ENOENT)
}

// Format is the format of the frames: YUYV with the driver's stride, or for
// MJPEG the planar full-range YUV the decoder gives (YUV422P, what webcams
// send, until a frame says otherwise in Frame.Format).
func (s *V4L2Source) Format() FrameFormat { return s.f }

// Info says what the driver chose: device, card, format, size, rate,
// buffers.
func (s *V4L2Source) Info() string { return s.info }

// setup opens the device and negotiates everything up to STREAMON. On
// error everything opened is released.
func (s *V4L2Source) setup() (err error) {
	dev, err := s.open(s.path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT):
			return s.errorf("no such device (list cameras with 'ls /dev/video*' or 'v4l2-ctl --list-devices'): %w", err)
		case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
			return s.errorf("permission denied: add yourself to the video group ('sudo usermod -aG video $USER', then log in again): %w", err)
		case errors.Is(err, syscall.EBUSY):
			return s.errorf("in use by another program: %w", err)
		}
		return s.errorf("open: %w", err)
	}
	s.dev = dev
	defer func() {
		if err != nil {
			s.teardown()
		}
	}()
	var c v4l2.Capability
	if err := s.ioctl(v4l2.VidiocQueryCap, unsafe.Pointer(&c)); err != nil {
		if err == syscall.ENOTTY || err == syscall.EINVAL {
			return s.errorf("not a V4L2 device (VIDIOC_QUERYCAP: %v)", err)
		}
		return s.errorf("VIDIOC_QUERYCAP: %w", err)
	}
	caps := c.Capabilities
	if caps&v4l2.CapDeviceCaps != 0 {
		caps = c.DeviceCaps
	}
	card, driver := cstr(c.Card[:]), cstr(c.Driver[:])
	switch {
	case caps&v4l2.CapVideoCapture == 0 && caps&v4l2.CapVideoCaptureMplane != 0:
		return s.errorf("%q (%s) is a multi-planar capture node (a Raspberry Pi ISP or CSI camera, capabilities %#x); mixedge reads single-planar webcams: pipe the Pi camera in instead: rpicam-vid -t 0 --codec yuv420 --width 640 --height 480 -o - | mixedge stream --source pipe:- --format i420 --size 640x480",
			card, driver, caps)
	case caps&v4l2.CapVideoCapture == 0:
		return s.errorf("%q (%s) is not a video capture device (capabilities %#x; want VIDEO_CAPTURE %#x); try another /dev/video* ('v4l2-ctl --list-devices')",
			card, driver, caps, v4l2.CapVideoCapture)
	case caps&v4l2.CapStreaming == 0:
		return s.errorf("%q (%s) cannot stream (capabilities %#x lack STREAMING %#x)", card, driver, caps, v4l2.CapStreaming)
	}
	// The formats offered.
	var offered []string
	var haveYUYV, haveMJPEG bool
	var mjpegCode uint32 = v4l2.PixFmtMJPEG
	for i := uint32(0); i < 64; i++ {
		d := v4l2.FmtDesc{Index: i, Type: v4l2.BufTypeVideoCapture}
		if err := s.ioctl(v4l2.VidiocEnumFmt, unsafe.Pointer(&d)); err != nil {
			if err == syscall.EINVAL {
				break
			}
			return s.errorf("VIDIOC_ENUM_FMT: %w", err)
		}
		offered = append(offered, fmt.Sprintf("%s (%s)", v4l2.FourccString(d.PixelFormat), cstr(d.Description[:])))
		switch d.PixelFormat {
		case v4l2.PixFmtYUYV:
			haveYUYV = true
		case v4l2.PixFmtMJPEG, v4l2.PixFmtJPEG:
			if !haveMJPEG {
				mjpegCode = d.PixelFormat
			}
			haveMJPEG = true
		}
	}
	list := strings.Join(offered, ", ")
	if list == "" {
		list = "no formats"
	}
	var want uint32
	switch {
	case !haveYUYV && !haveMJPEG:
		return s.errorf("%q (%s) offers %s; mixedge reads YUYV or MJPEG. A Raspberry Pi CSI camera node gives raw Bayer: pipe it through rpicam-vid instead: rpicam-vid -t 0 --codec yuv420 --width 640 --height 480 -o - | mixedge stream --source pipe:- --format i420 --size 640x480",
			card, driver, list)
	case s.o.Format == "yuyv" && !haveYUYV:
		return s.errorf("%q offers %s, not YUYV: use --format mjpeg", card, list)
	case s.o.Format == "mjpeg" && !haveMJPEG:
		return s.errorf("%q offers %s, not MJPEG: use --format yuyv", card, list)
	case s.o.Format == "mjpeg" || (s.o.Format == "" && !haveYUYV):
		want = mjpegCode
	default:
		want = v4l2.PixFmtYUYV
	}
	var fm v4l2.Format
	fm.Type = v4l2.BufTypeVideoCapture
	*fm.Pix() = v4l2.PixFormat{Width: uint32(s.o.W), Height: uint32(s.o.H), PixelFormat: want, Field: v4l2.FieldNone}
	if err := s.ioctl(v4l2.VidiocSFmt, unsafe.Pointer(&fm)); err != nil {
		if err == syscall.EBUSY {
			return s.errorf("VIDIOC_S_FMT: the camera is in use by another program: %w", err)
		}
		return s.errorf("VIDIOC_S_FMT %s %dx%d: %w", v4l2.FourccString(want), s.o.W, s.o.H, err)
	}
	fm = v4l2.Format{Type: v4l2.BufTypeVideoCapture}
	if err := s.ioctl(v4l2.VidiocGFmt, unsafe.Pointer(&fm)); err != nil {
		return s.errorf("VIDIOC_G_FMT: %w", err)
	}
	p := *fm.Pix()
	w, h := int(p.Width), int(p.Height)
	if err := checkSize("v4l2 "+s.path, w, h); err != nil {
		return err
	}
	switch p.PixelFormat {
	case v4l2.PixFmtYUYV:
		st := int(p.BytesPerLine)
		if st == 0 {
			st = 2 * w
		}
		f := FrameFormat{Pix: YUYV, W: w, H: h, Stride: st}
		if p.Quantization == v4l2.QuantizationFull {
			f.Range = RangeFull
		}
		if err := f.Validate(); err != nil {
			return s.errorf("driver's YUYV format: %w", err)
		}
		if p.SizeImage != 0 && int(p.SizeImage) < f.FrameSize() {
			return s.errorf("driver's YUYV %dx%d buffers hold %d bytes, less than %d rows of %d", w, h, p.SizeImage, h, st)
		}
		s.f, s.mjpeg = f, false
	case v4l2.PixFmtMJPEG, v4l2.PixFmtJPEG:
		s.f, s.mjpeg = FrameFormat{Pix: YUV422P, W: w, H: h, Range: RangeFull}, true
		s.dec.MaxW, s.dec.MaxH = w, h
	default:
		return s.errorf("asked for %s, the driver chose %s (offers %s)", v4l2.FourccString(want), v4l2.FourccString(p.PixelFormat), list)
	}
	s.fourcc = p.PixelFormat
	rate := s.frameRate()
	// Buffers.
	rb := v4l2.RequestBuffers{Count: uint32(s.o.Buffers), Type: v4l2.BufTypeVideoCapture, Memory: v4l2.MemoryMmap}
	if err := s.ioctl(v4l2.VidiocReqBufs, unsafe.Pointer(&rb)); err != nil {
		if err == syscall.EINVAL {
			return s.errorf("no memory-mapped streaming (VIDIOC_REQBUFS: %v)", err)
		}
		return s.errorf("VIDIOC_REQBUFS %d: %w", s.o.Buffers, err)
	}
	if rb.Count < 2 {
		return s.errorf("the driver granted %d buffers, need at least 2", rb.Count)
	}
	for i := range rb.Count {
		b := v4l2.Buffer{Index: i, Type: v4l2.BufTypeVideoCapture, Memory: v4l2.MemoryMmap}
		if err := s.ioctl(v4l2.VidiocQueryBuf, unsafe.Pointer(&b)); err != nil {
			return s.errorf("VIDIOC_QUERYBUF %d: %w", i, err)
		}
		if b.Length == 0 || (!s.mjpeg && int(b.Length) < s.f.FrameSize()) {
			return s.errorf("buffer %d holds %d bytes, a %s frame needs %d", i, b.Length, s.f, s.f.FrameSize())
		}
		m, err := s.dev.Mmap(int64(b.Offset()), int(b.Length))
		if err != nil {
			return s.errorf("mmap buffer %d (%d bytes): %w", i, b.Length, err)
		}
		s.bufs = append(s.bufs, m)
	}
	for i := range s.bufs {
		b := v4l2.Buffer{Index: uint32(i), Type: v4l2.BufTypeVideoCapture, Memory: v4l2.MemoryMmap}
		if err := s.ioctl(v4l2.VidiocQBuf, unsafe.Pointer(&b)); err != nil {
			return s.errorf("VIDIOC_QBUF %d: %w", i, err)
		}
	}
	typ := int32(v4l2.BufTypeVideoCapture)
	if err := s.ioctl(v4l2.VidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		return s.errorf("VIDIOC_STREAMON: %w", err)
	}
	s.streaming = true
	asked := ""
	if w != s.o.W || h != s.o.H {
		asked = fmt.Sprintf(" (asked %dx%d)", s.o.W, s.o.H)
	}
	kind, stride := "YUYV", ""
	if s.mjpeg {
		kind = "MJPEG"
	} else if s.f.Stride != 2*w {
		stride = fmt.Sprintf(" stride %d", s.f.Stride)
	}
	s.info = fmt.Sprintf("%s: %q (%s): %s %dx%d%s%s %s range, %s, %d buffers; offers %s",
		s.path, card, driver, kind, w, h, asked, stride, s.f.Range, rate, len(s.bufs), list)
	return nil
}

// frameRate asks for o.FPS (when set) and says what the driver runs at.
func (s *V4L2Source) frameRate() string {
	var p v4l2.StreamParm
	p.Type = v4l2.BufTypeVideoCapture
	if err := s.ioctl(v4l2.VidiocGParm, unsafe.Pointer(&p)); err != nil {
		if s.o.FPS > 0 {
			return fmt.Sprintf("frame rate unknown (VIDIOC_G_PARM: %v; --fps %g not applied)", err, s.o.FPS)
		}
		return "frame rate unknown"
	}
	c := p.Capture()
	if s.o.FPS > 0 {
		if c.Capability&v4l2.CapTimePerFrame == 0 {
			return fmt.Sprintf("%s (the driver cannot set the rate; --fps %g not applied)", fract(c.TimePerFrame), s.o.FPS)
		}
		c.TimePerFrame = v4l2.Fract{Numerator: 1000, Denominator: uint32(math.Round(s.o.FPS * 1000))}
		if err := s.ioctl(v4l2.VidiocSParm, unsafe.Pointer(&p)); err != nil {
			return fmt.Sprintf("--fps %g not applied (VIDIOC_S_PARM: %v)", s.o.FPS, err)
		}
		r := fract(p.Capture().TimePerFrame)
		return fmt.Sprintf("%s (asked %g fps)", r, s.o.FPS)
	}
	return fract(c.TimePerFrame)
}

func fract(f v4l2.Fract) string {
	if f.Numerator == 0 || f.Denominator == 0 {
		return "frame rate unknown"
	}
	return fmt.Sprintf("%.4g fps", float64(f.Denominator)/float64(f.Numerator))
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// teardown stops streaming and releases the buffers and the device; errors
// are ignored (the device may be gone).
func (s *V4L2Source) teardown() {
	if s.dev == nil {
		return
	}
	if s.streaming {
		typ := int32(v4l2.BufTypeVideoCapture)
		s.ioctl(v4l2.VidiocStreamOff, unsafe.Pointer(&typ))
		s.streaming = false
	}
	for _, b := range s.bufs {
		s.dev.Munmap(b)
	}
	if len(s.bufs) > 0 {
		rb := v4l2.RequestBuffers{Type: v4l2.BufTypeVideoCapture, Memory: v4l2.MemoryMmap}
		s.ioctl(v4l2.VidiocReqBufs, unsafe.Pointer(&rb))
	}
	s.bufs = nil
	s.dev.Close()
	s.dev = nil
}

func (s *V4L2Source) Read(f *Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.broken != nil {
			return s.broken
		}
		if s.closing.Load() {
			return io.EOF
		}
		if s.dev == nil {
			if err := s.reconnect(); err != nil {
				return err
			}
		}
		err := s.next(f)
		if err == nil || errors.Is(err, ErrCorrupt) {
			return err
		}
		if s.closing.Load() {
			return io.EOF
		}
		if s.o.Reconnect && (gone(err) || errors.Is(err, ErrStalled)) {
			s.logf("%s; reopening", s.short(err))
			s.teardown()
			continue
		}
		s.broken = err
		return err
	}
}

// reconnect reopens the device with backoff (v4l2Backoff doubling to 5 s) until
// it works or the source is closed.
func (s *V4L2Source) reconnect() error {
	wait := v4l2Backoff
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(wait)
		select {
		case <-s.closeCh:
			t.Stop()
			return io.EOF
		case <-t.C:
		}
		err := s.setup()
		if err == nil {
			s.reopened.Add(1)
			s.logf("%s: reopened after %d attempts: %s", s.path, attempt, s.info)
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			s.logf("%s: reopening failed (attempt %d, next in %v): %s", s.path, attempt, min(2*wait, 5*time.Second),
				strings.TrimPrefix(s.short(err), s.path+": "))
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// next waits for a frame, copies (YUYV) or decodes (MJPEG) it into f and
// requeues its buffer.
func (s *V4L2Source) next(f *Frame) error {
	deadline := time.Now().Add(s.o.Timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return s.errorf("no frame for %v (%w): is the camera still connected, or did another program take it? --reconnect reopens it", s.o.Timeout, ErrStalled)
		}
		ready, err := s.dev.Poll(min(left, v4l2PollSlice))
		if s.closing.Load() {
			return io.EOF
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			if gone(err) {
				return s.errorf("the camera is gone (unplugged?): poll: %w", err)
			}
			return s.errorf("poll: %w", err)
		}
		if !ready {
			continue
		}
		s.buf = v4l2.Buffer{Type: v4l2.BufTypeVideoCapture, Memory: v4l2.MemoryMmap}
		err = s.ioctl(v4l2.VidiocDQBuf, unsafe.Pointer(&s.buf))
		if err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			if gone(err) {
				return s.errorf("the camera is gone (unplugged?): VIDIOC_DQBUF: %w", err)
			}
			return s.errorf("VIDIOC_DQBUF: %w", err)
		}
		break
	}
	i := int(s.buf.Index)
	if i >= len(s.bufs) {
		return s.errorf("VIDIOC_DQBUF returned buffer %d of %d", i, len(s.bufs))
	}
	data := s.bufs[i]
	data = data[:min(int(s.buf.BytesUsed), len(data))]
	seq := s.seq
	s.seq++
	var bad string
	switch {
	case s.buf.Flags&v4l2.BufFlagError != 0:
		bad = "the driver flagged it as damaged"
	case s.mjpeg:
		s.jpg = append(s.jpg[:0], data...)
	case len(data) < s.f.FrameSize():
		bad = "short"
	default:
		f.ensure(s.f.FrameSize())
		copy(f.Data, data)
		f.Format = s.f
	}
	if err := s.ioctl(v4l2.VidiocQBuf, unsafe.Pointer(&s.buf)); err != nil {
		if gone(err) {
			return s.errorf("the camera is gone (unplugged?): VIDIOC_QBUF: %w", err)
		}
		return s.errorf("VIDIOC_QBUF %d: %w", i, err)
	}
	if bad == "short" {
		return s.errorf("frame %d: %d bytes, a %s frame has %d: %w", seq, len(data), s.f, s.f.FrameSize(), ErrCorrupt)
	} else if bad != "" {
		return s.errorf("frame %d: %s: %w", seq, bad, ErrCorrupt)
	}
	if s.mjpeg {
		if err := s.dec.Decode(f, s.jpg); err != nil {
			return s.errorf("frame %d: %w", seq, err)
		}
	}
	f.Seq, f.Time = seq, time.Now()
	return nil
}

// Close stops streaming, unmaps the buffers and closes the device. A Read
// waiting in another goroutine returns io.EOF first.
func (s *V4L2Source) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.closeCh)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teardown()
	return nil
}
