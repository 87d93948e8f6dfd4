# critpath.awk: the critical path of the last of R frames from an opthreads report.
#   awk -v frames=2 -v threads=4 -f critpath.awk ops.txt
# The pool (model/pool.go) shares an op out in phases (a depthwise op with a SiLU table: the split,
# then the table; an SE op: the pool sums, then the channel multiply), each cut into chunks, one or
# two per thread, that every thread runs from its own home range first. opthreads reports each
# chunk as a task with its phase. On a board whose cores are free each thread runs its home range:
# a phase takes at most the sum of its ceil(chunks / threads) largest tasks. (Which guest thread ran
# a task under qemu says little: the host's cores, fewer than the guest's threads, decide that.)
# An op's critical path is its serial part (phase 0: the task opened when the op starts, with the
# bookkeeping or an op that is not shared; the SE gate's GEMVs between the phases count to the
# caller's last task) plus its phases' bounds. Orphan work (a task's goroutine that moved to
# another thread mid-task, the Go scheduler's doing) is spread evenly: an op takes at least
# (its tasks + orphan work) / threads. Prints the frame's work, critical path and speed-up, then
# the ops whose critical path exceeds an even split the most.
$1 == "op" { if ($2 > last) last = $2; work[$2] += $6; orph[$2] += $10 }
$1 == "task" {
  op = $4; ph = $10 + 0
  if (ph == 0) { serial[op] += $8 } else { n[op, ph]++; w[op, ph, n[op, ph]] = $8; if (ph > nph[op]) nph[op] = ph }
  tsum[op] += $8
}
END {
  nops = last / frames
  first = last - nops + 1
  for (op = first; op <= last; op++) {
    c = serial[op]
    for (ph = 1; ph <= nph[op]; ph++) {
      k = n[op, ph]; take = int((k + threads - 1) / threads)
      # the take largest tasks of the phase (k is small: selection by repeated maximum)
      delete used
      for (j = 0; j < take; j++) {
        b = 0
        for (i = 1; i <= k; i++) if (!(i in used) && (b == 0 || w[op, ph, i] > w[op, ph, b])) b = i
        used[b] = 1; c += w[op, ph, b]
      }
    }
    if (nph[op] == 0) c += orph[op]
    else if ((tsum[op] + orph[op]) / threads > c) c = (tsum[op] + orph[op]) / threads
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
