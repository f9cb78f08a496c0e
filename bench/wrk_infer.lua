-- wrk script for bench/serve_load.py: POSTs one prepared inference request
-- (Open Inference Protocol, binary tensor data) over and over.
--   wrk ... -s bench/wrk_infer.lua URL -- BODY_FILE HEADER_LENGTH
-- Non-200 responses are counted by wrk ("Non-2xx or 3xx responses").

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  req = wrk.format("POST", nil, {
    ["Content-Type"] = "application/octet-stream",
    ["Inference-Header-Content-Length"] = args[2],
  }, body)
end

function request()
  return req
end
