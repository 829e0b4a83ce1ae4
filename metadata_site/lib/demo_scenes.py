"""Road scenes for the demo workspace, drawn with Pillow so that each picture shows its metadata.

- ``weather``: the sky (blue with a sun, grey clouds, rain streaks, snowflakes, fog);
- ``dark``: night (dark sky, stars, lit windows, headlights and street lamps);
- ``temperature``: snow on the ground below 0 °C, dry grass and a heat haze above 30 °C;
- ``camera``: the framing (horizon height, where the road vanishes, a dashboard in the frame or not);
- ``colors``: the colours of the cars on the road;
- ``captured_at`` and ``camera``: the dashcam's on-screen text.

The scene (city, countryside, highway) and its details come from a seed, so the same item always gets the same
picture. Pure functions: no database, no files, no network. `video_mp4` encodes a short H.264 drive with PyAV.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = (640, 480)
SCENES = ("city", "country", "highway")

CAR_COLOURS = {
    "red": (200, 30, 35), "green": (30, 140, 60), "blue": (35, 80, 200), "yellow": (235, 200, 30),
    "purple": (120, 50, 160), "pink": (235, 120, 170), "black": (25, 25, 30),
}
NEUTRAL_CARS = [(200, 200, 205), (90, 95, 100), (235, 235, 235), (60, 60, 70)]

# Sky gradients (top, horizon) by weather, by day and by night.
SKY = {
    "Sunny": ((40, 110, 220), (170, 210, 245)),
    "Cloudy": ((120, 130, 145), (190, 195, 200)),
    "Rain": ((70, 78, 90), (130, 138, 148)),
    "Snow": ((165, 172, 185), (225, 228, 235)),
    "Fog": ((180, 184, 188), (205, 207, 210)),
}
NIGHT_SKY = ((5, 8, 25), (30, 38, 70))


def _framing(camera: object, rng: random.Random) -> dict:
    """Where a camera looks: from its id, so every picture of one camera is framed alike."""
    digits = "".join(ch for ch in str(camera or "") if ch.isdigit())
    n = int(digits) if digits else rng.randrange(500)
    w, h = SIZE
    return {
        "horizon": int(h * (0.36 + (n % 7) * 0.035)),
        "vanish_x": int(w * (0.38 + (n % 5) * 0.06)),
        "hood": (0, 0, 46, 72)[n % 4],
        "road_width": 0.95 + (n % 3) * 0.25,
    }


@lru_cache(maxsize=32)
def _gradient(top: tuple, bottom: tuple, height: int) -> Image.Image:
    column = Image.new("RGB", (1, height))
    px = column.load()
    for y in range(height):
        t = y / max(1, height - 1)
        px[0, y] = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
    return column.resize((SIZE[0], height))


CLOUD_VARIANTS = 6


@lru_cache(maxsize=64)
def _clouds(weather: str, variant: int) -> Image.Image:
    """A soft cloud mask as tall as the tallest sky, drawn small, blurred and scaled up once."""
    rng = random.Random(f"{weather}-{variant}")
    w, h = SIZE[0] // 4, SIZE[1] // 8
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    for _ in range({"Cloudy": 9, "Rain": 14, "Snow": 10, "Fog": 5}[weather]):
        cx, cy = rng.randrange(w), rng.randrange(h)
        rx, ry = rng.randrange(10, 30), rng.randrange(4, 10)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=rng.randrange(150, 230))
    return layer.filter(ImageFilter.GaussianBlur(3)).resize((SIZE[0], SIZE[1] // 2), Image.BILINEAR)


@lru_cache(maxsize=1)
def _font():
    return ImageFont.load_default_imagefont()  # the bitmap font: a tenth of the FreeType one's cost


def _number(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def render(metadata: dict, *, seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """One road scene showing `metadata` (see the module docstring), as an RGB image of `size`."""
    md = metadata if isinstance(metadata, dict) else {}
    rng = random.Random(seed)
    weather = md.get("weather") if md.get("weather") in SKY else rng.choice(list(SKY))
    dark = md.get("dark") is True
    temperature = _number(md.get("temperature"), 15.0)
    frame = _framing(md.get("camera"), rng)
    scene = SCENES[seed % len(SCENES)]
    w, h = SIZE
    hz, vx = frame["horizon"], frame["vanish_x"]

    img = Image.new("RGB", SIZE)
    img.paste(_gradient(*(NIGHT_SKY if dark else SKY[weather]), hz), (0, 0))
    draw = ImageDraw.Draw(img)

    # Sun, moon and stars.
    if dark:
        for _ in range(60 if weather in ("Sunny", "Cloudy") else 12):
            x, y = rng.randrange(w), rng.randrange(max(1, hz - 10))
            draw.point((x, y), fill=(220, 220, 255))
        if weather == "Sunny":
            mx, my = rng.randrange(60, w - 60), rng.randrange(20, max(21, hz // 2))
            draw.ellipse((mx - 16, my - 16, mx + 16, my + 16), fill=(235, 235, 210))
    elif weather == "Sunny":
        sx, sy = rng.randrange(60, w - 60), rng.randrange(25, max(26, hz // 2))
        draw.ellipse((sx - 38, sy - 38, sx + 38, sy + 38), fill=(255, 236, 160))
        draw.ellipse((sx - 24, sy - 24, sx + 24, sy + 24), fill=(255, 250, 220))

    # Far background: mountains (highway), hills and trees (country), buildings (city).
    far = (60, 70, 95) if not dark else (15, 18, 35)
    if scene == "highway":
        points = [(0, hz)]
        x = 0
        while x < w:
            x += rng.randrange(40, 120)
            points.append((min(x, w), hz - rng.randrange(15, 90)))
        points.append((w, hz))
        draw.polygon(points, fill=far)
        if temperature < 5 and not dark:
            for px_, py_ in points[1:-1]:
                draw.polygon([(px_ - 14, py_ + 12), (px_, py_), (px_ + 14, py_ + 12)], fill=(240, 242, 248))
    elif scene == "country":
        for layer, shade in ((0, 0.75), (1, 1.0)):
            base = (70, 120, 60) if temperature <= 30 else (150, 140, 80)
            colour = tuple(int(c * shade * (0.3 if dark else 1)) for c in base)
            points = [(0, hz)]
            for i in range(9):
                points.append((i * w // 8, hz - rng.randrange(5, 40 - layer * 15)))
            points.append((w, hz))
            draw.polygon(points, fill=colour)
        for _ in range(rng.randrange(4, 10)):
            tx = rng.randrange(w)
            if abs(tx - vx) < 60:
                continue
            th = rng.randrange(25, 60)
            trunk = (60, 45, 30) if not dark else (15, 12, 10)
            leaves = (40, 100, 45) if temperature > 0 else (230, 235, 240)
            leaves = tuple(c // 4 for c in leaves) if dark else leaves
            draw.rectangle((tx - 2, hz - th // 3, tx + 2, hz + 4), fill=trunk)
            draw.ellipse((tx - th // 3, hz - th, tx + th // 3, hz - th // 4), fill=leaves)
    else:
        x = 0
        while x < w:
            bw = rng.randrange(35, 90)
            bh = rng.randrange(40, max(41, hz - 10))
            grey = rng.randrange(70, 150)
            colour = (grey, grey - 5, grey - 12) if not dark else (18, 20, 30)
            draw.rectangle((x, hz - bh, x + bw, hz), fill=colour)
            lit = (255, 214, 120) if dark else (120, 150, 180)
            for wy in range(hz - bh + 6, hz - 8, 12):
                for wx in range(x + 5, x + bw - 6, 10):
                    if rng.random() < (0.45 if dark else 0.8):
                        draw.rectangle((wx, wy, wx + 4, wy + 6), fill=lit)
            x += bw + rng.randrange(0, 8)

    # Clouds: soft masks drawn once per weather and variant (blurring and scaling each picture's own cost more
    # than the rest of the drawing), cropped to the sky.
    if weather in ("Cloudy", "Rain", "Snow") or (weather == "Fog" and not dark):
        mask = _clouds(weather, rng.randrange(CLOUD_VARIANTS)).crop((0, SIZE[1] // 2 - hz, w, SIZE[1] // 2))
        tone = {"Cloudy": 225, "Rain": 105, "Snow": 205, "Fog": 215}[weather]
        tone = tone // 5 if dark else tone
        img.paste((tone, tone, tone + 5), (0, 0, w, hz), mask)

    # Ground: verges (grass, dry grass or snow) and the road vanishing at (vx, hz).
    snowy = temperature < 0 or weather == "Snow"
    verge = (235, 238, 243) if snowy else (175, 160, 95) if temperature > 30 else (70, 120, 55)
    if scene == "city":
        verge = (150, 150, 150) if not snowy else (225, 228, 235)
    if dark:
        verge = tuple(c // 5 for c in verge)
    draw.rectangle((0, hz, w, h), fill=verge)
    half = int(w * 0.55 * frame["road_width"])
    asphalt = (70, 72, 78) if not dark else (22, 23, 28)
    if weather == "Rain":
        asphalt = tuple(max(0, c - 20) for c in asphalt)
    draw.polygon([(vx - 4, hz), (vx + 4, hz), (w // 2 + half, h), (w // 2 - half, h)], fill=asphalt)
    line = (235, 235, 220) if not dark else (120, 120, 110)
    for i in range(14):
        t0, t1 = (i / 14) ** 2, ((i + 0.5) / 14) ** 2
        y0, y1 = hz + (h - hz) * t0, hz + (h - hz) * t1
        x0, x1 = vx + (w // 2 - vx) * t0, vx + (w // 2 - vx) * t1
        width = max(1, int(7 * t1))
        draw.polygon([(x0 - width / 3, y0), (x0 + width / 3, y0), (x1 + width, y1), (x1 - width, y1)], fill=line)
    if snowy:
        for _ in range(30):
            t = rng.random()
            y = hz + (h - hz) * t
            edge = vx + (w // 2 - half - vx) * t if rng.random() < 0.5 else vx + (w // 2 + half - vx) * t
            draw.ellipse((edge - 20 * t - 4, y - 3, edge + 20 * t + 4, y + 3), fill=(240, 242, 246))
    if scene == "city" and dark or (scene == "highway" and dark):
        for i in range(1, 6):
            t = (i / 6) ** 2
            lx = vx + (w // 2 + half + 30 - vx) * t
            ly = hz + (h - hz) * t
            draw.line((lx, ly, lx, ly - 130 * t - 10), fill=(40, 40, 45), width=max(1, int(3 * t)))
            r = 3 + 10 * t
            draw.ellipse((lx - r, ly - 130 * t - 10 - r, lx + r, ly - 130 * t - 10 + r), fill=(255, 220, 140))

    # Cars, in the item's colours.
    palette = [CAR_COLOURS[c] for c in md.get("colors") or () if c in CAR_COLOURS] or [rng.choice(NEUTRAL_CARS)]
    cars = sorted((rng.uniform(0.12, 0.85), rng.choice((-1, 1)) * rng.uniform(0.1, 0.6)) for _ in range(max(2, len(palette) + 1)))
    for n, (t, lane) in enumerate(cars):
        colour = palette[n % len(palette)]
        y = hz + (h - hz) * t
        cx = vx + (w // 2 - vx) * t + lane * half * t
        cw, ch = 150 * t + 6, 90 * t + 4
        body = colour if not dark else tuple(c // 3 for c in colour)
        draw.rounded_rectangle((cx - cw / 2, y - ch, cx + cw / 2, y - ch * 0.15), radius=max(1, int(cw / 8)), fill=body)
        glass = (40, 55, 70) if not dark else (8, 10, 15)
        draw.rectangle((cx - cw * 0.35, y - ch * 0.92, cx + cw * 0.35, y - ch * 0.6), fill=glass)
        draw.rectangle((cx - cw / 2 + 2, y - ch * 0.2, cx + cw / 2 - 2, y), fill=(15, 15, 18))
        lamp = (255, 40, 40) if lane < 0 or not dark else (255, 245, 200)
        if dark or weather in ("Rain", "Fog"):
            r = max(1.5, cw * 0.06)
            for side in (-1, 1):
                lx = cx + side * cw * 0.38
                draw.ellipse((lx - r, y - ch * 0.45 - r, lx + r, y - ch * 0.45 + r), fill=lamp)

    # Weather in front of everything: rain, snow, fog, heat haze.
    if weather == "Rain":
        streak = (190, 200, 215) if not dark else (90, 95, 110)
        for _ in range(260):
            x, y = rng.randrange(w), rng.randrange(h)
            draw.line((x, y, x - 4, y + 14), fill=streak, width=1)
    elif weather == "Snow":
        for _ in range(320):
            x, y = rng.randrange(w), rng.randrange(h)
            r = rng.choice((1, 1, 2, 3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 250, 255) if not dark else (170, 170, 185))
    if weather == "Fog":
        img = Image.blend(img, Image.new("RGB", SIZE, (200, 203, 207) if not dark else (40, 42, 48)), 0.55)
    if temperature > 30:
        band = img.crop((0, hz - 25, w, hz + 35)).filter(ImageFilter.GaussianBlur(2.2))
        img.paste(band, (0, hz - 25))
        warm = Image.new("RGB", SIZE, (255, 170, 60) if not dark else (90, 50, 20))
        img = Image.blend(img, warm, min(0.28, (temperature - 30) / 40 + 0.1))

    draw = ImageDraw.Draw(img)
    if frame["hood"]:
        hood = frame["hood"]
        draw.rectangle((0, h - hood, w, h), fill=(18, 18, 22))
        draw.arc((-w // 4, h - hood - 30, w + w // 4, h - hood + 60), 180, 360, fill=(45, 45, 52), width=6)
    osd = f"{md.get('camera') or 'cam'}  {str(md.get('captured_at') or '')[:19].replace('T', ' ')}"
    draw.rectangle((6, 6, 12 + 6 * len(osd), 22), fill=(0, 0, 0))
    draw.text((9, 9), osd, fill=(255, 255, 255), font=_font())
    temp_label = f"{temperature:+.1f} °C".replace("°", "")
    draw.text((w - 8 - 6 * len(temp_label), 9), temp_label, fill=(255, 255, 255), font=_font())
    return img if size == SIZE else img.resize(size, Image.BILINEAR)


def jpeg(metadata: dict, *, seed: int, size: tuple[int, int] = SIZE, quality: int = 82) -> bytes:
    """`render` encoded as a JPEG."""
    buf = io.BytesIO()
    render(metadata, seed=seed, size=size).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def video_mp4(metadata: dict, *, seed: int, seconds: float = 3.0, fps: int = 24, size: tuple[int, int] = (320, 240),
              keyframe_every: int = 24) -> bytes:
    """A short H.264 MP4 drive through the scene of `metadata` (the road markings and the cars move), with a
    keyframe every `keyframe_every` frames."""
    import av  # imported here: only seeding and tests make videos

    base = render(metadata, seed=seed)
    frames = int(seconds * fps)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = keyframe_every
        stream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "sc_threshold": "0"}
        w, h = base.size
        for i in range(frames):
            # Drive forward: zoom into the vanishing area a little more each frame, with a slight sway.
            zoom = 1.0 + 0.35 * (i % keyframe_every) / keyframe_every
            cw, ch = w / zoom, h / zoom
            sway = 6 * ((i % 12) - 6) / 6
            left = min(max(0.0, (w - cw) / 2 + sway), w - cw)
            top = (h - ch) * 0.55
            picture = base.resize(size, Image.BILINEAR, box=(left, top, left + cw, top + ch))
            ImageDraw.Draw(picture).text((size[0] - 46, size[1] - 14), f"{i / fps:5.2f}s", fill=(255, 255, 0), font=_font())
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def render_job(job: tuple) -> bytes:
    """One picture or video of a list of jobs, for a process pool: ``("jpeg", seed, metadata)`` or
    ``("video", seed, metadata, seconds, fps)`` (a keyframe each second)."""
    if job[0] == "video":
        _, seed, metadata, seconds, fps = job
        return video_mp4(metadata, seed=seed, seconds=seconds, fps=fps, keyframe_every=fps)
    _, seed, metadata = job
    return jpeg(metadata, seed=seed)
