"""Identifiers: valid, collision-free, and stable when models are added."""

from __future__ import annotations

import keyword

from hypothesis import given
from hypothesis import strategies as st

from generator import naming

raw_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)


def valid(identifier: str) -> bool:
    return identifier.isidentifier() and identifier.isascii() and not keyword.iskeyword(identifier) and not identifier.startswith("_")


@given(st.sets(raw_names, min_size=1, max_size=15), raw_names)
def test_adding_a_name_renames_nothing_it_does_not_collide_with(existing: set[str], added: str) -> None:
    for make in (naming.model_attributes, naming.field_names, naming.category_attributes):
        before = make(existing)
        after = make(existing | {added})
        assert all(valid(v) for v in after.values())
        assert len(set(after.values())) == len(after)  # collision-free
        alone = make({added})[added]  # the identifier `added` wants on its own
        clashing = {r for r in existing if make({r})[r] == alone}
        for raw in existing - clashing:
            assert after[raw] == before[raw], (raw, added)


def test_real_quirks() -> None:
    assert naming.category_attributes(["3dgen", "imgutils_transfer", "videogen_templates"]) == {
        "3dgen": "gen3d", "imgutils_transfer": "imgutils_transfer", "videogen_templates": "videogen_templates",
    }
    assert naming.model_attributes(["minimax-image-o1", "class", "2x_upscale"]) == {
        "minimax-image-o1": "minimax_image_o1", "class": "class_", "2x_upscale": "model_2x_upscale",
    }
    assert naming.class_names(["minimax_image_o1", "hunyuan2_3d"]) == {"minimax_image_o1": "MinimaxImageO1Input", "hunyuan2_3d": "Hunyuan23dInput"}


def test_fields_never_shadow_pydantic_or_the_runtime_base() -> None:
    names = naming.field_names(["schema", "json", "copy", "dict", "model_config", "model_fields", "model_dump", "to_api_params", "genvr_model", "self", "model_name", "bodyControl"])
    assert names["schema"] == "schema_" and names["model_dump"] == "model_dump_" and names["to_api_params"] == "to_api_params_"
    assert names["self"] == "self_" and names["model_name"] == "model_name" and names["bodyControl"] == "body_control"


def test_exact_spelling_wins_a_collision_and_the_other_gets_a_stable_suffix() -> None:
    first = naming.model_attributes(["foo-bar", "foo_bar"])
    assert first["foo_bar"] == "foo_bar" and first["foo-bar"].startswith("foo_bar_")
    assert naming.model_attributes(["foo-bar", "foo_bar", "zzz"])["foo-bar"] == first["foo-bar"]


def test_categories_never_take_a_client_attribute() -> None:
    assert naming.category_attributes(["run", "submit"], reserved={"run", "submit"}) == {"run": "run_", "submit": "submit_"}


def test_no_field_takes_an_attribute_of_the_runtime_base_class_or_pydantic() -> None:
    from genvr_runtime import GenVRInput

    taken = [n for n in [*dir(GenVRInput), *GenVRInput.__annotations__] if not n.startswith("_")]
    names = naming.field_names(taken)
    assert names["pending_files"] == "pending_files_" and names["genvr_model"] == "genvr_model_"
    assert not set(names.values()) & set(dir(GenVRInput)) and all(valid(v) for v in names.values())


def test_machinery_and_runtime_names_are_mapped() -> None:
    names = naming.assign(["importlib/importlib", "imagegen/gen_v_r", "imagegen/annotations", "load_input_class/x"])
    assert names.categories == {"imagegen": "imagegen", "importlib": "importlib_", "load_input_class": "load_input_class_"}
    assert names.models["importlib/importlib"].method == "importlib_" and names.models["imagegen/annotations"].method == "annotations_"
    assert names.models["imagegen/gen_v_r"].class_name.startswith("GenVRInput") and names.models["imagegen/gen_v_r"].class_name != "GenVRInput"


def test_a_recorded_name_is_kept_and_the_newcomer_gets_a_suffix_from_its_own_key() -> None:
    recorded = naming.assign(["imagegen/foo-bar", "imagegen/x1_1"])
    assert recorded.models["imagegen/foo-bar"].method == "foo_bar"
    grown = naming.assign(["imagegen/foo-bar", "imagegen/foo_bar", "imagegen/x1_1", "imagegen/x_1_1"], recorded)
    assert grown.models["imagegen/foo-bar"] == recorded.models["imagegen/foo-bar"]  # without the record, foo_bar would win
    assert grown.models["imagegen/foo_bar"].method == "foo_bar_" + naming._short_hash("imagegen/foo_bar")
    assert grown.models["imagegen/x_1_1"].class_name == "X11Input" + naming._short_hash("imagegen/x_1_1")
    assert naming.assign(["imagegen/foo_bar", "imagegen/foo-bar"]).models["imagegen/foo_bar"].method == "foo_bar"  # exact spelling first
