"""What a job's client needs besides its id: a listing of its jobs (paged, by state; an admin sees everyone's with
the owner), quotas per key (unfinished jobs, pages still to read: 429 naming the quota, other keys unaffected), and
priorities (high for admin keys only). A real server with keys on."""

from __future__ import annotations

import pytest

from tests.e2e.test_jobs import scanned, wait_for
from tests.helpers import encode, render_lines
from tests.security.conftest import ADMIN, KEYS, OTHER, USER, live


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    limits = {"max_jobs_per_key": 2, "max_pages_per_key": 25}
    data = {"data_dir": str(tmp_path_factory.mktemp("listing-data"))}
    with live(settings, auth={"api_keys": KEYS}, limits=limits, server=data) as (client, service):
        yield client


def submit(client, key: str, content: bytes, name: str = "a.png", **data):
    return client.post("/jobs", files=[("files", (name, content))], data=data, headers=auth(key))


def test_a_key_lists_its_own_jobs_newest_first_a_page_at_a_time(server):
    png = encode(render_lines(["Listed 12"]))
    mine = []
    for _ in range(3):
        response = submit(server, USER, png)
        assert response.status_code == 202, response.text
        mine.append(response.json()["id"])
        wait_for(lambda: server.get(f"/jobs/{mine[-1]}", headers=auth(USER)).json(), lambda b: b["state"] == "done", 60)
    theirs = submit(server, OTHER, png).json()["id"]

    first = server.get("/jobs", params={"limit": 2}, headers=auth(USER)).json()
    assert [job["id"] for job in first["jobs"]] == mine[::-1][:2] and first["next_cursor"]
    assert all(job["owner"] is None for job in first["jobs"])  # a user key is not told fingerprints
    rest = server.get("/jobs", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth(USER)).json()
    assert [job["id"] for job in rest["jobs"]] == [mine[0]] and rest["next_cursor"] is None
    one = server.get(f"/jobs/{mine[0]}", headers=auth(USER)).json()
    assert rest["jobs"][0] == {**one, "expires_at": rest["jobs"][0]["expires_at"]}  # each item as GET /jobs/{id}

    done = server.get("/jobs", params={"state": "done"}, headers=auth(USER)).json()["jobs"]
    assert {job["id"] for job in done} == set(mine) and theirs not in {job["id"] for job in done}
    everyone = server.get("/jobs", params={"limit": 100}, headers=auth(ADMIN)).json()["jobs"]
    owners = {job["id"]: job["owner"] for job in everyone}
    assert {*mine, theirs} <= set(owners) and owners[theirs] and owners[mine[0]] and owners[theirs] != owners[mine[0]]
    assert USER not in str(everyone) and OTHER not in str(everyone)  # fingerprints, never keys

    for bad in ({"cursor": "nonsense"}, {"limit": 0}, {"limit": 101}, {"state": "sleeping"}):
        response = server.get("/jobs", params=bad, headers=auth(USER))
        assert response.status_code in (400, 422) and "detail" in response.json(), (bad, response.text)
    assert server.get("/jobs").status_code == 401


def test_quotas_per_key_refuse_with_429_and_leave_other_keys_alone(server):
    long_pdf = scanned(10, 24)
    a = submit(server, USER, long_pdf, "a.pdf")
    b = submit(server, USER, long_pdf, "b.pdf")
    assert a.status_code == b.status_code == 202, (a.text, b.text)
    third = submit(server, USER, encode(render_lines(["one more"])))
    assert third.status_code == 429 and "max_jobs_per_key" in third.json()["detail"], third.text
    assert int(third.headers["Retry-After"]) > 0
    big = submit(server, OTHER, scanned(30, 20), "big.pdf")  # 30 pages > the 25-page quota
    assert big.status_code == 429 and "max_pages_per_key" in big.json()["detail"], big.text
    small = submit(server, OTHER, scanned(3, 24), "small.pdf")
    assert small.status_code == 202, small.text  # another key is not held by the first one's quota
    for job in (a, b, small):
        server.delete(f"/jobs/{job.json()['id']}", headers=auth(USER if job is not small else OTHER))
    again = submit(server, USER, encode(render_lines(["after the cancel"])))
    assert again.status_code == 202, again.text  # cancelled jobs no longer count


def test_high_priority_is_for_admin_keys(server):
    png = encode(render_lines(["Priority 7"]))
    refused = submit(server, USER, png, priority="high")
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert submit(server, USER, png, priority="urgent").status_code in (400, 422)
    low = submit(server, USER, png, priority="low")
    assert low.status_code == 202 and low.json()["priority"] == "low"
    high = submit(server, ADMIN, png, priority="high")
    assert high.status_code == 202 and high.json()["priority"] == "high"
    for job, key in ((low, USER), (high, ADMIN)):
        url = f"/jobs/{job.json()['id']}"
        wait_for(lambda url=url, key=key: server.get(url, headers=auth(key)).json(), lambda b: b["state"] == "done", 60)
