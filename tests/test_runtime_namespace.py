"""`ModelMethod`, the base of one-class-per-model methods (`client.imagegen.flux_dev` as an object): a misspelt
keyword names the closest inputs like `ModelNamespace` does; other errors pass through untouched."""

from __future__ import annotations

from typing import Any

import pytest

from genvr_runtime import ModelMethod, ModelNamespace, UnknownInputError


class FakeClient:
    def run(self, **inputs: Any) -> dict[str, Any]:
        return inputs


class FluxDev(ModelMethod[FakeClient]):
    _label = "client.imagegen.flux_dev"

    def __call__(self, *, prompt: str, aspect_ratio: str = "1:1", wait: bool = True) -> dict[str, Any]:
        if prompt == "boom":
            dict[str, int]()["missing"]  # an error of the body, not of the call
        return self._client.run(prompt=prompt, aspect_ratio=aspect_ratio)


def test_model_method_runs_on_its_client() -> None:
    method = FluxDev(FakeClient())
    assert method(prompt="a cat", aspect_ratio="16:9") == {"prompt": "a cat", "aspect_ratio": "16:9"}
    assert repr(method) == "<model method client.imagegen.flux_dev>"


def test_model_method_names_the_closest_input() -> None:
    with pytest.raises(UnknownInputError, match=r"client\.imagegen\.flux_dev\(\) has no input 'aspect_ration'; "
                                                r"did you mean aspect_ratio\? \(inputs: prompt, aspect_ratio\)") as exc:
        FluxDev(FakeClient())(prompt="a cat", aspect_ration="16:9")  # type: ignore[call-arg]
    assert exc.value.field == "aspect_ration"
    assert isinstance(exc.value, TypeError)


def test_errors_raised_inside_the_method_pass_through() -> None:
    with pytest.raises(KeyError):
        FluxDev(FakeClient())(prompt="boom")

    class Strict(ModelMethod[FakeClient]):
        def __call__(self, *, prompt: str) -> None:
            raise TypeError("got an unexpected keyword argument 'inner'")  # deeper than the call itself

    with pytest.raises(TypeError, match="inner") as exc:
        Strict(FakeClient())(prompt="x")
    assert not isinstance(exc.value, UnknownInputError)


def test_namespace_methods_still_suggest() -> None:
    class Imagegen(ModelNamespace):
        _label = "client.imagegen"

        def flux_dev(self, *, prompt: str, seed: int = 0) -> str:
            return prompt

    assert Imagegen().flux_dev(prompt="a") == "a"
    with pytest.raises(UnknownInputError, match=r"client\.imagegen\.flux_dev\(\) has no input 'sed'; did you mean seed"):
        Imagegen().flux_dev(prompt="a", sed=1)  # type: ignore[call-arg]


def test_async_model_method_suggests_and_awaits() -> None:
    import asyncio

    class AsyncFluxDev(ModelMethod[FakeClient]):
        _label = "client.imagegen.flux_dev"

        async def __call__(self, *, prompt: str, seed: int = 0) -> dict[str, Any]:
            return self._client.run(prompt=prompt, seed=seed)

    method = AsyncFluxDev(FakeClient())
    assert asyncio.run(method(prompt="a", seed=2)) == {"prompt": "a", "seed": 2}
    with pytest.raises(UnknownInputError, match="did you mean seed"):
        method(prompt="a", sed=1)  # type: ignore[call-arg,unused-coroutine]  # refused before a coroutine exists
