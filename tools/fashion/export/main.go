// Command export writes Fashion-MNIST (Debian's dataset-fashion-mnist) as
// ImageFolder trees of 28x28 grey PNGs, for `mixedge eval` and
// `mixedge convert --calib`:
//
//	OUT/calib/<class>/*.png  every 100th picture of the training split (600, none of them validation ones)
//	OUT/val/<class>/*.png    the validation part of the training split (5000)
//	OUT/test/<class>/*.png   the test split (10000): final figures only
//
// Class folders are the labels with '/' replaced by '-' (T-shirt-top).
package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/mixedge/mixedge/tools/fashion/fmnist"
)

func main() {
	out := flag.String("o", "fmnist", "output directory")
	dir := flag.String("data", fmnist.Dir, "directory of the IDX files")
	flag.Parse()
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

// FolderName is the ImageFolder directory of a label.
func FolderName(label string) string { return strings.ReplaceAll(label, "/", "-") }

func run(dir, out string) error {
	train, err := fmnist.Load(dir, "train")
	if err != nil {
		return err
	}
	test, err := fmnist.Load(dir, "t10k")
	if err != nil {
		return err
	}
	n := 0
	for i := 0; i < train.N; i++ {
		switch {
		case fmnist.IsValidation(i):
			err = write(out, "val", train, i)
		case i%100 == 0:
			err = write(out, "calib", train, i)
		default:
			continue
		}
		if err != nil {
			return err
		}
		n++
	}
	for i := 0; i < test.N; i++ {
		if err := write(out, "test", test, i); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d training-split and %d test pictures under %s\n", n, test.N, out)
	return nil
}

func write(out, split string, s *fmnist.Set, i int) error {
	d := filepath.Join(out, split, FolderName(fmnist.Labels[s.Labels[i]]))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	m := image.NewGray(image.Rect(0, 0, s.W, s.H))
	copy(m.Pix, s.Pix[i*s.W*s.H:(i+1)*s.W*s.H])
	path := filepath.Join(d, fmt.Sprintf("%05d.png", i))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, m); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
