"""The README's gallery (scripts/make_gallery.py, `make gallery`): every GIF the script makes is committed in
docs/gallery, animated (>= 8 frames) and small (<= 150 KB). Reads the files only; no sampling."""
import make_gallery


def test_every_gallery_gif_is_committed_animated_and_small():
    assert make_gallery.check() == []


def test_check_names_what_is_missing(tmp_path):
    assert sorted(make_gallery.check(str(tmp_path))) == sorted(f"{n}: missing" for n in make_gallery.GIFS)
