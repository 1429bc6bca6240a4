"""English for the messages and reports: a count with its noun, a type's name with its article."""


def counted(count: int, noun: str) -> str:
    """``1 session``, ``2 sessions``: a regular noun after its count."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def a_type(value: object) -> str:
    """``an int``, ``a str``, ``None``: what ``value`` is, for a message."""
    if value is None:
        return "None"
    noun = type(value).__name__
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
