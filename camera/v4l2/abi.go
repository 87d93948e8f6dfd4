// Package v4l2 is the part of the Linux Video4Linux2 ABI
// (<linux/videodev2.h>) that the camera's V4L2 source uses: the structs it
// passes to ioctl, their request numbers and constants, written in Go for
// every GOARCH (C long and pointers are Go int and uintptr, so the layouts
// follow the architecture), and a Device interface that a real device node
// (Linux only) and the scripted Fake both implement.
//
// abi_test.go checks every size, offset, request number and constant
// against the C header with gcc, and the layout arithmetic for 32- and
// 64-bit targets in pure Go.
package v4l2

import "unsafe"

// Capability flags (struct v4l2_capability .capabilities, .device_caps).
const (
	CapVideoCapture       = 0x00000001
	CapVideoCaptureMplane = 0x00001000
	CapReadWrite          = 0x01000000
	CapStreaming          = 0x04000000
	CapDeviceCaps         = 0x80000000
)

// Buffer types, memory, fields and flags.
const (
	BufTypeVideoCapture = 1
	MemoryMmap          = 1
	FieldAny            = 0
	FieldNone           = 1
	BufFlagMapped       = 0x00000001
	BufFlagQueued       = 0x00000002
	BufFlagDone         = 0x00000004
	BufFlagError        = 0x00000040
	CapTimePerFrame     = 0x1000 // struct v4l2_captureparm .capability
	FmtFlagCompressed   = 0x0001 // struct v4l2_fmtdesc .flags
	QuantizationFull    = 1      // struct v4l2_pix_format .quantization: V4L2_QUANTIZATION_FULL_RANGE
	QuantizationLimited = 2      // V4L2_QUANTIZATION_LIM_RANGE
)

// Fourcc makes a V4L2 pixel format code.
func Fourcc(a, b, c, d byte) uint32 {
	return uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24
}

// FourccString is the four characters of a pixel format code.
func FourccString(f uint32) string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// Pixel formats the camera takes, and a few it recognises to explain why not.
const (
	PixFmtYUYV  = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	PixFmtMJPEG = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	PixFmtJPEG  = 'J' | 'P'<<8 | 'E'<<16 | 'G'<<24
)

// Capability is struct v4l2_capability.
type Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

// FmtDesc is struct v4l2_fmtdesc.
type FmtDesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

// PixFormat is struct v4l2_pix_format.
type PixFormat struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YcbcrEnc     uint32 // union with hsv_enc
	Quantization uint32
	XferFunc     uint32
}

// Format is struct v4l2_format: the union holds pointers (struct
// v4l2_window), so it is pointer aligned: 208 bytes on 64-bit, 204 on
// 32-bit targets.
type Format struct {
	Type uint32
	Fmt  [200 / unsafe.Sizeof(uintptr(0))]uintptr
}

// Pix is the fmt.pix member of the union.
func (f *Format) Pix() *PixFormat { return (*PixFormat)(unsafe.Pointer(&f.Fmt)) }

// Fract is struct v4l2_fract.
type Fract struct{ Numerator, Denominator uint32 }

// CaptureParm is struct v4l2_captureparm.
type CaptureParm struct {
	Capability   uint32
	CaptureMode  uint32
	TimePerFrame Fract
	ExtendedMode uint32
	ReadBuffers  uint32
	Reserved     [4]uint32
}

// StreamParm is struct v4l2_streamparm (its union has no pointers).
type StreamParm struct {
	Type uint32
	Parm [200]byte
}

// Capture is the parm.capture member of the union.
func (p *StreamParm) Capture() *CaptureParm { return (*CaptureParm)(unsafe.Pointer(&p.Parm)) }

// RequestBuffers is struct v4l2_requestbuffers.
type RequestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

// Timeval is struct timeval with the architecture's long (the layout
// every kernel accepts; 32-bit targets use the classic 32-bit time_t one).
type Timeval struct{ Sec, Usec int }

// Timecode is struct v4l2_timecode.
type Timecode struct {
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	Userbits [4]uint8
}

// Buffer is struct v4l2_buffer. M is the union m (offset, userptr,
// planes, fd): for MMAP buffers its low 32 bits are the offset.
type Buffer struct {
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	Timestamp Timeval
	Timecode  Timecode
	Sequence  uint32
	Memory    uint32
	M         uintptr
	Length    uint32
	Reserved2 uint32
	RequestFD int32 // union with reserved
}

// Offset is m.offset, the mmap offset of an MMAP buffer.
func (b *Buffer) Offset() uint32 { return uint32(b.M) }

// ioctl request numbers: _IOC(dir, 'V', nr, size) of <asm-generic/ioctl.h>,
// which amd64, arm and arm64 use.
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }

// The requests the source issues.
var (
	VidiocQueryCap  = ioc(iocRead, 0, unsafe.Sizeof(Capability{}))
	VidiocEnumFmt   = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(FmtDesc{}))
	VidiocGFmt      = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(Format{}))
	VidiocSFmt      = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(Format{}))
	VidiocReqBufs   = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(RequestBuffers{}))
	VidiocQueryBuf  = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(Buffer{}))
	VidiocQBuf      = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(Buffer{}))
	VidiocDQBuf     = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(Buffer{}))
	VidiocStreamOn  = ioc(iocWrite, 18, unsafe.Sizeof(int32(0)))
	VidiocStreamOff = ioc(iocWrite, 19, unsafe.Sizeof(int32(0)))
	VidiocGParm     = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(StreamParm{}))
	VidiocSParm     = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(StreamParm{}))
)

// RequestName names a request number (for errors and the fake).
func RequestName(req uintptr) string {
	switch req {
	case VidiocQueryCap:
		return "VIDIOC_QUERYCAP"
	case VidiocEnumFmt:
		return "VIDIOC_ENUM_FMT"
	case VidiocGFmt:
		return "VIDIOC_G_FMT"
	case VidiocSFmt:
		return "VIDIOC_S_FMT"
	case VidiocReqBufs:
		return "VIDIOC_REQBUFS"
	case VidiocQueryBuf:
		return "VIDIOC_QUERYBUF"
	case VidiocQBuf:
		return "VIDIOC_QBUF"
	case VidiocDQBuf:
		return "VIDIOC_DQBUF"
	case VidiocStreamOn:
		return "VIDIOC_STREAMON"
	case VidiocStreamOff:
		return "VIDIOC_STREAMOFF"
	case VidiocGParm:
		return "VIDIOC_G_PARM"
	case VidiocSParm:
		return "VIDIOC_S_PARM"
	}
	return "ioctl"
}
