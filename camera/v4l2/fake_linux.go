package v4l2

import (
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Fake is a scripted V4L2 capture device for tests: it answers the ioctls
// the camera source issues like a UVC driver would (format negotiation to
// the nearest size it offers, a FIFO of queued buffers, EBUSY when buffers
// are freed while mapped), and its Script says what the camera does for
// each frame: deliver bytes, interrupt a call, stall, or disappear.
type Fake struct {
	Driver, Card string
	Caps         uint32 // device capabilities (default: capture + streaming)
	Formats      []FakeFormat
	Pad          int  // bytes added to each row of an uncompressed format
	FullRange    bool // report V4L2_QUANTIZATION_FULL_RANGE for YUYV
	NoFrameRate  bool // the driver cannot set the frame rate
	MaxBuffers   int  // REQBUFS grants at most this many (default 4)
	// Script is what the camera does, one step per frame; the last step
	// repeats. A step with Frame delivers it (and consumes the step).
	Script []FakeStep
	// Unplugged is how many Open calls fail with ENOENT after a Gone step
	// (the time the camera takes to come back).
	Unplugged int
	// Quirk, when set, edits the format the driver settles on (a buggy or
	// hostile driver: odd strides, sizes, buffer lengths).
	Quirk func(*PixFormat)

	mu       sync.Mutex
	step     int // index into Script
	dev      *fakeDev
	gone     bool
	failOpen int
	// Calls counts requests by name, Opens and Closes the device
	// lifecycles, MappedNow the buffers mapped at this moment.
	Calls                   map[string]int
	Opens, Closes, Unmapped int
	Served                  int // frames delivered
}

// FakeFormat is one pixel format and the sizes the fake offers for it.
type FakeFormat struct {
	Fourcc uint32
	Desc   string
	Sizes  [][2]int
}

// FakeStep is one thing the camera does.
type FakeStep struct {
	Frame   []byte        // bytes of a frame (delivered by DQBUF)
	Flags   uint32        // buffer flags of that frame (BufFlagError: damaged)
	PollErr syscall.Errno // Poll fails once with this (EINTR)
	DQErr   syscall.Errno // DQBUF fails once with this (EAGAIN, EINTR, EIO)
	QErr    syscall.Errno // the QBUF that requeues the frame fails once with this
	Stall   bool          // no frame ever comes (Poll times out)
	Gone    bool          // the camera is unplugged: every call fails with ENODEV
}

type fakeDev struct {
	f         *Fake
	closed    bool
	pix       PixFormat
	tpf       Fract
	bufs      [][]byte
	mapped    []bool
	queue     []int
	streaming bool
	seq       uint32
}

// Open is the fake's Opener.
func (f *Fake) Open(path string) (Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOpen > 0 {
		f.failOpen--
		return nil, syscall.ENOENT
	}
	if f.gone { // plugged back in: the script goes on after the Gone step
		f.gone = false
		f.advance()
	}
	f.Opens++
	if f.Calls == nil {
		f.Calls = map[string]int{}
	}
	d := &fakeDev{f: f, tpf: Fract{1, 30}}
	if len(f.Formats) > 0 {
		ff := f.Formats[0]
		d.negotiate(ff.Fourcc, uint32(ff.Sizes[0][0]), uint32(ff.Sizes[0][1]))
	}
	f.dev = d
	return d, nil
}

func (f *Fake) current() *FakeStep {
	if len(f.Script) == 0 {
		return &FakeStep{Stall: true}
	}
	return &f.Script[min(f.step, len(f.Script)-1)]
}

func (f *Fake) advance() {
	if f.step < len(f.Script)-1 {
		f.step++
	}
}

// MappedNow is the number of buffers currently mapped.
func (f *Fake) MappedNow() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if f.dev != nil {
		for _, m := range f.dev.mapped {
			if m {
				n++
			}
		}
	}
	return n
}

func (d *fakeDev) format(fourcc uint32) *FakeFormat {
	for i := range d.f.Formats {
		if d.f.Formats[i].Fourcc == fourcc {
			return &d.f.Formats[i]
		}
	}
	return nil
}

