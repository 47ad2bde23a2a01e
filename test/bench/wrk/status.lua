-- wrk script: GET /jobs/{id}/status, cycling through the job ids in the file named by
-- JOB_IDS_FILE (one per line), or always the id in JOB_ID. Counts answers that are not 200.
--
--   JOB_IDS_FILE=/tmp/ids wrk -t2 -c50 -d15s --latency -s test/bench/wrk/status.lua http://127.0.0.1:8080

local ids = {}
local file = os.getenv("JOB_IDS_FILE")
if file and file ~= "" then
    for line in io.lines(file) do
        if line ~= "" then ids[#ids + 1] = line end
    end
end
if #ids == 0 then
    ids[1] = os.getenv("JOB_ID") or error("set JOB_IDS_FILE or JOB_ID")
end

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("offset", counter * 7919)
    table.insert(threads, thread)
end

local next_index

function init(args)
    failed = 0
    next_index = offset or 0
end

function request()
    next_index = next_index % #ids + 1
    return wrk.format("GET", "/jobs/" .. ids[next_index] .. "/status")
end

function response(status, headers, body)
    if status ~= 200 then failed = failed + 1 end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get("failed") end
    io.write(string.format("status requests: %d over %d job ids, non-200 answers: %d\n",
                           summary.requests, #ids, total))
end
