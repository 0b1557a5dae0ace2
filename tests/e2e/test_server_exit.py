"""``python app.py`` stopped as Docker, systemd and Kubernetes stop it (SIGTERM): it shuts down gracefully, ends as
terminated (as before), and leaves nothing in the temporary folder (the UI's downloads, example images and icon:
ui/downloads.py). uvicorn raises the signal again after its graceful shutdown, which ended the process before its exit
handlers ran: every stop left a folder behind."""

from __future__ import annotations

import signal

from tests.conftest import EMBEDDED_DEFAULT, README_WAY, start_server


def test_a_server_stopped_with_sigterm_leaves_no_files_behind(tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    log = tmp_path / "server.log"
    process, _base = start_server({**EMBEDDED_DEFAULT, **README_WAY, "TMPDIR": str(temporary)}, log)
    try:
        made = [path.name for path in temporary.glob("chatvlm-ui-*/*")]
        assert sorted(made) == ["examples", "icon"], made
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == -signal.SIGTERM  # (ended by the signal, as before: not an exit status)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert "Application shutdown complete" in log.read_text(errors="replace")
    assert not list(temporary.glob("chatvlm-ui-*")), list(temporary.iterdir())
