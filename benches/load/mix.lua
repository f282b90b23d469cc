-- A realistic request mix for wrk against motcua.
--   MIX=mixed : 60% dossier reads, 20% list/filter queries, 15% actions, 5% receipts
--   MIX=read  : dossier reads only;  MIX=list : list/filter queries only
--   MIX=write : actions only;  MIX=receipt : receipts only
-- Every wrk thread runs one connection and owns a disjoint slice of the seeded dossiers, so it can
-- follow their versions (ETag) and send a correct If-Match.
local token = os.getenv("MOTCUA_TOKEN")
local mix = os.getenv("MIX") or "mixed"
local codes_file = os.getenv("CODES_FILE")
local procedure = os.getenv("PROCEDURE") or "QT-SCT-QLTM-01"

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
end

local all, own, versions = {}, {}, {}
local pending = nil

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS"))
  local i = 0
  for line in io.lines(codes_file) do
    i = i + 1
    table.insert(all, line)
    if (i % threads) == (id - 1) then
      table.insert(own, line)
      versions[line] = 2 -- seeded dossiers are received and started
    end
  end
  math.randomseed(os.time() + id)
end

local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}

local function action()
  local code = own[math.random(#own)]
  pending = code
  headers["If-Match"] = '"' .. versions[code] .. '"'
  local body = '{"action":"apologize","reason":"load test","new_due_at":"2099-01-01T00:00:00+07:00"}'
  local req = wrk.format("POST", "/api/v1/dossiers/" .. code .. "/actions", headers, body)
  headers["If-Match"] = nil
  return req
end

function request()
  pending = nil
  local r = math.random(100)
  if mix == "read" then r = 1 elseif mix == "list" then r = 70 elseif mix == "write" then return action() elseif mix == "receipt" then r = 100 end
  if r <= 60 then
    return wrk.format("GET", "/api/v1/dossiers/" .. all[math.random(#all)], headers)
  elseif r <= 80 then
    local filters = { "status=processing", "procedure_code=" .. procedure, "channel=online", "overdue=true" }
    return wrk.format("GET", "/api/v1/dossiers?limit=20&" .. filters[math.random(#filters)], headers)
  elseif r <= 95 then
    return action()
  else
    local body = '{"procedure_code":"' .. procedure .. '","applicant":{"name":"Nguyễn Văn Tải"},"channel":"online"}'
    return wrk.format("POST", "/api/v1/dossiers", headers, body)
  end
end

function response(status, resp_headers, body)
  if pending ~= nil then
    if status == 200 then
      local etag = resp_headers["etag"] or resp_headers["ETag"]
      if etag then versions[pending] = tonumber(string.match(etag, "%d+")) end
    elseif status == 412 then
      -- An earlier run moved the dossier on: the problem's detail names its current version.
      local current = string.match(body, "at version (%d+)")
      if current then versions[pending] = tonumber(current) end
    end
  end
  pending = nil
end
