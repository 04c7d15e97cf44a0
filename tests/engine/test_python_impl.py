"""The python implementation: only exact allowed modules, sync and async callables."""

from __future__ import annotations

import os
import threading

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    PythonImplementation,
    execute_batch_sync,
    implementation_from_config,
)
from tools_app.engine.process_pool import shared_pool

from .support import body, call, echo_spec

DEMO = "tools_app.demo_tools"


def python_spec(target: str, allowed=(DEMO,), name: str = "tool", **config):
    impl = implementation_from_config(
        "python", {"callable": target, **config}, allowed_modules=allowed
    )
    return echo_spec(name, implementation=impl)


@pytest.mark.parametrize("target", [f"{DEMO}:calculate", f"{DEMO}.calculate"])
def test_a_sync_function_from_an_allowed_module_runs_with_keyword_arguments(target):
    [result] = execute_batch_sync(
        [call("c1", "tool", {"expression": "6 * 7"})], [python_spec(target)]
    ).results
    assert body(result) == {"success": True, "result": 42}


@pytest.mark.parametrize("strategy", ["asyncio", "threads", "sequential"])
def test_functions_run_in_a_child_process_by_default(strategy):
    [result] = execute_batch_sync(
        [call("c1", "tool", {"expression": "1 + 1"})],
        [python_spec(f"{DEMO}:calculate")],
        ExecutionOptions(strategy=strategy),
    ).results
    assert result.ok
    assert result.worker in {f"python-{pid}" for pid in shared_pool().pids()}
    assert result.worker != f"python-{os.getpid()}"


def test_an_async_function_runs_in_a_child_process_too():
    [result] = execute_batch_sync(
        [call("c1", "tool", {"ms": 1})], [python_spec(f"{DEMO}:sleep")]
    ).results
    assert body(result) == {"success": True, "result": {"slept_ms": 1}}
    assert result.worker.startswith("python-")


@pytest.mark.parametrize("strategy", ["asyncio", "threads", "sequential"])
def test_in_process_sync_functions_run_in_worker_threads(strategy):
    [result] = execute_batch_sync(
        [call("c1", "tool", {"expression": "1 + 1"})],
        [python_spec(f"{DEMO}:calculate", in_process=True)],
        ExecutionOptions(strategy=strategy),
    ).results
    assert result.ok
    assert result.worker.startswith(f"fcstudio-{strategy}_")
    assert result.worker != threading.main_thread().name


def test_an_in_process_async_function_is_awaited_on_the_loop():
    [result] = execute_batch_sync(
        [call("c1", "tool", {"ms": 1})], [python_spec(f"{DEMO}:sleep", in_process=True)]
    ).results
    assert body(result) == {"success": True, "result": {"slept_ms": 1}}
    assert result.worker == "event-loop"


def test_an_exception_in_the_function_is_an_execution_error():
    [result] = execute_batch_sync(
        [call("c1", "tool", {"expression": "__import__('os')"})], [python_spec(f"{DEMO}:calculate")]
    ).results
    assert result.error.code is ErrorCode.EXECUTION_ERROR
    assert result.error.message.startswith("ValueError: ")


def test_unexpected_arguments_are_an_execution_error():
    [result] = execute_batch_sync(
        [call("c1", "tool", {"expresion": "1"})], [python_spec(f"{DEMO}:calculate")]
    ).results
    assert result.error.code is ErrorCode.EXECUTION_ERROR
    assert "unexpected keyword argument 'expresion'" in result.error.message


@pytest.mark.parametrize(
    ("target", "allowed", "message"),
    [
        ("os:system", (DEMO,), "'os' is not in the allowed modules"),
        ("os.path:join", ("os",), "'os.path' is not in the allowed modules"),
        ("os.path.join", ("os",), "'os.path' is not in the allowed modules"),
        ("os:path.join", ("os",), "one public name"),
        ("os:path", ("os",), "not a function"),
        ("os:getcwd", ("os.path", "os.pathx"), "'os' is not in the allowed modules"),
        ("tools_app:demo_tools", ("tools_app",), "has no 'demo_tools'|not a function"),
        (f"{DEMO}:ZoneInfo", (DEMO,), "not a function"),
        (f"{DEMO}:_checked_pow", (DEMO,), "one public name"),
        (f"{DEMO}:__builtins__", (DEMO,), "one public name"),
        (f"{DEMO}:asyncio", (DEMO,), "not a function"),
        (f"{DEMO}:nonexistent", (DEMO,), "has no 'nonexistent'"),
        ("tools_app.demo_tools..x", (DEMO,), "does not name a module"),
        ("../etc:passwd", ("../etc",), "does not name a module"),
        ("no_such_module_xyz:f", ("no_such_module_xyz",), "cannot be imported"),
        ("", (DEMO,), "needs 'callable'"),
    ],
)
def test_anything_but_a_function_of_an_allowed_module_is_refused(target, allowed, message):
    with pytest.raises(ValueError, match=message):
        implementation_from_config("python", {"callable": target}, allowed_modules=allowed)


def test_re_exported_functions_of_an_allowed_module_are_refused():
    # `os` re-exports `getcwd` from `posix`: allowing a module never allows what it imports
    with pytest.raises(ValueError, match="is defined in 'posix'"):
        implementation_from_config("python", {"callable": "os:getcwd"}, allowed_modules=("os",))


def test_a_function_defined_in_an_allowed_stdlib_module_is_allowed():
    impl = implementation_from_config(
        "python", {"callable": "json:dumps"}, allowed_modules=("json",)
    )
    [result] = execute_batch_sync(
        [call("c1", "t", {"obj": [1]})], [echo_spec("t", implementation=impl)]
    ).results
    assert result.result == "[1]"


def test_config_must_be_exact():
    with pytest.raises(ValueError, match="unknown keys: module"):
        implementation_from_config(
            "python", {"callable": f"{DEMO}:calculate", "module": "x"}, allowed_modules=(DEMO,)
        )
    with pytest.raises(ValueError, match="'in_process' must be true or false"):
        implementation_from_config(
            "python",
            {"callable": f"{DEMO}:calculate", "in_process": "yes"},
            allowed_modules=(DEMO,),
        )


def test_a_plain_function_can_be_wrapped_directly():
    async def greet(name: str) -> str:
        return f"hello {name}"

    spec = echo_spec("greet", implementation=PythonImplementation(greet))
    [result] = execute_batch_sync([call("c1", "greet", {"name": "Ada"})], [spec]).results
    assert result.result == "hello Ada"
