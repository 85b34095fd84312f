-- Selective access by range to the load profile across the end of daylight saving time
-- (2016-10-30, 03:00 CEST -> 02:00 CET): the local hour 02:00-03:00 happens twice, so the
-- night holds four more quarter-hours than the same wall-clock span of the night before.
-- The simulation clock is moved by the control API.
local dlms = require "dlms"
local cosem = require "cosem"
local REQ = cosem.REQ

local function utc_of(entry)
  local f = dlms.parse_datetime(entry[1])
  return f and f.utc, f
end

scenario "a range across the end of DST holds the repeated hour" {
  tags = { "dlms", "profile", "selective-access", "dst" },
  requirements = { REQ.selective, REQ.datetime, REQ.profile },
  sim_only = true,
  function(t)
    -- 2016-10-28 22:00 CEST; 32 h later it is 2016-10-30 05:00 CET
    local m <close>, tr = cosem.meter(t, { start = "2016-10-28T20:00:00Z" })
    local d <close> = cosem.open(t, m, tr, "reader")
    t:step("32 hours pass (control API)", function()
      m:advance(32 * 3600)
      t:expect(m:state().clock.meter_time, "meter time"):equals("2016-10-30T05:00:00+01:00")
      cosem.associate(t, d)
    end)
    local before, across
    t:step("the night before: 00:00-04:00 local", function()
      before = t:ok(d:profile("1-0:99.1.0.255", { from = "2016-10-29T00:00:00", to = "2016-10-29T04:00:00" }))
      t:expect(before.type, "buffer type", REQ.profile):equals("array")
      t:measure("entries 2016-10-29 00:00-04:00", #before):record({ requirement = REQ.selective })
    end)
    t:step("the night of the DST end: 00:00-04:00 local", function()
      across = t:ok(d:profile("1-0:99.1.0.255", { from = "2016-10-30T00:00:00", to = "2016-10-30T04:00:00" }))
      t:measure("entries 2016-10-30 00:00-04:00", #across):record({ requirement = REQ.selective })
      t:expect(#across - #before, "more quarter-hours in the night of the DST end", REQ.selective)
        :equals(4)
      -- every capture 15 minutes after the one before, in UTC, across the switch
      local prev, gaps, dst_entries = nil, {}, 0
      for i, e in ipairs(across) do
        local u, f = utc_of(e)
        t:assert(u, "capture time of entry " .. i .. " (a complete date-time)", REQ.datetime):not_nil()
        if prev and u - prev ~= 900 then gaps[#gaps + 1] = i end
        if f.dst then
          dst_entries = dst_entries + 1
          t:expect(f.deviation, "deviation of a DST entry (" .. f["local"] .. ")", REQ.datetime):equals(-120)
        else
          t:expect(f.deviation, "deviation of a standard-time entry", REQ.datetime):equals(-60)
        end
        prev = u
      end
      t:expect(#gaps, "entries not 15 min after the one before", REQ.profile):equals(0)
      t:expect(dst_entries, "entries with the DST status bit (00:00-02:59 CEST)", REQ.datetime)
        :equals(12)
    end)
    t:step("the same range with explicit deviations; the control API agrees", function()
      local again = t:ok(d:profile("1-0:99.1.0.255",
        { from = "2016-10-30T00:00:00+02:00", to = "2016-10-30T04:00:00+01:00" }))
      t:expect(#again, "entries, range with deviations", REQ.selective):equals(#across)
      local status, body = m:api("GET", "/meters/" .. m.id ..
        "/profiles/P.01?from=2016-10-29T22:00:00Z&to=2016-10-30T03:00:00Z")
      t:expect(status, "control API status"):equals(200)
      t:expect(#body.entries, "entries the control API lists for the same instants"):equals(#across)
      cosem.finish(t, d)
    end)
  end }
