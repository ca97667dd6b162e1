"""Write a short generated test clip (a head-and-shoulders silhouette moving over a textured room)
for the demo on machines without ../shared/testdata."""

import sys

import cv2
import numpy as np

path = sys.argv[1]
writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30, (960, 540))
rng = np.random.default_rng(0)
room = cv2.GaussianBlur(rng.integers(60, 200, (540, 960, 3), dtype=np.uint8), (0, 0), 6)
for i in range(150):
    frame = room.copy()
    x = 480 + int(80 * np.sin(i / 20))
    cv2.ellipse(frame, (x, 540), (230, 170), 0, 180, 360, (90, 60, 40), -1)
    cv2.circle(frame, (x, 250), 95, (150, 180, 220), -1)
    cv2.ellipse(frame, (x, 190), (100, 60), 0, 180, 360, (30, 30, 40), -1)
    writer.write(frame)
writer.release()
