package safetensors

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Headers both parsers must accept, and what they mean.
var validHeaders = []struct {
	name   string
	header string
	infos  []TensorInfo
	meta   map[string]string
}{
	{"empty", `{}`, nil, nil},
	{"metadata only", `{"__metadata__":{"format":"pt","x":""}}`, nil, map[string]string{"format": "pt", "x": ""}},
	{"empty metadata", `{"__metadata__":{}}`, nil, map[string]string{}},
	{"null metadata", `{"__metadata__":null}`, nil, nil},
	{"scalar and padding", `{"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}       `,
		[]TensorInfo{{Name: "a", DType: I64, Shape: []int{}, Begin: 0, End: 8}}, nil},
	{"fields in any order, JSON whitespace", "{ \"b\" :\n\t{\"data_offsets\":[ 8 , 14 ],\r\n\"shape\" : [3] ,\"dtype\":\"F16\"} ,\"a\":{\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[0,8]}}\n",
		[]TensorInfo{{Name: "b", DType: F16, Shape: []int{3}, Begin: 8, End: 14}, {Name: "a", DType: F32, Shape: []int{2}, Begin: 0, End: 8}}, nil},
	{"zero-size and -0", `{"z":{"dtype":"BF16","shape":[0,2000000000],"data_offsets":[-0,0]}}`,
		[]TensorInfo{{Name: "z", DType: BF16, Shape: []int{0, 2000000000}, Begin: 0, End: 0}}, nil},
	{"escapes", `{"\"q\\b\/\b\f\n\r\t\u00e9\ud83d\ude00\u0000":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"\u2028":"é😀\u001f"}}`,
		[]TensorInfo{{Name: "\"q\\b/\b\f\n\r\té😀\x00", DType: U8, Shape: []int{1}, Begin: 0, End: 1}}, map[string]string{"\u2028": "é😀\x1f"}},
	{"every dtype", `{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},` +
		`"c":{"dtype":"I16","shape":[1],"data_offsets":[12,14]},"d":{"dtype":"I8","shape":[1],"data_offsets":[14,15]},` +
		`"e":{"dtype":"BOOL","shape":[1],"data_offsets":[15,16]},"f":{"dtype":"U64","shape":[1],"data_offsets":[16,24]},` +
		`"g":{"dtype":"U32","shape":[1],"data_offsets":[24,28]},"h":{"dtype":"U16","shape":[1],"data_offsets":[28,30]}}`,
		[]TensorInfo{
			{Name: "a", DType: F64, Shape: []int{1}, Begin: 0, End: 8}, {Name: "b", DType: I32, Shape: []int{1}, Begin: 8, End: 12},
			{Name: "c", DType: I16, Shape: []int{1}, Begin: 12, End: 14}, {Name: "d", DType: I8, Shape: []int{1}, Begin: 14, End: 15},
			{Name: "e", DType: BOOL, Shape: []int{1}, Begin: 15, End: 16}, {Name: "f", DType: U64, Shape: []int{1}, Begin: 16, End: 24},
			{Name: "g", DType: U32, Shape: []int{1}, Begin: 24, End: 28}, {Name: "h", DType: U16, Shape: []int{1}, Begin: 28, End: 30},
		}, nil},
	{"max int64 offsets", `{"a":{"dtype":"U8","shape":[0],"data_offsets":[9223372036854775807,9223372036854775807]}}`,
		[]TensorInfo{{Name: "a", DType: U8, Shape: []int{0}, Begin: 1<<63 - 1, End: 1<<63 - 1}}, nil},
}

func TestParseHeaderJSONValid(t *testing.T) {
	eachJSONPath(t, func(t *testing.T, simd bool) {
		for _, c := range validHeaders {
			infos, meta, err := ParseHeaderJSON([]byte(c.header), simd)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if !reflect.DeepEqual(infos, c.infos) {
				t.Errorf("%s: infos\n got %+v\nwant %+v", c.name, infos, c.infos)
			}
			if !reflect.DeepEqual(meta, c.meta) {
				t.Errorf("%s: metadata %#v, want %#v", c.name, meta, c.meta)
			}
		}
	})
}

