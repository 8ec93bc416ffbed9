"""README is the landing page: its links into the documentation site and the tree resolve."""
from __future__ import annotations

import pathlib
import re
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


class ReadmeLinksTest(unittest.TestCase):
    def test_relative_links_point_at_files(self):
        readme = (ROOT / "README.md").read_text()
        links = [m.group(1).split("#")[0] for m in LINK.finditer(readme)]
        local = [link for link in links if link and "://" not in link]
        missing = [link for link in local if not (ROOT / link).exists()]
        self.assertEqual(missing, [])

    def test_the_documentation_pages_exist(self):
        for page in ("index", "tutorial/index", "howto/index", "reference/index",
                     "topics/index"):
            self.assertTrue((ROOT / "docs" / f"{page}.md").is_file(), page)


if __name__ == "__main__":
    unittest.main()
