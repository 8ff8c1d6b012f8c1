"""docs/annunciator.md and .env.example say what the code does."""

import re

import pytest

from devstack.paths import ROOT
from webhook.annunciator import ACK, CLEAR, DEFAULT_MODE, FIRE, MODES, SEQUENCES, next_state
from webhook.journal_out import JOURNAL_LIMIT

DOC = (ROOT / "docs" / "annunciator.md").read_text()


def documented_table():
    """{(sequence, state, event): next state} from the doc's "from | fires | clears | ack" table."""
    table = {}
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"`[a-z-]+`", cells[0]):
            continue
        state = cells[0].strip("`")
        for event, cell in zip((FIRE, CLEAR, ACK), cells[1:]):
            for sequence in SEQUENCES:
                qualified = dict(re.findall(r"`([a-z-]+)` \(`([a-z]+)`\)", cell))
                plain = re.fullmatch(r"`([a-z-]+)`", cell)
                if qualified:
                    target = next(s for s, q in qualified.items() if q == sequence)
                else:
                    target = plain.group(1) if plain else state  # "-": no change
                table[(sequence, state, event)] = target
    return table


def test_the_documented_transitions_are_the_code():
    table = documented_table()
    assert len(table) == 4 * 3 * len(SEQUENCES)
    for (sequence, state, event), target in table.items():
        assert next_state(state, event, sequence) == target, (sequence, state, event)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_is_documented(mode):
    assert f"- `{mode}`" in DOC


def test_env_example_shows_the_default():
    example = (ROOT / ".env.example").read_text()
    assert f"\nWEBHOOK_ANNUNCIATOR={DEFAULT_MODE}\n" in example
    assert f"Default {DEFAULT_MODE}." in example


def test_the_documented_limits_are_the_code():
    assert f"(up to {JOURNAL_LIMIT}; beyond, the oldest are" in " ".join(DOC.split())
