"""The YAML data files match their JSON Schemas (``wuwei_analysis/data/schemas``).

Every object in a schema says ``additionalProperties: false``: a misspelt key
(``monitorble``), a value of the wrong type or an unknown code fails here with the file and
the key named, before any loader or brief meets it.
"""
import json

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")

from wuwei_analysis.settings import DATA_DIR  # noqa: E402

SCHEMAS = DATA_DIR / "schemas"
#: data file (relative to DATA_DIR) -> schema file
FILES = {
    "catalog/women.yaml": "catalog.schema.json",
    "catalog/children.yaml": "catalog.schema.json",
    "catalog/_meta.yaml": "catalog_meta.schema.json",
    "units.yaml": "units.schema.json",
    "regions.yaml": "regions.schema.json",
    "illustrative_levels.yaml": "illustrative_levels.schema.json",
    "public/mapping.yaml": "public_mapping.schema.json",
}


def load_schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def problems(doc, schema: dict, file: str) -> list[str]:
    """One line per violation: the file, the key path (with the indicator id when the path
    goes through a catalogue entry) and what is wrong."""
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        where = "/".join(map(str, path)) or "（根）"
        if len(path) >= 2 and path[0] == "indicators" and isinstance(doc, dict):
            where += f"（指标 {doc['indicators'][path[1]].get('id', '?')}）"
        out.append(f"{file}: {where}: {err.message}")
    return out


def test_every_schema_is_a_valid_schema_that_forbids_unknown_keys():
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(set(FILES.values()))
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)

        def objects(node):
            if isinstance(node, dict):
                if node.get("type") == "object" and "properties" in node:
                    yield node
                for v in node.values():
                    yield from objects(v)
            elif isinstance(node, list):
                for v in node:
                    yield from objects(v)

        for obj in objects(schema):
            assert obj.get("additionalProperties") is False, (path.name, sorted(obj["properties"]))


@pytest.mark.parametrize("file", sorted(FILES))
def test_data_file_matches_its_schema(file):
    doc = yaml.safe_load((DATA_DIR / file).read_text(encoding="utf-8"))
    found = problems(doc, load_schema(FILES[file]), f"data/{file}")
    assert not found, "\n".join(found)


def test_a_misspelt_key_is_reported_with_the_file_the_indicator_and_the_key():
    doc = yaml.safe_load((DATA_DIR / "catalog/children.yaml").read_text(encoding="utf-8"))
    doc["indicators"][0]["monitorble"] = True
    doc["indicators"][1]["target"]["kind"] = "at_mostt"
    found = problems(doc, load_schema("catalog.schema.json"), "data/catalog/children.yaml")
    first, second = doc["indicators"][0]["id"], doc["indicators"][1]["id"]
    assert any(f"indicators/0（指标 {first}）" in p and "'monitorble'" in p for p in found), found
    assert any(f"indicators/1/target/kind（指标 {second}）" in p and "at_mostt" in p
               for p in found), found
    assert all(p.startswith("data/catalog/children.yaml: ") for p in found)


def test_a_unit_whose_english_name_lost_its_comma_is_caught():
    # `{en: per 1,000, ...}` in a YAML flow mapping reads as en="per 1" plus a key 000 (= 0)
    units = yaml.safe_load('"‰": {zh: 千分率, en: per 1,000, kind: rate, scale: 1000, decimals: 2}')
    found = problems(units, load_schema("units.schema.json"), "data/units.yaml")
    assert found and "data/units.yaml: ‰:" in found[0] and "0 was unexpected" in found[0]
