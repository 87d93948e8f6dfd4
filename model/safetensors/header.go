package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize caps the JSON header so a lying length prefix cannot make
// us allocate or scan more than this (upstream safetensors uses 100 MB).
const MaxHeaderSize = 100 << 20

// UseSIMDJSON selects simdjson-go for the header; it defaults to whether
// the CPU supports it. Tests flip it to run both paths, which must give
// identical results. Parse falls back to encoding/json when it is set on a
// CPU without simdjson support. Set it before parsing, not concurrently.
var UseSIMDJSON = simdjsonSupported()

var errSIMDUnsupported = errors.New("safetensors: simdjson-go is not supported here (needs amd64 with AVX2 and CLMUL)")

// SIMDJSONSupported reports whether ParseHeaderJSON can use simdjson-go.
func SIMDJSONSupported() bool { return simdjsonSupported() }

// TensorInfo describes one tensor. Begin and End are byte offsets relative
// to the start of the data buffer, which follows the header.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	Begin int64
	End   int64
}

// NumElements is the product of the shape (1 for a scalar), derived from
// the byte span, which the package has checked matches it. Use it on infos
// from a File: on 32-bit platforms a bare header can describe tensors with
// more elements than an int holds, but a File's are backed by real bytes.
func (t TensorInfo) NumElements() int {
	if s := t.DType.Size(); s > 0 {
		return int((t.End - t.Begin) / int64(s))
	}
	return 0
}

// ParseHeaderJSON decodes and validates a header: every entry has a known
// dtype, a shape of non-negative ints and two data_offsets whose span is
// exactly numel*dtype size. Checks that need the data buffer (range,
// overlap, coverage) are Parse's. Tensors come back in header order;
// metadata is nil when the header has no (or a null) "__metadata__".
// useSIMD picks simdjson-go, and fails when SIMDJSONSupported is false.
// Both parsers return identical results and, except for malformed JSON,
// identical errors.
func ParseHeaderJSON(header []byte, useSIMD bool) ([]TensorInfo, map[string]string, error) {
	if len(header) > MaxHeaderSize {
		return nil, nil, &FormatError{Msg: fmt.Sprintf("header is %d bytes, more than the %d-byte limit", len(header), MaxHeaderSize)}
	}
	if err := precheck(header); err != nil {
		return nil, nil, err
	}
	var (
		src tokenSource
		err error
	)
	if useSIMD {
		if !simdjsonSupported() {
			return nil, nil, errSIMDUnsupported
		}
		src, err = simdTokens(header)
	} else {
		src, err = stdTokens(header)
	}
	if err != nil {
		return nil, nil, err
	}
	d := headerDecoder{src: src}
	return d.decode()
}

func syntaxError(err error) *FormatError {
	return &FormatError{Msg: "header is not valid JSON", Err: err, syntax: true}
}

// maxDepth bounds nesting. A valid header nests 3 deep; the margin lets
// the schema decoder give its specific message for a stray nested value,
// while staying under simdjson-go's own limit of 128, which would
// otherwise make deep input a syntax error on one path only.
const maxDepth = 64

