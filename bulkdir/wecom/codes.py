"""The catalogue of WeCom error codes bulkdir meets, each with a hint in English and Chinese.

Every code the platform documents for the contacts APIs is here (its global error-code page is platform
page 90313). `hint_for(errcode, errmsg)` fills in what the platform's errmsg tells (the egress IP of a
60020, the member who already has a mobile of a 60104).
The client decides what to retry from `RETRY_WITH_BACKOFF`, `RENEW_TOKEN` and `BLOCKED`.
"""

from __future__ import annotations

import re

from bulkdir.errors import Text

BUSY = -1  # the platform is busy; a write answered so may or may not have landed
# Retried with jittered exponential backoff: the platform is busy, not the call wrong.
RETRY_WITH_BACKOFF = frozenset({BUSY, 6000, 45033})
# The token was refused: fetch a new one once, then give up.
RENEW_TOKEN = frozenset({40001, 40014, 42001})
# The API is blocked for a while: wait the block out, then slow that API down.
BLOCKED = 45009
# A list answer would be too large: read it in smaller parts.
TOO_LARGE = 45029
# The secret is wrong (at gettoken), or the token was refused (on a call).
INVALID_SECRET = 40001
# The contacts-sync secret may not read details from this IP (since 2022): read with the app secret.
DETAIL_READS_REFUSED = 48009
# The secret may not call this API (an app secret writing, or calling user/list_id).
NOT_ALLOWED = 48002
# Outside the secret's visible range (可见范围).
NO_PRIVILEGE = 60011
# user/create of a userid that exists (compared without case).
USERID_EXISTS = 60102
# A department with that id, or a sibling with that name, exists.
DEPARTMENT_EXISTS = 60008
# department/delete of one that still holds members, or sub-departments.
DEPARTMENT_HAS_MEMBERS = 60005
DEPARTMENT_HAS_CHILDREN = 60006
# user/batchdelete: a userid in the list does not exist (and nothing was deleted).
USERIDS_NOT_FOUND = 40031
# batch/getresult: an unknown jobid, and a job whose result is no longer kept (only the latest 5 are).
JOB_NOT_FOUND = 40088
JOB_RESULT_GONE = 40089
# No member has that userid (user/get, user/update, user/delete).
USERID_NOT_FOUND = 60111
# No department has that id (department/get, department/update, department/delete).
DEPARTMENT_NOT_FOUND = 60003
# Errors of the credentials or the setup, not of one call: the CLI exits 2 on these.
CONFIGURATION = frozenset({40001, 40013, 40091, 41002, 41004, 45031, 60020, 48009})

_SYNC = "the contacts-sync secret (admin console → 管理工具 → 通讯录同步, with API editing enabled)"
_SYNC_ZH = "通讯录同步的 Secret（管理后台 → 管理工具 → 通讯录同步，开启 API 编辑通讯录）"