// Headers with a schema problem: both paths must reject them with the
// same message, containing the fragments.
var schemaErrors = []struct {
	name      string
	header    string
	fragments []string
}{
	{"top-level array", `[1]`, []string{"header must start with '{'"}},
	{"leading space", ` {}`, []string{"must start with '{'"}},
	{"empty", ``, []string{"header is empty"}},
	{"trailing garbage", `{} x`, []string{"must end with '}'"}},
	{"unicode space after", "{}\u00a0", []string{"must end with '}'"}},
	{"vertical tab", "{\v}", []string{"control byte 0x0b at offset 1"}},
	{"form feed", "{\"a\f\":1}", []string{"control byte 0x0c"}},
	{"raw newline in string", "{\"a\nb\":1}", nil}, // a syntax error; see TestParseHeaderJSONSyntax
	{"invalid UTF-8", "{\"\xff\":1}", []string{"not valid UTF-8 at offset 2"}},
	{"lone high surrogate", `{"\ud800":1}`, []string{`unpaired UTF-16 surrogate escape \uD800 at offset 2`}},
	{"high surrogate then letter", `{"\ud800\u0041":1}`, []string{`unpaired`}},
	{"junk in \\u escape", `{"\u 000":0}`, []string{`\u escape without 4 hex digits at offset 2`}}, // simdjson-go read it as \u0000
	{"short \\u escape", `{"\u12":0}`, []string{`\u escape without 4 hex digits`}},
	{"invalid escape", `{"\x":0}`, []string{`invalid escape \x at offset 2`}},
	{"float64 overflow", `{"a":{"dtype":"U8","shape":[1e400],"data_offsets":[0,1]}}`, []string{"number 1e400 at offset 28, beyond the range"}}, // simdjson-go: syntax error
	{"huge integer", `{"a":[` + strings.Repeat("9", 400) + `]}`, []string{"beyond the range"}},
	{"large but fine", `{"a":[1e299]}`, []string{"want an object with dtype, shape and data_offsets, got array"}},
	{"lone low surrogate", `{"x\uDC00":1}`, []string{`unpaired UTF-16 surrogate escape \uDC00 at offset 3`}},
	{"entry not object", `{"a":1}`, []string{`tensor "a"`, "want an object with dtype, shape and data_offsets, got integer 1"}},
	{"duplicate tensor", `{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, []string{`tensor "a"`, "duplicate key"}},
	{"duplicate metadata", `{"__metadata__":{},"__metadata__":{}}`, []string{`"__metadata__"`, "duplicate key"}},
	{"duplicate metadata key", `{"__metadata__":{"k":"1","k":"2"}}`, []string{`duplicate metadata key "k"`}},
	{"metadata not strings", `{"__metadata__":{"k":1}}`, []string{`metadata value for "k" must be a string, got integer 1`}},
	{"metadata array", `{"__metadata__":[]}`, []string{"want an object of strings, got array"}},
	{"duplicate field", `{"a":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, []string{`tensor "a"`, `duplicate field "dtype"`}},
	{"unknown field", `{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"extra":[]}}`, []string{`unknown field "extra"`}},
	{"missing dtype", `{"a":{"shape":[0],"data_offsets":[0,0]}}`, []string{`tensor "a"`, `missing field "dtype"`}},
	{"missing shape", `{"a":{"dtype":"U8","data_offsets":[0,0]}}`, []string{`missing field "shape"`}},
	{"missing offsets", `{"a":{"dtype":"U8","shape":[0]}}`, []string{`missing field "data_offsets"`}},
	{"unknown dtype", `{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, []string{`tensor "w"`, `unknown dtype "F8_E4M3"`, "F32"}},
	{"dtype not string", `{"w":{"dtype":4,"shape":[1],"data_offsets":[0,1]}}`, []string{"dtype must be a string, got integer 4"}},
	{"lowercase dtype", `{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, []string{`unknown dtype "f32"`}},
	{"negative dim", `{"w":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,1]}}`, []string{"shape[1] = -1, must be non-negative"}},
	{"float dim", `{"w":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}`, []string{"shape[0] must be a non-negative integer, got a number that is not an int64 integer"}},
	{"exponent dim", `{"w":{"dtype":"U8","shape":[1e1],"data_offsets":[0,10]}}`, []string{"shape[0] must be a non-negative integer"}},
	{"huge dim", `{"w":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,1]}}`, []string{"shape[0] must be a non-negative integer, got a number that is not an int64 integer"}},
	{"string dim", `{"w":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, []string{`shape[0] must be a non-negative integer, got string "1"`}},
	{"nested dim", `{"w":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}}`, []string{"shape[0] must be a non-negative integer, got array"}},
	{"shape not array", `{"w":{"dtype":"U8","shape":{},"data_offsets":[0,1]}}`, []string{"shape must be an array of integers, got object"}},
	{"shape null", `{"w":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`, []string{"shape must be an array of integers, got null"}},
	{"numel overflow", `{"w":{"dtype":"U8","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,1]}}`, []string{"more elements than fit in 64 bits"}},
	{"bytes overflow", `{"w":{"dtype":"F64","shape":[2147483647,2147483647,4],"data_offsets":[0,1]}}`, []string{"needs more bytes than fit in 64 bits"}},
	{"size mismatch", `{"conv.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[4,24]}}`,
		[]string{`tensor "conv.weight"`, "shape [2 3] of F32 needs 24 bytes", "span 20 bytes"}},
	{"one offset", `{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, []string{"data_offsets has 1 elements, want 2"}},
	{"three offsets", `{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []string{"data_offsets has more than 2 elements"}},
	{"negative offset", `{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []string{"data_offsets[0] = -1, must be non-negative"}},
	{"begin after end", `{"w":{"dtype":"U8","shape":[1],"data_offsets":[5,4]}}`, []string{"data_offsets [5, 4]: begin is after end"}},
	{"offset bool", `{"w":{"dtype":"U8","shape":[1],"data_offsets":[true,1]}}`, []string{"data_offsets[0] must be a non-negative integer, got true"}},
	{"offsets not array", `{"w":{"dtype":"U8","shape":[1],"data_offsets":"0,1"}}`, []string{"data_offsets must be an array [begin, end]"}},
	{"empty name", `{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []string{"empty tensor name"}},
	{"too deep", `{"w":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, []string{"nested deeper than 64 levels at offset 68"}},
	{"deep but allowed", `{"w":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`, []string{`tensor "w"`, "got array"}},
	{"brackets in strings don't count", `{"w` + strings.Repeat("[", 100) + `":1}`, []string{"got integer 1"}},
}

func TestParseHeaderJSONSchemaErrors(t *testing.T) {
	msgs := map[string]string{}
	eachJSONPath(t, func(t *testing.T, simd bool) {
		for _, c := range schemaErrors {
			_, _, err := ParseHeaderJSON([]byte(c.header), simd)
			if err == nil {
				t.Errorf("%s: %q accepted", c.name, c.header)
				continue
			}
			if c.fragments == nil {
				continue
			}
			fe := wantFormatError(t, err, c.fragments...)
			if fe.syntax {
				t.Errorf("%s: reported as a syntax error: %v", c.name, err)
			}
			if !simd {
				msgs[c.name] = err.Error()
			} else if want, ok := msgs[c.name]; ok && err.Error() != want {
				t.Errorf("%s: simdjson says %q, encoding/json %q", c.name, err, want)
			}
		}
	})
}

func TestParseHeaderJSONSyntax(t *testing.T) {
	bad := []string{
		`{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":[1,]}`, `{"a" 1}`, `{,}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":[01]}`, `{"a":[+1]}`, `{"a":[.5]}`, `{"a":[1.]}`, `{"a":[-]}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		`{} {}`, `{}}`, `{'a':1}`, `{"a":1}` + "\x00", "{\"a\tb\":1}", `{"a":"b}`, `{"a":[1 2]}`,
	}
	eachJSONPath(t, func(t *testing.T, simd bool) {
		for _, h := range bad {
			_, _, err := ParseHeaderJSON([]byte(h), simd)
			wantFormatError(t, err) // precheck or parser, either is fine
		}
		// Well-formed up to the schema decoder's first complaint: the
		// syntax error must still win, as it does with simdjson.
		_, _, err := ParseHeaderJSON([]byte(`{"a":1, "b":}`), simd)
		if fe := wantFormatError(t, err, "not valid JSON"); !fe.syntax {
			t.Errorf("%v: not marked as a syntax error", err)
		}
	})
}

func TestParseHeaderJSONLimits(t *testing.T) {
	_, _, err := ParseHeaderJSON(make([]byte, MaxHeaderSize+1), false)
	wantFormatError(t, err, "more than the 104857600-byte limit")
	if !SIMDJSONSupported() {
		if _, _, err := ParseHeaderJSON([]byte(`{}`), true); !errors.Is(err, errSIMDUnsupported) {
			t.Errorf("ParseHeaderJSON(useSIMD) without simdjson support: %v, want %v", err, errSIMDUnsupported)
		}
	}
}

// A large header exercises simdjson's asynchronous path (over 8 KiB) and
// must still agree with encoding/json.
func TestParseHeaderJSONLargeAgree(t *testing.T) {
	requireSIMD(t)
	var ts []Tensor
	for i := range 2000 {
		ts = append(ts, F32Tensor(strings.Repeat("layer.", i%7)+string(rune('a'+i%26))+strings.Repeat("x", i%50), []int{1, i % 3}, make([]float32, i%3)))
	}
	file := func() []byte {
		var b strings.Builder
		if err := Write(&b, ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}()
	f, err := Parse(file, "large")
	if err != nil {
		t.Fatal(err)
	}
	header := file[8 : len(file)-int(f.infos[len(f.infos)-1].End)]
	a, am, err := ParseHeaderJSON(header, false)
	if err != nil {
		t.Fatal(err)
	}
	b, bm, err := ParseHeaderJSON(header, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2000 || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(am, bm) {
		t.Fatalf("paths disagree on a %d-byte header (%d vs %d tensors)", len(header), len(a), len(b))
	}
	// Break it at the very end, after the parsers' fast paths have run.
	broken := append([]byte(nil), header...)
	broken[strings.LastIndexByte(string(broken), '}')-1] = ','
	_, _, errA := ParseHeaderJSON(broken, false)
	_, _, errB := ParseHeaderJSON(broken, true)
	if errA == nil || errB == nil {
		t.Fatalf("broken large header: encoding/json err %v, simdjson err %v; want both to fail", errA, errB)
	}
}
