package camera

import (
	"errors"
	"time"

	"github.com/mixedge/mixedge/camera/v4l2"
)

// V4L2Options are the requests a v4l2: source makes of the driver; the
// driver decides, and the source reports what it chose (Info).
type V4L2Options struct {
	Format    string        // "yuyv" or "mjpeg"; "" takes YUYV when offered, else MJPEG
	W, H      int           // frame size asked for (0: 640x480); the driver picks the nearest it has
	FPS       float64       // frame rate asked for (0: the driver's default)
	Buffers   int           // mmap buffers (0: 4)
	Timeout   time.Duration // longest wait for a frame before the camera counts as stalled (0: 5 s)
	Reconnect bool          // reopen the device, with backoff, when it disappears or stalls
	// Log receives what was negotiated and reconnection notices (nil:
	// nothing is said).
	Log func(msg string)
	// Open opens the device node (nil: the real one). Tests pass a fake.
	Open v4l2.Opener
}

// ErrStalled marks a camera that delivered no frame within the timeout.
var ErrStalled = errors.New("camera stalled")
