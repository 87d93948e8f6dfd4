//go:build !purego

package kernels

import "testing"

// The VNNI stems go through the AVX2 stem's tests: random shapes, MixNet's
// 3x3 RGB path and its edges, channel tails, the largest patch and the
// stack-buffer fallback, bit for bit against StemConvQS8.

func TestVNNIStem(t *testing.T) {
	needVNNI(t)
	testStemAMD64(t, stemAMD64{"vnni", StemConvQS8VNNI})
}

func TestAVXVNNIStem(t *testing.T) {
	needAVXVNNI(t)
	testStemAMD64(t, stemAMD64{"avxvnni", StemConvQS8AVXVNNI})
}

func TestVNNIStemAllocs(t *testing.T) {
	needVNNI(t)
	testStemAllocs(t, StemConvQS8VNNI)
}

func TestAVXVNNIStemAllocs(t *testing.T) {
	needAVXVNNI(t)
	testStemAllocs(t, StemConvQS8AVXVNNI)
}

func FuzzVNNIStem(f *testing.F) { fuzzStemAMD64(f, stemAMD64{"vnni", StemConvQS8VNNI}, needVNNI) }

func FuzzAVXVNNIStem(f *testing.F) {
	fuzzStemAMD64(f, stemAMD64{"avxvnni", StemConvQS8AVXVNNI}, needAVXVNNI)
}
