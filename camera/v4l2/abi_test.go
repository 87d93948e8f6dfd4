package v4l2

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// abiEntry is one number of the ABI: a C expression and the Go value.
type abiEntry struct {
	name, c string
	goV     uintptr
}

// goABI lists every size, offset, request number and constant the camera
// uses, as Go computes them for this GOARCH.
func goABI() []abiEntry {
	var (
		c  Capability
		d  FmtDesc
		p  PixFormat
		f  Format
		fr Fract
		cp CaptureParm
		sp StreamParm
		rb RequestBuffers
		tc Timecode
		b  Buffer
	)
	e := []abiEntry{
		{"sizeof capability", "sizeof(struct v4l2_capability)", unsafe.Sizeof(c)},
		{"capability.driver", "offsetof(struct v4l2_capability, driver)", unsafe.Offsetof(c.Driver)},
		{"capability.card", "offsetof(struct v4l2_capability, card)", unsafe.Offsetof(c.Card)},
		{"capability.bus_info", "offsetof(struct v4l2_capability, bus_info)", unsafe.Offsetof(c.BusInfo)},
		{"capability.version", "offsetof(struct v4l2_capability, version)", unsafe.Offsetof(c.Version)},
		{"capability.capabilities", "offsetof(struct v4l2_capability, capabilities)", unsafe.Offsetof(c.Capabilities)},
		{"capability.device_caps", "offsetof(struct v4l2_capability, device_caps)", unsafe.Offsetof(c.DeviceCaps)},
		{"capability.reserved", "offsetof(struct v4l2_capability, reserved)", unsafe.Offsetof(c.Reserved)},

		{"sizeof fmtdesc", "sizeof(struct v4l2_fmtdesc)", unsafe.Sizeof(d)},
		{"fmtdesc.type", "offsetof(struct v4l2_fmtdesc, type)", unsafe.Offsetof(d.Type)},
		{"fmtdesc.flags", "offsetof(struct v4l2_fmtdesc, flags)", unsafe.Offsetof(d.Flags)},
		{"fmtdesc.description", "offsetof(struct v4l2_fmtdesc, description)", unsafe.Offsetof(d.Description)},
		{"fmtdesc.pixelformat", "offsetof(struct v4l2_fmtdesc, pixelformat)", unsafe.Offsetof(d.PixelFormat)},
		{"fmtdesc.mbus_code", "offsetof(struct v4l2_fmtdesc, mbus_code)", unsafe.Offsetof(d.MbusCode)},

		{"sizeof pix_format", "sizeof(struct v4l2_pix_format)", unsafe.Sizeof(p)},
		{"pix_format.pixelformat", "offsetof(struct v4l2_pix_format, pixelformat)", unsafe.Offsetof(p.PixelFormat)},
		{"pix_format.field", "offsetof(struct v4l2_pix_format, field)", unsafe.Offsetof(p.Field)},
		{"pix_format.bytesperline", "offsetof(struct v4l2_pix_format, bytesperline)", unsafe.Offsetof(p.BytesPerLine)},
		{"pix_format.sizeimage", "offsetof(struct v4l2_pix_format, sizeimage)", unsafe.Offsetof(p.SizeImage)},
		{"pix_format.colorspace", "offsetof(struct v4l2_pix_format, colorspace)", unsafe.Offsetof(p.Colorspace)},
		{"pix_format.flags", "offsetof(struct v4l2_pix_format, flags)", unsafe.Offsetof(p.Flags)},
		{"pix_format.ycbcr_enc", "offsetof(struct v4l2_pix_format, ycbcr_enc)", unsafe.Offsetof(p.YcbcrEnc)},
		{"pix_format.quantization", "offsetof(struct v4l2_pix_format, quantization)", unsafe.Offsetof(p.Quantization)},
		{"pix_format.xfer_func", "offsetof(struct v4l2_pix_format, xfer_func)", unsafe.Offsetof(p.XferFunc)},

		{"sizeof format", "sizeof(struct v4l2_format)", unsafe.Sizeof(f)},
		{"format.fmt", "offsetof(struct v4l2_format, fmt)", unsafe.Offsetof(f.Fmt)},
		{"format.fmt.pix", "offsetof(struct v4l2_format, fmt.pix)", unsafe.Offsetof(f.Fmt)},

		{"sizeof fract", "sizeof(struct v4l2_fract)", unsafe.Sizeof(fr)},
		{"sizeof captureparm", "sizeof(struct v4l2_captureparm)", unsafe.Sizeof(cp)},
		{"captureparm.capturemode", "offsetof(struct v4l2_captureparm, capturemode)", unsafe.Offsetof(cp.CaptureMode)},
		{"captureparm.timeperframe", "offsetof(struct v4l2_captureparm, timeperframe)", unsafe.Offsetof(cp.TimePerFrame)},
		{"captureparm.extendedmode", "offsetof(struct v4l2_captureparm, extendedmode)", unsafe.Offsetof(cp.ExtendedMode)},
		{"captureparm.readbuffers", "offsetof(struct v4l2_captureparm, readbuffers)", unsafe.Offsetof(cp.ReadBuffers)},
		{"sizeof streamparm", "sizeof(struct v4l2_streamparm)", unsafe.Sizeof(sp)},
		{"streamparm.parm", "offsetof(struct v4l2_streamparm, parm)", unsafe.Offsetof(sp.Parm)},

		{"sizeof requestbuffers", "sizeof(struct v4l2_requestbuffers)", unsafe.Sizeof(rb)},
		{"requestbuffers.type", "offsetof(struct v4l2_requestbuffers, type)", unsafe.Offsetof(rb.Type)},
		{"requestbuffers.memory", "offsetof(struct v4l2_requestbuffers, memory)", unsafe.Offsetof(rb.Memory)},
		{"requestbuffers.capabilities", "offsetof(struct v4l2_requestbuffers, capabilities)", unsafe.Offsetof(rb.Capabilities)},
		{"requestbuffers.flags", "offsetof(struct v4l2_requestbuffers, flags)", unsafe.Offsetof(rb.Flags)},

		{"sizeof timecode", "sizeof(struct v4l2_timecode)", unsafe.Sizeof(tc)},
		{"timecode.frames", "offsetof(struct v4l2_timecode, frames)", unsafe.Offsetof(tc.Frames)},
		{"timecode.userbits", "offsetof(struct v4l2_timecode, userbits)", unsafe.Offsetof(tc.Userbits)},

		{"sizeof buffer", "sizeof(struct v4l2_buffer)", unsafe.Sizeof(b)},
		{"buffer.type", "offsetof(struct v4l2_buffer, type)", unsafe.Offsetof(b.Type)},
		{"buffer.bytesused", "offsetof(struct v4l2_buffer, bytesused)", unsafe.Offsetof(b.BytesUsed)},
		{"buffer.flags", "offsetof(struct v4l2_buffer, flags)", unsafe.Offsetof(b.Flags)},
		{"buffer.field", "offsetof(struct v4l2_buffer, field)", unsafe.Offsetof(b.Field)},
		{"buffer.timestamp", "offsetof(struct v4l2_buffer, timestamp)", unsafe.Offsetof(b.Timestamp)},
		{"sizeof buffer.timestamp", "sizeof(((struct v4l2_buffer *)0)->timestamp)", unsafe.Sizeof(b.Timestamp)},
		{"buffer.timecode", "offsetof(struct v4l2_buffer, timecode)", unsafe.Offsetof(b.Timecode)},
		{"buffer.sequence", "offsetof(struct v4l2_buffer, sequence)", unsafe.Offsetof(b.Sequence)},
		{"buffer.memory", "offsetof(struct v4l2_buffer, memory)", unsafe.Offsetof(b.Memory)},
		{"buffer.m", "offsetof(struct v4l2_buffer, m)", unsafe.Offsetof(b.M)},
		{"buffer.m.offset", "offsetof(struct v4l2_buffer, m.offset)", unsafe.Offsetof(b.M)},
		{"sizeof buffer.m", "sizeof(((struct v4l2_buffer *)0)->m)", unsafe.Sizeof(b.M)},
		{"buffer.length", "offsetof(struct v4l2_buffer, length)", unsafe.Offsetof(b.Length)},
		{"buffer.reserved2", "offsetof(struct v4l2_buffer, reserved2)", unsafe.Offsetof(b.Reserved2)},
		{"buffer.request_fd", "offsetof(struct v4l2_buffer, request_fd)", unsafe.Offsetof(b.RequestFD)},

		{"VIDIOC_QUERYCAP", "VIDIOC_QUERYCAP", VidiocQueryCap},
		{"VIDIOC_ENUM_FMT", "VIDIOC_ENUM_FMT", VidiocEnumFmt},
		{"VIDIOC_G_FMT", "VIDIOC_G_FMT", VidiocGFmt},
		{"VIDIOC_S_FMT", "VIDIOC_S_FMT", VidiocSFmt},
		{"VIDIOC_REQBUFS", "VIDIOC_REQBUFS", VidiocReqBufs},
		{"VIDIOC_QUERYBUF", "VIDIOC_QUERYBUF", VidiocQueryBuf},
		{"VIDIOC_QBUF", "VIDIOC_QBUF", VidiocQBuf},
		{"VIDIOC_DQBUF", "VIDIOC_DQBUF", VidiocDQBuf},
		{"VIDIOC_STREAMON", "VIDIOC_STREAMON", VidiocStreamOn},
		{"VIDIOC_STREAMOFF", "VIDIOC_STREAMOFF", VidiocStreamOff},
		{"VIDIOC_G_PARM", "VIDIOC_G_PARM", VidiocGParm},
		{"VIDIOC_S_PARM", "VIDIOC_S_PARM", VidiocSParm},
	}
	for _, k := range []struct {
		c string
		v uintptr
	}{
		{"V4L2_CAP_VIDEO_CAPTURE", CapVideoCapture}, {"V4L2_CAP_VIDEO_CAPTURE_MPLANE", CapVideoCaptureMplane},
		{"V4L2_CAP_READWRITE", CapReadWrite}, {"V4L2_CAP_STREAMING", CapStreaming}, {"V4L2_CAP_DEVICE_CAPS", CapDeviceCaps},
		{"V4L2_BUF_TYPE_VIDEO_CAPTURE", BufTypeVideoCapture}, {"V4L2_MEMORY_MMAP", MemoryMmap},
		{"V4L2_FIELD_ANY", FieldAny}, {"V4L2_FIELD_NONE", FieldNone},
		{"V4L2_BUF_FLAG_MAPPED", BufFlagMapped}, {"V4L2_BUF_FLAG_QUEUED", BufFlagQueued}, {"V4L2_BUF_FLAG_DONE", BufFlagDone},
		{"V4L2_BUF_FLAG_ERROR", BufFlagError}, {"V4L2_CAP_TIMEPERFRAME", CapTimePerFrame}, {"V4L2_FMT_FLAG_COMPRESSED", FmtFlagCompressed},
		{"V4L2_QUANTIZATION_FULL_RANGE", QuantizationFull}, {"V4L2_QUANTIZATION_LIM_RANGE", QuantizationLimited},
		{"V4L2_PIX_FMT_YUYV", PixFmtYUYV}, {"V4L2_PIX_FMT_MJPEG", PixFmtMJPEG}, {"V4L2_PIX_FMT_JPEG", PixFmtJPEG},
	} {
		e = append(e, abiEntry{k.c, k.c, k.v})
	}
	return e
}

