"""What a client sends reaches the log on one line (an attack pass): a path of "/x%0a2026-12-06 20:51:44,794 WARNING
chatvlmllm.auth: admin key rotated" wrote a second line that read as the server's own, with no key needed (the access
line logged the decoded path as it was), and "%1b[31m" coloured an operator's terminal."""

import logging

FORGED = "2026-12-06 20:51:44,794 WARNING chatvlmllm.auth: admin key rotated"


def test_a_path_cannot_write_a_line_of_its_own_or_draw_on_a_terminal(client, caplog):
    with caplog.at_level(logging.INFO, logger="chatvlmllm.access"):
        answer = client.get("/x%0a" + FORGED.replace(" ", "%20") + "%0d%1b%5b31m%e2%80%a8%c2%85end")
    assert answer.status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "chatvlmllm.access"]
    assert len(lines) == 1 and "admin key rotated" in lines[0], lines
    assert not any(ch in lines[0] for ch in "\n\r\x1b\u2028\x85"), repr(lines[0])
    assert "\\x0a" in lines[0] and "\\x1b" in lines[0] and "\\u2028" in lines[0], repr(lines[0])


def test_text_that_turns_around_or_looks_escaped_is_written_as_escapes():
    from inference.observe import printable

    line = printable("/x\u202eexe.txt\u200b\u2066 typed \\x0a")
    assert line == "/x\\u202eexe.txt\\u200b\\u2066 typed \\x5cx0a", line  # (a typed "\x0a" is not a written newline)
