"""Text of small vault files for tests: a valid minimal vault and builders for its parts."""

from __future__ import annotations

COURSE_ID = "00000000-0000-4000-8000-000000000001"
MODULE_ID = "00000000-0000-4000-8000-000000000002"
LENS_A = "00000000-0000-4000-8000-00000000000a"
LENS_B = "00000000-0000-4000-8000-00000000000b"
LENS_C = "00000000-0000-4000-8000-00000000000c"
OUTCOME_ID = "00000000-0000-4000-8000-0000000000e0"
TEST_ID = "00000000-0000-4000-8000-0000000000e1"
INLINE_ID = "00000000-0000-4000-8000-0000000000f0"


def lens(content_id: str, text: str = "Some text.", *, title: str = "", extra: str = "") -> str:
    title_line = f"title: {title}\n" if title else ""
    return f"---\nid: {content_id}\n{title_line}{extra}---\n\n#### Text\ncontent::\n{text}\n"


def module(body: str, *, content_id: str = MODULE_ID, slug: str = "intro", title: str = "Intro") -> str:
    return f"---\nid: {content_id}\nslug: {slug}\ntitle: {title}\n---\n\n{body}"


def course(body: str, *, content_id: str = COURSE_ID, slug: str = "course", extra: str = "") -> str:
    return f"---\nid: {content_id}\nslug: {slug}\ntitle: A course\n{extra}---\n\n{body}"


def outcome(body: str, *, content_id: str = OUTCOME_ID) -> str:
    return f"---\nid: {content_id}\nlearning-outcome: Explain the thing.\n---\n\n{body}"


def basic_vault() -> dict[str, str]:
    """A course with one module of two referenced lenses, an inline lens and a learning outcome."""
    return {
        "courses/course.md": course("# Module: [[../modules/intro|Introduction]]\n\n# Meeting: First meeting\n"),
        "modules/intro.md": module(
            f"# Lens: Welcome\nid:: {INLINE_ID}\n\n#### Text\ncontent::\nWelcome!\n\n"
            "# Lens:\nsource:: [[../Lenses/A]]\n\n"
            "# Learning Outcome:\nsource:: [[../Learning Outcomes/Outcome]]\n\n"
            "# Lens: Extra\noptional:: true\nsource:: [[../Lenses/C]]\n"
        ),
        "Lenses/A.md": lens(LENS_A, "Lens A text.", title="Lens A"),
        "Lenses/B.md": lens(LENS_B, "Lens B text.", title="Lens B"),
        "Lenses/C.md": lens(LENS_C, "Lens C text.", title="Lens C"),
        "Learning Outcomes/Outcome.md": outcome(
            f"## Test:\nid:: {TEST_ID}\n\n#### Question\ncontent:: What is it?\n\n## Lens:\nsource:: [[../Lenses/B]]\n"
        ),
    }


def article(body: str, *, title: str = "An article") -> str:
    """An article with the frontmatter every article needs."""
    return (
        f"---\ntitle: {title}\nauthor: Someone\nsource_url: https://example.org/a\npublished: 2024-01-02\n---\n{body}"
    )
