//go:build !purego

package kernels

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// threadCPU returns the calling thread's CPU time in ns: on a machine
// shared with other jobs it is far steadier than wall time.
func threadCPU() int64 {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// mixnetSDW lists MixNet-S's depthwise layers (mixnet_s, symmetric
// padding): input size, stride, channels per group, the group kernels and
// how many times the layer occurs.
var mixnetSDW = []struct {
	name        string
	h, s, group int
	ks          []int
	times       int
}{
	{"b0.0", 112, 1, 16, []int{3}, 1},
	{"b1.0", 112, 2, 96, []int{3}, 1},
	{"b1.1", 56, 1, 72, []int{3}, 1},
	{"b2.0", 56, 2, 48, []int{3, 5, 7}, 1},
	{"b2.x", 28, 1, 120, []int{3, 5}, 3},
	{"b3.0", 28, 2, 80, []int{3, 5, 7}, 1},
	{"b3.x", 14, 1, 240, []int{3, 5}, 2},
	{"b4.0", 14, 1, 160, []int{3, 5, 7}, 1},
	{"b4.x", 14, 1, 90, []int{3, 5, 7, 9}, 2},
	{"b5.0", 14, 2, 144, []int{3, 5, 7, 9, 11}, 1},
	{"b5.x", 7, 1, 300, []int{3, 5, 7, 9}, 2},
}

// BenchmarkAVX2DWMixNetS runs each MixNet-S depthwise layer (every group,
// channel-strided and with the tier's PackDW weights, as the model calls
// it) and, under "all", the whole
// network's depthwise work, once per op.
func BenchmarkAVX2DWMixNetS(b *testing.B) {
	type call struct {
		s       DWConvShape
		src     []int8
		dst     []int8
		w       []int8
		bias    []int32
		off     int
		macs    int
		repeats int
	}
	var all []call
	layers := make([][]call, len(mixnetSDW))
	for li, l := range mixnetSDW {
		c := l.group * len(l.ks)
		src := benchInt8s(l.h * l.h * c)
		for gi, k := range l.ks {
			oh, pad := SymmetricPad(l.h, k, l.s)
			cl := call{s: DWConvShape{H: l.h, W: l.h, C: l.group, InStride: c, OutStride: c, K: k, Stride: l.s,
				PadTop: pad, PadLeft: pad, OH: oh, OW: oh},
				src: src, dst: make([]int8, oh*oh*c), w: benchInt8s(k * k * l.group), bias: make([]int32, l.group),
				off: gi * l.group, macs: oh * oh * l.group * k * k, repeats: l.times}
			layers[li] = append(layers[li], cl)
			all = append(all, cl)
		}
	}
	rq := benchMults(1200)
	run := func(b *testing.B, tab *Table, calls []call, repeat bool) {
		f := tab.DWConv
		packed := make([][]int8, len(calls))
		for i, c := range calls {
			packed[i] = tab.PackDW(c.w, c.s.K, c.s.C)
		}
		macs := 0
		for _, c := range calls {
			n := 1
			if repeat {
				n = c.repeats
			}
			macs += n * c.macs
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := threadCPU()
		for b.Loop() {
			for i, c := range calls {
				n := 1
				if repeat {
					n = c.repeats
				}
				for range n {
					f(c.dst[c.off:], c.src[c.off:], packed[i], c.bias, rq, &c.s, -5, 3, -128, 127, 0, c.s.OH)
				}
			}
		}
		cpu := threadCPU() - t0
		reportGMACs(b, macs)
		b.ReportMetric(float64(macs)*float64(b.N)/float64(cpu), "cpuGMAC/s")
		b.ReportMetric(float64(cpu)/float64(b.N)/1e3, "cpu-us/op")
	}
	impls := []*Table{AVX2, Generic}
	for li, l := range mixnetSDW {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s_%dx%dx%dx%d_s%d/%s", l.name, l.h, l.h, l.group, len(l.ks), l.s, impl.Name), func(b *testing.B) {
				run(b, impl, layers[li], false)
			})
		}
	}
	for _, impl := range impls {
		b.Run("all/"+impl.Name, func(b *testing.B) { run(b, impl, all, true) })
	}
}
