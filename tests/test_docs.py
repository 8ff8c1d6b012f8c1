"""The README is the front door: every document under docs/ is linked from it, and every
relative link in the README and docs/ leads to a file that exists, and to a heading of it when it
names one (`file.md#heading`, GitHub's anchors)."""

import re

import pytest

from devstack.paths import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS, *sorted(ROOT.glob("*/README.md"))]
LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")


def without_code_blocks(page):
    return re.sub(r"(?s)```.*?```", "", page.read_text())


def linked(page):
    """(target, anchor) of every relative link; target "" is the page itself."""
    return [(target, anchor) for target, anchor in LINK.findall(without_code_blocks(page))
            if "://" not in target and not target.startswith("mailto:")]


def relative_links(page):
    return [target for target, _ in linked(page) if target]


def anchors(page):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"(?m)^#+ +(.+?) *$", without_code_blocks(page))
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_document_is_linked_from_the_readme():
    linked = {(ROOT / target).resolve() for target in relative_links(ROOT / "README.md")}
    assert [d.name for d in DOCS if d.resolve() not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    missing = [t for t in relative_links(page) if not (page.parent / t).exists()]
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_to_a_heading_find_it(page):
    missing = []
    for target, anchor in linked(page):
        document = (page.parent / target) if target else page
        if anchor and document.suffix == ".md" and document.exists() \
                and anchor not in anchors(document):
            missing.append(f"{target}#{anchor}")
    assert missing == []


def test_the_readme_stays_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_every_make_target_the_docs_name_exists():
    targets = set(re.findall(r"(?m)^([a-z][\w-]*):", (ROOT / "Makefile").read_text()))
    named = set()
    for page in PAGES:
        text = page.read_text()
        code = "\n".join(re.findall(r"(?s)```.*?```", text))
        named |= set(re.findall(r"`make ([a-z][\w-]*)", text))
        named |= set(re.findall(r"(?m)^make ([a-z][\w-]*)", code))
    assert named - targets == set()


# --- one home for each fact ----------------------------------------------------------------------

# A table row that describes a topic (its first cell is one) or an LED pattern (a colour, steady,
# flashing or alternating): such rows live only on their home page, which the others link to.
TOPIC_ROW = re.compile(r"\|\s*`(\$SYS|sensors|status|alerts|actions|actuators|opcua|journal)/[^`]")
LED_ROW = re.compile(r"\|\s*(red|green|amber|yellow|blue|white)\b[^|]*"
                     r"\b(steady|flashing|alternating)\b", re.IGNORECASE)
HOMES = {"topic": (ROOT / "docs" / "topics.md", TOPIC_ROW),
         "LED pattern": (ROOT / "docs" / "annunciator.md", LED_ROW)}


def table_rows(page):
    return [line for line in without_code_blocks(page).splitlines() if line.startswith("|")]


@pytest.mark.parametrize("fact", HOMES)
def test_each_table_of_a_fact_has_one_home(fact):
    home, row = HOMES[fact]
    assert any(row.match(line) for line in table_rows(home)), f"{home.name} lost its table"
    copies = {}
    for page in PAGES:
        rows = [line[:60] for line in table_rows(page) if row.match(line)]
        if page != home and rows:
            copies[str(page.relative_to(ROOT))] = rows
    assert copies == {}, f"{fact} rows belong in {home.relative_to(ROOT)} only: link to it"


def test_the_one_home_check_finds_a_copy():
    assert TOPIC_ROW.match("| `alerts/<alert>/ack` | indicator | ... |")
    assert LED_ROW.match("| red flashing (2 Hz) | `unacked` | ... |")
    assert not TOPIC_ROW.match("| `opcua-bridge` | nothing | `sensors/#` |")
    assert not TOPIC_ROW.match("| `actions/` | `python -m actions` |")  # a folder
    assert not LED_ROW.match("| the LED keeps flashing after a press | ... |")
