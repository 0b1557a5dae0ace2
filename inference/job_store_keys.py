"""The Idempotency-Keys' part of the jobs' store (its SQL; :class:`~inference.job_store.JobStore` is this and the
rest): a key of a caller reserved by one request (the primary key lets one insert through, on any replica), then
kept with its request's hash and job, or released. Kept apart only to keep each module small."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .job_tables import RECEIVING, SUBMITTED, KeyRecord, idempotency_keys

__all__ = ["RECEIVING", "SUBMITTED", "KeyRecord", "KeyStore"]


class KeyStore:
    engine: Engine
    _write: Callable[[], AbstractContextManager[Connection]]  # JobStore's: a write transaction

    def reserve_key(self, caller: str, key: str, token: str, expired_before: float, stale_before: float) -> bool:
        """Reserve ``key`` of ``caller`` for the request ``token`` (its row inserted ``receiving``): whether it was
        this call that reserved it (the primary key lets one insert through, on any replica). Keys reserved before
        ``expired_before``, and reservations still ``receiving`` since before ``stale_before`` (their request died
        with its server), are deleted first."""
        with self._write() as db:
            db.execute(
                delete(idempotency_keys).where(
                    (idempotency_keys.c.created < expired_before)
                    | ((idempotency_keys.c.state == RECEIVING) & (idempotency_keys.c.created < stale_before))
                )
            )
        try:
            with self._write() as db:
                db.execute(
                    insert(idempotency_keys).values(caller=caller, key=key, state=RECEIVING, token=token, created=time.time())
                )
        except IntegrityError:
            return False
        return True

    def key_record(self, caller: str, key: str) -> KeyRecord | None:
        query = select(idempotency_keys).where(idempotency_keys.c.caller == caller, idempotency_keys.c.key == key)
        with self.engine.connect() as db:
            row = db.execute(query).mappings().first()
        return KeyRecord(**row) if row else None

    def complete_key(self, caller: str, key: str, token: str, body_hash: str, job_id: str) -> bool:
        """The reserved key's request made ``job_id``: its hash and job kept (the key ``submitted``). Whether the
        reservation was still this request's."""
        with self._write() as db:
            return bool(
                db.execute(
                    update(idempotency_keys)
                    .where(self._reservation(caller, key, token))
                    .values(state=SUBMITTED, body_hash=body_hash, job=job_id)
                ).rowcount
            )

    def release_key(self, caller: str, key: str, token: str) -> None:
        """Drop the reservation of a request that made no job (a retry may use the key); a submitted key stays."""
        with self._write() as db:
            db.execute(delete(idempotency_keys).where(self._reservation(caller, key, token)))

    @staticmethod
    def _reservation(caller: str, key: str, token: str):
        keys = idempotency_keys.c
        return and_(keys.caller == caller, keys.key == key, keys.token == token, keys.state == RECEIVING)
