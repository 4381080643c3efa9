"""The shared name parsing: a name's shape first, then its id, each with the service's error."""

from dataclasses import dataclass

import pytest
from google.api_core.exceptions import InvalidArgument

from emulator.kit.names import (
    INVALID_PARENT_MESSAGE,
    LOCATION_PATTERN,
    JobName,
    LocatedChildName,
    child_shape,
    invalid,
    parse_location,
)

WIDGETS = child_shape(
    LOCATION_PATTERN,
    "widgets",
    r"[a-z]{1,5}",
    invalid("bad widget name"),
    lambda widget_id: InvalidArgument(f"bad widget id {widget_id}"),
)
GADGETS = child_shape(LOCATION_PATTERN, "gadgets", r"[a-z]{1,5}", invalid("bad gadget name"))


def test_a_child_name_parses_into_location_and_id():
    assert WIDGETS.parse("projects/p/locations/l/widgets/abc") == ("p", "l", "abc")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("projects/p/locations/l/gizmos/abc", "bad widget name"),
        ("projects/p/locations/l/widgets/a/b", "bad widget name"),
        ("projects/p/locations/l/widgets/toolong", "bad widget id toolong"),
        ("projects/p/locations/l/widgets/", "bad widget id "),
    ],
)
def test_with_an_id_error_a_refused_id_is_told_apart_from_a_bad_shape(name, message):
    with pytest.raises(InvalidArgument) as raised:
        WIDGETS.parse(name)
    assert raised.value.message == message


def test_match_checks_the_shape_only():
    assert WIDGETS.match("projects/p/locations/l/widgets/toolong")[-1] == "toolong"


@pytest.mark.parametrize("gadget_id", ["toolong", "", "ABC"])
def test_without_an_id_error_a_refused_id_is_a_bad_shape(gadget_id):
    with pytest.raises(InvalidArgument) as raised:
        GADGETS.parse(f"projects/p/locations/l/gadgets/{gadget_id}")
    assert raised.value.message == "bad gadget name"


def test_a_located_child_name_is_built_from_its_collection_and_id_field():
    @dataclass(frozen=True)
    class Widget(LocatedChildName, collection="widgets"):
        widget_id: str

    assert Widget("p", "l", "abc").full == "projects/p/locations/l/widgets/abc"
    job = JobName("p", "l", "j")
    assert (job.parent, job.full) == ("projects/p/locations/l", "projects/p/locations/l/jobs/j")


def test_a_location_outside_googles_pattern_is_invalid_argument():
    with pytest.raises(InvalidArgument) as raised:
        parse_location("projects/p/locations/l_1")
    assert raised.value.message == INVALID_PARENT_MESSAGE
