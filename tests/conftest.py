"""Test tiers. ``make test`` runs everything; ``make test-fast`` runs ``-m "not slow"``.

A test marks itself ``@pytest.mark.slow`` (or its module, ``pytestmark``). A test that uses
one of the fixtures below is marked slow here: the fixture is what is slow.
"""
import pytest

#: fixture name -> why a test using it is slow
SLOW_FIXTURES = {
    "app": "builds the forecast app's widgets and fills its cache (test_app.py)",
    "small_db": "assesses a database for the app (test_app.py)",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    """A fresh home with the default database, as a new user has it."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("WUWEI_HOME", str(home))
    mp.delenv("WUWEI_DB", raising=False)
    from wuwei_analysis.database import open_db

    open_db().close()
    yield home
    mp.undo()
