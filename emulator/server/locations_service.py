"""``google.cloud.location.Locations``: the locations the emulator knows.

Google answers ListLocations and GetLocation with the regions a service runs in; the emulator
runs anywhere, so it answers, for any project, with its default location (``--location``) and
the locations of that project's queues, scheduler jobs and Cloud Run jobs. The REST front door
serves it as Cloud Tasks' (``/v2/projects/P/locations``) and Cloud Scheduler's
(``/v1/projects/P/locations``) Locations API, which ``gcloud tasks locations`` and ``gcloud
scheduler locations`` call.
"""

from __future__ import annotations

import re

from google.api_core import exceptions as api_exceptions
from google.cloud.location import locations_pb2

from emulator.cloud import LocalCloud
from emulator.kit import paging
from emulator.kit.names import INVALID_PARENT_MESSAGE, LOCATION_PATTERN
from emulator.server.grpc_api import ServiceTable, protobuf_method

SERVICE = "google.cloud.location.Locations"
#: The label Google's regional services give each of their locations.
REGION_LABEL = "cloud.googleapis.com/region"
MAX_PAGE_SIZE = 100
_PROJECT = re.compile(LOCATION_PATTERN.split("/locations/", 1)[0])
_LOCATION = re.compile(LOCATION_PATTERN)


class KnownLocations:
    """The locations of ``cloud``'s resources, plus ``default_location`` in every project."""

    def __init__(self, cloud: LocalCloud, default_location: str) -> None:
        self._cloud = cloud
        self._default = default_location

    def list_locations(
        self, request: locations_pb2.ListLocationsRequest
    ) -> locations_pb2.ListLocationsResponse:
        """ListLocations of ``projects/P``, ordered by name (no filter: INVALID_ARGUMENT)."""
        if not _PROJECT.fullmatch(request.name):
            raise api_exceptions.InvalidArgument(INVALID_PARENT_MESSAGE)
        if request.filter:
            raise api_exceptions.InvalidArgument("The emulator does not filter locations.")
        size = paging.page_size(request.page_size, MAX_PAGE_SIZE)
        after = paging.decode_page_token(request.page_token)
        names = self._names(request.name)
        page, token = paging.paginate(names, lambda name: name, after, size)
        return locations_pb2.ListLocationsResponse(
            locations=[_location(name) for name in page], next_page_token=token
        )

    def get_location(self, request: locations_pb2.GetLocationRequest) -> locations_pb2.Location:
        """GetLocation of ``projects/P/locations/L``; NOT_FOUND for a location it does not know."""
        found = _LOCATION.fullmatch(request.name)
        if found is None:
            raise api_exceptions.InvalidArgument(INVALID_PARENT_MESSAGE)
        if request.name not in self._names(f"projects/{found.group(1)}"):
            raise api_exceptions.NotFound(f"Location {request.name} is not found.")
        return _location(request.name)

    def _names(self, project: str) -> list[str]:
        """The sorted location names of ``project`` (``projects/P``)."""
        resources = [
            *(queue.name.full for queue in self._cloud.cloud_tasks.queue_snapshots()),
            *(job.name.full for job in self._cloud.scheduler.job_snapshots()),
            *(snapshot.job.name for snapshot in self._cloud.run_jobs.job_snapshots()),
        ]
        names = {f"{project}/locations/{self._default}"}
        for resource in resources:
            found = _LOCATION.match(resource)
            if found is not None and f"projects/{found.group(1)}" == project:
                names.add(found.group(0))
        return sorted(names)


def _location(name: str) -> locations_pb2.Location:
    location_id = name.rsplit("/", 1)[1]
    return locations_pb2.Location(
        name=name, location_id=location_id, labels={REGION_LABEL: location_id}
    )


def locations_service(cloud: LocalCloud, default_location: str) -> ServiceTable:
    """The Locations service table answering with the locations ``cloud`` knows."""
    known = KnownLocations(cloud, default_location)
    return ServiceTable(
        SERVICE,
        {
            "ListLocations": protobuf_method(
                locations_pb2.ListLocationsRequest,
                locations_pb2.ListLocationsResponse,
                known.list_locations,
            ),
            "GetLocation": protobuf_method(
                locations_pb2.GetLocationRequest, locations_pb2.Location, known.get_location
            ),
        },
    )
