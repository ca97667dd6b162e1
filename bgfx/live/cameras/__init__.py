"""Camera inputs beyond OpenCV's decoded V4L2 frames: the MJPEG fast path (`mjpeg`)."""
