package safetensors

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNotFound is wrapped by the accessors' error for a name that is not in the file.
var ErrNotFound = errors.New("no such tensor")

// FormatError reports a file or header that is not valid safetensors.
type FormatError struct {
	Path   string // file path; "" when unknown (ParseHeaderJSON)
	Tensor string // header key the problem is about; "" when it is about the file or header as a whole
	Msg    string // what is wrong, with expected and actual values
	Err    error  // underlying parser error, if any

	// syntax marks malformed JSON, whose wording depends on the parser;
	// every other FormatError reads the same for both JSON paths.
	syntax bool
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("safetensors: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		b.WriteString("tensor ")
		b.WriteString(quote(e.Tensor))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

// withPath fills in the file path on a FormatError coming from header parsing.
func withPath(err error, path string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Path == "" {
		fe.Path = path
	}
	return err
}

// quote renders a key for messages; keys come from untrusted files, so
// control characters and invalid UTF-8 are escaped rather than printed.
func quote(s string) string {
	const maxLen = 200 // a hostile key can be 100 MiB long
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && s[cut]&0xC0 == 0x80 { // don't split a UTF-8 sequence
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
