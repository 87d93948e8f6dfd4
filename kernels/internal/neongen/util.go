package neongen

import "fmt"

func vn(i int) string { return fmt.Sprintf("V%d", i) }

func label(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}
