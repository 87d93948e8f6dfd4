// Deliberately broken sample for TestWordCheckCatchesMismatch: not built
// (testdata), only scanned.
TEXT ·sample(SB), $0
	WORD $0x4e829420 // sdot v0.4s, v1.16b, v2.16b
	WORD $0x4e829420 // sdot v0.4s, v1.16b, v3.16b
	WORD $0x0e22c023
	WORD $0x4ea25423 // SRSHL   V3.4S, V1.4S,V2.4S
	WORD $0x0f08a423 // sshll v3.8h, v1.8b, #0
	WORD $0x6ea2b423 // sqdmulh v3.4s, v1.4s, v2.4s
	WORD $0xffffffff // nop
	RET
