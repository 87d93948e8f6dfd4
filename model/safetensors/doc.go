// Package safetensors reads, and for fixtures and tools writes, the
// safetensors format in which timm publishes weights on the Hugging Face hub.
//
// # Format
//
// A file is
//
//	u64 N (little-endian) | N bytes of JSON header | data buffer
//
// The header is one JSON object mapping each tensor name to
//
//	{"dtype": "F32", "shape": [16, 3, 3, 3], "data_offsets": [begin, end]}
//
// plus an optional "__metadata__" object of string to string (timm/torch
// write {"format": "pt"}). Offsets are byte offsets into the data buffer,
// which starts right after the header; tensor data is raw little-endian in
// C order. Writers pad the header with spaces to a multiple of 8 bytes and
// lay tensors out back to back.
//
// # Validation
//
// Nothing from the file is trusted. Parse checks the length prefix against
// the file size and MaxHeaderSize before touching the header, requires
// well-formed UTF-8 JSON with no duplicate keys, requires every entry to
// have exactly dtype (a known one), shape (non-negative ints whose product
// does not overflow) and data_offsets (two non-negative ints, begin <= end)
// with end-begin equal to numel * dtype size, and, as upstream does,
// requires the tensors to tile the data buffer exactly: in offset order each
// starts where the previous ended, with no overlap, gap or trailing bytes.
// Errors are *FormatError values naming the file, the tensor key and the
// expected and actual values. No input makes the package panic or allocate
// much more than the input's own size.
//
// # Two JSON paths
//
// On amd64 CPUs with AVX2 and CLMUL the header is parsed with
// github.com/minio/simdjson-go; everywhere else (arm64, arm, older x86)
// with encoding/json. UseSIMDJSON selects the path. Both are reduced to the
// same token stream (simdjson's tape walked with AdvanceInto, or
// json.Decoder.Token after json.Valid), which a single decoder checks, so
// both paths return identical headers and identical errors for everything
// but malformed JSON, whose wording is the parser's own. A shared
// pre-check rejects the few inputs on which simdjson-go is more lenient
// than the JSON spec (Unicode space around the document, \v and \f as
// whitespace, unpaired surrogate escapes), so both accept exactly the same
// headers. simdjson-go is imported only on amd64.
//
// # Reading data
//
// Open reads the whole file into memory (no mmap: the weights are converted
// to float32 copies at load anyway, and a mapping turns a file truncated
// underneath us into a crash). Float32 converts F32, F16, BF16 (exactly)
// and F64 (rounded) to a new []float32; Int64 reads the integer dtypes;
// Bytes gives the raw bytes.
package safetensors
