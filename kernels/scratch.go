package kernels

import "sync/atomic"

// scratchSlots is scratch memory for concurrent kernel calls, one slot
// per worker thread: a scratch array on the stack would be zeroed by Go
// on every call. A call that finds every slot busy uses its own fallback.
type scratchSlots[B any] [8]struct {
	busy atomic.Bool
	buf  B
}

// take claims a free slot: its buffer and index, or nil and -1 when every
// slot is busy.
func (s *scratchSlots[B]) take() (*B, int) {
	for i := range s {
		if s[i].busy.CompareAndSwap(false, true) {
			return &s[i].buf, i
		}
	}
	return nil, -1
}

// release frees slot i for the next call.
func (s *scratchSlots[B]) release(i int) { s[i].busy.Store(false) }