// cLayout is the C layout arithmetic (natural alignment, the only padding
// from long and pointer members) for a target whose long and pointers are
// ptr bytes: what every Go struct above must come to on that target.
func cLayout(ptr uintptr) map[string]uintptr {
	align := func(off, a uintptr) uintptr { return (off + a - 1) / a * a }
	m := map[string]uintptr{
		"sizeof capability": 104, "sizeof fmtdesc": 64, "sizeof pix_format": 48, "sizeof fract": 8,
		"sizeof captureparm": 40, "sizeof streamparm": 204, "sizeof requestbuffers": 20, "sizeof timecode": 16,
		"format.fmt": align(4, ptr), // the union holds pointers (struct v4l2_window)
	}
	m["sizeof format"] = align(m["format.fmt"]+200, ptr)
	ts := align(20, ptr) // struct timeval: two longs after five __u32
	tc := ts + 2*ptr
	mo := align(tc+16+4+4, ptr) // after timecode, sequence, memory
	req := mo + ptr + 4 + 4     // after m (unsigned long / pointer), length, reserved2
	m["buffer.timestamp"], m["buffer.timecode"], m["buffer.m"], m["buffer.request_fd"] = ts, tc, mo, req
	m["sizeof buffer"] = align(req+4, ptr)
	ioc := func(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }
	m["VIDIOC_QUERYCAP"] = ioc(2, 0, 104)
	m["VIDIOC_ENUM_FMT"] = ioc(3, 2, 64)
	m["VIDIOC_G_FMT"] = ioc(3, 4, m["sizeof format"])
	m["VIDIOC_S_FMT"] = ioc(3, 5, m["sizeof format"])
	m["VIDIOC_REQBUFS"] = ioc(3, 8, 20)
	m["VIDIOC_QUERYBUF"] = ioc(3, 9, m["sizeof buffer"])
	m["VIDIOC_QBUF"] = ioc(3, 15, m["sizeof buffer"])
	m["VIDIOC_DQBUF"] = ioc(3, 17, m["sizeof buffer"])
	m["VIDIOC_STREAMON"] = ioc(1, 18, 4)
	m["VIDIOC_STREAMOFF"] = ioc(1, 19, 4)
	m["VIDIOC_G_PARM"] = ioc(3, 21, 204)
	m["VIDIOC_S_PARM"] = ioc(3, 22, 204)
	return m
}

