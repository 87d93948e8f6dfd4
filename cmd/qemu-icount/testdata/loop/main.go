// Command loop is the guest of the end-to-end test: loop(n) runs a 5-instruction
// loop body n times on arm64 (eor, add, add, cmp, b.gt).
package main

import (
	"os"
	"strconv"
)

//go:noinline
func loop(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i ^ (s >> 3)
	}
	return s
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	os.Exit(loop(n) & 1)
}
