"""WCAG 2.1 AA checks that need no browser: landmarks, labels, skip link, focus
styles, and the contrast ratios of the stylesheet's colour pairs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "portal" / "static" / "portal.css"
PAGES = ["/", "/search", "/search?q=puerto", "/directory", "/login", "/no-such-page"]

# (foreground, background, minimum): text needs 4.5:1 (1.4.3), boundaries and focus
# indicators 3:1 against what they sit on (1.4.11).
PAIRS = [
    ("ink", "mist", 4.5),
    ("ink", "paper", 4.5),
    ("muted", "mist", 4.5),
    ("muted", "paper", 4.5),
    ("sea", "paper", 4.5),
    ("sea", "mist", 4.5),
    ("sea-dark", "paper", 4.5),
    ("on-dark", "sea-dark", 4.5),
    ("on-dark", "sea", 4.5),
    ("alert", "paper", 4.5),
    ("ink", "mark", 4.5),
    ("ink", "tag", 4.5),
    ("ink", "removed", 4.5),
    ("ink", "added", 4.5),
    ("ink", "focus-on-dark", 4.5),  # the header's unread count
    ("alert", "removed", 4.5),  # an overdue task
    ("field", "paper", 3.0),
    ("focus", "mist", 3.0),
    ("focus", "paper", 3.0),
    ("focus-on-dark", "sea-dark", 3.0),
]


def _colours() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS.read_text()).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", root))


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48


@pytest.mark.parametrize(("fg", "bg", "minimum"), PAIRS, ids=[f"{f}-on-{b}" for f, b, _ in PAIRS])
def test_colour_pairs_have_enough_contrast(fg, bg, minimum):
    colours = _colours()

    assert contrast(colours[fg], colours[bg]) >= minimum


def test_focus_is_visible_on_every_control():
    css = CSS.read_text()

    assert re.search(r":focus-visible\s*{[^}]*outline:\s*3px solid", css)
    assert "outline: none" not in css.replace("main:focus { outline: none; }", "")


class Page(HTMLParser):
    """What the checks need from a page: landmarks, controls, labels, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.label_for: set[str] = set()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "label" and attributes.get("for"):
            self.label_for.add(attributes["for"])
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_landmarks_and_a_skip_link(app, path):
    page = parse(app.test_client().get(path).get_data(as_text=True))
    tags = [tag for tag, _ in page.tags]

    assert tags.count("main") == 1 and "header" in tags and "footer" in tags and "nav" in tags
    first_link = next(attrs for tag, attrs in page.tags if tag == "a")
    assert first_link["href"] == "#main"
    assert any(tag == "main" and attrs.get("id") == "main" for tag, attrs in page.tags)
    assert tags.count("h1") == 1
    navs = [attrs.get("aria-label") for tag, attrs in page.tags if tag == "nav"]
    assert all(navs) and len(set(navs)) == len(navs)


@pytest.mark.parametrize("path", PAGES)
def test_every_form_control_is_labelled(app, path):
    page = parse(app.test_client().get(path).get_data(as_text=True))

    unlabelled = [
        attrs
        for tag, attrs in page.tags
        if tag in {"input", "select", "textarea"}
        and attrs.get("type") not in {"hidden", "submit"}
        and attrs.get("id") not in page.label_for
        and not attrs.get("aria-label")
    ]

    assert unlabelled == []


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(app, path):
    html = app.test_client().get(path).get_data(as_text=True)
    page = parse(html)

    assert page.inline_scripts == 0
    assert all(attrs.get("src", "").startswith("/static/") for attrs in page.scripts)
    assert not any("style" in attrs for _tag, attrs in page.tags)
    assert "<style" not in html
    assert not any(name.startswith("on") for _tag, attrs in page.tags for name in attrs)
