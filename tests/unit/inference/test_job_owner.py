"""One owner rule for jobs, in the core: the service's job methods take the caller's principal and decide."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inference import InferenceService, load_settings
from inference.errors import NotFound
from inference.jobs import owner_for
from tests.conftest import ROOT
from tests.helpers import encode, render_lines


@dataclass(frozen=True)
class Who:
    role: str
    name: str


def test_the_owner_rule():
    alice, admin = Who("user", "alice"), Who("admin", "root")
    assert owner_for(alice, keys_on=True) == "alice"
    assert owner_for("user:alice", keys_on=True) == "alice"  # Gradio's user name reads the same
    assert owner_for(admin, keys_on=True) is None  # an admin sees every job ...
    assert owner_for("admin:root", keys_on=True, creating=True) == "root"  # ... and owns what it creates
    assert owner_for(alice, keys_on=False) is None and owner_for(None, keys_on=True) is None  # keys off: all


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    settings = load_settings(
        ROOT / "config.yaml",
        env={
            "CHATVLM_OCR_MODEL": "embedded",
            "CHATVLM_DATA_DIR": str(tmp_path_factory.mktemp("jobs")),
            "CHATVLM_API_KEYS": "user:alice-key-1,user:bob-key-22,admin:root-key-333",
        },
    )
    service = InferenceService(settings)
    yield service
    service.close(grace_s=1)


def test_the_service_decides_who_sees_a_job(keyed):
    png = encode(render_lines(["Owned text"]))
    alice, bob, root = Who("user", "alice"), "user:bob", Who("admin", "root")
    job = keyed.submit_job([("a.png", png)], principal=alice)
    assert keyed.job(job.id, alice).id == job.id == keyed.job(job.id, "user:alice").id
    assert keyed.job(job.id, root).id == job.id  # the admin sees it
    with pytest.raises(NotFound):
        keyed.job(job.id, bob)  # another key does not
    with pytest.raises(NotFound):
        keyed.cancel_job(job.id, bob)
    assert [j.id for j in keyed.list_jobs(alice)] == [job.id] and keyed.list_jobs(bob) == []
    assert job.id in [j.id for j in keyed.list_jobs(root)]
    assert keyed.cancel_job(job.id, alice).id == job.id
    with pytest.raises(NotFound):
        keyed.job(job.id, root)
