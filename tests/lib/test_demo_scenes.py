"""The demo pictures show their metadata: sky by weather, night when dark, snow and heat by temperature,
framing by camera, car colours by colours; the demo videos are real H.264 with a keyframe each second."""

import io

import av
from PIL import Image

from metadata_site.lib import demo_scenes

BASE = {"weather": "Sunny", "temperature": 15.0, "dark": False, "camera": "cam-0001", "colors": [],
        "captured_at": "2025-03-05T10:00:00Z"}


def _sky(img: Image.Image) -> tuple:
    """The mean colour of a strip of sky right under the on-screen text."""
    strip = img.crop((200, 30, 440, 40)).resize((1, 1), Image.BOX)
    return strip.getpixel((0, 0))


def _ground_edge(img: Image.Image, camera: str = BASE["camera"]) -> tuple:
    """The mean colour of the verge at the left edge, just below the horizon."""
    hz = demo_scenes._framing(camera, None)["horizon"]
    return img.crop((0, hz + 4, 12, hz + 12)).resize((1, 1), Image.BOX).getpixel((0, 0))


def test_a_picture_is_a_640x480_jpeg_and_the_same_item_always_gets_the_same_picture():
    data = demo_scenes.jpeg(BASE, seed=3)
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.size == (640, 480)
    assert data == demo_scenes.jpeg(BASE, seed=3)


def test_a_sunny_day_has_a_blue_sky_and_a_night_a_dark_one():
    r, g, b = _sky(demo_scenes.render(BASE, seed=1))
    assert b > 150 and b > r + 40
    night = _sky(demo_scenes.render({**BASE, "dark": True}, seed=1))
    assert max(night) < 80


def test_fog_and_rain_grey_the_sky():
    fog = _sky(demo_scenes.render({**BASE, "weather": "Fog"}, seed=1))
    assert max(fog) - min(fog) < 25 and min(fog) > 150


def test_frost_covers_the_verges_with_snow_and_heat_dries_the_grass():
    for seed in (1, 2):  # a countryside and a highway scene (city verges are pavement)
        frozen = _ground_edge(demo_scenes.render({**BASE, "temperature": -8.0}, seed=seed))
        assert min(frozen) > 200
        mild = _ground_edge(demo_scenes.render(BASE, seed=seed))
        assert mild[1] > mild[2] + 30  # green grass
        hot = _ground_edge(demo_scenes.render({**BASE, "temperature": 38.0}, seed=seed))
        assert hot[0] > hot[2] + 60  # dry, warm


def test_the_camera_decides_the_framing():
    a = demo_scenes._framing("cam-0001", None)
    b = demo_scenes._framing("cam-0002", None)
    assert (a["horizon"], a["vanish_x"]) != (b["horizon"], b["vanish_x"])
    assert demo_scenes._framing("cam-0001", None) == a


def test_the_cars_have_the_items_colours():
    img = demo_scenes.render({**BASE, "colors": ["red"]}, seed=2)
    red = sum(1 for r, g, b in img.get_flattened_data() if r > 170 and g < 60 and b < 60)
    plain = demo_scenes.render({**BASE, "colors": ["blue"]}, seed=2)
    assert red > 200 and sum(1 for r, g, b in plain.get_flattened_data() if r > 170 and g < 60 and b < 60) < red // 4


def test_a_demo_video_is_h264_mp4_with_a_keyframe_each_second():
    data = demo_scenes.video_mp4(BASE, seed=5, seconds=3, fps=24, keyframe_every=24)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (320, 240)
        keyframes = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.is_keyframe]
    assert keyframes == [0.0, 1.0, 2.0]
