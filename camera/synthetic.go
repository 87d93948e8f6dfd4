package camera

import (
	"math"
	"math/rand/v2"
)

// SyntheticImage draws a deterministic w×h picture for seed: a colour
// gradient background with shapes, stripes, rings, checkers and noise laid
// over it. Odd seeds are "graphic": saturated colours (each channel 0 or
// 255) and hard opaque edges, the extremes that screens, signs and printed
// patterns put in front of a camera; even seeds are soft and blended. It
// stands in for real photographs when calibrating int8 ranges without data
// (--calib-synthetic): what matters is that it spans the colours, edges and
// textures a camera sees, extremes included.
func SyntheticImage(seed uint64, w, h int) *RGB {
	rng := rand.New(rand.NewPCG(seed, 0x73796e746865))
	img := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	graphic := seed%2 == 1
	col := func() [3]float64 {
		if graphic {
			return [3]float64{float64(255 * rng.IntN(2)), float64(255 * rng.IntN(2)), float64(255 * rng.IntN(2))}
		}
		return [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	}

	// Background: a linear gradient between two colours at a random angle.
	c0, c1 := col(), col()
	ang := rng.Float64() * 2 * math.Pi
	dx, dy := math.Cos(ang), math.Sin(ang)
	buf := make([]float64, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			t := 0.5 + 0.5*((float64(x)/float64(w)-0.5)*dx+(float64(y)/float64(h)-0.5)*dy)*1.4
			t = math.Min(1, math.Max(0, t))
			for c := 0; c < 3; c++ {
				buf[3*(y*w+x)+c] = c0[c]*(1-t) + c1[c]*t
			}
		}
	}
	layers := 2 + rng.IntN(5)
	for l := 0; l < layers; l++ {
		c := col()
		alpha := 0.4 + 0.6*rng.Float64()
		if graphic {
			alpha = 1
		}
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		r := (0.05 + 0.4*rng.Float64()) * float64(min(w, h))
		freq := 2 * math.Pi / (3 + rng.Float64()*30)
		sa := rng.Float64() * math.Pi
		sx, sy := math.Cos(sa), math.Sin(sa)
		cell := 2 + rng.IntN(24)
		kind := rng.IntN(6)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				fx, fy := float64(x), float64(y)
				var m float64 // coverage of this layer at (x, y)
				switch kind {
				case 0: // disc
					if (fx-cx)*(fx-cx)+(fy-cy)*(fy-cy) < r*r {
						m = 1
					}
				case 1: // rectangle
					if math.Abs(fx-cx) < r && math.Abs(fy-cy) < r*0.6 {
						m = 1
					}
				case 2: // stripes
					m = 0.5 + 0.5*math.Sin((fx*sx+fy*sy)*freq)
				case 3: // checkers inside a square
					if math.Abs(fx-cx) < 1.5*r && math.Abs(fy-cy) < 1.5*r && (x/cell+y/cell)%2 == 0 {
						m = 1
					}
				case 4: // soft blob
					d2 := ((fx-cx)*(fx-cx) + (fy-cy)*(fy-cy)) / (r * r)
					m = math.Exp(-d2)
				case 5: // concentric rings
					if int(math.Hypot(fx-cx, fy-cy)/float64(cell))%2 == 0 {
						m = 1
					}
				}
				if graphic && kind == 2 { // hard stripes
					m = math.Round(m)
				}
				if m == 0 {
					continue
				}
				a := alpha * m
				for ch := 0; ch < 3; ch++ {
					p := &buf[3*(y*w+x)+ch]
					*p = *p*(1-a) + c[ch]*a
				}
			}
		}
	}
	noise := rng.Float64() * 20
	if graphic {
		noise = rng.Float64() * 4
	}
	for i, v := range buf {
		v += rng.NormFloat64() * noise
		img.Pix[i] = uint8(math.Min(255, math.Max(0, math.Round(v))))
	}
	return img
}
