"""``dftk faces``: run the shared face pass over a clip or image and report what it found."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from toolkit.cli import app
from toolkit.cli.output import console, print_json, progress_bar

_VIDEO_OUT = (".mp4", ".mov", ".mkv")


def _check_out(out: Path, is_image: bool) -> None:
    from toolkit.errors import InputError
    from toolkit.media import IMAGE_SUFFIXES

    suffix = out.suffix.lower()
    if is_image and suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{out.name}: the input is an image, so --out must be an image (.png, .jpg, ...)")
    if not is_image and suffix not in _VIDEO_OUT:
        raise InputError(f"{out.name}: the input is a video, so --out must be .mp4, .mov or .mkv")


@app.command()
def faces(
    file: Path = typer.Argument(..., help="Video or image file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output: per-frame faces and tracks."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write an annotated copy (boxes, track ids, mesh)."),
    detector: Optional[str] = typer.Option(None, "--detector", help="Face detector backend (default: best installed)."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after N frames."),
    detect_every: int = typer.Option(5, "--detect-every", min=1, help="Run the detector every N frames; track the mesh in between."),
    with_mesh: bool = typer.Option(False, "--mesh", help="Include the 478 mesh points of every face in --json."),
) -> None:
    """Find, mesh and track the faces of a clip or image."""
    from toolkit.errors import NoFaceError
    from toolkit.faces import FacePipeline, FaceSummary
    from toolkit.faces.draw import annotate
    from toolkit.media import VideoReader, VideoWriter, write_image

    reader = VideoReader(file, max_frames=max_frames)
    is_image = reader.info.is_image
    if out is not None:
        _check_out(out, is_image)
    pipeline = FacePipeline(detector=detector, detect_every=detect_every)
    summary = FaceSummary()
    per_frame: list[dict] = []
    annotated_image = None
    with contextlib.ExitStack() as stack:
        writer = None
        if out is not None and not is_image:
            has_audio = reader.info.audio is not None
            writer = stack.enter_context(VideoWriter(out, fps=reader.fps or 25.0, audio=file if has_audio else None))
        bar = stack.enter_context(progress_bar(f"faces in {file.name}", total=reader.frame_count or None,
                                               enabled=not as_json))
        for result in pipeline.run(reader):
            summary.add(result)
            if as_json:
                per_frame.append(result.to_dict(include_mesh=with_mesh))
            if out is not None:
                drawn = annotate(result.image, result)
                if writer is not None:
                    writer.write(drawn)
                else:
                    annotated_image = drawn
            bar()
        if summary.frames_with_faces == 0:
            # Raised inside the stack: the video writer removes its temporary file.
            what = "image" if is_image else f"{summary.frames} frames"
            raise NoFaceError(f"{file.name}: no face found in {what}")
    if annotated_image is not None:
        write_image(out, annotated_image)

    video = reader.info.video
    if as_json:
        print_json({
            "file": str(file),
            "media": "image" if is_image else "video",
            "width": video.width,
            "height": video.height,
            "fps": None if is_image else round(reader.fps, 4),
            "backends": pipeline.backend_names,
            "detect_every": None if is_image else detect_every,
            "summary": summary.to_dict(),
            "frames": per_frame,
            "out": str(out) if out else None,
        })
        return
    size = summary.mean_box_size
    table = Table(show_header=False, title=f"faces in {file.name}")
    table.add_row("frames", str(summary.frames))
    table.add_row("frames with faces", f"{summary.frames_with_faces} ({100 * summary.frames_with_faces / summary.frames:.0f}%)")
    table.add_row("tracks", str(len(summary.tracks)))
    table.add_row("mean box", f"{size[0]:.0f} x {size[1]:.0f} px" if size else "-")
    table.add_row("backend", f"{pipeline.detector.name} + {pipeline.landmarker.name}"
                  + ("" if is_image else f" (detect every {detect_every})"))
    if out is not None:
        table.add_row("annotated", str(out))
    console.print(table)
    if 1 < len(summary.tracks) <= 20:
        tracks = Table("track", "frames", "first", "last", "mean box")
        for t in sorted(summary.tracks.values(), key=lambda t: t.track_id):
            x0, y0, x1, y1 = t.mean_box
            tracks.add_row(f"#{t.track_id}", str(t.frames), str(t.first_frame), str(t.last_frame),
                           f"{x1 - x0:.0f} x {y1 - y0:.0f} at ({x0:.0f}, {y0:.0f})")
        console.print(tracks)
