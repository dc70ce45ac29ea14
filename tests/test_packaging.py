"""A real, non-editable `pip install` into a fresh virtual environment claims only the `whichmodel` name.

The environment already holds packages called `config` and `tools` (other distributions use these names);
they must survive the install. The build runs once per session and installs no dependencies: the shared
environment's packages are on the path through a .pth line, which does not run its editable-install hooks.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The installed copy must answer, not a checkout a development path points at.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WHICHMODEL_SRC")}


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("pip-install")
    source = work / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    for other in ("config", "tools"):  # someone else's packages of those names
        (site / other).mkdir()
        (site / other / "__init__.py").write_text(f"OWNER = 'another {other} distribution'\n")
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The build backend comes from the package index, as for any user (the shared environment's is older).
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(source)], capture_output=True,
                         text=True, cwd=work, env=CLEAN_ENV)  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-2000:]
    return python, site


def test_install_claims_only_the_whichmodel_name(installed):
    python, site = installed
    record = next(site.glob("whichmodel-*.dist-info")) / "RECORD"
    top = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert {t for t in top if not t.endswith(".dist-info") and t != ".."} == {"whichmodel"}
    for name in ("config", "tools", "ui", "cli", "store", "agent", "hub"):
        if name in ("config", "tools"):
            assert (site / name / "__init__.py").read_text().startswith("OWNER = 'another"), f"{name} survived"
        else:
            assert not (site / name).exists()


def test_installed_package_imports_from_site_packages(installed):
    python, site = installed
    code = ("import config, tools, whichmodel.cli.main as m, whichmodel.usecases.models as u, whichmodel.scoring.method"
            " as s; print(m.__file__); print(u.__file__); print(config.OWNER); print(tools.OWNER);"
            " print(s.load_method().version)")  # fmt: skip
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd="/", check=True,
                         env=CLEAN_ENV).stdout.split("\n")
    assert out[0].startswith(str(site / "whichmodel" / "cli")) and out[1].startswith(str(site / "whichmodel"))
    assert out[2:4] == ["another config distribution", "another tools distribution"]
    assert out[4], "the method file is packaged"
    help_text = subprocess.run([python, "-m", "whichmodel.cli.main", "--help"], capture_output=True, text=True,
                               cwd="/", check=True, env=CLEAN_ENV).stdout  # fmt: skip
    assert "ingest" in help_text and "ask" in help_text


def test_installed_package_opens_a_database_and_renders_prompts(installed, tmp_path):
    """The files an install must carry beside the modules: Alembic's revisions, prompts, data tables."""
    python, site = installed
    code = ("import sys; from whichmodel.store.db import make_engine, head_revision; from whichmodel import prompts;"
            " from whichmodel.agent.parse import parse_slots;"
            " e = make_engine('sqlite:///' + sys.argv[1]);"
            " v = e.connect().exec_driver_sql('SELECT version_num FROM alembic_version').scalar();"
            " print(v == head_revision());"
            " print(bool(prompts.render('card_facts_system'))); print(bool(parse_slots('best model for code')))")
    out = subprocess.run([python, "-c", code, str(tmp_path / "db.sqlite")], capture_output=True, text=True, cwd="/",
                         check=True, env=CLEAN_ENV).stdout.split()  # fmt: skip
    assert out == ["True", "True", "True"]
    assert not (site / "whichmodel" / "constraints.txt").exists(), "only the package's own files are installed"
