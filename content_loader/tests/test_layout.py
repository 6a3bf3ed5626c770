"""File structure: the single-file module examples of the progress-tracking plan, and the folder layout."""

import uuid

from content_loader.parsing import parse_course, parse_lens, parse_module, parse_outcome


def test_parse_module_extracts_uuid():
    """Module with id in frontmatter should have content_id set."""
    markdown = """---
id: 550e8400-e29b-41d4-a716-446655440000
slug: introduction
title: Introduction
---

# Text: Welcome
content::
Hello world.
"""
    module = parse_module(markdown)
    assert module.content_id == uuid.UUID("550e8400-e29b-41d4-a716-446655440000")
    assert module.slug == "introduction"
    assert module.sections[0].segments[0].get("content") == "Hello world."


def test_parse_module_without_uuid():
    """Module without id should have content_id as None, and says so."""
    markdown = """---
slug: introduction
title: Introduction
---

# Text: Welcome
content::
Hello world.
"""
    module = parse_module(markdown)
    assert module.content_id is None
    assert any("module has no `id`" in d.message for d in module.report.diagnostics)


def test_parse_section_with_uuid():
    """Section with id field should have content_id set."""
    markdown = """---
slug: introduction
title: Introduction
---

# Video: AI Overview
id:: f47ac10b-58cc-4372-a567-0e02b2c3d479
source:: [[video_transcripts/ai-overview]]

## Video-excerpt
from:: 0:00
"""
    module = parse_module(markdown)
    assert len(module.sections) == 1
    section = module.sections[0]
    assert section.content_id == uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479")
    assert [(s.kind, s.get("from"), s.source.target) for s in section.segments] == [
        ("video", "0:00", "video_transcripts/ai-overview")
    ]


def test_parse_section_without_uuid():
    """Section without id has content_id None; it is shown but reported at its heading."""
    markdown = """---
slug: introduction
title: Introduction
---

# Video: AI Overview
source:: [[video_transcripts/ai-overview]]

## Video-excerpt
from:: 0:00
"""
    module = parse_module(markdown, "modules/introduction.md")
    assert len(module.sections) == 1
    assert module.sections[0].content_id is None
    assert module.sections[0].derived_id
    assert (
        "modules/introduction.md:6: warning: `# Video: AI Overview` has no `id::`: it is shown, but progress "
        "cannot be stored for it (run `manage.py sync_content --write-ids`)"
    ) in [str(d) for d in module.report.diagnostics]


def test_single_file_sections_of_every_kind():
    """`# Article:`, `# Text:` and `# Chat:` sections, with `## Text`, `## Chat` and excerpt segments."""
    markdown = """---
id: 550e8400-e29b-41d4-a716-446655440000
slug: m
title: M
---
# Article: Reading
id:: 11111111-1111-4111-8111-111111111111
source:: [[../articles/a]]
optional:: true

## Text
content:: Before the reading.

## Article-excerpt
from:: "Start here"
to:: "end here"

# Chat: Discussion
id:: 22222222-2222-4222-8222-222222222222
hidePreviousContentFromUser:: true
instructions::
Discuss it.
"""
    module = parse_module(markdown)
    assert module.report.diagnostics == []
    article, chat = module.steps
    assert article.optional and not chat.optional
    assert [s.kind for s in article.lens.segments] == ["text", "article"]
    assert article.lens.segments[1].source.target == "../articles/a"
    assert chat.lens.segments[0].kind == "chat"
    assert chat.lens.segments[0].get("instructions") == "Discuss it."


