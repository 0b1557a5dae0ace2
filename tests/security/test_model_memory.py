"""A user's key may run any model whose weights are here, and running one loads it: a client cycling through the model
ids must not load them all (on a GPU that is out of memory for every user; on a CPU host, the kernel kills the
server). The loaded models' weights stay within the room (here limits.model_memory_gb), idle ones make way, and every
request is answered."""

import time

from inference.model_room import GB
from tests.helpers import ENGLISH, encode, render_lines
from tests.security.conftest import ADMIN, KEYS, USER, live

PNG = encode(render_lines(ENGLISH[:1]))
MODELS = ["qwen3_vl_2b", "got_ocr", "lightonocr_2_1b", "olmocr_2_7b", "smolvlm2_500m", "qwen3_vl_4b"]


def test_a_user_cycling_through_the_models_loads_no_more_than_the_memory_allows(tiny_settings):
    catalog_sizes = {}
    budget = 2.2 * 2**20  # bytes: two or three of the tiny models (0.56-1.2 MB of weights each)
    user, admin = {"Authorization": f"Bearer {USER}"}, {"Authorization": f"Bearer {ADMIN}"}
    limits = {"model_memory_gb": budget / GB, "model_resident_s": 0.3}  # (a model stays 0.3 s before it makes way)
    with live(tiny_settings, limits=limits, auth={"api_keys": KEYS}) as (client, service):
        for model_id in MODELS:
            handle = service.catalog.handle(model_id)
            catalog_sizes[model_id] = handle.backend_class.memory_needs(handle.spec)[1]
        most, refused = 0, 0
        for _ in range(2):
            for model_id in MODELS:
                image = {"file": ("a.png", PNG, "image/png")}
                for _ in range(20):  # a model loaded a moment ago stays its time: 503 with Retry-After meanwhile
                    answer = client.post("/ocr", params={"model": model_id}, files=image, headers=user)
                    if answer.status_code != 503:
                        break
                    assert int(answer.headers["Retry-After"]) >= 1, answer.text  # (the room is held a moment)
                    refused += 1
                    time.sleep(0.2)
                assert answer.status_code == 200, answer.text
                loaded = client.get("/models", headers=admin).json()["loaded"]
                assert model_id in loaded
                held = sum(catalog_sizes.get(m, 0) for m in loaded)
                assert held <= budget, (loaded, held)
                most = max(most, len([m for m in loaded if m in catalog_sizes]))
        assert most >= 2  # several fit together: only as many as needed made way
