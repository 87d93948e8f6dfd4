package camera

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func benchImage() *RGB { return ToRGB(randomImage(rand.New(rand.NewPCG(9, 10)), 640, 480)) }

// BenchmarkApply is the one-shot path: coefficients, scratch and the
// normalisation table are rebuilt per call.
func BenchmarkApply(b *testing.B) {
	img := benchImage()
	p := DefaultPreprocess()
	dst := make([]float32, 224*224*3)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Apply(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineApply is the per-frame cost of a camera stream.
func BenchmarkPipelineApply(b *testing.B) {
	img := benchImage()
	pl, err := DefaultPreprocess().NewPipeline(img.W, img.H)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 224*224*3)
	b.ReportAllocs()
	for b.Loop() {
		if err := pl.Apply(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResizeFull resizes the whole frame (no crop window), as
// ResizeBicubic does.
func BenchmarkResizeFull(b *testing.B) {
	img := benchImage()
	rs, err := NewResampler(640, 480, 341, 256)
	if err != nil {
		b.Fatal(err)
	}
	dst := NewRGB(341, 256)
	b.ReportAllocs()
	for b.Loop() {
		rs.Resize(dst, img)
	}
}

// BenchmarkFusedVariants times, interleaved in one loop (the machine's load
// hits all alike), the VGA I420 frame through the fused path as it was
// before the row pipeline (whole rows converted, interleaved RGB passes),
// through the row pipeline with the generic kernels, and with this build's
// SIMD kernels (also without the windowed horizontal kernel, and with the
// quantization tables instead of vRowQ), and reports the medians.
func BenchmarkFusedVariants(b *testing.B) {
	f := FrameFormat{Pix: I420, W: 640, H: 480}
	fu, err := DefaultPreprocess().NewFused(f, Quant{Scale: 0.0187, Zero: -14})
	if err != nil {
		b.Fatal(err)
	}
	frame := testFrame(b, 1, f)
	dst := make([]int8, 224*224*3)
	rgb := NewRGB(f.W, f.H)
	legacy := func() {
		rs := fu.pl.rs
		convertRows(rgb.Pix, frame, f, fu.y0, fu.y1)
		from, to := rs.v.span(0, rs.win.H)
		rs.horizontal(rs.tmp, 3*rs.win.W, rgb.Pix, 3*f.W, from, to-from)
		fu.vertical(dst, rs.tmp, 3*rs.win.W, 0, from)
	}
	simd := fu.rows.k
	win, qok := fu.rows.winOK, fu.rows.qok
	rows := func(k *rowKernels, w, tables bool) func() {
		return func() {
			fu.rows.k, fu.rows.winOK, fu.rows.qok = k, w, qok
			if tables {
				fu.rows.qok[0] = false
			}
			fu.Apply(dst, frame)
		}
	}
	type variant struct {
		name string
		run  func()
		t    []time.Duration
	}
	variants := []variant{{name: "legacy", run: legacy}, {name: "generic", run: rows(genericRows, win, false)},
		{name: simd.name, run: rows(simd, win, false)}}
	if win && simd.hRowWin != nil { // the horizontal kernel without windows
		variants = append(variants, variant{name: simd.name + "-nowin", run: rows(simd, false, false)})
	}
	if qok == [3]bool{true, true, true} && simd.vRowQ != nil { // quantization tables in Go
		variants = append(variants, variant{name: simd.name + "-tables", run: rows(simd, win, true)})
	}
	for b.Loop() {
		for i := range variants {
			v := &variants[i]
			t0 := time.Now()
			v.run()
			v.t = append(v.t, time.Since(t0))
		}
	}
	for _, v := range variants {
		slices.Sort(v.t)
		b.ReportMetric(float64(v.t[len(v.t)/2].Microseconds())/1e3, v.name+"-ms")
	}
}

// BenchmarkFusedVGA is the fused path per pixel format of a 640x480 frame.
func BenchmarkFusedVGA(b *testing.B) {
	for _, pix := range []PixelFormat{I420, NV12, YUYV, YUV422P, YUV444P, RGB24, Gray} {
		b.Run(pix.String(), func(b *testing.B) {
			f := FrameFormat{Pix: pix, W: 640, H: 480}
			fu, err := DefaultPreprocess().NewFused(f, Quant{Scale: 0.0187, Zero: -14})
			if err != nil {
				b.Fatal(err)
			}
			frame := testFrame(b, 1, f)
			dst := make([]int8, 224*224*3)
			b.ReportAllocs()
			for b.Loop() {
				fu.Apply(dst, frame)
			}
		})
	}
}
