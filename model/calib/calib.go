// Package calib holds the pictures that calibrate int8 activation ranges
// when the user brings none: a few freely licensed photographs shipped in
// the binary (photos/, see README.md for their sources and licences),
// their mirror images and crops, and camera's synthetic pictures.
//
// Default is the set `mixedge convert` uses without --calib; why it is
// that set is measured by model's TestDefaultCalibrationSet and written
// up in docs/QUANTIZATION.md.
package calib

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"github.com/mixedge/mixedge/camera"
)

//go:embed photos/*.jpg
var photoFS embed.FS

// Image is one calibration picture, decoded or drawn on demand.
type Image struct {
	Name  string // e.g. "chelsea.jpg", "chelsea.jpg mirrored", "synthetic #3"
	Photo string // the shipped photo it is made from ("chelsea.jpg"); "" if synthetic
	load  func() (*camera.RGB, error)
}

// Load decodes or draws the picture.
func (im Image) Load() (*camera.RGB, error) {
	m, err := im.load()
	if err != nil {
		return nil, fmt.Errorf("calib: %s: %w", im.Name, err)
	}
	return m, nil
}

// PhotoNames lists the shipped photos (file names under photos/), sorted.
func PhotoNames() []string {
	ents, err := fs.ReadDir(photoFS, "photos")
	if err != nil {
		return nil // cannot happen: the directory is embedded
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// PhotoFile returns the JPEG bytes of a shipped photo.
func PhotoFile(name string) ([]byte, error) {
	data, err := photoFS.ReadFile("photos/" + name)
	if err != nil {
		return nil, fmt.Errorf("calib: no shipped photo %q (have %v)", name, PhotoNames())
	}
	return data, nil
}

func decodePhoto(name string) (*camera.RGB, error) {
	data, err := PhotoFile(name)
	if err != nil {
		return nil, err
	}
	return camera.Decode(bytes.NewReader(data))
}

// Photos returns the shipped photos as they are.
func Photos() []Image {
	var out []Image
	for _, n := range PhotoNames() {
		n := n
		out = append(out, Image{Name: n, Photo: n, load: func() (*camera.RGB, error) { return decodePhoto(n) }})
	}
	return out
}

// Mirrored returns the shipped photos flipped left to right.
func Mirrored() []Image {
	var out []Image
	for _, n := range PhotoNames() {
		n := n
		out = append(out, Image{Name: n + " mirrored", Photo: n, load: func() (*camera.RGB, error) {
			m, err := decodePhoto(n)
			if err != nil {
				return nil, err
			}
			return Mirror(m), nil
		}})
	}
	return out
}

// Cropped returns the central two thirds (per side) of each shipped photo,
// which preprocessing then enlarges: the same scenes seen closer.
func Cropped() []Image {
	var out []Image
	for _, n := range PhotoNames() {
		n := n
		out = append(out, Image{Name: n + " cropped", Photo: n, load: func() (*camera.RGB, error) {
			m, err := decodePhoto(n)
			if err != nil {
				return nil, err
			}
			return Crop(m, m.W/6, m.H/6, m.W-2*(m.W/6), m.H-2*(m.H/6))
		}})
	}
	return out
}

// SyntheticSize is the side of the synthetic calibration pictures.
const SyntheticSize = 256

// Synthetic returns camera.SyntheticImage for seeds 0..n-1.
func Synthetic(n int) []Image {
	var out []Image
	for i := 0; i < n; i++ {
		seed := uint64(i)
		out = append(out, Image{Name: fmt.Sprintf("synthetic #%d", i), load: func() (*camera.RGB, error) {
			return camera.SyntheticImage(seed, SyntheticSize, SyntheticSize), nil
		}})
	}
	return out
}

// DefaultSynthetic is how many synthetic pictures Default includes.
const DefaultSynthetic = 8

// Default is the calibration set used when the user gives none.
func Default() []Image {
	return append(Photos(), Synthetic(DefaultSynthetic)...)
}

// Mirror returns m flipped left to right.
func Mirror(m *camera.RGB) *camera.RGB {
	out := camera.NewRGB(m.W, m.H)
	for y := 0; y < m.H; y++ {
		src, dst := m.Pix[3*y*m.W:3*(y+1)*m.W], out.Pix[3*y*m.W:3*(y+1)*m.W]
		for x := 0; x < m.W; x++ {
			copy(dst[3*x:3*x+3], src[3*(m.W-1-x):3*(m.W-x)])
		}
	}
	return out
}

// Crop returns the w×h window of m at (x0, y0).
func Crop(m *camera.RGB, x0, y0, w, h int) (*camera.RGB, error) {
	if x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0+w > m.W || y0+h > m.H {
		return nil, fmt.Errorf("crop %dx%d at (%d,%d) outside the %dx%d image", w, h, x0, y0, m.W, m.H)
	}
	out := camera.NewRGB(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[3*y*w:3*(y+1)*w], m.Pix[3*((y0+y)*m.W+x0):3*((y0+y)*m.W+x0+w)])
	}
	return out, nil
}
