package camera

import (
	"math/rand/v2"
	"testing"
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
