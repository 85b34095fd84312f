-- meterbench prelude: the scenario API (docs/scenario-api.md) on top of the runtime's
-- primitives (testbench/mb_rt.c). It is compiled into meterbench and runs before every
-- scenario file, with private references to what it uses, so that a scenario cannot
-- change the API under the runner.
-- SPDX-License-Identifier: MIT
local C = ...
local type, tostring, select, pairs, ipairs, error, xpcall, pcall, setmetatable, rawget =
  type, tostring, select, pairs, ipairs, error, xpcall, pcall, setmetatable, rawget
local fmt, find, rep, sub = string.format, string.find, string.rep, string.sub
local concat, pack, unpack, sort = table.concat, table.pack, table.unpack, table.sort
local mtype, abs, floor, randomseed = math.type, math.abs, math.floor, math.randomseed

-- ---- values in messages --------------------------------------------------------------

-- bytes as a trace shows them: "<STX>" for control characters, "<0x8F>" for others (C,
-- the reports' renderer)
local text = C.text

local show
local function show_table(v, depth)
  if depth > 1 then return "{...}" end
  local parts, n = {}, 0
  for k, x in pairs(v) do
    n = n + 1
    if n > 8 then parts[#parts + 1] = "..."; break end
    if mtype(k) == "integer" then parts[#parts + 1] = show(x, depth + 1)
    else parts[#parts + 1] = tostring(k) .. " = " .. show(x, depth + 1) end
  end
  return "{" .. concat(parts, ", ") .. "}"
end

show = function(v, depth)
  local ty = type(v)
  if ty == "string" then
    local s = text(v)
    if #s > 120 then s = sub(s, 1, 117) .. "..." end
    return '"' .. s .. '"'
  elseif ty == "number" then
    if mtype(v) == "float" then
      if v == floor(v) and abs(v) < 2 ^ 53 then return fmt("%.1f", v) end
      return fmt("%.6g", v)
    end
    return tostring(v)
  elseif ty == "table" then
    return show_table(v, depth or 0)
  end
  return tostring(v)
end

-- ---- declarations ---------------------------------------------------------------------

local declared = {}
local DECL_FIELDS = { tags = true, requirements = true, sim_only = true, timeout_ms = true,
  skip = true, description = true, run = true, [1] = true }

local function strings(v, what, name)
  if v == nil then return {} end
  if type(v) ~= "table" then
    error(fmt("scenario %q: %s: a list of strings expected", name, what), 3)
  end
  for i, s in ipairs(v) do
    if type(s) ~= "string" then
      error(fmt("scenario %q: %s[%d]: a string expected", name, what, i), 3)
    end
  end
  return v
end

local function scenario(name)
  if type(name) ~= "string" or name == "" then
    error('scenario: a name expected, e.g. scenario "sign-on" { function(t) ... end }', 2)
  end
  local line = C.caller_line(2)
  return function(def)
    if type(def) ~= "table" then
      error(fmt("scenario %q: a table expected: { tags = {...}, function(t) ... end }", name), 2)
    end
    for k in pairs(def) do
      if not DECL_FIELDS[k] then
        error(fmt("scenario %q: unknown field '%s' (tags, requirements, sim_only, "
          .. "timeout_ms, skip, description and the scenario's function)", name,
          tostring(k)), 2)
      end
    end
    local fn = def[1] or def.run
    if type(fn) ~= "function" then
      error(fmt("scenario %q: the scenario's function expected as its first item", name), 2)
    end
    if def.timeout_ms ~= nil and (type(def.timeout_ms) ~= "number" or def.timeout_ms <= 0) then
      error(fmt("scenario %q: timeout_ms: a positive number expected", name), 2)
    end
    if def.skip ~= nil and type(def.skip) ~= "string" then
      error(fmt("scenario %q: skip: the reason (a string) expected", name), 2)
    end
    if def.sim_only ~= nil and type(def.sim_only) ~= "boolean" then
      error(fmt("scenario %q: sim_only: true or false expected", name), 2)
    end
    for _, d in ipairs(declared) do
      if d.name == name then
        error(fmt("scenario %q: declared twice in this file (first on line %d)", name, d.line), 2)
      end
    end
    declared[#declared + 1] = {
      name = name, line = line, fn = fn,
      tags = strings(def.tags, "tags", name),
      requirements = strings(def.requirements, "requirements", name),
      sim_only = def.sim_only or false,
      skip = def.skip,
      timeout_ms = def.timeout_ms and floor(def.timeout_ms) or 0,
    }
  end
end

-- ---- the scenario object t --------------------------------------------------------------

-- A methods table whose unknown names raise (a misspelt API call names itself);
-- `fields` are the object's own data, which may be nil.
local function strict(methods, what, fields)
  fields = fields or {}
  return function(_, k)
    local m = methods[k]
    if m == nil and not fields[k] then
      error(fmt("unknown %s '%s' (docs/scenario-api.md)", what, tostring(k)), 2)
    end
    return m
  end
end

local T = {}
local t = setmetatable({}, {
  __index = strict(T, "field or method of t", { name = true, tags = true,
    requirements = true, seed = true, meter_spec = true, sim = true }),
  __newindex = function(_, k) error(fmt("t is read-only (tried to set '%s')", tostring(k)), 2) end,
  __metatable = false,
  __tostring = function() return "scenario " .. tostring(T.name) end,
})

local current -- declaration being run
local in_step -- name of the step running

local function single_requirement()
  local r = current and current.requirements
  if r and #r == 1 then return r[1] end
  return nil
end

local function with_req(msg, req)
  req = req or single_requirement()
  if req then return msg .. " (" .. req .. ")" end
  return msg
end

local function failure(msg, level)
  return { mb_kind = "failure", message = msg, where = C.where(level + 1) }
end

-- Error objects: failures and skips as raised; anything else gains a traceback.
local function handler(e)
  if type(e) == "table" and rawget(e, "mb_kind") then
    local k = e.mb_kind
    if k ~= "failure" and k ~= "skip" and k ~= "stop" and not e.traceback then
      e.traceback = C.traceback(e.message, 2)
    end
    return e
  end
  local ok, msg = pcall(tostring, e)
  if not ok or type(msg) ~= "string" then msg = "(error object without a message)" end
  return { mb_kind = "error", message = msg, traceback = C.traceback(msg, 2) }
end

-- Error kinds that end the scenario, not just the step.
local FATAL = { skip = true, crash = true, abort = true, limit = true }
local function ends_scenario(e)
  return FATAL[e.mb_kind] or e.scope == "scenario"
end

local STEP_OPTS = { timeout_ms = true, retry = true, continue = true }

function T:step(name, opts, fn)
  if fn == nil and type(opts) == "function" then opts, fn = nil, opts end
  if type(name) ~= "string" then error("t:step: a name (string) expected", 2) end
  if type(fn) ~= "function" then error(fmt("t:step %q: a function expected", name), 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error(fmt("t:step %q: options table expected", name), 2) end
  for k in pairs(opts) do
    if not STEP_OPTS[k] then
      error(fmt("t:step %q: unknown option '%s' (timeout_ms, retry, continue)", name,
        tostring(k)), 2)
    end
  end
  if in_step then
    error(fmt("t:step %q: steps do not nest (inside step %q)", name, in_step), 2)
  end
  local retry = opts.retry or 0
  if mtype(retry) ~= "integer" or retry < 0 then
    error(fmt("t:step %q: retry: a count >= 0 expected", name), 2)
  end
  in_step = name
  C.step_begin(name, opts.timeout_ms)
  local attempts, r = 0, nil
  while true do
    attempts = attempts + 1
    r = pack(xpcall(fn, handler, self))
    local failed = C.step_failed()
    if r[1] and not failed then break end
    local e = not r[1] and r[2] or nil
    if attempts > retry or (e and ends_scenario(e)) then break end
    C.step_retry(e and e.message or failed)
  end
  in_step = nil
  local e = not r[1] and r[2] or nil
  local status = C.step_end(e, attempts)
  if e and ends_scenario(e) then
    e.recorded = true
    error(e, 0)
  end
  if status ~= "passed" then
    if not opts.continue then error({ mb_kind = "stop", recorded = true }, 0) end
    return nil
  end
  return unpack(r, 2, r.n)
end

-- ---- expectations ---------------------------------------------------------------------

local E = {}
local Emt = { __index = strict(E, "expectation method",
  { v = true, what = true, req = true, fatal = true }), __metatable = false }

local function expectation(v, what, req, fatal)
  if what ~= nil and type(what) ~= "string" then
    error("t:expect(value, what, requirement): 'what' must be a string", 3)
  end
  if req ~= nil and type(req) ~= "string" then
    error("t:expect(value, what, requirement): 'requirement' must be a string", 3)
  end
  return setmetatable({ v = v, what = what, req = req, fatal = fatal }, Emt)
end

function T:expect(v, what, req) return expectation(v, what, req, false) end
function T:assert(v, what, req) return expectation(v, what, req, true) end

-- Record the verdict of an expectation; level 3 is the scenario's line.
local function verdict(e, ok, expected)
  if ok then
    C.note_check()
    return e.v
  end
  local msg = with_req(fmt("%s: expected %s, got %s", e.what or "value", expected, show(e.v)), e.req)
  if e.fatal then error(failure(msg, 3), 0) end
  C.note_failure(msg, C.where(3))
  return e.v
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

function E:equals(x) return verdict(self, deep_equal(self.v, x), show(x)) end
function E:not_equals(x) return verdict(self, not deep_equal(self.v, x), "not " .. show(x)) end
function E:is_true() return verdict(self, self.v == true, "true") end
function E:is_false() return verdict(self, self.v == false, "false") end
function E:is_nil() return verdict(self, self.v == nil, "nil") end
function E:not_nil() return verdict(self, self.v ~= nil, "a value") end
local function num(v) return type(v) == "number" end
function E:in_range(lo, hi)
  return verdict(self, num(self.v) and self.v >= lo and self.v <= hi,
    fmt("%s..%s", show(lo), show(hi)))
end
function E:gt(x) return verdict(self, num(self.v) and self.v > x, "> " .. show(x)) end
function E:ge(x) return verdict(self, num(self.v) and self.v >= x, ">= " .. show(x)) end
function E:lt(x) return verdict(self, num(self.v) and self.v < x, "< " .. show(x)) end
function E:le(x) return verdict(self, num(self.v) and self.v <= x, "<= " .. show(x)) end
function E:near(x, tol)
  return verdict(self, num(self.v) and abs(self.v - x) <= tol, fmt("%s +- %s", show(x), show(tol)))
end
function E:matches(pattern)
  return verdict(self, type(self.v) == "string" and find(self.v, pattern) ~= nil,
    "a match of " .. show(pattern))
end
function E:contains(s)
  return verdict(self, type(self.v) == "string" and find(self.v, s, 1, true) ~= nil,
    "text containing " .. show(s))
end
function E:one_of(list)
  local ok = false
  for _, x in ipairs(list) do if deep_equal(self.v, x) then ok = true end end
  local shown = {}
  for i, x in ipairs(list) do shown[i] = show(x) end
  return verdict(self, ok, "one of " .. concat(shown, ", "))
end
function E:has_type(ty) return verdict(self, type(self.v) == ty, "a " .. ty) end

function T:ok(v, ...)
  if v ~= nil and v ~= false then return v, ... end
  local msg, code = ...
  msg = msg ~= nil and tostring(msg) or "operation failed"
  if code ~= nil then msg = msg .. " [" .. tostring(code) .. "]" end
  error(failure(with_req(msg), 2), 0)
end

function T:fail(msg, req)
  error(failure(with_req(tostring(msg), req), 2), 0)
end

function T:skip(reason)
  error({ mb_kind = "skip", message = tostring(reason or "skipped by the scenario") }, 0)
end

-- ---- measurements ---------------------------------------------------------------------

local M = {}
local Mmt = { __index = strict(M, "measurement method",
  { name = true, value = true, unit = true, idx = true }), __metatable = false }

function T:measure(name, value, unit)
  if type(name) ~= "string" then error("t:measure(name, value, unit): a name expected", 2) end
  local vt = type(value)
  if value ~= nil and vt ~= "number" and vt ~= "string" and vt ~= "boolean" then
    error(fmt("t:measure %q: a number, string or boolean expected, got %s", name, vt), 2)
  end
  if unit ~= nil and type(unit) ~= "string" then
    error(fmt("t:measure %q: unit must be a string", name), 2)
  end
  local idx = C.measure(name, value, unit)
  return setmetatable({ name = name, value = value, unit = unit, idx = idx }, Mmt)
end

local LIMIT_OPTS = { requirement = true, marginal = true, marginal_low = true,
  marginal_high = true }

local function limit_opts(o, what)
  if o == nil then return {} end
  if type(o) ~= "table" then error(what .. ": options table expected", 3) end
  for k in pairs(o) do
    if not LIMIT_OPTS[k] then
      error(fmt("%s: unknown option '%s' (requirement, marginal, marginal_low, "
        .. "marginal_high)", what, tostring(k)), 3)
    end
  end
  return o
end

local function unit_of(m)
  return m.unit and m.unit ~= "" and (" " .. m.unit) or ""
end

local function mverdict(m, limit, v, req, desc)
  req = req or single_requirement()
  C.measure_limit(m.idx, limit, v, req)
  if v == "fail" then
    local msg = fmt("%s = %s%s, %s", m.name, show(m.value), unit_of(m), desc)
    if req then msg = msg .. " (" .. req .. ")" end
    C.note_failure(msg, C.where(3))
  else
    C.note_check()
  end
  return m.value, v
end

function M:in_range(lo, hi, o)
  o = limit_opts(o, "in_range")
  if not num(lo) or not num(hi) then error("in_range(low, high): numbers expected", 2) end
  local ml, mh = o.marginal_low, o.marginal_high
  if o.marginal then ml, mh = ml or lo + o.marginal, mh or hi - o.marginal end
  local v = self.value
  local verdict_
  if not num(v) or v < lo or v > hi then verdict_ = "fail"
  elseif (ml and v < ml) or (mh and v > mh) then verdict_ = "marginal"
  else verdict_ = "pass" end
  return mverdict(self, { kind = "in_range", low = lo, high = hi, marginal_low = ml,
    marginal_high = mh }, verdict_, o.requirement,
    fmt("limit %s..%s%s", show(lo), show(hi), unit_of(self)))
end

function M:equals(x, o)
  o = limit_opts(o, "equals")
  return mverdict(self, { kind = "equals", expected = x },
    deep_equal(self.value, x) and "pass" or "fail", o.requirement,
    fmt("expected %s%s", show(x), unit_of(self)))
end

function M:matches(pattern, o)
  o = limit_opts(o, "matches")
  local ok = type(self.value) == "string" and find(self.value, pattern) ~= nil
  return mverdict(self, { kind = "matches", pattern = pattern }, ok and "pass" or "fail",
    o.requirement, fmt("expected a match of %s", show(pattern)))
end

function M:record(o)
  o = limit_opts(o, "record")
  C.measure_limit(self.idx, { kind = "none" }, "none", o.requirement or single_requirement())
  return self.value
end

-- ---- the rest of t ------------------------------------------------------------------

function T:log(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  C.log(concat(parts, "\t"))
end

function T:param(name, default)
  local v = C.param(name)
  if v == nil then return default end
  return v
end

T.sleep = C.sleep
T.plot = C.plot
T.now_ms = C.now_ms
T.meter = C.meter
T.sim_meter = C.sim_meter
T.serial_meter = C.serial_meter
T.tcp_meter = C.tcp_meter
T.data_path = C.data_path
T.read_data = C.read_data

-- Run declaration i as the scenario (called by the runtime in the scenario's coroutine).
local function run(i)
  current = declared[i]
  local info = C.info()
  T.name = current.name
  T.tags = current.tags
  T.requirements = current.requirements
  T.seed = info.seed
  T.meter_spec = info.meter
  T.sim = info.meter == "sim"
  randomseed(info.seed)
  local ok, e = xpcall(current.fn, handler, t)
  C.finish(not ok and e or nil)
end

return {
  scenario = scenario,
  declared = declared,
  run = run,
  print = function(...) T.log(t, ...) end,
}
