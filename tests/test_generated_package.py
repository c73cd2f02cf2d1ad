"""The committed generated package, imported and used: every model has a class and a method, validation is
real, bodies carry wire names, imports stay lazy, and user code type-checks under mypy --strict."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from typing import Any, get_args

import pydantic
import pytest

import genvr
from genvr.models import MODEL_KEYS, MODELS, load_input_class
from genvr_runtime import NOT_GIVEN, GenVRInput, RoutingCollisionError
from genvr_runtime._protocol import generate_body
from generator_helpers import GENERATED, ROOT, required_example, snapshot_specs


class RecordingClient(genvr.Client):
    """A generated Client whose run() records the validated input instead of calling GenVR."""

    def __init__(self) -> None:
        super().__init__(api_key="test-key", uid="test-user", base_url="http://127.0.0.1:9")
        self.calls: list[GenVRInput] = []

    def run(self, params: GenVRInput, *, wait_timeout: float | None = None, on_update: Any = None) -> Any:
        self.calls.append(params)
        return "ran"


def method_of(client: genvr.Client, key: str) -> Any:
    module, class_name = MODELS[key]
    _, _, category_attr, model_attr = module.split(".")
    return getattr(getattr(client, category_attr), model_attr)


def test_every_model_has_an_input_class_matching_its_spec() -> None:
    specs = snapshot_specs()
    assert sorted(MODEL_KEYS) == sorted(specs)
    for key, spec in specs.items():
        cls = load_input_class(key)
        assert cls.genvr_model.key == key
        fields = cls.model_fields
        assert list(fields) == [p.python_name for p in spec.params], key
        for p in spec.params:
            assert (fields[p.python_name].alias or p.python_name) == p.wire_name
            assert fields[p.python_name].is_required() == p.required, (key, p.wire_name)


def test_every_model_has_a_client_method_whose_keywords_mirror_the_class() -> None:
    client = RecordingClient()
    for key, spec in snapshot_specs().items():
        method = method_of(client, key)
        signature = inspect.signature(method)
        options = [n for n in signature.parameters if n in ("wait", "wait_timeout", "on_update")]
        assert options == ["wait", "wait_timeout", "on_update"], key
        parameters = {n: p for n, p in signature.parameters.items() if n not in options}
        if spec.free_form:
            assert [p.kind for p in parameters.values()] == [inspect.Parameter.VAR_KEYWORD]
            continue
        assert list(parameters) == sorted((p.python_name for p in spec.params), key=lambda n: not next(p for p in spec.params if p.python_name == n).required)
        required = {n for n, prm in parameters.items() if prm.default is inspect.Parameter.empty}
        assert required == {p.python_name for p in spec.params if p.required}, key
        assert all(prm.default is NOT_GIVEN for n, prm in parameters.items() if n not in required)


def test_every_model_method_validates_and_builds_a_routed_body() -> None:
    client = RecordingClient()
    for key, spec in snapshot_specs().items():
        kwargs = required_example(spec) if not spec.free_form else {"prompt": "anything"}
        assert method_of(client, key)(**kwargs) == "ran"
        params = client.calls[-1]
        body = generate_body("test-user", params)
        assert (body["uid"], f"{body['category']}/{body['subcategory']}") == ("test-user", key)
        wire = {p.python_name: p.wire_name for p in spec.params}
        expected = {wire.get(k, k) for k in kwargs} | {p.wire_name for p in spec.params if p.send_always}
        assert set(body) - {"uid", "category", "subcategory"} == expected, key


def test_flux_dev_class_field_by_field() -> None:
    from genvr.models.imagegen.flux_dev import FluxDevInput

    fields = FluxDevInput.model_fields
    assert get_args(fields["aspect_ratio"].annotation) == ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
    assert fields["aspect_ratio"].default == "16:9"
    assert fields["output_quality"].default == 80
    assert FluxDevInput(prompt="p", guidance=3).guidance == 3.0
    assert FluxDevInput.__doc__ and "Flux Dev" in FluxDevInput.__doc__


@pytest.mark.parametrize("kwargs, field", [
    ({"prompt": "p", "aspect_ratio": "7:3"}, "aspect_ratio"),  # wrong enum value
    ({"prompt": "p", "output_quality": 101}, "output_quality"),  # out of range
    ({"aspect_ratio": "1:1"}, "prompt"),  # missing required
    ({"prompt": "p", "promt": "typo"}, "promt"),  # unknown input: rejected before spending anything
])
def test_validation_errors_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    from genvr.models.imagegen.flux_dev import FluxDevInput

    with pytest.raises(pydantic.ValidationError) as info:
        FluxDevInput(**kwargs)
    assert [e["loc"] for e in info.value.errors()] == [(field,)]
    client = RecordingClient()
    # The method fails the same way: pydantic for values, Python itself for missing or unknown keywords.
    with pytest.raises((pydantic.ValidationError, TypeError), match=field):
        client.imagegen.flux_dev(**kwargs)
    assert not client.calls


def test_integer_enum_and_integer_or_string_types() -> None:
    cls = load_input_class("audiogen/cartesia_sonic2")
    example = required_example(snapshot_specs()["audiogen/cartesia_sonic2"])
    assert cls(**example, sample_rate=44100).sample_rate == 44100
    with pytest.raises(pydantic.ValidationError, match="sample_rate"):
        cls(**example, sample_rate=44000)
    bpm_cls = load_input_class("audiogen/sonauto_text2music")
    assert bpm_cls(prompt="song", bpm=120).bpm == 120
    assert bpm_cls(prompt="song", bpm="auto").bpm == "auto"
    with pytest.raises(pydantic.ValidationError, match="bpm"):
        bpm_cls(prompt="song", bpm=[1])


def test_label_to_value_enum_ships_presets_and_accepts_any_text() -> None:
    from genvr.models.videogen_templates import hug

    assert hug.PROMPT_PRESETS["Couple photo"] == "Hug."
    made = hug.HugInput(images=["https://example.com/a.png"], prompt="my own prompt")
    assert made.prompt == "my own prompt"


def test_arrays_of_files_respect_item_counts() -> None:
    cls = load_input_class("videogen_templates/hug")
    with pytest.raises(pydantic.ValidationError, match="images"):
        cls(images=[])
    with pytest.raises(pydantic.ValidationError, match="images"):
        cls(images=["https://example.com/a.png", "https://example.com/b.png"])
    trellis = load_input_class("3dgen/trellis")
    assert len(trellis(images=["https://e.com/1.png"] * 4).images) == 4


def test_camel_case_inputs_travel_under_their_wire_names() -> None:
    cls = load_input_class("vidutils/runway_act2")
    spec = snapshot_specs()["vidutils/runway_act2"]
    made = cls(**required_example(spec), body_control=True)
    assert made.to_api_params()["bodyControl"] is True
    assert cls.model_validate({**required_example(spec), "bodyControl": False}).body_control is False


def test_hidden_required_input_with_default_is_always_sent() -> None:
    cls = load_input_class("videogen/runway_gen4_turbo")
    body = cls(prompt="p", image_url="https://example.com/a.png").to_api_params()
    assert body == {"prompt": "p", "image_url": "https://example.com/a.png", "model": "runway/gen4_turbo"}


def test_unset_inputs_are_not_sent_and_explicit_values_are() -> None:
    from genvr.models.imagegen.flux_dev import FluxDevInput

    assert FluxDevInput(prompt="p").to_api_params() == {"prompt": "p"}
    assert FluxDevInput(prompt="p", seed=-1).to_api_params() == {"prompt": "p", "seed": -1}


def test_model_parameter_named_category_cannot_be_sent_but_model_stays_callable() -> None:
    client = RecordingClient()
    spec = snapshot_specs()["imgutils_transfer/garment"]
    client.imgutils_transfer.garment(**required_example(spec))
    body = generate_body("u", client.calls[-1])
    assert body["category"] == "imgutils_transfer"
    client.imgutils_transfer.garment(**required_example(spec), category="dresses")
    with pytest.raises(RoutingCollisionError, match=r"\[.category.\].*imgutils_transfer/garment"):
        generate_body("u", client.calls[-1])


def test_free_form_models_pass_inputs_through() -> None:
    client = RecordingClient()
    client.videogen.sora2(prompt="a cat", duration=8)
    assert client.calls[-1].to_api_params() == {"prompt": "a cat", "duration": 8}


def test_identifiers_for_real_quirks() -> None:
    client = RecordingClient()
    assert callable(client.gen3d.trellis)  # category 3dgen starts with a digit
    assert callable(client.imagegen.minimax_image_o1)  # hyphenated subcategory
    # the same subcategory in two categories: two classes, two routes
    a, b = load_input_class("imgutils/topaz_upscale"), load_input_class("vidutils/topaz_upscale")
    assert a is not b and (a.genvr_model.category, b.genvr_model.category) == ("imgutils", "vidutils")


async def test_async_client_method() -> None:
    seen: list[GenVRInput] = []

    class RecordingAsyncClient(genvr.AsyncClient):
        async def run(self, params: GenVRInput, *, wait_timeout: float | None = None, on_update: Any = None) -> Any:
            seen.append(params)
            return "ran"

    client = RecordingAsyncClient(api_key="k", uid="u", base_url="http://127.0.0.1:9")
    assert await client.imagegen.flux_dev(prompt="p") == "ran"
    assert seen[0].to_api_params() == {"prompt": "p"}
    await client.close()


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-W", "error", "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_genvr_is_lazy() -> None:
    loaded = _python("""
        import sys, genvr
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('genvr', 'genvr_runtime', 'pydantic', 'httpx')))
        from genvr.models.imagegen.flux_dev import FluxDevInput
        print(sorted(m for m in sys.modules if m.startswith('genvr.models.')))
    """).splitlines()
    assert loaded[0] == "['genvr']"
    assert loaded[1] == "['genvr.models.imagegen', 'genvr.models.imagegen.flux_dev']"  # startswith('genvr.models.')


def test_model_namespace_fields_import_without_warnings() -> None:
    # -W error turns pydantic's protected-namespace warning into a failure
    _python("""
        from genvr.models import MODEL_KEYS, load_input_class
        for key in MODEL_KEYS:
            load_input_class(key)
    """)


def test_generated_code_and_user_code_pass_mypy_strict(tmp_path: Any) -> None:
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent("""
        from pathlib import Path

        from genvr import Client, GenerationResult
        from genvr.models.imagegen.flux_dev import FluxDevInput

        def use(client: Client) -> list[str]:
            result: GenerationResult = client.imagegen.flux_dev(prompt="x", aspect_ratio="16:9", seed=3)
            client.imgedit.background_change(image_url=Path("photo.png"))  # local files are uploaded
            client.gen3d.trellis(images=["https://example.com/a.png", b"raw png bytes"])
            params = FluxDevInput(prompt="x", output_format="webp")
            return result.output + [params.prompt]
    """))
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        from genvr import Client

        def use(client: Client) -> None:
            client.imagegen.flux_dev(prompt="x", aspect_ratio="7:3")
            client.imagegen.flux_dev(aspect_ratio="1:1")
    """))
    good.write_text(good.read_text().replace("from genvr import Client, GenerationResult", "from genvr import Client, GenerationResult, Job")
                    + textwrap.dedent("""
        def later(client: Client) -> str:
            job: Job = client.imagegen.flux_dev(prompt="x", wait=False)
            return job.task_id
    """))
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache")]
    ok = subprocess.run([*mypy, str(GENERATED / "genvr"), str(ROOT / "runtime" / "genvr_runtime"), str(good)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout
    ko = subprocess.run([*mypy, str(bad)], capture_output=True, text=True, cwd=ROOT)
    # Both mistakes are caught; with the wait=True/False overloads mypy lists the variants (and so the choices).
    assert "bad.py:5: error: No overload variant" in ko.stdout and "bad.py:6: error: No overload variant" in ko.stdout, ko.stdout
    assert "aspect_ratio: Literal['1:1', '16:9'" in ko.stdout and "prompt: str," in ko.stdout
