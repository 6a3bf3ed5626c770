"""What of a lens is searchable, as plain text: pure, no database (tested with plain dicts)."""

# Segments whose words learners read: the lens's own text, article excerpts, video transcripts.


def lens_text(body: dict) -> str:
    """The searchable plain text of a lens body (content_loader.body.LensBody), paragraphs apart."""
    parts: list[str] = []
    tldr = body.get("tldr")
    if isinstance(tldr, str) and tldr.strip():
        parts.append(tldr.strip())
    for segment in body.get("segments") or []:
        kind = segment.get("type")
        if kind == "text":
            parts.append(segment.get("text", ""))
        elif kind == "article":
            parts.append(segment.get("article", {}).get("title", ""))
            parts.append(segment.get("text", ""))
        elif kind == "video":
            parts.append(segment.get("video", {}).get("title", ""))
            parts.append(segment.get("transcript", ""))
    return "\n\n".join(part.strip() for part in parts if part and part.strip())
