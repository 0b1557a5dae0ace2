"""Gradio keeps every upload for limits.upload_ttl_s after its last use, so a client uploading as fast as it may
(each file up to max_file_bytes, a batch per request) filled the disk to limits.min_free_disk_mb, and every other
client's files were then refused until its files expired. A client's kept files have a quota
(limits.upload_mb_per_key): an upload past it gets 429 with Retry-After naming it, is not kept, and other clients are
not held by it."""

import os

from tests.security.conftest import KEYS, OTHER, USER, live
from tests.security.gradio_calls import upload
from tests.security.test_job_bytes_quota import noise_png


def test_a_clients_kept_uploads_are_bounded_and_others_still_upload(settings):
    user, other = {"Authorization": f"Bearer {USER}"}, {"Authorization": f"Bearer {OTHER}"}
    with live(settings, auth={"api_keys": KEYS}, limits={"upload_mb_per_key": 1}) as (client, _):
        first = upload(client, "a.png", noise_png(600), user)
        assert first.status_code == 200, first.text
        [kept] = first.json()
        second_png = noise_png(601)
        refused = upload(client, "quota-refused.png", second_png, user)
        assert refused.status_code == 429 and "limits.upload_mb_per_key" in refused.text, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        folder = os.path.dirname(os.path.dirname(kept))  # Gradio's upload folder: <sha>/<name> per file
        names = [name for _, _, files in os.walk(folder) for name in files]
        assert "quota-refused.png" not in names  # the refused file was not kept
        assert upload(client, "a.png", noise_png(600), user).status_code == 200  # the same file again takes nothing more
        theirs = upload(client, "b.png", second_png, other)
        assert theirs.status_code == 200, theirs.text  # another key is not held by the first one's quota
        small = upload(client, "c.png", noise_png(100), user)
        assert small.status_code == 200, small.text  # room left under the quota is still the client's


def test_many_small_files_count_what_they_take_on_disk_and_a_refusal_deletes_no_one_elses_file(settings):
    # (a 1-byte file took a 4 KiB block and a folder: 31,000 of them used 121 MB under a 1 MB quota)
    user, other = {"Authorization": f"Bearer {USER}"}, {"Authorization": f"Bearer {OTHER}"}
    with live(settings, auth={"api_keys": KEYS}, limits={"upload_mb_per_key": 1}) as (client, _):
        tiny = [("files", (f"t{i}.txt", f"{i}".encode())) for i in range(200)]
        many = client.post("/gradio_api/upload", files=tiny, headers=user)
        assert many.status_code == 429 and "limits.upload_mb_per_key" in many.text, many.text[:300]
        theirs = upload(client, "shared.png", noise_png(300), other)
        assert theirs.status_code == 200, theirs.text
        [path] = theirs.json()
        assert upload(client, "filler.png", noise_png(900), user).status_code == 200
        same = upload(client, "shared.png", noise_png(300), user)  # the other key's very file (same content, same name)
        assert same.status_code == 429, same.text
        assert os.path.exists(path)  # refused, and the other key's file is still there
