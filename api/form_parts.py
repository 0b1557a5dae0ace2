"""A multipart body's parts, bounded as they come in (:class:`api.body_limit.BodyLimit` feeds it each chunk).

The parsers behind the routes keep in memory, until the handler runs, every form field and every file part under
1 MiB (Starlette's spooled files: up to 1,000 of each; Gradio's upload route: fields of any size): a 570 MB
``/batch/ocr`` of 600 one-MB files held 780 MB before its "Too many files" 400, and one 600 MB field sent to
``/gradio_api/upload`` held 1.7 GB before its 200 (four at once: 3.6 GB). Here the parts are counted as the body
streams in, by the same parser (python-multipart), before either parser has kept them: a body may hold at most
:data:`FORM_BYTES` besides its files' contents (fields and part headers; a route's fields are a few short values,
a prompt at most ``limits.max_prompt_chars``), at most :data:`MAX_FIELDS` fields, and on the REST routes at most
``limits.max_batch_files`` files (Gradio's uploads are written to disk as they come, and counted by their quota).
A body the parser cannot follow is left to the route's own parser, which answers it."""

from __future__ import annotations

import contextlib

import python_multipart
from python_multipart.multipart import parse_options_header

from inference.limit_settings import JSON_SLACK

FORM_BYTES = JSON_SLACK  # what a multipart body may hold besides its files' contents: the body limit's slack
MAX_FIELDS = 64  # form fields of one request (a route takes at most a dozen: model, language, pages, prompt...)


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` body's Content-Type; None for any other body."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    return options.get(b"boundary") or None


class FormParts:
    """Counts a multipart body's parts as its chunks come (:meth:`feed`); says why it is refused, once it is."""

    def __init__(self, boundary: bytes, max_files: int | None):
        self.max_files = max_files
        self.files = self.fields = self.form_bytes = 0
        self.in_file = False
        self.header_name = b""
        self.disposition = b""
        self.refusal: str | None = None
        callbacks = {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
        }
        self.parser: python_multipart.MultipartParser | None = None
        with contextlib.suppress(python_multipart.exceptions.FormParserError):  # (a boundary it refuses, over 256
            self.parser = python_multipart.MultipartParser(boundary, callbacks)  # bytes: the route's parser answers)

    def feed(self, chunk: bytes) -> str | None:
        """Why the body is refused, once it is (then at every later chunk too); None while it may go on."""
        if self.parser is not None and self.refusal is None:
            try:
                self.parser.write(chunk)
            except python_multipart.exceptions.FormParserError:
                self.parser = None  # (the route's own parser answers a body it cannot follow)
        return self.refusal

    def _begin(self) -> None:
        self.in_file, self.header_name, self.disposition = False, b"", b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]
        self._form(end - start)

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition += data[start:end]
        self._form(end - start)

    def _header_end(self) -> None:
        self.header_name = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        self.in_file = b"filename" in options  # (as the parsers tell a file from a field)
        if self.in_file:
            self.files += 1
            if self.max_files is not None and self.files > self.max_files:
                self.refusal = (
                    f"Too many files: more than {self.max_files} in one request (limits.max_batch_files); send the "
                    "others in another request, or as a job."
                )
        else:
            self.fields += 1
            if self.fields > MAX_FIELDS:
                self.refusal = f"The form has more than {MAX_FIELDS} fields; the route takes a few (see /docs)."

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            self._form(end - start)

    def _form(self, size: int) -> None:
        self.form_bytes += size
        if self.form_bytes > FORM_BYTES and self.refusal is None:
            self.refusal = (
                f"The form's fields are larger than {FORM_BYTES / 2**20:.0f} MiB together; files go in file parts "
                "(filename=...), and the fields are short values."
            )
