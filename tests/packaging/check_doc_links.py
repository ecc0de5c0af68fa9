"""Fails when the README, a page under docs/ or a manual points outside the
repository: a URL, a relative path that climbs out of the tree, a mention of
the specification directory beside the repository, a link to a file that
does not exist, or a Markdown page named in the text that the repository
does not have (a reader cannot open a page we only had beside it).

    check_doc_links.py SOURCE_DIR
"""

import pathlib
import re
import sys

# [text](target) and [label]: target in Markdown.
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
# Any URL with a scheme that leaves the file (ws:// and wss:// in examples
# name speech servers, not documents).
URL = re.compile(r"\b(?:https?|ftp|file)://\S+|<(?:https?|mailto):[^>]+>")
# Paths that climb out of the directory they are written in.
CLIMBING_PATH = re.compile(r"(?<![\w.])((?:\.\./)+[\w.\-/]*)")
# The specification and reference texts live beside the repository, not in it.
OUTSIDE_TREE = re.compile(r"\bshared/(?:spec|reference)\b")
# A Markdown page named in the text (`missing.md`, docs/stream.md).
MARKDOWN_NAME = re.compile(r"(?<![\w/.\-])((?:[\w\-]+/)*[\w\-]+\.md)\b")
# roff hyperlink macros.
ROFF_LINK = re.compile(r"^\.(?:UR|MT)\s+(\S+)", re.MULTILINE)


def documents(root):
    yield root / "README.md"
    yield from sorted((root / "docs").rglob("*.md"))
    yield from sorted(p for p in (root / "man").glob("*") if p.suffix[1:].isdigit())


def inside(root, path):
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def markdown_pages(root):
    """The names of the repository's Markdown files (build trees left out)."""
    return {p.name for p in root.rglob("*.md")
            if not any(part.startswith(("build", ".")) for part in p.relative_to(root).parts[:-1])}


def problems_in(root, document, pages):
    text = document.read_text(encoding="utf-8")
    line_of = lambda offset: text.count("\n", 0, offset) + 1
    where = document.relative_to(root)
    for match in URL.finditer(text):
        yield f"{where}:{line_of(match.start())}: URL outside the repository: {match.group(0)}"
    for match in OUTSIDE_TREE.finditer(text):
        yield f"{where}:{line_of(match.start())}: names a directory beside the repository: {match.group(0)}"
    plain = text.replace("\\-", "-")  # roff writes a hyphen as \-
    for match in MARKDOWN_NAME.finditer(plain):
        if match.group(1).rsplit("/", 1)[-1] not in pages:
            line = plain.count("\n", 0, match.start()) + 1
            yield f"{where}:{line}: names a page the repository does not have: {match.group(1)}"
    for match in ROFF_LINK.finditer(text):
        yield f"{where}:{line_of(match.start())}: hyperlink in a manual: {match.group(1)}"
    for match in CLIMBING_PATH.finditer(text):
        target = (document.parent / match.group(1)).resolve()
        if not inside(root, target):
            yield f"{where}:{line_of(match.start())}: path leaves the repository: {match.group(1)}"
    if document.suffix != ".md":
        return
    for match in [*MARKDOWN_LINK.finditer(text), *REFERENCE_LINK.finditer(text)]:
        target = match.group(1)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            yield f"{where}:{line_of(match.start())}: link leaves the repository: {target}"
            continue
        path = target.split("#", 1)[0]
        if not path:
            continue  # an anchor in the same page
        resolved = (document.parent / path).resolve()
        if not inside(root, resolved):
            yield f"{where}:{line_of(match.start())}: link leaves the repository: {target}"
        elif not resolved.exists():
            yield f"{where}:{line_of(match.start())}: link to a missing file: {target}"


def main():
    root = pathlib.Path(sys.argv[1])
    checked = list(documents(root))
    pages = markdown_pages(root)
    problems = [p for document in checked for p in problems_in(root, document, pages)]
    for problem in problems:
        print(problem)
    print(f"{len(checked)} documents checked, {len(problems)} links pointing outside the repository or nowhere")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
