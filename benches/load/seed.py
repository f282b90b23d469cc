#!/usr/bin/env python3
"""Seeds a running motcua through its API: a province with two agencies, units, a procedure per agency,
N received-and-started dossiers of the department (their codes go to CODES_FILE) and N/4 of the commune,
and an administrator confined to the department (`sct-admin`, password SCOPED_PASSWORD).

Usage: seed.py BASE_URL TOKEN COUNT CODES_FILE   (standard library only)
"""
import concurrent.futures
import json
import sys
import urllib.error
import urllib.request

SCOPED_PASSWORD = "load test department administrator"

base, token, count, codes_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def call(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    with urllib.request.urlopen(request) as response:
        return json.load(response) if response.status != 204 else None


def has_agencies():
    """A server from before agencies has no /agencies: it is then seeded the same way minus the tree."""
    try:
        call("GET", "/api/v1/agencies")
        return True
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise


if has_agencies():
    for code, parent in [("H99", None), ("SCT", "H99"), ("XA01", "H99")]:
        call("POST", "/api/v1/agencies", {"code": code, "name": code, "parent_code": parent})
for code, parent, agency in [("SCT", None, "SCT"), ("MC", "SCT", "SCT"), ("QLTM", "SCT", "SCT"), ("BGD", "SCT", "SCT"),
                             ("XA01-MC", None, "XA01")]:
    call("POST", "/api/v1/units", {"code": code, "name": code, "parent_code": parent, "agency_code": agency})
call("POST", "/api/v1/users", {"username": "sct-admin", "password": SCOPED_PASSWORD, "role": "admin", "unit_code": "MC"})
call("POST", "/api/v1/procedures", {
    "code": "QT-XA01-01", "name": "Chứng thực bản sao từ bản chính", "field": "Chứng thực",
    "unit_code": "XA01-MC", "time_limit": {"amount": 2, "unit": "working_days"},
    "steps": [{"name": "Tiếp nhận và giải quyết", "unit_code": "XA01-MC", "hours": 16}],
})
call("POST", "/api/v1/procedures", {
    "code": "QT-SCT-QLTM-01", "name": "Cấp Giấy phép kinh doanh bán lẻ rượu", "field": "Lưu thông hàng hóa",
    "unit_code": "QLTM", "time_limit": {"amount": 10, "unit": "working_days"},
    "steps": [{"name": "Tiếp nhận", "unit_code": "MC", "hours": 4}, {"name": "Thẩm định", "unit_code": "QLTM", "hours": 60},
              {"name": "Phê duyệt", "unit_code": "BGD", "hours": 12}, {"name": "Trả kết quả", "unit_code": "MC", "hours": 4}],
})


def one(i, procedure="QT-SCT-QLTM-01"):
    channel = ("direct", "online", "postal")[i % 3]
    dossier = call("POST", "/api/v1/dossiers", {
        "procedure_code": procedure, "channel": channel,
        "applicant": {"name": f"Doanh nghiệp {i}", "id_number": f"{1000000000 + i}"},
    })
    call("POST", f"/api/v1/dossiers/{dossier['code']}/actions", {"action": "start"}, {"If-Match": '"1"'})
    return dossier["code"]


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    codes = list(pool.map(one, range(count)))
    commune = list(pool.map(lambda i: one(i, "QT-XA01-01"), range(count // 4)))
with open(codes_file, "w") as out:
    out.write("\n".join(codes) + "\n")
print(f"seeded {len(codes)} dossiers of the department and {len(commune)} of the commune")
