"""Masking of personal data that must not be kept or shown (pure).

For now: My Number (a 12-digit individual number whose last digit is a check digit),
which the service must never store, log or post.
"""

from __future__ import annotations

import re

# 12 digits, optionally grouped 4-4-4 by a space or hyphen; full-width digits count too.
_D = "[0-9０-９]"
_MY_NUMBER = re.compile(
    rf"(?<![0-9０-９])({_D}{{4}})[ \-－ー]?({_D}{{4}})[ \-－ー]?({_D}{{4}})(?![0-9０-９])"
)
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def my_number_check_digit(first_eleven: str) -> int:
    """The check digit defined for the individual number (Numbers Act ordinance, art. 5)."""
    total = 0
    for n in range(1, 12):
        p = int(first_eleven[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_my_number(digits: str) -> bool:
    digits = digits.translate(_FULLWIDTH_DIGITS)
    return (
        len(digits) == 12
        and digits.isdigit()
        and my_number_check_digit(digits[:11]) == int(digits[11])
    )


def find_my_numbers(text: str) -> list[str]:
    return [m.group(0) for m in _MY_NUMBER.finditer(text) if is_my_number("".join(m.groups()))]


def mask_my_numbers(text: str) -> str:
    """Replace every valid My Number by asterisks, keeping its separators."""

    def mask(m: re.Match[str]) -> str:
        if not is_my_number("".join(m.groups())):
            return m.group(0)
        return re.sub(_D, "*", m.group(0))

    return _MY_NUMBER.sub(mask, text)
