# critpath.awk: the critical path of the last of R frames from an opthreads report.
#   awk -v frames=2 -v threads=4 -f critpath.awk ops.txt
# An op's critical path is its serial part (the task opened when the op starts: bookkeeping, the
# SE gate's reduction, an op that is not shared) plus, per parallel phase, its largest task (a
# depthwise op with a SiLU table has two phases, the halves and then the table; every task of the
# first opens before any of the second). Orphan work (a task's goroutine that moved to another
# thread mid-task, the Go scheduler's doing) is spread over the phases by their work: a phase then
# takes at least the mean of its tasks with that work added. Prints the frame's work, critical path and speed-up, then the ops whose
# critical path exceeds an even split the most.
$1 == "op" { if ($2 > last) last = $2; work[$2] += $6; orph[$2] += $10 }
$1 == "task" { n[$4]++; tw[$4, n[$4]] = $8 } # task ids ascend within an op
END {
  nops = last / frames
  first = last - nops + 1
  for (op = first; op <= last; op++) {
    c = tw[op, 1]
    np = n[op] - 1
    ph = np > threads ? 2 : 1
    per = ph == 2 ? threads : np
    pt = 0
    for (i = 2; i <= n[op]; i++) pt += tw[op, i]
    for (p = 0; p < ph; p++) {
      m = 0; s = 0; k = 0
      for (i = 2 + p * per; i <= 1 + (p + 1) * per && i <= n[op]; i++) { if (tw[op, i] > m) m = tw[op, i]; s += tw[op, i]; k++ }
      if (k > 0 && pt > 0 && (s + orph[op] * s / pt) / k > m) m = (s + orph[op] * s / pt) / k
      c += m
    }
    if (np == 0) c += orph[op]
    crit += c; tot += work[op]; oc += orph[op]
    excess[op - first] = c - work[op] / threads
    cp[op - first] = c; wk[op - first] = work[op]
  }
  printf "   %d thread(s): work %.2f M per frame, critical path %.2f M (orphan work %.2f M), speed-up %.2fx over the work\n",
    threads, tot / 1e6, crit / 1e6, oc / 1e6, tot / crit
  for (k = 0; k < 5; k++) {
    b = -1
    for (o in excess) if (!(o in shown) && (b < 0 || excess[o] > excess[b])) b = o
    if (b < 0) break
    shown[b] = 1
    printf "     op %d: critical path %.3f M of %.3f M\n", b, cp[b] / 1e6, wk[b] / 1e6
  }
}
