"""Runs inside the pinned Supervisely SDK's virtualenv (not the app's): every custom-data call of the issue.

Reads {"server", "token", "viewer_token", "project_id", "dataset_id"} as JSON on stdin and prints, on its last
line, a JSON object of step name → what the SDK returned or raised.
"""


import supervisely as sly
from _steps import cfg, report, step

api = sly.Api(cfg["server"], cfg["token"])
pid, did = cfg["project_id"], cfg["dataset_id"]

step("get_custom_data", lambda: api.project.get_custom_data(pid))
step("update_custom_data", lambda: api.project.update_custom_data(pid, {"owner": "sdk", "tags": ["a", "b"], "n": 1}))
step("after_update", lambda: api.project.get_custom_data(pid))
step("updated_at_1", lambda: api.project.get_info_by_id(pid).updated_at)
step("update_silent", lambda: api.project.update_custom_data(pid, {"owner": "sdk", "silent": True}, silent=True))
step("updated_at_2", lambda: api.project.get_info_by_id(pid).updated_at)
step("after_silent", lambda: api.project.get_custom_data(pid))
step("merge", lambda: api.project.update_custom_data(pid, {**api.project.get_custom_data(pid), "merged": 1}))
step("dataset_custom_data", lambda: api.dataset.get_info_by_id(did).custom_data)
step("dataset_update", lambda: dict(api.dataset.update_custom_data(did, {"split": "train"})._asdict()))
step("dataset_after", lambda: api.dataset.get_info_by_id(did).custom_data)
step("dataset_project_id", lambda: api.dataset.get_info_by_id(did).project_id)
step("unknown_project_info", lambda: api.project.get_info_by_id(2_000_000_000))
step("unknown_dataset_info", lambda: api.dataset.get_info_by_id(2_000_000_000))
step("unknown_project_update", lambda: api.project.update_custom_data(2_000_000_000, {"x": 1}))
step("wrong_token", lambda: sly.Api(cfg["server"], "msk_nope_nope").project.get_info_by_id(pid))
step("invalid_custom_data", lambda: api.post("projects.editInfo", {"id": pid, "customData": [1, 2]}).json())
step("viewer_update", lambda: sly.Api(cfg["server"], cfg["viewer_token"]).project.update_custom_data(pid, {"v": 1}))
step("viewer_read", lambda: sly.Api(cfg["server"], cfg["viewer_token"]).project.get_custom_data(pid))
step("final", lambda: api.project.get_custom_data(pid))

report()