// precheck rejects, before either parser runs, the inputs on which
// simdjson-go is more lenient than encoding/json, so both paths accept
// exactly the same headers: simdjson-go trims all Unicode space around the
// document, treats \v and \f as whitespace, decodes malformed \u escapes
// and unpaired surrogates, and has a lower nesting limit. It also enforces
// upstream's "header starts with '{'".
func precheck(h []byte) error {
	if len(h) == 0 {
		return &FormatError{Msg: "header is empty, want a JSON object"}
	}
	if h[0] != '{' {
		return &FormatError{Msg: fmt.Sprintf("header must start with '{', got %q", h[0])}
	}
	end := len(h)
	for isJSONSpace(h[end-1]) { // stops at h[0] == '{' at the latest
		end--
	}
	if h[end-1] != '}' {
		return &FormatError{Msg: fmt.Sprintf("header must end with '}' and optional padding spaces, got %q at offset %d", h[end-1], end-1)}
	}
	if !utf8.Valid(h) {
		i := 0
		for {
			r, size := utf8.DecodeRune(h[i:])
			if r == utf8.RuneError && size == 1 {
				return &FormatError{Msg: fmt.Sprintf("header is not valid UTF-8 at offset %d", i)}
			}
			i += size
		}
	}
	depth, inString := 0, false
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return &FormatError{Msg: fmt.Sprintf("header has control byte 0x%02x at offset %d", c, i)}
		}
		if !inString {
			switch c {
			case '"':
				inString = true
			case '{', '[':
				if depth++; depth > maxDepth {
					return &FormatError{Msg: fmt.Sprintf("header is nested deeper than %d levels at offset %d", maxDepth, i)}
				}
			case '}', ']':
				depth--
			case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				j := i + 1
				for j < len(h) && isNumberByte(h[j]) {
					j++
				}
				if err := checkNumber(h[i:j], i); err != nil {
					return err
				}
				i = j - 1
			}
			continue
		}
		switch {
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(h): // a trailing backslash is the parser's to report
			switch h[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
				continue
			case 'u':
			default:
				return &FormatError{Msg: fmt.Sprintf("header has an invalid escape \\%s at offset %d", printable(h[i+1]), i)}
			}
			// simdjson-go decodes junk like "\u 000" instead of rejecting it.
			r, ok := hex4(h, i+2)
			if !ok {
				return &FormatError{Msg: fmt.Sprintf("header has a \\u escape without 4 hex digits at offset %d", i)}
			}
			start := i
			i += 5 // last hex digit
			switch {
			case r >= 0xD800 && r < 0xDC00:
				lo, ok := -1, false
				if i+2 < len(h) && h[i+1] == '\\' && h[i+2] == 'u' {
					lo, ok = hex4(h, i+3)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return &FormatError{Msg: fmt.Sprintf("header has an unpaired UTF-16 surrogate escape \\u%04X at offset %d", r, start)}
				}
				i += 6
			case r >= 0xDC00 && r <= 0xDFFF:
				return &FormatError{Msg: fmt.Sprintf("header has an unpaired UTF-16 surrogate escape \\u%04X at offset %d", r, start)}
			}
		}
	}
	return nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// checkNumber rejects huge numbers: simdjson-go fails on values beyond
// float64 where encoding/json accepts them. A valid header holds only
// int64s, so the cut-off is set well clear of float64's edge, where the
// two might round differently.
func checkNumber(lit []byte, offset int) error {
	if len(lit) <= 18 && bytes.IndexAny(lit, ".eE") < 0 {
		return nil // an integer below 1e18: the common case, checked without allocating
	}
	v, err := strconv.ParseFloat(string(lit), 64)
	var ne *strconv.NumError
	if errors.As(err, &ne) && ne.Err == strconv.ErrSyntax {
		return nil // not a JSON number at all: the parser reports it
	}
	if math.Abs(v) >= 1e300 {
		shown := string(lit)
		if len(shown) > 40 {
			shown = shown[:40] + "..."
		}
		return &FormatError{Msg: fmt.Sprintf("header has the number %s at offset %d, beyond the range a header can use", shown, offset)}
	}
	return nil
}