// The layout arithmetic itself, against request numbers as the kernel
// headers give them on 64-bit (x86-64, arm64) and 32-bit (i386, armhf)
// targets.
func TestLayoutArithmetic(t *testing.T) {
	known := map[uintptr]map[string]uintptr{
		8: {"VIDIOC_QUERYCAP": 0x80685600, "VIDIOC_ENUM_FMT": 0xc0405602, "VIDIOC_S_FMT": 0xc0d05605, "VIDIOC_REQBUFS": 0xc0145608,
			"VIDIOC_QUERYBUF": 0xc0585609, "VIDIOC_QBUF": 0xc058560f, "VIDIOC_DQBUF": 0xc0585611, "VIDIOC_STREAMON": 0x40045612,
			"VIDIOC_S_PARM": 0xc0cc5616, "sizeof buffer": 88, "sizeof format": 208},
		4: {"VIDIOC_S_FMT": 0xc0cc5605, "VIDIOC_QUERYBUF": 0xc0445609, "VIDIOC_QBUF": 0xc044560f, "VIDIOC_DQBUF": 0xc0445611,
			"sizeof buffer": 68, "sizeof format": 204},
	}
	for ptr, k := range known {
		l := cLayout(ptr)
		for name, v := range k {
			if l[name] != v {
				t.Errorf("%d-bit %s: arithmetic gives %#x, the header %#x", 8*ptr, name, l[name], v)
			}
		}
	}
}

