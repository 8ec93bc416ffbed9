"""The package builds, installs from its wheel into a fresh venv, and works there.

Builds the sdist and the wheel (``python -m build --no-isolation``: the
setuptools backend of this environment, no download) from a copy of the
checkout (the build writes ``*.egg-info`` and ``build/`` next to its sources:
never into the tree a test run, or a second one at once, uses), checks what is inside,
installs the wheel with pip into a new venv and runs ``import godot_ws`` and
``python -m godot_ws --help`` there, from outside the checkout. The fresh venv
gets no index: the runtime dependencies (simple-websocket, wsproto, pyOpenSSL)
are made visible to it from this environment through a ``.pth`` line, so the
test runs offline; the wheel's own files come only from the wheel (checked
through ``godot_ws.__file__``).
"""
from __future__ import annotations

import email
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import unittest
import zipfile

import godot_ws

ROOT = pathlib.Path(__file__).resolve().parents[1]
STEP_TIMEOUT = 240  # seconds for one build/install step, generous for a loaded machine
FORBIDDEN_TOP = ("tests/", "bench/", "samples/", "docs/")
#: What a checkout holds besides its sources (.gitignore's entries and .git).
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info", "build",
                                     "dist", "_build", "results", "logs", "loadgen")


def run(args: list, cwd: pathlib.Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=STEP_TIMEOUT)


class WheelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="godot_ws-wheel-")
        cls.dist = pathlib.Path(cls.tmp.name) / "dist"
        src = pathlib.Path(cls.tmp.name) / "src"
        shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
        cls.build = run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
                         "--outdir", cls.dist, src], cwd=src)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.build.returncode, 0, self.build.stdout + self.build.stderr)

    def artifact(self, pattern: str) -> pathlib.Path:
        found = sorted(self.dist.glob(pattern))
        self.assertEqual(len(found), 1, f"{pattern} in {os.listdir(self.dist)}")
        return found[0]

    def wheel_names(self) -> list[str]:
        with zipfile.ZipFile(self.artifact("*.whl")) as whl:
            return whl.namelist()

    def test_artifacts_carry_the_one_version(self):
        version = godot_ws.__version__
        self.assertRegex(version, r"^\d+\.\d+\.\d+")
        self.assertEqual(self.artifact("*.whl").name, f"godot_ws-{version}-py3-none-any.whl")
        self.artifact(f"godot_ws-{version}.tar.gz")

    def test_wheel_has_py_typed_and_no_test_or_bench_file(self):
        names = self.wheel_names()
        self.assertIn("godot_ws/py.typed", names)
        self.assertIn("godot_ws/protocol/handshake.py", names)
        strays = [n for n in names
                  if not (n.startswith("godot_ws/") or n.startswith("godot_ws-"))]
        self.assertEqual(strays, [])

    def test_sdist_has_py_typed_and_no_test_or_bench_file(self):
        with tarfile.open(self.artifact("*.tar.gz")) as sdist:
            names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
        self.assertIn("godot_ws/py.typed", names)
        self.assertIn("CHANGELOG.md", names)
        self.assertEqual([n for n in names if n.startswith(FORBIDDEN_TOP)], [])

    def test_wheel_metadata(self):
        with zipfile.ZipFile(self.artifact("*.whl")) as whl:
            meta_name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
            meta = email.message_from_bytes(whl.read(meta_name))
        self.assertEqual(meta["Version"], godot_ws.__version__)
        self.assertEqual(meta["Requires-Python"], ">=3.9")
        requires = " ".join(meta.get_all("Requires-Dist"))
        for dep in ("simple-websocket", "wsproto", "pyOpenSSL"):
            self.assertIn(dep, requires)
        classifiers = meta.get_all("Classifier")
        for wanted in ("Typing :: Typed", "Operating System :: POSIX",
                       "Topic :: Games/Entertainment", "Programming Language :: Python :: 3.9"):
            self.assertIn(wanted, classifiers)
        self.assertTrue(meta.get_all("Project-URL"))

    def test_installs_into_a_fresh_venv_and_runs(self):
        venv = pathlib.Path(self.tmp.name) / "venv"
        made = run([sys.executable, "-m", "venv", venv], cwd=self.tmp.name)
        self.assertEqual(made.returncode, 0, made.stderr)
        python = venv / "bin" / "python"
        installed = run([python, "-m", "pip", "install", "--no-index", "--no-deps", "-q",
                         self.artifact("*.whl")], cwd=self.tmp.name)
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   cwd=self.tmp.name).stdout.strip()
        # The dependencies, from this environment (not its .pth files: no editable godot_ws).
        pathlib.Path(site, "_outer_dependencies.pth").write_text(
            sysconfig.get_path("purelib") + "\n" + sysconfig.get_path("platlib") + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        probe = run([python, "-c", "import godot_ws; print(godot_ws.__version__); "
                     "print(godot_ws.__file__); print(godot_ws.WebSocketServer().get_class())"],
                    cwd=self.tmp.name, env=env)
        self.assertEqual(probe.returncode, 0, probe.stderr)
        version, location, cls = probe.stdout.split()
        self.assertEqual(version, godot_ws.__version__)
        self.assertTrue(location.startswith(site), location)
        self.assertEqual(cls, "WebSocketServer")
        helped = run([python, "-m", "godot_ws", "--help"], cwd=self.tmp.name, env=env)
        self.assertEqual(helped.returncode, 0, helped.stderr)
        self.assertIn("serve", helped.stdout)
        self.assertIn("gen-cert", helped.stdout)


if __name__ == "__main__":
    unittest.main()