// negotiate picks the format (the first one when fourcc is not offered)
// and its size nearest to w×h, as drivers do.
func (d *fakeDev) negotiate(fourcc, w, h uint32) {
	ff := d.format(fourcc)
	if ff == nil {
		ff = &d.f.Formats[0]
	}
	best, bd := ff.Sizes[0], -1
	for _, s := range ff.Sizes {
		dd := abs(s[0]-int(w)) + abs(s[1]-int(h))
		if bd < 0 || dd < bd {
			best, bd = s, dd
		}
	}
	p := PixFormat{Width: uint32(best[0]), Height: uint32(best[1]), PixelFormat: ff.Fourcc, Field: FieldNone, Colorspace: 8 /* SRGB */}
	if ff.Fourcc == PixFmtMJPEG || ff.Fourcc == PixFmtJPEG {
		p.SizeImage = p.Width * p.Height * 2
		p.Colorspace = 7 // JPEG
	} else {
		p.BytesPerLine = 2*p.Width + uint32(d.f.Pad)
		p.SizeImage = p.BytesPerLine * p.Height
		p.Quantization = QuantizationLimited
		if d.f.FullRange {
			p.Quantization = QuantizationFull
		}
	}
	if d.f.Quirk != nil {
		d.f.Quirk(&p)
	}
	d.pix = p
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (d *fakeDev) Ioctl(req uintptr, arg unsafe.Pointer) error {
	f := d.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls[RequestName(req)]++
	if d.closed {
		return syscall.EBADF
	}
	if f.gone {
		return syscall.ENODEV
	}
	switch req {
	case VidiocQueryCap:
		c := (*Capability)(arg)
		*c = Capability{}
		copy(c.Driver[:], f.Driver)
		copy(c.Card[:], f.Card)
		copy(c.BusInfo[:], "usb-fake")
		caps := f.Caps
		if caps == 0 {
			caps = CapVideoCapture | CapStreaming
		}
		c.Capabilities, c.DeviceCaps = caps|CapDeviceCaps, caps
	case VidiocEnumFmt:
		e := (*FmtDesc)(arg)
		if e.Type != BufTypeVideoCapture || int(e.Index) >= len(f.Formats) {
			return syscall.EINVAL
		}
		ff := f.Formats[e.Index]
		e.PixelFormat, e.Flags = ff.Fourcc, 0
		if ff.Fourcc == PixFmtMJPEG || ff.Fourcc == PixFmtJPEG {
			e.Flags = FmtFlagCompressed
		}
		clear(e.Description[:])
		copy(e.Description[:], ff.Desc)
	case VidiocSFmt, VidiocGFmt:
		fm := (*Format)(arg)
		if fm.Type != BufTypeVideoCapture {
			return syscall.EINVAL
		}
		if req == VidiocSFmt {
			if len(d.bufs) > 0 {
				return syscall.EBUSY
			}
			p := fm.Pix()
			d.negotiate(p.PixelFormat, p.Width, p.Height)
		}
		*fm.Pix() = d.pix
	case VidiocGParm, VidiocSParm:
		p := (*StreamParm)(arg)
		if p.Type != BufTypeVideoCapture {
			return syscall.EINVAL
		}
		c := p.Capture()
		if req == VidiocSParm && !f.NoFrameRate && c.TimePerFrame.Denominator > 0 && c.TimePerFrame.Numerator > 0 {
			// 5 to 30 fps.
			fps := float64(c.TimePerFrame.Denominator) / float64(c.TimePerFrame.Numerator)
			d.tpf = Fract{1, uint32(max(5, min(30, int(fps+0.5))))}
		}
		*c = CaptureParm{ReadBuffers: 2}
		if !f.NoFrameRate {
			c.Capability, c.TimePerFrame = CapTimePerFrame, d.tpf
		}
	case VidiocReqBufs:
		r := (*RequestBuffers)(arg)
		if r.Type != BufTypeVideoCapture || r.Memory != MemoryMmap {
			return syscall.EINVAL
		}
		for _, m := range d.mapped {
			if m {
				return syscall.EBUSY
			}
		}
		if d.streaming {
			return syscall.EBUSY
		}
		n := int(r.Count)
		if mb := f.MaxBuffers; mb > 0 {
			n = min(n, mb)
		} else {
			n = min(n, 4)
		}
		d.bufs, d.mapped, d.queue = nil, nil, nil
		for range n {
			d.bufs = append(d.bufs, make([]byte, d.pix.SizeImage))
			d.mapped = append(d.mapped, false)
		}
		r.Count, r.Capabilities = uint32(n), 1
	case VidiocQueryBuf, VidiocQBuf, VidiocDQBuf:
		b := (*Buffer)(arg)
		if b.Type != BufTypeVideoCapture || b.Memory != MemoryMmap {
			return syscall.EINVAL
		}
		switch req {
		case VidiocDQBuf:
			return d.dqbuf(b)
		case VidiocQBuf:
			st := f.current()
			if st.QErr != 0 {
				e := st.QErr
				st.QErr = 0
				return e
			}
		}
		if int(b.Index) >= len(d.bufs) {
			return syscall.EINVAL
		}
		i := int(b.Index)
		if req == VidiocQBuf {
			for _, q := range d.queue {
				if q == i {
					return syscall.EINVAL // queued twice
				}
			}
			d.queue = append(d.queue, i)
			return nil
		}
		*b = Buffer{Index: b.Index, Type: b.Type, Memory: b.Memory, Length: uint32(len(d.bufs[i])), M: uintptr(i) * 4096}
	case VidiocStreamOn, VidiocStreamOff:
		if *(*int32)(arg) != BufTypeVideoCapture {
			return syscall.EINVAL
		}
		if req == VidiocStreamOn {
			if len(d.queue) == 0 && len(d.bufs) == 0 {
				return syscall.EINVAL
			}
			d.streaming = true
		} else {
			d.streaming, d.queue = false, nil
		}
	default:
		return syscall.ENOTTY
	}
	return nil
}

func (d *fakeDev) dqbuf(b *Buffer) error {
	f := d.f
	st := f.current()
	switch {
	case st.DQErr != 0:
		e := st.DQErr
		st.DQErr = 0
		return e
	case !d.streaming:
		return syscall.EINVAL
	case st.Stall || len(d.queue) == 0:
		return syscall.EAGAIN
	case st.Gone:
		f.gone = true
		f.failOpen = f.Unplugged
		return syscall.ENODEV
	}
	i := d.queue[0]
	d.queue = d.queue[1:]
	n := copy(d.bufs[i], st.Frame)
	*b = Buffer{Index: uint32(i), Type: b.Type, Memory: b.Memory, BytesUsed: uint32(n), Flags: st.Flags | BufFlagMapped | BufFlagDone,
		Field: FieldNone, Sequence: d.seq, Length: uint32(len(d.bufs[i])), M: uintptr(i) * 4096}
	d.seq++
	f.Served++
	f.advance()
	return nil
}

func (d *fakeDev) Mmap(offset int64, length int) ([]byte, error) {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	i := int(offset / 4096)
	if d.closed || offset%4096 != 0 || i >= len(d.bufs) || length != len(d.bufs[i]) || length == 0 {
		return nil, syscall.EINVAL
	}
	d.mapped[i] = true
	return d.bufs[i], nil
}

func (d *fakeDev) Munmap(b []byte) error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	for i, buf := range d.bufs {
		if len(b) > 0 && len(buf) > 0 && &buf[0] == &b[0] && d.mapped[i] {
			d.mapped[i] = false
			d.f.Unmapped++
			return nil
		}
	}
	return syscall.EINVAL
}

func (d *fakeDev) Poll(timeout time.Duration) (bool, error) {
	f := d.f
	f.mu.Lock()
	st := f.current()
	switch {
	case d.closed:
		f.mu.Unlock()
		return false, syscall.EBADF
	case f.gone:
		f.mu.Unlock()
		return true, nil // POLLERR: DQBUF says ENODEV
	case st.PollErr != 0:
		e := st.PollErr
		st.PollErr = 0
		f.mu.Unlock()
		return false, e
	case st.Stall || !d.streaming || len(d.queue) == 0:
		f.mu.Unlock()
		time.Sleep(timeout)
		return false, nil
	}
	f.mu.Unlock()
	return true, nil
}

func (d *fakeDev) Close() error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	if d.closed {
		return syscall.EBADF
	}
	d.closed = true
	d.f.Closes++
	return nil
}

// String summarises the calls made (for test failures).
func (f *Fake) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("fake: %d opens, %d closes, %d unmapped, %d served, calls %v", f.Opens, f.Closes, f.Unmapped, f.Served, f.Calls)
}
