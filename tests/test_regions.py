"""Regions are data: the city, its four county-level units and two benchmarks."""
import pytest

import wuwei_analysis as wa
from wuwei_analysis.errors import UnknownRegionError
from wuwei_analysis.geography import counties, monitored, region


def test_the_city_and_its_counties_carry_their_gb_t_2260_codes():
    codes = {r.name: r.code for r in monitored()}
    assert codes == {"武威市": "620600", "凉州区": "620602", "民勤县": "620621",
                     "古浪县": "620622", "天祝藏族自治县": "620623"}


def test_every_county_has_the_city_as_parent():
    assert {r.parent for r in counties()} == {"620600"}


@pytest.mark.parametrize("alias", ["天祝县", "天祝", "Tianzhu", "620623", 620623])
def test_aliases_names_and_codes_find_the_same_region(alias):
    assert region(alias).name == "天祝藏族自治县"


def test_benchmarks_are_gansu_and_china():
    df = wa.regions()
    assert set(df[df.role == "benchmark"].name) == {"甘肃省", "全国"}


def test_an_unknown_region_names_the_closest_ones():
    with pytest.raises(UnknownRegionError) as err:
        region("古浪")  # alias exists: sanity
        region("古朗县")
    assert "古浪县" in str(err.value)


def test_a_long_table_returns_its_regions_and_registers_nothing(tmp_path):
    from wuwei_analysis import synthetic, tables
    from wuwei_analysis.errors import DataError

    path = tables.write(synthetic.generate(2, seed=1), tmp_path / "t.csv.gz")
    table = tables.read(path)
    assert [(r.code, r.name, r.role) for r in table.regions] == [
        ("S00001", "合成县00001", "table"), ("S00002", "合成县00002", "table")]
    assert table.region("合成县00002").code == "S00002"
    assert table.region("天祝县").code == "620623"          # the YAML's regions still answer
    with pytest.raises(UnknownRegionError):
        wa.region("合成县00002")                           # nothing became known globally
    with pytest.raises(DataError, match="找不到长表文件"):
        tables.read(tmp_path / "missing.csv.gz")
