package fmnist

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func idx(rank byte, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, rank})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func TestReadIDX(t *testing.T) {
	data, dims, err := ReadIDX(bytes.NewReader(idx(3, []uint32{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(dims) != 3 || dims[0] != 2 || dims[1] != 2 || dims[2] != 3 || len(data) != 12 || data[11] != 12 {
		t.Fatalf("dims %v data %v", dims, data)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		rank int
	}{
		{"short data", idx(1, []uint32{5}, []byte{1, 2}), 1},
		{"wrong rank", idx(1, []uint32{2}, []byte{1, 2}), 3},
		{"wrong type", append([]byte{0, 0, 9, 1}, 0, 0, 0, 1, 7), 1},
		{"zero size", idx(1, []uint32{0}, nil), 1},
		{"huge", idx(3, []uint32{1 << 20, 1 << 20, 1 << 20}, nil), 3},
		{"empty", nil, 1},
	} {
		if _, _, err := ReadIDX(bytes.NewReader(tc.in), tc.rank); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idx(1, []uint32{3}, []byte{1, 2, 3}), 1)
	f.Add(idx(3, []uint32{1, 2, 2}, []byte{1, 2, 3, 4}), 3)
	f.Fuzz(func(t *testing.T, in []byte, rank int) {
		if rank < 0 || rank > 4 {
			return
		}
		data, dims, err := ReadIDX(bytes.NewReader(in), rank)
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if n != len(data) || len(in) < 4+4*rank+n {
			t.Fatalf("dims %v, %d bytes from %d input bytes", dims, len(data), len(in))
		}
	})
}

// TestLoadDebian reads the real files when Debian's dataset-fashion-mnist
// is installed (.ci/run installs it).
func TestLoadDebian(t *testing.T) {
	if _, err := os.Stat(filepath.Join(Dir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	s, err := Load(Dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 10000 || s.W != 28 || s.H != 28 {
		t.Fatalf("t10k: %d pictures of %dx%d", s.N, s.W, s.H)
	}
	var per [10]int
	for _, l := range s.Labels {
		per[l]++
	}
	for c, n := range per {
		if n != 1000 {
			t.Errorf("class %d: %d test pictures, want 1000", c, n)
		}
	}
	nv := 0
	for i := 0; i < 60000; i++ {
		if IsValidation(i) {
			nv++
		}
	}
	if nv != 5000 {
		t.Errorf("validation split: %d pictures, want 5000", nv)
	}
	m := s.Image(3)
	if m.W != 28 || m.Pix[0] != m.Pix[1] || m.Pix[1] != m.Pix[2] {
		t.Errorf("image: %dx%d, first pixel %v", m.W, m.H, m.Pix[:3])
	}
}
