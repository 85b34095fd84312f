-- DLMS UA conformance test plan, HDLC_2: mode changes between NDM and NRM.
local hdlc = require "hdlc"
local H = require "hdlctest"
local REQ = H.REQ

scenario "SNRM sets normal response mode; UA carries the parameters" {
  tags = { "hdlc", "mode" },
  requirements = { REQ.snrm, REQ.params },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM in NDM", function()
      local ua = H.snrm(t, d)
      t:expect(ua.pf, "F bit of UA (answer to P)", REQ.snrm):is_true()
      t:expect(ua.src.upper, "UA from the logical device addressed", REQ.snrm):equals(1)
      t:expect(ua.dst.upper, "UA to the client", REQ.snrm):equals(16)
      t:assert(ua.params, "UA parameter field", REQ.params):not_nil()
      t:expect(ua.params.max_info_tx, "max information field, meter transmit", REQ.params):equals(128)
      t:expect(ua.params.max_info_rx, "max information field, meter receive", REQ.params):equals(128)
      t:expect(ua.params.window_tx, "window, meter transmit", REQ.params):equals(1)
      t:expect(ua.params.window_rx, "window, meter receive", REQ.params):equals(1)
      if t.sim then t:expect(m:state().ports[1].session, "link state (control API)"):equals("NRM") end
    end)
    t:step("I frames count from 0 after SNRM", function()
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = "\x62\x00" }) -- RLRQ outside an association
      local a = H.answer(d)
      t:expect(H.kind(a), "answer to the first I frame", REQ.snrm):equals("I")
      t:expect(a and a.nr, "N(R) of the answer", REQ.snrm):equals(1)
      t:expect(a and a.ns, "N(S) of the answer", REQ.snrm):equals(0)
      -- SNRM again: a link reset, the counts start over
      H.snrm(t, d)
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = "\x62\x00" })
      local b = H.answer(d)
      t:expect(b and b.type == "I" and b.nr, "N(R) after a second SNRM", REQ.snrm):equals(1)
    end)
  end }

scenario "DISC ends normal response mode; commands in NDM get DM" {
  tags = { "hdlc", "mode", "negative" },
  requirements = { REQ.disc, REQ.ndm },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("in NDM from the start", function()
      H.send(d, { type = "DISC" })
      t:expect(H.kind(H.answer(d)), "answer to DISC in NDM", REQ.ndm):equals("DM")
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = "\x62\x00" })
      t:expect(H.kind(H.answer(d)), "answer to an I frame in NDM", REQ.ndm):equals("DM")
      H.send(d, { type = "RR", nr = 0 })
      t:expect(H.kind(H.answer(d)), "answer to an RR poll in NDM", REQ.ndm):equals("DM")
    end)
    t:step("SNRM, then DISC", function()
      H.snrm(t, d)
      H.send(d, { type = "DISC" })
      local a = H.answer(d)
      t:expect(H.kind(a), "answer to DISC in NRM", REQ.disc):equals("UA")
      t:expect(a and a.info_len, "UA to DISC has no information field", REQ.disc):equals(0)
      if t.sim then t:expect(m:state().ports[1].session, "link state (control API)"):equals("NDM") end
      H.send(d, { type = "I", ns = 0, nr = 0, apdu = "\x62\x00" })
      t:expect(H.kind(H.answer(d)), "answer to an I frame after DISC", REQ.ndm):equals("DM")
    end)
  end }
