package model

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
)

// The ImageNet-1k class names in the standard index order (0 = tench …
// 999 = toilet tissue). Taken from the Apache-2.0 @tensorflow-models/mobilenet
// package's imagenet_classes, one name per line.
//
//go:embed imagenet1k_labels.txt
var imagenet1k string

// ImageNetLabels returns the 1000 ImageNet-1k class names.
func ImageNetLabels() []string {
	return strings.Split(strings.TrimSuffix(imagenet1k, "\n"), "\n")
}

// ReadLabels reads one label per line from path. Blank lines count as
// labels (some label files have them); a trailing newline does not.
func ReadLabels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil, fmt.Errorf("labels: %s is empty", path)
	}
	return strings.Split(s, "\n"), nil
}
