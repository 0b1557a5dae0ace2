"""The server's places for unfinished jobs (limits.max_unfinished_jobs, 100) were five keys' quotas (20 each): five
callers took them all in 1.6 s and every other caller got 503 while their jobs lasted (an attack pass). Past 3/4 of
the places, a caller holding its share of them (the places over the callers with jobs waiting, and one more) is
refused, and the places left are for the others."""

from tests.e2e.test_jobs import scanned
from tests.security.conftest import ADMIN, KEYS, OTHER, USER, live


def test_the_last_places_for_jobs_are_kept_for_other_callers(settings, tmp_path):
    limits = {"max_unfinished_jobs": 8, "max_jobs_per_key": 4}
    data = {"data_dir": str(tmp_path / "data")}
    with live(settings, auth={"api_keys": KEYS}, limits=limits, jobs={"workers": 1}, server=data) as (client, _):
        long_pdf = scanned(40, 20)

        def send(key: str):
            files = [("files", ("long.pdf", long_pdf))]
            return client.post("/jobs", files=files, params={"force_ocr": "true"}, headers={"X-API-Key": key})

        sent = []
        try:
            first = [send(USER) for _ in range(4)] + [send(OTHER) for _ in range(3)]
            sent += [answer.json()["id"] for answer in first if answer.status_code == 202]
            assert [answer.status_code for answer in first] == [202] * 7, [answer.text for answer in first]
            refused = send(OTHER)  # (its fourth, within its quota of 4: past its share of the last places)
            assert refused.status_code == 503 and "share" in refused.json()["detail"], refused.text
            assert int(refused.headers["Retry-After"]) > 0
            theirs = send(ADMIN)  # another caller still gets a place
            assert theirs.status_code == 202, theirs.text
            sent.append(theirs.json()["id"])
        finally:
            for job in sent:  # (their pages: not read to the end; an admin key deletes any job)
                client.delete(f"/jobs/{job}", headers={"X-API-Key": ADMIN})
