package kernels

// The amd64 AVX-512 VNNI assembly (gemm_vnni_amd64.s) is generated with
// github.com/mmcloughlin/avo by internal/vnnigen; TestVNNIGenerated fails
// when a checked-in file differs from the generator.
//go:generate go run ./internal/vnnigen/cmd/vnnigen -o .

// VNNIKMax is the largest GEMM k for which no partial sum of the vnni
// tier's GEMM (VPDPBUSD on x+128) can leave int32: each product is in
// [-255*128, 255*127]. Results are exact for every k regardless (the sums
// wrap like the generic kernel's; gemm_vnni_amd64.go). model's
// TestVNNIKBound checks MixNet's GEMMs against it.
const VNNIKMax = (1<<31 - 1) / (255 * 128)
