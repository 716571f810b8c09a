"""The vocabulary every room shares: what the fields are called, the words people write for their values,
and the platform's limits. Written once here, read by the reader, the checks, the messages, the
templates, the export and the planner.

    >>> MEMBER_LABELS["mobile"], DEPARTMENT_LABELS["name"]
    ('手机', '部门名称')
    >>> GENDER_WORDS["2"], WORD_GENDERS["女"], YES_NO_WORDS[1], WORD_YES_NO["否"]
    ('女', '2', '是', 0)
"""

from __future__ import annotations

ROOT_ID = 1  # the top department: it always exists, and its name is the corp's name

# Chinese label of each field, as the admin console's template and the batch-import CSV head their columns.
MEMBER_LABELS: dict[str, str] = {
    "userid": "帐号", "name": "姓名", "alias": "别名", "position": "职务", "department": "部门",
    "department_id": "所在部门", "main_department": "主部门", "gender": "性别", "mobile": "手机",
    "telephone": "座机", "email": "邮箱", "biz_mail": "企业邮箱", "address": "地址",
    "is_leader_in_dept": "是否部门内领导", "direct_leader": "直属上级", "order": "排序", "enable": "启用",
    "disabled": "禁用", "external_position": "对外职务", "nickname": "视频号", "to_invite": "邀请",
}
DEPARTMENT_LABELS: dict[str, str] = {
    "name": "部门名称", "path": "部门路径", "parent": "上级部门", "parentid": "父部门ID", "id": "部门ID",
    "order": "排序", "name_en": "英文名称",
}
# The label of each field in messages: a member's, or for the fields only departments have, a department's
# (`name` is 姓名 for both).
LABELS: dict[str, str] = {**{k: v for k, v in DEPARTMENT_LABELS.items() if k not in MEMBER_LABELS},
                          **{k: v for k, v in MEMBER_LABELS.items() if k not in ("department_id", "disabled")}}

# The words for gender (the API's "1" and "2") and for yes and no (1 and 0), both ways.
GENDER_WORDS: dict[str, str] = {"1": "男", "2": "女"}
WORD_GENDERS: dict[str, str] = {word: code for code, word in GENDER_WORDS.items()}
YES_NO_WORDS: dict[int, str] = {1: "是", 0: "否"}
WORD_YES_NO: dict[str, int] = {word: value for value, word in YES_NO_WORDS.items()}

# What the platform stopped returning to apps created after 2022-06-20 (platform page 96255): read back
# empty, so they cannot be compared.
PRIVATE_FIELDS = ("mobile", "email", "gender", "avatar", "address", "biz_mail")

def mobile_key(mobile: str) -> str:
    """The platform's rule for "the same mobile" (platform page 95402): spaces and `-` removed, and a leading
    `+86`, so `+86 138-0013-8000` and `13800138000` are one number.

    >>> mobile_key("+86 138-0013-8000"), mobile_key("+852 1234 5678")
    ('13800138000', '+85212345678')
    """
    if mobile.__class__ is str and mobile.isdigit():
        return mobile  # the common case, nothing to take off
    digits = str(mobile).strip().replace(" ", "").replace("-", "")
    return digits[3:] if digits.startswith("+86") else digits


# The platform's limits (user/create platform page 90195, department/create 90205).
MAX_DEPARTMENTS = 100  # departments of one member
MAX_LEADERS = 5  # direct_leader of one member
MAX_DEPTH = 15  # levels of departments, the top one included
MAX_ORDER = 2**32 - 1
MAX_NAME = 64  # characters of a member's or a department's name
FORBIDDEN_IN_DEPARTMENT_NAME = frozenset('\\:*?"<>|')
