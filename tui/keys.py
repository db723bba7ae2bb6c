"""Keys the app gives a meaning to everywhere, a text field included (issue 7 item 2).

A macOS terminal (US layout, Option as a compose key) sends a character for Option+digit
(Option+2 is "™") instead of alt+2: those characters switch tabs like alt+digit and are never
typed into a sidebar field. Named here as Textual names a key (textual.keys: the character
itself if alphanumeric, else its Unicode name).
"""

from __future__ import annotations

import unicodedata

OPTION_DIGITS = "¡™£¢∞§¶•ª"  # Option+1 .. Option+9


def key_name(character: str) -> str:
    if character.isalnum():
        return character
    return unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")


OPTION_DIGIT_KEYS: tuple[str, ...] = tuple(key_name(c) for c in OPTION_DIGITS)
