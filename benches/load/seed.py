#!/usr/bin/env python3
"""Seeds a running motcua through its API: units, one procedure, N received-and-started dossiers.

Usage: seed.py BASE_URL TOKEN COUNT CODES_FILE   (standard library only)
"""
import concurrent.futures
import json
import sys
import urllib.request

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


for code, parent in [("SCT", None), ("MC", "SCT"), ("QLTM", "SCT"), ("BGD", "SCT")]:
    call("POST", "/api/v1/units", {"code": code, "name": code, "parent_code": parent, "agency_code": "SCT"})
call("POST", "/api/v1/procedures", {
    "code": "QT-SCT-QLTM-01", "name": "Cấp Giấy phép kinh doanh bán lẻ rượu", "field": "Lưu thông hàng hóa",
    "unit_code": "QLTM", "time_limit": {"amount": 10, "unit": "working_days"},
    "steps": [{"name": "Tiếp nhận", "unit_code": "MC", "hours": 4}, {"name": "Thẩm định", "unit_code": "QLTM", "hours": 60},
              {"name": "Phê duyệt", "unit_code": "BGD", "hours": 12}, {"name": "Trả kết quả", "unit_code": "MC", "hours": 4}],
})


def one(i):
    channel = ("direct", "online", "postal")[i % 3]
    dossier = call("POST", "/api/v1/dossiers", {
        "procedure_code": "QT-SCT-QLTM-01", "channel": channel,
        "applicant": {"name": f"Doanh nghiệp {i}", "id_number": f"{1000000000 + i}"},
    })
    call("POST", f"/api/v1/dossiers/{dossier['code']}/actions", {"action": "start"}, {"If-Match": '"1"'})
    return dossier["code"]


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    codes = list(pool.map(one, range(count)))
with open(codes_file, "w") as out:
    out.write("\n".join(codes) + "\n")
print(f"seeded {len(codes)} dossiers")
