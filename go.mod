module github.com/mixedge/mixedge

go 1.26.0

require (
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/minio/simdjson-go v0.4.5
	github.com/mmcloughlin/avo v0.5.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/klauspost/compress v1.15.15 // indirect
	golang.org/x/mod v0.6.0 // indirect
	golang.org/x/tools v0.2.0 // indirect
)
