"""Real HTTP delivery: casing kept (T22), redirects not followed (T18), no response cases."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest

from emulator import Delivery
from emulator.kit.http_delivery import HttpDispatcher
from tests.emulator.http_target import RecordingTarget


@pytest.fixture
def target():
    target = RecordingTarget()
    yield target
    target.close()


def delivery(url: str, **fields) -> Delivery:
    values = {
        "url": url,
        "http_method": "POST",
        "headers": {"User-Agent": "Google-Cloud-Tasks", "X-CloudTasks-QueueName": "jobs"},
        "body": b'{"a": 1}',
        "deadline": timedelta(seconds=15),
        "queue_id": "jobs",
        "task_id": "t",
    } | fields
    return Delivery(**values)


def test_t22_sends_method_path_query_body_and_header_casing(target):
    result = HttpDispatcher()(delivery(target.url("/run?x=1")))

    (request,) = target.requests
    assert result.status == 200
    assert (request.method, request.path, request.body) == ("POST", "/run?x=1", b'{"a": 1}')
    assert "X-CloudTasks-QueueName" in request.header_names
    assert request.header("User-Agent") == "Google-Cloud-Tasks"
    assert request.header("Content-Type") is None  # no default Content-Type
    assert result.elapsed > timedelta(0)


def test_t18_a_redirect_is_the_response_not_followed(target):
    target.script("/moved", (302, {"Location": target.url("/elsewhere")}))

    result = HttpDispatcher()(delivery(target.url("/moved")))

    assert result.status == 302
    assert [r.path for r in target.requests] == ["/moved"]


def test_t10_response_headers_are_returned(target):
    target.script("/busy", (503, {"Retry-After": "7"}))

    result = HttpDispatcher()(delivery(target.url("/busy")))

    assert (result.status, result.headers.get("Retry-After")) == (503, "7")


def test_get_without_body(target):
    HttpDispatcher()(delivery(target.url(), http_method="GET", body=b""))

    assert target.requests[0].method == "GET"
    assert target.requests[0].header("Content-Length") is None


def test_connection_refused_is_no_response():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = HttpDispatcher()(delivery(f"http://127.0.0.1:{port}/"))

    assert result.status is None


def test_t11_deadline_is_the_timeout(target):
    target.delay = 1.0

    result = HttpDispatcher()(delivery(target.url(), deadline=timedelta(seconds=0.2)))

    assert result.status is None
    assert result.elapsed >= timedelta(seconds=0.2)


def test_a_route_sends_a_production_url_to_a_local_server_keeping_path_and_headers(target):
    dispatcher = HttpDispatcher(
        routes={
            "https://app.example.com/tasks/": target.url("/local/"),
            "https://app.example.com/": target.url("/other/"),
        }
    )
    result = dispatcher(delivery("https://app.example.com/tasks/execute/?x=1"))

    (request,) = target.requests
    assert result.status == 200
    assert request.path == "/local/execute/?x=1"  # the longest prefix wins
    assert request.header("Host") == f"127.0.0.1:{target.port}"
    assert request.header("X-CloudTasks-QueueName") == "jobs"


def test_urls_outside_every_route_go_where_they_say(target):
    dispatcher = HttpDispatcher(routes={"https://app.example.com/tasks/": "http://127.0.0.1:9/"})
    assert dispatcher(delivery(target.url("/run"))).status == 200


@pytest.mark.parametrize("bad", ["https://a.test/", "a.test=http://b.test/", "https://a.test/=/x"])
def test_a_malformed_route_is_refused_naming_it(bad):
    from emulator.kit.http_delivery import parse_route

    with pytest.raises(ValueError, match=r"route|URL"):
        parse_route(bad)


def test_deliveries_to_one_app_reuse_one_kept_alive_connection():
    target = RecordingTarget(keep_alive=True)
    send = HttpDispatcher()
    try:
        results = [send(delivery(target.url(f"/task/{n}"))) for n in range(5)]
        assert [result.status for result in results] == [200] * 5
        assert len({request.client_port for request in target.wait_for(5)}) == 1
    finally:
        target.close()


def test_an_app_that_closes_each_connection_gets_a_new_one_each_time(target):
    send = HttpDispatcher()
    assert [send(delivery(target.url())).status for _ in range(3)] == [200] * 3
    assert len({request.client_port for request in target.wait_for(3)}) == 3


def test_t12_a_kept_connection_the_app_closed_meanwhile_is_replaced_and_nothing_is_lost():
    target = RecordingTarget(keep_alive=True, idle_timeout=0.2)
    send = HttpDispatcher()
    try:
        assert send(delivery(target.url("/first"))).status == 200
        time.sleep(0.6)  # the app closes the idle connection
        assert send(delivery(target.url("/second"))).status == 200
        first, second = target.wait_for(2)
        assert (first.path, second.path) == ("/first", "/second")
        assert first.client_port != second.client_port
    finally:
        target.close()
