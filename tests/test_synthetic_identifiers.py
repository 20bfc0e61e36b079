"""Synthetic identifiers have real check digits and come from the test ranges."""
import numpy as np

from sources.synthetic.identifiers import draw_nhs_numbers, draw_upns, is_valid_nhs_number, nhs_check_digit, upn_check_letter


def test_nhs_check_digit_matches_a_published_example():
    # 943 476 5919 is the NHS Data Dictionary's worked example of a valid number
    assert nhs_check_digit(np.array([943476591]))[0] == 9


def test_drawn_nhs_numbers_are_valid_distinct_and_in_the_test_range():
    numbers = draw_nhs_numbers(np.random.default_rng(1), 5000)
    assert is_valid_nhs_number(numbers).all()
    assert len(set(numbers)) == 5000
    assert all(n.startswith("999") for n in numbers)


def test_nhs_numbers_spill_into_the_next_test_block_for_very_large_partnerships():
    numbers = draw_nhs_numbers(np.random.default_rng(2), 950_000)
    assert len(set(numbers)) == 950_000
    assert {n[:3] for n in numbers} == {"999", "998"}


def test_upn_check_letter_follows_the_dfe_modulus_23_rule():
    # weights 2..13 over the 12 digits after the check letter; remainder indexes A-Z without I, O, S
    stem = 820200101006
    digits = [int(c) for c in str(stem)]
    remainder = sum(d * w for d, w in zip(digits, range(2, 14))) % 23
    assert upn_check_letter(np.array([stem]))[0] == "ABCDEFGHJKLMNPQRTUVWXYZ"[remainder]
    upns = draw_upns(np.random.default_rng(3), 1000, np.full(1000, 991), np.full(1000, 2015))
    assert len(set(upns)) == 1000 and all(len(u) == 13 and u[1:4] == "991" for u in upns)
