"""README is the landing page: its required sections, its links into the documentation
site, its testing example (it runs) and its list of differences (the same as the docs')."""
from __future__ import annotations

import pathlib
import re
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def readme() -> str:
    return (ROOT / "README.md").read_text()


def sections(text: str) -> dict[str, str]:
    """The level-2 sections of a Markdown text, by heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def table_rows(text: str) -> list[str]:
    """The body rows of the first Markdown table in ``text``."""
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return rows[1:]


class ReadmeLinksTest(unittest.TestCase):
    def test_relative_links_point_at_files(self):
        links = [m.group(1).split("#")[0] for m in LINK.finditer(readme())]
        local = [link for link in links if link and "://" not in link]
        missing = [link for link in local if not (ROOT / link).exists()]
        self.assertEqual(missing, [])

    def test_the_documentation_pages_exist(self):
        for page in ("index", "tutorial/index", "howto/index", "reference/index",
                     "topics/index"):
            self.assertTrue((ROOT / "docs" / f"{page}.md").is_file(), page)

    def test_each_summary_links_to_its_full_page(self):
        text = sections(readme())
        for heading, page in (("Quick start", "docs/howto/develop.md"),
                              ("Command line", "docs/reference/cli.md"),
                              ("Rooms", "docs/howto/rooms.md"),
                              ("Robustness", "docs/topics/robustness.md"),
                              ("Performance", "docs/topics/performance.md"),
                              ("Differences from Godot 3", "docs/topics/differences.md")):
            self.assertIn(heading, text)
            self.assertIn(f"]({page})", text[heading], heading)
        for part in ("tutorial", "howto", "reference", "topics"):
            self.assertIn(f"](docs/{part}/index.md)", text["Documentation"], part)


class ReadmeContentTest(unittest.TestCase):
    def test_the_two_commands(self):
        quick = sections(readme())["Quick start"]
        self.assertRegex(quick, r"\nmake run .*ws://127\.0\.0\.1:9080")
        self.assertRegex(quick, r"\nmake test .*runs every test")
        makefile = (ROOT / "Makefile").read_text()
        for target in ("run", "test", "docs"):
            self.assertRegex(makefile, rf"(?m)^{target}:", target)

    def test_the_differences_are_listed_in_full_as_in_the_docs(self):
        ours = table_rows(sections(readme())["Differences from Godot 3"])
        docs = table_rows((ROOT / "docs" / "topics" / "differences.md").read_text())
        self.assertGreater(len(ours), 20)
        self.assertEqual(ours, docs)

    def test_the_testing_example_runs_and_passes(self):
        (source,) = [block for block in PYTHON_BLOCK.findall(readme())
                     if "godot_ws.testing" in block]
        namespace: dict = {"__name__": "readme_example"}
        exec(compile(source, "README.md", "exec"), namespace)
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(namespace["EchoTest"]).run(result)
        self.assertEqual(result.testsRun, 1)
        self.assertTrue(result.wasSuccessful(), result.failures + result.errors)


if __name__ == "__main__":
    unittest.main()
