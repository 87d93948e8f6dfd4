package neongen

// genPackDot8 emits the input packing of gemmQ8Dot8Packed:
//
//	func packDot8Rows(dst *int8, src *int8, srcStride, rows, kpad int)
//
// copies rows (a multiple of 8) rows of kpad bytes (a multiple of 4), srcStride
// apart, into dst as [rows/8][kpad/16][8 rows][16 k], then the 8-k and
// 4-k tail steps as [8 rows][8 k] and [8 rows][4 k]: one step of a row
// group's inputs is then 32·ng contiguous bytes, in the order the SDOT
// lanes read them (dotGroups, packed). Packed once, the rows serve every
// block: per 16-k step 10 instructions here against 6 saved per block.
func genPackDot8(a *Asm, name string) {
	a.L("\n// func %s(dst *int8, src *int8, srcStride, rows, kpad int)", name)
	a.L("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	a.L("\tMOVD\tdst+0(FP), R0")
	a.L("\tMOVD\tsrc+8(FP), R1")
	a.L("\tMOVD\tsrcStride+16(FP), R3")
	a.L("\tMOVD\trows+24(FP), R4")
	a.L("\tMOVD\tkpad+32(FP), R5")
	a.L("\tMUL\tR4, R3, R4")
	a.L("\tADD\tR1, R4, R4") // the end of the rows
	loopCount(a, "R7")
	// R12 = 16 - 7*srcStride, R13 = 8 - 7*srcStride: row 7's load moves
	// the row cursor R15 back to row 0, one step on (as in genDot8)
	a.L("\tLSL\t$3, R3, R13")
	a.L("\tSUB\tR3, R13, R13")
	a.L("\tNEG\tR13, R13")
	a.L("\tADD\t$16, R13, R12")
	a.L("\tADD\t$8, R13, R13")
	a.L("rowgrp:")
	a.L("\tMOVD\tR1, R15")
	a.L("\tADD\tR3<<3, R1, R1")
	a.L("\tCBZ\tR7, ktail")
	a.L("\tMOVD\tR7, R25")
	kloop2(a, "", func() {
		for r := 0; r < 8; r++ {
			a.L("\tVLD1.P\t(R15)(%s), [V%d.B16]", rowInc(r, "R12"), r)
		}
		a.L("\tVST1.P\t[V0.B16, V1.B16, V2.B16, V3.B16], 64(R0)")
		a.L("\tVST1.P\t[V4.B16, V5.B16, V6.B16, V7.B16], 64(R0)")
	})
	a.L("ktail:")
	a.L("\tTBZ\t$3, R5, k4")
	for r := 0; r < 8; r++ { // row r into the half r%2 of V(r/2)
		a.L("\tVLD1.P\t(R15)(%s), V%d.D[%d]", rowInc(r, "R13"), r/2, r%2)
	}
	a.L("\tVST1.P\t[V0.B16, V1.B16, V2.B16, V3.B16], 64(R0)")
	a.L("k4:")
	a.L("\tTBZ\t$2, R5, next")
	for r := 0; r < 8; r++ {
		a.L("\tVLD1.P\t(R15)(R3), V%d.S[%d]", r/4, r%4)
	}
	a.L("\tVST1.P\t[V0.B16, V1.B16], 32(R0)")
	a.L("next:")
	a.L("\tCMP\tR4, R1")
	a.L("\tBLO\trowgrp")
	a.L("\tRET")
}

// rowInc is the post-increment of row r's load: srcStride (R3), or back
// to row 0 (last) after row 7.
func rowInc(r int, last string) string {
	if r == 7 {
		return last
	}
	return "R3"
}
