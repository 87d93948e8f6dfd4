package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/mixedge/mixedge/firmware"
)

// fileKind sniffs a model file: "fw" (a mixedge int8 image), "safetensors"
// (a JSON header after its u64 length), or "" (neither, or unreadable).
func fileKind(path string) string {
	b, err := readHead(path, 9)
	switch {
	case err != nil:
	case firmware.HasMagic(b):
		return "fw"
	case len(b) == 9 && b[8] == '{' && binary.LittleEndian.Uint64(b[:8]) < 1<<31:
		return "safetensors"
	}
	return ""
}

// notWeights explains a failed safetensors.Open of path (given with flag)
// when the file is not safetensors at all, rather than reporting a header
// length.
func notWeights(flag, path string, err error) error {
	switch fileKind(path) {
	case "fw":
		return fmt.Errorf("%s %s: not a safetensors file but an int8 .fw image; for a .fw use --model %s", flag, path, path)
	case "":
		if head, rerr := readHead(path, 12); rerr == nil {
			return fmt.Errorf("%s %s: not a safetensors file (it starts with %q; want timm's model.safetensors; for a .fw use --model)", flag, path, head)
		}
	}
	return err
}

// notFirmware explains a failed OpenFirmware of path (given with flag) when
// the file is float32 weights.
func notFirmware(flag, path string, err error) error {
	if fileKind(path) == "safetensors" {
		return fmt.Errorf("%s %s: float32 safetensors weights, not an int8 .fw image: convert them once with 'mixedge convert --weights %s --arch ARCH -o M.fw' and give M.fw", flag, path, path)
	}
	return err
}

// readHead reads up to n bytes from the start of path.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return b[:k], err
}
