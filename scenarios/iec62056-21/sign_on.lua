-- Sign-on: the request message with and without the device address, and a request for
-- another meter's address (IEC 62056-21:2002 6.3.1, 6.3.2). Against a real meter, give
-- its address with --param address=...
local flag = require "flag"
local REQ = flag.REQ

scenario "sign-on without address" {
  tags = { "iec62056-21", "sign-on" },
  requirements = { REQ.request, REQ.ident },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local id = t:step("request /?! CR LF, identification", function()
      local id = flag.sign_on(t, c)
      t:expect(id.type, "answer to the request without address", REQ.ident):equals("IDENT")
      t:expect(id.bytes, "identification line", REQ.ident):matches("^/%a%a%a%g.*\r\n$")
      return id
    end)
    t:step("readout after the sign-on", function()
      local data = flag.readout_after(t, c, id)
      t:expect(data.type, "message after the option select", REQ.data):equals("DATA")
    end)
  end }

scenario "sign-on with the meter's address" {
  tags = { "iec62056-21", "sign-on" },
  requirements = { REQ.address },
  function(t)
    local address = t:param("address", "60012345")
    local m <close> = t:meter{}
    local c <close> = m:iec21{ address = address }
    t:step("readout with /?" .. address .. "!", function()
      local r = t:ok(c:readout())
      t:expect(r.ident, "identification after an addressed request"):matches("^/%a%a%a")
      t:expect(r.values ~= nil and next(r.values) ~= nil, "data sets in the readout")
        :is_true()
    end)
  end }

scenario "sign-on with another meter's address gets no identification" {
  tags = { "iec62056-21", "sign-on" },
  requirements = { REQ.address },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("request /?99999999!", function()
      c:send("/?99999999!\r\n", 0)
      -- The meter either stays silent (meters sharing a bus) or answers with an error
      -- message; it must not identify itself.
      local msg = c:recv{ timeout_ms = 1800 } -- longer than tr may be
      local kind = msg and msg.type or "silence"
      t:measure("answer to another meter's address", kind):record()
      t:expect(kind, "answer to a request for another address"):not_equals("IDENT")
    end)
    t:step("the meter still answers its own request", function()
      local r = t:ok(c:readout())
      t:expect(r.ident, "identification after the foreign request"):matches("^/%a%a%a")
    end)
  end }
