from __future__ import annotations

from responders.redact import find_my_numbers, is_my_number, mask_my_numbers, my_number_check_digit


def valid(first_eleven: str) -> str:
    return first_eleven + str(my_number_check_digit(first_eleven))


def test_check_digit_accepts_valid_and_rejects_off_by_one():
    number = valid("12345678901")
    assert is_my_number(number)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not is_my_number(wrong)


def test_found_in_grouped_and_full_width_forms():
    number = valid("98765432109")
    grouped = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    full = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    text = f"My number is {grouped}. 番号は{full}です。"
    assert len(find_my_numbers(text)) == 2
    masked = mask_my_numbers(text)
    assert number[:4] not in masked and "****-****-****" in masked
    assert "０" not in masked.split("番号は")[1][:12]


def test_other_long_numbers_are_left_alone():
    number = valid("12345678901")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    text = f"order {wrong}, phone 0357716426, card 4111111111111111"
    assert find_my_numbers(text) == []
    assert mask_my_numbers(text) == text
    # 12 digits inside a longer run are not a My Number.
    assert find_my_numbers("1" + number) == []
