"""Fault injection: rules, their JSON form, dispatch faults (T12 duplicates) and RPC faults."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from google.api_core.exceptions import NotFound, ResourceExhausted, ServiceUnavailable
from google.cloud import tasks_v2

from emulator import (
    CloudTasksEngine,
    DeliveryResult,
    DenyPermissions,
    Duplicate,
    FaultRule,
    Faults,
    HttpStatus,
    KillAttempt,
    Latency,
    LocalCloud,
    RpcError,
    Timeout,
    VirtualClock,
    WallClock,
)
from emulator.kit.faults import effect_to_json, rule_from_json, rule_to_json
from tests.emulator.conftest import PARENT, QUEUE, START, URL, RecordingDispatcher

OTHER_QUEUE = f"{PARENT}/queues/other"


def dispatch_rule(effect, **fields) -> FaultRule:
    return FaultRule(operation="dispatch", effect=effect, **fields)


# ------------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"operation": "Nope", "effect": RpcError("UNAVAILABLE")}, "not an operation"),
        ({"operation": "dispatch", "effect": RpcError("UNAVAILABLE")}, "needs an HttpStatus"),
        ({"operation": "CreateTask", "effect": HttpStatus(503)}, "needs an RpcError"),
        ({"operation": "dispatch", "effect": HttpStatus(99)}, "100-599"),
        ({"operation": "CreateTask", "effect": RpcError("NOPE")}, "not a gRPC status code"),
        ({"operation": "dispatch", "effect": Latency(-1)}, "negative"),
        ({"operation": "dispatch", "effect": Timeout(), "probability": 1.5}, r"\[0, 1\]"),
        ({"operation": "dispatch", "effect": Timeout(), "count": 0}, "at least 1"),
        ({"operation": "dispatch", "effect": Timeout(), "service": "pubsub"}, "not emulated"),
    ],
)
def test_invalid_rules_are_refused_with_the_field_named(fields, message):
    with pytest.raises(ValueError, match=message):
        FaultRule(**fields)


def test_rules_round_trip_through_json():
    rules = [
        dispatch_rule(HttpStatus(503, {"Retry-After": "5"}), queue="jobs", count=2),
        dispatch_rule(Timeout(), probability=0.5, enabled=False),
        dispatch_rule(Duplicate()),
        dispatch_rule(Latency(1.5)),
        FaultRule(operation="CreateTask", effect=RpcError("UNAVAILABLE", "try later")),
    ]
    for rule in rules:
        assert rule_from_json(rule_to_json(rule)) == rule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"operation": "dispatch"}, "needs 'operation' and 'effect'"),
        ({"operation": "dispatch", "effect": {"type": "explode"}}, "Unknown fault effect"),
        ({"operation": "dispatch", "effect": {"type": "http_status"}}, "'status' is required"),
        ({"operation": "dispatch", "effect": {"type": "http_status", "status": "x"}}, "integer"),
        ({"operation": "dispatch", "effect": {"type": "timeout"}, "count": True}, "boolean"),
        ({"operation": "dispatch", "effect": {"type": "timeout"}, "colour": 1}, "Unknown fault"),
    ],
)
def test_invalid_json_rules_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        rule_from_json(data)


def test_list_management_add_disable_remove_clear():
    faults = Faults()
    changes: list[int] = []
    faults.subscribe(lambda: changes.append(1))
    first = faults.add(dispatch_rule(Timeout()))
    second = faults.add(dispatch_rule(HttpStatus(500)))

    faults.set_enabled(first, False)

    assert [(f.id, f.rule.enabled) for f in faults.list()] == [(first, False), (second, True)]
    assert faults.pick("cloud_tasks", "dispatch", QUEUE) == HttpStatus(500)
    faults.remove(second)
    assert faults.pick("cloud_tasks", "dispatch", QUEUE) is None
    with pytest.raises(KeyError, match="No fault rule"):
        faults.remove(second)
    faults.clear()
    assert faults.list() == []
    assert len(changes) == 5


def test_first_matching_enabled_rule_wins_and_count_limits_firings():
    faults = Faults()
    faults.add(dispatch_rule(HttpStatus(429), queue="other"))
    limited = faults.add(dispatch_rule(HttpStatus(503), queue="jobs", count=2))
    faults.add(dispatch_rule(HttpStatus(500)))

    picks = [faults.pick("cloud_tasks", "dispatch", QUEUE) for _ in range(3)]

    assert picks == [HttpStatus(503), HttpStatus(503), HttpStatus(500)]
    assert faults.get(limited).fired == 2
    assert faults.get(limited).exhausted


def test_queue_matches_short_id_or_full_name_and_none_means_any():
    assert dispatch_rule(Timeout(), queue="jobs").matches("cloud_tasks", "dispatch", QUEUE)
    assert dispatch_rule(Timeout(), queue=QUEUE).matches("cloud_tasks", "dispatch", QUEUE)
    assert not dispatch_rule(Timeout(), queue="jobs").matches(
        "cloud_tasks", "dispatch", OTHER_QUEUE
    )
    assert not dispatch_rule(Timeout(), queue="jobs").matches("cloud_tasks", "dispatch", None)
    assert dispatch_rule(Timeout()).matches("cloud_tasks", "dispatch", OTHER_QUEUE)


def test_probability_uses_a_seedable_generator_and_losing_rolls_fall_through():
    def run(seed: int) -> list:
        faults = Faults(seed=seed)
        faults.add(dispatch_rule(HttpStatus(503), probability=0.3))
        faults.add(dispatch_rule(HttpStatus(500)))
        return [faults.pick("cloud_tasks", "dispatch", QUEUE).status for _ in range(200)]

    first = run(7)
    assert first == run(7)
    assert 30 < first.count(503) < 90
    assert set(first) == {503, 500}


def test_check_rpc_raises_an_rpc_error_and_returns_any_other_effect():
    faults = Faults()
    iam = "TestIamPermissions"
    faults.add(FaultRule(operation=iam, queue="jobs", effect=RpcError("UNAVAILABLE"), count=1))
    faults.add(FaultRule(operation=iam, effect=DenyPermissions(("cloudtasks.tasks.create",))))

    with pytest.raises(ServiceUnavailable):
        faults.check_rpc("cloud_tasks", iam, queue=QUEUE)
    denied = faults.check_rpc("cloud_tasks", iam, queue=QUEUE)
    assert denied == DenyPermissions(("cloudtasks.tasks.create",))
    assert faults.check_rpc("cloud_tasks", "ListQueues") is None


# ---------------------------------------------------------------------- dispatch faults


def test_http_status_fault_answers_without_calling_the_handler(cloud, queue, add_task, dispatcher):
    cloud.faults.add(dispatch_rule(HttpStatus(503), count=1))
    add_task("t")

    cloud.run_until_idle()

    assert len(dispatcher.deliveries) == 1  # only the retry reached the handler
    assert dispatcher.header("X-CloudTasks-TaskPreviousResponse") == "503"
    assert [(r.response_status, r.fault) for r in cloud.deliveries] == [
        (503, "http_status"),
        (200, None),
    ]


def test_t10_http_status_fault_headers_are_honoured(cloud, queue, add_task):
    cloud.faults.add(dispatch_rule(HttpStatus(429, {"Retry-After": "30"}), count=1))
    add_task("t")

    cloud.run_until_idle()

    assert cloud.deliveries[1].dispatch_time == START + timedelta(seconds=30)


def test_timeout_fault_is_no_response_at_the_deadline(cloud, queue, add_task, dispatcher, engine):
    cloud.faults.add(dispatch_rule(Timeout(), count=1))
    add_task("t", dispatch_deadline=timedelta(seconds=30))

    cloud.advance()

    task = engine.get_task(tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/t"))
    assert dispatcher.deliveries == []
    assert task.last_attempt.response_time == START + timedelta(seconds=30)
    cloud.run_until_idle()
    assert dispatcher.header("X-CloudTasks-TaskPreviousResponse") == "504"
    assert dispatcher.header("X-CloudTasks-TaskExecutionCount") == "0"


def test_latency_fault_counts_toward_the_deadline(cloud, queue, add_task, dispatcher):
    cloud.faults.add(dispatch_rule(Latency(20), count=2))
    add_task("slow", dispatch_deadline=timedelta(seconds=15))
    add_task("fine", dispatch_deadline=timedelta(seconds=30))

    cloud.advance()

    assert len(dispatcher.deliveries) == 2  # the handler is still called
    outcomes = {r.task_id: r.response_status for r in cloud.deliveries}
    assert outcomes == {"slow": None, "fine": 200}


def test_t12_duplicate_delivers_twice_back_to_back_and_the_original_settles(
    cloud, queue, add_task, dispatcher
):
    cloud.faults.add(dispatch_rule(Duplicate(), count=1))
    dispatcher.script(500, 200, 200)
    add_task("twice")

    cloud.run_until_idle()

    assert [d.task_id for d in dispatcher.deliveries] == ["twice"] * 3
    assert dispatcher.deliveries[0].headers == dispatcher.deliveries[1].headers
    # The original answered 500, so the attempt failed and was retried despite the copy's 200.
    assert [(r.response_status, r.retry_count, r.duplicate) for r in cloud.deliveries] == [
        (500, 0, False),
        (200, 0, True),
        (200, 1, False),
    ]
    assert dispatcher.header("X-CloudTasks-TaskRetryCount") == "1"


def test_t12_duplicate_on_the_wall_clock_is_concurrent():
    both_arrived = threading.Barrier(2, timeout=5)

    def dispatcher(delivery):
        both_arrived.wait()  # only returns once the copy is in flight at the same time
        return DeliveryResult(200)

    faults = Faults()
    faults.add(dispatch_rule(Duplicate()))
    engine = CloudTasksEngine(WallClock(), dispatcher, faults=faults)
    engine.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    engine.create_task(
        tasks_v2.CreateTaskRequest(
            parent=QUEUE, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=URL))
        )
    )

    (claimed,) = engine.claim_due(1)
    engine.deliver(claimed)

    assert [r.duplicate for r in engine.deliveries] == [False, True]


def test_dispatch_faults_can_target_one_queue(cloud, make_queue, add_task, dispatcher):
    make_queue()
    make_queue(OTHER_QUEUE)
    cloud.faults.add(dispatch_rule(HttpStatus(500), queue="other", count=1))
    add_task("a")
    add_task("b", parent=OTHER_QUEUE)

    cloud.advance()

    assert {r.task_id: r.response_status for r in cloud.deliveries} == {"a": 200, "b": 500}


# --------------------------------------------------------------------------- RPC faults


def test_rpc_fault_raises_the_official_exception_class(cloud, queue, add_task):
    cloud.faults.add(
        FaultRule(operation="CreateTask", effect=RpcError("UNAVAILABLE", "down"), count=1)
    )

    with pytest.raises(ServiceUnavailable, match="down"):
        add_task("t")
    add_task("t")  # the rule fired once


def test_rpc_fault_scoped_to_a_queue_matches_task_names(cloud, make_queue, add_task, engine):
    make_queue()
    make_queue(OTHER_QUEUE)
    cloud.faults.add(
        FaultRule(operation="GetTask", queue="other", effect=RpcError("RESOURCE_EXHAUSTED"))
    )
    add_task("a")
    add_task("b", parent=OTHER_QUEUE)

    engine.get_task(tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/a"))
    with pytest.raises(ResourceExhausted):
        engine.get_task(tasks_v2.GetTaskRequest(name=f"{OTHER_QUEUE}/tasks/b"))


def test_rpc_fault_comes_before_validation(cloud):
    cloud.faults.add(FaultRule(operation="GetQueue", effect=RpcError("NOT_FOUND", "injected")))

    with pytest.raises(NotFound, match="injected"):
        cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=QUEUE))


def test_local_cloud_fault_seed_makes_runs_repeat():
    def run() -> list[int | None]:
        cloud = LocalCloud(VirtualClock(START), RecordingDispatcher(200), fault_seed=3)
        cloud.faults.add(dispatch_rule(HttpStatus(500), probability=0.5))
        cloud.cloud_tasks.create_queue(
            tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
        )
        for i in range(20):
            cloud.cloud_tasks.create_task(
                tasks_v2.CreateTaskRequest(
                    parent=QUEUE,
                    task=tasks_v2.Task(
                        name=f"{QUEUE}/tasks/t{i}", http_request=tasks_v2.HttpRequest(url=URL)
                    ),
                )
            )
        cloud.advance()
        return [r.response_status for r in cloud.deliveries]

    assert run() == run()
    assert set(run()) == {200, 500}


@pytest.mark.parametrize(
    ("former", "service", "operation"),
    [("cloudtasks", "cloud_tasks", "dispatch"), ("run", "run_jobs", "attempt")],
)
def test_former_service_names_are_read_as_todays(former, service, operation):
    effect = Timeout() if service == "cloud_tasks" else KillAttempt()
    rule = FaultRule(service=former, operation=operation, effect=effect)
    assert rule.service == service
    data = {"service": former, "operation": operation, "effect": effect_to_json(effect)}
    assert rule_from_json(data).service == service
