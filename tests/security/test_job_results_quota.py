"""A finished job's result stays in the store a week (server.job_results_ttl_s), and the job quotas counted only
unfinished jobs: one key sending job after job of dense pages (~0.3-1.5 MB of result a page, pages whose text layer is
read at once, in seconds) kept all of it, until the disk's reserve refused every key's files (SQLite), or without
bound (PostgreSQL, whose disk is not ours to see). The results one key's jobs keep have a quota
(limits.max_result_mb_per_key): at it, a new job gets 429 with Retry-After naming it, other keys go on, and deleting
the key's finished jobs frees it."""

from tests.security.conftest import KEYS, OTHER, USER, live
from tests.security.test_job_results import dense_job

LINES = 1000  # a page's text-layer lines: ~0.33 MB of its stored result


def test_the_results_a_keys_jobs_keep_are_bounded(settings, tmp_path):
    limits, data = {"max_result_mb_per_key": 1}, {"data_dir": str(tmp_path / "data")}
    with live(settings, auth={"api_keys": KEYS}, limits=limits, server=data) as (client, _):
        user, other = {"X-API-Key": USER}, {"X-API-Key": OTHER}
        small = dense_job(client, USER, pages=1, count=LINES)  # (~0.3 MB: under the quota, another job is taken)
        big = dense_job(client, USER, pages=3, count=LINES)  # (~1 MB more: over it, though each was under it when sent)
        kept = [client.get(f"/jobs/{job}", headers=user).json()["result_bytes"] for job in (small, big)]
        assert 0.2 < kept[1] / (3 * kept[0]) < 5 and sum(kept) > 1024 * 1024, kept  # (what counts, shown to its key)
        assert len(client.get(f"/jobs/{big}/result", headers=user).content) > 0.5 * kept[1]  # (the pages' results)

        refused = client.post("/jobs", files={"files": ("a.pdf", b"%PDF-1.4", "application/pdf")}, headers=user)
        assert refused.status_code == 429, refused.text
        assert "max_result_mb_per_key" in refused.json()["detail"] and "DELETE /jobs" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0

        dense_job(client, OTHER, pages=1, count=LINES)  # another key is not held by the first one's results
        assert client.delete(f"/jobs/{big}", headers=user).status_code == 200
        dense_job(client, USER, pages=1, count=LINES)  # its results deleted, the key sends jobs again
        assert client.get(f"/jobs/{small}", headers=other).status_code == 404  # (each key's own jobs, as before)
