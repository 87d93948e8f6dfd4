//go:build ignore

// gen.go makes photos/*.jpg from the original files (see README.md for
// where they come from):
//
//	go run gen.go -src DIR
//
// DIR holds the originals under their upstream names. Each must match the
// SHA-256 listed below; each is decoded, resized (PIL-exact bicubic, as the
// preprocessing does) so its shorter side is 256 pixels, encoded as JPEG at
// quality 90 and written to photos/NAME.jpg. It prints the SHA-256 of every
// file written, for README.md; photos_test.go checks them.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"

	"github.com/mixedge/mixedge/camera"
)

var originals = []struct{ name, file, sha256 string }{
	{"astronaut", "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"},
	{"chelsea", "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"},
	{"coffee", "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"},
	{"rocket", "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"},
	{"hubble_deep_field", "hubble_deep_field.jpg", "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4"},
	{"grace_hopper", "grace_hopper.jpg", "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"},
}

const (
	short   = 256
	quality = 90
)

func main() {
	src := flag.String("src", "", "directory holding the original files")
	out := flag.String("o", "photos", "output directory")
	flag.Parse()
	if *src == "" {
		fmt.Fprintln(os.Stderr, "usage: go run gen.go -src DIR [-o photos]")
		os.Exit(2)
	}
	for _, o := range originals {
		if err := convert(filepath.Join(*src, o.file), o.sha256, filepath.Join(*out, o.name+".jpg")); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

func convert(in, wantSum, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != wantSum {
		return fmt.Errorf("%s: SHA-256 %x, want %s (not the original this set was made from)", in, sum, wantSum)
	}
	img, err := camera.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	w, h := short*img.W/img.H, short
	if img.W < img.H {
		w, h = short, short*img.H/img.W
	}
	dst := camera.NewRGB(w, h)
	camera.ResizeBicubic(dst, img)
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(rgba.Pix[4*i:4*i+3], dst.Pix[3*i:3*i+3])
		rgba.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: quality}); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	fmt.Printf("%s  %x  %dx%d  %d bytes\n", filepath.Base(out), sum, w, h, buf.Len())
	return nil
}
