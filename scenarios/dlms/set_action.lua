-- Writing and invoking as the management client: SET of the clock, activation of a
-- passive tariff calendar by ACTION, the breaker by ACTION (Disconnect control), each
-- checked through the control API (the meter's own state).
local dlms = require "dlms"
local cosem = require "cosem"
local REQ = cosem.REQ

scenario "SET of the clock moves the meter's clock" {
  tags = { "dlms", "set", "clock" },
  requirements = { REQ.set, REQ.clock, REQ.datetime },
  sim_only = true,
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "management")
    t:step("associate", function() cosem.associate(t, d) end)
    t:step("SET 0-0:1.0.0.255 time", function()
      local r = t:ok(d:set(8, "0-0:1.0.0.255", 2, dlms.datetime("2016-06-01T12:34:56+02:00")))
      t:expect(r.name, "SET result", REQ.set):equals("success")
      local st = m:state()
      t:expect(st.clock.meter_time, "meter time (control API)", REQ.clock)
        :equals("2016-06-01T12:34:56+02:00")
      t:expect(st.clock.sim_time, "simulation time (unchanged)"):equals("2016-06-01T00:00:00Z")
    end)
    t:step("GET shows the new time with its deviation and DST bit", function()
      local v = t:ok(d:get(8, "0-0:1.0.0.255", 2))
      local f = dlms.parse_datetime(v)
      t:expect(f.iso, "clock time", REQ.clock):equals("2016-06-01T12:34:56+02:00")
      t:expect(f.deviation, "deviation in CEST (UTC = local + deviation)", REQ.datetime):equals(-120)
      t:expect(f.dst, "daylight saving status bit", REQ.datetime):is_true()
      local ev = select(2, m:api("GET", "/meters/" .. m.id .. "/events?log=clock"))
      local last = ev.events[#ev.events]
      t:expect(last and last.detail or "", "clock log names the client"):contains("DLMS client 1")
      cosem.finish(t, d)
    end)
  end }

-- A passive calendar: one day profile, rate 1 all day, every day of the week, one
-- season from January 1st (every year).
local function write_passive(t, d, name)
  local CAL = "0-0:13.0.0.255"
  local start = dlms.hex("FFFF0101FF000000FF8000FF") -- date-time: every year, 01-01 00:00
  local writes = {
    { 6, dlms.octets(name) },
    { 7, dlms.array{ dlms.structure{ dlms.octets("S1"), start, dlms.octets("W1") } } },
    { 8, dlms.array{ dlms.structure{ dlms.octets("W1"), dlms.u8(1), dlms.u8(1), dlms.u8(1),
      dlms.u8(1), dlms.u8(1), dlms.u8(1), dlms.u8(1) } } },
    { 9, dlms.array{ dlms.structure{ dlms.u8(1), dlms.array{
      dlms.structure{ dlms.hex("00000000"), dlms.obis("0-0:10.0.100.255"), dlms.u16(1) } } } } },
  }
  for _, w in ipairs(writes) do
    local r = t:ok(d:set(20, CAL, w[1], w[2]))
    t:expect(r.name, "SET activity calendar attribute " .. w[1], REQ.calendar):equals("success")
  end
end

scenario "ACTION activates a passive calendar written before" {
  tags = { "dlms", "action", "calendar", "tariff" },
  requirements = { REQ.calendar, REQ.action, REQ.set },
  sim_only = true,
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "management")
    t:step("associate; the meter's calendar", function()
      cosem.associate(t, d)
      local tariff = m:state().tariff
      t:expect(tariff.calendar, "active calendar"):equals("T2-STD")
      t:expect(tariff.active_rate, "rate at 02:00 on a Wednesday (night)"):equals(2)
    end)
    t:step("write the passive calendar", function()
      write_passive(t, d, "T1-FLAT")
      local v = t:ok(d:get(20, "0-0:13.0.0.255", 6))
      t:expect(v.value, "calendar_name_passive read back", REQ.calendar):equals("T1-FLAT")
      t:expect(m:state().tariff.calendar, "active calendar before the activation", REQ.calendar)
        :equals("T2-STD")
    end)
    t:step("ACTION activate_passive_calendar", function()
      local r = t:ok(d:action(20, "0-0:13.0.0.255", 1, dlms.i8(0)))
      t:expect(r.name, "ACTION result", REQ.action):equals("success")
      local tariff = m:state().tariff
      t:expect(tariff.calendar, "active calendar (control API)", REQ.calendar):equals("T1-FLAT")
      t:expect(tariff.active_rate, "rate in force", REQ.calendar):equals(1)
      local name = t:ok(d:get(20, "0-0:13.0.0.255", 2))
      t:expect(name.value, "calendar_name_active", REQ.calendar):equals("T1-FLAT")
      local passive = t:ok(d:get(20, "0-0:13.0.0.255", 6))
      t:expect(passive.value, "calendar_name_passive after the activation", REQ.calendar):equals("")
      local rate = t:ok(d:get(1, "0-0:96.14.0.255", 2))
      t:expect(rate.value, "currently active tariff (0-0:96.14.0.255)", REQ.data):equals(1)
      cosem.finish(t, d)
    end)
  end }

