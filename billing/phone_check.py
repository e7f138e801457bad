"""``phonenumbers.is_valid_number`` for +7 numbers with ten national digits, without
the library's per-call overhead.

The library validates a number by picking its region (RU or KZ for +7: by the
region's ``leading_digits``, else by a full type check) and then trying a dozen
number-type patterns one by one, each through its own regex cache and length
check — about 20 µs a number, which made it a fifth of a provider-scale import.
Here the same metadata patterns are compiled once into one regex per region, and
the region is picked by the same rule, so the answer is the library's (a test
compares the two over every four-digit prefix). Anything outside that shape goes
to the library itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata

COUNTRY_CODE = 7
NATIONAL_DIGITS = 10
# The descriptions phonenumbers' _number_type_helper tries after general_desc; a
# number matching any of them has a known type, i.e. is valid.
_TYPE_DESCS = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
    "fixed_line", "mobile",
)  # fmt: skip


def _fits(desc, length: int) -> bool:
    # _is_number_matching_desc: an empty length list means "any length".
    return desc is not None and bool(desc.national_number_pattern) and (
        not desc.possible_length or length in desc.possible_length
    )


@lru_cache(maxsize=1)
def _regions() -> tuple[tuple[re.Pattern | None, re.Pattern | None], ...]:
    """(leading digits, validity) per region of +7, in the library's order."""
    regions = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[COUNTRY_CODE]:
        metadata = PhoneMetadata.metadata_for_region(region)
        general = metadata.general_desc
        types = [
            desc.national_number_pattern
            for name in _TYPE_DESCS
            if _fits(desc := getattr(metadata, name), NATIONAL_DIGITS)
        ]
        valid = None
        if _fits(general, NATIONAL_DIGITS) and types:
            alternatives = "|".join(f"(?:{pattern})" for pattern in types)
            valid = re.compile(rf"(?=(?:{general.national_number_pattern})\Z)(?:{alternatives})\Z")
        leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        regions.append((leading, valid))
    return tuple(regions)


def is_valid_national(digits: str) -> bool:
    """Whether +7 ``digits`` (ten ASCII digits, the first not 0) is a valid number,
    exactly as ``phonenumbers.is_valid_number`` says."""
    for leading, valid in _regions():
        if leading is not None:
            # _region_code_for_number_from_list: leading digits decide the region.
            if leading.match(digits):
                return valid is not None and valid.match(digits) is not None
        elif valid is not None and valid.match(digits):
            return True
    return False


def is_valid_plus7(value: str) -> bool:
    """``value`` is ``+7`` and ten digits (already checked by the caller)."""
    digits = value[2:]
    if digits.isascii() and digits[0] != "0":
        return is_valid_national(digits)
    # Other digits, or a leading zero that int() would drop: the library decides.
    number = phonenumbers.PhoneNumber(country_code=COUNTRY_CODE, national_number=int(digits))
    return phonenumbers.is_valid_number(number)
