package neongen

import "fmt"

func vn(i int) string { return fmt.Sprintf("V%d", i) }

func label(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}
