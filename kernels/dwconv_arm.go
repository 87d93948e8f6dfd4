//go:build !purego

package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// dwRow32 is one kernel row of a run of output pixels whose taps all lie
// in image columns (see dwconv_neon_arm.s): pixel i's row starts at
// p + i*inc, its taps kxs bytes apart. A row in the padding points at a
// row of zIn with inc = kxs = 0.
type dwRow32 struct {
	p   *int8
	inc int
	kxs int
}

//go:noescape
func dw32K3R(dst *int8, outStride, n int, rows *dwRow32, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K5R(dst *int8, outStride, n int, rows *dwRow32, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K7R(dst *int8, outStride, n int, rows *dwRow32, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K9R(dst *int8, outStride, n int, rows *dwRow32, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K11R(dst *int8, outStride, n int, rows *dwRow32, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K3T(dst *int8, outStride, n int, taps **int8, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K5T(dst *int8, outStride, n int, taps **int8, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K7T(dst *int8, outStride, n int, taps **int8, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K9T(dst *int8, outStride, n int, taps **int8, w *int8, c int, bias, rqt *int32, zq *int8)

//go:noescape
func dw32K11T(dst *int8, outStride, n int, taps **int8, w *int8, c int, bias, rqt *int32, zq *int8)

const (
	dw32MaxC    = 2048 // widest channel group with a NEON path (the zIn rows)
	dw32MaxK    = 11
	dw32BorderN = 4 // border pixels per T call (their tap table is on the stack)
)

// dw32Z[z] is a row of z as wide as any channel group: padding rows and
// taps read block cb at +cb. Rows are filled on first use.
var (
	dw32Z      [256][dw32MaxC]int8
	dw32ZReady [256]atomic.Bool
	dw32ZMu    sync.Mutex
)

func dw32ZRow(zIn int32) *int8 {
	z := uint8(zIn)
	if !dw32ZReady[z].Load() {
		dw32ZMu.Lock()
		if !dw32ZReady[z].Load() {
			for i := range dw32Z[z] {
				dw32Z[z][i] = int8(z)
			}
			dw32ZReady[z].Store(true)
		}
		dw32ZMu.Unlock()
	}
	return &dw32Z[z][0]
}

// dw32Consts is a call's requantization table: M[c], then R[c] = -Shift[c],
// then zOut (8 x int16), qmin and qmax (16 x int8 each), at zq.
type dw32Consts struct {
	rqt [2 * dw32MaxC]int32
	zq  [48]int8
}

var dw32Scratch scratchSlots[dw32Consts]

// dwConvNeon32 is DWConvQS8 for 32-bit ARM NEON. Shapes outside its range
// (C < 16 or > 2048, K not odd in 3…11, a multiplier with Shift < 1) and
// calls that find every scratch slot busy take the generic kernel.
func dwConvNeon32(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	const name = "DWConvQS8 neon"
	if err := s.Validate(); err != nil {
		panic(err)
	}
	generic := s.C < 16 || s.C > dw32MaxC || s.K < 3 || s.K > dw32MaxK || s.K%2 == 0
	if !generic {
		need(name, "rq", len(rq), s.C)
		for _, m := range rq[:s.C] {
			generic = generic || m.Shift < 1 || m.Shift > quant.MaxShift
		}
	}
	var cs *dw32Consts
	slot := -1
	if !generic {
		if cs, slot = dw32Scratch.take(); cs == nil {
			generic = true
		}
	}
	if generic {
		DWConvQS8(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	defer dw32Scratch.release(slot)
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: %s: rows [%d, %d) outside [0, %d)", name, oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return
	}
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	need(name, "src", len(src), span(h*w, s.InStride, c))
	need(name, "dst", len(dst), span(oy1*s.OW, s.OutStride, c))
	need(name, "weights", len(weights), k*k*c)
	need(name, "bias", len(bias), c)

	for i, m := range rq[:c] {
		cs.rqt[i] = m.M
		cs.rqt[c+i] = -m.Shift
	}
	for i := range 8 {
		*(*int16)(unsafe.Pointer(&cs.zq[2*i])) = int16(zOut)
	}
	for i := range 16 {
		cs.zq[16+i] = int8(qmin)
		cs.zq[32+i] = int8(qmax)
	}
	rqt, zq := &cs.rqt[0], &cs.zq[0]
	zrow := dw32ZRow(zIn)

	// Interior columns: every kx of ox in [oxL, oxR) is inside the image.
	oxL := min((s.PadLeft+st-1)/st, s.OW)
	oxR := oxL
	if lim := w - k + s.PadLeft; lim >= 0 {
		oxR = min(max(lim/st+1, oxL), s.OW)
	}
	var rows [dw32MaxK]dwRow32
	var taps [dw32BorderN * dw32MaxK * dw32MaxK]*int8
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*st - s.PadTop
		if oxR > oxL {
			ix0 := oxL*st - s.PadLeft
			for ky := range k {
				iy := iy0 + ky
				if iy < 0 || iy >= h {
					rows[ky] = dwRow32{zrow, 0, 0}
				} else {
					rows[ky] = dwRow32{&src[(iy*w+ix0)*s.InStride], st * s.InStride, s.InStride}
				}
			}
			d := &dst[(oy*s.OW+oxL)*s.OutStride]
			n := oxR - oxL
			switch k {
			case 3:
				dw32K3R(d, s.OutStride, n, &rows[0], &weights[0], c, &bias[0], rqt, zq)
			case 5:
				dw32K5R(d, s.OutStride, n, &rows[0], &weights[0], c, &bias[0], rqt, zq)
			case 7:
				dw32K7R(d, s.OutStride, n, &rows[0], &weights[0], c, &bias[0], rqt, zq)
			case 9:
				dw32K9R(d, s.OutStride, n, &rows[0], &weights[0], c, &bias[0], rqt, zq)
			default:
				dw32K11R(d, s.OutStride, n, &rows[0], &weights[0], c, &bias[0], rqt, zq)
			}
		}
		// Columns whose window crosses the left or right padding: a
		// pointer per tap, up to dw32BorderN pixels a call.
		borders := [2][2]int{{0, oxL}, {oxR, s.OW}}
		if oxR <= oxL {
			borders = [2][2]int{{0, s.OW}, {s.OW, s.OW}}
		}
		for _, b := range borders {
			for ox0 := b[0]; ox0 < b[1]; ox0 += dw32BorderN {
				ox1 := min(ox0+dw32BorderN, b[1])
				i := 0
				for ox := ox0; ox < ox1; ox++ {
					ix0 := ox*st - s.PadLeft
					kx0, kx1 := max(-ix0, 0), min(w-ix0, k) // taps inside the image
					for ky := range k {
						row := taps[i : i+k]
						i += k
						iy := iy0 + ky
						if iy < 0 || iy >= h || kx0 >= kx1 {
							for j := range row {
								row[j] = zrow
							}
							continue
						}
						for j := range kx0 {
							row[j] = zrow
						}
						p := (iy*w + ix0 + kx0) * s.InStride
						for j := kx0; j < kx1; j++ {
							row[j] = &src[p]
							p += s.InStride
						}
						for j := kx1; j < k; j++ {
							row[j] = zrow
						}
					}
				}
				d := &dst[(oy*s.OW+ox0)*s.OutStride]
				n := ox1 - ox0
				switch k {
				case 3:
					dw32K3T(d, s.OutStride, n, &taps[0], &weights[0], c, &bias[0], rqt, zq)
				case 5:
					dw32K5T(d, s.OutStride, n, &taps[0], &weights[0], c, &bias[0], rqt, zq)
				case 7:
					dw32K7T(d, s.OutStride, n, &taps[0], &weights[0], c, &bias[0], rqt, zq)
				case 9:
					dw32K9T(d, s.OutStride, n, &taps[0], &weights[0], c, &bias[0], rqt, zq)
				default:
					dw32K11T(d, s.OutStride, n, &taps[0], &weights[0], c, &bias[0], rqt, zq)
				}
			}
		}
	}
}
