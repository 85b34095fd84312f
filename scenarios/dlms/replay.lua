-- A ciphered request sent again with its old invocation counter is refused with
-- exception-response invocation-counter-error; the association goes on.
local dlms = require "dlms"
local cosem = require "cosem"
local REQ = cosem.REQ

scenario "a replayed invocation counter is refused" {
  tags = { "dlms", "security", "replay", "negative" },
  requirements = { REQ.replay, REQ.ciphering },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "management")
    local captured
    t:step("associate; a ciphered GET", function()
      cosem.associate(t, d)
      t:ok(d:get(8, "0-0:1.0.0.255", 2))
      captured = d.last_request
      t:expect(dlms.decode_apdu(captured).name, "the captured request", REQ.ciphering)
        :equals("glo-get-request")
    end)
    t:step("the same APDU again", function()
      local ans = t:ok(d:apdu(captured))
      local x = dlms.decode_apdu(ans)
      t:expect(x.name, "answer to the replayed APDU", REQ.replay):equals("exception-response")
      t:expect(x.service_error, "service-error (6 invocation-counter-error)", REQ.replay):equals(6)
      t:expect(x.invocation_counter, "counter the meter expects next (greater than the replayed one)",
        REQ.replay):gt(0)
    end)
    t:step("the association goes on with the next counter", function()
      local v = t:ok(d:get(8, "0-0:1.0.0.255", 2))
      t:expect(#v.value, "clock time octets", REQ.clock):equals(12)
      cosem.finish(t, d)
    end)
  end }
