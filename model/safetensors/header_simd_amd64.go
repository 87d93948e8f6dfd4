//go:build amd64

package safetensors

import (
	"errors"
	"fmt"

	"github.com/minio/simdjson-go"
)

// simdjson-go is only imported on amd64, the one architecture where it has
// a parser; elsewhere it is dead weight in the binary.
func simdjsonSupported() bool { return simdjson.SupportedCPU() }

// simdSource walks simdjson's tape, which lists values in document order
// with object keys as strings, exactly like encoding/json's Token stream.
type simdSource struct{ it simdjson.Iter }

func simdTokens(h []byte) (src tokenSource, err error) {
	// simdjson-go is assembly plus a hand-written state machine; turn a
	// panic on hostile input into an error rather than trust it never does.
	// (Headers over 8 KiB are parsed partly in a goroutine of its own,
	// whose panics cannot be caught here; the fuzz targets cover both.)
	defer func() {
		if r := recover(); r != nil {
			src, err = nil, syntaxError(fmt.Errorf("simdjson-go panicked: %v", r))
		}
	}()
	pj, err := simdjson.Parse(h, nil)
	if err != nil {
		return nil, syntaxError(err)
	}
	return &simdSource{it: pj.Iter()}, nil
}

func (s *simdSource) next() (token, error) {
	for {
		switch tag := s.it.AdvanceInto(); tag {
		case simdjson.TagRoot:
			continue // document start/end markers; simdjson.Parse accepts only one document
		case simdjson.TagEnd:
			return token{kind: tokEnd}, nil
		case simdjson.TagObjectStart:
			return token{kind: tokObjectStart}, nil
		case simdjson.TagObjectEnd:
			return token{kind: tokObjectEnd}, nil
		case simdjson.TagArrayStart:
			return token{kind: tokArrayStart}, nil
		case simdjson.TagArrayEnd:
			return token{kind: tokArrayEnd}, nil
		case simdjson.TagString:
			b, err := s.it.StringBytes()
			if err != nil {
				return token{}, syntaxError(err)
			}
			return token{kind: tokString, str: string(b)}, nil
		case simdjson.TagInteger:
			n, err := s.it.Int()
			if err != nil {
				return token{}, syntaxError(err)
			}
			return token{kind: tokInt, num: n}, nil
		case simdjson.TagUint, simdjson.TagFloat:
			// Uint is only used above MaxInt64.
			return token{kind: tokNumber}, nil
		case simdjson.TagBoolTrue:
			return token{kind: tokTrue}, nil
		case simdjson.TagBoolFalse:
			return token{kind: tokFalse}, nil
		case simdjson.TagNull:
			return token{kind: tokNull}, nil
		default:
			return token{}, syntaxError(errors.New("unexpected simdjson tape tag " + tag.String()))
		}
	}
}