// The Go structs on this GOARCH (amd64, arm64 under qemu, arm) have the
// layout the C rules give for its pointer size.
func TestGoLayoutThisArch(t *testing.T) {
	want := cLayout(unsafe.Sizeof(uintptr(0)))
	n := 0
	for _, e := range goABI() {
		if v, ok := want[e.name]; ok {
			n++
			if v != e.goV {
				t.Errorf("%s %s: Go %d (%#x), C layout %d (%#x)", runtime.GOARCH, e.name, e.goV, e.goV, v, v)
			}
		}
	}
	if n < len(want) {
		t.Errorf("only %d of %d layout numbers checked", n, len(want))
	}
	var b Buffer
	b.M = 0xdeadbeef | uintptr(1)<<(8*unsafe.Sizeof(uintptr(0))-1)
	if b.Offset() != 0xdeadbeef {
		t.Errorf("m.offset %#x", b.Offset())
	}
	if FourccString(PixFmtMJPEG) != "MJPG" || Fourcc('Y', 'U', 'Y', 'V') != PixFmtYUYV || FourccString(0x00ff0a41) != "A???" {
		t.Errorf("fourcc: %q %q", FourccString(PixFmtMJPEG), FourccString(0x00ff0a41))
	}
}

// cValues compiles a C file that includes <linux/videodev2.h> and reads
// every value back from the assembly (each as the .size of two arrays, so
// no program runs: works for cross compilers too).
func cValues(t *testing.T, cc string, flags []string, entries []abiEntry) (map[string]uintptr, error) {
	var src bytes.Buffer
	src.WriteString("#include <stddef.h>\n#include <linux/videodev2.h>\n")
	for i, e := range entries {
		fmt.Fprintf(&src, "char v%d_hi[(((unsigned long long)(%s)) >> 16) + 1];\n", i, e.c)
		fmt.Fprintf(&src, "char v%d_lo[(((unsigned long long)(%s)) & 0xffff) + 1];\n", i, e.c)
	}
	dir := t.TempDir()
	cf := filepath.Join(dir, "abi.c")
	if err := os.WriteFile(cf, src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, flags...), "-fno-common", "-S", "-o", "-", cf)
	out, err := exec.Command(cc, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", cc, strings.Join(args, " "), err, out)
	}
	sizes := map[string]uintptr{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", " "))
		if len(f) == 3 && f[0] == ".size" {
			if n, err := strconv.ParseUint(f[2], 10, 64); err == nil {
				sizes[f[1]] = uintptr(n) - 1
			}
		}
	}
	vals := map[string]uintptr{}
	for i, e := range entries {
		hi, ok1 := sizes[fmt.Sprintf("v%d_hi", i)]
		lo, ok2 := sizes[fmt.Sprintf("v%d_lo", i)]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: no value for %s in the assembly", cc, e.c)
		}
		vals[e.name] = hi<<16 | lo
	}
	return vals, nil
}

