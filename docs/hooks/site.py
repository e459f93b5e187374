"""MkDocs hooks: the README is the site's home page, and the command-line reference is generated from
polyuni's argparse parsers at build time, so that neither can drift from what they describe."""
from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

from polyuni_db.cli import help_texts

CLI_REFERENCE = "<!-- the reference of every command, generated from `polyuni --help` -->"


def on_files(files, config):
    readme = Path(config.config_file_path).with_name("README.md").read_text(encoding="utf-8")
    # the README links into docs/ from the top of the checkout; the site is docs/ itself
    files.append(File.generated(config, "index.md", content=readme.replace("](docs/", "](")))
    return files


def on_page_markdown(markdown, page, config, files):
    if CLI_REFERENCE not in markdown:
        return markdown
    sections = []
    for command, description, text in help_texts():
        sections.append(f"## {command}\n\n{description}\n\n```text\n{text.rstrip()}\n```\n")
    return markdown.replace(CLI_REFERENCE, "\n".join(sections))
