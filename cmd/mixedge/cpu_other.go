//go:build !arm

package main

// armFeatures is for 32-bit ARM only (see cpu_arm.go).
func armFeatures() []string { return nil }
