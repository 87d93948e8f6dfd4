//go:build !amd64

package safetensors

// simdjson-go has no parser off amd64 (its Parse just errors), so it is not
// linked in; encoding/json does the work.
func simdjsonSupported() bool { return false }

func simdTokens([]byte) (tokenSource, error) { return nil, errSIMDUnsupported }