scenario "the breaker opens and closes by ACTION" {
  tags = { "dlms", "action", "breaker" },
  requirements = { REQ.disconnect, REQ.action },
  sim_only = true,
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "management")
    local DC = "0-0:96.3.10.255"
    local function states()
      local out = t:ok(d:get(70, DC, 2))
      local ctl = t:ok(d:get(70, DC, 3))
      return out.value, ctl.value
    end
    t:step("associate; connected", function()
      cosem.associate(t, d)
      local out, ctl = states()
      t:expect(out, "output_state", REQ.disconnect):is_true()
      t:expect(ctl, "control_state (1 connected)", REQ.disconnect):equals(1)
      local mode = t:ok(d:get(70, DC, 4))
      t:expect(mode.value, "control_mode (the model's 1)", REQ.disconnect):equals(1)
      t:expect(m:state().breaker.state, "breaker (control API)"):equals("connected")
    end)
    t:step("remote_disconnect (method 1)", function()
      local r = t:ok(d:action(70, DC, 1, dlms.i8(0)))
      t:expect(r.name, "ACTION result", REQ.action):equals("success")
      local out, ctl = states()
      t:expect(out, "output_state", REQ.disconnect):is_false()
      t:expect(ctl, "control_state (0 disconnected)", REQ.disconnect):equals(0)
      local b = m:state().breaker
      t:expect(b.state, "breaker (control API)", REQ.disconnect):equals("disconnected")
      t:expect(b.output, "supply output (control API)", REQ.disconnect):is_false()
    end)
    t:step("remote_reconnect (method 2): ready for reconnection in control mode 1", function()
      local r = t:ok(d:action(70, DC, 2, dlms.i8(0)))
      t:expect(r.name, "ACTION result", REQ.action):equals("success")
      local out, ctl = states()
      t:expect(out, "output_state", REQ.disconnect):is_false()
      t:expect(ctl, "control_state (2 ready_for_reconnection)", REQ.disconnect):equals(2)
      t:expect(m:state().breaker.state, "breaker (control API)", REQ.disconnect)
        :equals("ready_for_reconnection")
    end)
    t:step("the customer closes it (manual_reconnect, control API)", function()
      local st = m:api("POST", "/meters/" .. m.id .. "/breaker", { op = "manual_reconnect" })
      t:expect(st, "control API status"):equals(200)
      local out, ctl = states()
      t:expect(out, "output_state", REQ.disconnect):is_true()
      t:expect(ctl, "control_state (1 connected)", REQ.disconnect):equals(1)
      cosem.finish(t, d)
    end)
  end }
