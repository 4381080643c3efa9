"""Rich error details (``google.rpc`` Help, ErrorInfo, LocalizedMessage) Google attaches to some
errors.

An engine raises a ``google.api_core`` exception whose ``details`` holds these messages (and, for
an ErrorInfo, whose ``error_info`` is set, so ``reason``/``domain``/``metadata`` work as on a
client's exception); each front door renders them: the gRPC server as the
``grpc-status-details-bin`` trailer the official clients parse back into ``exc.details``.
"""

from __future__ import annotations

from google.api_core.exceptions import PermissionDenied
from google.rpc import error_details_pb2

DEVELOPERS_CONSOLE_URL = "https://console.developers.google.com"
"""The link Google's API front end gives with a refused project."""


def help_link(description: str, url: str) -> error_details_pb2.Help:
    """A ``google.rpc.Help`` detail with one link."""
    return error_details_pb2.Help(
        links=[error_details_pb2.Help.Link(description=description, url=url)]
    )


def project_permission_denied(project: str, service: str) -> PermissionDenied:
    """Google's answer when a request's resource names a project it cannot resolve:
    PERMISSION_DENIED with an ErrorInfo (reason ``CONSUMER_INVALID``), the message localized,
    and a link to the developers console (as recorded from Cloud Tasks)."""
    message = f"Permission denied on resource project {project}."
    info = error_details_pb2.ErrorInfo(
        reason="CONSUMER_INVALID",
        domain="googleapis.com",
        metadata={
            "consumer": f"projects/{project}",
            "containerInfo": project,
            "service": service,
        },
    )
    details = [
        info,
        error_details_pb2.LocalizedMessage(locale="en-US", message=message),
        help_link("Google developers console", DEVELOPERS_CONSOLE_URL),
    ]
    return PermissionDenied(message, details=details, error_info=info)
