-- wrk script: replays pre-signed webhook requests from a file, one per line: "<signature>\t<body>".
-- Each wrk thread takes every n-th line, so no two requests share a body (every wamid is unique).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  lines = {}
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == tid then table.insert(lines, line) end
    n = n + 1
  end
  idx = 0
end

function request()
  idx = idx + 1
  local line = lines[((idx - 1) % #lines) + 1]
  local tab = string.find(line, "\t", 1, true)
  local headers = { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = string.sub(line, 1, tab - 1) }
  return wrk.format("POST", wrk.path, headers, string.sub(line, tab + 1))
end
