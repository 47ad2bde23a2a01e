-- wrk script: POST /jobs/submit with 3 small PDFs and a job description, the body built once.
-- Counts the answers that are not 202. With JOB_IDS_OUT set, appends the job ids of the
-- accepted submissions to that file (for status.lua).
--
--   wrk -t2 -c50 -d15s --latency -s test/bench/wrk/submit.lua http://127.0.0.1:8080

local boundary = "----cvgateWrkBoundary7MA4YWxkTrZu0gW"

local function pdf(label)
    return "%PDF-1.4\n" ..
        "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" ..
        "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n" ..
        "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n" ..
        "% " .. label .. " " .. string.rep("CV text ", 64) .. "\n" ..
        "trailer << /Root 1 0 R >>\n%%EOF\n"
end

local function field(name, value)
    return "--" .. boundary .. "\r\n" ..
        'Content-Disposition: form-data; name="' .. name .. '"\r\n\r\n' ..
        value .. "\r\n"
end

local function file(filename, bytes)
    return "--" .. boundary .. "\r\n" ..
        'Content-Disposition: form-data; name="files"; filename="' .. filename .. '"\r\n' ..
        "Content-Type: application/pdf\r\n\r\n" ..
        bytes .. "\r\n"
end

local body = field("jd_text", "Senior C++ engineer for a CV screening pipeline: Boost.Asio, PostgreSQL, " ..
                              "MongoDB and RabbitMQ; coroutines, observability, on-call.") ..
    field("use_delay", "false") ..
    file("resume1.pdf", pdf("one")) ..
    file("resume2.pdf", pdf("two")) ..
    file("resume3.pdf", pdf("three")) ..
    "--" .. boundary .. "--\r\n"

wrk.method = "POST"
wrk.path = "/jobs/submit"
wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

local ids_out

function init(args)
    rejected = 0     -- globals: read by done() through thread:get()
    first_status = ""
    local path = os.getenv("JOB_IDS_OUT")
    if path and path ~= "" then
        ids_out = io.open(path, "a")
        ids_out:setvbuf("line")
    end
end

function response(status, headers, body)
    if status ~= 202 then
        rejected = rejected + 1
        if first_status == "" then first_status = tostring(status) .. " " .. body:sub(1, 200) end
    elseif ids_out then
        local id = body:match('"job_id":"([0-9a-f%-]+)"')
        if id then ids_out:write(id, "\n") end
    end
end

function done(summary, latency, requests)
    local total, example = 0, ""
    for _, t in ipairs(threads) do
        total = total + t:get("rejected")
        if example == "" then example = t:get("first_status") end
    end
    io.write(string.format("submissions: %d, non-202 answers: %d\n", summary.requests, total))
    if example ~= "" then io.write("first non-202: ", example, "\n") end
end