def test_folder_module_sections():
    """Inline lenses (`id::` and `####` segments), referenced lenses and learning outcomes, in order."""
    markdown = """---
id: 550e8400-e29b-41d4-a716-446655440000
slug: m
title: M
---
# Lens: Welcome
id:: 11111111-1111-4111-8111-111111111111
#### Text
content:: Hi.

# Learning Outcome: Do it
source:: ![[../Learning Outcomes/O|the outcome]]
optional:: true

# Lens:
optional:: true
hide:: true
source:: [[../Lenses/L]]
"""
    module = parse_module(markdown)
    assert module.report.diagnostics == []
    inline, lo, ref = module.steps
    assert (inline.kind, inline.title, inline.lens.id) == (
        "lens",
        "Welcome",
        uuid.UUID(int=0x11111111111141118111111111111111),
    )
    assert (lo.kind, lo.link.target, lo.link.text, lo.optional) == ("lo", "../Learning Outcomes/O", "the outcome", True)
    assert (ref.kind, ref.link.target, ref.optional, ref.hide) == ("lens", "../Lenses/L", True, True)


def test_submodules_at_the_heading_levels_the_vault_uses():
    """`# Submodule:` with `slug::`, followed by `## Lens:`, `### Lens:` and `## Learning Outcome:` sections."""
    markdown = """---
id: 550e8400-e29b-41d4-a716-446655440000
slug: m
title: M
---
# Submodule: First part
slug:: first
## Lens:
source:: [[../Lenses/A]]
### Lens: Deeper
source:: [[../Lenses/B]]
# Submodule: Second Part
## Learning Outcome:
source:: [[../Learning Outcomes/O]]
"""
    module = parse_module(markdown)
    assert module.report.diagnostics == []
    assert [(s.kind, s.slug or s.link.target) for s in module.steps] == [
        ("submodule", "first"),
        ("lens", "../Lenses/A"),
        ("lens", "../Lenses/B"),
        ("submodule", "second-part"),
        ("lo", "../Learning Outcomes/O"),
    ]


def test_course_modules_and_meetings():
    """A course lists `# Module: [[link|name]]` (optionally optional) and `# Meeting:` in order."""
    doc = parse_course(
        "---\nslug: c\ntitle: C\nslug-aliases: old-c\n---\n# Module:  [[../modules/a|First]]\noptional:: true\n"
        "# Meeting: Week 1\n# Module: [[../modules/b]]\n"
    )
    assert [(s.kind, s.title, s.optional, s.link and s.link.target) for s in doc.steps] == [
        ("module", "First", True, "../modules/a"),
        ("meeting", "Week 1", False, None),
        ("module", "", False, "../modules/b"),
    ]
    assert doc.slug_aliases == ["old-c"]


def test_learning_outcome_test_and_lenses():
    """`## Test:` with `id::` and `#### Question`/`#### Roleplay`; `## Lens:` by reference."""
    doc = parse_outcome(
        "---\nid: 550e8400-e29b-41d4-a716-446655440000\nlearning-outcome: Explain X.\n---\n"
        "## Test:\nid:: 11111111-1111-4111-8111-111111111111\n#### Question\ncontent:: Why?\nmax-chars:: 500\n"
        "## Lens:\noptional:: true\nsource:: [[../Lenses/A]]\n"
    )
    assert doc.report.diagnostics == []
    test, lens = doc.steps
    assert test.kind == "test" and test.lens.segments[0].get("max-chars") == "500"
    assert lens.kind == "lens" and lens.optional
    assert doc.statement == "Explain X."


def test_lens_file_segments_and_source_inheritance():
    """A later Article segment without `source::` reuses the previous Article's source; Video its own."""
    doc = parse_lens(
        "---\nid: 550e8400-e29b-41d4-a716-446655440000\ntldr: Short.\n---\n"
        '#### Article\nsource:: [[../articles/a]]\nto:: "x"\n'
        "#### Video\nsource:: [[../video_transcripts/v]]\n"
        '#### Article\nfrom:: "y"\n'
    )
    assert doc.report.diagnostics == []
    kinds = [(s.kind, s.source.target) for s in doc.lens.segments]
    assert kinds == [("article", "../articles/a"), ("video", "../video_transcripts/v"), ("article", "../articles/a")]
    assert doc.lens.tldr == "Short."
