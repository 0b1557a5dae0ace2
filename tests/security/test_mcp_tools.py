"""The MCP tools (also the Gradio API's ocr_image, ocr_images): a list of images is counted before any is read (that a
URL's fetch runs off the event loop is in test_ssrf.py, with the faked outside world)."""

from __future__ import annotations

import base64
import json

from tests.helpers import ENGLISH, encode, render_lines
from tests.security.gradio_calls import run

PNG = encode(render_lines(ENGLISH[:1]))
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_a_list_of_images_is_counted_before_any_is_read(open_server):
    limit = 32  # limits.max_batch_files
    # (entries that would each fail alone if read: the count refuses them all first)
    status, body = run(open_server, "/gradio_api/run/ocr_images", [[DATA_URL] + ["not a URL"] * limit, "", ""])
    assert status == 400 and f"Too many files: {limit + 1} sent, at most {limit}" in json.loads(body)["error"]
    status, body = run(open_server, "/gradio_api/run/ocr_images", [[DATA_URL] * 2, "", ""])
    assert status == 200 and [entry["status"] for entry in json.loads(json.loads(body)["data"][0])] == ["success"] * 2


def test_a_body_nested_deeper_than_json_goes_is_a_parse_error_not_a_500(open_server, caplog):
    """5,000 '[' (10 KB) made the MCP endpoint's JSON parser raise RecursionError: a 500 and a traceback in the log (now
    refused as it comes: more lists than a message may hold); deeper than 64 levels is a parse error too."""
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    # (1,500 deep: past Python's parser, within the 2,000 lists a message may hold; 5,000 are refused as they come)
    deep = '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ' + "[" * 1500 + "]" * 1500 + "}"
    with caplog.at_level("INFO"):
        for encoding in ("utf-8", "utf-16-le", "utf-32"):  # (the endpoint's parser reads each; a quote in a string too)
            body = deep.replace('"params"', '"x": "\\"", "params"').encode(encoding)
            response = open_server.post("/gradio_api/mcp/", content=body, headers=headers)
            assert response.status_code == 400, (encoding, response.text)  # (was: 500)
            assert response.json()["error"]["code"] == -32700, response.text  # JSON-RPC's parse error, as for bad JSON
        # a lone surrogate: the endpoint's parser takes it (the encoding's strict decoding does not), then the nesting
        lone = deep.replace('"params"', '"x": "\ud800", "params"').encode("utf-16-le", "surrogatepass")
        for body in (lone, b'{"jsonrpc": "2.0", "id": 1, "method": "\xff"}'):  # ...and bytes that are not text
            response = open_server.post("/gradio_api/mcp/", content=body, headers=headers)
            assert response.status_code == 400 and response.json()["error"]["code"] == -32700, response.text  # (500)
        # a lone surrogate where the answer repeats it (the id): its answer could not be written (an empty 200)
        for lone_id in (b'"\\ud800"', '"\ud800"'.encode("utf-8", "surrogatepass")):  # (escaped, or raw in UTF-8)
            lonely = b'{"jsonrpc": "2.0", "id": ' + lone_id + b', "method": "x"}'
            response = open_server.post("/gradio_api/mcp/", content=lonely, headers=headers)
            assert response.status_code == 400 and response.json()["error"]["code"] == -32700, (lone_id, response.text)
    assert not [r for r in caplog.records if r.exc_info or "recursion" in r.getMessage()], caplog.text
    # a message of many items (each parsed twice, once on the event loop) is refused as it comes
    many = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": {"x": [1] * 20_000}}}
    response = open_server.post("/gradio_api/mcp/", json=many, headers=headers)
    assert response.status_code == 400 and "items" in response.text, response.text  # (was: read, 0.7 s a request)
    nested = {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": {"x": [[[1]]] * 1200}}}  # 2,401 lists
    response = open_server.post("/gradio_api/mcp/", json=nested, headers=headers)
    assert response.status_code == 400 and "objects and lists" in response.text, response.text  # (was: ~60 ms each)
    # the counts are of the body, however the network cuts it: 1,500 objects sent in 100-byte pieces (the objects were
    # counted again with every piece: such a body was refused in pieces and taken whole)
    objects = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": {"x": [{}] * 1500}}})
    pieces = [objects[i : i + 100].encode() for i in range(0, len(objects), 100)]
    response = open_server.post("/gradio_api/mcp/", content=iter(pieces), headers=headers)
    assert response.status_code == 200 and "ocr_image" in response.text, response.text
    # a body longer than the MCP transport reads (4 MiB) is refused as it comes, not read whole and looked through
    response = open_server.post("/gradio_api/mcp/", content=iter([b"]" * 2**20] * 5), headers=headers)
    assert response.status_code == 413, response.text  # (was: read whole, 214 MiB allowed: the guard took seconds)
    # brackets inside strings are text, not nesting: a call with them is answered as any other
    brackets = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": {"note": "[" * 1500}}}
    listed = open_server.post("/gradio_api/mcp/", json=brackets, headers=headers)
    assert listed.status_code == 200 and "ocr_image" in listed.text, listed.text
