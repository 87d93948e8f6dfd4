// Package fmnist reads Fashion-MNIST in its IDX files (Debian's
// dataset-fashion-mnist installs them under /usr/share/datasets) for
// mixedge's accuracy fixtures, and names the split rule that the training
// script (tools/fashion/train.py) and the Go tests share.
package fmnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mixedge/mixedge/camera"
)

// Dir is where Debian's dataset-fashion-mnist puts the files.
const Dir = "/usr/share/datasets/fashion-mnist"

// Labels are the ten classes, in label order.
var Labels = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// Set is one split: N grey W×H pictures and their labels.
type Set struct {
	N, W, H int
	Pix     []uint8 // N×H×W
	Labels  []uint8
}

// Image returns picture i as RGB (grey replicated), as a grey PNG decodes.
func (s *Set) Image(i int) *camera.RGB {
	m := camera.NewRGB(s.W, s.H)
	s.ImageInto(m, i)
	return m
}

// ImageInto writes picture i into m, which must be W×H.
func (s *Set) ImageInto(m *camera.RGB, i int) {
	src := s.Pix[i*s.W*s.H:][:s.W*s.H]
	for j, v := range src {
		m.Pix[3*j], m.Pix[3*j+1], m.Pix[3*j+2] = v, v, v
	}
}

// IsValidation is the split rule of the 60k training split: every 12th
// picture (index % 12 == 11, 5000 in all) is held out for validation and
// for choosing defaults; the others are trained on and calibrated with.
func IsValidation(i int) bool { return i%12 == 11 }

// Load reads "train" or "t10k" from dir.
func Load(dir, split string) (*Set, error) {
	imgPath := filepath.Join(dir, split+"-images-idx3-ubyte.gz")
	lblPath := filepath.Join(dir, split+"-labels-idx1-ubyte.gz")
	img, dims, err := readIDXFile(imgPath, 3)
	if err != nil {
		return nil, err
	}
	lbl, ldims, err := readIDXFile(lblPath, 1)
	if err != nil {
		return nil, err
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("%s: %d labels for %d pictures in %s", lblPath, ldims[0], dims[0], imgPath)
	}
	for i, l := range lbl {
		if int(l) >= len(Labels) {
			return nil, fmt.Errorf("%s: label %d of item %d, want 0..%d", lblPath, l, i, len(Labels)-1)
		}
	}
	return &Set{N: dims[0], H: dims[1], W: dims[2], Pix: img, Labels: lbl}, nil
}

func readIDXFile(path string, rank int) ([]uint8, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	data, dims, err := ReadIDX(zr, rank)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, dims, nil
}

// maxItems bounds what a header may claim before anything is allocated.
const maxItems = 1 << 28

// ReadIDX parses an uncompressed IDX stream of unsigned bytes with the
// given rank (LeCun's format: 0,0,type 0x08,rank, then rank big-endian
// uint32 sizes, then the data).
func ReadIDX(r io.Reader, rank int) ([]uint8, []int, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("IDX header: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("not an IDX file of unsigned bytes (magic % x, want 00 00 08 %02x)", magic, rank)
	}
	if int(magic[3]) != rank {
		return nil, nil, fmt.Errorf("IDX rank %d, want %d", magic[3], rank)
	}
	dims := make([]int, rank)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("IDX size %d: %w", i, err)
		}
		if d == 0 || d > maxItems || total > maxItems/int(d) {
			return nil, nil, fmt.Errorf("IDX sizes %v…: more than %d bytes or empty", append(dims[:i:i], int(d)), maxItems)
		}
		dims[i] = int(d)
		total *= int(d)
	}
	data := make([]uint8, total)
	if n, err := io.ReadFull(r, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("IDX data: %d of %d bytes", n, total)
		}
		return nil, nil, fmt.Errorf("IDX data: %w", err)
	}
	return data, dims, nil
}
