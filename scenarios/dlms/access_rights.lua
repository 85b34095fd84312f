-- Access rights per client: what an association's object list leaves out is
-- object-undefined; what it lists without the right is read-write-denied.
local dlms = require "dlms"
local cosem = require "cosem"
local REQ = cosem.REQ

local function listed(list, obis)
  for _, o in ipairs(list) do if o.obis == obis then return o end end
  return nil
end

scenario "the public client cannot read the load profile" {
  tags = { "dlms", "access" },
  requirements = { REQ.rights, REQ.dar },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "public")
    t:step("associate", function() cosem.associate(t, d) end)
    t:step("the load profile is not in the public object list", function()
      local list = t:ok(d:object_list())
      t:expect(listed(list, "1-0:99.1.0.255") == nil, "1-0:99.1.0.255 listed for the public client",
        REQ.rights):is_true()
      t:expect(listed(list, "0-0:1.0.0.255") ~= nil, "the clock listed for the public client",
        REQ.rights):is_true()
    end)
    t:step("GET of the load profile", function()
      local v = t:ok(d:get(7, "1-0:99.1.0.255", 2))
      t:expect(v.dar and v.name, "answer to a GET of an object outside the association",
        REQ.dar):equals("object-undefined")
      local e = t:ok(d:get(7, "1-0:99.1.0.255", 7))
      t:expect(e.dar and e.name, "entries_in_use outside the association", REQ.dar)
        :equals("object-undefined")
      cosem.finish(t, d)
    end)
  end }

scenario "the reader cannot set the clock" {
  tags = { "dlms", "access", "clock" },
  requirements = { REQ.rights, REQ.dar, REQ.set },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "reader")
    local before
    t:step("associate", function()
      cosem.associate(t, d)
      if t.sim then before = m:state().clock.meter_time end
    end)
    t:step("the clock's time is read-only for the reader", function()
      local list = t:ok(d:object_list())
      local clk = t:assert(listed(list, "0-0:1.0.0.255"), "clock in the reader's object list",
        REQ.rights):not_nil()
      local access
      for _, a in ipairs(clk.attributes) do if a.id == 2 then access = a.access end end
      t:expect(cosem.WRITABLE[access] == nil and cosem.READABLE[access] == true,
        "clock time access mode " .. tostring(access) .. " readable, not writable", REQ.rights)
        :is_true()
      t:expect(listed(list, "1-0:99.1.0.255") ~= nil, "load profile listed for the reader",
        REQ.rights):is_true()
    end)
    t:step("SET of the clock", function()
      local r = t:ok(d:set(8, "0-0:1.0.0.255", 2, dlms.datetime("2016-06-01T12:00:00+02:00")))
      t:expect(r.name, "answer to a SET without the write right", REQ.dar)
        :equals("read-write-denied")
      if t.sim then
        t:expect(m:state().clock.meter_time, "meter time after the refused SET", REQ.rights)
          :equals(before)
      end
      cosem.finish(t, d)
    end)
  end }