// printable shows a byte from the header in a message.
func printable(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return fmt.Sprintf("<0x%02x>", c)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func hex4(h []byte, i int) (int, bool) {
	if i+4 > len(h) {
		return 0, false
	}
	v := 0
	for _, c := range h[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// The two JSON parsers are reduced to one token stream so that a single
// decoder does all the checking, which is what makes their results and
// error messages identical.
type tokKind uint8

const (
	tokEnd tokKind = iota // end of the document
	tokObjectStart
	tokObjectEnd
	tokArrayStart
	tokArrayEnd
	tokString
	tokInt    // an integer literal within int64
	tokNumber // any other number: fraction, exponent or out of int64 range
	tokTrue
	tokFalse
	tokNull
)

type token struct {
	kind tokKind
	str  string // tokString
	num  int64  // tokInt
}

func (t token) String() string {
	switch t.kind {
	case tokEnd:
		return "end of header"
	case tokObjectStart:
		return "object"
	case tokObjectEnd:
		return "'}'"
	case tokArrayStart:
		return "array"
	case tokArrayEnd:
		return "']'"
	case tokString:
		return "string " + quote(t.str)
	case tokInt:
		return "integer " + strconv.FormatInt(t.num, 10)
	case tokNumber:
		return "a number that is not an int64 integer"
	case tokTrue:
		return "true"
	case tokFalse:
		return "false"
	case tokNull:
		return "null"
	}
	return "unknown token"
}

type tokenSource interface {
	next() (token, error)
}

// stdSource tokenizes with encoding/json.
type stdSource struct{ dec *json.Decoder }

func stdTokens(h []byte) (tokenSource, error) {
	// Validate the whole document first, as simdjson does, so syntax errors
	// win over schema errors on both paths alike.
	if !json.Valid(h) {
		var raw json.RawMessage
		err := json.Unmarshal(h, &raw) // only for the error's offset and wording
		if err == nil {
			err = errors.New("rejected by json.Valid")
		}
		return nil, syntaxError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	return &stdSource{dec: dec}, nil
}

func (s *stdSource) next() (token, error) {
	t, err := s.dec.Token()
	if err == io.EOF {
		return token{kind: tokEnd}, nil
	}
	if err != nil {
		return token{}, syntaxError(err)
	}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return token{kind: tokObjectStart}, nil
		case '}':
			return token{kind: tokObjectEnd}, nil
		case '[':
			return token{kind: tokArrayStart}, nil
		case ']':
			return token{kind: tokArrayEnd}, nil
		}
	case string:
		return token{kind: tokString, str: v}, nil
	case json.Number:
		// simdjson types a literal as int64 exactly when it has no fraction
		// or exponent and fits; ParseInt accepts the same set here because
		// json.Valid has already excluded '+', leading zeros and the like.
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return token{kind: tokInt, num: n}, nil
		}
		return token{kind: tokNumber}, nil
	case bool:
		if v {
			return token{kind: tokTrue}, nil
		}
		return token{kind: tokFalse}, nil
	case nil:
		return token{kind: tokNull}, nil
	}
	return token{}, syntaxError(fmt.Errorf("unexpected JSON token %T", t))
}

// headerDecoder checks the token stream against the safetensors schema.
// Every position has exactly one acceptable type, so it never needs to
// skip a value and stops at the first problem.
type headerDecoder struct {
	src tokenSource
}

func (d *headerDecoder) next() (token, error) { return d.src.next() }

func schemaError(tensor, format string, args ...any) *FormatError {
	return &FormatError{Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}

func (d *headerDecoder) decode() ([]TensorInfo, map[string]string, error) {
	t, err := d.next()
	if err != nil {
		return nil, nil, err
	}
	if t.kind != tokObjectStart {
		return nil, nil, schemaError("", "header must be a JSON object, got %v", t)
	}
	var (
		infos []TensorInfo
		meta  map[string]string
		seen  = map[string]bool{}
	)
	for {
		t, err := d.next()
		if err != nil {
			return nil, nil, err
		}
		if t.kind == tokObjectEnd {
			break
		}
		if t.kind != tokString {
			return nil, nil, schemaError("", "expected a tensor name, got %v", t)
		}
		key := t.str
		if seen[key] {
			return nil, nil, schemaError(key, "duplicate key in header")
		}
		seen[key] = true
		if key == "__metadata__" {
			if meta, err = d.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		info, err := d.entry(key)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, info)
	}
	if t, err := d.next(); err != nil {
		return nil, nil, err
	} else if t.kind != tokEnd {
		return nil, nil, schemaError("", "unexpected %v after the header object", t)
	}
	return infos, meta, nil
}

func (d *headerDecoder) metadata() (map[string]string, error) {
	const key = "__metadata__"
	t, err := d.next()
	if err != nil {
		return nil, err
	}
	if t.kind == tokNull {
		return nil, nil // upstream treats a null __metadata__ as absent
	}
	if t.kind != tokObjectStart {
		return nil, schemaError(key, "want an object of strings, got %v", t)
	}
	meta := map[string]string{}
	for {
		t, err := d.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tokObjectEnd {
			return meta, nil
		}
		if t.kind != tokString {
			return nil, schemaError(key, "expected a metadata key, got %v", t)
		}
		k := t.str
		if _, dup := meta[k]; dup {
			return nil, schemaError(key, "duplicate metadata key %s", quote(k))
		}
		v, err := d.next()
		if err != nil {
			return nil, err
		}
		if v.kind != tokString {
			return nil, schemaError(key, "metadata value for %s must be a string, got %v", quote(k), v)
		}
		meta[k] = v.str
	}
}

func (d *headerDecoder) entry(name string) (TensorInfo, error) {
	info := TensorInfo{Name: name}
	if name == "" {
		return info, schemaError("", "empty tensor name in header")
	}
	t, err := d.next()
	if err != nil {
		return info, err
	}
	if t.kind != tokObjectStart {
		return info, schemaError(name, "want an object with dtype, shape and data_offsets, got %v", t)
	}
	var haveDType, haveShape, haveOffsets bool
	for {
		t, err := d.next()
		if err != nil {
			return info, err
		}
		if t.kind == tokObjectEnd {
			break
		}
		if t.kind != tokString {
			return info, schemaError(name, "expected a field name, got %v", t)
		}
		field := t.str
		dup := false
		switch field {
		case "dtype":
			dup, haveDType = haveDType, true
		case "shape":
			dup, haveShape = haveShape, true
		case "data_offsets":
			dup, haveOffsets = haveOffsets, true
		default:
			return info, schemaError(name, "unknown field %s, want dtype, shape and data_offsets", quote(field))
		}
		if dup {
			return info, schemaError(name, "duplicate field %q", field)
		}
		switch field {
		case "dtype":
			v, err := d.next()
			if err != nil {
				return info, err
			}
			if v.kind != tokString {
				return info, schemaError(name, "dtype must be a string, got %v", v)
			}
			info.DType = DType(v.str)
			if info.DType.Size() == 0 {
				return info, schemaError(name, "unknown dtype %s, want one of %s", quote(v.str), knownDTypes)
			}
		case "shape":
			if info.Shape, err = d.shape(name); err != nil {
				return info, err
			}
		case "data_offsets":
			if info.Begin, info.End, err = d.offsets(name); err != nil {
				return info, err
			}
		}
	}
	switch {
	case !haveDType:
		return info, schemaError(name, `missing field "dtype"`)
	case !haveShape:
		return info, schemaError(name, `missing field "shape"`)
	case !haveOffsets:
		return info, schemaError(name, `missing field "data_offsets"`)
	}
	span := uint64(info.End - info.Begin)
	numel, ok := numElements(info.Shape)
	if !ok {
		return info, schemaError(name, "shape %v has more elements than fit in 64 bits", info.Shape)
	}
	hi, need := bits.Mul64(numel, uint64(info.DType.Size()))
	if hi != 0 {
		return info, schemaError(name, "shape %v of %s needs more bytes than fit in 64 bits, but data_offsets [%d, %d] span %d bytes",
			info.Shape, info.DType, info.Begin, info.End, span)
	}
	if need != span {
		return info, schemaError(name, "shape %v of %s needs %d bytes (%d elements of %d bytes), but data_offsets [%d, %d] span %d bytes",
			info.Shape, info.DType, need, numel, info.DType.Size(), info.Begin, info.End, span)
	}
	return info, nil
}

// numElements multiplies the dims, reporting false on overflow. A zero dim
// makes the tensor empty however large the others are.
func numElements(shape []int) (uint64, bool) {
	for _, d := range shape {
		if d == 0 {
			return 0, true
		}
	}
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

func (d *headerDecoder) shape(name string) ([]int, error) {
	t, err := d.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokArrayStart {
		return nil, schemaError(name, "shape must be an array of integers, got %v", t)
	}
	shape := []int{} // non-nil for scalars, so both paths and round trips compare equal
	for {
		t, err := d.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tokArrayEnd {
			return shape, nil
		}
		if t.kind != tokInt {
			return nil, schemaError(name, "shape[%d] must be a non-negative integer, got %v", len(shape), t)
		}
		if t.num < 0 {
			return nil, schemaError(name, "shape[%d] = %d, must be non-negative", len(shape), t.num)
		}
		if t.num > math.MaxInt {
			return nil, schemaError(name, "shape[%d] = %d does not fit in an int on this platform", len(shape), t.num)
		}
		shape = append(shape, int(t.num))
	}
}

func (d *headerDecoder) offsets(name string) (begin, end int64, err error) {
	t, err := d.next()
	if err != nil {
		return 0, 0, err
	}
	if t.kind != tokArrayStart {
		return 0, 0, schemaError(name, "data_offsets must be an array [begin, end], got %v", t)
	}
	var v [2]int64
	for i := 0; ; i++ {
		t, err := d.next()
		if err != nil {
			return 0, 0, err
		}
		if t.kind == tokArrayEnd {
			if i != 2 {
				return 0, 0, schemaError(name, "data_offsets has %d elements, want 2", i)
			}
			break
		}
		if i == 2 {
			return 0, 0, schemaError(name, "data_offsets has more than 2 elements")
		}
		if t.kind != tokInt {
			return 0, 0, schemaError(name, "data_offsets[%d] must be a non-negative integer, got %v", i, t)
		}
		if t.num < 0 {
			return 0, 0, schemaError(name, "data_offsets[%d] = %d, must be non-negative", i, t.num)
		}
		v[i] = t.num
	}
	if v[0] > v[1] {
		return 0, 0, schemaError(name, "data_offsets [%d, %d]: begin is after end", v[0], v[1])
	}
	return v[0], v[1], nil
}
