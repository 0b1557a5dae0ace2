"""A finished job's result stays in the store a week (server.job_results_ttl_s), and the job quotas counted only
unfinished jobs: one key sending job after job of dense pages (~0.3-1.5 MB of result a page, pages whose text layer is
read at once, in seconds) kept all of it, until the disk's reserve refused every key's files (SQLite), or without
bound (PostgreSQL, whose disk is not ours to see). The results one key's jobs keep have a quota
(limits.max_result_mb_per_key): at it, a new job gets 429 with Retry-After naming it, other keys go on, and deleting
the key's finished jobs frees it."""

from tests.e2e.test_jobs import wait_for
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


def test_jobs_sent_at_once_stop_at_the_quota_as_they_are_written(settings, tmp_path):
    # (each passed the check when sent, none having written a page yet: 20 jobs of 3 dense pages kept 18.8 MB of a 1 MB
    # quota; now a job whose page would be written past it fails, saying so)
    import threading

    from tests.helpers import text_pdf

    limits, data = {"max_result_mb_per_key": 1}, {"data_dir": str(tmp_path / "data")}
    with live(settings, auth={"api_keys": KEYS}, limits=limits, server=data) as (client, _):
        user, pdf = {"X-API-Key": USER}, text_pdf([[f"w{i:05d} x{i % 97}" for i in range(LINES)]] * 2, font_size=0.2)
        sent: list = []
        start = threading.Barrier(8)

        def send() -> None:
            start.wait()
            sent.append(client.post("/jobs", files={"files": ("dense.pdf", pdf, "application/pdf")}, headers=user))

        senders = [threading.Thread(target=send) for _ in range(8)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
        taken = [answer.json()["id"] for answer in sent if answer.status_code == 202]
        assert len(taken) >= 4, [answer.status_code for answer in sent]  # (sent at once: most pass the first check)
        ended = [
            wait_for(lambda job=job: client.get(f"/jobs/{job}", headers=user).json(), lambda b: b["state"] in ("done", "failed"))
            for job in taken
        ]
        stopped = [job for job in ended if job["state"] == "failed"]
        assert stopped and all("max_result_mb_per_key" in job["error"] for job in stopped), ended
        kept = sum(job["result_bytes"] for job in ended)
        one_job = max(job["result_bytes"] for job in ended)
        assert kept <= 1024 * 1024 + one_job, (kept, one_job)  # (past it by the job written last, at most)


def test_jobs_that_keep_no_result_count_too(settings, tmp_path):
    # (a job whose files all fail to open ends at once and keeps its rows a week, ~10 KB: a key sent 52 a second of them,
    # none counted by any quota)
    limits, data = {"max_result_mb_per_key": 1}, {"data_dir": str(tmp_path / "data")}
    with live(settings, auth={"api_keys": KEYS}, limits=limits, server=data) as (client, _):
        user = {"X-API-Key": USER}
        files = [("files", (f"{'n' * 200}{i}.png", b"not an image")) for i in range(32)]
        answers = []
        for _ in range(150):
            answer = client.post("/jobs", files=files, headers=user)
            answers.append(answer.status_code)
            if answer.status_code == 429:
                break
            job = wait_for(
                lambda a=answer: client.get(f"/jobs/{a.json()['id']}", headers=user).json(), lambda b: b["state"] != "queued"
            )
            assert job["result_bytes"] > 32 * 200, job  # (what its rows keep)
        assert answers[-1] == 429 and 20 <= len(answers) < 150, answers