// gccFor is the compiler targeting goarch: the native gcc
// when it targets GOARCH, else the usual cross compiler.
func gccFor(goarch string) (string, error) {
	if out, err := exec.Command("gcc", "-dumpmachine").Output(); err == nil {
		m := strings.TrimSpace(string(out))
		native := map[string]string{"x86_64": "amd64", "aarch64": "arm64", "arm": "arm", "i686": "386", "i386": "386"}
		if native[strings.Split(m, "-")[0]] == goarch {
			return "gcc", nil
		}
	}
	cross := map[string]string{"arm64": "aarch64-linux-gnu-gcc", "arm": "arm-linux-gnueabihf-gcc", "amd64": "x86_64-linux-gnu-gcc"}[goarch]
	if cross != "" {
		if p, err := exec.LookPath(cross); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no gcc targeting %s (native gcc missing or for another architecture, no %s)", goarch, cross)
}

// Every number the Go definitions use equals the C header's for this
// GOARCH, compiled by gcc against <linux/videodev2.h>.
func TestHeaderMatchesGo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the V4L2 header is Linux's")
	}
	cc, err := gccFor(runtime.GOARCH)
	if err != nil {
		t.Skipf("header check skipped: %v", err)
	}
	if _, err := os.Stat("/usr/include/linux/videodev2.h"); err != nil && cc == "gcc" {
		t.Skipf("header check skipped: %v (install linux-libc-dev)", err)
	}
	entries := goABI()
	c, err := cValues(t, cc, nil, entries)
	if err != nil {
		t.Skipf("header check skipped: the C side does not build: %v", err)
	}
	for _, e := range entries {
		if c[e.name] != e.goV {
			t.Errorf("%s: C %d (%#x), Go %d (%#x)", e.name, c[e.name], c[e.name], e.goV, e.goV)
		}
	}
	t.Logf("%s (%s): %d sizes, offsets, request numbers and constants agree", cc, runtime.GOARCH, len(entries))
}

// The 32-bit layout (armhf's; i386 lays these structs out the same, as no
// member is 64-bit) from gcc -m32 against the same header equals the
// arithmetic the arm build relies on. The 32-bit libc headers are often
// absent: sys/time.h is then supplied with the classic 32-bit struct
// timeval, the layout the source uses on 32-bit targets.
func TestHeader32Bit(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the 32-bit check runs on amd64 hosts with gcc -m32")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	if _, err := os.Stat("/usr/include/linux/videodev2.h"); err != nil {
		t.Skipf("no V4L2 header: %v", err)
	}
	shim := filepath.Join(t.TempDir(), "shim")
	os.MkdirAll(filepath.Join(shim, "sys"), 0o755)
	os.WriteFile(filepath.Join(shim, "sys", "time.h"), []byte("struct timeval { long tv_sec; long tv_usec; };\nstruct timespec { long tv_sec; long tv_nsec; };\n"), 0o644)
	want := cLayout(4)
	var entries []abiEntry
	for _, e := range goABI() {
		if _, ok := want[e.name]; ok {
			entries = append(entries, e)
		}
	}
	c, err := cValues(t, "gcc", []string{"-m32", "-I", shim, "-I", "/usr/include/x86_64-linux-gnu"}, entries)
	if err != nil {
		t.Skipf("gcc -m32 does not build here: %v", err)
	}
	for _, e := range entries {
		if c[e.name] != want[e.name] {
			t.Errorf("32-bit %s: gcc -m32 %d (%#x), arithmetic %d (%#x)", e.name, c[e.name], c[e.name], want[e.name], want[e.name])
		}
	}
	t.Logf("gcc -m32: %d 32-bit layout numbers agree with the arithmetic", len(entries))
}
