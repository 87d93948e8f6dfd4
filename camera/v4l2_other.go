//go:build !linux

package camera

import "fmt"

func openV4L2(path string, o V4L2Options) (Source, error) {
	return nil, fmt.Errorf("camera: v4l2:%s: V4L2 needs Linux; on this system pipe frames in instead (ffmpeg ... -f yuv4mpegpipe - | mixedge stream --source y4m:-)", path)
}