_CATALOGUE: list[tuple[int, str, str]] = [
    (-1, "WeCom is busy; bulkdir retries with backoff. If it persists, try again later.",
         "企业微信系统繁忙，bulkdir 会自动重试；若持续出现，请稍后再试。"),
    (6000, "Another change to the same data happened at the same moment; bulkdir retries.",
         "数据版本冲突（同时有其他修改），bulkdir 会自动重试。"),
    (40001, "The secret is wrong, was reset, or its app is disabled: copy the secret again from the admin console.",
         "Secret 错误、已重置或应用已停用：请从管理后台重新复制 Secret。"),
    (40003, "Invalid userid: 1–64 of letters, digits, _ . @ -, starting with a letter or digit, of an existing member.",
         "无效的帐号（userid）：1–64 位字母、数字或 _ . @ -，以字母或数字开头，且须为已有成员。"),
    (40013, "The corp id is wrong: copy it from the admin console (我的企业 → 企业信息 → 企业ID).",
         "企业ID 错误：请在管理后台“我的企业 → 企业信息 → 企业ID”处复制。"),
    (40014, "The access token is invalid; bulkdir fetches a new one once.",
         "access_token 无效，bulkdir 会重新获取一次。"),
    (40031, "The userid list is empty or holds a userid that does not exist; nothing was deleted.",
         "帐号列表为空或含有不存在的帐号，未删除任何成员。"),
    (40032, "Too many userids in one call: at most 200 per batch delete.",
         "单次批量删除最多 200 个帐号。"),
    (40058, "A parameter is invalid (wrong type, too long, or not allowed here); check the row's values.",
         "参数不合法（类型错误、过长或此处不允许），请检查该行的取值。"),
    (40066, "The department list is empty or holds an unknown department id.",
         "部门列表为空或包含不存在的部门ID。"),
    (40088, "The job id was not found.", "任务ID 不存在。"),
    (40089, "The job's result is gone (only the latest 5 are kept).", "任务结果已过期（仅保留最近 5 个）。"),
    (40091, "The secret belongs to another corp: check the corp id and the secret.",
         "Secret 不属于该企业：请核对企业ID 与 Secret。"),
    (40092, "The import file is empty or misses required columns.", "导入文件为空或缺少必填列。"),
    (41001, "The access token is missing from the call.", "调用缺少 access_token。"),
    (41002, "The corp id is missing: pass --corp-id or set BULKDIR_CORP_ID.",
         "缺少企业ID：请使用 --corp-id 或设置 BULKDIR_CORP_ID。"),
    (41004, "The secret is missing: pass --secret or set BULKDIR_SECRET.",
         "缺少 Secret：请使用 --secret 或设置 BULKDIR_SECRET。"),
    (41019, "The department is missing.", "缺少部门。"),
    (42001, "The access token expired; bulkdir fetches a new one once.",
         "access_token 已过期，bulkdir 会重新获取一次。"),
    (45009, "WeCom blocked this API for calling it too often; bulkdir waits the block out and slows down. "
                "Lower --rate if it happens again.",
         "接口调用超过频率限制被暂时封禁，bulkdir 会等待解封并降低速度；如再次出现请调低 --rate。"),
    (45024, "The corp has reached its account limit: free seats or ask WeCom for more.",
         "企业帐号数已达上限：请释放席位或申请扩容。"),
    (45026, "WeCom refused to delete that many members at once (replace protection).",
         "一次删除成员过多，触发全量覆盖保护。"),
    (45029, "The answer would be too large; bulkdir reads department by department instead.",
         "返回数据过大，bulkdir 会改为逐个部门读取。"),
    (45031, "WeCom considers this secret insecure: reset it in the admin console.",
         "该 Secret 不安全，请在管理后台重置。"),
    (45033, "Too many calls in flight to this API; bulkdir retries. Lower --workers if it persists.",
         "同一接口并发调用过多，bulkdir 会自动重试；如持续出现请调低 --workers。"),
    (46004, "No member has that mobile or email.", "没有使用该手机号或邮箱的成员。"),
    (48002, f"This API refuses the secret in use: writes need {_SYNC}; an app secret only reads.",
         f"当前 Secret 无权调用该接口：写入需使用{_SYNC_ZH}，自建应用 Secret 只能读取。"),
    (48008, "The member or department is outside what this secret may edit.",
         "成员或部门不在该 Secret 的可编辑范围内。"),
    (48009, "Since 2022-08-15 the contacts-sync secret cannot read member and department details from a new IP: "
                "set an app secret (--app-secret or BULKDIR_APP_SECRET) for detail reads.",
         "自 2022-08-15 起，通讯录同步 Secret 在新 IP 上不能读取成员和部门详情：请设置自建应用 Secret"
         "（--app-secret 或 BULKDIR_APP_SECRET）用于读取详情。"),
    (60001, "Department name empty or too long (1–64 characters).", "部门名称为空或过长（1–64 个字符）。"),
    (60003, "The department does not exist.", "部门不存在。"),
    (60004, "The parent department does not exist.", "上级部门不存在。"),
    (60005, "The department still has members: move or delete them first.", "部门下仍有成员，请先移出或删除。"),
    (60006, "The department still has sub-departments: delete those first.", "部门下仍有子部门，请先删除子部门。"),
    (60007, "The top (root) department cannot be deleted.", "根部门不能删除。"),
    (60008, "A department with that name already exists under the same parent, or the id is taken.",
         "同一上级部门下已有同名部门，或部门ID 已被占用。"),
    (60009, "Department name holds a forbidden character (\\ : * ? \" < > |).",
         "部门名称含有不允许的字符（\\ : * ? \" < > |）。"),
    (60010, "A department cannot move under itself or one of its sub-departments.",
         "部门不能移动到自身或其子部门之下。"),
    (60011, "This secret may not see or change that member or department (visibility range).",
         "该 Secret 无权查看或修改此成员或部门（可见范围）。"),
    (60020, "WeCom refuses calls from this IP: add the server's egress IP to 企业可信IP "
                "(admin console → the app or 通讯录同步 → 企业可信IP); it takes about a minute.",
         "当前 IP 不在企业可信IP 中：请在管理后台（应用或通讯录同步 → 企业可信IP）添加服务器出口 IP，约一分钟后生效。"),
    (60021, "The member is outside the app's visible range.", "成员不在应用的可见范围内。"),
    (60102, "A member with that userid already exists (userids compare without case).",
         "该帐号已存在（帐号不区分大小写）。"),
    (60103, "Invalid mobile: at most 32 characters of digits, +, - and spaces.",
         "手机号不合法：最多 32 位，只能包含数字、+、- 和空格。"),
    (60104, "Another member already has this mobile.", "该手机号已被其他成员使用。"),
    (60105, "Invalid email.", "邮箱格式不正确。"),
    (60106, "Another member already has this email.", "该邮箱已被其他成员使用。"),
    (60110, "Too many departments for one member (at most 100).", "成员所属部门过多（最多 100 个）。"),
    (60111, "No member has that userid.", "帐号不存在。"),
    (60112, "Member name empty or too long (1–64 characters).", "成员姓名为空或过长（1–64 个字符）。"),
    (60123, "The department does not exist.", "部门不存在。"),
    (60124, "The parent department is invalid.", "上级部门不合法。"),
    (60125, "Department name invalid (length or forbidden characters).", "部门名称不合法（长度或非法字符）。"),
    (60127, "The department is missing.", "缺少部门。"),
    (60129, "A member needs a mobile or an email.", "成员的手机号和邮箱不能同时为空。"),
    (60132, "is_leader_in_dept (or order) must list one value per department.",
         "是否部门负责人（或排序）的个数必须与部门个数一致。"),
    (60141, "Invalid personal email.", "个人邮箱不合法。"),
    (60142, "Personal email already used.", "个人邮箱已被使用。"),
    (60143, "Invalid business email (biz_mail).", "企业邮箱不合法。"),
    (60144, "Business email cannot be changed.", "企业邮箱不可修改。"),
    (60145, "Business email already used.", "企业邮箱已被使用。"),
    (60257, "At most 5 direct leaders, each an existing member.", "直属上级最多 5 个，且须为已有成员。"),
    (81001, "A department may hold at most 30,000 sub-departments and members.",
         "单个部门下的子部门和成员总数不能超过 30,000。"),
    (81002, "Departments may nest at most 15 levels deep.", "部门层级不能超过 15 级。"),
    (301002, "No permission for that app.", "无权操作该应用。"),
    (301005, "The corp's creator cannot be deleted.", "不能删除企业创建者。"),
    (301012, "Position too long (at most 128 characters).", "职务过长（最多 128 个字符）。"),
    (301013, "Invalid telephone: 1–32 of digits, -, + and commas.", "座机不合法：1–32 位数字、-、+ 或逗号。"),
    (301015, "Invalid avatar media id.", "头像 media_id 不合法。"),
    (301036, "This userid cannot be changed (only a system-made userid may be renamed, once).",
         "该帐号不可修改（只有系统生成的帐号可修改一次）。"),
]
# errcode -> what it means and what a person does about it
CODES: dict[int, Text] = {code: Text(en, zh) for code, en, zh in _CATALOGUE}

