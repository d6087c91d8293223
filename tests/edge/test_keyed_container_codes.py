"""An officer keys what the container reader may accept: ISO 6346 codes, and codes with another
category letter (a lessor's L) when the check digit agrees — never a letter the check digit
cannot tell from U, J or Z."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from kakou.edge.api import ActionIn, validate_action
from kakou.models.iso6346 import OTHER_CATEGORIES, is_valid, make_code


def _keyed(*codes: str) -> list[str]:
    return validate_action(ActionIn(action="manual_entry", plate="粤B12345", containers=list(codes))).containers


def test_category_l_code_is_accepted_and_normalised() -> None:
    assert _keyed("rwwl 456431 7", "CSQU3054383") == ["RWWL4564317", "CSQU3054383"]


@pytest.mark.parametrize("code", ["RWWL4564318", make_code("RWWA", 456431), make_code("ABCK", 123456), "CSQU3054384"])
def test_wrong_check_digit_or_check_blind_category_is_refused(code: str) -> None:
    with pytest.raises(HTTPException) as exc:
        _keyed(code)
    assert exc.value.status_code == 422 and code in str(exc.value.detail)


def test_other_categories_leave_out_the_letters_the_check_digit_cannot_tell_apart() -> None:
    assert set("AKTFP").isdisjoint(OTHER_CATEGORIES) and set("UJZ").isdisjoint(OTHER_CATEGORIES)
    assert "L" in OTHER_CATEGORIES
    # The reader's own rule is unchanged: by default only U, J and Z are valid.
    assert not is_valid("RWWL4564317") and is_valid("RWWL4564317", "UJZ" + OTHER_CATEGORIES)
