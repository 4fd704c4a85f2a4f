-- redis-alt prelude: run once when a VM is built, before any user script.
-- Receives the error-text helper from Rust; returns the runner of library code. (Scripts and
-- functions are run by the host adapter's run entry, under the error handler.)
local errtext = ...
local rawpcall, select, type = pcall, select, type

-- Redis 7 raises error tables; its pcall hands back their `err` string (luaRedisPcall).
local function fix(ok, ...)
  if ok then return ok, ... end
  local e = ...
  local t = type(e)
  if t == 'table' then
    local m = e.err
    local mt = type(m)
    if mt == 'string' or mt == 'number' then return false, m end
  elseif t == 'userdata' then
    local m = errtext(e)
    if m ~= nil then return false, m end
  end
  return false, e
end

pcall = function(...)
  if select('#', ...) == 0 then return false, 'attempt to call a boolean value' end
  return fix(rawpcall(...))
end

-- A library's code at FUNCTION LOAD: the raw error value, no handler (luaEngineCreate).
local function run_library(f) return rawpcall(f) end

return run_library
