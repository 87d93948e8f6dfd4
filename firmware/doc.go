// Package firmware reads and writes the container of a deployable mixedge
// image (a .fw file): a fixed header, a section table and named sections,
// each section 64-byte aligned and covered by its own CRC32C. The package
// knows nothing of what a model stores in the sections; it only guarantees
// that every byte the model layer reads has been bounds- and CRC-checked.
//
// The byte layout is documented in docs/FIRMWARE.md.
//
// Reading: Open maps the file read-only on Linux (weights are then used in
// place, straight from the page cache) and reads it into an aligned buffer
// elsewhere; Parse checks a []byte that is already in memory. Both verify
// the whole file before returning, and report a bad file with a
// *FormatError that names the part at fault ("header", "section table",
// `section "weights"`, `padding after section "labels"`, ...).
//
// Writing: NewWriter, Add, then WriteTo or WriteFile (atomic: temp file,
// fsync, rename).
//
// Section contents: Encoder and Decoder are the typed little-endian
// primitives the model layer builds its own sections from. The Decoder never
// panics, keeps the first error (sticky) and names the section and offset.
package firmware
