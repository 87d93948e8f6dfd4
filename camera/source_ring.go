package camera

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Grabber reads a Source on its own goroutine into a small ring of frames
// made once. In drop mode the consumer always gets the newest complete
// frame and frames it was too slow for are counted as dropped (a live
// camera); otherwise every frame is delivered in order and the reader waits
// (a file). Frames the source reports as ErrCorrupt are counted and skipped.
// Next and Release allocate nothing.
type Grabber struct {
	src  Source
	drop bool

	free   chan *Frame
	queue  chan *Frame   // in-order mode
	notify chan struct{} // drop mode: a new latest frame
	mu     sync.Mutex
	latest *Frame

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	err      error

	dropped, corrupt, read atomic.Int64
	lastCorrupt            atomic.Pointer[error]
}

// NewGrabber prepares buffers frames (at least 3 in drop mode, 2
// otherwise) of src's format. Call Start to begin reading.
func NewGrabber(src Source, buffers int, drop bool) (*Grabber, error) {
	least := 2
	if drop {
		least = 3
	}
	if buffers < least {
		return nil, fmt.Errorf("camera: grabber with %d buffers: want at least %d", buffers, least)
	}
	g := &Grabber{src: src, drop: drop,
		free: make(chan *Frame, buffers), queue: make(chan *Frame, buffers),
		notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	n := src.Format().FrameSize()
	if _, ok := src.(interface{ deliversOwnFrames() }); ok {
		n = 0 // the source hands over its own buffers (pictures of any size)
	}
	for range buffers {
		g.free <- &Frame{Data: make([]byte, n)}
	}
	return g, nil
}

// Start launches the reader goroutine.
func (g *Grabber) Start() { go g.reader() }

func (g *Grabber) reader() {
	defer close(g.done)
	for {
		var f *Frame
		select {
		case f = <-g.free:
		case <-g.stop:
			return
		}
		err := g.src.Read(f)
		if err != nil {
			g.free <- f
			if errors.Is(err, ErrCorrupt) {
				g.corrupt.Add(1)
				e := err // a copy: taking err's address would move it to the heap on every read
				g.lastCorrupt.Store(&e)
				continue
			}
			if err != io.EOF {
				g.err = err
			}
			return
		}
		g.read.Add(1)
		if !g.drop {
			select {
			case g.queue <- f:
			case <-g.stop:
				return
			}
			continue
		}
		g.mu.Lock()
		if g.latest != nil {
			g.dropped.Add(1)
			g.free <- g.latest
		}
		g.latest = f
		g.mu.Unlock()
		select {
		case g.notify <- struct{}{}:
		default:
		}
	}
}

// Next waits for the next frame (in drop mode: the newest). It returns nil
// at the end of the stream or after Stop; Err then tells why. Give the
// frame back with Release.
func (g *Grabber) Next() *Frame {
	if !g.drop {
		select {
		case f := <-g.queue:
			return f
		case <-g.stop:
			return nil
		case <-g.done:
			select {
			case f := <-g.queue:
				return f
			default:
				return nil
			}
		}
	}
	for {
		g.mu.Lock()
		f := g.latest
		g.latest = nil
		g.mu.Unlock()
		if f != nil {
			return f
		}
		select {
		case <-g.notify:
		case <-g.stop:
			return nil
		case <-g.done:
			g.mu.Lock()
			f := g.latest
			g.latest = nil
			g.mu.Unlock()
			return f
		}
	}
}

// Release returns a frame from Next to the ring.
func (g *Grabber) Release(f *Frame) {
	if f != nil {
		g.free <- f
	}
}

// Stop ends the stream: Next returns nil from now on and the reader
// stops after the read in progress. Safe to call more than once and from
// another goroutine (a signal handler).
func (g *Grabber) Stop() { g.stopOnce.Do(func() { close(g.stop) }) }

// Done is closed when the reader goroutine has ended.
func (g *Grabber) Done() <-chan struct{} { return g.done }

// Err is the error that ended the stream (nil for a clean end or Stop);
// valid once Done is closed.
func (g *Grabber) Err() error {
	select {
	case <-g.done:
		return g.err
	default:
		return nil
	}
}

// Dropped counts frames replaced by a newer one before the consumer took
// them (drop mode).
func (g *Grabber) Dropped() int64 { return g.dropped.Load() }

// Corrupt counts frames the source skipped as corrupt.
func (g *Grabber) Corrupt() int64 { return g.corrupt.Load() }

// LastCorrupt is the most recent ErrCorrupt error, or nil.
func (g *Grabber) LastCorrupt() error {
	if e := g.lastCorrupt.Load(); e != nil {
		return *e
	}
	return nil
}

// Read counts frames read completely.
func (g *Grabber) Read() int64 { return g.read.Load() }