_FROM_IP = re.compile(r"from ip:\s*([0-9a-fA-F.:]+)")
_MOBILE_EXISTED = re.compile(r"mobile existed:\s*([A-Za-z0-9_.@-]+)")


def hint_for(errcode: int, errmsg: str = "") -> Text:
    """The hint for an error, with what the errmsg tells filled in.

    >>> hint_for(60104, "mobile existed:zhangsan")
    'Another member already has this mobile: zhangsan.'
    """
    entry = CODES.get(errcode)
    en = entry.en if entry else f"WeCom error {errcode}; see https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    zh = entry.zh if entry else f"企业微信错误码 {errcode}，详见 https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    if errcode == 60020 and (match := _FROM_IP.search(errmsg)):
        ip = match.group(1).rstrip(".")
        en = en.replace("the server's egress IP", f"this IP ({ip})")
        zh = zh.replace("服务器出口 IP", f"出口 IP {ip}")
    if errcode == 60104 and (match := _MOBILE_EXISTED.search(errmsg)):
        en = en.rstrip(".") + f": {match.group(1)}."
        zh = zh.rstrip("。") + f"：{match.group(1)}。"
    return Text(en, zh)


def existing_member(errmsg: str) -> str | None:
    """The userid a 60104 errmsg names (`mobile existed:<userid>`), if any."""
    match = _MOBILE_EXISTED.search(errmsg)
    return match.group(1) if match else None
