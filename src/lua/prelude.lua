-- redis-alt prelude: run once when a VM is built, before any user script.
-- Receives the error handler, the error-text helper and the builder of KEYS/ARGV from Rust;
-- returns the runners.
local handler, errtext, build = ...
local rawpcall, xpcall, select, type = pcall, xpcall, select, type

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

-- An EVAL script: `p` describes KEYS and ARGV, which become globals; then the script runs
-- with no arguments under the error handler.
local function run_script(f, p)
  build(p)
  return xpcall(f, handler)
end

-- A function: called with its keys and args tables, under the error handler. Lua 5.1's
-- xpcall passes no arguments, so they wait in upvalues (no closure per call).
local F, K, A
local function call_pending()
  local f, k, a = F, K, A
  F, K, A = nil, nil, nil
  return f(k, a)
end
local function run_function(f, p)
  local k, a = build(p)
  F, K, A = f, k, a
  return xpcall(call_pending, handler)
end

-- A library's code at FUNCTION LOAD: the raw error value, no handler (luaEngineCreate).
local function run_library(f) return rawpcall(f) end

return run_script, run_function, run_library
