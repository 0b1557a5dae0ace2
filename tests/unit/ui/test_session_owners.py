"""ui.session_owners' memory of who owns which Gradio session: bounded per caller, so that one key naming new sessions
by the thousand forgets its own least recently used, never another key's (which it could then claim)."""

from __future__ import annotations

from ui.session_owners import SessionOwners


def test_a_caller_naming_many_sessions_forgets_its_own_not_anothers():
    owners = SessionOwners(enabled=True, size=1_000, per_caller=100)
    assert owners.claim("victims-session", "key A")
    for n in range(5_000):  # (key B naming new sessions: past its 100, its own oldest go)
        assert owners.claim(f"b-{n}", "key B")
    assert not owners.claim("victims-session", "key B")  # still A's
    assert owners.claim("victims-session", "key A")
    assert owners.claim("b-0", "key A")  # (B's oldest was forgotten: anyone may name it again)
    assert not owners.claim(f"b-{4_999}", "key A") and owners.claim(f"b-{4_999}", "key B")


def test_many_callers_naming_sessions_together_forget_their_own_not_an_idle_callers():
    owners = SessionOwners(enabled=True, size=1_000, per_caller=100)
    assert owners.claim("victims-session", "key A")
    for n in range(100):  # (forty keys at their own bound: together far past the memory's)
        for key in range(40):
            assert owners.claim(f"{key}-{n}", f"key {key}")
    assert not owners.claim("victims-session", "key 0")  # still A's
    assert owners.claim("victims-session", "key A")


def test_with_keys_off_nothing_is_owned_and_long_names_are_refused():
    assert SessionOwners(enabled=False).claim("anything", "address 1.2.3.4")
    owners = SessionOwners(enabled=True)
    assert not owners.claim("s" * 200, "key A") and owners.claim("s" * 20, "key A")
