-- Register integration against a constant load: exact kWh per rate across the tariff
-- switches of the model's calendar (ms3p-direct: rate 1 on working days 06:00-22:00
-- local time, rate 2 otherwise; CET/CEST). The expected energy is worked out here,
-- minute by minute, independently of the simulator's C code.
local flag = require "flag"
local mb = require "mb"

local P_W = 1000                       -- constant import power
local START = "2016-06-01T03:00:00Z"   -- Wednesday 05:00 CEST
local CEST = 2 * 3600                  -- UTC offset in June (EU summer time)

-- Rate in force at a UTC time (seconds): the model's day and week profiles.
local function rate_at(utc)
  local localt = utc + CEST
  local day = localt // 86400
  local weekday = (day + 3) % 7        -- 1970-01-01 was a Thursday: 0 = Monday
  local hour = (localt % 86400) // 3600
  if weekday < 5 and hour >= 6 and hour < 22 then return 1 end
  return 2
end

-- Expected Wh per rate between two UTC times at P_W, by the minute.
local function expected(t0, t1)
  local minutes = { 0, 0 }
  for m = t0, t1 - 60, 60 do
    local r = rate_at(m)
    minutes[r] = minutes[r] + 1
  end
  -- whole hours here: the energy is a whole number of Wh
  return { minutes[1] * P_W // 60, minutes[2] * P_W // 60 }
end

-- Registers of a readout as integers of Wh (3 decimals of kWh).
local function readout_wh(t, c)
  local r = t:ok(c:readout())
  local v = function(obis)
    local s = t:assert(r.values[obis], obis .. " in the readout"):not_nil()
    return flag.fixed(s, 3)
  end
  return { total = v("1-0:1.8.0*255"), r1 = v("1-0:1.8.1*255"), r2 = v("1-0:1.8.2*255"),
    export = v("1-0:2.8.0*255") }
end

-- A+ total in mWh from the control API (exact).
local function a_plus_mwh(m)
  for _, reg in ipairs(m:state().registers) do
    if reg.obis == "1-0:1.8.0*255" then return reg.raw end
  end
end

scenario "constant load: exact kWh per rate across tariff switches" {
  tags = { "billing", "tariff", "registers" },
  requirements = { "metersim model ms3p-direct: calendar T2-STD (rate 1 working days 06:00-22:00)" },
  sim_only = true,
  function(t)
    local t0 = t:ok(mb.parse_time(START))
    local m <close> = t:meter{ load = "constant:" .. P_W, start = START }
    local c <close> = m:iec21()
    local now = t0
    local extra_wh, extra_rate = 0, 1
    local function check(label, hours)
      m:advance(hours * 3600)
      now = now + hours * 3600
      local want = expected(t0, now)
      local got = readout_wh(t, c)
      t:measure(label .. ": A+ rate 1", got.r1 / 1000, "kWh"):equals(want[1] / 1000)
      t:measure(label .. ": A+ rate 2", got.r2 / 1000, "kWh"):equals(want[2] / 1000)
      t:measure(label .. ": A+ total", got.total / 1000, "kWh"):equals((want[1] + want[2]) / 1000)
      t:expect(got.export, label .. ": A- (import-only load), Wh"):equals(0)
    end
    t:step("2 h from 05:00: one hour at each rate", function() check("after 2 h", 2) end)
    t:step("to the next morning: the 22:00 switch", function() check("after 24 h", 22) end)
    t:step("over the weekend: rate 2 all day", function() check("after 4 days", 72) end)
    t:step("a new load from now on (the control API's set_load)", function()
      local before = a_plus_mwh(m)
      m:set_load("constant:2500")
      m:advance(3600)
      local after = a_plus_mwh(m)
      t:measure("A+ of one hour at 2.5 kW", (after - before) / 1e6, "kWh"):equals(2.5)
      m:set_load("constant:" .. P_W)
      now = now + 3600
      -- the rest of the scenario compares with the constant load: take the extra out
      extra_wh = (after - before) // 1000 - P_W
      extra_rate = rate_at(now - 3600)
    end)
    t:step("registers in the control API are exact (mWh)", function()
      local want = expected(t0, now)
      want[extra_rate] = want[extra_rate] + extra_wh
      for _, reg in ipairs(m:state().registers) do
        if reg.obis == "1-0:1.8.1*255" then
          t:expect(reg.raw, "raw A+ rate 1 in mWh"):equals(want[1] * 1000)
        elseif reg.obis == "1-0:1.8.2*255" then
          t:expect(reg.raw, "raw A+ rate 2 in mWh"):equals(want[2] * 1000)
        end
      end
    end)
  end }
