"""What live edits cost the picture (#22): the output frame rate while clients flood `set` and heavy media is set live.

A real `bgfx run` (desk video at 30 fps, blur + replace chain, null sink, governor off) is sampled every 0.25 s
through its control socket (frames_out); for each case the table gives the answer time and the output rate:
mean, and the worst 1 s window.

Cases:
- flood: 8 clients x 250 `set effects.blur.strength=N` at once (2,000 edits of one key; they coalesce);
- flood-keys: the same over 4 keys (blur strength, light wrap, refine radius and temporal: some rebuild pipelines);
- video-4k: `set effects.wall.video=` a 3840x2160 60 fps clip (played at the output size and rate, off the loop);
- video-999: a 999 fps clip (paced, at most a few source frames a tick);
- png-400mp: a 20000x20000 PNG header (refused by its size before decoding);
- pause-36mp: `set pause.image=` a 36 MP picture, then `pause` (fitted on the loader thread).

Usage: python benchmarks/live_edits.py [--seconds 6] [--out out/live_edits]   (run under flock /tmp/bgfx-bench.lock)
"""

from __future__ import annotations

import argparse
import logging
import statistics
import struct
import threading
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from bgfx.live.control.socket_server import request
from benchmarks.daemon_bench import DESK, daemon

log = logging.getLogger("live_edits")

EFFECTS = ('[{type: blur, strength: 40}, {type: replace, name: wall, colour: "#204060", enabled: false}]')


def write_clip(path: Path, size: tuple[int, int], fps: float, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), np.uint8)
    for index in range(frames):
        writer.write(cv2.resize(np.roll(base, index, axis=1), size, interpolation=cv2.INTER_NEAREST))
    writer.release()
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height (a decompression bomb's shape) with one tiny IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


class Sampler:
    """frames_out every 0.25 s on its own thread: the output rate over the span it ran."""

    def __init__(self, sock: Path) -> None:
        self._sock, self._stop, self.samples = sock, threading.Event(), []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), request(self._sock, "status", 5.0)["data"]["frames_out"]))
            except Exception as e:  # a sample lost is reported as a gap, not a crash of the benchmark
                log.warning("status: %s", e)
            self._stop.wait(0.25)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def rates(self) -> tuple[float, float]:
        """(mean fps, worst fps over any 1 s window)."""
        (t0, f0), (t1, f1) = self.samples[0], self.samples[-1]
        worst = min(((fb - fa) / (tb - ta) for (ta, fa) in self.samples for (tb, fb) in self.samples if 0.9 < tb - ta < 1.4),
                    default=float("nan"))
        return (f1 - f0) / (t1 - t0), worst


def flood(sock: Path, keys: list[str]) -> float:
    """8 clients x 250 sets over `keys`; seconds until the last answer."""
    began = time.monotonic()
    answers: list[bool] = []

    def client(offset: int) -> None:
        for index in range(250):
            key, values = keys[(offset + index) % len(keys)]
            answers.append(request(sock, f"set {key}={values[index % len(values)]}", 60.0)["ok"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.info("flood: %d answered, %d ok", len(answers), sum(answers))
    return time.monotonic() - began


def run_case(sock: Path, name: str, action, seconds: float) -> dict:
    with Sampler(sock) as sampler:
        time.sleep(1.0)
        began = time.monotonic()
        answer = action()
        answered = time.monotonic() - began
        time.sleep(seconds)
    mean, worst = sampler.rates()
    return {"case": name, "answer_s": round(answered, 2), "fps_mean": round(mean, 1), "fps_worst_1s": round(worst, 1),
            "reply": answer if isinstance(answer, str) else ""}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=Path("out/live_edits"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    media = {
        "video-4k": write_clip(args.out / "4k60.mp4", (3840, 2160), 60, 90),
        "video-999": write_clip(args.out / "999fps.mp4", (640, 360), 999, 600),
        "png-400mp": png_header_only(args.out / "bomb.png", 20000, 20000),
        "pause-36mp": args.out / "36mp.jpg",
    }
    cv2.imwrite(str(media["pause-36mp"]), cv2.resize(cv2.imread(str(DESK.parent / "portrait_sergey.png")), (7360, 4912)))
    one_key = [("effects.blur.strength", [str(v) for v in range(10, 90)])]
    four_keys = one_key + [("effects.blur.light_wrap", ["0.1", "0.2"]), ("refine.radius", ["3", "4"]), ("refine.temporal", ["0.6", "0.7"])]

    def say(*words: str):
        return lambda: request(sock, " ".join(words), 60.0)["message"]

    rows = []
    with daemon(DESK, EFFECTS, 0.0, args.out) as (_, sock):
        rows.append(run_case(sock, "quiet", lambda: "", args.seconds))
        rows.append(run_case(sock, "flood", lambda: f"{flood(sock, one_key):.1f} s", args.seconds))
        rows.append(run_case(sock, "flood-keys", lambda: f"{flood(sock, four_keys):.1f} s", args.seconds))
        request(sock, "toggle wall", 30.0)
        rows.append(run_case(sock, "video-4k", say("set", f"effects.wall.video={media['video-4k']}"), args.seconds))
        rows.append(run_case(sock, "video-999", say("set", f"effects.wall.video={media['video-999']}"), args.seconds))
        rows.append(run_case(sock, "png-400mp", say("set", f"effects.wall.image={media['png-400mp']}"), args.seconds))
        request(sock, f"set pause.image={media['pause-36mp']}", 60.0)
        rows.append(run_case(sock, "pause-36mp", say("pause"), args.seconds))
    print(f"{'case':12} {'answer s':>9} {'fps mean':>9} {'worst 1 s':>10}  reply")
    for row in rows:
        print(f"{row['case']:12} {row['answer_s']:9.2f} {row['fps_mean']:9.1f} {row['fps_worst_1s']:10.1f}  {row['reply'][:70]}")
    print(f"median fps over the cases: {statistics.median(r['fps_mean'] for r in rows):.1f}")


if __name__ == "__main__":
    main()
