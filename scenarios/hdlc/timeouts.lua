-- Time-outs: inactivity (back to NDM; shortened to 2 s with a model override) and the
-- inter-octet time-out (a partial frame is dropped after a silence).
local hdlc = require "hdlc"
local H = require "hdlctest"
local REQ = H.REQ

scenario "after the inactivity time-out the link is back in NDM" {
  tags = { "hdlc", "timeout", "inactivity" },
  requirements = { REQ.inactivity },
  sim_only = true,
  function(t)
    local m <close> = H.meter(t, { set = { ["dlms.hdlc.inactivity_s"] = 2 } })
    local d <close> = H.session(m)
    t:step("SNRM; a poll within the time-out is answered in NRM", function()
      H.snrm(t, d)
      t:sleep(1000)
      H.send(d, { type = "RR", nr = 0 })
      t:expect(H.kind(H.answer(d)), "answer to a poll after 1 s", REQ.inactivity):equals("RR")
    end)
    t:step("2.5 s without a frame", function()
      t:sleep(2500)
      t:expect(m:state().ports[1].session, "link state (control API)", REQ.inactivity):equals("NDM")
      H.send(d, { type = "RR", nr = 0 })
      t:expect(H.kind(H.answer(d)), "answer to a poll after the time-out", REQ.inactivity):equals("DM")
      H.snrm(t, d)
    end)
  end }

scenario "a partial frame is dropped after the inter-octet time-out" {
  tags = { "hdlc", "timeout", "inter-octet" },
  requirements = { REQ.inter_octet },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    local rr = hdlc.frame{ type = "RR", nr = 0, dst = 1, src = 16 }
    local a, b = rr:sub(1, 4), rr:sub(5)
    local gap = tonumber(t:param("inter_octet_ms", "200"))
    t:step("SNRM", function() H.snrm(t, d) end)
    t:step("a poll in two parts with a short pause is answered", function()
      d:send_raw(a)
      t:sleep(gap // 4)
      d:send_raw(b)
      t:expect(H.kind(H.answer(d)), "answer to a poll paused " .. gap // 4 .. " ms inside",
        REQ.inter_octet):equals("RR")
    end)
    t:step("a poll paused longer than the inter-octet time-out is not", function()
      d:send_raw(a)
      t:sleep(gap * 2)
      d:send_raw(b)
      t:expect(H.kind(H.answer(d, 800)), "answer to a poll paused " .. gap * 2 .. " ms inside",
        REQ.inter_octet):equals("silence")
      d:send_raw(rr)
      t:expect(H.kind(H.answer(d)), "answer to a whole poll afterwards", REQ.inter_octet):equals("RR")
    end)
  end }
