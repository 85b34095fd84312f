-- DLMS UA conformance test plan, HDLC_1: incorrect frame fields in normal response mode.
-- Each wrong frame gets the standard's reaction (discarded: no answer; or FRMR with the
-- right bit), and the link still works with a correct frame afterwards.
local hdlc = require "hdlc"
local H = require "hdlctest"
local REQ = H.REQ

-- A correct poll (RR, P) in NRM is answered with RR and N(R) = V(R).
local function poll_ok(t, d, vr, req)
  H.send(d, { type = "RR", nr = 0 })
  local a = H.answer(d)
  t:expect(H.kind(a), "answer to a correct RR poll afterwards", req):equals("RR")
  if a and a.type == "RR" then
    t:expect(a.nr, "N(R) of the answer (frames accepted so far)", req):equals(vr)
  end
end

local function discarded(t, d, what, req)
  local a = H.answer(d, 800)
  t:expect(H.kind(a), "answer to " .. what, req):equals("silence")
end

scenario "frames with a wrong HCS or FCS are discarded" {
  tags = { "hdlc", "frame-fields", "negative" },
  requirements = { REQ.hcs, REQ.fcs },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM", function() H.snrm(t, d) end)
    t:step("I frame with a wrong HCS", function()
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = "\x62\x00", bad_hcs = true })
      discarded(t, d, "an I frame with a wrong HCS", REQ.hcs)
      poll_ok(t, d, 0, REQ.hcs)
    end)
    t:step("I frame with a wrong FCS", function()
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = "\x62\x00", bad_fcs = true })
      discarded(t, d, "an I frame with a wrong FCS", REQ.fcs)
      H.send(d, { type = "RR", nr = 0, bad_fcs = true })
      discarded(t, d, "an RR poll with a wrong FCS", REQ.fcs)
      poll_ok(t, d, 0, REQ.fcs)
    end)
  end }

scenario "a frame without its closing flag or too short is discarded" {
  tags = { "hdlc", "frame-fields", "negative" },
  requirements = { REQ.flag, REQ.short },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM", function() H.snrm(t, d) end)
    t:step("no closing flag", function()
      -- a byte other than a flag where the closing flag belongs
      d:send_raw(hdlc.frame{ type = "I", ns = 0, nr = 0, dst = 1, src = 16, apdu = "\x62\x00",
        no_closing_flag = true } .. "\x00")
      discarded(t, d, "an I frame followed by 00 instead of the closing flag", REQ.flag)
      -- and a frame that just stops
      H.send(d, { type = "RR", nr = 0, no_closing_flag = true })
      discarded(t, d, "an RR poll without its closing flag", REQ.flag)
      poll_ok(t, d, 0, REQ.flag)
    end)
    t:step("too short", function()
      H.send(d, { type = "RR", nr = 0, length = 5 })
      discarded(t, d, "a frame whose length field says 5 (below the 7 of the shortest frame)", REQ.short)
      d:send_raw("\x7E\xA0\x04\x03\x21\x7E")
      discarded(t, d, "7E A0 04 03 21 7E", REQ.short)
      poll_ok(t, d, 0, REQ.short)
    end)
  end }

scenario "an N(R) that acknowledges no frame gets FRMR with Z" {
  tags = { "hdlc", "frame-fields", "negative", "frmr" },
  requirements = { REQ.nr, REQ.frmr_state },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM", function() H.snrm(t, d) end)
    t:step("RR with N(R) = 3 before the meter sent anything", function()
      H.send(d, { type = "RR", nr = 3 })
      local a = H.answer(d)
      t:assert(H.kind(a), "answer to an invalid N(R)", REQ.nr):equals("FRMR")
      t:expect(a.frmr and a.frmr.z, "FRMR Z bit (invalid N(R))", REQ.nr):is_true()
      t:expect(a.frmr and a.frmr.control, "FRMR: the rejected control field", REQ.nr)
        :equals(hdlc.control("RR", 0, 3, true))
    end)
    t:step("the frame reject condition holds until SNRM", function()
      H.send(d, { type = "RR", nr = 0 })
      t:expect(H.kind(H.answer(d)), "answer to a correct poll in the frame reject condition",
        REQ.frmr_state):equals("FRMR")
      H.snrm(t, d)
      poll_ok(t, d, 0, REQ.frmr_state)
    end)
  end }

scenario "an information field over the negotiated maximum gets FRMR with Y" {
  tags = { "hdlc", "frame-fields", "negative", "frmr" },
  requirements = { REQ.too_long, REQ.frmr_state },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM with max information field 128", function()
      local ua = H.snrm(t, d)
      t:expect(ua.params and ua.params.max_info_rx, "meter's max receive information field",
        REQ.too_long):equals(128)
    end)
    t:step("an I frame with 200 octets of information", function()
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = string.rep("\x00", 197) })
      local a = H.answer(d)
      t:assert(H.kind(a), "answer to an information field too long", REQ.too_long):equals("FRMR")
      t:expect(a.frmr and a.frmr.y, "FRMR Y bit (information field too long)", REQ.too_long)
        :is_true()
      H.send(d, { type = "DISC" })
      t:expect(H.kind(H.answer(d)), "DISC clears the frame reject condition", REQ.frmr_state)
        :equals("UA")
    end)
  end }

scenario "an I frame with an unexpected N(S) is discarded and the poll answered with RR" {
  tags = { "hdlc", "frame-fields", "negative" },
  requirements = { REQ.ns },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM", function() H.snrm(t, d) end)
    t:step("I frame with N(S) = 2 while V(R) = 0", function()
      H.send(d, { type = "I", ns = 2, nr = 0, apdu = "\x62\x00" })
      local a = H.answer(d)
      t:expect(H.kind(a), "answer to an I frame out of sequence", REQ.ns):equals("RR")
      t:expect(a and a.nr, "N(R) of the answer (the frame was not accepted)", REQ.ns):equals(0)
    end)
  end }
