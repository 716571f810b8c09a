"""Which path answers with which handler: a plain table, read by server.py's Router.

WeCom APIs are under /cgi-bin/ (keys here leave the prefix out, as the stats do): HTTP method,
handler, and the errmsg of a successful answer. The emulator's own control endpoints live under the
reserved prefix /_emulator/, which the platform never uses. The handlers are WeComResponses methods
(responses.py), which know nothing of this table.
"""

from __future__ import annotations

from collections.abc import Callable

from bulkdir.emulator.responses import WeComResponses as R

API_URLS: dict[str, tuple[str, Callable, str]] = {
    "gettoken": ("GET", R.gettoken, "ok"),
    "user/create": ("POST", R.user_create, "created"),
    "user/get": ("GET", R.user_get, "ok"),
    "user/update": ("POST", R.user_update, "updated"),
    "user/delete": ("GET", R.user_delete, "deleted"),
    "user/batchdelete": ("POST", R.user_batchdelete, "deleted"),
    "user/simplelist": ("GET", R.user_simplelist, "ok"),
    "user/list": ("GET", R.user_list, "ok"),
    "user/list_id": ("POST", R.user_list_id, "ok"),
    "user/getuserid": ("POST", R.user_getuserid, "ok"),
    "user/get_userid_by_email": ("POST", R.user_get_userid_by_email, "ok"),
    "department/create": ("POST", R.department_create, "created"),
    "department/update": ("POST", R.department_update, "updated"),
    "department/delete": ("GET", R.department_delete, "deleted"),
    "department/list": ("GET", R.department_list, "ok"),
    "department/simplelist": ("GET", R.department_simplelist, "ok"),
    "department/get": ("GET", R.department_get, "ok"),
    "media/upload": ("POST", R.media_upload, "ok"),
    "batch/syncuser": ("POST", R.batch_syncuser, "ok"),
    "batch/getresult": ("GET", R.batch_getresult, "ok"),
    "message/send": ("POST", R.message_send, "ok"),
    "webhook/send": ("POST", R.webhook_send, "ok"),  # with ?key=, not a token
    "webhook/upload_media": ("POST", R.webhook_upload_media, "ok"),
}

CONTROL_URLS: dict[tuple[str, str], Callable] = {
    ("POST", "/_emulator/reset"): R.control_reset,
    ("GET", "/_emulator/stats"): R.control_stats,
    ("GET", "/_emulator/faults"): R.control_get_faults,
    ("POST", "/_emulator/faults"): R.control_set_faults,
    ("POST", "/_emulator/expire-tokens"): R.control_expire_tokens,
    ("GET", "/_emulator/state"): R.control_state,
    ("GET", "/_emulator/messages"): R.control_messages,
}
